/** The host's packetizers; `*ForStream` build them from a negotiated StreamConfig. */
import {EncryptionFlags} from '../../protocol/flags.js'
import type {StreamConfig} from '../../protocol/stream-config.js'
import {AudioPacketizer} from './audio.js'
import {VideoPacketizer} from './video.js'

export * from './format.js'
export * from './video.js'
export * from './native.js'
export * from './audio.js'

/** The video packetizer for a session: the client's packet size, FEC floor, the host's FEC
 * percentage, AES-GCM with the launch key when video encryption was enabled. */
export function videoPacketizerForStream(config: StreamConfig): VideoPacketizer {
  return new VideoPacketizer({
    packetSize: config.video.packetSize,
    fecPercentage: config.video.fecPercentage,
    minParity: config.video.minRequiredFecPackets,
    encryptionKey: (config.encryptionFlags & EncryptionFlags.video) !== 0 ? config.riKey : undefined,
  })
}

/** The audio packetizer for a session: AES-CBC with rikey/rikeyid when audio encryption is on. */
export function audioPacketizerForStream(config: StreamConfig): AudioPacketizer {
  return new AudioPacketizer({
    packetDurationMs: config.audio.packetDurationMs,
    encryption: (config.encryptionFlags & EncryptionFlags.audio) !== 0 ? {key: config.riKey, keyId: config.riKeyId} : undefined,
  })
}
