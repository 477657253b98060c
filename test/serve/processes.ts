/**
 * Child processes the tests start: an Xvfb display, and the built `lumen serve` CLI as a user runs
 * it (loopback, PIN 1234 as the test client pairs with, no mDNS, a random port base).
 */
import {type ChildProcess, spawn} from 'node:child_process'

import {sleep, spawnLumen} from '../helpers/index.js'

export interface Xvfb {
  proc: ChildProcess
  /** ":N" */
  display: string
}

/**
 * Starts Xvfb with a `WxH` 24-bit screen (and `args`, such as -wr for a white root) on a display
 * number it picks itself (or on `display`, to bring one back), and resolves once it accepts clients: `-displayfd` writes the number only
 * then, so parallel test files never share a display and a stale socket of a killed server is
 * never taken for a live one.
 */
export function startXvfb(size: string, opts: {display?: string; args?: string[]} = {}): Promise<Xvfb> {
  const args = [...(opts.display === undefined ? [] : [opts.display]), '-screen', '0', `${size}x24`, ...(opts.args ?? []), '-nolisten', 'tcp', '-displayfd', '3']
  const proc = spawn('Xvfb', args, {stdio: ['ignore', 'ignore', 'ignore', 'pipe']})
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => fail('did not report a display within 10 s'), 10_000)
    function fail(why: string): void {
      clearTimeout(timer)
      proc.kill('SIGKILL')
      reject(new Error(`Xvfb ${args.join(' ')}: ${why}`))
    }
    proc.once('exit', (code) => fail(`exited with ${code}`))
    proc.stdio[3]?.on('data', (d: Buffer) => {
      out += d.toString()
      if (!out.includes('\n')) return
      clearTimeout(timer)
      proc.removeAllListeners('exit')
      resolve({proc, display: `:${out.trim()}`})
    })
  })
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
 * prints its ports or exits; the caller checks which. The port base is random: one that meets a
 * port another process holds (EADDRINUSE) is given up for another, up to five times.
 */
export async function startServeCli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ServeCli> {
  let serve = await startServeOnce(args, env)
  for (let tries = 0; tries < 5 && !serve.stderr().includes('lumen serve: HTTP') && serve.stderr().includes('EADDRINUSE'); tries++) {
    await exited(serve.child, 5000)
    serve = await startServeOnce(args, env)
  }
  return serve
}

async function startServeOnce(args: string[], env: NodeJS.ProcessEnv): Promise<ServeCli> {
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
