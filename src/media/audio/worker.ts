/**
 * The audio worker thread of one stream (shared/protocol/audio.md): paced capture (the desktop's
 * PipeWire monitor, or a tone) at the negotiated channel count → Opus multistream CBR → AES-CBC (when negotiated) → RTP + 4+2 FEC → UDP,
 * one packet every packetDuration ms, from the host's audio socket to the client's ping source.
 */
import {parentPort, workerData} from 'node:worker_threads'

import {AudioCapture, OpusEncoder} from '../../native/audio.js'
import {UdpSocket} from '../../native/net.js'
import {AudioPacketizer} from '../packetizer/index.js'
import {closeAll, Counter, Flag, sharedViews, type AudioWorkerData} from '../stream/shared.js'
import {audioDurationMs, audioLayout} from '../../protocol/audio.js'
import {audioEncrypted} from '../../protocol/stream-config.js'

const data = workerData as AudioWorkerData
const {flags, counters} = sharedViews(data.sab)
const cfg = data.config.audio
const closers: Array<() => unknown> = []
try {
  const socket = data.socketFd >= 0 ? UdpSocket.adopt(data.socketFd) : UdpSocket.open('', 0)
  closers.push(() => socket.close())
  socket.setPeer(data.peer.address, data.peer.port)
  const durationMs = audioDurationMs(cfg)
  // the negotiated layout (2, 6 or 8 channels; the DESCRIBE advertised the same table's lines)
  const layout = audioLayout(cfg)
  const channels = layout.channels
  const source = data.options.audio === 'off' ? 'tone' : data.options.audio
  const capture = new AudioCapture(source, channels, {frequencyHz: data.options.toneHz ?? 440})
  closers.unshift(() => capture.close())
  const encoder = new OpusEncoder(layout, layout.bitrate, durationMs * 1000)
  closers.unshift(() => encoder.close())
  const packetizer = new AudioPacketizer({
    packetDurationMs: durationMs,
    encryption: audioEncrypted(data.config) ? {key: Buffer.from(data.config.riKey), keyId: data.config.riKeyId} : undefined,
  })
  parentPort?.postMessage({type: 'started', source: capture.kind, bitrate: layout.bitrate, durationMs, channels, streams: layout.streams, coupled: layout.coupled})
  const pcm = Buffer.alloc(48 * durationMs * channels * 2)
  const opus = Buffer.alloc(1500)
  let n = 0
  while (Atomics.load(flags, Flag.stop) === 0) {
    capture.read(pcm, 48 * durationMs)
    const len = encoder.encode(pcm, opus)
    if (len <= 0) continue
    const batch = packetizer.packetize(opus.subarray(0, len))
    for (let i = 0; i < batch.count; i++) socket.send(batch.buffer.subarray(batch.offsets[i], batch.offsets[i] + batch.lengths[i]))
    counters[Counter.audioPackets] += batch.count
    // let the event loop breathe now and then (messages, GC)
    if (++n % 50 === 0) await new Promise((r) => setImmediate(r))
  }
  parentPort?.postMessage({type: 'stopped', udp: socket.stats(), capture: capture.stats()})
} catch (error) {
  parentPort?.postMessage({type: 'error', message: (error as Error).message})
} finally {
  closeAll(closers)
}
