/**
 * `lumen encode-test --source dmabuf --path cuda` (the zero-copy chain in front of the encoder) as
 * a person runs it. Without an NVIDIA driver it must stop with one line saying why (exit 1), and
 * a dmabuf source without the CUDA path is a usage error (exit 2). The GPU run is in the report.
 */
import {spawnSync} from 'node:child_process'
import {existsSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {beforeAll, describe, expect, it} from 'vitest'

const root = fileURLToPath(new URL('../..', import.meta.url))
const nvidia = existsSync('/proc/driver/nvidia/version')

beforeAll(() => {
  const built = join(root, 'dist/src/commands/encode-test.js')
  const sources = ['src/commands/encode-test.ts', 'src/media/encode-check.ts', 'src/media/zerocopy/encode-source.ts', 'src/native/gpu.ts']
  const newest = Math.max(...sources.map((p) => statSync(join(root, p)).mtimeMs))
  if (!existsSync(built) || statSync(built).mtimeMs < newest) spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], {cwd: root, stdio: 'ignore'})
  expect(existsSync(built), 'the CLI could not be built').toBe(true)
}, 120_000)

function lumen(args: string[]): {status: number; stdout: string; stderr: string} {
  const r = spawnSync('node', [join(root, 'bin/run.js'), 'encode-test', ...args], {cwd: root, encoding: 'utf8', env: {...process.env, NO_COLOR: '1'}, timeout: 60_000})
  return {status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr.replace(/\n\s*›\s*/g, ' ').replace(/ {2,}/g, ' ')}
}

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
