/**
 * Typed wrappers over libs/include/lumen_gpu.h: the zero-copy probe's native checks and the
 * zero-copy capture chain (EGLImage → GL de-tile + swizzle → CUDA → pooled frame).
 */
import {cString, check, ErrorBuffer} from './call.js'
import {shim} from './library.js'

const TIMINGS_LEN = 128
const STATS_LEN = 64
/** LUMEN_ZC_STAGE_SYNC */
const STAGE_SYNC = 1
/** LUMEN_ZC_COMPUTE */
const COMPUTE = 2
/** LUMEN_ZC_REIMPORT */
const REIMPORT = 4
/** LUMEN_ZC_LATE_UNMAP */
const LATE_UNMAP = 8
/** LUMEN_ZC_FRAME_EVENT */
const FRAME_EVENT = 16
/** LUMEN_ZC_SHARED */
const SHARED = 32
/** LUMEN_ZC_STREAM_WAIT */
const STREAM_WAIT = 64
/** LUMEN_ZC_GPU_TIMES */
const GPU_TIMES = 128
/** LUMEN_ZC_WIDE */
const WIDE = 256
/** LUMEN_ZC_KERNEL_COPY */
const KERNEL_COPY = 512
/** LUMEN_ZC_DIRECT */
const DIRECT = 1024
/** LUMEN_ZC_CUDA_COPY */
const CUDA_COPY = 2048
/** LUMEN_ZC_REMAP */
const REMAP = 4096
/** LUMEN_ZC_OPEN_GL_NO_ERROR */
const OPEN_GL_NO_ERROR = 1
/** LUMEN_ZC_OPEN_NO_SHARED */
const OPEN_NO_SHARED = 2
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

/** Per-frame stage times of the chain, ns. For the CPU path: readBack in drawNs, upload in poolCopyNs. */
export interface ChainTimings {
  importNs: number
  drawNs: number
  mapCopyNs: number
  poolCopyNs: number
  totalNs: number
  /** cuGraphicsMapResources alone (part of mapCopyNs) */
  mapNs: number
  /** taking the pooled frame (part of poolCopyNs) */
  frameGetNs: number
  /** the path taken: the registered texture + per-frame map, the shared buffer + a CPU fence, the shared buffer + a GPU-side stream wait */
  path: 'map' | 'shared-fence' | 'shared-wait' | 'map-direct' | 'cuda-copy'
  /** with gpuTimes (GPU clocks; 0 otherwise): GL submit → pass start, pass execution, pass end → the CPU saw its fence */
  glSubmitNs: number
  glExecNs: number
  glSeenNs: number
  /** with gpuTimes: the pool copy's GPU time */
  poolCopyGpuNs: number
  /** with gpuTimes: the texture → owned copy's GPU time (map path) or the CUDA stream's wait for GL (stream-wait path) */
  auxGpuNs: number
}

export interface CaptureOptions {
  /** wait for the GPU after every stage, so each stage's time is its own */
  stageSync?: boolean
  /** the compute pass instead of the full-screen triangle */
  compute?: boolean
  /** a new EGLImage this frame */
  reimport?: boolean
  lateUnmap?: boolean
  frameEvent?: boolean
  /** with compute, on a chain whose owned buffer is shared with GL: the pass writes straight into it (no map) */
  shared?: boolean
  /** with shared: GL hands over to CUDA on the GPU (cuStreamWaitValue32 on a flag the pass writes) instead of a CPU fence */
  streamWait?: boolean
  /** GL timestamp queries and CUDA timing events (ChainTimings.gl*, poolCopyGpuNs, auxGpuNs) */
  gpuTimes?: boolean
  /** with shared: 4 pixels per shader invocation */
  wide?: boolean
  /** the pool copy as a CUDA kernel instead of cuMemcpy2DAsync */
  kernelCopy?: boolean
  /** the registered-texture path without the owned buffer: the mapped texture straight into the pooled frame */
  direct?: boolean
  /** no GL pass: the source's EGLImage texture registered with CUDA (once per source) and copied straight into the pooled frame
   * (XRGB8888/ARGB8888 dma-bufs, raw texture sources); other sources take the GL pass */
  cudaCopy?: boolean
  /** with cudaCopy: unmap the image after every capture instead of keeping it mapped (for comparison) */
  remap?: boolean
}

export interface ChainOpenOptions {
  /** a GL context without error checking (EGL_KHR_create_context_no_error) */
  glNoError?: boolean
  /** false: do not share the owned buffer with GL (the registered-texture + map path only) */
  shared?: boolean
}

const PATHS = ['map', 'shared-fence', 'shared-wait', 'map-direct', 'cuda-copy'] as const

/** lumen_zc_latency's figures, ns (medians) */
export interface LatencyFigures {
  glWallNs: number
  glSubmitNs: number
  glExecNs: number
  cudaWallNs: number
  cudaGpuNs: number
  totalNs: number
}

export interface ChainStats {
  frames: number
  /** GL textures ever registered with CUDA by this chain (1: registered once, at open) */
  registrations: number
  registeredNow: number
  liveImages: number
  gpuFreeBytes: number
  gpuTotalBytes: number
  sources: number
  /** the owned buffer is shared with GL (the pass writes it directly) */
  shared: boolean
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

/** The zero-copy chain in the shim: one GL context + CUDA context, one registered texture. */
export class ZeroCopyChain {
  private readonly err = new ErrorBuffer()
  private readonly timings = Buffer.alloc(TIMINGS_LEN)
  private closed = false

  private constructor(
    readonly handle: number,
    readonly width: number,
    readonly height: number,
  ) {}

  static open(width: number, height: number, options: ChainOpenOptions = {}): ZeroCopyChain {
    const err = new ErrorBuffer()
    const flags = (options.glNoError === true ? OPEN_GL_NO_ERROR : 0) | (options.shared === false ? OPEN_NO_SHARED : 0)
    return new ZeroCopyChain(check('lumen_zc_open_ex', shim().lumen_zc_open_ex([width, height, flags, ...err.args()]), err), width, height)
  }

  /** Why the owned buffer is not shared with GL; undefined when it is. */
  sharedReason(): string | undefined {
    const b = Buffer.alloc(512)
    const n = shim().lumen_zc_shared_reason([this.handle, b, b.length])
    return n > 0 ? cString(b) : undefined
  }

  /** A dma-buf source (what PipeWire hands over); the chain keeps its own dup of the fd. */
  dmabufSource(plane: DmabufPlane): number {
    return check(
      'lumen_zc_source_dmabuf',
      shim().lumen_zc_source_dmabuf([this.handle, plane.fd, plane.fourcc, plane.offset, plane.pitch, Number(plane.modifier >> 32n), Number(plane.modifier & 0xffff_ffffn), ...this.err.args()]),
      this.err,
    )
  }

  /** A GL-texture source in the GPU's own layout, filled from a BGRx picture. */
  textureSource(bgrx: Buffer, stride = this.width * 4): number {
    return check('lumen_zc_source_texture', shim().lumen_zc_source_texture([this.handle, bgrx, stride, ...this.err.args()]), this.err)
  }

  /** A texture source holding the BGRx bytes as an XRGB8888 dma-buf does (B,G,R,X in memory; sampled through a swizzle). */
  rawTextureSource(bgrx: Buffer, stride = this.width * 4): number {
    return check('lumen_zc_source_texture_raw', shim().lumen_zc_source_texture_raw([this.handle, bgrx, stride, ...this.err.args()]), this.err)
  }

  /** Why a cudaCopy capture took the GL pass; undefined when none did. */
  cudaCopyReason(): string | undefined {
    const b = Buffer.alloc(512)
    const n = shim().lumen_zc_cuda_copy_reason([this.handle, b, b.length])
    return n > 0 ? cString(b) : undefined
  }

  updateTextureSource(source: number, bgrx: Buffer, stride = this.width * 4): void {
    check('lumen_zc_source_update', shim().lumen_zc_source_update([this.handle, source, bgrx, stride, ...this.err.args()]), this.err)
  }

  closeSource(source: number): void {
    shim().lumen_zc_source_close([this.handle, source])
  }

  /** One frame through the chain into a frame of `pool` (a CudaFramePool handle); returns the frame handle. */
  capture(source: number, pool: number, options: CaptureOptions = {}): number {
    return check(
      'lumen_zc_capture',
      shim().lumen_zc_capture([
        this.handle,
        source,
        pool,
        (options.stageSync === true ? STAGE_SYNC : 0) | (options.compute === true ? COMPUTE : 0) | (options.reimport === true ? REIMPORT : 0) |
          (options.lateUnmap === true ? LATE_UNMAP : 0) |
          (options.frameEvent === true ? FRAME_EVENT : 0) |
          (options.shared === true ? SHARED : 0) |
          (options.streamWait === true ? STREAM_WAIT : 0) |
          (options.gpuTimes === true ? GPU_TIMES : 0) |
          (options.wide === true ? WIDE : 0) |
          (options.kernelCopy === true ? KERNEL_COPY : 0) |
          (options.direct === true ? DIRECT : 0) |
          (options.cudaCopy === true ? CUDA_COPY : 0) |
          (options.remap === true ? REMAP : 0),
        this.timings,
        this.timings.length,
        ...this.err.args(),
      ]),
      this.err,
    )
  }

  /** The CPU path for comparison: read back into `host`, upload into a pooled frame. */
  cpuPath(source: number, pool: number, host: Buffer): number {
    return check(
      'lumen_zc_cpu_path',
      shim().lumen_zc_cpu_path([this.handle, source, pool, host, host.length, this.timings, this.timings.length, ...this.err.args()]),
      this.err,
    )
  }

  /** The timings of the last capture() / cpuPath(). */
  lastTimings(): ChainTimings {
    const t = this.timings
    return {
      importNs: Number(t.readBigInt64LE(0)),
      drawNs: Number(t.readBigInt64LE(8)),
      mapCopyNs: Number(t.readBigInt64LE(16)),
      poolCopyNs: Number(t.readBigInt64LE(24)),
      totalNs: Number(t.readBigInt64LE(32)),
      mapNs: Number(t.readBigInt64LE(40)),
      frameGetNs: Number(t.readBigInt64LE(48)),
      path: PATHS[Number(t.readBigInt64LE(56))] ?? 'map',
      glSubmitNs: Number(t.readBigInt64LE(64)),
      glExecNs: Number(t.readBigInt64LE(72)),
      glSeenNs: Number(t.readBigInt64LE(80)),
      poolCopyGpuNs: Number(t.readBigInt64LE(88)),
      auxGpuNs: Number(t.readBigInt64LE(96)),
    }
  }

  /** The machine's floor: median ns of an empty stream wait, a frame copy + wait, and that copy's GPU time. */
  baseline(pool: number, iterations: number): {emptyWaitNs: number; copyWaitNs: number; copyGpuNs: number} {
    const b = Buffer.alloc(24)
    check('lumen_zc_baseline', shim().lumen_zc_baseline([this.handle, pool, iterations, b, b.length, ...this.err.args()]), this.err)
    return {emptyWaitNs: Number(b.readBigInt64LE(0)), copyWaitNs: Number(b.readBigInt64LE(8)), copyGpuNs: Number(b.readBigInt64LE(16))}
  }

  /**
   * GL and CUDA one after the other with no interop object between them (mode 1: the compute
   * pass alone, 2: a frame copy on the CUDA stream alone, 3: both), gapUs of sleep before each
   * round: what switching between the two APIs costs on this GPU.
   */
  latency(source: number, pool: number, mode: 1 | 2 | 3, iterations: number, gapUs: number): LatencyFigures {
    const b = Buffer.alloc(48)
    check('lumen_zc_latency', shim().lumen_zc_latency([this.handle, source, pool, mode, iterations, gapUs, b, b.length, ...this.err.args()]), this.err)
    const v = (i: number) => Number(b.readBigInt64LE(i * 8))
    return {glWallNs: v(0), glSubmitNs: v(1), glExecNs: v(2), cudaWallNs: v(3), cudaGpuNs: v(4), totalNs: v(5)}
  }

  /** Exports the owned buffer (linear BGRx) as a dma-buf through CUDA, to test the dma-buf import without a producer. The caller closes the fd. */
  cudaDmabuf(): {fd: number; pitch: number; size: number} {
    const b = Buffer.alloc(16)
    const fd = check('lumen_zc_cuda_dmabuf', shim().lumen_zc_cuda_dmabuf([this.handle, b, b.length, ...this.err.args()]), this.err)
    return {fd, pitch: b.readInt32LE(0), size: Number(b.readBigInt64LE(8))}
  }

  /** Whether GL could write the pool's frames directly: a sentence on what was tried (a frame of `pool` is taken and released). */
  poolShareable(pool: number): string {
    const b = Buffer.alloc(1024)
    const n = check('lumen_zc_pool_shareable', shim().lumen_zc_pool_shareable([this.handle, pool, b, b.length, ...this.err.args()]), this.err)
    return b.toString('utf8', 0, n)
  }

  /** The owned buffer (the last capture) as BGRx, width*4 per row. */
  readOwned(out: Buffer): void {
    check('lumen_zc_read_owned', shim().lumen_zc_read_owned([this.handle, out, out.length, ...this.err.args()]), this.err)
  }

  stats(): ChainStats {
    const b = Buffer.alloc(STATS_LEN)
    check('lumen_zc_stats', shim().lumen_zc_stats([this.handle, b, b.length, ...this.err.args()]), this.err)
    const v = (i: number) => Number(b.readBigInt64LE(i * 8))
    return {
      frames: v(0),
      registrations: v(1),
      registeredNow: v(2),
      liveImages: v(3),
      gpuFreeBytes: v(4),
      gpuTotalBytes: v(5),
      sources: v(6),
      shared: v(7) === 1,
    }
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
