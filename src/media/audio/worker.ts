/**
 * The audio worker thread of one stream (docs/protocol/audio.md): paced capture (the desktop's
 * PipeWire monitor, or a tone) at the negotiated channel count → Opus multistream CBR → AES-CBC (when negotiated) → RTP + 4+2 FEC → UDP,
 * one packet every packetDuration ms, from the host's audio socket to the client's ping source.
 * Started by ../stream/index.ts with WorkerData; its shim handles are in its ledger (../stream/ledger.ts).
 */
import {AudioCapture, OpusEncoder} from '../../native/audio.js'
import {audioDurationMs, audioLayout} from '../../protocol/audio.js'
import {audioEncrypted} from '../../protocol/stream-config.js'
import {AudioPacketizer} from '../packetizer/index.js'
import {Counter, Flag, type WorkerData} from '../stream/shared.js'
import {openStreamSocket, workerSide} from '../stream/worker-side.js'

const side = workerSide()
const {data, flags, counters, post, held} = side
const cfg = data.config.audio
try {
  const socket = openStreamSocket(side)
  const durationMs = audioDurationMs(cfg)
  // the negotiated layout (2, 6 or 8 channels; the DESCRIBE advertised the same table's lines)
  const layout = audioLayout(cfg)
  const channels = layout.channels
  // ../stream/index.ts starts no audio worker when audio is off
  const source = data.options.audio as Exclude<WorkerData['options']['audio'], 'off'>
  const capture = new AudioCapture(source, channels, {frequencyHz: data.options.toneHz ?? 440})
  held.add(capture, () => capture.close(), [{kind: 'audioCapture', handle: capture.handle}])
  const encoder = new OpusEncoder(layout, layout.bitrate, durationMs * 1000)
  held.add(encoder, () => encoder.close(), [{kind: 'opusEncoder', handle: encoder.handle}])
  const packetizer = new AudioPacketizer({
    packetDurationMs: durationMs,
    encryption: audioEncrypted(data.config) ? {key: Buffer.from(data.config.riKey), keyId: data.config.riKeyId} : undefined,
  })
  post({type: 'started', kind: 'audio', source: capture.kind, bitrate: layout.bitrate, durationMs, channels, streams: layout.streams, coupled: layout.coupled})
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
  post({type: 'stopped', kind: 'audio', udp: socket.stats(), capture: capture.stats()})
} catch (error) {
  post({type: 'error', kind: 'audio', message: (error as Error).message})
} finally {
  held.closeAll()
}
