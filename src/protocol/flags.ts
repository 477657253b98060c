/**
 * The bit fields host and client exchange in serverinfo and RTSP (docs/protocol/rtsp.md §3.2,
 * §3.4; http-and-pairing.md §5.2; media-encryption.md §2), as named bits and pure helpers.
 */

/** x-ss-general.encryptionSupported / encryptionRequested / encryptionEnabled bits. */
export const EncryptionFlags = {controlV2: 0x01, video: 0x02, audio: 0x04} as const

/** x-ml-general.featureFlags: what the client does (rtsp.md §3.4). */
export const ClientFeatureFlags = {
  /** sends per-frame FEC status (control message 0x5502) */
  fecStatus: 0x01,
  /** identifies its A/V pings by payload and its ENet peer by connect data (ML_FF_SESSION_ID_V1) */
  sessionIdV1: 0x02,
} as const

/** x-nv-general.featureFlags (GFE's): the bit that is the older way of asking for audio encryption. */
export const NV_FEATURE_AUDIO_ENCRYPTION = 0x20

/** serverinfo ServerCodecModeSupport bits (http-and-pairing.md §5.2). */
export const CodecModeSupport = {
  h264: 0x0000_0001,
  hevcMain: 0x0000_0100,
  hevcMain10: 0x0000_0200,
  av1Main8: 0x0001_0000,
  av1Main10: 0x0002_0000,
} as const

/** serverinfo MaxLumaPixelsHEVC when HEVC is offered (Sunshine's value; 0 makes moonlight-qt drop HEVC). */
export const MAX_LUMA_PIXELS_HEVC = 1869449984

/** Whether a ServerCodecModeSupport value offers HEVC and AV1 (any profile of each). */
export function offeredCodecs(codecModeSupport: number): {hevc: boolean; av1: boolean} {
  return {
    hevc: (codecModeSupport & (CodecModeSupport.hevcMain | CodecModeSupport.hevcMain10)) !== 0,
    av1: (codecModeSupport & (CodecModeSupport.av1Main8 | CodecModeSupport.av1Main10)) !== 0,
  }
}
