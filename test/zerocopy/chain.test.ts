/**
 * The zero-copy chain where it cannot run (no NVIDIA driver: CI and the dev box): opening it
 * fails with the shim's sentence, and the capture falls back to the CPU source with exactly one
 * log line and keeps producing CPU frames. On a GPU box these checks skip; bench/zerocopy.ts
 * measures the chain there.
 */
import {describe, expect, it} from 'vitest'

import {ShimError} from '../../src/native/errors.js'
import {ZeroCopyChain} from '../../src/native/gpu.js'
import {ZeroCopyCapture} from '../../src/media/zerocopy/chain.js'
import {ChainFrames} from '../../src/media/zerocopy/encode-source.js'
import type {CapturedFrame, CaptureSource} from '../../src/media/types.js'
import {hasNvidia} from '../helpers/index.js'

const nvidia = hasNvidia()

function cpuSource(width: number, height: number): CaptureSource & {grabs: number; closed: boolean} {
  const data = Buffer.alloc(width * height * 4, 0x40)
  return {
    name: 'test-cpu',
    width,
    height,
    grabs: 0,
    closed: false,
    grab(): CapturedFrame {
      this.grabs++
      return {payload: {kind: 'cpu', width, height, stride: width * 4, data}, captureNs: this.grabs, fresh: true}
    },
    close() {
      this.closed = true
    },
  }
}

describe.skipIf(nvidia)('zero-copy chain without an NVIDIA driver', () => {
  it('refuses to open with the reason, as an unavailable ShimError', () => {
    let caught: unknown
    try {
      ZeroCopyChain.open(1920, 1080)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(ShimError)
    expect((caught as ShimError).status).toBe('unavailable')
    expect((caught as ShimError).message).toBe('CUDA: no NVIDIA driver (libcuda.so.1 not found)')
  })

  it('rejects a size out of range before touching the GPU', () => {
    expect(() => ZeroCopyChain.open(8, 1080)).toThrow(/frame size 8x1080 is outside 16\.\.8192/)
  })

  it('falls back to the CPU source with one clear log line, and stays there', () => {
    const lines: string[] = []
    const fallback = cpuSource(64, 32)
    let opened = 0
    const capture = ZeroCopyCapture.open({
      width: 64,
      height: 32,
      pool: 0,
      image: {kind: 'texture', picture: () => Buffer.alloc(64 * 32 * 4)},
      fallback: () => {
        opened++
        return fallback
      },
      log: (line) => lines.push(line),
    })
    expect(capture.path).toBe('cpu')
    for (let i = 0; i < 5; i++) {
      const frame = capture.grab()
      expect(frame.payload.kind).toBe('cpu')
      expect(frame.payload.width).toBe(64)
    }
    expect(lines).toEqual(['zero-copy capture unavailable, using the CPU path: CUDA: no NVIDIA driver (libcuda.so.1 not found)'])
    expect(capture.fallbackReason).toMatch(/libcuda\.so\.1/)
    expect(opened).toBe(1)
    expect(fallback.grabs).toBe(5)
    capture.close()
    expect(fallback.closed).toBe(true)
  })

  it('the encode-test chain source fails with the same sentence', () => {
    expect(() => ChainFrames.open(640, 360, 0)).toThrow('CUDA: no NVIDIA driver (libcuda.so.1 not found)')
  })
})
