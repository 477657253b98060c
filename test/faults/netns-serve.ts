/**
 * `lumen serve` (the built CLI, --json) inside a network namespace behind a veth
 * (test/netns/helpers.ts), the test client in the root namespace: for faults on the link between
 * them (loss on the control stream, a client that drops off the network).
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {cliEntry} from '../helpers/index.js'
import {NODE_FLAGS} from '../../src/cli/node-flags.js'
import type {NetnsLink} from '../netns/helpers.js'

export interface NetnsServe {
  child: ChildProcess
  base: number
  stderr(): string
  /** SIGINT; the exit code and the --json document serve printed */
  stop(): Promise<{code: number | null; json: {streams: Array<{sessionId: number; idrRequests: number; framesSent: number}>} | undefined}>
  cleanup(): void
}

export async function serveInNamespace(link: NetnsLink, extra: string[] = []): Promise<NetnsServe> {
  const base = 30000 + Math.floor(Math.random() * 20000)
  const dir = mkdtempSync(join(tmpdir(), 'lumen-faults-netns-'))
  const args = ['netns', 'exec', link.ns, process.execPath, ...NODE_FLAGS, cliEntry, 'serve', '--json', '--bind', link.nsAddr, '--port-base', String(base), '--pin', '1234', '--no-mdns']
  args.push('--source', 'synthetic', '--audio', 'tone', '--codecs', 'h264', '--config-dir', join(dir, 'config'), ...extra)
  const child = spawn('ip', args, {env: {...process.env, LUMEN_UDP_GSO: '0'}, stdio: ['ignore', 'pipe', 'pipe']})
  let err = ''
  let out = ''
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()))
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`lumen serve did not start: ${err}`)), 30_000)
    const check = (): void => {
      if (err.includes('lumen serve: HTTP')) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stderr?.on('data', check)
    child.once('exit', (code) => reject(new Error(`lumen serve exited (${code}): ${err}`)))
  })
  return {
    child,
    base,
    stderr: () => err,
    stop: () =>
      new Promise((resolve) => {
        const done = (code: number | null): void => {
          let json
          try {
            json = JSON.parse(out)
          } catch {}
          resolve({code, json})
        }
        if (child.exitCode !== null) return done(child.exitCode)
        child.once('exit', done)
        child.kill('SIGINT')
      }),
    cleanup: () => {
      if (child.exitCode === null) child.kill('SIGKILL')
      rmSync(dir, {recursive: true, force: true})
    },
  }
}

/** Packets dropped by the counter rules of one nftables table/chain listing. */
export function droppedBy(listing: string): number {
  return [...listing.matchAll(/counter packets (\d+) bytes \d+ drop/g)].reduce((n, m) => n + Number(m[1]), 0)
}
