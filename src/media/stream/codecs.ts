/**
 * Which video codecs the host offers (serverinfo's ServerCodecModeSupport, the DESCRIBE's HEVC
 * line): H.264 always; HEVC only where the encoder that would serve it keeps up. The stream
 * encodes HEVC with libx265 unless --encoder names hevc_nvenc, and libx265 is far slower than
 * libx264 (39 fps against 60 at 720p60 on a 2-core box), so in `auto` a short calibration encodes
 * the synthetic pattern at the clients' common modes and HEVC is offered only when the encoder
 * stays inside the frame budget there. `--codecs` decides it without calibrating.
 */
import {drawPattern} from '../../native/capture.js'
import {type EncoderName, NativeEncoder} from '../../native/codec.js'

/** ServerCodecModeSupport bits (rtsp.md / serverinfo): H.264 and HEVC Main. */
export const CodecMode = {h264: 0x0001, hevc: 0x0100} as const

export type CodecsSetting = 'auto' | 'h264' | 'h264,hevc'
export const CODECS_SETTINGS: readonly CodecsSetting[] = ['auto', 'h264', 'h264,hevc']

export interface CodecCalibration {
  encoder: EncoderName
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
  offered: Array<'h264' | 'hevc'>
  /** one sentence: which codecs and why */
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

/** Encodes `frames` synthetic frames at a mode and reports whether the encoder keeps up. */
export function calibrateEncoder(encoder: EncoderName, mode: {width: number; height: number; fps: number}, frames = 24): CodecCalibration {
  const {width, height, fps} = mode
  const enc = NativeEncoder.open({encoder, width, height, fps, bitrateKbps: 10_000})
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
  return {encoder, mode: `${width}x${height}@${fps}`, p90Ms: Math.round(p90 * 10) / 10, budgetMs: Math.round(budget * 10) / 10, keepsUp: p90 <= budget}
}

/**
 * The codecs to offer. `hevcEncoder` is what a HEVC stream would use; a hardware one (NVENC) is
 * offered without calibration. `progress` hears about a calibration before it starts (it takes
 * a second or two).
 */
export function chooseCodecs(setting: CodecsSetting, hevcEncoder: EncoderName, progress?: (m: string) => void): CodecChoice {
  if (setting === 'h264') return {modeSupport: CodecMode.h264, offered: ['h264'], reason: 'H.264 only (--codecs h264)', calibration: []}
  if (setting === 'h264,hevc') return {modeSupport: CodecMode.h264 | CodecMode.hevc, offered: ['h264', 'hevc'], reason: `H.264 and HEVC (--codecs h264,hevc; HEVC with ${hevcEncoder})`, calibration: []}
  if (hevcEncoder.endsWith('_nvenc')) return {modeSupport: CodecMode.h264 | CodecMode.hevc, offered: ['h264', 'hevc'], reason: `H.264 and HEVC (HEVC with the hardware encoder ${hevcEncoder})`, calibration: []}
  progress?.(`calibrating ${hevcEncoder} at ${COMMON_MODES.map((m) => `${m.width}x${m.height}@${m.fps}`).join(' and ')} to decide whether to offer HEVC…`)
  const calibration: CodecCalibration[] = []
  try {
    for (const mode of COMMON_MODES) {
      const c = calibrateEncoder(hevcEncoder, mode)
      calibration.push(c)
      if (!c.keepsUp) break
    }
  } catch (error) {
    return {modeSupport: CodecMode.h264, offered: ['h264'], reason: `H.264 only: ${hevcEncoder} cannot be opened (${(error as Error).message})`, calibration}
  }
  const slow = calibration.find((c) => !c.keepsUp)
  const figures = calibration.map((c) => `${c.p90Ms} ms a frame at ${c.mode} (budget ${c.budgetMs} ms)`).join(', ')
  if (slow !== undefined)
    return {modeSupport: CodecMode.h264, offered: ['h264'], reason: `H.264 only: ${hevcEncoder} does not keep up (${figures}); --codecs h264,hevc offers HEVC anyway`, calibration}
  return {modeSupport: CodecMode.h264 | CodecMode.hevc, offered: ['h264', 'hevc'], reason: `H.264 and HEVC: ${hevcEncoder} keeps up (${figures})`, calibration}
}
