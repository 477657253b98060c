/** Audio stream parameters from the stream config (shared/protocol/audio.md §2, media-encryption.md §2). */
import type {AudioStreamConfig, StreamConfig} from '../../host/stream-config.js'

/** Stereo: 96 kbit/s, or 512 kbit/s for high quality. */
export function audioBitrate(cfg: AudioStreamConfig): number {
  return cfg.highQuality ? 512_000 : 96_000
}

/** Audio is AES-CBC encrypted when encryptionEnabled has 0x04 (x-ss-general) — the RTSP parser
 * folds the older x-nv-general.featureFlags 0x20 into the same bit. */
export function audioEncrypted(config: StreamConfig): boolean {
  return (config.encryptionFlags & 0x04) !== 0
}
