/**
 * The stream a client asked for, parsed from its RTSP ANNOUNCE (shared/protocol/rtsp.md §3.4)
 * plus the launch session's keys. Owned here; the RTSP parser fills it, the media pipeline
 * reads it.
 */

export type VideoCodec = 'h264' | 'hevc' | 'av1'

/** x-ss-general.encryptionEnabled bits. */
export const EncryptionFlags = {controlV2: 0x01, video: 0x02, audio: 0x04} as const

export interface VideoStreamConfig {
  width: number
  height: number
  /** requested fps, honoured up to 240 */
  fps: number
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
