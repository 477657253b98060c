/** Session timeouts and ends (docs/protocol/README.md §Session lifecycle 4–5), with shortened timeouts. */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {createClientIdentity, MoonlightTestClient} from '../client/client.js'
import {sleep} from '../helpers/index.js'
import {startTestHost, waitUntil, type TestHost} from './helpers.js'

describe('session lifecycle', () => {
  let t: TestHost
  let c: MoonlightTestClient
  const ends: string[] = []

  beforeAll(async () => {
    t = await startTestHost({timeouts: {launchMs: 1500, pingMs: 1500, controlIdleMs: 1500}})
    t.host.on('stream-end', (_info, reason: string) => ends.push(reason))
    c = new MoonlightTestClient({host: '127.0.0.1', httpPort: t.host.ports.http, identity: await createClientIdentity()})
    expect((await c.pair('1234')).outcome).toBe('paired')
  })
  afterAll(async () => {
    await t.close()
  })

  it('ends a stream after the control-idle timeout', async () => {
    const launch = await c.launch({appId: 1})
    const hs = await c.rtsp(launch)
    const ping = await c.pingSocket(hs.videoPort, hs.pingPayload)
    const control = await c.connectControl(launch, hs, false) // no Start A/B, no pings
    try {
      await waitUntil(() => ends.length === 1, 6000, 'the idle timeout')
      expect(ends[0]).toMatch(/no control traffic/)
      expect(t.pipelines[0].stopped).toBe(true)
    } finally {
      ping.stop()
      await control.close(false)
      await c.cancel()
    }
  })

  it('terminates a stream whose client never sends a video ping', async () => {
    const launch = await c.launch({appId: 1})
    const hs = await c.rtsp(launch)
    const control = await c.connectControl(launch, hs)
    try {
      const term = await control.waitForMessage(0x0109, 6000)
      expect(term).toBeDefined()
      expect(ends.at(-1)).toBe('no video ping')
      await control.waitForDisconnect(3000)
      expect(control.disconnected).toBe(true)
    } finally {
      await control.close(false)
      await c.cancel()
    }
  })

  it('discards a launch session that never connects, and refuses RTSP for it afterwards', async () => {
    const launch = await c.launch({appId: 1, corever: false})
    await sleep(2700)
    await expect(c.rtsp(launch)).rejects.toThrow(/503/)
    await c.cancel()
  })

  it('refuses a control connection with unknown connect data', async () => {
    const launch = await c.launch({appId: 1})
    const hs = await c.rtsp(launch)
    const droppedBefore = t.host.stats().drops['control:connect-unknown'] ?? 0
    // the shim drops the CONNECT before libenet answers it: no handshake, no peer slot taken
    const {ControlClient} = await import('../client/control.js')
    const refused = new ControlClient(launch.riKey)
    await expect(refused.connect('127.0.0.1', hs.controlPort, (hs.connectData + 1) >>> 0, 1500)).rejects.toThrow(/refused/)
    await refused.close(false)
    expect(t.host.stats().drops['control:connect-unknown']).toBeGreaterThan(droppedBefore)
    // the right connect data still works
    const control = await c.connectControl(launch, hs)
    await control.close(false)
    await c.cancel()
  })
})
