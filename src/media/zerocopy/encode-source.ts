/**
 * `lumen encode-test --source dmabuf --path cuda`: the zero-copy chain end to end in front of
 * the encoder. Each synthetic frame is drawn into a GPU-side source image (the compositor's part:
 * a GL texture in the GPU's own layout, made into an EGLImage each frame, since GPU machines
 * without a DRM device cannot import a dma-buf), then the chain turns that EGLImage into a pooled
 * CUDA frame: texture → de-tile + .bgra swizzle → RGBA8 registered with CUDA → owned buffer →
 * pooled frame. The encoder takes the pooled frame; the test compares the decoded picture with
 * the synthetic frame (the CPU reference).
 */
import {ZeroCopyChain} from '../../native/gpu.js'
import type {CpuFrame} from '../types.js'
import {type ChainPass, captureOptions, chainPass, sharedFallbackLine, sharedRequested} from './chain.js'

export interface ChainFrame {
  /** the pooled CUDA frame's handle: the caller encodes and releases it */
  handle: number
  /** drawing the frame into the source image (the compositor's part, not the chain's), µs */
  sourceUs: number
  /** the chain: EGLImage → ... → pooled frame, µs (inside the shim) */
  chainUs: number
}

export class ChainFrames {
  private constructor(
    private readonly chain: ZeroCopyChain,
    private readonly source: number,
    private readonly pool: number,
    private readonly pass: ChainPass,
  ) {}

  /** Opens the chain for width x height frames going into the CudaFramePool `pool` (its handle). */
  static open(
    width: number,
    height: number,
    pool: number,
    pass: ChainPass = chainPass(),
    log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  ): ChainFrames {
    const chain = ZeroCopyChain.open(width, height, {shared: sharedRequested()})
    try {
      // with the CUDA copy: a raw source (B,G,R,X in memory, as an XRGB8888 dma-buf), its image kept as PipeWire's few buffers are
      const cuda = captureOptions(pass).cudaCopy === true
      const blank = Buffer.alloc(width * height * 4)
      const source = cuda ? chain.rawTextureSource(blank) : chain.textureSource(blank)
      const frames = new ChainFrames(chain, source, pool, pass)
      const line = frames.fallbackLine()
      if (line !== undefined) log(line)
      return frames
    } catch (error) {
      chain.close()
      throw error
    }
  }

  describe(): string {
    const o = captureOptions(this.pass)
    return `${this.chain.describe()} | ${o.cudaCopy === true ? 'CUDA copy of the source image (no GL pass)' : `${this.pass} pass`} | GL-texture EGLImage source (no DRM device needed)`
  }

  /** One line when the chain runs without a shared owned buffer (the per-frame map path), else undefined. */
  fallbackLine(): string | undefined {
    return sharedFallbackLine(this.chain, this.pass)
  }

  frame(cpu: CpuFrame): ChainFrame {
    const t0 = process.hrtime.bigint()
    this.chain.updateTextureSource(this.source, cpu.data, cpu.stride)
    const sourceUs = Number(process.hrtime.bigint() - t0) / 1000
    // a fresh EGLImage every frame, as a producer handing over a new buffer would
    // the GL pass: a fresh EGLImage every frame, as a producer handing over a new buffer would; the CUDA copy keeps the image (registered once)
    const o = captureOptions(this.pass)
    const handle = this.chain.capture(this.source, this.pool, {...o, reimport: o.cudaCopy !== true})
    return {handle, sourceUs, chainUs: this.chain.lastTimings().totalNs / 1000}
  }

  close(): void {
    this.chain.close()
  }
}
