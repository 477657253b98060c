/**
 * The stream a client asked for, parsed from its RTSP ANNOUNCE (docs/protocol/rtsp.md §3.4)
 * plus the launch session's keys. Owned here; the RTSP parser (src/host/sdp.ts) fills it, the
 * media pipeline reads it.
 */
import {EncryptionFlags} from './flags.js'

export type VideoCodec = 'h264' | 'hevc' | 'av1'

/** The highest frame rate a stream runs at, whatever the client asks for. */
export const MAX_STREAM_FPS = 240
/** The frame rate of a stream whose ANNOUNCE gave none that makes sense. */
const FALLBACK_FPS = 60

export interface VideoStreamConfig {
  width: number
  height: number
  /** requested fps, honoured up to MAX_STREAM_FPS */
  fps: number
  /** x-nv-video[0].clientRefreshRateX100: the client display's exact rate × 100 (0 = not sent);
   * the grid runs at it when it is within 1 % of fps (59.94, 119.88 …) */
  clientRefreshRateX100: number
  /** maximum video payload per datagram (x-nv-video[0].packetSize), a multiple of 16 */
  packetSize: number
  /** the encoder bitrate derived as rtsp.md §3.4 says, kbit/s */
  bitrateKbps: number
  codec: VideoCodec
  /** x-nv-video[0].videoEncoderSlicesPerFrame */
  slicesPerFrame: number
  /** x-nv-vqos[0].fec.minRequiredFecPackets: the parity floor per block */
  minRequiredFecPackets: number
  /** FEC percentage (Sunshine's default 20) */
  fecPercentage: number
  /** 0 = 4:2:0, 1 = 4:4:4 */
  chromaSamplingType: number
  /** 1 = 10-bit/HDR */
  dynamicRangeMode: number
  /** 0 = no limit (RFI capable), 1 = single reference frame */
  maxNumReferenceFrames: number
  /** (colorspace << 1) | fullRange */
  encoderCscMode: number
  /** x-nv-vqos[0].qosTrafficType non-zero → DSCP-mark video */
  qosTrafficType: number
}

export interface AudioStreamConfig {
  channels: number
  channelMask: number
  /** Opus frame duration in ms (5 or 10) */
  packetDurationMs: number
  highQuality: boolean
}

export interface StreamConfig {
  video: VideoStreamConfig
  audio: AudioStreamConfig
  /** x-ss-general.encryptionEnabled */
  encryptionFlags: number
  /** x-ml-general.featureFlags */
  clientFeatureFlags: number
  /** the launch's rikey (16 bytes) and rikeyid */
  riKey: Buffer
  riKeyId: number
}

/** The fps a stream runs at: the client's request, capped (serve's --max-fps, itself at most MAX_STREAM_FPS). */
export function streamFps(requested: number, cap: number = MAX_STREAM_FPS): number {
  if (!Number.isFinite(requested) || requested <= 0) return FALLBACK_FPS
  return Math.min(Math.round(requested), cap)
}

/**
 * The frame rate of a stream's grid: the client's exact display rate
 * (x-nv-video[0].clientRefreshRateX100, e.g. 11988 for 119.88 Hz) when it is within 1 % of the
 * requested maxFPS, as Sunshine does, else maxFPS; capped like streamFps.
 */
export function streamRate(video: {fps: number; clientRefreshRateX100?: number}, cap: number = MAX_STREAM_FPS): number {
  const fps = streamFps(video.fps, cap)
  const exact = (video.clientRefreshRateX100 ?? 0) / 100
  if (!Number.isFinite(exact) || exact <= 0 || Math.abs(exact - video.fps) > video.fps / 100) return fps
  return Math.min(exact, cap)
}

/** Video payloads are AES-GCM encrypted (media-encryption.md §3). */
export function videoEncrypted(config: StreamConfig): boolean {
  return (config.encryptionFlags & EncryptionFlags.video) !== 0
}

/** Audio payloads are AES-CBC encrypted (media-encryption.md §4); the RTSP parser folds the older
 * x-nv-general.featureFlags audio bit into the same flag. */
export function audioEncrypted(config: StreamConfig): boolean {
  return (config.encryptionFlags & EncryptionFlags.audio) !== 0
}
