/**
 * issue 21.2, 21.3 and 19.3: pairing under attack. Wrong PINs are rate-limited (the wait is in
 * the answer), a one-time PIN dies with its first attempt (so the offline search that one
 * transcript allows wins nothing), and pending attempts are bounded and expire. The host's
 * pairing clock is driven by the test (PairingOptions.now): "a minute" of attempts takes no
 * minute of real time, while every request goes over real HTTP.
 */
import {randomBytes} from 'node:crypto'

import {afterEach, describe, expect, it} from 'vitest'

import {OneTimePinSource} from '../../src/host/pairing.js'
import {PinGuard} from '../../src/host/pin-guard.js'
import {createClientIdentity, MoonlightTestClient, type ClientIdentity} from '../client/client.js'
import {aes, certSignature, pairingKey, sha256} from '../client/pairing.js'
import {startTestHost, type TestHost} from '../host/helpers.js'

let t: TestHost | undefined
afterEach(async () => {
  await t?.close()
  t = undefined
})

const clock = {ms: 1_000_000}
const now = (): number => clock.ms

function client(host: TestHost, identity: ClientIdentity, uniqueid?: string): MoonlightTestClient {
  return new MoonlightTestClient({host: '127.0.0.1', httpPort: host.host.ports.http, identity, uniqueid})
}

/** Phase 1 only: the answer's status and message. */
async function getServerCert(c: MoonlightTestClient, identity: ClientIdentity) {
  await c.serverInfo()
  return c.httpGet('/pair', {phrase: 'getservercert', salt: randomBytes(16).toString('hex'), clientcert: Buffer.from(identity.certPem).toString('hex')})
}

describe('wrong-PIN rate limit', () => {
  it('lets at most a handful of 200 wrong attempts in a minute reach a PIN check; the right PIN pairs after the wait', async () => {
    t = await startTestHost({pin: '1234', pairing: {now}})
    const [guesser, owner] = await Promise.all([createClientIdentity(), createClientIdentity()])
    const c = client(t, guesser)
    const outcomes: Record<string, number> = {}
    const start = clock.ms
    for (let i = 0; i < 200; i++) {
      clock.ms = start + i * 300 // 200 attempts over 60 s
      const guess = String(5000 + i).padStart(4, '0')
      const r = await c.pair(guess)
      outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1
    }
    const s = t.host.stats().pairing
    expect(s.pinChecks).toBeLessThanOrEqual(5)
    expect(s.pinChecks).toBeGreaterThanOrEqual(2)
    expect(outcomes['wrong-pin']).toBe(s.pinChecks)
    expect(s.refusedWaiting).toBe(200 - s.pinChecks)
    expect(t.host.stats().drops['pairing:pairing-wait']).toBe(200 - s.pinChecks)

    // the refusal says how long to wait; after that wait the right PIN pairs
    const refused = await getServerCert(client(t, owner), owner)
    expect(refused.statusCode).toBe(503)
    const m = /try again in (\d+) s/.exec(refused.statusMessage ?? '')
    expect(m, refused.statusMessage).not.toBeNull()
    clock.ms += Number(m![1]) * 1000
    expect((await client(t, owner).pair('1234')).outcome).toBe('paired')
    expect(t.host.pairedClients()).toHaveLength(1)
  })

  it('makes every address wait once the host as a whole has seen too many wrong PINs', () => {
    const g = new PinGuard({freePerSource: 2, freeTotal: 4, firstWaitMs: 1000}, now)
    for (const a of ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4']) {
      expect(g.waitMs(a)).toBe(0)
      g.failed(a)
    }
    expect(g.waitMs('10.0.0.9')).toBe(1000) // a fresh address waits too
    clock.ms += 1000
    expect(g.waitMs('10.0.0.9')).toBe(0)
    g.failed('10.0.0.9')
    expect(g.waitMs('10.0.0.9')).toBe(2000) // doubled
  })
})

describe('one-time PIN (--pin)', () => {
  it('after one wrong attempt the right PIN is refused, though one transcript reveals it offline', async () => {
    const spent: string[] = []
    t = await startTestHost({pinSource: new OneTimePinSource('1234', 10, (why) => spent.push(why), now), pairing: {limits: {freePerSource: 100}, now}})
    const guesser = await createClientIdentity()
    const c = client(t, guesser)
    await c.serverInfo()
    // one wrong attempt, phases 1-3 by hand, keeping what an eavesdropper or guesser sees
    const salt = randomBytes(16)
    const r1 = await c.httpGet('/pair', {phrase: 'getservercert', salt: salt.toString('hex'), clientcert: Buffer.from(guesser.certPem).toString('hex')})
    expect(r1.get('paired')).toBe('1')
    const serverCertPem = Buffer.from(r1.get('plaincert')!, 'hex').toString('utf8')
    const encChallenge = aes(pairingKey(salt, '0000'), randomBytes(16), true)
    const r2 = await c.httpGet('/pair', {clientchallenge: encChallenge.toString('hex')})
    const challengeResponse = Buffer.from(r2.get('challengeresponse')!, 'hex')
    const r3 = await c.httpGet('/pair', {serverchallengeresp: randomBytes(32).toString('hex')})
    const serverSecret = Buffer.from(r3.get('pairingsecret')!, 'hex').subarray(0, 16)
    await c.httpGet('/unpair')
    expect(spent).toHaveLength(1)

    // the offline search: the PIN whose key makes the host's answer consistent
    const hostSig = certSignature(serverCertPem)
    const found: string[] = []
    for (let p = 0; p < 10_000; p++) {
      const pin = String(p).padStart(4, '0')
      const key = pairingKey(salt, pin)
      const challenge = aes(key, encChallenge, false)
      if (aes(key, challengeResponse, false).subarray(0, 32).equals(sha256(challenge, hostSig, serverSecret))) found.push(pin)
    }
    expect(found).toEqual(['1234'])

    // … and it wins nothing: the PIN died with that attempt
    const again = await getServerCert(client(t, guesser), guesser)
    expect(again.statusCode).toBe(400)
    expect(again.statusMessage).toMatch(/spent/)
    expect((await client(t, await createClientIdentity()).pair('1234')).outcome).toBe('refused')
    expect(t.host.pairedClients()).toHaveLength(0)
  })

  it('pairs once, then needs a new PIN; expires unused after its minutes', async () => {
    const pins = new OneTimePinSource('4321', 10, () => {}, now)
    t = await startTestHost({pinSource: pins, pairing: {now}})
    expect((await client(t, await createClientIdentity()).pair('4321')).outcome).toBe('paired')
    expect((await client(t, await createClientIdentity()).pair('4321')).outcome).toBe('refused')
    const fresh = new OneTimePinSource('5555', 10, () => {}, now)
    clock.ms += 10 * 60_000
    await expect(fresh.getPin()).rejects.toThrow(/expired after 10 min/)
  })
})

describe('pending pairing attempts', () => {
  it('holds at most 2 per address, expires them after 60 s, and the owner still pairs', async () => {
    t = await startTestHost({pin: '1234', pairing: {now}})
    const [stranger, owner] = await Promise.all([createClientIdentity(), createClientIdentity()])
    // 8 phase-1 requests with different uniqueids (issue 21.2's attack), never continued
    for (let i = 0; i < 8; i++) expect((await getServerCert(client(t, stranger, `STRANGER${i}`), stranger)).get('paired')).toBe('1')
    const s = t.host.stats().pairing
    expect(s.pending).toBe(2)
    expect(s.evicted).toBe(6)
    clock.ms += 61_000
    expect((await client(t, owner).pair('1234')).outcome).toBe('paired')
    expect(t.host.stats().pairing.expired).toBe(2)
    expect(t.host.stats().pairing.pending).toBe(0)
  })
})
