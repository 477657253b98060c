/**
 * The store under faults, with the real `lumen serve`: SIGKILL around a pairing's write (a few
 * rounds here; bench/store-kill.ts runs 200), a full disk during a pairing write (a 64 KiB tmpfs
 * as --config-dir), and a config dir that cannot be created.
 */
import {execFileSync, spawnSync} from 'node:child_process'
import {appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, describe, expect, it} from 'vitest'

import {certFingerprint} from '../../src/host/store.js'
import {MoonlightTestClient, createClientIdentity} from '../client/client.js'
import {lumen} from '../helpers/index.js'
import {startServeCli} from '../serve/processes.js'
import {QUIET_SERVE, killRound, storedClients, tempFiles} from './store-faults.js'

const dirs: string[] = []
const freshDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'lumen-faults-store-'))
  dirs.push(d)
  return d
}
afterAll(() => {
  for (const d of dirs) {
    spawnSync('umount', [d])
    rmSync(d, {recursive: true, force: true})
  }
})

describe('kill -9 of serve during pairing writes', () => {
  it('leaves a store that parses with the old or the new clients, and the next serve clears the temporary files', async () => {
    const dir = freshDir()
    const held: string[] = []
    for (let i = 0; i < 4; i++) {
      const r = await killRound(dir, 8000)
      held.push(r.held)
      expect(r.leftAfterRestart, `round ${i}: temporary files left after serve restarted`).toBe(0)
    }
    expect(held).toHaveLength(4)
  }, 120_000)

  it('removes temporary files a killed writer left, and keeps those of a live one', async () => {
    const dir = freshDir()
    // a dead writer's (pid 2^22 - 1 is above the default pid_max, so never alive) and this process's own live one
    writeFileSync(join(dir, 'state.json.tmp-4194303-0badf00d'), '{"half')
    writeFileSync(join(dir, `apps.json.tmp-${process.pid}-deadbeef`), '[')
    writeFileSync(join(dir, 'notes.tmp-1-x'), 'not a store temporary')
    const serve = await startServeCli(['--config-dir', dir, ...QUIET_SERVE])
    expect(serve.stderr()).toContain('lumen serve: HTTP')
    expect(tempFiles(dir)).toEqual([`apps.json.tmp-${process.pid}-deadbeef`])
    expect(readFileSync(join(dir, 'notes.tmp-1-x'), 'utf8')).toBe('not a store temporary')
    expect(await serve.stop()).toBe(0)
  }, 60_000)
})

describe('a full disk during a pairing write', () => {
  it('answers the client with the reason, keeps the old state and keeps serving', async (ctx) => {
    const dir = freshDir()
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], {encoding: 'utf8'})
    if (mount.status !== 0) {
      ctx.skip(`cannot mount a 64 KiB tmpfs as the config dir (${mount.stderr.trim() || `mount exited ${mount.status}`}): needs root and mount rights`)
      return
    }
    // --pin is good for one pairing attempt: each attempt gets a serve of its own on the same config dir
    const start = async (): Promise<Awaited<ReturnType<typeof startServeCli>>> => {
      const serve = await startServeCli(['--config-dir', dir, ...QUIET_SERVE])
      expect(serve.stderr()).toContain('lumen serve: HTTP')
      return serve
    }
    let serve = await start()
    const first = new MoonlightTestClient({host: '127.0.0.1', httpPort: serve.base, identity: await createClientIdentity()})
    expect((await first.pair('1234')).outcome).toBe('paired')
    expect(await serve.stop()).toBe(0)
    const stateBefore = readFileSync(join(dir, 'state.json'))

    // fill the file system to its last byte
    const filler = join(dir, 'filler')
    try {
      for (;;) appendFileSync(filler, Buffer.alloc(1024, 1))
    } catch (error) {
      expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC')
    }
    try {
      for (;;) appendFileSync(filler, Buffer.alloc(1, 1))
    } catch {}

    serve = await start()
    const secondIdentity = await createClientIdentity()
    const second = new MoonlightTestClient({host: '127.0.0.1', httpPort: serve.base, identity: secondIdentity})
    const refused = await second.pair('1234')
    expect(refused.outcome).not.toBe('paired')
    expect(serve.stderr()).toMatch(/pairing a client failed: cannot save .*state\.json \(no space left on its file system: free some\); the previous version is kept/)
    expect(readFileSync(join(dir, 'state.json')).equals(stateBefore), 'state.json byte for byte as before').toBe(true)
    expect(storedClients(dir)).toEqual([certFingerprint(first.options.identity.certPem)])
    expect(tempFiles(dir), 'the failed write removed its temporary file').toEqual([])

    // serve keeps serving: the paired client still gets its app list
    const firstAgain = new MoonlightTestClient({host: '127.0.0.1', httpPort: serve.base, identity: first.options.identity})
    expect((await firstAgain.appList()).map((a) => a.title)).toEqual(['Desktop'])
    expect(await serve.stop()).toBe(0)

    // once space is back, the second client pairs (with a new PIN: a new serve)
    unlinkSync(filler)
    serve = await start()
    const secondAgain = new MoonlightTestClient({host: '127.0.0.1', httpPort: serve.base, identity: secondIdentity})
    expect((await secondAgain.pair('1234')).outcome).toBe('paired')
    expect(storedClients(dir)).toHaveLength(2)
    expect(await serve.stop()).toBe(0)
    execFileSync('umount', [dir])
  }, 90_000)
})

describe('a config dir that cannot be created', () => {
  it('fails at once with the path and exit 2 (no spinning mkdir)', () => {
    const r = lumen(['serve', '--config-dir', '/proc/nope/lumen', '--no-mdns', '--pin', '1234', ...QUIET_SERVE], {timeoutMs: 30_000})
    expect(r.status).toBe(2)
    expect(r.stderr).toContain("mkdir '/proc/nope'")
  })

  it('names a file in the way', () => {
    const dir = freshDir()
    writeFileSync(join(dir, 'file'), '')
    mkdirSync(join(dir, 'ok'))
    const r = lumen(['serve', '--config-dir', join(dir, 'file', 'lumen'), '--no-mdns', '--pin', '1234', ...QUIET_SERVE], {timeoutMs: 30_000})
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('not a directory')
  })
})
