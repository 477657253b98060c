/**
 * `lumen encode-test --source dmabuf --path cuda`: the zero-copy chain end to end in front of
 * the encoder. Each synthetic frame is drawn into a GPU-side source image (the compositor's part:
 * a texture holding the BGRx bytes as an XRGB8888 dma-buf does, since GPU machines without a DRM
 * device cannot import a dma-buf), then the chain turns that image into a pooled CUDA frame the
 * way it does a dma-buf of that format: the image's texture registered with CUDA once and copied
 * into the pooled frame (the GL pass where the driver refuses the registration). The encoder
 * takes the pooled frame; the test compares the decoded picture with the synthetic frame (the
 * CPU reference).
 */
import {ZeroCopyChain} from '../../native/gpu.js'
import type {CpuFrame} from '../types.js'

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
  ) {}

  /** Opens the chain for width x height frames going into the CudaFramePool `pool` (its handle). */
  static open(width: number, height: number, pool: number): ChainFrames {
    const chain = ZeroCopyChain.open(width, height)
    try {
      return new ChainFrames(chain, chain.rawTextureSource(Buffer.alloc(width * height * 4)), pool)
    } catch (error) {
      chain.close()
      throw error
    }
  }

  describe(): string {
    const refused = this.chain.cudaCopyReason()
    const path = refused === undefined ? 'CUDA copy of the source image (no GL pass)' : `GL pass (${refused})`
    return `${this.chain.describe()} | ${path} | raw GL-texture EGLImage source standing in for an XRGB8888 dma-buf (no DRM device needed)`
  }

  frame(cpu: CpuFrame): ChainFrame {
    const t0 = process.hrtime.bigint()
    this.chain.updateTextureSource(this.source, cpu.data, cpu.stride)
    const sourceUs = Number(process.hrtime.bigint() - t0) / 1000
    // the image is kept, as PipeWire cycles a few buffers: registered once, copied every frame
    const handle = this.chain.capture(this.source, this.pool)
    return {handle, sourceUs, chainUs: this.chain.lastTimings().totalNs / 1000}
  }

  close(): void {
    this.chain.close()
  }
}
