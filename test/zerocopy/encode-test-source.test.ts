/**
 * `lumen encode-test --source dmabuf --path cuda` (the zero-copy chain in front of the encoder) as
 * a person runs it. Without an NVIDIA driver it must stop with one line saying why (exit 1), and
 * a dmabuf source without the CUDA path is a usage error (exit 2). The GPU run is in the report.
 */
import {describe, expect, it} from 'vitest'

import {hasNvidia, lumen as run} from '../helpers/index.js'

const nvidia = hasNvidia()
const lumen = (args: string[]) => run(['encode-test', ...args], {timeoutMs: 60_000})

describe('encode-test --source dmabuf', () => {
  it('is listed in --help', () => {
    const r = lumen(['--help'])
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/synthetic\|x11\|dmabuf/)
  })

  it('needs --path cuda (usage error, exit 2)', () => {
    const r = lumen(['--source', 'dmabuf', '--frames', '2', '--size', '64x64'])
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/--source dmabuf runs the zero-copy chain into pooled CUDA frames: add --path cuda/)
  })

  it.skipIf(nvidia)('without an NVIDIA driver stops with one line saying so (exit 1)', () => {
    const r = lumen(['--source', 'dmabuf', '--path', 'cuda', '--frames', '2', '--size', '64x64'])
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/CUDA: no NVIDIA driver \(libcuda\.so\.1 not found\)/)
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/)
  })
})
