/**
 * Bad input: every parser takes 10,000 random and mutated inputs without crashing, and a live
 * host bombarded over its real sockets counts what it dropped and still serves a whole session.
 * (bench/fuzz.ts runs the same fuzzers with 1,000,000 inputs.)
 */
import {connect} from 'node:net'
import {createSocket} from 'node:dgram'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {sealControl} from '../../src/host/control-codec.js'
import {HostStore} from '../../src/host/store.js'
import {createClientIdentity, MoonlightTestClient, type ClientIdentity} from '../client/client.js'
import {get} from '../client/http.js'
import {sleep} from '../helpers/index.js'
import {fuzzControl, fuzzHttpQuery, fuzzInput, fuzzPairingApi, fuzzRtsp, fuzzSdp, mutate, Rng} from './fuzz-cases.js'
import {startTestHost, waitUntil, type TestHost} from './helpers.js'

const N = 10_000
const SEED = Number(process.env.LUMEN_FUZZ_SEED ?? 20261124)

describe('parser fuzzing (10,000 inputs each)', () => {
  for (const [name, f] of Object.entries({'http-query': fuzzHttpQuery, rtsp: fuzzRtsp, sdp: fuzzSdp, control: fuzzControl, input: fuzzInput})) {
    it(`${name}: no crash, every input accepted or rejected with the parser's error`, () => {
      const r = f(N, SEED)
      expect(r.inputs).toBe(N)
      expect(r.accepted + r.rejected).toBe(N)
      // the mutators must reach both outcomes, or the fuzzer tests nothing
      expect(r.rejected).toBeGreaterThan(N / 100)
      expect(r.accepted).toBeGreaterThan(0)
    })
  }

  it('pairing API with mutated hex: answers every request with a status, never pairs, still serves', async () => {
    const {mkdtempSync, rmSync} = await import('node:fs')
    const {tmpdir} = await import('node:os')
    const {join} = await import('node:path')
    const dir = mkdtempSync(join(tmpdir(), 'lumen-fuzz-'))
    try {
      const store = await HostStore.open(dir)
      const id = await createClientIdentity()
      const r = await fuzzPairingApi(store, N, SEED, id.certPem)
      expect(r.inputs).toBe(N)
      expect(r.rejected).toBeGreaterThan(N / 100)
      expect(r.validAfter).toBe(true)
      expect(store.clients()).toEqual([])
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})

describe('a live host under bad input', () => {
  let t: TestHost
  let identity: ClientIdentity
  let client: MoonlightTestClient
  beforeAll(async () => {
    t = await startTestHost()
    identity = await createClientIdentity()
    client = new MoonlightTestClient({host: '127.0.0.1', httpPort: t.host.ports.http, identity})
    expect((await client.pair('1234')).outcome).toBe('paired')
  })
  afterAll(async () => {
    await t.close()
  })

  it('drops and counts malformed RTSP, HTTP, control and ping traffic, then serves a full session', async () => {
    const rng = new Rng(SEED)
    // a pending launch, so RTSP garbage meets a session
    const launch = await client.launch({appId: 1, corever: true})
    // RTSP: 200 connections of mutated plain and encrypted requests
    const seeds = [
      Buffer.from('OPTIONS rtsp://0.0.0.0:48010 RTSP/1.0\r\nCSeq: 1\r\nHost: 0.0.0.0\r\n\r\n'),
      Buffer.from('ANNOUNCE streamid=control/13/0 RTSP/1.0\r\nCSeq: 6\r\nContent-length: 10\r\n\r\na=x:1\r\nt=0'),
    ]
    for (let i = 0; i < 200; i++) {
      const payload = mutate(rng, rng.pick(seeds), seeds, 4096)
      await new Promise<void>((resolve) => {
        const s = connect(t.host.ports.rtsp, '127.0.0.1', () => s.end(payload))
        s.on('data', () => {})
        s.on('close', () => resolve())
        s.on('error', () => resolve())
        s.setTimeout(2000, () => s.destroy())
      })
    }
    // HTTP: 200 mutated targets, raw bytes on the wire
    const target = `/pair?uniqueid=X&clientchallenge=${'ab'.repeat(16)}&salt=0011`
    for (let i = 0; i < 200; i++) {
      const q = mutate(rng, Buffer.from(target), [Buffer.from(target)], 4096).toString('latin1').replace(/[\s#]/g, '')
      const r = await get(`http://127.0.0.1:${t.host.ports.http}/${q.replace(/^\/+/, '')}`).catch(() => undefined)
      if (r !== undefined) expect(r.httpStatus).toBeLessThan(500)
    }
    // UDP garbage at the ping and control ports
    const udp = createSocket('udp4')
    for (let i = 0; i < 1000; i++) {
      const port = rng.pick([t.host.ports.video, t.host.ports.audio, t.host.ports.control])
      udp.send(rng.bytes(rng.int(200)), port, '127.0.0.1')
    }
    await sleep(200)
    udp.close()

    // the valid session, with 2,000 mutated control packets on the open connection
    const hs = await client.rtsp(launch)
    const ping = await client.pingSocket(hs.videoPort, hs.pingPayload)
    const control = await client.connectControl(launch, hs)
    try {
      await waitUntil(() => t.pipelines.length === 1, 5000, 'the pipeline')
      const good = sealControl(launch.riKey, 1000, 0x0200, Buffer.alloc(8), 'client')
      for (let i = 0; i < 2000; i++) control.sendRaw(mutate(rng, good, [good], 2048), rng.int(8))
      await waitUntil(() => (t.host.stats().malformed.control ?? 0) >= 1000, 10_000, 'malformed control packets to be counted')
      const before = t.pipelines[0].idrRequests.length
      control.requestIdr()
      await waitUntil(() => t.pipelines[0].idrRequests.length === before + 1, 5000, 'an IDR request after the garbage')
    } finally {
      ping.stop()
      await client.cancel()
      await control.close(false)
    }
    const m = t.host.stats().malformed
    expect(m.rtsp ?? 0).toBeGreaterThan(0)
    expect(m['http-query'] ?? 0).toBeGreaterThan(0)
    expect(m.control).toBeGreaterThanOrEqual(1000)
    const info = await client.serverInfo(true)
    expect(info.statusCode).toBe(200)
    expect(info.get('PairStatus')).toBe('1')
  })
})
