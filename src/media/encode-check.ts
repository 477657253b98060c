/**
 * The engine behind `lumen encode-test`: encodes frames from a capture source through a
 * chosen encoder and frame path, decodes every access unit back at once and checks the
 * stream: frame count, which frames are IDR (exactly frame 0, the forced ones, and frames
 * where the encoder had to be reopened), the PSNR of every decoded frame against its source,
 * and that each IDR looks like a key frame to the Moonlight client (video.md §8).
 */
import {closeSync, openSync, writeSync} from 'node:fs'

import type {VideoCodec} from '../protocol/stream-config.js'
import {type BitDepth, type Chroma, CudaFramePool, psnrBgrxPlanar} from '../native/codec.js'
import {SyntheticSource} from './capture/synthetic.js'
import {X11Source} from './capture/x11.js'
import {ChainFrames} from './zerocopy/encode-source.js'
import {isKeyFrameStart, VideoDecoder} from './decoder.js'
import {ENCODER_CODEC, encoderPreset, type EncoderName, VideoEncoder} from './encoder.js'
import type {CaptureSource, CpuFrame, FramePayload} from './types.js'

export interface EncodeCheckOptions {
  encoder: EncoderName
  width: number
  height: number
  fps: number
  frames: number
  bitrateKbps: number
  slices: number
  /** libx264/libx265 presets and conversion threads (--x264-preset, --x265-preset, --convert-threads) */
  x264Preset?: string
  x265Preset?: string
  /** libaom-av1's realtime speed (--aom-speed) */
  aomSpeed?: number
  convertThreads?: 1 | 2
  /** chroma sampling and bits a sample of the stream (default 4:2:0, 8) */
  chroma?: Chroma
  bitDepth?: BitDepth
  path: 'cpu' | 'cuda'
  /** dmabuf: synthetic frames through the zero-copy chain (src/media/zerocopy), with --path cuda */
  source: 'synthetic' | 'x11' | 'dmabuf'
  /** X display for the x11 source (default $DISPLAY) */
  display?: string
  /** frame indices to force as IDR */
  forceIdr: number[]
  /** change the bitrate before these frames */
  bitrateChanges: Array<{frame: number; kbps: number}>
  /** raw bitstream file (Annex B / OBUs) */
  out?: string
  /** the mean PSNR the stream must reach, dB */
  minMeanPsnr: number
  /** the PSNR every single frame must reach, dB (IDRs under a one-frame VBV legitimately dip) */
  minFramePsnr: number
  onProgress?: (done: number, total: number) => void
}

export interface Percentiles {
  p50: number
  p99: number
  max: number
}

export interface CheckLine {
  name: string
  ok: boolean
  detail: string
}

export interface EncodeCheckResult {
  encoder: EncoderName
  codec: VideoCodec
  description: string
  width: number
  height: number
  fps: number
  bitrateKbps: number
  path: 'cpu' | 'cuda'
  /** dmabuf: synthetic frames through the zero-copy chain (src/media/zerocopy), with --path cuda */
  source: 'synthetic' | 'x11' | 'dmabuf'
  /** frames decoded back */
  frames: number
  framesEncoded: number
  /** IDR frames as the decoder saw them (indices) */
  idrFrames: number[]
  expectedIdrFrames: number[]
  /** IDR frames as the encoder flagged them */
  encoderIdrFrames: number[]
  /** frames a decoder can start at: what the Moonlight client takes as key frames (Annex B parse),
   * for AV1 a sequence header before the frame */
  clientKeyFrames: number[]
  chroma: Chroma
  bitDepth: BitDepth
  /** what the decoder reported for the pictures: bit depths and chroma formats seen (one each when right) */
  decodedFormats: string[]
  psnr: {min: number; mean: number; minFrame: number; planes: {y: number; u: number; v: number}}
  /** frames a second the calling thread converts and encodes (1e6 / mean total µs) */
  encodeFps: number
  timingsUs: {convert: Percentiles; encode: Percentiles; total: Percentiles; upload?: Percentiles}
  bytes: {idrMean: number; pMean: number; total: number}
  /** sizes of every access unit, in order */
  frameBytes: number[]
  bitrateActions: Array<{frame: number; kbps: number; how: 'in-place' | 'reopened'}>
  checks: CheckLine[]
  ok: boolean
}

/** Nearest-rank percentiles of a sample. */
export function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return {p50: 0, p99: 0, max: 0}
  const sorted = Float64Array.from(values).sort()
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]
  const round = (v: number) => Math.round(v * 10) / 10
  return {p50: round(rank(0.5)), p99: round(rank(0.99)), max: round(sorted[sorted.length - 1])}
}

const mean = (a: number[]) => (a.length === 0 ? 0 : a.reduce((x, y) => x + y, 0) / a.length)
const sameList = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => v === b[i])
const listText = (a: number[]) => (a.length > 12 ? `${a.slice(0, 12).join(',')},… (${a.length})` : a.join(',') || 'none')

function openSource(o: EncodeCheckOptions): CaptureSource {
  if (o.source === 'synthetic' || o.source === 'dmabuf') return new SyntheticSource({width: o.width, height: o.height, clock: 'frame', fps: o.fps})
  return new X11Source({display: o.display, x: 0, y: 0, width: o.width, height: o.height})
}

export function runEncodeCheck(o: EncodeCheckOptions): EncodeCheckResult {
  const codec = ENCODER_CODEC[o.encoder]
  const chroma = o.chroma ?? '420'
  const bitDepth = o.bitDepth ?? 8
  const formatText = (depth: number, format: number) => `${depth}-bit ${format === 444 ? '4:4:4' : format === 422 ? '4:2:2' : format === 420 ? '4:2:0' : `format ${format}`}`
  const source = openSource(o)
  let pool: CudaFramePool | undefined
  let chain: ChainFrames | undefined
  let encoder: VideoEncoder | undefined
  let decoder: VideoDecoder | undefined
  let fd: number | undefined
  try {
    if (o.path === 'cuda') pool = CudaFramePool.open(o.width, o.height, {size: 4})
    if (o.source === 'dmabuf' && pool !== undefined) chain = ChainFrames.open(o.width, o.height, pool.handle)
    encoder = new VideoEncoder({
      encoder: o.encoder,
      width: o.width,
      height: o.height,
      fps: o.fps,
      bitrateKbps: o.bitrateKbps,
      slices: o.slices,
      cudaPool: pool,
      preset: encoderPreset(o.encoder, o),
      convertThreads: o.convertThreads,
      chroma,
      bitDepth,
    })
    decoder = new VideoDecoder(codec, 'planar', {width: o.width, height: o.height})
    if (o.out !== undefined) fd = openSync(o.out, 'w')

    const forced = new Set(o.forceIdr)
    const changes = new Map(o.bitrateChanges.map((c) => [c.frame, c.kbps]))
    const expected = new Set<number>([0, ...o.forceIdr])
    const convert: number[] = []
    const encode: number[] = []
    const total: number[] = []
    const upload: number[] = []
    const frameBytes: number[] = []
    const encoderIdr: number[] = []
    const decodedIdr: number[] = []
    const clientKey: number[] = []
    const psnrs: number[] = []
    const planes = {y: [] as number[], u: [] as number[], v: [] as number[]}
    const decodedFormats = new Set<string>()
    const colours = new Set<string>()
    const bitrateActions: EncodeCheckResult['bitrateActions'] = []
    let decoded = 0
    let frameIndexOfDecoded = 0

    for (let i = 0; i < o.frames; i++) {
      const captured = source.grab()
      const cpu = captured.payload as CpuFrame
      const kbps = changes.get(i)
      if (kbps !== undefined) {
        const how = encoder.setBitrate(kbps)
        bitrateActions.push({frame: i, kbps, how})
        if (how === 'reopened') expected.add(i)
      }
      let payload: FramePayload = cpu
      let cudaFrame: number | undefined
      if (pool !== undefined) {
        if (chain !== undefined) {
          // the zero-copy chain: the source image copied by CUDA into a pooled frame (lumen_gpu.h)
          const made = chain.frame(cpu)
          cudaFrame = made.handle
          upload.push(made.chainUs)
        } else {
          cudaFrame = pool.get()
          const t0 = process.hrtime.bigint()
          pool.upload(cudaFrame, cpu.data, cpu.stride)
          upload.push(Number(process.hrtime.bigint() - t0) / 1000)
        }
        payload = {kind: 'cuda', width: o.width, height: o.height, handle: cudaFrame}
      }
      const frame = (() => {
        try {
          return encoder.encode(payload, {forceIdr: forced.has(i)})
        } finally {
          if (cudaFrame !== undefined) pool?.release(cudaFrame)
        }
      })()
      if (frame === undefined) continue
      convert.push(frame.timings.convertUs)
      encode.push(frame.timings.encodeUs)
      total.push(frame.timings.totalUs)
      frameBytes.push(frame.data.length)
      if (frame.idr) encoderIdr.push(frame.index)
      if (isKeyFrameStart(codec, frame.data)) clientKey.push(frame.index)
      if (fd !== undefined) writeSync(fd, frame.data)
      if (decoder !== undefined) {
        const picture = decoder.decode(frame.data)
        if (picture !== undefined) {
          // low delay: the picture is the frame just encoded, whose source is still in `cpu`
          if (picture.keyFrame) decodedIdr.push(frameIndexOfDecoded)
          decodedFormats.add(formatText(picture.bitDepth, picture.chromaFormat))
          const c = picture.colour
          colours.add(`primaries ${c.primaries}, transfer ${c.transfer}, matrix ${c.matrix}, range ${c.range}`)
          const p = psnrBgrxPlanar(cpu.data, cpu.stride, picture.data, o.width, o.height, chroma, bitDepth)
          psnrs.push(p.all)
          planes.y.push(p.y)
          planes.u.push(p.u)
          planes.v.push(p.v)
          decoded++
          frameIndexOfDecoded++
        }
      }
      o.onProgress?.(i + 1, o.frames)
    }
    if (decoder !== undefined) {
      for (const p of decoder.drain()) {
        if (p.keyFrame) decodedIdr.push(frameIndexOfDecoded)
        frameIndexOfDecoded++
        decoded++
        psnrs.push(0) // a picture that came out late cannot be matched to its source
      }
    }

    const expectedIdr = [...expected].filter((i) => i < o.frames).sort((a, b) => a - b)
    const idrSizes = frameBytes.filter((_, i) => expected.has(i))
    const pSizes = frameBytes.filter((_, i) => !expected.has(i))
    const psnrMin = psnrs.length === 0 ? 0 : Math.min(...psnrs)
    const psnrMean = mean(psnrs)
    const checks: CheckLine[] = []
    if (decoder === undefined) {
      checks.push({name: 'decode back', ok: false, detail: `no ${codec} decoder in this libavcodec: the stream cannot be checked`})
    } else {
      checks.push({name: 'frame count', ok: decoded === o.frames, detail: `${decoded} decoded of ${o.frames} encoded`})
      checks.push({
        name: 'IDR frames (decoder)',
        ok: sameList(decodedIdr, expectedIdr),
        detail: `${listText(decodedIdr)}; expected ${listText(expectedIdr)}`,
      })
      checks.push({
        name: 'IDR frames (client view)',
        ok: sameList(clientKey, expectedIdr),
        detail: `${listText(clientKey)} start with ${codec === 'h264' ? 'SPS, PPS, IDR slice' : 'VPS, SPS, PPS, IRAP slice'}`,
      })
      const expectedFormat = formatText(bitDepth, chroma === '444' ? 444 : 420)
      checks.push({
        name: 'format (decoder)',
        ok: decodedFormats.size === 1 && decodedFormats.has(expectedFormat),
        detail: `${[...decodedFormats].join(', ') || 'none'}; expected ${expectedFormat}`,
      })
      // an SDR source (every source here): BT.709 primaries, transfer and matrix, limited range, at 8 and 10 bits alike
      const bt709 = 'primaries 1, transfer 1, matrix 1, range 1'
      checks.push({name: 'colour description', ok: colours.size === 1 && colours.has(bt709), detail: `${[...colours].join('; ') || 'none'}; expected BT.709 limited (${bt709})`})
      checks.push({name: 'PSNR mean', ok: psnrMean >= o.minMeanPsnr, detail: `${psnrMean.toFixed(2)} dB (needs ≥ ${o.minMeanPsnr})`})
      const planeMeans = [mean(planes.y), mean(planes.u), mean(planes.v)]
      checks.push({
        name: 'PSNR mean, every plane',
        ok: planes.y.length > 0 && planeMeans.every((v) => v >= o.minMeanPsnr),
        detail: `Y ${planeMeans[0].toFixed(2)}, U ${planeMeans[1].toFixed(2)}, V ${planeMeans[2].toFixed(2)} dB (each needs ≥ ${o.minMeanPsnr})`,
      })
      checks.push({
        name: 'PSNR every frame',
        ok: psnrMin >= o.minFramePsnr,
        detail: `min ${psnrMin.toFixed(2)} dB at frame ${psnrs.indexOf(psnrMin)} (needs ≥ ${o.minFramePsnr})`,
      })
    }
    checks.push({
      name: 'IDR frames (encoder)',
      ok: sameList(encoderIdr, expectedIdr),
      detail: `${listText(encoderIdr)}; expected ${listText(expectedIdr)}`,
    })
    const round2 = (v: number) => Math.round(v * 100) / 100
    return {
      encoder: o.encoder,
      codec,
      description: encoder.describe(),
      width: o.width,
      height: o.height,
      fps: o.fps,
      bitrateKbps: o.bitrateKbps,
      path: o.path,
      source: o.source,
      frames: decoded,
      framesEncoded: frameBytes.length,
      idrFrames: decodedIdr,
      expectedIdrFrames: expectedIdr,
      encoderIdrFrames: encoderIdr,
      clientKeyFrames: clientKey,
      chroma,
      bitDepth,
      decodedFormats: [...decodedFormats],
      psnr: {min: round2(psnrMin), mean: round2(psnrMean), minFrame: psnrs.indexOf(psnrMin), planes: {y: round2(mean(planes.y)), u: round2(mean(planes.u)), v: round2(mean(planes.v))}},
      encodeFps: total.length === 0 ? 0 : Math.round((10 * 1e6) / mean(total)) / 10,
      timingsUs: {
        convert: percentiles(convert),
        encode: percentiles(encode),
        total: percentiles(total),
        ...(pool === undefined ? {} : {upload: percentiles(upload)}),
      },
      bytes: {idrMean: Math.round(mean(idrSizes)), pMean: Math.round(mean(pSizes)), total: frameBytes.reduce((a, b) => a + b, 0)},
      frameBytes,
      bitrateActions,
      checks,
      ok: checks.every((c) => c.ok),
    }
  } finally {
    if (fd !== undefined) closeSync(fd)
    decoder?.close()
    encoder?.close()
    chain?.close()
    pool?.close()
    source.close()
  }
}
