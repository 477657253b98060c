import {describe, expect, it} from 'vitest'

import {avcodecVersion, echoError, hasDecoder, hasEncoder, limitMallocArenas, monotonicNs, shimVersion} from '../../src/native/core.js'
import {ShimError} from '../../src/native/errors.js'
import {shimPath} from '../../src/native/library.js'
import {sleep} from '../helpers/index.js'
import {readFileSync} from 'node:fs'

describe('native core', () => {
  it('reports the shim version from package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {version: string}
    expect(shimVersion()).toBe(pkg.version)
  })

  it('runs against libavcodec 62', () => {
    const v = avcodecVersion()
    expect(v.major).toBe(62)
    expect(v.version).toMatch(/^62\.\d+\.\d+$/)
    expect(v.version.startsWith(`${v.major}.${v.minor}.`)).toBe(true)
  })

  it('sees the encoders and decoders Lumen uses, and not others', () => {
    for (const e of ['libx264', 'libx265', 'libopus', 'h264_nvenc', 'hevc_nvenc', 'av1_nvenc']) expect(hasEncoder(e), e).toBe(true)
    for (const d of ['h264', 'hevc', 'opus']) expect(hasDecoder(d), d).toBe(true)
    expect(hasEncoder('no_such_encoder')).toBe(false)
    expect(hasDecoder('libx264')).toBe(false)
  })

  it('carries the shim error sentence and status across the seam', () => {
    const message = 'NVENC: this GPU has no encoder engine (NV_ENC_ERR_NO_ENCODE_DEVICE) — ünïcode ok'
    let caught: unknown
    try {
      echoError(-2, message)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(ShimError)
    expect((caught as ShimError).message).toBe(message)
    expect((caught as ShimError).status).toBe('unavailable')
    expect((caught as ShimError).call).toBe('lumen_echo_error')
    expect(echoError(7, 'not an error')).toBe(7)
  })

  it('truncates an over-long error sentence instead of overflowing', () => {
    const long = 'x'.repeat(5000)
    try {
      echoError(-3, long)
      expect.unreachable()
    } catch (error) {
      expect((error as Error).message).toBe('x'.repeat(511))
    }
  })

  it('reads a monotonic clock that advances', async () => {
    const a = monotonicNs()
    await sleep(20)
    const b = monotonicNs()
    expect(b - a).toBeGreaterThanOrEqual(15e6)
    expect(b - a).toBeLessThan(5e9)
  })

  it('caps the malloc arenas within 1-64 and refuses a count outside it', () => {
    expect(limitMallocArenas(0)).toBe(false)
    expect(limitMallocArenas(65)).toBe(false)
    expect(limitMallocArenas(-1)).toBe(false)
    // the cap serve sets; this worker only ever gets it
    expect(limitMallocArenas(2)).toBe(true)
  })

  it('resolves the library from LUMEN_SHIM first', () => {
    const saved = process.env.LUMEN_SHIM
    process.env.LUMEN_SHIM = '/nonexistent/liblumen.so'
    try {
      expect(shimPath()).toBe('/nonexistent/liblumen.so')
    } finally {
      if (saved === undefined) delete process.env.LUMEN_SHIM
      else process.env.LUMEN_SHIM = saved
    }
    // restored: the default build, or the library this run was pointed at (scripts/asan.sh)
    if (saved === undefined) expect(shimPath()).toMatch(/libs\/build\/liblumen\.so$/)
    else expect(shimPath()).toBe(saved)
  })
})
