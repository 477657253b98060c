/**
 * The SDP of RTSP ANNOUNCE (rtsp.md §3.4) → the typed StreamConfig, and the DESCRIBE body the
 * host offers (§3.2). Bounded: at most MAX_ATTRIBUTES attributes of bounded length.
 */
import {surroundParamsLines} from '../protocol/audio.js'
import {EncryptionFlags, NV_FEATURE_AUDIO_ENCRYPTION} from '../protocol/flags.js'
import type {AudioStreamConfig, StreamConfig, VideoCodec, VideoStreamConfig} from '../protocol/stream-config.js'

export const SDP_LIMITS = {maxBytes: 64 * 1024, maxLines: 512, maxLineLength: 1024} as const

export class SdpError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SdpError'
  }
}

/** name → value of every `a=name:value` line (first occurrence wins). */
export function parseSdpAttributes(body: Buffer | string): Map<string, string> {
  const text = typeof body === 'string' ? body : body.toString('latin1')
  if (text.length > SDP_LIMITS.maxBytes) throw new SdpError(`SDP of ${text.length} bytes exceeds ${SDP_LIMITS.maxBytes}`)
  const lines = text.split(/\r\n|\r|\n/, SDP_LIMITS.maxLines + 1)
  if (lines.length > SDP_LIMITS.maxLines) throw new SdpError(`SDP with more than ${SDP_LIMITS.maxLines} lines`)
  const attrs = new Map<string, string>()
  for (const line of lines) {
    if (line.length > SDP_LIMITS.maxLineLength) throw new SdpError('an SDP line is too long')
    if (!line.startsWith('a=')) continue
    const colon = line.indexOf(':')
    if (colon < 0) continue
    const name = line.slice(2, colon)
    if (!attrs.has(name)) attrs.set(name, line.slice(colon + 1).replace(/ +$/, ''))
  }
  return attrs
}

function uint(attrs: Map<string, string>, name: string, fallback: number, max = 0xffffffff): number {
  const v = attrs.get(name)
  if (v === undefined || v === '') return fallback
  if (!/^-?\d{1,10}$/.test(v)) throw new SdpError(`${name} is not an integer: '${v.slice(0, 32)}'`)
  const n = Number(v)
  if (n < 0 || n > max) throw new SdpError(`${name} ${n} is out of range 0..${max}`)
  return n
}

export const DEFAULT_FEC_PERCENTAGE = 20

/** The encoder bitrate as rtsp.md §3.4 derives it (kbit/s). */
export function deriveBitrateKbps(input: {configuredBitrateKbps: number; maximumBitrateKbps: number; fecPercentage: number; highQualityAudio: boolean; audioChannels: number}): number {
  if (input.configuredBitrateKbps <= 0) return input.maximumBitrateKbps
  let b = input.configuredBitrateKbps
  if (input.fecPercentage <= 80) b = Math.trunc((b * (100 - input.fecPercentage)) / 100)
  const audio = (input.highQualityAudio ? 256 : 96) * input.audioChannels
  b = b - Math.min(audio, Math.trunc(b / 5))
  b = b - Math.min(500, Math.trunc(b / 10))
  return b
}

export interface AnnounceContext {
  riKey: Buffer
  riKeyId: number
  /** true unless the RTSP Host header was 0.0.0.0 (rtsp.md §2) */
  highQualityAudioAllowed?: boolean
  fecPercentage?: number
}

/** ANNOUNCE body → StreamConfig; missing attributes take defaults, malformed ones throw SdpError. */
export function parseAnnounce(body: Buffer | string, ctx: AnnounceContext): StreamConfig {
  const a = parseSdpAttributes(body)
  const width = uint(a, 'x-nv-video[0].clientViewportWd', 0, 16384)
  const height = uint(a, 'x-nv-video[0].clientViewportHt', 0, 16384)
  const fps = uint(a, 'x-nv-video[0].maxFPS', 0, 1000)
  if (width === 0 || height === 0 || fps === 0) throw new SdpError('ANNOUNCE lacks the stream width, height or frame rate')
  const packetSize = uint(a, 'x-nv-video[0].packetSize', 1024, 65535)
  if (packetSize < 64) throw new SdpError(`packetSize ${packetSize} is too small`)
  const formatCode = uint(a, 'x-nv-vqos[0].bitStreamFormat', 0, 255)
  const codecs: Record<number, VideoCodec> = {0: 'h264', 1: 'hevc', 2: 'av1'}
  const codec = codecs[formatCode]
  if (codec === undefined) throw new SdpError(`unknown bitStreamFormat ${formatCode}`)
  const channels = uint(a, 'x-nv-audio.surround.numChannels', 2, 8)
  if (![2, 6, 8].includes(channels)) throw new SdpError(`unsupported audio channel count ${channels}`)
  const audioQuality = uint(a, 'x-nv-audio.surround.AudioQuality', 0, 1)
  const highQuality = channels > 2 ? audioQuality === 1 : ctx.highQualityAudioAllowed ?? true
  const fecPercentage = ctx.fecPercentage ?? DEFAULT_FEC_PERCENTAGE
  const bitrateKbps = deriveBitrateKbps({
    configuredBitrateKbps: uint(a, 'x-ml-video.configuredBitrateKbps', 0),
    maximumBitrateKbps: uint(a, 'x-nv-vqos[0].bw.maximumBitrateKbps', uint(a, 'x-nv-video[0].initialBitrateKbps', 10000)),
    fecPercentage,
    highQualityAudio: highQuality,
    audioChannels: channels,
  })
  const video: VideoStreamConfig = {
    width,
    height,
    fps,
    clientRefreshRateX100: uint(a, 'x-nv-video[0].clientRefreshRateX100', 0, 100_000),
    packetSize,
    bitrateKbps,
    codec,
    slicesPerFrame: Math.max(1, uint(a, 'x-nv-video[0].videoEncoderSlicesPerFrame', 1, 64)),
    minRequiredFecPackets: uint(a, 'x-nv-vqos[0].fec.minRequiredFecPackets', 0, 255),
    fecPercentage,
    chromaSamplingType: uint(a, 'x-ss-video[0].chromaSamplingType', 0, 1),
    dynamicRangeMode: uint(a, 'x-nv-video[0].dynamicRangeMode', 0, 1),
    maxNumReferenceFrames: uint(a, 'x-nv-video[0].maxNumReferenceFrames', 0, 16),
    encoderCscMode: uint(a, 'x-nv-video[0].encoderCscMode', 0, 255),
    qosTrafficType: uint(a, 'x-nv-vqos[0].qosTrafficType', 0, 255),
  }
  const audio: AudioStreamConfig = {
    channels,
    channelMask: uint(a, 'x-nv-audio.surround.channelMask', channels === 2 ? 3 : 0),
    packetDurationMs: uint(a, 'x-nv-aqos.packetDuration', 5, 100),
    highQuality,
  }
  let encryptionFlags = uint(a, 'x-ss-general.encryptionEnabled', 0)
  // Sunshine: GFE's audio-encryption feature flag also means audio encryption
  if ((uint(a, 'x-nv-general.featureFlags', 0) & NV_FEATURE_AUDIO_ENCRYPTION) !== 0) encryptionFlags |= EncryptionFlags.audio
  return {
    video,
    audio,
    encryptionFlags,
    clientFeatureFlags: uint(a, 'x-ml-general.featureFlags', 0),
    riKey: ctx.riKey,
    riKeyId: ctx.riKeyId,
  }
}

export interface DescribeOptions {
  /** x-ss-general.encryptionSupported: EncryptionFlags bits */
  encryptionSupported: number
  encryptionRequested: number
  featureFlags: number
  hevc: boolean
  av1: boolean
  refPicInvalidation: boolean
  /** ServerCodecModeSupport: an ANNOUNCE asking for a format outside it is refused (400, as Sunshine) */
  codecModeSupport?: number
}

/** The DESCRIBE body (rtsp.md §3.2), with Sunshine's six Opus layouts (7.1's line corrected, layouts.ts). */
export function describeBody(o: DescribeOptions): string {
  const lines = [
    `a=x-ss-general.featureFlags:${o.featureFlags}`,
    `a=x-ss-general.encryptionSupported:${o.encryptionSupported}`,
    `a=x-ss-general.encryptionRequested:${o.encryptionRequested}`,
  ]
  if (o.refPicInvalidation) lines.push('a=x-nv-video[0].refPicInvalidation:1')
  if (o.hevc) lines.push('sprop-parameter-sets=AAAAAU')
  if (o.av1) lines.push('a=rtpmap:98 AV1/90000')
  // the Opus layouts the audio encoder uses (one table: src/protocol/audio.ts)
  lines.push(...surroundParamsLines())
  return `${lines.join('\r\n')}\r\n`
}
