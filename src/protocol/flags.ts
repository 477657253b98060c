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
  h264High8_444: 0x0004_0000,
  hevcRext8_444: 0x0008_0000,
  hevcRext10_444: 0x0010_0000,
  av1High8_444: 0x0020_0000,
  av1High10_444: 0x0040_0000,
} as const

/** The ServerCodecModeSupport bit of each codec × chroma (x-ss-video[0].chromaSamplingType) × depth
 * (x-nv-video[0].dynamicRangeMode) a client can announce (rtsp.md §3.2's codec choice); H.264 has
 * no 10-bit format. */
export const CODEC_MODE_BITS: Readonly<Record<'h264' | 'hevc' | 'av1', Readonly<Record<'420' | '444', Partial<Record<8 | 10, number>>>>>> = {
  h264: {'420': {8: CodecModeSupport.h264}, '444': {8: CodecModeSupport.h264High8_444}},
  hevc: {'420': {8: CodecModeSupport.hevcMain, 10: CodecModeSupport.hevcMain10}, '444': {8: CodecModeSupport.hevcRext8_444, 10: CodecModeSupport.hevcRext10_444}},
  av1: {'420': {8: CodecModeSupport.av1Main8, 10: CodecModeSupport.av1Main10}, '444': {8: CodecModeSupport.av1High8_444, 10: CodecModeSupport.av1High10_444}},
}

/** The bit an announced stream needs (0 when no such format exists). */
export function announcedModeBit(video: {codec: 'h264' | 'hevc' | 'av1'; chromaSamplingType: number; dynamicRangeMode: number}): number {
  return CODEC_MODE_BITS[video.codec][video.chromaSamplingType === 1 ? '444' : '420'][video.dynamicRangeMode === 1 ? 10 : 8] ?? 0
}

/** serverinfo MaxLumaPixelsHEVC when HEVC is offered (Sunshine's value; 0 makes moonlight-qt drop HEVC). */
export const MAX_LUMA_PIXELS_HEVC = 1869449984

/** Whether a ServerCodecModeSupport value offers HEVC and AV1 (any profile of each). */
export function offeredCodecs(codecModeSupport: number): {hevc: boolean; av1: boolean} {
  return {
    hevc: (codecModeSupport & (CodecModeSupport.hevcMain | CodecModeSupport.hevcMain10 | CodecModeSupport.hevcRext8_444 | CodecModeSupport.hevcRext10_444)) !== 0,
    av1: (codecModeSupport & (CodecModeSupport.av1Main8 | CodecModeSupport.av1Main10 | CodecModeSupport.av1High8_444 | CodecModeSupport.av1High10_444)) !== 0,
  }
}
