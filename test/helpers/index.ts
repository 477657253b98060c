/**
 * What every test file needs about its surroundings, in one place. Import from
 * `../helpers/index.js` instead of writing your own:
 *
 * - `root`: the repository root; `cliEntry`: bin/run.js.
 * - `lumen(args, {env, timeoutMs})`: runs the built CLI (`node bin/run.js …`, cwd root, NO_COLOR=1)
 *   to its end; returns `{status, stdout, stderr, stderrRaw}`, where `stderr` has oclif's wrapped
 *   error lines (`\n › `) joined back into one sentence and `stderrRaw` is as written.
 * - `spawnLumen(args, options)`: starts the built CLI as a child process (long-running commands
 *   such as `serve`; test/serve/processes.ts's startServeCli() builds on it).
 * - `sleep(ms)`; `waitUntil(cond, timeoutMs, what, pollMs)`: polls `cond` until true, throws
 *   "WHAT: not within N ms" after the timeout. Wait for a count (frames, packets), never for a
 *   fixed time followed by a count.
 * - `missing(...programs)`: the first program not found on PATH (undefined when all are there);
 *   `installed(...programs)`: true when none is missing. Use it in a skip reason:
 *   `describe.skipIf(gone !== undefined)(\`x11 capture${gone ? \` (skipped: ${gone} is not installed)\` : ''}\`, …)`.
 * - `hasNvidia()`: true when this box has an NVIDIA driver (its /proc entry or libcuda.so.1 in a
 *   system library directory). Tests of the "no NVIDIA" path skip on such a box.
 *
 * The built CLI is there because test/global-setup.ts runs the TypeScript build once before any
 * test file (vitest.config.ts `globalSetup`); a test needs no build step of its own.
 */
import {type ChildProcess, spawn, type SpawnOptions, spawnSync} from 'node:child_process'
import {accessSync, constants, existsSync} from 'node:fs'
import {basename, delimiter, dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {NODE_FLAGS} from '../../src/cli/node-flags.js'

// from dist/test/helpers when a bench/ entry (compiled into dist/) imports it
const above = resolve(fileURLToPath(new URL('../..', import.meta.url)))
export const root = basename(above) === 'dist' ? dirname(above) : above
export const cliEntry = join(root, 'bin', 'run.js')

export interface LumenRun {
  /** exit status; -1 when killed (timeout or signal) */
  status: number
  stdout: string
  /** stderr with oclif's wrapped lines joined into one sentence each */
  stderr: string
  /** stderr as the command wrote it */
  stderrRaw: string
}

export interface LumenOptions {
  /** added to (or, with undefined, removed from) this process's environment */
  env?: Record<string, string | undefined>
  /** kill it after this long (default 120 s) */
  timeoutMs?: number
}

/** Runs `lumen ARGS…` (the built CLI) to its end. */
export function lumen(args: string[], options: LumenOptions = {}): LumenRun {
  const r = spawnSync(process.execPath, [cliEntry, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: {...process.env, NO_COLOR: '1', ...options.env},
    timeout: options.timeoutMs ?? 120_000,
  })
  const stderrRaw = r.stderr ?? ''
  return {status: r.status ?? -1, stdout: r.stdout ?? '', stderr: stderrRaw.replace(/\n\s*›\s*/g, ' ').replace(/ {2,}/g, ' '), stderrRaw}
}

/** Starts `lumen ARGS…` (the built CLI) as a child process; cwd is the repository root unless options say otherwise. */
export function spawnLumen(args: string[], options: SpawnOptions = {}): ChildProcess {
  return spawn(process.execPath, [...NODE_FLAGS, cliEntry, ...args], {cwd: root, ...options})
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `cond` every `pollMs` until it holds; throws "WHAT: not within N ms" after `timeoutMs`. */
export async function waitUntil(cond: () => boolean, timeoutMs = 5000, what = 'condition', pollMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await sleep(pollMs)
  }
}

function onPath(program: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue
    try {
      accessSync(join(dir, program), constants.X_OK)
      return true
    } catch {
      // not in this directory
    }
  }
  return false
}

/** The first of `programs` that is not an executable on PATH, or undefined when all are. */
export function missing(...programs: string[]): string | undefined {
  return programs.find((p) => !onPath(p))
}

/** True when every one of `programs` is an executable on PATH. */
export function installed(...programs: string[]): boolean {
  return missing(...programs) === undefined
}

const libcudaDirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/lib/wsl/lib']

/** True when this box has an NVIDIA driver: the kernel module's /proc entry, or libcuda.so.1 in a system library directory. */
export function hasNvidia(): boolean {
  return existsSync('/proc/driver/nvidia/version') || libcudaDirs.some((d) => existsSync(join(d, 'libcuda.so.1')))
}
