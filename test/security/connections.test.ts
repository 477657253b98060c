/**
 * issue 21.4 and 19.3: held and oversized TCP requests. A slowloris of 500 connections on each of
 * HTTP, HTTPS and RTSP (one byte of a request every second, never finished): every one is
 * refused or closed by the per-source cap and the request deadline, /serverinfo answers during
 * the flood, and afterwards a paired client streams. Oversized headers and bodies are cut off.
 */
import {connect} from 'node:net'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {CONNECTION_LIMITS} from '../../src/host/limits.js'
import {createClientIdentity, MoonlightTestClient} from '../client/client.js'
import {startTestHost, waitUntil, type TestHost} from '../host/helpers.js'
import {slowloris, type Trickle} from './attacks.js'

const N = 500

describe('connection limits', () => {
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

  it(`closes a ${N}-connection slowloris on each port, answers /serverinfo meanwhile, then streams`, async () => {
    const http = Buffer.from('GET /serverinfo?uniqueid=1 HTTP/1.1\r\nHost: lumen\r\nX-Slow: ')
    const rtsp = Buffer.from('OPTIONS rtsp://127.0.0.1:48010 RTSP/1.0\r\nCSeq: 1\r\nX-Slow: ')
    const floods: Record<string, Trickle> = {
      http: slowloris(t.host.ports.http, N, http),
      https: slowloris(t.host.ports.https, N, http, {tls: true}),
      rtsp: slowloris(t.host.ports.rtsp, N, rtsp),
    }
    try {
      // the flood is under way: the per-source cap has started giving the oldest ones up
      await waitUntil(() => (t.host.stats().drops['http:per-source-cap'] ?? 0) > N / 2, 10_000, 'the HTTP flood to meet the cap')
      const info = await c.serverInfo()
      expect(info.get('hostname')).toBe('lumen-test')
      expect((await c.serverInfo(true)).get('PairStatus')).toBe('1')
      for (const [port, f] of Object.entries(floods)) {
        // no request was ever finished: every connection ends by the cap or the deadline
        await waitUntil(() => f.closed() === N, CONNECTION_LIMITS.requestMs + 7000, `every ${port} slowloris connection to be closed`)
      }
      const d = t.host.stats().drops
      for (const port of ['http', 'https', 'rtsp']) {
        expect(d[`${port}:per-source-cap`] ?? 0, port).toBeGreaterThan(N - 2 * CONNECTION_LIMITS.perSource)
        expect((d[`${port}:per-source-cap`] ?? 0) + (d[`${port}:request-deadline`] ?? 0) + (d[`${port}:idle-timeout`] ?? 0), port).toBeGreaterThanOrEqual(N - 2)
      }
    } finally {
      for (const f of Object.values(floods)) f.stop()
    }

    const launch = await c.launch({appId: 1})
    const hs = await c.rtsp(launch)
    const audio = await c.pingSocket(hs.audioPort, hs.pingPayload)
    const control = await c.connectControl(launch, hs)
    const video = await c.pingSocket(hs.videoPort, hs.pingPayload)
    try {
      await waitUntil(() => t.pipelines.length === 1, 5000, 'the stream to start')
    } finally {
      audio.stop()
      video.stop()
      await control.close()
      await c.cancel()
    }
  }, 60_000)

  it('cuts off an oversized header and a request body', async () => {
    const send = (port: number, bytes: Buffer): Promise<string> =>
      new Promise((resolve) => {
        const s = connect({host: '127.0.0.1', port})
        let got = ''
        s.on('data', (d) => (got += d.toString('latin1')))
        s.on('error', () => {})
        s.on('close', () => resolve(got))
        s.write(bytes)
      })
    const before = t.host.stats().drops
    const big = await send(t.host.ports.http, Buffer.from(`GET /serverinfo HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`))
    expect(big).not.toContain('<hostname>')
    const body = await send(t.host.ports.http, Buffer.from(`GET /serverinfo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n${'b'.repeat(100_000)}`))
    expect(body).not.toContain('<hostname>')
    const rtspBig = await send(t.host.ports.rtsp, Buffer.from(`OPTIONS rtsp://x RTSP/1.0\r\nCSeq: 1\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`))
    expect(rtspBig).not.toContain('RTSP/1.0 200')
    const after = t.host.stats().drops
    expect((after['http:bad-request'] ?? 0) - (before['http:bad-request'] ?? 0)).toBe(1)
    expect((after['http:body-too-large'] ?? 0) - (before['http:body-too-large'] ?? 0)).toBe(1)
    expect((after['rtsp:rtsp'] ?? 0) - (before['rtsp:rtsp'] ?? 0)).toBe(1)
  })
})
