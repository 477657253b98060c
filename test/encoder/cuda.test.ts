/**
 * The CUDA frame path (pooled AV_PIX_FMT_CUDA frames). Without an NVIDIA driver (this dev box,
 * CI) every step must fail with one sentence naming the reason. On a GPU machine the same file
 * checks the pool for real: frame geometry, a lossless upload/download round trip, and a
 * pooled frame downloaded and encoded by libx265 decoding to the same quality as the CPU path.
 */
import {describe, expect, it} from 'vitest'

import {SyntheticSource} from '../../src/media/capture/synthetic.js'
import {VideoDecoder} from '../../src/media/decoder.js'
import {VideoEncoder} from '../../src/media/encoder.js'
import {CudaFramePool, cudaCheck, NativeEncoder, psnrBgrxI420} from '../../src/native/codec.js'
import {ShimError} from '../../src/native/errors.js'

const cuda = cudaCheck()
const W = 320
const H = 240

function caught(f: () => unknown): ShimError {
  try {
    f()
  } catch (error) {
    expect(error).toBeInstanceOf(ShimError)
    return error as ShimError
  }
  throw new Error('expected a ShimError')
}

describe.skipIf(cuda.ok)('without CUDA: one clear reason', () => {
  it('cudaCheck names the missing driver', () => {
    expect(cuda).toEqual({ok: false, reason: expect.stringMatching(/^CUDA: /)})
    if (!cuda.ok) expect(cuda.reason).toMatch(/no NVIDIA driver \(libcuda\.so\.1 not found\)|no usable NVIDIA GPU|sees no GPU/)
  })

  it('a frame pool cannot open, with that same reason', () => {
    const e = caught(() => CudaFramePool.open(W, H))
    expect(e.status).toBe('unavailable')
    expect(e.message).toBe((cuda as {reason: string}).reason)
  })

  it('NVENC encoders fail with the reason, prefixed by the encoder', () => {
    for (const encoder of ['h264_nvenc', 'hevc_nvenc', 'av1_nvenc'] as const) {
      const e = caught(() => NativeEncoder.open({encoder, width: W, height: H, fps: 60, bitrateKbps: 2000}))
      expect(e.status).toBe('unavailable')
      expect(e.message).toBe(`${encoder}: ${(cuda as {reason: string}).reason}`)
    }
  })
})

describe.skipIf(!cuda.ok)('with CUDA: pooled frames (GPU machine)', () => {
  it('gives pooled BGR0 frames of the pool size with a device pointer and pitch', () => {
    const pool = CudaFramePool.open(W, H, {size: 2})
    try {
      const a = pool.get()
      const b = pool.get()
      const ia = pool.info(a)
      const ib = pool.info(b)
      expect([ia.width, ia.height]).toEqual([W, H])
      expect(ia.pitch).toBeGreaterThanOrEqual(W * 4)
      expect(ia.devicePtr).not.toBe(0n)
      expect(ib.devicePtr).not.toBe(ia.devicePtr)
      expect(ia.context).toBe(ib.context)
      pool.release(a)
      pool.release(b)
    } finally {
      pool.close()
    }
  })

  it('uploads and downloads a frame without changing a byte', () => {
    const pool = CudaFramePool.open(W, H)
    const source = new SyntheticSource({width: W, height: H, clock: 'frame'})
    try {
      const src = source.grab().payload as {data: Buffer}
      const f = pool.get()
      pool.upload(f, src.data, W * 4)
      const back = Buffer.alloc(W * H * 4)
      pool.download(f, back, W * 4)
      pool.release(f)
      expect(back.equals(src.data)).toBe(true)
    } finally {
      pool.close()
      source.close()
    }
  })

  it('libx265 on downloaded pooled frames decodes to the quality of the CPU path', () => {
    const run = (viaCuda: boolean): number[] => {
      const pool = viaCuda ? CudaFramePool.open(W, H) : undefined
      const source = new SyntheticSource({width: W, height: H, clock: 'frame'})
      const enc = new VideoEncoder({encoder: 'libx265', width: W, height: H, fps: 60, bitrateKbps: 2000, cudaPool: pool})
      const dec = new VideoDecoder('hevc', 'i420', {width: W, height: H})
      const psnr: number[] = []
      try {
        for (let i = 0; i < 60; i++) {
          const cpu = source.grab().payload as {kind: 'cpu'; width: number; height: number; stride: number; data: Buffer}
          let frame: number | undefined
          if (pool !== undefined) {
            frame = pool.get()
            pool.upload(frame, cpu.data, cpu.stride)
          }
          const au = enc.encode(frame === undefined ? cpu : {kind: 'cuda', width: W, height: H, handle: frame})!
          if (frame !== undefined) pool!.release(frame)
          psnr.push(psnrBgrxI420(cpu.data, cpu.stride, dec.decode(au.data)!.data, W, H).all)
        }
      } finally {
        dec.close()
        enc.close()
        source.close()
        pool?.close()
      }
      return psnr
    }
    const cpu = run(false)
    const gpu = run(true)
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length
    expect(Math.abs(mean(gpu) - mean(cpu))).toBeLessThan(0.5)
  })

  it('NVENC opens, or fails with the no-engine reason on a GPU without an encoder (H100)', () => {
    try {
      NativeEncoder.open({encoder: 'hevc_nvenc', width: W, height: H, fps: 60, bitrateKbps: 2000}).close()
    } catch (error) {
      expect((error as Error).message).toMatch(/hevc_nvenc: this GPU has no NVENC engine \(NV_ENC_ERR_NO_ENCODE_DEVICE\)/)
    }
  })
})
