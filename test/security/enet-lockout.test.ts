/**
 * issue 21.1: strangers' ENet CONNECTs must not fill the control port's peer slots. 64 CONNECTs
 * from one socket (random connect data, then the launch's own data replayed) are dropped before
 * libenet answers them; the paired client's control stream then connects and its stream starts.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {createClientIdentity, MoonlightTestClient} from '../client/client.js'
import {startTestHost, waitUntil, type TestHost} from '../host/helpers.js'
import {createSocket} from 'node:dgram'

import {connectFlood, enetConnectDatagram} from './attacks.js'

describe('ENet half-open lockout', () => {
  let t: TestHost
  let c: MoonlightTestClient

  beforeAll(async () => {
    t = await startTestHost()
    c = new MoonlightTestClient({host: '127.0.0.1', httpPort: t.host.ports.http, identity: await createClientIdentity()})
    expect((await c.pair('1234')).outcome).toBe('paired')
  })
  afterAll(async () => {
    await t.close()
  })

  async function streamOnce(attack: (connectData: number) => Promise<{answers(): number; close(): void}>): Promise<{answers: number}> {
    const launch = await c.launch({appId: 1})
    const hs = await c.rtsp(launch)
    const flood = await attack(hs.connectData)
    const before = t.pipelines.length
    const audio = await c.pingSocket(hs.audioPort, hs.pingPayload)
    const control = await c.connectControl(launch, hs)
    const video = await c.pingSocket(hs.videoPort, hs.pingPayload)
    try {
      await waitUntil(() => t.pipelines.length === before + 1, 5000, 'the stream to start after the flood')
      return {answers: flood.answers()}
    } finally {
      flood.close()
      audio.stop()
      video.stop()
      await control.close()
      await c.cancel()
    }
  }

  it('drops 64 CONNECTs with unknown connect data unanswered; the paired client streams', async () => {
    const before = t.host.stats().drops['control:connect-unknown'] ?? 0
    let n = 0
    const r = await streamOnce((data) => connectFlood(t.host.ports.control, 64, () => (data + 1 + n++) >>> 0))
    expect(r.answers).toBe(0) // no VERIFY_CONNECT: nothing was allocated for them
    expect((t.host.stats().drops['control:connect-unknown'] ?? 0) - before).toBe(64)
  })

  it('holds a replay of the launch connect data from one socket to 2 half-open peers; the client still connects', async () => {
    const before = t.host.stats().drops['control:connect-per-source'] ?? 0
    // the flood comes from 127.0.0.1 like the client: the per-source bound is what holds it
    const r = await streamOnce((data) => connectFlood(t.host.ports.control, 64, () => data))
    const dropped = (t.host.stats().drops['control:connect-per-source'] ?? 0) - before
    expect(dropped).toBeGreaterThanOrEqual(62)
    expect(r.answers).toBeLessThanOrEqual(2 * 3) // VERIFY_CONNECT (and resends) for the 2 admitted only
  })

  it('resets half-open peers after the handshake timeout', async () => {
    const launch = await c.launch({appId: 1})
    const hs = await c.rtsp(launch)
    const before = t.host.stats().drops['control:handshake-timeout'] ?? 0
    const flood = await connectFlood(t.host.ports.control, 2, () => hs.connectData)
    try {
      await waitUntil(() => (t.host.stats().drops['control:handshake-timeout'] ?? 0) - before === 2, 8000, 'the half-open peers to be reset')
    } finally {
      flood.close()
      await c.cancel()
    }
  })

  it('counts datagrams for a new peer that are no well-formed CONNECT, and answers none', async () => {
    const before = t.host.stats().drops['control:connect-malformed'] ?? 0
    const socket = createSocket('udp4')
    let answers = 0
    socket.on('message', () => answers++)
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()))
    const good = enetConnectDatagram(1)
    const bad = [
      good.subarray(0, 40), // cut short
      Buffer.concat([Buffer.from([0xcf, 0xff]), good.subarray(2)]), // compressed flag
      Buffer.from(good).fill(5, 4, 5), // command 5 (PING) where a CONNECT must be
    ]
    try {
      for (const b of bad) await new Promise<void>((r) => socket.send(b, t.host.ports.control, '127.0.0.1', () => r()))
      await waitUntil(() => (t.host.stats().drops['control:connect-malformed'] ?? 0) - before === bad.length, 5000, 'the malformed datagrams to be counted')
      expect(answers).toBe(0)
    } finally {
      socket.close()
    }
  })
})
