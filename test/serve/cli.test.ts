/**
 * The `lumen serve` command itself (the built CLI, as a user runs it): --help documents every
 * flag and every LUMEN_* variable the code reads; a stream from the CLI on loopback writes a
 * LUMEN_PERF log that the perf reader accepts, and SIGINT stops it cleanly.
 */
import type {ChildProcess} from 'node:child_process'
import {mkdtempSync, readdirSync, readFileSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterEach, describe, expect, it} from 'vitest'

import Serve from '../../src/commands/serve.js'
import {readPerfLog} from '../../src/perf/reader.js'
import {lumen, root, waitUntil} from '../helpers/index.js'
import {connectClient, type ClientSession} from './helpers.js'
import {startServeCli} from './processes.js'

/** Every LUMEN_* variable named in the sources (TypeScript and the shim). */
function variablesInCode(): Set<string> {
  const found = new Set<string>()
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir)) {
      const p = join(dir, e)
      if (statSync(p).isDirectory()) walk(p)
      else if (/\.(ts|c|h)$/.test(e)) for (const m of readFileSync(p, 'utf8').matchAll(/(?:process\.env\.|getenv\("|env: ')(LUMEN_[A-Z0-9_]+)/g)) found.add(m[1])
    }
  }
  walk(join(root, 'src'))
  walk(join(root, 'libs', 'src'))
  return found
}

let child: ChildProcess | undefined
let client: ClientSession | undefined
let dir: string | undefined
afterEach(async () => {
  await client?.close()
  if (child !== undefined && child.exitCode === null) child.kill('SIGKILL')
  if (dir !== undefined) rmSync(dir, {recursive: true, force: true})
  client = undefined
  child = undefined
  dir = undefined
})

describe('lumen serve (CLI)', () => {
  it('--help documents every flag and every LUMEN_* variable', () => {
    const r = lumen(['serve', '--help'])
    expect(r.status, r.stderr).toBe(0)
    const help = r.stdout
    // hidden flags are test hooks, kept out of --help with their variables
    const flags = Object.entries(Serve.flags) as Array<[string, {hidden?: boolean; env?: string}]>
    const hiddenVars = new Set(flags.filter(([, f]) => f.hidden === true).map(([, f]) => f.env))
    for (const [flag, f] of flags) if (f.hidden !== true) expect(help, `--${flag}`).toContain(`--${flag}`)
    expect(help).toContain('--no-mdns')
    const vars = variablesInCode()
    expect(vars.size).toBeGreaterThan(10)
    for (const v of vars) if (!hiddenVars.has(v)) expect(help, v).toContain(v)
  })

  it('streams from the CLI, writes the perf log, and stops on SIGINT', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lumen-cli-'))
    const perf = join(dir, 'serve.perf')
    const serve = await startServeCli(['--source', 'synthetic', '--audio', 'tone', '--config-dir', join(dir, 'config')], {...process.env, LUMEN_PERF: perf})
    child = serve.child
    const base = serve.base
    expect(serve.stderr()).toContain(`HTTP ${base}, HTTPS ${base - 5}, RTSP ${base + 21}, control ${base + 10}, video ${base + 9}, audio ${base + 11}`)
    client = await connectClient('127.0.0.1', base, {announce: {width: 320, height: 240, fps: 30, codec: 0, encryptionEnabled: 5}})
    const video = client.video
    await waitUntil(() => video.frames.length > 20, 20_000, 'more than 20 frames')
    expect(client.video.frames.length).toBeGreaterThan(20)
    expect(client.video.frames.every((f) => f.decoded)).toBe(true)
    await client.close()
    client = undefined
    expect(await serve.stop()).toBe(0)
    expect(serve.stderr()).toContain('lumen serve: stopped')
    let records = 0
    let idr = 0
    readPerfLog(perf, (r) => {
      records++
      if (r.idr) idr++
      expect(r.packets).toBeGreaterThan(0)
      expect(r.encodeUs).toBeGreaterThan(0)
    })
    expect(records).toBeGreaterThan(20)
    expect(idr).toBe(1)
  }, 60_000)
})
