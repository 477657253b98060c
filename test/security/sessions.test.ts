/**
 * issue 21.7, 19.4 and 19.5: who may do what once a second paired client is around. The client
 * that launched the app owns it: it alone may /cancel, and only its streams' input reaches the
 * desktop; another paired client may /resume to watch (logged as a join). --max-sessions bounds
 * the streams with a "busy" answer. /unpair removes no one.
 */
import {afterEach, describe, expect, it} from 'vitest'

import {createClientIdentity, MoonlightTestClient, type LaunchResult} from '../client/client.js'
import {mouseMoveRelative} from '../client/input.js'
import {startTestHost, waitUntil, type TestHost} from '../host/helpers.js'

let t: TestHost | undefined
afterEach(async () => {
  await t?.close()
  t = undefined
})

async function pairedClient(host: TestHost): Promise<MoonlightTestClient> {
  const c = new MoonlightTestClient({host: '127.0.0.1', httpPort: host.host.ports.http, identity: await createClientIdentity(), uniqueid: '0123456789ABCDEF'})
  expect((await c.pair('1234')).outcome).toBe('paired')
  return c
}

/** RTSP, control stream and pings for a launch; resolves once the host started its pipeline. */
async function stream(host: TestHost, c: MoonlightTestClient, launch: LaunchResult) {
  const before = host.pipelines.length
  const hs = await c.rtsp(launch)
  const audio = await c.pingSocket(hs.audioPort, hs.pingPayload)
  const control = await c.connectControl(launch, hs)
  const video = await c.pingSocket(hs.videoPort, hs.pingPayload)
  await waitUntil(() => host.pipelines.length === before + 1, 5000, 'the stream to start')
  return {
    control,
    close: async () => {
      audio.stop()
      video.stop()
      await control.close()
    },
  }
}

describe('two paired clients', () => {
  it('the launcher owns the app: the other may watch but not steer or quit it', async () => {
    const logs: string[] = []
    t = await startTestHost({maxSessions: 2, logger: {info: (m) => logs.push(m), warn: (m) => logs.push(m)}})
    const a = await pairedClient(t)
    const b = await pairedClient(t)
    const sa = await stream(t, a, await a.launch({appId: 1}))
    const resumed = await b.launch({resume: true})
    expect(resumed.xml.get('resume')).toBe('1')
    expect(logs.some((l) => /joins the app client [0-9a-f]{16} launched/.test(l))).toBe(true)
    const sb = await stream(t, b, resumed)
    try {
      const sessionA = t.pipelines[0].options.sessionId
      const sessionB = t.pipelines[1].options.sessionId
      sb.control.sendInput(mouseMoveRelative(5, 5))
      sa.control.sendInput(mouseMoveRelative(1, 1))
      await waitUntil(() => t!.input.events.some((e) => e.session === sessionA), 5000, "A's input")
      await waitUntil(() => (t!.host.stats().drops['control:input-not-owner'] ?? 0) === 1, 5000, "B's input to be dropped")
      expect(t.input.events.filter((e) => e.session === sessionB)).toEqual([])

      const refused = await b.cancel()
      expect(refused.statusCode).toBe(403)
      expect(refused.get('cancel')).toBe('0')
      expect(t.host.currentApp()?.id).toBe(1)
      expect(t.host.stats().streams).toHaveLength(2)
      expect((await a.cancel()).get('cancel')).toBe('1')
      expect(t.host.currentApp()).toBeUndefined()
    } finally {
      await sa.close()
      await sb.close()
    }
  })

  it('answers busy past --max-sessions, and takes the launch again once a stream ended', async () => {
    t = await startTestHost({maxSessions: 1})
    const a = await pairedClient(t)
    const b = await pairedClient(t)
    const sa = await stream(t, a, await a.launch({appId: 1}))
    const busy = await b.launch({resume: true})
    expect(busy.xml.statusCode).toBe(503)
    expect(busy.xml.get('resume')).toBe('0')
    expect(busy.xml.statusMessage).toMatch(/busy: 1 of its 1 streams/)
    await sa.close()
    await waitUntil(() => t!.host.stats().streams.length === 0, 5000, "A's stream to end")
    const sb = await stream(t, b, await b.launch({resume: true}))
    await sb.close()
    await a.cancel()
  })

  it('/unpair removes no one (every client sends the same uniqueid) and is logged', async () => {
    const logs: string[] = []
    t = await startTestHost({logger: {info: (m) => logs.push(m), warn: (m) => logs.push(m)}})
    const a = await pairedClient(t)
    const b = await pairedClient(t)
    expect((await b.httpGet('/unpair')).statusCode).toBe(200)
    expect(t.host.pairedClients()).toHaveLength(2)
    expect((await a.httpsGet('/applist')).statusCode).toBe(200)
    expect((await b.httpsGet('/applist')).statusCode).toBe(200)
    expect(logs.some((l) => /unpair request from .*nothing removed/.test(l))).toBe(true)
  })
})
