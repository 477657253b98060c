/**
 * Typed wrappers over libs/include/lumen_gpu.h: the zero-copy probe's native checks and the
 * zero-copy capture chain (a source's EGLImage → a pooled CUDA frame, by a CUDA copy of the image
 * or through the GL swizzle pass: lumen_gpu.h).
 */
import {cString, check, ErrorBuffer} from './call.js'
import {shim} from './library.js'

/** LUMEN_ZC_TIMINGS_LEN */
const TIMINGS_LEN = 64
/** LUMEN_ZC_STATS_LEN */
const STATS_LEN = 56
/** LUMEN_ZC_REIMPORT */
const REIMPORT = 1
/** LUMEN_ZC_GL_PASS */
const GL_PASS = 2
/** DRM_FORMAT_MOD_INVALID: "no modifier" */
export const DRM_FORMAT_MOD_INVALID = 0x00ff_ffff_ffff_ffffn

export interface CudaDevice {
  index: number
  name: string
  computeCapability: string
  memoryBytes: number
}

export interface CudaProbe {
  ok: boolean
  error?: string
  driverVersion?: string
  devices: CudaDevice[]
}

export interface ModifierInfo {
  modifier: string
  externalOnly: boolean
}

export interface EglProbe {
  ok: boolean
  error?: string
  platform: string | null
  version: string | null
  vendor: string | null
  clientApis: string | null
  renderNode?: boolean
  extensions: Record<string, boolean>
  modifiers: {XRGB8888: ModifierInfo[]; ARGB8888: ModifierInfo[]}
}

export interface GlProbe {
  ok: boolean
  error?: string
  renderer?: string
  version?: string
  api?: string
  /** GL_EXT_memory_object(_fd), GL_EXT_semaphore(_fd), GL_KHR_no_error, GL_ARB_compute_shader, EGL_KHR_create_context_no_error */
  extensions?: Record<string, boolean>
}

export interface CheckResult {
  ok: boolean
  error?: string
}

export interface EglGlProbe {
  egl: EglProbe
  gl: GlProbe
  dmabuf: CheckResult
  glCuda: CheckResult
}

export interface NvencProbe extends CheckResult {
  encoder: string
}

type ProbeCall = 'lumen_probe_cuda' | 'lumen_probe_egl' | 'lumen_probe_nvenc'

function probeJson<T>(call: ProbeCall): T {
  const out = Buffer.alloc(256 * 1024)
  const err = new ErrorBuffer()
  const n = check(call, shim()[call]([out, out.length, ...err.args()]), err)
  return JSON.parse(out.toString('utf8', 0, n)) as T
}

/** CUDA: the driver loads (run time, never linked), cuInit, the driver version and devices. */
export function probeCuda(): CudaProbe {
  return probeJson<CudaProbe>('lumen_probe_cuda')
}

/** EGL display, GL context, the dma-buf round trip and GL→CUDA registration. */
export function probeEglGl(): EglGlProbe {
  return probeJson<EglGlProbe>('lumen_probe_egl')
}

/** A hevc_nvenc session through libavcodec on a CUDA device context. */
export function probeNvenc(): NvencProbe {
  return probeJson<NvencProbe>('lumen_probe_nvenc')
}

/** Per-frame stage times of the chain, ns. For the CPU path: read back in glPassNs, upload in waitNs. */
export interface ChainTimings {
  /** binding the source's image (imported once per source, or every frame with reimport) */
  importNs: number
  /** the GL pass (0 with the CUDA copy) */
  glPassNs: number
  /** taking the pooled frame, mapping, queuing the copy */
  queueNs: number
  /** waiting for the copy into the pooled frame */
  waitNs: number
  totalNs: number
  /** cuGraphicsMapResources alone (part of queueNs; 0 once the CUDA copy's image stays mapped) */
  mapNs: number
  /** taking the pooled frame (part of queueNs) */
  frameGetNs: number
  path: 'gl-pass' | 'cuda-copy'
}

export interface CaptureOptions {
  /** a new EGLImage this frame, as from a producer that never repeats a buffer (takes the GL pass) */
  reimport?: boolean
  /** the GL pass even where the CUDA copy would serve (for comparison) */
  glPass?: boolean
}

const PATHS = ['gl-pass', 'cuda-copy'] as const

export interface ChainStats {
  frames: number
  /** GL textures ever registered with CUDA by this chain (the GL pass's texture at open, plus each CUDA-copied source image) */
  registrations: number
  registeredNow: number
  liveImages: number
  gpuFreeBytes: number
  gpuTotalBytes: number
  sources: number
}

export interface DmabufPlane {
  fd: number
  /** DRM fourcc, e.g. XR24 = 0x34325258 */
  fourcc: number
  offset: number
  pitch: number
  /** DRM format modifier; DRM_FORMAT_MOD_INVALID for none */
  modifier: bigint
}

/** The zero-copy chain in the shim: one GL context + CUDA context (lumen_gpu.h). */
/**
 * The synthetic pattern as the GPU source draws it (the chain's shader, in a GL context of its
 * own: NVIDIA's or Mesa's software GL), read back as BGRx; raw: through a texture holding the
 * bytes as an XRGB8888 dma-buf does. What checks it against drawPattern.
 */
export function drawPatternGl(width: number, height: number, frame: number, clockMs: number, stamp?: {value: number; check: number}, raw = true): Buffer {
  const err = new ErrorBuffer()
  const out = Buffer.alloc(width * height * 4)
  const args = [out, out.length, width, height, frame, clockMs, stamp === undefined ? -1 : stamp.value, stamp?.check ?? 0, raw ? 1 : 0, ...err.args()]
  check('lumen_pattern_draw_gl', shim().lumen_pattern_draw_gl(args), err)
  return out
}

export class ZeroCopyChain {
  private readonly err = new ErrorBuffer()
  private readonly timings = Buffer.alloc(TIMINGS_LEN)
  private closed = false

  private constructor(
    readonly handle: number,
    readonly width: number,
    readonly height: number,
  ) {}

  static open(width: number, height: number): ZeroCopyChain {
    const err = new ErrorBuffer()
    return new ZeroCopyChain(check('lumen_zc_open', shim().lumen_zc_open([width, height, ...err.args()]), err), width, height)
  }

  /** A dma-buf source (what PipeWire hands over); the chain keeps its own dup of the fd. */
  dmabufSource(plane: DmabufPlane): number {
    return check(
      'lumen_zc_source_dmabuf',
      shim().lumen_zc_source_dmabuf([this.handle, plane.fd, plane.fourcc, plane.offset, plane.pitch, Number(plane.modifier >> 32n), Number(plane.modifier & 0xffff_ffffn), ...this.err.args()]),
      this.err,
    )
  }

  /** A GL-texture source in the GPU's own layout, filled from a BGRx picture (takes the GL pass). */
  textureSource(bgrx: Buffer, stride = this.width * 4): number {
    return check('lumen_zc_source_texture', shim().lumen_zc_source_texture([this.handle, bgrx, bgrx.length, stride, ...this.err.args()]), this.err)
  }

  /** A texture source holding the BGRx bytes as an XRGB8888 dma-buf does (B,G,R,X in memory): the CUDA copy's stand-in for one. */
  rawTextureSource(bgrx: Buffer, stride = this.width * 4): number {
    return check('lumen_zc_source_texture_raw', shim().lumen_zc_source_texture_raw([this.handle, bgrx, bgrx.length, stride, ...this.err.args()]), this.err)
  }

  /** Why a capture took the GL pass although the source allows the CUDA copy; undefined when none did. */
  cudaCopyReason(): string | undefined {
    const b = Buffer.alloc(512)
    const n = shim().lumen_zc_cuda_copy_reason([this.handle, b, b.length])
    return n > 0 ? cString(b) : undefined
  }

  updateTextureSource(source: number, bgrx: Buffer, stride = this.width * 4): void {
    check('lumen_zc_source_update', shim().lumen_zc_source_update([this.handle, source, bgrx, bgrx.length, stride, ...this.err.args()]), this.err)
  }

  /**
   * Draws synthetic-pattern frame `frame` with the clock `clockMs` into a texture source on the
   * GPU (the pixels drawPattern draws), with the frame stamp when given (../media/capture/stamp.ts).
   */
  drawPatternSource(source: number, frame: number, clockMs: number, stamp?: {value: number; check: number}): void {
    const args = [this.handle, source, frame, clockMs, stamp === undefined ? -1 : stamp.value, stamp?.check ?? 0, ...this.err.args()]
    check('lumen_zc_source_pattern', shim().lumen_zc_source_pattern(args), this.err)
  }

  closeSource(source: number): void {
    shim().lumen_zc_source_close([this.handle, source])
  }

  /** One frame through the chain into a frame of `pool` (a CudaFramePool handle); returns the frame handle. */
  capture(source: number, pool: number, options: CaptureOptions = {}): number {
    const flags = (options.reimport === true ? REIMPORT : 0) | (options.glPass === true ? GL_PASS : 0)
    return check('lumen_zc_capture', shim().lumen_zc_capture([this.handle, source, pool, flags, this.timings, this.timings.length, ...this.err.args()]), this.err)
  }

  /** The CPU path for comparison (bench): read back into `host`, upload into a pooled frame. */
  cpuPath(source: number, pool: number, host: Buffer): number {
    return check(
      'lumen_zc_cpu_path',
      shim().lumen_zc_cpu_path([this.handle, source, pool, host, host.length, this.timings, this.timings.length, ...this.err.args()]),
      this.err,
    )
  }

  /** The timings of the last capture() / cpuPath(). */
  lastTimings(): ChainTimings {
    const v = (i: number) => Number(this.timings.readBigInt64LE(i * 8))
    return {importNs: v(0), glPassNs: v(1), queueNs: v(2), waitNs: v(3), totalNs: v(4), mapNs: v(5), frameGetNs: v(6), path: PATHS[v(7)] ?? 'gl-pass'}
  }

  /** The machine's floor (bench): median ns of an empty stream wait, a frame copy + wait, and that copy's GPU time. */
  baseline(pool: number, iterations: number): {emptyWaitNs: number; copyWaitNs: number; copyGpuNs: number} {
    const b = Buffer.alloc(24)
    check('lumen_zc_baseline', shim().lumen_zc_baseline([this.handle, pool, iterations, b, b.length, ...this.err.args()]), this.err)
    return {emptyWaitNs: Number(b.readBigInt64LE(0)), copyWaitNs: Number(b.readBigInt64LE(8)), copyGpuNs: Number(b.readBigInt64LE(16))}
  }

  /** A linear BGRx CUDA buffer exported as a dma-buf, to test the dma-buf import without a producer (bench). The caller closes the fd. */
  cudaDmabuf(): {fd: number; pitch: number; size: number} {
    const b = Buffer.alloc(16)
    const fd = check('lumen_zc_cuda_dmabuf', shim().lumen_zc_cuda_dmabuf([this.handle, b, b.length, ...this.err.args()]), this.err)
    return {fd, pitch: b.readInt32LE(0), size: Number(b.readBigInt64LE(8))}
  }

  stats(): ChainStats {
    const b = Buffer.alloc(STATS_LEN)
    check('lumen_zc_stats', shim().lumen_zc_stats([this.handle, b, b.length, ...this.err.args()]), this.err)
    const v = (i: number) => Number(b.readBigInt64LE(i * 8))
    return {frames: v(0), registrations: v(1), registeredNow: v(2), liveImages: v(3), gpuFreeBytes: v(4), gpuTotalBytes: v(5), sources: v(6)}
  }

  describe(): string {
    const b = Buffer.alloc(512)
    shim().lumen_zc_describe([this.handle, b, b.length])
    return cString(b)
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    shim().lumen_zc_close([this.handle])
  }
}
