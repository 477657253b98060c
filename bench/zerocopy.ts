/**
 * The zero-copy capture chain on a GPU box (issue 8): EGLImage → GL de-tile + .bgra swizzle →
 * CUDA (registered once) → owned buffer → pooled CUDA frame. Per size: pixel-exactness against
 * the CPU reference, per-stage µs, total per frame, the CPU path (read back + upload) on the same
 * machine, then a long run with GPU memory and registrations sampled, and libx265 PSNR of the
 * pooled frame against the CPU path.
 *
 *   npm run bench -- zerocopy [--json] [--json-out FILE] [--sizes 1920x1080,...] [--frames N] [--soak N] [--psnr-frames N]
 *
 * The source is the GL-texture one (an EGLImage made from a texture in the GPU's own layout),
 * because GPU machines without a DRM device cannot import a dma-buf; everything after
 * eglCreateImage is the dma-buf path's code. The raw texture source (B,G,R,X in memory, as an
 * XRGB8888 dma-buf) feeds the CUDA copy (no GL pass). Each size also runs lumen_zc_latency: GL
 * and CUDA one after the other with no interop object, which shows what the context switch costs.
 *
 *   --alternating N   frames alternating two pictures, each checked (default 10)
 *   --paced N         frames 16.7 ms apart for some modes (default 60)
 *   --soak-modes a,b  modes of the soak (default "default,compute map"); --mode M: the PSNR's mode
 *   --no-noerror      skip the GL-without-error-checking context at the largest size
 */
import {closeSync, writeFileSync} from 'node:fs'

import {CudaFramePool, NativeDecoder, NativeEncoder, pictureBytes, psnrBgrxI420} from '../src/native/codec.js'
import {type CaptureOptions, type ChainTimings, DRM_FORMAT_MOD_INVALID, type LatencyFigures, ZeroCopyChain} from '../src/native/gpu.js'
import {captureOptions} from '../src/media/zerocopy/chain.js'

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
  drawUs: number
  mapCopyUs: number
  poolCopyUs: number
  totalUs: number
  /** parts: cuGraphicsMapResources alone, taking the pooled frame */
  mapUs: number
  frameGetUs: number
}

/** GPU-clock figures (LUMEN_ZC_GPU_TIMES), median µs */
interface GpuFigures {
  /** GL: CPU submit → pass start; pass execution; pass end → the CPU saw its fence (0 with a stream wait) */
  glSubmitUs: number
  glExecUs: number
  glSeenUs: number
  /** CUDA: the pool copy's GPU time; the texture → owned copy (map path) or the stream's wait for GL (stream-wait path) */
  poolCopyGpuUs: number
  auxGpuUs: number
  /** total per frame in this (timed) run */
  totalUs: number
}

/** The paths and variants measured: map = the registered texture mapped every frame (the old
 * chain), shared = the compute pass writes CUDA's owned buffer (GL_EXT_memory_object_fd) handed
 * over by a CPU fence or a GPU-side stream wait; wide = 4 pixels per invocation; kcopy = the pool
 * copy as a kernel; reimport = a new EGLImage every frame (encode-test's way). */
const MODES: {name: string; options: CaptureOptions}[] = [
  {name: 'triangle map', options: {compute: false, frameEvent: true}},
  {name: 'compute map', options: {compute: true, frameEvent: true}},
  {name: 'compute map kcopy', options: {compute: true, frameEvent: true, kernelCopy: true}},
  {name: 'triangle direct', options: {compute: false, frameEvent: true, direct: true}},
  {name: 'compute direct', options: {compute: true, frameEvent: true, direct: true}},
  {name: 'shared fence', options: {compute: true, frameEvent: true, shared: true}},
  {name: 'shared wait', options: {compute: true, frameEvent: true, shared: true, streamWait: true}},
  {name: 'shared wait kcopy', options: {compute: true, frameEvent: true, shared: true, streamWait: true, kernelCopy: true}},
  {name: 'shared wait wide', options: {compute: true, frameEvent: true, shared: true, streamWait: true, wide: true}},
  {name: 'default+reimport', options: {...captureOptions('compute', {}), reimport: true}},
]
/** on a raw texture source (B,G,R,X in memory, as an XRGB8888 dma-buf): the copy without a GL pass, and the GL pass on it */
const RAW_MODES: {name: string; options: CaptureOptions}[] = [
  {name: 'cuda copy (raw src)', options: {frameEvent: true, cudaCopy: true}},
  {name: 'cuda copy remap (raw src)', options: {frameEvent: true, cudaCopy: true, remap: true}},
  {name: 'compute direct (raw src)', options: {compute: true, frameEvent: true, direct: true}},
  {name: 'triangle direct (raw src)', options: {compute: false, frameEvent: true, direct: true}},
]
/** modes also run paced like a 60 fps capture (16.7 ms of idle GPU between frames) */
const PACED = new Set(['compute map', 'compute direct', 'shared wait', 'cuda copy (raw src)'])

interface ModeFigures {
  mode: string
  /** the path the shim took (a shared mode on a chain without a shared buffer takes the map path) */
  path: string
  pixelExact: boolean
  mismatches: number
  first?: string
  /** frames alternating between two pictures, each checked: a hand-over that let CUDA read before GL finished would show the older picture */
  alternatingExact: boolean
  alternatingFrames: number
  /** stage-synchronised frames: each stage's own time (median µs); a shared path waits on a CPU fence here */
  stagesMedian: StageFigures
  /** the unsynchronised frames' stage times (median µs): where the time goes as the pipeline runs */
  unsyncedMedian: StageFigures
  /** frames as the pipeline runs them (no extra syncs): total per frame inside the shim */
  totalUs: {median: number; p99: number; max: number}
  /** the same frames measured around the TypeScript calls (capture + release: two ffi calls) */
  jsCallUs: {median: number; p99: number}
  gpu: GpuFigures
  /** frames 16.7 ms apart (a 60 fps capture: the GPU idles between frames), µs per frame inside the shim */
  pacedUs?: {median: number; p99: number; frames: number}
  speedup: number
}

interface SizeResult {
  size: string
  gpu: string
  sharedReason?: string
  cudaCopyReason?: string
  rawCpuPathExact: boolean
  cpuPathExact: boolean
  afterUpdateExact: boolean
  modes: ModeFigures[]
  cpuPath: {readBackUs: number; uploadUs: number; totalUs: number}
  /** the machine's floor: an empty stream wait, one frame copy + wait, that copy's GPU time (median µs) */
  baseline: {emptyWaitUs: number; copyWaitUs: number; copyGpuUs: number}
  /** whether GL could write the pool's frames directly (what was tried) */
  poolShareable?: string
  /** lumen_zc_latency: GL and CUDA with no interop object between them, ns medians */
  latency: ({mode: string; gapUs: number} & LatencyFigures)[]
}

function stageMedians(samples: ChainTimings[]): StageFigures {
  const m = (k: 'importNs' | 'drawNs' | 'mapCopyNs' | 'poolCopyNs' | 'totalNs' | 'mapNs' | 'frameGetNs') => us(pct(samples.map((s) => s[k]), 50))
  return {
    importUs: m('importNs'),
    drawUs: m('drawNs'),
    mapCopyUs: m('mapCopyNs'),
    poolCopyUs: m('poolCopyNs'),
    totalUs: m('totalNs'),
    mapUs: m('mapNs'),
    frameGetUs: m('frameGetNs'),
  }
}

function gpuMedians(samples: ChainTimings[]): GpuFigures {
  const m = (k: 'glSubmitNs' | 'glExecNs' | 'glSeenNs' | 'poolCopyGpuNs' | 'auxGpuNs' | 'totalNs') => us(pct(samples.map((s) => s[k]), 50))
  return {
    glSubmitUs: m('glSubmitNs'),
    glExecUs: m('glExecNs'),
    glSeenUs: m('glSeenNs'),
    poolCopyGpuUs: m('poolCopyGpuNs'),
    auxGpuUs: m('auxGpuNs'),
    totalUs: m('totalNs'),
  }
}

function measureModes(
  chain: ZeroCopyChain,
  pool: CudaFramePool,
  source: number,
  picture: Buffer,
  picture2: Buffer,
  modes: {name: string; options: CaptureOptions}[],
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
    const staged: ChainTimings[] = []
    for (let i = 0; i < frames; i++) {
      pool.release(chain.capture(source, pool.handle, {...options, stageSync: true}))
      staged.push(chain.lastTimings())
    }
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
    const timed: ChainTimings[] = []
    for (let i = 0; i < frames; i++) {
      pool.release(chain.capture(source, pool.handle, {...options, gpuTimes: true}))
      timed.push(chain.lastTimings())
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
      stagesMedian: stageMedians(staged),
      unsyncedMedian: stageMedians(unsynced),
      totalUs: total,
      jsCallUs: {median: us(pct(calls, 50)), p99: us(pct(calls, 99))},
      gpu: gpuMedians(timed),
      pacedUs,
      speedup: cpuTotal / total.median,
    })
  }
  return out
}

function sleepUs(n: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, n / 1000)
}

function measureSize(width: number, height: number, frames: number, alternating: number, extra: {noError: boolean; paced: number}): SizeResult {
  const chain = ZeroCopyChain.open(width, height)
  const pool = CudaFramePool.open(width, height, {size: 4})
  try {
    const picture = testPicture(width, height, width ^ height)
    const picture2 = testPicture(width, height, 7)
    const source = chain.textureSource(picture)
    const host = Buffer.alloc(width * height * 4)

    // the CPU path (read back + upload) must give the reference too
    host.fill(0)
    let f = chain.cpuPath(source, pool.handle, Buffer.alloc(width * height * 4))
    pool.download(f, host, width * 4)
    pool.release(f)
    const viaCpu = mismatches(host, picture, width, height)
    // a new picture in the same source must come through (no stale texture or registration)
    chain.updateTextureSource(source, picture2)
    f = chain.capture(source, pool.handle, captureOptions('compute', {}))
    pool.download(f, host, width * 4)
    pool.release(f)
    const afterUpdate = mismatches(host, picture2, width, height)
    chain.updateTextureSource(source, picture)

    const cpu: ChainTimings[] = []
    const cpuHost = Buffer.alloc(width * height * 4)
    for (let i = 0; i < Math.max(10, Math.floor(frames / 10)); i++) {
      pool.release(chain.cpuPath(source, pool.handle, cpuHost))
      cpu.push(chain.lastTimings())
    }
    const cpuTotal = us(pct(cpu.map((t) => t.totalNs), 50))
    const modes = measureModes(chain, pool, source, picture, picture2, MODES, frames, alternating, cpuTotal, extra.paced)
    const rawSource = chain.rawTextureSource(picture)
    host.fill(0)
    f = chain.cpuPath(rawSource, pool.handle, Buffer.alloc(width * height * 4))
    pool.download(f, host, width * 4)
    pool.release(f)
    const rawViaCpu = mismatches(host, picture, width, height)
    modes.push(...measureModes(chain, pool, rawSource, picture, picture2, RAW_MODES, frames, alternating, cpuTotal, extra.paced))
    // GL and CUDA one after the other with no interop object: back to back, and 16.7 ms apart
    const latency: SizeResult['latency'] = []
    for (const gapUs of [0, 16_667])
      for (const mode of [1, 2, 3] as const) {
        const l = chain.latency(source, pool.handle, mode, gapUs === 0 ? frames : Math.max(10, extra.paced), gapUs)
        latency.push({mode: ['', 'GL pass alone', 'CUDA copy alone', 'GL pass then CUDA copy'][mode], gapUs, ...l})
      }
    if (extra.noError) {
      // the same chain once more in a GL context without error checking
      const ne = ZeroCopyChain.open(width, height, {glNoError: true})
      try {
        const src = ne.textureSource(picture)
        const picks = MODES.filter((m) => m.name === 'compute map' || m.name === 'compute direct')
        for (const m of measureModes(ne, pool, src, picture, picture2, picks, frames, alternating, cpuTotal, 0)) modes.push({...m, mode: `${m.mode} no-error-ctx`})
      } finally {
        ne.close()
      }
    }
    const b = chain.baseline(pool.handle, 300)
    let poolShareable: string | undefined
    try {
      poolShareable = chain.poolShareable(pool.handle)
    } catch (error) {
      poolShareable = `not checked: ${(error as Error).message}`
    }
    return {
      baseline: {emptyWaitUs: us(b.emptyWaitNs), copyWaitUs: us(b.copyWaitNs), copyGpuUs: us(b.copyGpuNs)},
      size: `${width}x${height}`,
      gpu: chain.describe(),
      sharedReason: chain.sharedReason(),
      cudaCopyReason: chain.cudaCopyReason(),
      rawCpuPathExact: rawViaCpu.count === 0,
      cpuPathExact: viaCpu.count === 0,
      afterUpdateExact: afterUpdate.count === 0,
      modes,
      cpuPath: {readBackUs: us(pct(cpu.map((t) => t.drawNs), 50)), uploadUs: us(pct(cpu.map((t) => t.poolCopyNs), 50)), totalUs: cpuTotal},
      poolShareable,
      latency,
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
          pool.release(chain.capture(source, pool.handle, {compute: true, frameEvent: true}))
          attempts.push({modifier: name, ok: true, result: 'imported, drawn and copied into a pooled frame'})
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

function soak(width: number, height: number, frames: number, mode: {name: string; options: CaptureOptions}): SoakResult {
  const chain = ZeroCopyChain.open(width, height)
  const pool = CudaFramePool.open(width, height, {size: 4})
  try {
    const source = chain.rawTextureSource(testPicture(width, height, 3))
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
function psnr(width: number, height: number, frames: number, options: CaptureOptions): PsnrResult {
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
    const source = chain.rawTextureSource(testPicture(width, height, 11))
    for (let i = 0; i < frames; i++) {
      const picture = testPicture(width, height, 11 + i)
      chain.updateTextureSource(source, picture)
      const lanes = {cuda: open(true), cpu: open(false), repeat: open(false)}
      try {
        const out = Buffer.alloc(lanes.cpu.maxFrameBytes)
        const frame = chain.capture(source, pool.handle, options)
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

/** A mode by name: 'default' (what the chain runs: src/media/zerocopy/chain.ts captureOptions) or one of MODES. */
function modeByName(name: string): {name: string; options: CaptureOptions} {
  if (name === 'default') return {name: 'default', options: captureOptions('compute')}
  const m = MODES.find((x) => x.name === name)
  if (m === undefined) throw new Error(`unknown mode '${name}' (default, ${MODES.map((x) => x.name).join(', ')})`)
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
  const soakModes = (flag(args, '--soak-modes') ?? 'default,compute map').split(',').map(modeByName)
  const psnrMode = modeByName(flag(args, '--mode') ?? 'default') // PSNR runs in this mode
  const noError = !args.includes('--no-noerror')
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
    results.push(measureSize(w, h, frames, alternating, {noError: noError && w === largest[0] && h === largest[1], paced}))
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
      psnrResults.push(psnr(w, h, psnrFrames, psnrMode.options))
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
    w(`\n${r.size}: owned buffer shared with GL: ${r.sharedReason === undefined ? 'yes' : `no (${r.sharedReason})`}\n`)
    w('mode                              path          exact alt | staged: import  draw map+copy (map) pool (get) | as run: total   p99 | js call | GPU: submit  exec  seen poolcopy   aux | speedup\n')
    for (const m of r.modes) {
      const s = m.stagesMedian
      const g = m.gpu
      w(
        `${m.mode.padEnd(33)} ${m.path.padEnd(13)} ${(m.pixelExact ? 'yes' : `NO(${m.mismatches})`).padEnd(5)} ${(m.alternatingExact ? 'yes' : 'NO').padEnd(3)} | ` +
          `${f1(s.importUs).padStart(13)} ${f1(s.drawUs).padStart(5)} ${f1(s.mapCopyUs).padStart(8)} ${`(${f1(s.mapUs)})`.padStart(7)} ${f1(s.poolCopyUs).padStart(5)} ${`(${f1(s.frameGetUs)})`.padStart(5)} | ` +
          `${f1(m.totalUs.median).padStart(14)} ${f1(m.totalUs.p99).padStart(5)} | ${f1(m.jsCallUs.median).padStart(7)} | ` +
          `${f1(g.glSubmitUs).padStart(11)} ${f1(g.glExecUs).padStart(5)} ${f1(g.glSeenUs).padStart(5)} ${f1(g.poolCopyGpuUs).padStart(8)} ${f1(g.auxGpuUs).padStart(5)} | ${m.speedup.toFixed(1)}x\n`,
      )
      if (m.first !== undefined) w(`  first mismatch: ${m.first}\n`)
      if (m.pacedUs !== undefined) w(`${''.padEnd(33)} paced (16.7 ms apart, ${m.pacedUs.frames} frames): total ${f1(m.pacedUs.median)} µs median, ${f1(m.pacedUs.p99)} p99\n`)
      const u = m.unsyncedMedian
      w(`${''.padEnd(33)} as run: import ${f1(u.importUs)}  draw ${f1(u.drawUs)}  map+copy ${f1(u.mapCopyUs)} (map ${f1(u.mapUs)})  pool copy+wait ${f1(u.poolCopyUs)} (get ${f1(u.frameGetUs)})\n`)
    }
    w(`  raw source through the CPU path equals the reference: ${r.rawCpuPathExact ? 'yes' : 'NO'}; cuda copy fell back: ${r.cudaCopyReason ?? 'no'}\n`)
    w(`  CPU path: read back ${f1(r.cpuPath.readBackUs)} + upload ${f1(r.cpuPath.uploadUs)} = ${f1(r.cpuPath.totalUs)} µs; equals the reference: ${r.cpuPathExact ? 'yes' : 'NO'}; a refilled source comes through: ${r.afterUpdateExact ? 'yes' : 'NO'}\n`)
    w(`  machine floor: empty stream wait ${f1(r.baseline.emptyWaitUs)} µs; one frame D2D copy + wait ${f1(r.baseline.copyWaitUs)} µs (GPU time ${f1(r.baseline.copyGpuUs)} µs)\n`)
    if (r.poolShareable !== undefined) w(`  pooled frame writable by GL? ${r.poolShareable}\n`)
    w('  GL and CUDA with no interop object (median µs): mode                    gap µs | GL wall  submit→start  exec | CUDA wall  copy GPU | round\n')
    for (const l of r.latency)
      w(
        `  ${''.padEnd(46)}${l.mode.padEnd(24)}${String(l.gapUs).padStart(6)} | ${f1(us(l.glWallNs)).padStart(7)} ${f1(us(l.glSubmitNs)).padStart(13)} ${f1(us(l.glExecNs)).padStart(5)} | ${f1(us(l.cudaWallNs)).padStart(9)} ${f1(us(l.cudaGpuNs)).padStart(9)} | ${f1(us(l.totalNs)).padStart(5)}\n`,
      )
  }
  w(
    '\n(exact: the pooled frame equals the BGRx picture; alt: every frame of a run alternating two pictures does; staged: median µs with a GPU wait after each stage (a shared path then hands over by CPU fence); as run: median/p99 µs per frame inside the shim; js call: capture + release from TypeScript; GPU: median µs from GL timestamp queries and CUDA events in a separate timed run: GL submit → pass start, pass execution, pass end → CPU saw the fence, the pool copy, aux = texture → owned copy (map) or the CUDA stream\'s wait for GL (shared wait))\n',
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
