/**
 * The stream's hot path without the encoder: synthetic 5120x1440 frames, encoded ONCE up front
 * (libx264, the first an IDR, then P-frames, looped), go through the real frame loop at 240 fps
 * for 60 s — one absolute grid, packetize + FEC + AES-GCM in one shim call, the datagrams out to
 * a loopback sink — with the frame loop and the send thread pinned to one core.
 *
 * The sink takes each GSO send whole (UDP_GRO, --sink gro, the default): on loopback the kernel
 * runs the receiver's side inside the sender's sendmmsg, and a sink that wants one datagram each
 * has them segmented and queued one by one there, ~20 µs a frame on a 2-core VM that a host
 * sending through a NIC does not pay (it pays the segmentation at most, where the NIC has no UDP
 * segmentation offload). --sink segmenting keeps the receiver's side in: an upper bound.
 *
 * Figures, per frame:
 *   hostUs   packetize + FEC + encrypt + hand-off to the send thread (frame loop) plus the send
 *            thread's time from first to last datagram handed to the kernel (ready mode: from
 *            packetize start to the last datagram, the send thread's wake-up included)
 *   slackUs  how late the first datagram left after the frame's deadline (wake-up error of the
 *            absolute sleep; 0 = exactly on time)
 *   readyUs  deadline − the moment the frame was ready (the perf log's "slack"; negative = late)
 *   lateFrames  frames ready after their deadline (sent at once, grid kept)
 *   gc       this thread's scavenges and full collections during the run (their longest pause)
 *            and the heap's growth per frame between them: the garbage the loop makes
 *
 *   npm run bench -- pipeline [--json] [--seconds 60] [--fps 240] [--bitrate 200000]
 *                             [--width 5120 --height 1440] [--no-encrypt] [--pacing line|burst]
 *                             [--core N] [--send-at ready|deadline] [--lead-us 2000] [--warmup-s 1]
 *                             [--sink gro|segmenting] [--alloc-sites]
 *
 * --send-at ready (the stream's default): each frame is sent the moment it is packetized, and
 * late means ready after the next frame's slot; deadline: the send thread holds each frame to
 * its slot (woken --lead-us before it), and late means ready after its own slot.
 *
 * Both threads run SCHED_FIFO when the process may (root, CAP_SYS_NICE; LUMEN_REALTIME=off to
 * compare), as serve runs them with a hardware encoder; the JSON says whether it was granted.
 */
import {spawnSync} from 'node:child_process'
import {loadavg} from 'node:os'

import {NativeVideoPacketizer} from '../src/media/packetizer/index.js'
import {monotonicNowNs} from '../src/media/stream/clock.js'
import {applyRealtime, realtimePriority} from '../src/media/stream/realtime.js'
import {SHARED_BYTES, sharedViews} from '../src/media/stream/shared.js'
import {runVideoLoop, type FrameProducer, type ProducedFrame, type SendAt} from '../src/media/stream/video-loop.js'
import {drawPattern} from '../src/native/capture.js'
import {NativeEncoder} from '../src/native/codec.js'
import {Pacer, UDP_GRO, UdpSocket} from '../src/native/net.js'
import {videoGcmEngine} from '../src/native/packetize.js'
import {type GcEvent, GcWatch} from '../src/perf/gc.js'
import {type AllocSite, AllocSampler} from './alloc-sites.js'

export const summary = 'stream hot path at 5120x1440 240 fps, encoder excluded: host time per frame, deadline slack, late frames'

function arg(args: string[], name: string, def: number): number {
  const i = args.indexOf(`--${name}`)
  return i >= 0 && i + 1 < args.length ? Number(args[i + 1]) : def
}

/** `--name other` picks `other`; anything else the default */
function choice<D extends string, O extends string>(args: string[], name: string, def: D, other: O): D | O {
  const i = args.indexOf(`--${name}`)
  return i >= 0 && args[i + 1] === other ? other : def
}

function pct(values: Float64Array, p: number): number {
  const s = Float64Array.from(values).sort()
  if (s.length === 0) return 0
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]
}

function stats(values: Float64Array): {p50: number; p99: number; max: number} {
  const r = (v: number): number => Math.round(v * 10) / 10
  return {p50: r(pct(values, 50)), p99: r(pct(values, 99)), max: r(pct(values, 100))}
}

interface LateFrame {
  frame: number
  lateUs: number
  /** how late the loop woke for it (µs) */
  wokeLateUs: number
  /** a collection that ran within the frame's interval before it was ready: its kind and pause */
  gc?: string
}

/** Which frames were late, by how much (µs after the deadline they were ready) and beside which collection, at most 20. */
function lateDetail(r: {slackUs: Float64Array; readyNs: Float64Array; loopWakeLateUs: Float64Array; frames: number}, events: GcEvent[], intervalNs: number): LateFrame[] {
  const out: LateFrame[] = []
  for (let i = 0; i < r.frames && out.length < 20; i++) {
    if (r.slackUs[i] >= 0) continue
    const ready = r.readyNs[i]
    const near = events.find((e) => e.startNs <= ready && e.startNs + e.ms * 1e6 >= ready - 2 * intervalNs)
    out.push({frame: i, lateUs: Math.round(-r.slackUs[i]), wokeLateUs: Math.round(r.loopWakeLateUs[i]), ...(near === undefined ? {} : {gc: `${near.kind} ${near.ms} ms`})})
  }
  return out
}

class PreEncoded implements FrameProducer {
  private i = 0
  private readonly out: ProducedFrame

  constructor(private readonly frames: Array<{data: Buffer; idr: boolean}>) {
    this.out = {data: frames[0].data, length: 0, idr: false, captureStartNs: 0, captureUs: 0, convertUs: 0, encodeUs: 0, fresh: true}
  }

  next(forceIdr: boolean): ProducedFrame {
    // frame 0 is the IDR; afterwards the P-frames loop (an infinite GOP)
    const f = forceIdr || this.i === 0 ? this.frames[0] : this.frames[1 + ((this.i - 1) % (this.frames.length - 1))]
    this.i++
    const o = this.out
    o.data = f.data
    o.length = f.data.length
    o.idr = f.idr
    o.captureStartNs = monotonicNowNs()
    return o
  }
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json')
  const seconds = arg(args, 'seconds', 60)
  const fps = arg(args, 'fps', 240)
  const width = arg(args, 'width', 5120)
  const height = arg(args, 'height', 1440)
  const bitrate = arg(args, 'bitrate', 200_000)
  const core = arg(args, 'core', 1)
  const leadUs = arg(args, 'lead-us', 2000)
  const warmupS = arg(args, 'warmup-s', 1)
  const encrypt = !args.includes('--no-encrypt')
  const pacing = choice(args, 'pacing', 'line', 'burst')
  const sendAt: SendAt = choice(args, 'send-at', 'ready', 'deadline')
  const sink = choice(args, 'sink', 'gro', 'segmenting')
  const log = (m: string): void => {
    if (!json) process.stderr.write(`${m}\n`)
  }

  // the frame loop's thread on one core (the send thread inherits it when created); V8's own
  // helpers (GC, compiler) stay where the scheduler puts them, as in serve: pinned beside the
  // loop without real-time priority they took its core in the middle of frames
  const pin = spawnSync('taskset', ['-cp', String(core), String(process.pid)], {encoding: 'utf8'})
  const pinned = pin.status === 0
  if (!pinned) log(`could not pin to core ${core} (${pin.stderr.trim() || 'taskset missing'}); running unpinned`)

  log(`encoding 48 synthetic ${width}x${height} frames once (libx264, ${bitrate} kbit/s)…`)
  const enc = NativeEncoder.open({encoder: 'libx264', width, height, fps, bitrateKbps: bitrate})
  const bgrx = Buffer.alloc(width * height * 4)
  const out = Buffer.alloc(enc.maxFrameBytes)
  const frames: Array<{data: Buffer; idr: boolean}> = []
  for (let i = 0; i < 48; i++) {
    drawPattern(bgrx, width, height, width * 4, i, Math.round((i * 1000) / fps))
    const r = enc.encodeCpu(bgrx, width * 4, i === 0, out)
    if (r.length > 0) frames.push({data: Buffer.from(out.subarray(0, r.length)), idr: r.idr})
  }
  enc.close()
  const sizes = frames.slice(1).map((f) => f.data.length)
  log(`IDR ${frames[0].data.length} B, P-frames ${Math.min(...sizes)}–${Math.max(...sizes)} B`)

  const sinkSocket = UdpSocket.open('127.0.0.1', 0, sink === 'gro' ? UDP_GRO : 0)
  const sock = UdpSocket.open('127.0.0.1', 0)
  sock.setPeer('127.0.0.1', sinkSocket.port)
  const pacer = new Pacer(sock, {mode: pacing, burstPackets: 32, spread: 0.5})
  // as the stream worker does: packetize + FEC + AES-GCM in one shim call into the send thread's ring
  const packetizer = new NativeVideoPacketizer({packetSize: encrypt ? 1360 : 1392, fecPercentage: 20, minParity: 2, encrypt})
  if (encrypt) pacer.setGcm(Buffer.alloc(16, 7), 0)
  // as serve does with a hardware encoder: both threads SCHED_FIFO (the frame loop's work is bounded here)
  const realtime = applyRealtime(pacer, realtimePriority(process.env.LUMEN_REALTIME), true)
  if (!realtime.granted) log(`real-time scheduling: ${realtime.detail}`)
  const {flags, counters} = sharedViews(new SharedArrayBuffer(SHARED_BYTES))
  const load0 = loadavg()
  log(`running ${seconds} s at ${fps} fps (${pacing} pacing, ${encrypt ? 'AES-GCM on' : 'no encryption'}, ${pinned ? `pinned to core ${core}` : 'unpinned'})…`)
  const total = Math.round(seconds * fps)
  // JIT compilation and the setup's garbage (the pre-encoding above) make the first frames slow;
  // a short run of the same loop first keeps them out of the figures
  const warmupFrames = Math.round(warmupS * fps)
  if (warmupFrames > 0) {
    const {flags: wf, counters: wc} = sharedViews(new SharedArrayBuffer(SHARED_BYTES))
    await runVideoLoop({fps, producer: new PreEncoded(frames), packetizer, pacer, sendAt, flags: wf, counters: wc, maxFrames: warmupFrames, leadNs: leadUs * 1000})
    pacer.poll()
  }
  const udp0 = sock.stats()
  const sampler = args.includes('--alloc-sites') ? await AllocSampler.start() : undefined
  const gc = new GcWatch()
  const r = await runVideoLoop({
    fps,
    producer: new PreEncoded(frames),
    packetizer,
    pacer,
    flags,
    counters,
    maxFrames: total,
    sendAt,
    leadNs: leadUs * 1000,
    onYield: (done) => gc.sample(done),
  })
  const gcs = gc.stop()
  const allocSites: AllocSite[] | undefined = sampler === undefined ? undefined : await sampler.stop(r.frames)
  const load1 = loadavg()
  pacer.close()
  const udp = sock.stats()
  sock.close()
  sinkSocket.close()

  // packetize + FEC + encrypt + hand-off + send (in ready mode the send thread may run inside the
  // hand-off on a shared core: the loop measures from packetize start to the last datagram)
  const host = r.hostUs.subarray(0, r.frames)
  const result = {
    frames: r.frames,
    lateFrames: r.lateFrames,
    hostUs: stats(host),
    slackUs: stats(r.wakeLateUs),
    packetizeUs: stats(r.packetizeUs),
    sendUs: stats(r.sendUs),
    readyUs: stats(r.slackUs),
    loopWakeUs: stats(r.loopWakeLateUs),
    packetsPerFrame: Math.round((r.packets / Math.max(1, r.frames)) * 10) / 10,
    mbps: Math.round(((r.bytes * 8) / seconds / 1e6) * 10) / 10,
    largestBurst: r.largestBurst,
    sendCalls: udp.sendCalls - udp0.sendCalls,
    gsoMessages: udp.gsoMessages - udp0.gsoMessages,
    warmupFrames,
    width,
    height,
    fps,
    seconds,
    encrypt,
    gcm: encrypt ? videoGcmEngine() : null,
    pacing,
    sendAt,
    sink,
    pinnedCore: pinned ? core : null,
    realtime: realtime.granted ? realtime.detail : `not granted: ${realtime.detail}`,
    lateDetail: lateDetail(r, gcs.events, 1e9 / fps),
    gc: {...gcs, events: gcs.events.length},
    ...(allocSites === undefined ? {} : {allocSites}),
    loadavg1: {before: Math.round(load0[0] * 100) / 100, after: Math.round(load1[0] * 100) / 100},
    goals: {lateFrames: 0, hostUsP99: 150, slackUsP99: 100},
  }
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`)
    return
  }
  const row = (name: string, s: {p50: number; p99: number; max: number}, goal = ''): string =>
    `  ${name.padEnd(24)} p50 ${String(s.p50).padStart(8)}  p99 ${String(s.p99).padStart(8)}  max ${String(s.max).padStart(9)} ${goal}`
  process.stdout.write(
    [
      `pipeline: ${width}x${height} ${fps} fps for ${seconds} s, ${result.frames} frames, ${result.packetsPerFrame} packets/frame, ${result.mbps} Mbit/s, ${pacing} pacing, send at ${sendAt}, ${sink} sink${result.gcm === null ? '' : `, AES-GCM ${result.gcm}`}`,
      row('host µs (pkt+FEC+enc+send)', result.hostUs, '(goal p99 ≤ 150)'),
      row('  packetize+FEC+enc µs', result.packetizeUs),
      row('  send µs', result.sendUs),
      row('deadline slack µs', result.slackUs, '(goal p99 ≤ 100)'),
      row('ready before deadline µs', result.readyUs),
      row('frame loop woke late µs', result.loopWakeUs),
      `  GC ${gcs.scavenges} scavenges (longest ${gcs.scavengeMaxMs} ms), ${gcs.fullGcs} full (longest ${gcs.fullGcMaxMs} ms); heap +${gcs.heapBytesPerFrame ?? '?'} B/frame between them`,
      `  late frames ${result.lateFrames} (goal 0)${result.lateDetail.length > 0 ? ` at ${result.lateDetail.map((l) => `#${l.frame} +${l.lateUs} µs (woke +${l.wokeLateUs} µs${l.gc === undefined ? '' : `, ${l.gc}`})`).join(', ')}` : ''}; ${result.realtime}; send calls ${result.sendCalls}, GSO messages ${result.gsoMessages}; ${warmupFrames} warm-up frames before (not counted); load average ${result.loadavg1.before} → ${result.loadavg1.after}`,
      ...(allocSites === undefined ? [] : ['  allocation sites (bytes/frame, the profiler running: figures above are not the bench\'s):', ...allocSites.map((a) => `    ${String(a.bytesPerFrame).padStart(8)}  ${a.site}  ← ${a.caller}`)]),
      '',
    ].join('\n'),
  )
}
