/**
 * Child processes the tests start: an Xvfb display, and the built `lumen serve` CLI as a user runs
 * it (loopback, PIN 1234 as the test client pairs with, no mDNS, a random port base).
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {existsSync} from 'node:fs'

import {sleep, spawnLumen} from '../helpers/index.js'

/** Starts Xvfb on `display` (":N") with a `WxH` 24-bit screen; resolves once its socket exists (at most 5 s). */
export async function startXvfb(display: string, size: string): Promise<ChildProcess> {
  const xvfb = spawn('Xvfb', [display, '-screen', '0', `${size}x24`, '-nolisten', 'tcp'], {stdio: 'ignore'})
  const t0 = Date.now()
  while (!existsSync(`/tmp/.X11-unix/X${display.slice(1)}`) && Date.now() - t0 < 5000) await sleep(50)
  return xvfb
}

/** Resolves with the child's exit code; SIGKILLs it and resolves null when it outlives timeoutMs. */
export function exited(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode)
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      resolve(null)
    }, timeoutMs)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve(code)
    })
  })
}

export interface ServeCli {
  child: ChildProcess
  /** the port base it listens on (HTTP) */
  base: number
  /** everything it wrote to stderr so far */
  stderr(): string
  /** SIGINT, then its exit code (null if it had to be killed after timeoutMs) */
  stop(timeoutMs?: number): Promise<number | null>
}

/**
 * Spawns `bin/run.js serve` with `args` after the common flags and waits (at most 20 s) until it
 * prints its ports or exits; the caller checks which.
 */
export async function startServeCli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ServeCli> {
  const base = 30000 + Math.floor(Math.random() * 20000)
  const child = spawnLumen(['serve', '--bind', '127.0.0.1', '--port-base', String(base), '--pin', '1234', '--no-mdns', ...args], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let err = ''
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()))
  const t0 = Date.now()
  while (!err.includes('lumen serve: HTTP') && child.exitCode === null && Date.now() - t0 < 20_000) await sleep(50)
  return {
    child,
    base,
    stderr: () => err,
    stop: (timeoutMs = 15_000) => {
      const code = exited(child, timeoutMs)
      child.kill('SIGINT')
      return code
    },
  }
}
