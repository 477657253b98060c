/**
 * Host latency against the stages it is made of: the real frame loop (synthetic source, software
 * encoder, packetize + FEC, send thread) streams to a loopback receiver in a worker thread that
 * reassembles every frame as the client does and reads the host-latency field of its frame
 * header (what Moonlight's overlay shows) and the frame's arrival time.
 *
 * Figures per mode: host latency p50/p99 (the frame header field), the sum of the stages' p50s
 * (capture + convert + encode + packetize + send), and the client-side frame interval p50/p99
 * (arrival to arrival: the cost of sending each frame as soon as it is ready).
 *
 *   npm run bench -- latency [--json] [--seconds 10] [--modes 1280x720@60:h264,1280x720@60:hevc,1920x1080@60:h264]
 *                            [--bitrate 10000] [--send-at ready|deadline]
 */
import {createSocket} from 'node:dgram'
import {loadavg} from 'node:os'
import {isMainThread, parentPort, Worker, workerData} from 'node:worker_threads'

import {VideoDepacketizer} from '../src/media/depacketizer/index.js'
import {NativeVideoPacketizer} from '../src/media/packetizer/index.js'
import {SyntheticSource} from '../src/media/capture/synthetic.js'
import {defaultEncoder} from '../src/media/encoder.js'
import {CaptureEncodeProducer} from '../src/media/stream/producer.js'
import {SHARED_BYTES, sharedViews} from '../src/media/stream/shared.js'
import {runVideoLoop, type FrameProducer, type ProducedFrame, type SendAt} from '../src/media/stream/video-loop.js'
import {Pacer, UdpSocket} from '../src/native/net.js'

export const summary = 'host latency (frame header field) vs the sum of stage p50s, with the client-side frame interval, at 720p60/1080p60'

interface ReceiverResult {
  latencyTenthMs: number[]
  arrivalNs: number[]
}

if (!isMainThread && (workerData as {latencyReceiver?: boolean})?.latencyReceiver === true) {
  const {packetSize} = workerData as {packetSize: number}
  const sock = createSocket('udp4')
  sock.bind(0, '127.0.0.1', () => {
    sock.setRecvBufferSize(16 << 20)
    parentPort?.postMessage({port: sock.address().port})
  })
  const depacketizer = new VideoDepacketizer({packetSize})
  const out: ReceiverResult = {latencyTenthMs: [], arrivalNs: []}
  sock.on('message', (msg) => {
    const at = Number(process.hrtime.bigint())
    for (const e of depacketizer.push(msg)) {
      if (e.kind !== 'frame') continue
      out.latencyTenthMs.push(e.latencyTenthMs)
      out.arrivalNs.push(at)
    }
  })
  parentPort?.on('message', () => {
    sock.close()
    parentPort?.postMessage(out)
  })
}

function arg(args: string[], name: string, def: string): string {
  const i = args.indexOf(`--${name}`)
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def
}

function pct(values: number[] | Float64Array, p: number): number {
  const s = Float64Array.from(values).sort()
  if (s.length === 0) return 0
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]
}

const r1 = (v: number): number => Math.round(v * 10) / 10

class Recording implements FrameProducer {
  readonly capture: number[] = []
  readonly convert: number[] = []
  readonly encode: number[] = []
  constructor(private readonly inner: FrameProducer) {}
  next(forceIdr: boolean): ProducedFrame | undefined {
    const f = this.inner.next(forceIdr)
    if (f !== undefined) {
      this.capture.push(f.captureUs)
      this.convert.push(f.convertUs)
      this.encode.push(f.encodeUs)
    }
    return f
  }
}

async function startReceiver(packetSize: number): Promise<{port: number; stop(): Promise<ReceiverResult>}> {
  const worker = new Worker(new URL(import.meta.url), {workerData: {latencyReceiver: true, packetSize}})
  const port = await new Promise<number>((resolve) => worker.once('message', (m: {port: number}) => resolve(m.port)))
  return {
    port,
    stop: async () => {
      const result = new Promise<ReceiverResult>((resolve) => worker.once('message', resolve))
      // let the last datagrams arrive
      await new Promise((r) => setTimeout(r, 200))
      worker.postMessage('stop')
      const r = await result
      await worker.terminate()
      return r
    },
  }
}

async function one(width: number, height: number, fps: number, codec: 'h264' | 'hevc', seconds: number, bitrateKbps: number, sendAt: SendAt) {
  const packetSize = 1392
  const rx = await startReceiver(packetSize)
  const sock = UdpSocket.open('127.0.0.1', 0)
  sock.setPeer('127.0.0.1', rx.port)
  const pacer = new Pacer(sock, {mode: 'line'})
  const source = new SyntheticSource({width, height})
  const encoder = defaultEncoder(codec)
  const producer = new Recording(new CaptureEncodeProducer(source, {encoder, fps, bitrateKbps, slices: 1, width, height}))
  const {flags, counters} = sharedViews(new SharedArrayBuffer(SHARED_BYTES))
  const packetizer = new NativeVideoPacketizer({packetSize, fecPercentage: 20, minParity: 2})
  const load0 = loadavg()[0]
  const r = await runVideoLoop({fps, producer, packetizer, pacer, flags, counters, maxFrames: Math.round(seconds * fps), sendAt})
  pacer.close()
  sock.close()
  ;(producer as unknown as {inner: CaptureEncodeProducer}).inner.close()
  const got = await rx.stop()
  const intervals: number[] = []
  for (let i = 1; i < got.arrivalNs.length; i++) intervals.push((got.arrivalNs[i] - got.arrivalNs[i - 1]) / 1e6)
  const lat = got.latencyTenthMs.map((v) => v / 10)
  const ms = (us: number): number => Math.round(us) / 1000
  const stageP50 = {
    captureMs: ms(pct(producer.capture, 50)),
    convertMs: ms(pct(producer.convert, 50)),
    encodeMs: ms(pct(producer.encode, 50)),
    packetizeMs: ms(pct(r.packetizeUs.subarray(0, r.frames), 50)),
    sendMs: ms(pct(r.sendUs.subarray(0, r.frames), 50)),
  }
  const sum = stageP50.captureMs + stageP50.convertMs + stageP50.encodeMs + stageP50.packetizeMs + stageP50.sendMs
  return {
    mode: `${width}x${height}@${fps} ${codec} (${encoder})`,
    sendAt,
    framesSent: r.frames,
    framesReceived: lat.length,
    lateFrames: r.lateFrames,
    hostLatencyMs: {p50: r1(pct(lat, 50)), p99: r1(pct(lat, 99))},
    stageSumP50Ms: Math.round(sum * 100) / 100,
    stageP50,
    frameIntervalMs: {p50: Math.round(pct(intervals, 50) * 100) / 100, p99: Math.round(pct(intervals, 99) * 100) / 100},
    loadavg1: Math.round(((load0 + loadavg()[0]) / 2) * 100) / 100,
  }
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json')
  const seconds = Number(arg(args, 'seconds', '10'))
  const bitrate = Number(arg(args, 'bitrate', '10000'))
  const sendAt: SendAt = arg(args, 'send-at', 'ready') === 'deadline' ? 'deadline' : 'ready'
  const modes = arg(args, 'modes', '1280x720@60:h264,1280x720@60:hevc,1920x1080@60:h264').split(',')
  const results = []
  for (const m of modes) {
    const match = /^(\d+)x(\d+)@(\d+):(h264|hevc)$/.exec(m)
    if (match === null) throw new Error(`mode '${m}' is not WxH@FPS:h264|hevc`)
    if (!json) process.stderr.write(`${m}: ${seconds} s…\n`)
    results.push(await one(Number(match[1]), Number(match[2]), Number(match[3]), match[4] as 'h264' | 'hevc', seconds, bitrate, sendAt))
  }
  if (json) {
    process.stdout.write(`${JSON.stringify(results)}\n`)
    return
  }
  for (const x of results)
    process.stdout.write(
      `${x.mode} send-at ${x.sendAt}: host latency p50 ${x.hostLatencyMs.p50} ms p99 ${x.hostLatencyMs.p99} ms | stage p50 sum ${x.stageSumP50Ms} ms ${JSON.stringify(x.stageP50)} | frame interval p50 ${x.frameIntervalMs.p50} ms p99 ${x.frameIntervalMs.p99} ms | ${x.framesReceived}/${x.framesSent} frames, ${x.lateFrames} late, load ${x.loadavg1}\n`,
    )
}
