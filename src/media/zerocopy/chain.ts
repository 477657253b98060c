/**
 * The zero-copy capture chain on the TypeScript side (issue 8): one shim call per frame
 * (ZeroCopyChain.capture) turns the capture source's EGLImage into a pooled CUDA frame; the
 * frame flows on as a `CudaFrame` payload into the encoder layer.
 *
 * Opt-in with LUMEN_ZEROCOPY=1; the CPU path stays the default. When the chain cannot open, or
 * fails at run time, the capture falls back to the CPU source with one clear log line and stays
 * there. An XRGB8888/ARGB8888 dma-buf takes the CUDA copy (no GL pass, see captureOptions); other
 * formats, or a driver refusing to register the image with CUDA, take the GL pass (one log line).
 */
import {ShimError, ShimLoadError} from '../../native/errors.js'
import {type CaptureOptions, type ChainTimings, type DmabufPlane, ZeroCopyChain} from '../../native/gpu.js'
import type {CapturedFrame, CaptureSource} from '../types.js'

/** LUMEN_ZEROCOPY=1 asks for the CUDA path. */
export function zeroCopyRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.LUMEN_ZEROCOPY === '1'
}

/** The chain's de-tile + swizzle pass: the full-screen triangle (the design) or a compute dispatch. */
export type ChainPass = 'triangle' | 'compute'

/** LUMEN_ZEROCOPY_PASS picks the pass; compute by default (on the H100, whose graphics pipeline
 * has few units, it measured 3.4x faster than the triangle at 5120x1440). A GL without compute
 * shaders (< 4.3) always runs the triangle. */
export function chainPass(env: NodeJS.ProcessEnv = process.env): ChainPass {
  return env.LUMEN_ZEROCOPY_PASS === 'triangle' ? 'triangle' : 'compute'
}

/** LUMEN_ZEROCOPY_SHARED=1 asks for the experimental shared owned buffer (CUDA memory imported
 * into GL, written by the compute pass: no per-frame map). Off by default: on the H100 (driver
 * 580) it was slower than the mapped texture (GL's submit → start grew from ~55 to ~180 µs) and
 * not pixel-exact (a GL fence, or a flag + cuStreamWaitValue32, is not the release/acquire the
 * two APIs need; only a shared semaphore is). */
export function sharedRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.LUMEN_ZEROCOPY_SHARED === '1'
}

/**
 * The per-frame capture flags the chain runs with: the compute pass (unless the triangle is
 * asked for), the GL texture mapped into CUDA and copied straight into the pooled frame (the
 * pass already freed the source: no owned-buffer copy), returning once the frame is copied.
 * With LUMEN_ZEROCOPY_SHARED=1 and the compute pass: the shared owned buffer, handed over on the
 * GPU (a flag the pass writes, cuStreamWaitValue32); the shim takes the mapped path where the
 * chain has no shared buffer.
 */
export function captureOptions(pass: ChainPass, env: NodeJS.ProcessEnv = process.env): CaptureOptions {
  const shared = pass === 'compute' && sharedRequested(env)
  return {compute: pass === 'compute', frameEvent: true, direct: !shared, shared, streamWait: shared, cudaCopy: cudaCopyRequested(env)}
}

/** LUMEN_ZEROCOPY_CUDA_COPY=0 turns off the copy without a GL pass (an XRGB8888/ARGB8888 dma-buf's
 * EGLImage texture registered with CUDA once and copied straight into the pooled frame, so the GPU
 * does not switch between the GL and CUDA contexts every frame); on by default. */
export function cudaCopyRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.LUMEN_ZEROCOPY_CUDA_COPY !== '0'
}

/** The one line saying the asked-for shared owned buffer is not there (undefined when it is, or was not asked for). */
export function sharedFallbackLine(chain: ZeroCopyChain, pass: ChainPass, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (!sharedRequested(env)) return undefined
  if (pass !== 'compute') return 'zero-copy: LUMEN_ZEROCOPY_SHARED=1 needs the compute pass; the GL texture is mapped into CUDA every frame'
  const why = chain.sharedReason()
  return why === undefined ? undefined : `zero-copy: the owned buffer cannot be shared with GL (${why}); the GL texture is mapped into CUDA every frame`
}

/** Where the chain's EGLImage comes from. */
export type GpuImageSource =
  /** a dma-buf per frame (PipeWire): the plane of the newest buffer, undefined when none is new */
  | {kind: 'dmabuf'; next: () => DmabufPlane | undefined}
  /** a GL texture in the GPU's own layout, filled from a BGRx picture (GPU boxes without a DRM device) */
  | {kind: 'texture'; picture: () => Buffer}

export interface ZeroCopyCaptureOptions {
  width: number
  height: number
  /** the CudaFramePool handle the frames come from (the encoder's pool) */
  pool: number
  image: GpuImageSource
  /** the CPU source to fall back to; opened only when needed */
  fallback: () => CaptureSource
  /** where the one fallback line goes (default: stderr) */
  log?: (line: string) => void
  now?: () => number
  /** default: chainPass() */
  pass?: ChainPass
}

function reason(error: unknown): string {
  if (error instanceof ShimError || error instanceof ShimLoadError) return error.message
  return error instanceof Error ? error.message : String(error)
}

/**
 * A CaptureSource that hands out pooled CUDA frames made by the chain, or CPU frames from the
 * fallback once the chain has failed. The caller releases a CUDA frame (CudaFramePool.release)
 * after encoding it.
 */
export class ZeroCopyCapture implements CaptureSource {
  readonly name: string
  private chain: ZeroCopyChain | undefined
  private source = -1
  private lastPlaneFd = -1
  private cpu: CaptureSource | undefined
  private readonly log: (line: string) => void
  private readonly now: () => number
  private cudaCopyLogged = false
  /** why the CPU path is in use (undefined while the chain runs) */
  fallbackReason: string | undefined

  private constructor(private readonly options: ZeroCopyCaptureOptions) {
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`))
    this.now = options.now ?? (() => Number(process.hrtime.bigint()))
    this.name = `zerocopy:${options.image.kind}`
  }

  get width(): number {
    return this.options.width
  }

  get height(): number {
    return this.options.height
  }

  /** The path frames take now. */
  get path(): 'cuda' | 'cpu' {
    return this.chain === undefined ? 'cpu' : 'cuda'
  }

  /** Opens the chain; on failure falls back at once (one log line) and still returns a working source. */
  static open(options: ZeroCopyCaptureOptions): ZeroCopyCapture {
    const capture = new ZeroCopyCapture(options)
    try {
      capture.chain = ZeroCopyChain.open(options.width, options.height, {shared: sharedRequested()})
      const line = sharedFallbackLine(capture.chain, options.pass ?? chainPass())
      if (line !== undefined) capture.log(line)
      if (options.image.kind === 'texture') capture.source = capture.chain.textureSource(options.image.picture())
    } catch (error) {
      capture.fallBack(error)
    }
    return capture
  }

  /** A description of the GPU the chain runs on (empty on the CPU path). */
  describe(): string {
    return this.chain?.describe() ?? ''
  }

  lastTimings(): ChainTimings | undefined {
    return this.chain?.lastTimings()
  }

  grab(): CapturedFrame {
    const chain = this.chain
    if (chain === undefined) return this.cpuGrab()
    try {
      const image = this.options.image
      if (image.kind === 'dmabuf') {
        const plane = image.next()
        if (plane === undefined && this.source < 0) throw new Error('the dma-buf source has produced no buffer yet')
        if (plane !== undefined && plane.fd !== this.lastPlaneFd) {
          if (this.source >= 0) chain.closeSource(this.source)
          this.source = chain.dmabufSource(plane)
          this.lastPlaneFd = plane.fd
        }
      }
      const captureNs = this.now()
      const options = captureOptions(this.options.pass ?? chainPass())
      const handle = chain.capture(this.source, this.options.pool, options)
      if (options.cudaCopy === true && !this.cudaCopyLogged && chain.lastTimings().path !== 'cuda-copy') {
        this.cudaCopyLogged = true
        this.log(`zero-copy: ${chain.cudaCopyReason() ?? 'this source is not an XRGB8888/ARGB8888 dma-buf'}; using the GL pass`)
      }
      return {payload: {kind: 'cuda', width: this.width, height: this.height, handle}, captureNs, fresh: true}
    } catch (error) {
      this.fallBack(error)
      return this.cpuGrab()
    }
  }

  close(): void {
    this.chain?.close()
    this.chain = undefined
    this.cpu?.close()
    this.cpu = undefined
  }

  private fallBack(error: unknown): void {
    this.fallbackReason = reason(error)
    this.log(`zero-copy capture unavailable, using the CPU path: ${this.fallbackReason}`)
    this.chain?.close()
    this.chain = undefined
  }

  private cpuGrab(): CapturedFrame {
    this.cpu ??= this.options.fallback()
    return this.cpu.grab()
  }
}
