/**
 * apps.json "prep-cmd": each step's `do` runs before the app starts, in order; each done step's
 * `undo` after the app stops, in reverse order; a `do` that fails refuses the launch with its
 * reason (HTTP 500 in the launch answer, as the client shows it) after undoing the steps before
 * it, and leaves the host free. Real shell commands append to a log file the test reads.
 */
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {MoonlightTestClient} from '../client/client.js'
import {pairedClient, startTestHost, waitUntil, type TestHost} from './helpers.js'

describe('app prep commands', () => {
  let dir: string
  let log: string
  let t: TestHost
  let c: MoonlightTestClient
  const lines = (): string[] => readFileSync(log, 'utf8').split('\n').filter((l) => l !== '')

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lumen-prep-'))
    log = join(dir, 'log')
    writeFileSync(log, '')
    const say = (w: string): string => `echo ${w} >> ${log}`
    writeFileSync(
      join(dir, 'apps.json'),
      JSON.stringify([
        {id: 1, title: 'Desktop', 'prep-cmd': [{do: say('do1'), undo: say('undo1')}, {do: say('do2')}, {do: `pwd >> ${log}`, undo: say('undo3')}], 'working-dir': dir},
        {id: 2, title: 'Broken', 'prep-cmd': [{do: say('b-do1'), undo: say('b-undo1')}, {do: `${say('b-do2')}; echo no such display >&2; exit 3`, undo: say('b-undo2')}, {do: say('b-do3')}]},
      ]),
    )
    t = await startTestHost({dir})
    c = await pairedClient(t)
  })
  afterAll(async () => {
    await t.close()
    rmSync(dir, {recursive: true, force: true})
  })

  it('does each step before the launch answers, in order and in the working dir; undoes the done ones in reverse after cancel', async () => {
    const launch = await c.launch({appId: 1})
    expect(launch.sessionUrl).not.toBe('')
    expect(lines()).toEqual(['do1', 'do2', dir])
    expect((await c.serverInfo(true)).get('currentgame')).toBe('1')
    await c.cancel()
    await waitUntil(() => lines().length === 5, 5000, 'the undo steps')
    expect(lines().slice(3)).toEqual(['undo3', 'undo1'])
  })

  it('a failing step refuses the launch with its reason, undoes the steps before it, and leaves the host free', async () => {
    writeFileSync(log, '')
    const r = (await c.launch({appId: 2})).xml
    expect(r.statusCode).toBe(500)
    expect(r.statusMessage).toBe("The app could not be prepared: prep step 2 of 'Broken' failed (exit 3: no such display); the steps before it were undone")
    expect(lines()).toEqual(['b-do1', 'b-do2', 'b-undo1'])
    expect((await c.serverInfo(true)).get('currentgame')).toBe('0')
    // free: another app launches
    writeFileSync(log, '')
    await c.launch({appId: 1})
    expect(lines()).toEqual(['do1', 'do2', dir])
    await c.cancel()
    await waitUntil(() => lines().length === 5, 5000, 'the undo steps')
  })

  it('stopping the host runs the undo steps of the running app before it returns', async () => {
    writeFileSync(log, '')
    await c.launch({appId: 1})
    await t.host.stop()
    expect(lines()).toEqual(['do1', 'do2', dir, 'undo3', 'undo1'])
  })
})
