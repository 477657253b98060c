/**
 * The zero-copy capture chain on the TypeScript side: one shim call per frame
 * (ZeroCopyChain.capture) turns the capture source's EGLImage into a pooled CUDA frame; the
 * frame flows on as a `CudaFrame` payload into the encoder layer.
 *
 * When the chain cannot open, or fails at run time, the capture falls back to the CPU source with
 * one clear log line and stays there. An XRGB8888/ARGB8888 dma-buf takes the CUDA copy (no GL
 * pass); other formats, or a driver refusing to register the image with CUDA, take the GL pass
 * (one log line for the refusal). Which commands use it, and how they are configured, is theirs
 * to decide: nothing here reads the environment.
 */
import {ShimError, ShimLoadError} from '../../native/errors.js'
import {type ChainTimings, type DmabufPlane, ZeroCopyChain} from '../../native/gpu.js'
import type {CapturedFrame, CaptureSource} from '../types.js'

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
  /** the GL pass for every source, even where the CUDA copy would serve */
  glPass?: boolean
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
      capture.chain = ZeroCopyChain.open(options.width, options.height)
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
      const handle = chain.capture(this.source, this.options.pool, {glPass: this.options.glPass})
      const refused = this.cudaCopyLogged ? undefined : chain.cudaCopyReason()
      if (refused !== undefined) {
        this.cudaCopyLogged = true
        this.log(`zero-copy: ${refused}; using the GL pass`)
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
