/**
 * The zero-copy capture chain on a GPU box (lumen_gpu.h): a source's EGLImage → a pooled CUDA
 * frame, by the CUDA copy of the image (XRGB8888/ARGB8888 sources) or through the GL pass. Per
 * size: pixel-exactness against the CPU reference, per-stage µs, total per frame, the CPU path
 * (read back + upload) on the same machine, then a long run with GPU memory and registrations
 * sampled, and libx265 PSNR of the pooled frame against the CPU path.
 *
 *   npm run bench -- zerocopy [--json] [--json-out FILE] [--sizes 1920x1080,...] [--frames N] [--soak N] [--psnr-frames N]
 *
 * The sources are GL textures made into EGLImages, because GPU machines without a DRM device
 * cannot import a dma-buf; everything after eglCreateImage is the dma-buf path's code. The raw
 * texture source (B,G,R,X in memory, as an XRGB8888 dma-buf) feeds the CUDA copy; the plain one
 * (R,G,B,X) takes the GL pass, as a dma-buf of another format would. docs/zerocopy-experiments.md
 * keeps the hand-overs that were measured before and lost.
 *
 *   --alternating N   frames alternating two pictures, each checked (default 10)
 *   --paced N         frames 16.7 ms apart for some modes (default 60)
 *   --soak-modes a,b  modes of the soak (default "default,gl pass (raw src)"); --mode M: the PSNR's mode
 */
import {closeSync, writeFileSync} from 'node:fs'

import {CudaFramePool, NativeDecoder, NativeEncoder, pictureBytes, psnrBgrxI420} from '../src/native/codec.js'
import {type CaptureOptions, type ChainTimings, DRM_FORMAT_MOD_INVALID, ZeroCopyChain} from '../src/native/gpu.js'

export const summary = 'zero-copy chain (GPU box): pixel check, per-stage µs, CPU-path ratio, 10k-frame flatness, libx265 PSNR'

const DEFAULT_SIZES = ['1920x1080', '2560x1440', '3840x2160', '5120x1440']

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : undefined
}

/** A desktop-like BGRx picture: gradients, hard-edged blocks and hashed noise; X bytes vary. */
export function testPicture(width: number, height: number, seed: number): Buffer {
  const buf = Buffer.alloc(width * height * 4)
  let h = (seed * 2654435761) >>> 0
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      h = (h ^ (h << 13)) >>> 0
      h = (h ^ (h >>> 17)) >>> 0
      h = (h ^ (h << 5)) >>> 0
      const block = ((x >> 6) + (y >> 5) + seed) % 7 === 0
      const o = (y * width + x) * 4
      buf[o] = block ? 240 : ((x * 255) / width + (h & 15)) & 255
      buf[o + 1] = block ? 32 : ((y * 255) / height + ((h >> 4) & 15)) & 255
      buf[o + 2] = block ? 96 : ((x + y + seed * 37) & 255) ^ ((h >> 8) & 7)
      buf[o + 3] = h >>> 24 // X: must not matter
    }
  }
  return buf
}

/** Pixels whose B, G, R differ between a (BGRx, width*4 per row) and the reference. */
function mismatches(a: Buffer, ref: Buffer, width: number, height: number): {count: number; first?: string} {
  let count = 0
  let first: string | undefined
  for (let i = 0; i < width * height; i++) {
    const o = i * 4
    if (a[o] !== ref[o] || a[o + 1] !== ref[o + 1] || a[o + 2] !== ref[o + 2]) {
      if (count === 0) first = `(${i % width},${Math.floor(i / width)}) got ${a.subarray(o, o + 3).toString('hex')} want ${ref.subarray(o, o + 3).toString('hex')}`
      count++
    }
  }
  return {count, first}
}

function pct(values: number[], p: number): number {
  const s = [...values].sort((x, y) => x - y)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}

const us = (ns: number) => ns / 1000

interface StageFigures {
  importUs: number
  glPassUs: number
  queueUs: number
  waitUs: number
  totalUs: number
  /** parts of queue: cuGraphicsMapResources alone, taking the pooled frame */
  mapUs: number
  frameGetUs: number
}

interface Mode {
  name: string
  /** the source the mode runs on: raw (B,G,R,X in memory, as an XRGB8888 dma-buf) or plain */
  raw: boolean
  options: CaptureOptions
}

/** what the chain does by default (the CUDA copy of a raw source), and the GL pass on each kind of source */
const MODES: Mode[] = [
  {name: 'default', raw: true, options: {}},
  {name: 'gl pass (raw src)', raw: true, options: {glPass: true}},
  {name: 'gl pass', raw: false, options: {}},
  {name: 'gl pass reimport', raw: false, options: {reimport: true}},
]
/** modes also run paced like a 60 fps capture (16.7 ms of idle GPU between frames) */
const PACED = new Set(['default', 'gl pass'])

interface ModeFigures {
  mode: string
  /** the path the shim took */
  path: string
  pixelExact: boolean
  mismatches: number
  first?: string
  /** frames alternating between two pictures, each checked: a hand-over that let CUDA read before GL finished would show the older picture */
  alternatingExact: boolean
  alternatingFrames: number
  /** stage times as the pipeline runs (median µs) */
  stagesMedian: StageFigures
  /** total per frame inside the shim */
  totalUs: {median: number; p99: number; max: number}
  /** the same frames measured around the TypeScript calls (capture + release: two ffi calls) */
  jsCallUs: {median: number; p99: number}
  /** frames 16.7 ms apart (a 60 fps capture: the GPU idles between frames), µs per frame inside the shim */
  pacedUs?: {median: number; p99: number; frames: number}
  speedup: number
}

interface SizeResult {
  size: string
  gpu: string
  cudaCopyReason?: string
  rawCpuPathExact: boolean
  cpuPathExact: boolean
  afterUpdateExact: boolean
  modes: ModeFigures[]
  cpuPath: {readBackUs: number; uploadUs: number; totalUs: number}
  /** the machine's floor: an empty stream wait, one frame copy + wait, that copy's GPU time (median µs) */
  baseline: {emptyWaitUs: number; copyWaitUs: number; copyGpuUs: number}
}

function stageMedians(samples: ChainTimings[]): StageFigures {
  const m = (k: 'importNs' | 'glPassNs' | 'queueNs' | 'waitNs' | 'totalNs' | 'mapNs' | 'frameGetNs') => us(pct(samples.map((s) => s[k]), 50))
  return {
    importUs: m('importNs'),
    glPassUs: m('glPassNs'),
    queueUs: m('queueNs'),
    waitUs: m('waitNs'),
    totalUs: m('totalNs'),
    mapUs: m('mapNs'),
    frameGetUs: m('frameGetNs'),
  }
}

function measureModes(
  chain: ZeroCopyChain,
  pool: CudaFramePool,
  source: number,
  picture: Buffer,
  picture2: Buffer,
  modes: Mode[],
  frames: number,
  alternating: number,
  cpuTotal: number,
  paced: number,
): ModeFigures[] {
  const {width, height} = chain
  const host = Buffer.alloc(width * height * 4)
  const grab = (options: CaptureOptions, expect: Buffer) => {
    host.fill(0)
    const f = chain.capture(source, pool.handle, options)
    pool.download(f, host, width * 4)
    pool.release(f)
    return mismatches(host, expect, width, height)
  }
  const out: ModeFigures[] = []
  for (const {name, options} of modes) {
    const exact = grab(options, picture)
    const path = chain.lastTimings().path
    // alternate the source picture every frame and check each frame
    let alternatingExact = true
    for (let i = 0; i < alternating; i++) {
      const pic = i % 2 === 0 ? picture2 : picture
      chain.updateTextureSource(source, pic)
      if (grab(options, pic).count !== 0) alternatingExact = false
    }
    chain.updateTextureSource(source, picture)
    for (let i = 0; i < 50; i++) pool.release(chain.capture(source, pool.handle, options))
    const totals: number[] = []
    const calls: number[] = []
    const unsynced: ChainTimings[] = []
    for (let i = 0; i < frames; i++) {
      const t0 = process.hrtime.bigint()
      const frame = chain.capture(source, pool.handle, options)
      pool.release(frame)
      calls.push(Number(process.hrtime.bigint() - t0))
      unsynced.push(chain.lastTimings())
      totals.push(chain.lastTimings().totalNs)
    }
    const total = {median: us(pct(totals, 50)), p99: us(pct(totals, 99)), max: us(Math.max(...totals))}
    let pacedUs: ModeFigures['pacedUs']
    if (PACED.has(name) && paced > 0) {
      const p: number[] = []
      for (let i = 0; i < paced; i++) {
        sleepUs(16_667)
        pool.release(chain.capture(source, pool.handle, options))
        p.push(chain.lastTimings().totalNs)
      }
      pacedUs = {median: us(pct(p, 50)), p99: us(pct(p, 99)), frames: paced}
    }
    out.push({
      mode: name,
      path,
      pixelExact: exact.count === 0,
      mismatches: exact.count,
      first: exact.first,
      alternatingExact,
      alternatingFrames: alternating,
      stagesMedian: stageMedians(unsynced),
      totalUs: total,
      jsCallUs: {median: us(pct(calls, 50)), p99: us(pct(calls, 99))},
      pacedUs,
      speedup: cpuTotal / total.median,
    })
  }
  return out
}

function sleepUs(n: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, n / 1000)
}

function measureSize(width: number, height: number, frames: number, alternating: number, paced: number): SizeResult {
  const chain = ZeroCopyChain.open(width, height)
  const pool = CudaFramePool.open(width, height, {size: 4})
  try {
    const picture = testPicture(width, height, width ^ height)
    const picture2 = testPicture(width, height, 7)
    const source = chain.textureSource(picture)
    const rawSource = chain.rawTextureSource(picture)
    const host = Buffer.alloc(width * height * 4)
    const viaCpu = (src: number) => {
      host.fill(0)
      const f = chain.cpuPath(src, pool.handle, Buffer.alloc(width * height * 4))
      pool.download(f, host, width * 4)
      pool.release(f)
      return mismatches(host, picture, width, height)
    }
    // the CPU path (read back + upload) must give the reference too, from either kind of source
    const plainViaCpu = viaCpu(source)
    const rawViaCpu = viaCpu(rawSource)
    // a new picture in the same source must come through (no stale texture or registration)
    chain.updateTextureSource(rawSource, picture2)
    const f = chain.capture(rawSource, pool.handle)
    pool.download(f, host, width * 4)
    pool.release(f)
    const afterUpdate = mismatches(host, picture2, width, height)
    chain.updateTextureSource(rawSource, picture)

    const cpu: ChainTimings[] = []
    const cpuHost = Buffer.alloc(width * height * 4)
    for (let i = 0; i < Math.max(10, Math.floor(frames / 10)); i++) {
      pool.release(chain.cpuPath(source, pool.handle, cpuHost))
      cpu.push(chain.lastTimings())
    }
    const cpuTotal = us(pct(cpu.map((t) => t.totalNs), 50))
    const modes: ModeFigures[] = []
    for (const raw of [true, false])
      modes.push(...measureModes(chain, pool, raw ? rawSource : source, picture, picture2, MODES.filter((m) => m.raw === raw), frames, alternating, cpuTotal, paced))
    const b = chain.baseline(pool.handle, 300)
    return {
      baseline: {emptyWaitUs: us(b.emptyWaitNs), copyWaitUs: us(b.copyWaitNs), copyGpuUs: us(b.copyGpuNs)},
      size: `${width}x${height}`,
      gpu: chain.describe(),
      cudaCopyReason: chain.cudaCopyReason(),
      rawCpuPathExact: rawViaCpu.count === 0,
      cpuPathExact: plainViaCpu.count === 0,
      afterUpdateExact: afterUpdate.count === 0,
      modes,
      cpuPath: {readBackUs: us(pct(cpu.map((t) => t.glPassNs), 50)), uploadUs: us(pct(cpu.map((t) => t.waitNs), 50)), totalUs: cpuTotal},
    }
  } finally {
    pool.close()
    chain.close()
  }
}

/**
 * The dma-buf import step with a real dma-buf where no producer exists: CUDA exports a linear
 * BGRx buffer as a dma-buf, the chain imports it (linear modifier, then no modifier) and runs.
 * On a GPU without a DRM device the import fails: the sentence is what a user would read.
 */
function tryDmabufImport(): {exported: boolean; attempts: {modifier: string; ok: boolean; result: string}[]; error?: string} {
  const width = 1920
  const height = 1080
  const chain = ZeroCopyChain.open(width, height)
  const pool = CudaFramePool.open(width, height, {size: 2})
  try {
    let buf: {fd: number; pitch: number; size: number}
    try {
      buf = chain.cudaDmabuf()
    } catch (error) {
      return {exported: false, attempts: [], error: (error as Error).message}
    }
    const attempts: {modifier: string; ok: boolean; result: string}[] = []
    try {
      for (const [name, modifier] of [['LINEAR (0)', 0n], ['none (DRM_FORMAT_MOD_INVALID)', DRM_FORMAT_MOD_INVALID]] as const) {
        let source = -1
        try {
          source = chain.dmabufSource({fd: buf.fd, fourcc: 0x34325258 /* XR24 */, offset: 0, pitch: buf.pitch, modifier})
          pool.release(chain.capture(source, pool.handle))
          attempts.push({modifier: name, ok: true, result: `imported and copied into a pooled frame (${chain.lastTimings().path})`})
        } catch (error) {
          attempts.push({modifier: name, ok: false, result: (error as Error).message})
        } finally {
          if (source >= 0) chain.closeSource(source)
        }
      }
    } finally {
      closeSync(buf.fd)
    }
    return {exported: true, attempts}
  } finally {
    pool.close()
    chain.close()
  }
}

interface SoakSample {
  frame: number
  gpuFreeMiB: number
  registrations: number
  registeredNow: number
  liveImages: number
}

interface SoakResult {
  mode: string
  path: string
  size: string
  frames: number
  samples: SoakSample[]
  flat: boolean
  freeSpreadMiB: number
  seconds: number
  /** median / p99 µs per frame over the run */
  totalUs: {median: number; p99: number}
}

function soak(width: number, height: number, frames: number, mode: Mode): SoakResult {
  const chain = ZeroCopyChain.open(width, height)
  const pool = CudaFramePool.open(width, height, {size: 4})
  try {
    const pic = testPicture(width, height, 3)
    const source = mode.raw ? chain.rawTextureSource(pic) : chain.textureSource(pic)
    const samples: SoakSample[] = []
    const totals: number[] = []
    const sample = (frame: number) => {
      const s = chain.stats()
      samples.push({frame, gpuFreeMiB: s.gpuFreeBytes / 2 ** 20, registrations: s.registrations, registeredNow: s.registeredNow, liveImages: s.liveImages})
    }
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < frames; i++) {
      if (i % 1000 === 0) sample(i)
      pool.release(chain.capture(source, pool.handle, mode.options))
      totals.push(chain.lastTimings().totalNs)
    }
    sample(frames)
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9
    // after the first 1000 frames (pools warmed), free memory must not move
    const later = samples.filter((s) => s.frame >= 1000)
    const free = later.map((s) => s.gpuFreeMiB)
    const spread = Math.max(...free) - Math.min(...free)
    // registrations: the output texture at open, plus the source's image with the CUDA copy; none per frame
    const first = later[0]
    const flat = spread < 1 && later.every((s) => s.registrations === first.registrations && s.registeredNow === first.registeredNow && s.liveImages <= 1) && first.registrations <= 2
    return {
      mode: mode.name,
      path: chain.lastTimings().path,
      size: `${width}x${height}`,
      frames,
      samples,
      flat,
      freeSpreadMiB: spread,
      seconds,
      totalUs: {median: us(pct(totals, 50)), p99: us(pct(totals, 99))},
    }
  } finally {
    pool.close()
    chain.close()
  }
}

interface PsnrResult {
  size: string
  frames: number
  /** mean PSNR (dB, all planes) of the pooled frames encoded by the encoder's CUDA path (downloaded inside the encoder) */
  chainPsnr: number
  /** mean PSNR of the same BGRx pictures encoded by the CPU path */
  cpuPsnr: number
  same: boolean
  /** every access unit of the chain lane equals the CPU lane's, byte for byte */
  identicalBitstream: boolean
  /** a second CPU-path encoder on the same pictures gives the same bytes (the protocol is deterministic) */
  cpuRepeatIdentical: boolean
  /** mean PSNR of that second CPU-path encoder: the encoder's own run-to-run spread */
  cpuRepeatPsnr: number
  /** |chain − CPU| and |CPU repeat − CPU|, dB */
  chainDeltaDb: number
  repeatDeltaDb: number
}

/**
 * libx265: the pooled frame (downloaded by the encoder) vs the CPU path (the BGRx picture).
 * Each picture is encoded as the first frame (an IDR) of a fresh encoder: the encoder's P-frames
 * are not repeatable run to run (two CPU-path encoders fed identical pictures give different
 * P-frames), and on a many-core box not even its first frame is: so a third lane, the CPU path
 * again, measures the encoder's own spread, which the chain's difference is read against.
 */
function psnr(width: number, height: number, frames: number, mode: Mode): PsnrResult {
  const chain = ZeroCopyChain.open(width, height)
  const pool = CudaFramePool.open(width, height, {size: 4})
  const bitrateKbps = 20_000
  const open = (cuda: boolean) => NativeEncoder.open({encoder: 'libx265', width, height, fps: 60, bitrateKbps, cudaPool: cuda ? pool : undefined})
  const pic = Buffer.alloc(pictureBytes(width, height, 'i420'))
  const values = {cuda: [] as number[], cpu: [] as number[], repeat: [] as number[]}
  let identical = true
  let repeatIdentical = true
  const decodeOne = (au: Buffer, ref: Buffer): number => {
    const dec = NativeDecoder.open('hevc')
    try {
      const p = dec.decode(au, 'i420', pic) ?? dec.drain('i420', pic)
      return p === undefined ? Number.NaN : psnrBgrxI420(ref, width * 4, pic, width, height).all
    } finally {
      dec.close()
    }
  }
  try {
    const first = testPicture(width, height, 11)
    const source = mode.raw ? chain.rawTextureSource(first) : chain.textureSource(first)
    for (let i = 0; i < frames; i++) {
      const picture = testPicture(width, height, 11 + i)
      chain.updateTextureSource(source, picture)
      const lanes = {cuda: open(true), cpu: open(false), repeat: open(false)}
      try {
        const out = Buffer.alloc(lanes.cpu.maxFrameBytes)
        const frame = chain.capture(source, pool.handle, mode.options)
        let r = lanes.cuda.encodeCuda(frame, true, out)
        pool.release(frame)
        const auCuda = Buffer.from(out.subarray(0, r.length))
        r = lanes.cpu.encodeCpu(picture, width * 4, true, out)
        const auCpu = Buffer.from(out.subarray(0, r.length))
        r = lanes.repeat.encodeCpu(picture, width * 4, true, out)
        const auRepeat = Buffer.from(out.subarray(0, r.length))
        if (!auCuda.equals(auCpu)) identical = false
        if (!auRepeat.equals(auCpu)) repeatIdentical = false
        values.cuda.push(decodeOne(auCuda, picture))
        values.cpu.push(decodeOne(auCpu, picture))
        values.repeat.push(decodeOne(auRepeat, picture))
      } finally {
        for (const lane of Object.values(lanes)) lane.close()
      }
    }
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / Math.max(1, v.length)
    const chainPsnr = mean(values.cuda)
    const cpuPsnr = mean(values.cpu)
    return {
      size: `${width}x${height}`,
      frames: values.cuda.length,
      chainPsnr,
      cpuPsnr,
      same: values.cuda.length > 0 && chainPsnr === cpuPsnr,
      identicalBitstream: identical,
      cpuRepeatIdentical: repeatIdentical,
      cpuRepeatPsnr: mean(values.repeat),
      chainDeltaDb: Math.abs(chainPsnr - cpuPsnr),
      repeatDeltaDb: Math.abs(mean(values.repeat) - cpuPsnr),
    }
  } finally {
    pool.close()
    chain.close()
  }
}

/** A mode by name: 'default' (what the chain does by itself) or another of MODES. */
function modeByName(name: string): Mode {
  const m = MODES.find((x) => x.name === name)
  if (m === undefined) throw new Error(`unknown mode '${name}' (${MODES.map((x) => x.name).join(', ')})`)
  return m
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json')
  const sizes = (flag(args, '--sizes') ?? DEFAULT_SIZES.join(',')).split(',').map((s) => {
    const [w, h] = s.split('x').map(Number)
    if (!(w > 0 && h > 0)) throw new Error(`bad size '${s}' (want WxH)`)
    return [w, h] as const
  })
  const frames = Number(flag(args, '--frames') ?? 300)
  const alternating = Number(flag(args, '--alternating') ?? 10)
  const paced = Number(flag(args, '--paced') ?? 60)
  const soakFrames = Number(flag(args, '--soak') ?? 10_000)
  const psnrFrames = Number(flag(args, '--psnr-frames') ?? 10)
  const soakModes = (flag(args, '--soak-modes') ?? 'default,gl pass (raw src)').split(',').map(modeByName)
  const psnrMode = modeByName(flag(args, '--mode') ?? 'default') // PSNR runs in this mode
  const progress = (line: string) => {
    if (!json) process.stderr.write(`${line}\n`)
  }

  try {
    ZeroCopyChain.open(16, 16).close()
  } catch (error) {
    process.stderr.write(`zero-copy bench: the chain cannot run on this box: ${(error as Error).message}\n`)
    process.exitCode = 1
    return
  }
  const dmabufImport = tryDmabufImport()
  const results: SizeResult[] = []
  const largest = sizes.reduce((a, b) => (a[0] * a[1] >= b[0] * b[1] ? a : b))
  for (const [w, h] of sizes) {
    progress(`measuring ${w}x${h} …`)
    results.push(measureSize(w, h, frames, alternating, paced))
  }
  // the soak runs at 3840x2160 when measured (the acceptance size), else at the largest size
  const soakSize = sizes.find(([w, h]) => w === 3840 && h === 2160) ?? largest
  const soakResults: SoakResult[] = []
  if (soakFrames > 0)
    for (const m of soakModes) {
      progress(`${soakFrames} frames (${m.name}) at ${soakSize[0]}x${soakSize[1]} …`)
      soakResults.push(soak(soakSize[0], soakSize[1], soakFrames, m))
    }
  const psnrResults: PsnrResult[] = []
  if (psnrFrames > 0)
    for (const [w, h] of sizes) {
      progress(`libx265 PSNR at ${w}x${h} …`)
      psnrResults.push(psnr(w, h, psnrFrames, psnrMode))
    }

  const report = {gpu: results[0]?.gpu, sizes: results, soak: soakResults, psnr: psnrResults, psnrMode: psnrMode.name, dmabufImport}
  const jsonOut = flag(args, '--json-out')
  if (jsonOut !== undefined) writeFileSync(jsonOut, `${JSON.stringify(report, null, 1)}\n`)
  if (json) {
    process.stdout.write(`${JSON.stringify(report)}\n`)
    return
  }
  const f1 = (n: number) => n.toFixed(1)
  const w = process.stdout.write.bind(process.stdout)
  w(`zero-copy chain on ${report.gpu}\n`)
  for (const r of results) {
    w(`\n${r.size}:\n`)
    w('mode                   path       exact alt | import  GL pass  queue (map) (get)   wait | total   p99 | js call | paced  p99 | speedup\n')
    for (const m of r.modes) {
      const s = m.stagesMedian
      const p = m.pacedUs
      w(
        `${m.mode.padEnd(22)} ${m.path.padEnd(10)} ${(m.pixelExact ? 'yes' : `NO(${m.mismatches})`).padEnd(5)} ${(m.alternatingExact ? 'yes' : 'NO').padEnd(3)} | ` +
          `${f1(s.importUs).padStart(6)} ${f1(s.glPassUs).padStart(8)} ${f1(s.queueUs).padStart(6)} ${`(${f1(s.mapUs)})`.padStart(5)} ${`(${f1(s.frameGetUs)})`.padStart(5)} ${f1(s.waitUs).padStart(6)} | ` +
          `${f1(m.totalUs.median).padStart(5)} ${f1(m.totalUs.p99).padStart(5)} | ${f1(m.jsCallUs.median).padStart(7)} | ` +
          `${p === undefined ? '    -     -' : `${f1(p.median).padStart(5)} ${f1(p.p99).padStart(5)}`} | ${m.speedup.toFixed(1)}x\n`,
      )
      if (m.first !== undefined) w(`  first mismatch: ${m.first}\n`)
    }
    w(`  raw source through the CPU path equals the reference: ${r.rawCpuPathExact ? 'yes' : 'NO'}; CUDA copy fell back: ${r.cudaCopyReason ?? 'no'}\n`)
    w(`  CPU path: read back ${f1(r.cpuPath.readBackUs)} + upload ${f1(r.cpuPath.uploadUs)} = ${f1(r.cpuPath.totalUs)} µs; equals the reference: ${r.cpuPathExact ? 'yes' : 'NO'}; a refilled source comes through: ${r.afterUpdateExact ? 'yes' : 'NO'}\n`)
    w(`  machine floor: empty stream wait ${f1(r.baseline.emptyWaitUs)} µs; one frame D2D copy + wait ${f1(r.baseline.copyWaitUs)} µs (GPU time ${f1(r.baseline.copyGpuUs)} µs)\n`)
  }
  w(
    '\n(exact: the pooled frame equals the BGRx picture; alt: every frame of a run alternating two pictures does; stages: median µs as run — queue = taking the pooled frame, mapping and queuing the copy, wait = until the copy is done; total/p99: µs per frame inside the shim; js call: capture + release from TypeScript; paced: frames 16.7 ms apart; speedup: the CPU path over total)\n',
  )
  for (const sr of soakResults) {
    w(`\n${sr.frames} frames (${sr.mode}, path ${sr.path}) at ${sr.size} in ${sr.seconds.toFixed(1)} s, ${f1(sr.totalUs.median)} µs median, ${f1(sr.totalUs.p99)} p99: ${sr.flat ? 'FLAT' : 'NOT FLAT'} (free GPU memory spread ${sr.freeSpreadMiB.toFixed(2)} MiB after frame 1000)\n`)
    w('frame   free MiB   registered(ever/now)  EGLImages alive\n')
    for (const s of sr.samples) w(`${String(s.frame).padStart(5)}  ${s.gpuFreeMiB.toFixed(1).padStart(9)}   ${String(s.registrations).padStart(8)}/${s.registeredNow}            ${s.liveImages}\n`)
  }
  w('\ndma-buf import of a CUDA-exported linear BGRx buffer (1920x1080):\n')
  if (!dmabufImport.exported) w(`  export: ${dmabufImport.error}\n`)
  for (const a of dmabufImport.attempts) w(`  modifier ${a.modifier}: ${a.ok ? 'ok' : 'failed'}: ${a.result}\n`)
  if (psnrResults.length > 0) {
    w(`\nlibx265 (20 Mbit/s; each picture the IDR of a fresh encoder), decoded, PSNR vs the source picture (dB, all planes); chain in '${psnrMode.name}' mode\n`)
    for (const p of psnrResults)
      w(
        `${p.size.padEnd(11)} chain ${p.chainPsnr.toFixed(3)}  CPU path ${p.cpuPsnr.toFixed(3)}  CPU path again ${p.cpuRepeatPsnr.toFixed(3)} | chain−CPU ${p.chainDeltaDb.toFixed(3)} dB, CPU−CPU ${p.repeatDeltaDb.toFixed(3)} dB | bitstreams chain/CPU ${p.identicalBitstream ? 'identical' : 'differ'}, CPU/CPU ${p.cpuRepeatIdentical ? 'identical' : 'differ'} (${p.frames} pictures)\n`,
      )
  }
}
