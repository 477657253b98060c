/** apps.json: box art over /appasset, an app's command started on launch, stopped on cancel, and its exit ending the session. */
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {MoonlightTestClient} from '../client/client.js'
import {pairedClient, startTestHost, waitUntil, type TestHost} from './helpers.js'

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('apps', () => {
  let dir: string
  let t: TestHost
  let c: MoonlightTestClient
  const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex')

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lumen-apps-'))
    writeFileSync(join(dir, 'art.png'), png)
    const pidFile = join(dir, 'sleeper.pid')
    writeFileSync(
      join(dir, 'apps.json'),
      JSON.stringify([
        {id: 1, title: 'Desktop', image: join(dir, 'art.png')},
        {id: 7, title: 'Sleeper & <Co>', cmd: `echo $$ > ${pidFile}; exec sleep 30`, hdr: true},
        {id: 8, title: 'Short', cmd: 'sleep 1.5'},
      ]),
    )
    t = await startTestHost({dir})
    c = await pairedClient(t)
  })
  afterAll(async () => {
    await t.close()
    rmSync(dir, {recursive: true, force: true})
  })

  it('lists the apps of apps.json, names escaped', async () => {
    expect(await c.appList()).toEqual([
      {id: 1, title: 'Desktop', hdr: false},
      {id: 7, title: 'Sleeper & <Co>', hdr: true},
      {id: 8, title: 'Short', hdr: false},
    ])
    expect((await c.httpsGet('/applist')).body).toContain('Sleeper &amp; &lt;Co&gt;')
  })

  it('serves box art as PNG, and a 404 answer for an app without one', async () => {
    const r = await c.httpsRaw('/appasset', {appid: '1', AssetType: '2', AssetIdx: '0'})
    expect(r.contentType).toBe('image/png')
    expect(r.body).toEqual(png)
    expect((await c.httpsGet('/appasset', {appid: '7', AssetType: '2', AssetIdx: '0'})).statusCode).toBe(404)
  })

  it('runs the app command on launch and stops it on cancel', async () => {
    await c.launch({appId: 7})
    const pidFile = join(dir, 'sleeper.pid')
    await waitUntil(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 5000, 'the app to start')
    const pid = Number(readFileSync(pidFile, 'utf8'))
    expect(alive(pid)).toBe(true)
    expect((await c.serverInfo(true)).get('currentgame')).toBe('7')
    await c.cancel()
    await waitUntil(() => !alive(pid), 5000, 'the app to be stopped')
  })

  it('ends the stream with 0x0109 and frees the host when the app exits by itself', async () => {
    const launch = await c.launch({appId: 8})
    const hs = await c.rtsp(launch)
    const ping = await c.pingSocket(hs.videoPort, hs.pingPayload)
    const control = await c.connectControl(launch, hs)
    try {
      const term = await control.waitForMessage(0x0109, 5000)
      expect(term?.payload.readUInt32BE(0)).toBe(0x80030023)
      expect(t.host.currentApp()).toBeUndefined()
      expect((await c.serverInfo(true)).get('state')).toBe('SUNSHINE_SERVER_FREE')
    } finally {
      ping.stop()
      await control.close(false)
    }
  })
})
