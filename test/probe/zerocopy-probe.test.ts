/**
 * `lumen zerocopy-probe` as a person runs it: the built CLI in a child process. On a box
 * without NVIDIA (CI, the dev box) every CUDA-dependent check must read "absent" with the
 * shim's sentence, the JSON must hold every key of issue 3, and the exit status must be 1.
 */
import {existsSync} from 'node:fs'

import {describe, expect, it} from 'vitest'

import {hasNvidia, lumen as run} from '../helpers/index.js'

function lumen(args: string[]): {status: number; stdout: string; stderr: string} {
  const r = run(['zerocopy-probe', ...args], {timeoutMs: 60_000})
  return {status: r.status, stdout: r.stdout, stderr: r.stderrRaw}
}

describe('lumen zerocopy-probe', () => {
  it('--help describes every check and the exit statuses', () => {
    const r = lumen(['--help'])
    expect(r.status).toBe(0)
    for (const word of ['libavcodec', 'cuda', 'egl', 'dmabuf', 'glCuda', 'nvenc', 'capture', 'zerocopy', '--json']) expect(r.stdout).toContain(word)
    expect(r.stdout).toMatch(/Exit status: 0 when zerocopy works, 1 when it does not/)
  })

  it('exits 2 on a usage error', () => {
    const r = lumen(['--no-such-flag'])
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/Nonexistent flag/)
  })

  it.skipIf(hasNvidia())('reports a box without NVIDIA fully: valid JSON, every key, CUDA checks absent with a reason, exit 1', () => {
    const r = lumen(['--json'])
    expect(r.status).toBe(1)
    const report = JSON.parse(r.stdout)
    // the keys issue 3 lists
    expect(report.libavcodec).toEqual(expect.objectContaining({version: expect.any(String), major: expect.any(Number), encoders: expect.any(Object)}))
    expect(report.libavcodec.major).toBe(62)
    expect(report.libavcodec.version).toMatch(/^62\.\d+\.\d+$/)
    for (const enc of ['libx264', 'libx265', 'hevc_nvenc']) expect(report.libavcodec.encoders[enc]).toBe(true)
    expect(report.egl).toEqual(
      expect.objectContaining({ok: expect.any(Boolean), platform: expect.anything(), extensions: expect.any(Object), modifiers: expect.any(Object)}),
    )
    for (const key of ['version', 'vendor']) expect(report.egl).toHaveProperty(key)
    expect(Object.keys(report.egl.extensions).sort()).toEqual(
      ['EGL_EXT_image_dma_buf_import', 'EGL_EXT_image_dma_buf_import_modifiers', 'EGL_KHR_surfaceless_context', 'EGL_MESA_image_dma_buf_export'].sort(),
    )
    expect(report.egl.modifiers).toHaveProperty('XRGB8888')
    expect(report.egl.modifiers).toHaveProperty('ARGB8888')
    expect(report.gl).toHaveProperty('ok')
    // no NVIDIA: CUDA and everything built on it is absent, with the shim's sentence
    expect(report.cuda).toEqual(expect.objectContaining({ok: false, state: 'absent', devices: []}))
    expect(report.cuda.error).toMatch(/no NVIDIA driver \(libcuda\.so\.1 not found\)/)
    for (const key of ['glCuda', 'nvenc']) {
      expect(report[key].ok, key).toBe(false)
      expect(report[key].state, key).toBe('absent')
      expect(report[key].error, key).toMatch(/libcuda\.so\.1 not found/)
    }
    // no DRM render node on this box: the dma-buf check says so
    expect(report.dmabuf.ok).toBe(false)
    expect(report.dmabuf.error.length).toBeGreaterThan(10)
    if (!existsSync('/dev/dri')) expect(report.dmabuf.error).toMatch(/no DRM render node/)
    expect(report.capture.ok).toBe(false)
    expect(report.capture.reason.length).toBeGreaterThan(10)
    expect(report.zerocopy).toEqual({ok: false, reason: expect.any(String)})
    // a GL context, when EGL gives one, names its renderer
    if (report.gl.ok) expect(report.gl.renderer.length).toBeGreaterThan(0)
    else expect(report.gl.error.length).toBeGreaterThan(0)
  })

  it.skipIf(hasNvidia())('prints the table with one row per check and exits 1', () => {
    const r = lumen([])
    expect(r.status).toBe(1)
    for (const check of ['libavcodec', 'cuda', 'egl', 'gl', 'dmabuf', 'glCuda', 'nvenc', 'capture', 'zerocopy']) expect(r.stdout).toMatch(new RegExp(`│ ${check} +│`))
    expect(r.stdout).toMatch(/│ cuda +│ absent +│ CUDA: no NVIDIA driver/)
    expect(r.stdout).toMatch(/│ zerocopy +│ failed +│/)
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/) // no stack trace
  })
})
