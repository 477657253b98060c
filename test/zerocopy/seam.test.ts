/**
 * The GPU half of the native seam: every buffer-taking function of lumen_gpu.h (and the CUDA
 * frame upload/download of lumen_codec.h) is called with a buffer shorter than it needs and must
 * answer LUMEN_E_BUFFER (or LUMEN_E_INVALID for a bad stride) with a sentence, writing nothing
 * past the length it was given. What can be checked without a chain or a frame is checked before
 * any GPU call, so a box without NVIDIA gets the same clean answer; the checks against a chain's
 * size, and the stale-handle check, need a chain (CUDA + EGL) and skip elsewhere with that reason.
 */
import {existsSync} from 'node:fs'

import {describe, expect, it} from 'vitest'

import {ErrorBuffer} from '../../src/native/call.js'
import {CudaFramePool} from '../../src/native/codec.js'
import {statusName} from '../../src/native/errors.js'
import {ZeroCopyChain} from '../../src/native/gpu.js'
import {shim} from '../../src/native/library.js'

const nvidia = existsSync('/proc/driver/nvidia/version')
/** a handle no table has issued (generation 1, index 5): the length checks must come before the lookup */
const NO_HANDLE = (1 << 12) | 5

/** A buffer of `size` bytes filled with 0xa5, and whether anything at or after `from` changed. */
function guarded(size: number): {buf: Buffer; untouchedFrom: (from: number) => boolean} {
  const buf = Buffer.alloc(size, 0xa5)
  return {buf, untouchedFrom: (from) => buf.subarray(from).every((b) => b === 0xa5)}
}

function call(fn: (err: [Buffer, number]) => number): {status: string; message: string} {
  const err = new ErrorBuffer()
  const code = fn(err.args())
  return {status: statusName(code), message: err.text()}
}

describe('GPU seam: short buffers are refused before any GPU call', () => {
  it('lumen_zc_source_texture / _raw: a picture shorter than one row, a stride of partial pixels', () => {
    const s = shim()
    const {buf, untouchedFrom} = guarded(64)
    for (const name of ['lumen_zc_source_texture', 'lumen_zc_source_texture_raw'] as const) {
      expect(call((e) => s[name]([NO_HANDLE, buf, 16, 256, ...e]))).toEqual({
        status: 'buffer',
        message: 'zero-copy: the picture has 16 bytes, less than one row of 256',
      })
      expect(call((e) => s[name]([NO_HANDLE, buf, 64, 30, ...e]))).toEqual({status: 'invalid', message: 'zero-copy: stride 30 is not a positive multiple of 4'})
      expect(call((e) => s[name]([NO_HANDLE, buf, 0, 64, ...e])).status).toBe('buffer')
    }
    expect(untouchedFrom(0)).toBe(true)
  })

  it('lumen_zc_source_update: the same checks before the chain is looked up', () => {
    const {buf} = guarded(64)
    expect(call((e) => shim().lumen_zc_source_update([NO_HANDLE, NO_HANDLE, buf, 32, 64, ...e]))).toEqual({
      status: 'buffer',
      message: 'zero-copy: the picture has 32 bytes, less than one row of 64',
    })
  })

  it('lumen_zc_source_pattern: a frame, stamp or check out of range is refused before the chain is looked up', () => {
    const s = shim()
    expect(call((e) => s.lumen_zc_source_pattern([NO_HANDLE, NO_HANDLE, -1, 0, -1, 0, ...e]))).toEqual({
      status: 'invalid',
      message: 'zero-copy: pattern frame -1 is outside 0..2^32-1',
    })
    expect(call((e) => s.lumen_zc_source_pattern([NO_HANDLE, NO_HANDLE, 2 ** 32, 0, -1, 0, ...e])).message).toBe('zero-copy: pattern frame 4294967296 is outside 0..2^32-1')
    expect(call((e) => s.lumen_zc_source_pattern([NO_HANDLE, NO_HANDLE, 0, 0, 2 ** 32, 0, ...e]))).toEqual({
      status: 'invalid',
      message: 'zero-copy: stamp 4294967296 / check 0 is outside 32 / 8 bits',
    })
    expect(call((e) => s.lumen_zc_source_pattern([NO_HANDLE, NO_HANDLE, 0, 0, 7, 256, ...e])).message).toBe('zero-copy: stamp 7 / check 256 is outside 32 / 8 bits')
    // in range: the handle is what is wrong
    expect(call((e) => s.lumen_zc_source_pattern([NO_HANDLE, NO_HANDLE, 2 ** 32 - 1, 0, 2 ** 32 - 1, 255, ...e]))).toEqual({
      status: 'invalid',
      message: `zero-copy: unknown chain ${NO_HANDLE}`,
    })
  })

  it('lumen_zc_capture and lumen_zc_cpu_path: a timings buffer shorter than LUMEN_ZC_TIMINGS_LEN (64)', () => {
    const {buf, untouchedFrom} = guarded(128)
    expect(call((e) => shim().lumen_zc_capture([NO_HANDLE, NO_HANDLE, 0, 0, buf, 63, ...e]))).toEqual({
      status: 'buffer',
      message: 'zero-copy: the timings buffer has 63 bytes; it needs 64 (or 0 for none)',
    })
    const host = guarded(16)
    expect(call((e) => shim().lumen_zc_cpu_path([NO_HANDLE, NO_HANDLE, 0, host.buf, 16, buf, 8, ...e])).status).toBe('buffer')
    expect(call((e) => shim().lumen_zc_cpu_path([NO_HANDLE, NO_HANDLE, 0, host.buf, 0, buf, 64, ...e])).message).toBe('zero-copy: no host buffer (0 bytes)')
    expect(untouchedFrom(0)).toBe(true)
    expect(host.untouchedFrom(0)).toBe(true)
  })

  it('lumen_zc_stats, lumen_zc_baseline, lumen_zc_cuda_dmabuf: output shorter than they write', () => {
    const {buf, untouchedFrom} = guarded(64)
    expect(call((e) => shim().lumen_zc_stats([NO_HANDLE, buf, 55, ...e]))).toEqual({status: 'buffer', message: 'zero-copy: the stats buffer has 55 bytes; it needs 56'})
    expect(call((e) => shim().lumen_zc_baseline([NO_HANDLE, 0, 10, buf, 23, ...e]))).toEqual({status: 'buffer', message: 'zero-copy: the baseline buffer has 23 bytes; it needs 24'})
    expect(call((e) => shim().lumen_zc_cuda_dmabuf([NO_HANDLE, buf, 15, ...e]))).toEqual({
      status: 'buffer',
      message: 'zero-copy: the dma-buf info buffer has 15 bytes; it needs 16',
    })
    expect(untouchedFrom(0)).toBe(true)
  })

  it('lumen_zc_describe and lumen_zc_cuda_copy_reason: no room at all', () => {
    const {buf, untouchedFrom} = guarded(8)
    expect(statusName(shim().lumen_zc_describe([NO_HANDLE, buf, 0]))).toBe('buffer')
    expect(statusName(shim().lumen_zc_cuda_copy_reason([NO_HANDLE, buf, 0]))).toBe('buffer')
    expect(untouchedFrom(0)).toBe(true)
  })

  it('the probes: a report that does not fit is LUMEN_E_BUFFER and nothing is written past the length given', () => {
    for (const name of ['lumen_probe_cuda', 'lumen_probe_egl', 'lumen_probe_nvenc'] as const) {
      const {buf, untouchedFrom} = guarded(256)
      const r = call((e) => shim()[name]([buf, 8, ...e]))
      expect(r.status, name).toBe('buffer')
      expect(r.message, name).toMatch(/^probe: the report needs \d+ bytes, the buffer has 8$/)
      expect(untouchedFrom(0), name).toBe(true)
    }
  }, 60_000)

  it('lumen_cuda_frame_upload / _download: a host buffer shorter than one row', () => {
    const {buf, untouchedFrom} = guarded(64)
    expect(call((e) => shim().lumen_cuda_frame_upload([NO_HANDLE, buf, 32, 256, ...e]))).toEqual({
      status: 'buffer',
      message: 'CUDA frame upload: the host buffer has 32 bytes, less than one row of 256',
    })
    expect(call((e) => shim().lumen_cuda_frame_download([NO_HANDLE, buf, 32, 256, ...e]))).toEqual({
      status: 'buffer',
      message: 'CUDA frame download: the host buffer has 32 bytes, less than one row of 256',
    })
    expect(untouchedFrom(0)).toBe(true)
  })
})

describe.skipIf(!nvidia)('GPU seam against a chain and a frame (skipped: needs an NVIDIA GPU with CUDA and EGL)', () => {
  const W = 64
  const H = 32

  it('a picture one byte short of stride*(height-1) + width*4 is refused; the exact length is taken', () => {
    const chain = ZeroCopyChain.open(W, H)
    try {
      const stride = W * 4 + 64
      const need = stride * (H - 1) + W * 4
      expect(() => chain.textureSource(Buffer.alloc(need - 1), stride)).toThrow(`zero-copy: the picture has ${need - 1} bytes; ${W}x${H} at stride ${stride} needs ${need}`)
      const source = chain.rawTextureSource(Buffer.alloc(need), stride)
      expect(() => chain.updateTextureSource(source, Buffer.alloc(need - 1), stride)).toThrow(/needs \d+/)
      chain.updateTextureSource(source, Buffer.alloc(need), stride)
    } finally {
      chain.close()
    }
  })

  it('the CUDA upload and download refuse a host buffer one byte short', () => {
    const pool = CudaFramePool.open(W, H, {size: 1})
    try {
      const frame = pool.get()
      try {
        expect(() => pool.upload(frame, Buffer.alloc(W * H * 4 - 1), W * 4)).toThrow(/needs 8192/)
        expect(() => pool.download(frame, Buffer.alloc(W * H * 4 - 1), W * 4)).toThrow(/needs 8192/)
      } finally {
        pool.release(frame)
      }
    } finally {
      pool.close()
    }
  })

  it('a closed chain and a closed source are refused, even once their slots are reused', () => {
    const a = ZeroCopyChain.open(W, H)
    const sa = a.rawTextureSource(Buffer.alloc(W * H * 4))
    a.close()
    const b = ZeroCopyChain.open(W, H)
    try {
      const sb = b.rawTextureSource(Buffer.alloc(W * H * 4))
      expect(b.handle & 0xfff).toBe(a.handle & 0xfff)
      expect(b.handle).not.toBe(a.handle)
      expect(sb & 0xfff).toBe(sa & 0xfff)
      expect(statusName(shim().lumen_zc_describe([a.handle, Buffer.alloc(64), 64]))).toBe('invalid')
      const err = new ErrorBuffer()
      expect(statusName(shim().lumen_zc_source_update([b.handle, sa, Buffer.alloc(W * H * 4), W * H * 4, W * 4, ...err.args()]))).toBe('invalid')
      expect(b.stats().sources).toBe(1)
    } finally {
      b.close()
    }
  })
})
