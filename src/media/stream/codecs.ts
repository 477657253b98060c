/**
 * Which video formats the host offers (serverinfo's ServerCodecModeSupport, the DESCRIBE's HEVC
 * marker; docs/protocol/http-and-pairing.md §5.2, rtsp.md §3.2): a format is offered only when
 * the encoder that would serve it opens on this box in that format (4:4:4, 10-bit), and, in
 * `auto`, when a software encoder also keeps up. libx265 is far slower than libx264 (39 fps
 * against 60 at 720p60 on a 2-core box), and 4:4:4 / 10-bit cost more again, so `auto` encodes
 * the synthetic pattern at the clients' common modes and offers a format only when its encoder
 * stays inside the frame budget there. A list (`--codecs h264,hevc,hevc-main10`) decides without
 * calibrating, but still offers only what opens. Decided once, at start.
 */
import {drawPattern} from '../../native/capture.js'
import {type BitDepth, type Chroma, type EncoderName, NativeEncoder} from '../../native/codec.js'
import {ENCODER_CODEC} from '../encoder.js'
import {CODEC_MODE_BITS} from '../../protocol/flags.js'
import type {VideoCodec, VideoStreamConfig} from '../../protocol/stream-config.js'

/** One format a client can negotiate: codec, chroma (chromaSamplingType), bit depth (dynamicRangeMode). */
export interface VideoFormat {
  name: FormatName
  codec: VideoCodec
  chroma: Chroma
  bitDepth: BitDepth
  /** the ServerCodecModeSupport bit */
  bit: number
  label: string
}

export type FormatName = 'h264' | 'h264-444' | 'hevc' | 'hevc-main10' | 'hevc-444' | 'hevc-444-10' | 'av1' | 'av1-main10' | 'av1-444' | 'av1-444-10'

const format = (name: FormatName, codec: VideoCodec, chroma: Chroma, bitDepth: BitDepth, label: string): VideoFormat => ({
  name,
  codec,
  chroma,
  bitDepth,
  bit: CODEC_MODE_BITS[codec][chroma][bitDepth]!,
  label,
})

/** Every format Lumen can encode; H.264 4:2:0 first (always offered: every client's fallback), then
 * each codec's base format before its variants. */
export const VIDEO_FORMATS: readonly VideoFormat[] = [
  format('h264', 'h264', '420', 8, 'H.264'),
  format('h264-444', 'h264', '444', 8, 'H.264 4:4:4'),
  format('hevc', 'hevc', '420', 8, 'HEVC'),
  format('hevc-main10', 'hevc', '420', 10, 'HEVC Main10'),
  format('hevc-444', 'hevc', '444', 8, 'HEVC 4:4:4'),
  format('hevc-444-10', 'hevc', '444', 10, 'HEVC 4:4:4 10-bit'),
  format('av1', 'av1', '420', 8, 'AV1'),
  format('av1-main10', 'av1', '420', 10, 'AV1 Main10'),
  format('av1-444', 'av1', '444', 8, 'AV1 High 4:4:4'),
  format('av1-444-10', 'av1', '444', 10, 'AV1 High 4:4:4 10-bit'),
]

/** `auto`, or the formats to offer (H.264 is always among them; a variant brings its codec's base format). */
export type CodecsSetting = 'auto' | FormatName[]

/** --codecs: `auto` or a comma list of format names. Throws a sentence for an unknown name. */
export function parseCodecsSetting(text: string): CodecsSetting {
  const t = text.trim()
  if (t === 'auto') return 'auto'
  const names = t.split(',').map((s) => s.trim()).filter((s) => s !== '')
  const known = VIDEO_FORMATS.map((f) => f.name) as string[]
  const bad = names.find((n) => !known.includes(n))
  if (bad !== undefined || names.length === 0) throw new Error(`'${text}': expected auto, or a comma list of ${known.join(', ')}`)
  const wanted = new Set<FormatName>(['h264', ...(names as FormatName[])])
  for (const f of VIDEO_FORMATS) if (wanted.has(f.name)) wanted.add(f.codec as FormatName)
  return VIDEO_FORMATS.map((f) => f.name).filter((n) => wanted.has(n))
}

/** The chroma and bit depth an announced stream asks for (rtsp.md §3.4). */
export function streamFormat(video: Pick<VideoStreamConfig, 'chromaSamplingType' | 'dynamicRangeMode'>): {chroma: Chroma; bitDepth: BitDepth} {
  return {chroma: video.chromaSamplingType === 1 ? '444' : '420', bitDepth: video.dynamicRangeMode === 1 ? 10 : 8}
}

export interface CodecCalibration {
  encoder: EncoderName
  /** the format's name (h264-444, hevc, …) */
  format: FormatName
  mode: string
  /** convert + encode per frame, 90th percentile (ms) */
  p90Ms: number
  /** the share of the frame interval a frame may take and still leave room for capture and sending */
  budgetMs: number
  keepsUp: boolean
}

export interface CodecChoice {
  /** ServerCodecModeSupport */
  modeSupport: number
  offered: FormatName[]
  /** one sentence: which formats and why the others are not */
  reason: string
  calibration: CodecCalibration[]
}

/** The modes Moonlight clients ask for most (its defaults: 720p60, 1080p60). */
export const COMMON_MODES = [
  {width: 1280, height: 720, fps: 60},
  {width: 1920, height: 1080, fps: 60},
] as const

/** A frame may take this share of its interval in the encoder (capture and sending need the rest). */
const BUDGET_SHARE = 0.85

/** Opens and closes an encoder in a format at a small size; throws the shim's sentence when it cannot. */
export type FormatProbe = (encoder: EncoderName, chroma: Chroma, bitDepth: BitDepth) => void

const openProbe: FormatProbe = (encoder, chroma, bitDepth) => {
  NativeEncoder.open({encoder, width: 64, height: 64, fps: 60, bitrateKbps: 1000, chroma, bitDepth}).close()
}

/** Encodes `frames` synthetic frames at a mode and reports whether the encoder keeps up. */
export function calibrateEncoder(
  encoder: EncoderName,
  mode: {width: number; height: number; fps: number},
  frames = 24,
  fmt: Pick<VideoFormat, 'name' | 'chroma' | 'bitDepth'> = {name: ENCODER_CODEC[encoder], chroma: '420', bitDepth: 8},
): CodecCalibration {
  const {width, height, fps} = mode
  const enc = NativeEncoder.open({encoder, width, height, fps, bitrateKbps: 10_000, chroma: fmt.chroma, bitDepth: fmt.bitDepth})
  const times: number[] = []
  try {
    const bgrx = Buffer.alloc(width * height * 4)
    const out = Buffer.alloc(enc.maxFrameBytes)
    for (let i = 0; i < frames; i++) {
      drawPattern(bgrx, width, height, width * 4, i, Math.round((i * 1000) / fps))
      const r = enc.encodeCpu(bgrx, width * 4, i === 0, out)
      // the first frames (IDR, the encoder's start-up) are not what a stream sees every frame
      if (i >= 4) times.push((r.convertNs + r.encodeNs) / 1e6)
    }
  } finally {
    enc.close()
  }
  times.sort((a, b) => a - b)
  const p90 = times[Math.min(times.length - 1, Math.floor(times.length * 0.9))] ?? Number.POSITIVE_INFINITY
  const budget = (1000 / fps) * BUDGET_SHARE
  return {encoder, format: fmt.name, mode: `${width}x${height}@${fps}`, p90Ms: Math.round(p90 * 10) / 10, budgetMs: Math.round(budget * 10) / 10, keepsUp: p90 <= budget}
}

export interface ChooseOptions {
  /** hears about a calibration before it starts (each takes a second or two) */
  progress?: (m: string) => void
  /** how a format is checked to open (default: the shim's encoder at 64x64); tests stand in a build without one */
  probe?: FormatProbe
  /** what an AV1 stream would use (default libaom-av1) */
  av1Encoder?: EncoderName
}

/**
 * The formats to offer. `hevcEncoder` is what a HEVC stream would use (H.264 uses libx264 unless
 * it is h264_nvenc's box, and only 4:4:4 depends on that); a hardware encoder is not calibrated.
 */
export function chooseCodecs(setting: CodecsSetting, hevcEncoder: EncoderName, options: ChooseOptions | ((m: string) => void) = {}): CodecChoice {
  const {progress, probe = openProbe, av1Encoder = 'libaom-av1'} = typeof options === 'function' ? {progress: options} : options
  const auto = setting === 'auto'
  const wanted = auto ? VIDEO_FORMATS : VIDEO_FORMATS.filter((f) => setting.includes(f.name))
  const offered: VideoFormat[] = []
  const missing: string[] = []
  const calibration: CodecCalibration[] = []
  for (const f of wanted) {
    const encoder: EncoderName = f.codec === 'h264' ? 'libx264' : f.codec === 'hevc' ? hevcEncoder : av1Encoder
    if (f.name === 'h264') {
      offered.push(f)
      continue
    }
    // a variant needs its codec's base format offered (the client falls back to it)
    if (f.name !== f.codec && !offered.some((o) => o.name === f.codec)) {
      missing.push(`${f.label} (no ${VIDEO_FORMATS.find((b) => b.name === f.codec)!.label})`)
      continue
    }
    try {
      probe(encoder, f.chroma, f.bitDepth)
    } catch (error) {
      missing.push(`${f.label} (${(error as Error).message})`)
      continue
    }
    if (!auto || encoder.endsWith('_nvenc')) {
      offered.push(f)
      continue
    }
    progress?.(`calibrating ${encoder} ${f.label} at ${COMMON_MODES.map((m) => `${m.width}x${m.height}@${m.fps}`).join(' and ')} to decide whether to offer it…`)
    const mine: CodecCalibration[] = []
    try {
      for (const mode of COMMON_MODES) {
        const c = calibrateEncoder(encoder, mode, 24, f)
        mine.push(c)
        if (!c.keepsUp) break
      }
    } catch (error) {
      missing.push(`${f.label} (${(error as Error).message})`)
      calibration.push(...mine)
      continue
    }
    calibration.push(...mine)
    const slow = mine.find((c) => !c.keepsUp)
    if (slow === undefined) offered.push(f)
    else missing.push(`${f.label} (${encoder} ${slow.p90Ms} ms a frame at ${slow.mode}, budget ${slow.budgetMs} ms)`)
  }
  const modeSupport = offered.reduce((m, f) => m | f.bit, 0)
  const how = auto ? (calibration.length > 0 ? 'calibrated' : 'auto') : `--codecs ${offered.map((f) => f.name).join(',')}`
  const figures = calibration.filter((c) => c.keepsUp && offered.some((f) => f.name === c.format))
  const kept = figures.length > 0 ? `; ${figures.map((c) => `${c.format} ${c.p90Ms} ms at ${c.mode}`).join(', ')}` : ''
  const reason =
    `${offered.map((f) => f.label).join(', ')}${offered.length === 1 ? ' only' : ''} (${how}${kept})` +
    (missing.length > 0 ? `; not offered: ${missing.join('; ')}` : '') +
    (auto && missing.length > 0 ? '; --codecs <list> offers formats that open without calibrating' : '')
  return {modeSupport, offered: offered.map((f) => f.name), reason, calibration}
}
