/**
 * The client side of pairing (docs/protocol/http-and-pairing.md §6), as moonlight-qt does it: including the
 * check after phase 3 that detects a wrong PIN (then /unpair, no phase 4) unless told to skip it
 * like moonlight-embedded.
 */
import {createCipheriv, createDecipheriv, createHash, randomBytes, sign, verify, X509Certificate} from 'node:crypto'

// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API
import 'reflect-metadata'
import * as x509 from '@peculiar/x509'

export function pairingKey(salt: Buffer, pin: string): Buffer {
  return createHash('sha256').update(Buffer.concat([salt, Buffer.from(pin, 'ascii')])).digest().subarray(0, 16)
}

export function aes(key: Buffer, data: Buffer, encrypt: boolean): Buffer {
  const c = encrypt ? createCipheriv('aes-128-ecb', key, null) : createDecipheriv('aes-128-ecb', key, null)
  c.setAutoPadding(false)
  return Buffer.concat([c.update(data), c.final()])
}

export function certSignature(pem: string): Buffer {
  return Buffer.from(new x509.X509Certificate(pem).signature)
}

export function sha256(...parts: Buffer[]): Buffer {
  return createHash('sha256').update(Buffer.concat(parts)).digest()
}

export type PairOutcome = 'paired' | 'wrong-pin' | 'refused' | 'mitm'

export interface PairTranscript {
  outcome: PairOutcome
  salt: Buffer
  serverCertPem?: string
  /** bytes the host chose: serverChallenge, serverSecret */
  serverChallenge?: Buffer
  serverSecret?: Buffer
  detail?: string
}

/** One phase: GET /pair?…; returns the element values. */
export type PairCall = (query: Record<string, string>, secure: boolean) => Promise<{statusCode: number; get(name: string): string | undefined}>

export async function pair(call: PairCall, unpair: () => Promise<void>, identity: {certPem: string; keyPem: string}, pin: string, options: {skipPinCheck?: boolean} = {}): Promise<PairTranscript> {
  const salt = randomBytes(16)
  const key = pairingKey(salt, pin)
  const t: PairTranscript = {outcome: 'refused', salt}
  const fail = async (outcome: PairOutcome, detail: string): Promise<PairTranscript> => {
    await unpair().catch(() => undefined)
    return {...t, outcome, detail}
  }
  const r1 = await call({phrase: 'getservercert', salt: salt.toString('hex'), clientcert: Buffer.from(identity.certPem).toString('hex')}, false)
  if (r1.statusCode !== 200 || r1.get('paired') !== '1') return fail('refused', `phase 1: status ${r1.statusCode}`)
  const serverCertPem = Buffer.from(r1.get('plaincert') ?? '', 'hex').toString('utf8')
  t.serverCertPem = serverCertPem
  const serverCert = new X509Certificate(serverCertPem)

  const challenge = randomBytes(16)
  const r2 = await call({clientchallenge: aes(key, challenge, true).toString('hex')}, false)
  if (r2.statusCode !== 200 || r2.get('paired') !== '1') return fail('refused', `phase 2: status ${r2.statusCode}`)
  const resp = aes(key, Buffer.from(r2.get('challengeresponse') ?? '', 'hex'), false)
  if (resp.length < 48) return fail('refused', 'phase 2: short challengeresponse')
  const serverHash = resp.subarray(0, 32)
  t.serverChallenge = resp.subarray(32, 48)

  const clientSecret = randomBytes(16)
  const myHash = sha256(t.serverChallenge, certSignature(identity.certPem), clientSecret)
  const r3 = await call({serverchallengeresp: aes(key, myHash, true).toString('hex')}, false)
  if (r3.statusCode !== 200 || r3.get('paired') !== '1') return fail('refused', `phase 3: status ${r3.statusCode}`)
  const ps = Buffer.from(r3.get('pairingsecret') ?? '', 'hex')
  if (ps.length <= 16) return fail('refused', 'phase 3: short pairingsecret')
  t.serverSecret = ps.subarray(0, 16)
  if (!verify('sha256', t.serverSecret, serverCert.publicKey, ps.subarray(16))) return fail('mitm', 'server signature does not verify')
  if (!options.skipPinCheck && !sha256(challenge, certSignature(serverCertPem), t.serverSecret).equals(serverHash)) return fail('wrong-pin', 'hash mismatch after phase 3')

  const r4 = await call({clientpairingsecret: Buffer.concat([clientSecret, sign('sha256', clientSecret, identity.keyPem)]).toString('hex')}, false)
  if (r4.statusCode !== 200 || r4.get('paired') !== '1') return fail('wrong-pin', `phase 4: paired=${r4.get('paired')}`)
  const r5 = await call({phrase: 'pairchallenge'}, true)
  if (r5.statusCode !== 200 || r5.get('paired') !== '1') return fail('refused', `phase 5: status ${r5.statusCode}`)
  return {...t, outcome: 'paired'}
}
