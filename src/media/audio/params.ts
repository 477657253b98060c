/** Audio stream parameters from the stream config (shared/protocol/audio.md §2, media-encryption.md §2). */
import type {AudioStreamConfig, StreamConfig} from '../../host/stream-config.js'
import {opusLayout, packetDurationMs, type OpusLayout} from './layouts.js'

/** The negotiated Opus layout (channels 2, 6 or 8; normal or high quality), from layouts.ts. */
export function audioLayout(cfg: AudioStreamConfig): OpusLayout {
  return opusLayout(cfg.channels, cfg.highQuality)
}

/** The layout's CBR bitrate: stereo 96 / 512 kbit/s, 5.1 256 / 1536, 7.1 450 / 2048. */
export function audioBitrate(cfg: AudioStreamConfig): number {
  return audioLayout(cfg).bitrate
}

/** Opus frame duration in ms: the ANNOUNCE's 5 or 10, high-quality surround always 5. */
export function audioDurationMs(cfg: AudioStreamConfig): 5 | 10 {
  return packetDurationMs(cfg.channels, cfg.highQuality, cfg.packetDurationMs)
}

/** Audio is AES-CBC encrypted when encryptionEnabled has 0x04 (x-ss-general) — the RTSP parser
 * folds the older x-nv-general.featureFlags 0x20 into the same bit. */
export function audioEncrypted(config: StreamConfig): boolean {
  return (config.encryptionFlags & 0x04) !== 0
}
