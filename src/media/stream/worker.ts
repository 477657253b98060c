/**
 * The video worker thread of one stream: opens the capture source, the encoder, the packetizer
 * and the send thread, runs the frame loop until the shared stop flag, then releases all of it.
 * Started by ./index.ts with WorkerData; every shim handle it opens is in its ledger
 * (./ledger.ts), so the main thread can release them if this thread is terminated.
 */
import {Pacer} from '../../native/net.js'
import {PerfLogWriter} from '../../perf/writer.js'
import {streamRate, videoEncrypted} from '../../protocol/stream-config.js'
import {defaultEncoder, ENCODER_CODEC, encoderPreset, type EncoderName, type VideoEncoder} from '../encoder.js'
import {NativeVideoPacketizer} from '../packetizer/index.js'
import {streamFormat} from './codecs.js'
import {CaptureEncodeProducer, type ProducerOptions} from './producer.js'
import {GpuCaptureProducer} from './gpu-producer.js'
import {planCapturePath} from './capture-path.js'
import {applyRealtime, DEFAULT_REALTIME_PRIORITY} from './realtime.js'
import {openSource} from './sources.js'
import {RecordingProducer} from './frame-stats.js'
import {runVideoLoop} from './video-loop.js'
import {openStreamSocket, workerSide} from './worker-side.js'

/** IP TOS of DSCP-marked video (qosTrafficType non-zero): CS5, as Sunshine marks video. */
const VIDEO_TOS = 0xa0
/** SO_PRIORITY of the video socket: above best effort, below the kernel's interactive band (6). */
const VIDEO_SO_PRIORITY = 5

const side = workerSide()
const {data, flags, counters, post, held} = side
const cfg = data.config.video
const opts = data.options
const fps = streamRate(cfg, opts.maxFps)

try {
  const socket = openStreamSocket(side)
  socket.setGso(opts.udpGso ?? true)
  try {
    socket.setQos(cfg.qosTrafficType !== 0 ? VIDEO_TOS : -1, VIDEO_SO_PRIORITY)
  } catch {
    // QoS marking is a hint; a kernel that refuses it still streams
  }
  const source = await openSource(opts.source, {width: cfg.width, height: cfg.height}, {display: opts.display, pipewireTarget: opts.pipewireTarget, stamp: opts.stamp, portalTimeoutMs: opts.portalTimeoutMs})
  held.add(source, () => source.close(), source.shimHandles?.() ?? [])
  // --encoder serves its own codec; a stream the client negotiated in another gets that codec's default
  const encoderName: EncoderName = opts.encoder !== undefined && ENCODER_CODEC[opts.encoder as EncoderName] === cfg.codec ? (opts.encoder as EncoderName) : defaultEncoder(cfg.codec)
  // the encoder runs at the client's size; captured frames of another size are scaled to it
  const producerOptions: ProducerOptions = {
    encoder: encoderName,
    fps: Math.round(fps),
    bitrateKbps: cfg.bitrateKbps,
    slices: Math.max(1, cfg.slicesPerFrame),
    width: cfg.width,
    height: cfg.height,
    preset: encoderPreset(encoderName, opts),
    convertThreads: opts.convertThreads,
    ...streamFormat(cfg),
  }
  const adopt = (e: VideoEncoder) => held.add(e, () => e.close(), [{kind: 'encoder', handle: e.handle}])
  const plan = planCapturePath(opts.capturePath ?? 'auto', encoderName, opts.source)
  let producer: GpuCaptureProducer | CaptureEncodeProducer | undefined
  let capturePath = `cpu (${plan.reason})`
  if (plan.tryGpu) {
    try {
      producer = GpuCaptureProducer.open(source, {...producerOptions, failAtFrame: opts.gpuFailAtFrame, adopt, log: (line) => post({type: 'log', kind: 'video', line})})
      capturePath = `gpu (${plan.reason}; ${producer.describe()})`
    } catch (error) {
      capturePath = `cpu (the GPU path did not open: ${(error as Error).message})`
    }
  }
  producer ??= new CaptureEncodeProducer(source, producerOptions, {ownsSource: false})
  if (producer instanceof CaptureEncodeProducer) adopt(producer.encoder)
  else {
    const gpu = producer
    held.add(gpu, () => gpu.close(), [])
  }
  const encoder = producer.encoder
  const key = videoEncrypted(data.config) ? Buffer.from(data.config.riKey) : undefined
  // the shim packetizes, FEC-protects and (when negotiated) encrypts each frame in one call,
  // straight into the send thread's ring; the key lives in the send thread
  const packetizer = new NativeVideoPacketizer({
    packetSize: cfg.packetSize,
    fecPercentage: opts.fecPercentage ?? cfg.fecPercentage,
    minParity: cfg.minRequiredFecPackets,
    encrypt: key !== undefined,
  })
  const pacer = new Pacer(socket, {mode: opts.pacing, burstPackets: opts.burstPackets, spread: opts.burstSpread, spinUs: opts.spinUs})
  held.add(pacer, () => pacer.close(), [{kind: 'pacer', handle: pacer.handle}])
  if (key !== undefined) pacer.setGcm(key, 0)
  const realtime = applyRealtime(pacer, opts.realtime ?? DEFAULT_REALTIME_PRIORITY, encoderName.endsWith('_nvenc'))
  let perf: PerfLogWriter | undefined
  if (opts.perfPath !== undefined && opts.perfPath !== '') {
    perf = PerfLogWriter.open(opts.perfPath, {
      width: encoder.options.width,
      height: encoder.options.height,
      fps,
      codec: cfg.codec,
      bitrateKbps: cfg.bitrateKbps,
      encoder: encoderName,
      startTimeMs: Date.now(),
      source: source.name,
      pacing: opts.pacing,
      burstPackets: opts.burstPackets,
      packetSize: cfg.packetSize,
      encrypted: key !== undefined,
    })
  }
  post({
    type: 'started',
    kind: 'video',
    encoder: encoder.describe(),
    width: encoder.options.width,
    height: encoder.options.height,
    capture: `${source.width}x${source.height}`,
    fps,
    source: source.name,
    realtime: realtime.granted ? realtime.detail : `refused: ${realtime.detail}`,
    capturePath,
  })
  const recording = new RecordingProducer(producer, producer instanceof GpuCaptureProducer ? producer : undefined)
  await runVideoLoop({fps, sendAt: opts.sendAt, producer: recording, packetizer, pacer, flags, counters, perf})
  if (perf !== undefined) await perf.close()
  post({type: 'stopped', kind: 'video', udp: socket.stats(), perf: perf?.stats(), frames: recording.stats()})
} catch (error) {
  post({type: 'error', kind: 'video', message: (error as Error).message})
} finally {
  held.closeAll()
}
