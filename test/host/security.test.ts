/**
 * Security properties: an unpaired certificate gets only serverinfo and pairing; a wrong PIN
 * leaves no trace in the store; salts and challenges are fresh per attempt; HTTPS without a
 * client certificate gets nothing protected.
 */
import {readFileSync, readdirSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {PinRequest, PinSource} from '../../src/host/pairing.js'
import {createClientIdentity, MoonlightTestClient, type ClientIdentity} from '../client/client.js'
import {get} from '../client/http.js'
import {parseNvXml} from '../client/xml.js'
import {startTestHost, type TestHost} from './helpers.js'

let paired: ClientIdentity
let stranger: ClientIdentity

/** Records every PIN request; answers from a queue. */
class QueuedPins implements PinSource {
  readonly requests: PinRequest[] = []
  constructor(readonly pins: string[]) {}
  async getPin(r: PinRequest): Promise<string> {
    this.requests.push(r)
    return this.pins.shift() ?? '0000'
  }
}

describe('control-plane security', () => {
  let t: TestHost
  const pins = new QueuedPins([])
  const client = (identity: ClientIdentity, uniqueid = '0123456789ABCDEF'): MoonlightTestClient =>
    new MoonlightTestClient({host: '127.0.0.1', httpPort: t.host.ports.http, identity, uniqueid})

  beforeAll(async () => {
    ;[paired, stranger] = await Promise.all([createClientIdentity(), createClientIdentity()])
    // these tests try several wrong PINs in a row: the rate limit is test/security's subject
    t = await startTestHost({pinSource: pins, pairing: {limits: {freePerSource: 100, freeTotal: 100}}})
    pins.pins.push('4321')
    expect((await client(paired).pair('4321')).outcome).toBe('paired')
  })
  afterAll(async () => {
    await t.close()
  })

  const storeSnapshot = (): Record<string, string> =>
    Object.fromEntries(readdirSync(t.dir).sort().map((f) => [f, readFileSync(join(t.dir, f), 'utf8')]))

  it('gives an unpaired certificate serverinfo and pairing only', async () => {
    const c = client(stranger)
    await c.serverInfo()
    const info = await c.httpsGet('/serverinfo')
    expect(info.statusCode).toBe(200)
    expect(info.get('PairStatus')).toBe('0')
    for (const path of ['/applist', '/appasset', '/launch', '/resume', '/cancel']) {
      const x = await c.httpsGet(path, {appid: '1', rikey: '11'.repeat(16), rikeyid: '5', localAudioPlayMode: '0', AssetType: '2', AssetIdx: '0'})
      expect(x.statusCode, path).toBe(401)
    }
    expect((await c.httpsGet('/pair', {phrase: 'pairchallenge'})).get('paired')).toBe('0')
    expect(t.host.currentApp()).toBeUndefined()
  })

  it('answers protected paths on plain HTTP with 404, and every error with HTTP 200', async () => {
    for (const path of ['/applist', '/launch', '/cancel', '/nope']) {
      const r = await get(`http://127.0.0.1:${t.host.ports.http}${path}?uniqueid=1&uuid=2`)
      expect(r.httpStatus).toBe(200)
      expect(parseNvXml(r.body.toString()).statusCode).toBe(404)
    }
  })

  it('answers HTTPS requests without a client certificate only with serverinfo', async () => {
    const c = client(paired)
    await c.serverInfo()
    const info = await c.httpsGet('/serverinfo', {}, false)
    expect(info.get('PairStatus')).toBe('0')
    for (const path of ['/applist', '/launch', '/cancel']) {
      const x = await c.httpsGet(path, {appid: '1', rikey: '11'.repeat(16), rikeyid: '5', localAudioPlayMode: '0'}, false)
      expect(x.statusCode, path).toBe(401)
    }
    // the same client with its certificate is served
    expect((await c.httpsGet('/applist')).statusCode).toBe(200)
  })

  it('stores nothing for a wrong PIN (moonlight-qt detects it after phase 3)', async () => {
    const before = storeSnapshot()
    pins.pins.push('1111')
    const r = await client(stranger).pair('2222')
    expect(r.outcome).toBe('wrong-pin')
    expect(storeSnapshot()).toEqual(before)
    expect(t.host.pairedClients()).toHaveLength(1)
  })

  it('answers phase 4 with paired=0 and stores nothing for a wrong PIN (moonlight-embedded skips the check)', async () => {
    const before = storeSnapshot()
    pins.pins.push('1111')
    const r = await client(stranger).pair('2222', {skipPinCheck: true})
    expect(r.outcome).toBe('wrong-pin')
    expect(storeSnapshot()).toEqual(before)
    const c = client(stranger)
    await c.serverInfo()
    expect((await c.httpsGet('/applist')).statusCode).toBe(401)
  })

  it('draws fresh server challenges and secrets on every attempt', async () => {
    const seen = new Set<string>()
    for (let i = 0; i < 3; i++) {
      pins.pins.push('9999')
      const r = await client(stranger).pair('8888')
      expect(r.outcome).toBe('wrong-pin')
      seen.add(r.serverChallenge!.toString('hex'))
      seen.add(r.serverSecret!.toString('hex'))
      seen.add(r.salt.toString('hex'))
    }
    expect(seen.size).toBe(9)
  })

  it('rejects pairing steps out of order and forgets the attempt', async () => {
    const c = client(stranger, 'AAAABBBBCCCCDDDD')
    await c.serverInfo()
    const x = await c.httpGet('/pair', {clientchallenge: '00'.repeat(16)})
    expect(x.statusCode).toBe(400)
    expect(x.get('paired')).toBe('0')
    const y = await c.httpGet('/pair', {serverchallengeresp: 'zz'})
    expect(y.statusCode).toBe(400)
  })

  it('refuses a malformed salt or certificate in phase 1 without asking for a PIN', async () => {
    const asked = pins.requests.length
    const c = client(stranger, 'EEEE')
    await c.serverInfo()
    expect((await c.httpGet('/pair', {phrase: 'getservercert', salt: 'abc', clientcert: '00'})).statusCode).toBe(400)
    expect((await c.httpGet('/pair', {phrase: 'getservercert', salt: '00'.repeat(16), clientcert: Buffer.from('not a cert').toString('hex')})).statusCode).toBe(400)
    expect(pins.requests.length).toBe(asked)
  })

  it('presents the same certificate over HTTPS as in pairing', async () => {
    const c = client(paired)
    await c.serverInfo()
    c.serverCertPem = t.host.certPem // pinned: get() fails if the TLS certificate differs
    expect((await c.httpsGet('/serverinfo')).get('PairStatus')).toBe('1')
  })
})
