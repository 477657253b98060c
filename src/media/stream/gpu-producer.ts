/**
 * The GPU capture path of a stream (./capture-path.ts): each frame's picture goes into the
 * chain's GPU-side source image, the chain turns the image into a pooled CUDA frame, and the
 * encoder takes that frame (NVENC on the GPU; a software encoder after the shim's BGRx → I420
 * kernel). Any failure — opening, import, registration, pool, encode — moves the stream to the
 * CPU path at once with one log line: the picture already drawn is encoded on the CPU as an IDR,
 * so the client sees no gap.
 *
 * The source image is the GL-texture stand-in the chain tests use (`--source gltest`): a texture
 * holding the BGRx bytes as an XRGB8888 dma-buf does, so the whole GPU path runs on GPU machines
 * without a DRM device. The synthetic pattern with its frame stamp is drawn into it on the GPU
 * (as a compositor renders into its buffer); where the chain cannot draw it (GLES), and for
 * other sources, the picture is drawn in host memory and uploaded.
 */
import {CudaFramePool} from '../../native/codec.js'
import {ZeroCopyChain} from '../../native/gpu.js'
import type {ShimHandle} from '../../native/handles.js'
import {stampBits} from '../capture/stamp.js'
import {SyntheticSource} from '../capture/synthetic.js'
import {type EncoderName, VideoEncoder} from '../encoder.js'
import type {CaptureSource, CpuFrame} from '../types.js'
import {monotonicNowNs} from './clock.js'
import {CaptureEncodeProducer, fillProduced, type ProducerOptions} from './producer.js'
import type {FrameProducer, ProducedFrame} from './video-loop.js'

const now = monotonicNowNs

/** Per-frame stage times of the GPU path, µs (the last frame). */
export interface GpuStageTimes {
  /** filling the source image (the compositor's part in a real capture): a GPU draw, or a host draw and upload */
  sourceUs: number
  /** the chain inside the shim: the image → the pooled CUDA frame */
  chainUs: number
  /** software encoders: GPU time of the BGRx → I420 kernel and of the I420 download */
  kernelUs: number
  downloadUs: number
}

export interface GpuProducerOptions extends ProducerOptions {
  /** a test hook decided by the command: the import fails on this frame (counted from 0) */
  failAtFrame?: number
  log: (line: string) => void
  /** called with each encoder the producer opens (the worker's handle ledger) */
  adopt?: (encoder: VideoEncoder) => void
}

interface GpuParts {
  chain: ZeroCopyChain
  pool: CudaFramePool
  encoder: VideoEncoder
  image: number
  /** the pattern is drawn into the image on the GPU (else drawn in host memory and uploaded) */
  drawsOnGpu: boolean
  /** why it is not, when the source is the pattern */
  uploadReason?: string
}

export class GpuCaptureProducer implements FrameProducer {
  private gpu: GpuParts | undefined
  private cpu: CaptureEncodeProducer | undefined
  private readonly produced: ProducedFrame
  private frames = 0
  readonly stages: GpuStageTimes = {sourceUs: 0, chainUs: 0, kernelUs: 0, downloadUs: 0}
  /** why the stream is on the CPU path (undefined while the GPU path runs) */
  fallbackReason: string | undefined
  /** the frame the CPU path took over at */
  fallbackFrame: number | undefined

  private constructor(
    private readonly source: CaptureSource,
    private readonly options: GpuProducerOptions,
    gpu: GpuParts,
  ) {
    this.gpu = gpu
    this.produced = {data: gpu.encoder.output, length: 0, idr: false, captureStartNs: 0, captureUs: 0, convertUs: 0, encodeUs: 0, fresh: true}
  }

  /** Opens the GPU path for `source` (its grab() draws the picture); throws with the reason when a step fails. */
  static open(source: CaptureSource, options: GpuProducerOptions): GpuCaptureProducer {
    const width = (options.width ?? source.width) & ~1
    const height = (options.height ?? source.height) & ~1
    if (source.width !== width || source.height !== height)
      throw new Error(`the GPU path does not scale: the source is ${source.width}x${source.height}, the stream ${width}x${height}`)
    const opened: Array<{close(): void}> = []
    try {
      const pool = CudaFramePool.open(width, height, {size: 4})
      opened.push(pool)
      const encoder = new VideoEncoder({...encoderOptions(options, width, height), cudaPool: pool})
      opened.push(encoder)
      const chain = ZeroCopyChain.open(width, height)
      opened.push(chain)
      const image = chain.rawTextureSource(Buffer.alloc(width * height * 4))
      let drawsOnGpu = false
      let uploadReason: string | undefined
      if (source instanceof SyntheticSource) {
        try {
          chain.drawPatternSource(image, 0, 0)
          drawsOnGpu = true
        } catch (error) {
          uploadReason = (error as Error).message
        }
      }
      options.adopt?.(encoder)
      return new GpuCaptureProducer(source, options, {chain, pool, encoder, image, drawsOnGpu, uploadReason})
    } catch (error) {
      for (const p of opened.reverse()) p.close()
      throw error
    }
  }

  /** The encoder frames go to now. */
  get encoder(): VideoEncoder {
    return this.gpu?.encoder ?? this.cpu!.encoder
  }

  get path(): 'gpu' | 'cpu' {
    return this.gpu === undefined ? 'cpu' : 'gpu'
  }

  /** What runs: the chain's GPU and its copy path. */
  describe(): string {
    const gpu = this.gpu
    if (gpu === undefined) return `CPU path (${this.fallbackReason ?? ''})`
    const refused = gpu.chain.cudaCopyReason()
    const fill = gpu.drawsOnGpu ? 'the pattern drawn on the GPU' : gpu.uploadReason === undefined ? 'uploaded from host memory' : `uploaded from host memory: ${gpu.uploadReason}`
    return `${gpu.chain.describe()} | ${refused === undefined ? 'CUDA copy of the source image' : `GL pass (${refused})`} | GL-texture source standing in for an XRGB8888 dma-buf (${fill})`
  }

  /** GPU memory free now (bytes; undefined on the CPU path). */
  gpuFreeBytes(): number | undefined {
    return this.gpu?.chain.stats().gpuFreeBytes
  }

  shimHandles(): ShimHandle[] {
    return [{kind: 'encoder', handle: this.encoder.handle}]
  }

  next(forceIdr: boolean): ProducedFrame | undefined {
    const gpu = this.gpu
    if (gpu === undefined) return this.cpu!.next(forceIdr)
    const index = this.frames++
    let picture: CpuFrame | undefined
    let handle = -1
    const pattern = gpu.drawsOnGpu ? (this.source as SyntheticSource) : undefined
    const next = pattern?.nextFrame()
    try {
      const c0 = now()
      let fresh = true
      if (pattern !== undefined && next !== undefined) {
        gpu.chain.drawPatternSource(gpu.image, next.index, next.clockMs, pattern.stamped ? stampBits(next.index) : undefined)
      } else {
        const frame = this.source.grab()
        if (frame.payload.kind !== 'cpu') throw new Error('the GPU path draws its source image from a host picture')
        picture = frame.payload
        fresh = frame.fresh
        gpu.chain.updateTextureSource(gpu.image, picture.data, picture.stride)
      }
      const s1 = now()
      if (index === this.options.failAtFrame) throw new Error(`import failed: forced by the test hook at frame ${index}`)
      handle = gpu.chain.capture(gpu.image, gpu.pool.handle)
      const c1 = now()
      const r = gpu.encoder.encodeInPlace({kind: 'cuda', width: gpu.chain.width, height: gpu.chain.height, handle}, {forceIdr})
      gpu.pool.release(handle)
      handle = -1
      const p = fillProduced(this.produced, r, c0, c1, fresh)
      const s = this.stages
      s.sourceUs = (s1 - c0) / 1e3
      s.chainUs = gpu.chain.lastTimings().totalNs / 1e3
      s.kernelUs = r?.timings.gpuKernelUs ?? 0
      s.downloadUs = r?.timings.gpuDownloadUs ?? 0
      return p
    } catch (error) {
      if (handle >= 0) gpu.pool.release(handle)
      this.fallBack(error, index)
      // the frame the GPU was drawing, drawn on the CPU instead: no gap in the stamps
      if (pattern !== undefined && next !== undefined) picture = pattern.draw(next).payload as CpuFrame
      return this.cpu!.encodePicture(picture, true)
    }
  }

  /** Closes what the producer opened (the source stays its owner's). */
  close(): void {
    this.closeGpu()
    this.cpu?.encoder.close()
  }

  private fallBack(error: unknown, index: number): void {
    this.fallbackReason = error instanceof Error ? error.message : String(error)
    this.fallbackFrame = index
    this.options.log(`GPU capture path failed at frame ${index}, continuing on the CPU path (next frame an IDR): ${this.fallbackReason}`)
    this.closeGpu()
    this.cpu = new CaptureEncodeProducer(this.source, this.options, {ownsSource: false})
    this.options.adopt?.(this.cpu.encoder)
  }

  private closeGpu(): void {
    const gpu = this.gpu
    if (gpu === undefined) return
    this.gpu = undefined
    for (const close of [() => gpu.chain.close(), () => gpu.encoder.close(), () => gpu.pool.close()]) {
      try {
        close()
      } catch {
        // release the rest
      }
    }
  }
}

export function encoderOptions(options: ProducerOptions, width: number, height: number) {
  return {
    encoder: options.encoder as EncoderName,
    width,
    height,
    fps: options.fps,
    bitrateKbps: options.bitrateKbps,
    slices: options.slices,
    preset: options.preset,
    convertThreads: options.convertThreads,
  }
}
