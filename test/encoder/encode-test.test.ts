/**
 * `lumen encode-test` as a person runs it: the built CLI in a child process, real libavcodec
 * encoders and decoders, the synthetic source at 320x240 (small, so the suite stays fast).
 */
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {cudaCheck} from '../../src/native/codec.js'
import {lumen} from '../helpers/index.js'
import {nalTypes} from './helpers.js'

interface Percentiles {
  p50: number
  p99: number
  max: number
}
interface Result {
  frames: number
  idrFrames: number[]
  psnr: {min: number; mean: number}
  timingsUs: {convert: Percentiles; encode: Percentiles; total: Percentiles}
  bytes: {idrMean: number; pMean: number; total: number}
  frameBytes: number[]
  ok: boolean
}

const tmp = mkdtempSync(join(tmpdir(), 'lumen-encode-test-'))
afterAll(() => rmSync(tmp, {recursive: true, force: true}))

function json(args: string[]): {status: number; result: Result; stderr: string} {
  const r = lumen(['encode-test', '--size', '320x240', '--json', ...args])
  return {status: r.status, result: JSON.parse(r.stdout) as Result, stderr: r.stderrRaw}
}

describe('lumen encode-test (libx264, synthetic 320x240)', () => {
  let plain: {status: number; result: Result}
  beforeAll(() => {
    plain = json(['--frames', '300', '--out', join(tmp, 'plain.h264')])
  }, 120_000)

  it('infinite GOP: 300 frames decode back with exactly one IDR, at frame 0', () => {
    expect(plain.status).toBe(0)
    expect(plain.result.frames).toBe(300)
    expect(plain.result.idrFrames).toEqual([0])
    expect(plain.result.ok).toBe(true)
  })

  it('reaches a mean PSNR of at least 35 dB at the default bitrate, and no frame is broken', () => {
    expect(plain.result.psnr.mean).toBeGreaterThanOrEqual(35)
    expect(plain.result.psnr.min).toBeGreaterThan(12)
    expect(plain.result.psnr.min).toBeLessThanOrEqual(plain.result.psnr.mean)
  })

  it('reports timing percentiles and bytes per frame kind in the documented keys', () => {
    for (const stage of ['convert', 'encode', 'total'] as const) {
      const t = plain.result.timingsUs[stage]
      expect(t.p50, stage).toBeGreaterThan(0)
      expect(t.p50, stage).toBeLessThanOrEqual(t.p99)
      expect(t.p99, stage).toBeLessThanOrEqual(t.max)
    }
    // the whole call includes what happens inside it
    expect(plain.result.timingsUs.total.p50).toBeGreaterThanOrEqual(plain.result.timingsUs.encode.p50)
    expect(plain.result.bytes.idrMean).toBeGreaterThan(0)
    expect(plain.result.bytes.pMean).toBeGreaterThan(0)
  })

  it('--out writes the raw Annex B stream: every access unit, starting with SPS, PPS', () => {
    const bytes = readFileSync(join(tmp, 'plain.h264'))
    expect(bytes.length).toBe(plain.result.bytes.total)
    expect(bytes.length).toBe(plain.result.frameBytes.reduce((a, b) => a + b, 0))
    const types = nalTypes('h264', bytes)
    expect(types.slice(0, 2)).toEqual([7, 8])
    // one IDR picture in the whole stream: SPS appears once
    expect(types.filter((t) => t === 7).length).toBe(1)
  })

  it('--force-idr 100,200: IDRs at 0, 100 and 200 only', () => {
    const r = json(['--frames', '300', '--force-idr', '100,200'])
    expect(r.status).toBe(0)
    expect(r.result.frames).toBe(300)
    expect(r.result.idrFrames).toEqual([0, 100, 200])
    expect(r.result.ok).toBe(true)
  })

  it('libx265: 300 frames with --force-idr 150 keep the same IDR set', () => {
    const r = json(['--encoder', 'libx265', '--frames', '300', '--force-idr', '150'])
    expect(r.status).toBe(0)
    expect(r.result.idrFrames).toEqual([0, 150])
    expect(r.result.psnr.mean).toBeGreaterThanOrEqual(35)
    expect(r.result.ok).toBe(true)
  })

  it('fails the check (exit 1) when the stream cannot reach the asked quality', () => {
    const r = json(['--frames', '30', '--bitrate', '60', '--min-psnr', '45'])
    expect(r.status).toBe(1)
    expect(r.result.ok).toBe(false)
    expect(r.result.frames).toBe(30)
  })
})

describe('lumen encode-test: bad input is one clear line and exit 2', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['unknown encoder', ['--encoder', 'libfoo'], /unknown encoder "libfoo"/],
    ['odd size', ['--size', '321x240'], /must be even/],
    ['size not WxH', ['--size', 'big'], /not WxH/],
    ['zero bitrate', ['--bitrate', '0'], /--bitrate 0 kbit\/s is out of range/],
    ['absurd bitrate', ['--bitrate', '5000M'], /out of range/],
    ['bitrate in bytes', ['--bitrate', '20MB'], /--bitrate "20MB" is not a bitrate \(20M, 20000k/],
    ['zero fps', ['--fps', '0'], /--fps 0 is out of range/],
    ['absurd fps', ['--fps', '100000'], /--fps 100000 is out of range/],
    ['encoder and codec disagree', ['--encoder', 'libx264', '--codec', 'hevc'], /makes h264, not hevc/],
    ['forced IDR past the end', ['--frames', '10', '--force-idr', '20'], /--force-idr "20"/],
  ]
  for (const [name, args, message] of cases) {
    it(name, () => {
      const r = lumen(['encode-test', ...args])
      expect(r.status).toBe(2)
      expect(r.stderrRaw).toMatch(message)
      expect(r.stderrRaw).not.toMatch(/\n\s+at /) // no stack trace
      expect(r.stdout).toBe('')
    })
  }

  it('keeps exit 2 with --json, the reason in the JSON error', () => {
    const r = lumen(['encode-test', '--encoder', 'libfoo', '--json'])
    expect(r.status).toBe(2)
    expect((JSON.parse(r.stdout) as {error: {message: string}}).error.message).toMatch(/unknown encoder/)
  })
})

describe('lumen encode-test: paths this box may lack fail with one reason', () => {
  const cuda = cudaCheck()

  it('--path cuda: without CUDA one line names the missing driver (exit 1); with CUDA the pooled-frame path matches the CPU path', () => {
    const r = lumen(['encode-test', '--size', '320x240', '--frames', '60', '--encoder', 'libx265', '--path', 'cuda'])
    if (!cuda.ok) {
      expect(r.status).toBe(1)
      expect(r.stderrRaw).toMatch(/CUDA: /)
      expect(r.stderrRaw).toContain(cuda.reason)
      expect(r.stderrRaw).not.toMatch(/\n\s+at /)
      return
    }
    // GPU machine: upload → pooled frame → av_hwframe_transfer_data → libx265 gives the same PSNR
    const viaCuda = json(['--frames', '60', '--encoder', 'libx265', '--path', 'cuda'])
    const viaCpu = json(['--frames', '60', '--encoder', 'libx265', '--path', 'cpu'])
    expect(viaCuda.result.ok).toBe(true)
    expect(viaCuda.result.psnr.mean).toBeCloseTo(viaCpu.result.psnr.mean, 1)
  })

  it('NVENC: fails with the reason this box has no encoder (no driver here, no NVENC engine on an H100)', () => {
    const r = lumen(['encode-test', '--size', '320x240', '--frames', '10', '--encoder', 'h264_nvenc'])
    if (r.status === 0) return // a GPU with an encoder engine: nothing to check here
    expect(r.status).toBe(1)
    expect(r.stderrRaw).toMatch(/h264_nvenc: (CUDA: no NVIDIA driver|this GPU has no NVENC engine|NVENC)/)
    expect(r.stderrRaw.trim().split('\n').filter((l) => l.trim() !== '').length).toBeLessThanOrEqual(2)
  })
})

describe('lumen encode-test --chroma 444 / --bit-depth 10 (synthetic 320x240)', () => {
  interface FormatResult extends Result {
    chroma: string
    bitDepth: number
    decodedFormats: string[]
    psnr: {min: number; mean: number; planes: {y: number; u: number; v: number}}
    checks: Array<{name: string; ok: boolean; detail: string}>
    encodeFps: number
  }
  const formats = [
    {args: ['--codec', 'h264', '--chroma', '444'], decoded: '8-bit 4:4:4', file: 'h444.h264', profile: 244},
    {args: ['--codec', 'hevc', '--bit-depth', '10'], decoded: '10-bit 4:2:0', file: 'main10.hevc', profile: 2},
    {args: ['--codec', 'hevc', '--chroma', '444', '--bit-depth', '10'], decoded: '10-bit 4:4:4', file: 'rext10.hevc', profile: 4},
  ]
  for (const f of formats) {
    it(`${f.args.join(' ')}: decodes back as ${f.decoded}, IDRs exactly at 0 and 20, every plane's mean PSNR ≥ 35 dB`, () => {
      const out = join(tmp, f.file)
      const r = json([...f.args, '--frames', '40', '--force-idr', '20', '--bitrate', '6M', '--out', out])
      const res = r.result as FormatResult
      expect(r.status, r.stderr).toBe(0)
      expect(res.decodedFormats).toEqual([f.decoded])
      expect(res.idrFrames).toEqual([0, 20])
      for (const plane of ['y', 'u', 'v'] as const) expect(res.psnr.planes[plane], plane).toBeGreaterThanOrEqual(35)
      expect(res.checks.find((c) => c.name === 'format (decoder)')?.ok).toBe(true)
      // an SDR source at 10 bits too: BT.709 primaries, transfer and matrix, limited range, as the decoder reads the VUI
      expect(res.checks.find((c) => c.name === 'colour description')?.detail).toMatch(/^primaries 1, transfer 1, matrix 1, range 1;/)
      expect(res.encodeFps).toBeGreaterThan(0)
      // the profile the written bitstream's SPS declares, read here (H.264 profile_idc, HEVC general_profile_idc)
      const bytes = readFileSync(out)
      const codec = f.args[1] as 'h264' | 'hevc'
      const sps = bytes.indexOf(Buffer.from(codec === 'h264' ? [0, 0, 1, 0x67] : [0, 0, 1, 0x42, 0x01]))
      expect(sps).toBeGreaterThanOrEqual(0)
      expect(codec === 'h264' ? bytes[sps + 4] : bytes[sps + 6] & 0x1f).toBe(f.profile)
    }, 120_000)
  }

  it('--bit-depth 10 with H.264 is refused with the reason (Moonlight has no 10-bit H.264)', () => {
    const r = lumen(['encode-test', '--size', '320x240', '--codec', 'h264', '--bit-depth', '10', '--frames', '2'])
    expect(r.status).not.toBe(0)
    expect(r.stderrRaw).toMatch(/no 10-bit H\.264/)
  })
})
