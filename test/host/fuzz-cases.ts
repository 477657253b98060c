/**
 * Fuzzing of every host parser: seed corpora taken from the protocol documents, byte- and
 * text-level mutators, and one runner per parser. A runner fails (throws) only when a parser
 * throws something other than its declared error class, or accepts an input beyond its bounds.
 * Used by test/host/fuzz.test.ts (10,000 inputs each) and bench/fuzz.ts (1,000,000).
 */
import {createCipheriv} from 'node:crypto'

import {ControlDecodeError} from '../../src/host/errors.js'
import {decodeClientMessage, openControl, sealControl} from '../../src/host/control-codec.js'
import type {HttpApiHost} from '../../src/host/http-api.js'
import {NvHttpApi} from '../../src/host/http-api.js'
import {decodeInputPacket} from '../../src/host/input.js'
import {FixedPinSource, PairingManager} from '../../src/host/pairing.js'
import {parseHex, parseTarget, QUERY_LIMITS, QueryError} from '../../src/host/query.js'
import {openRtsp, parseRtspRequest, peekEncryptedFrame, RTSP_LIMITS, RtspParseError, sealRtsp} from '../../src/host/rtsp-codec.js'
import {parseAnnounce, SdpError} from '../../src/host/sdp.js'
import type {HostStore} from '../../src/host/store.js'
import {announceBody} from '../client/rtsp.js'

/** mulberry32: a small deterministic PRNG, so a failing input can be replayed from its seed. */
export class Rng {
  private s: number
  constructor(seed: number) {
    this.s = seed >>> 0
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  int(n: number): number {
    return Math.floor(this.next() * n)
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n)
    for (let i = 0; i < n; i++) b[i] = this.int(256)
    return b
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]
  }
}

const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x0d, 0x3a, 0x20, 0x25, 0x3d, 0x26]
const INTERESTING_TEXT = ['', '0', '-1', '4294967296', '99999999999999999999', 'NaN', '%', '%zz', '\r\n', ':', '=', '&', '\u0000', 'ff'.repeat(300), '1e9']

/** One random mutation of bytes (or pure random bytes, or a splice with another seed). */
export function mutate(rng: Rng, input: Buffer, corpus: readonly Buffer[], maxLen = 1 << 16): Buffer {
  let b: Buffer = Buffer.from(input)
  const rounds = 1 + rng.int(4)
  for (let r = 0; r < rounds; r++) {
    const pos = b.length === 0 ? 0 : rng.int(b.length)
    switch (rng.int(11)) {
      case 0: // bit flip
        if (b.length > 0) b[pos] ^= 1 << rng.int(8)
        break
      case 1: // random byte
        if (b.length > 0) b[pos] = rng.int(256)
        break
      case 2: // interesting byte
        if (b.length > 0) b[pos] = rng.pick(INTERESTING)
        break
      case 3: // insert random bytes
        b = Buffer.concat([b.subarray(0, pos), rng.bytes(1 + rng.int(16)), b.subarray(pos)])
        break
      case 4: // delete a range
        b = Buffer.concat([b.subarray(0, pos), b.subarray(Math.min(b.length, pos + 1 + rng.int(32)))])
        break
      case 5: // duplicate a range
        b = Buffer.concat([b.subarray(0, pos), b.subarray(pos, pos + 1 + rng.int(64)), b.subarray(pos)])
        break
      case 6: // truncate
        b = b.subarray(0, pos)
        break
      case 7: // splice with another seed
        b = Buffer.concat([b.subarray(0, pos), rng.pick(corpus).subarray(rng.int(64))])
        break
      case 8: // interesting text
        b = Buffer.concat([b.subarray(0, pos), Buffer.from(rng.pick(INTERESTING_TEXT)), b.subarray(pos + rng.int(4))])
        break
      case 9: // pure random
        b = rng.bytes(rng.int(256))
        break
      default: // grow a digit run into a huge number
        if (b.length > 0) b = Buffer.concat([b.subarray(0, pos), Buffer.from('9'.repeat(1 + rng.int(24))), b.subarray(pos)])
    }
  }
  return b.length > maxLen ? b.subarray(0, maxLen) : b
}

export interface FuzzResult {
  name: string
  inputs: number
  accepted: number
  rejected: number
  ms: number
}

function expectError(error: unknown, ...allowed: Array<new (...a: never[]) => Error>): void {
  if (allowed.some((c) => error instanceof c)) return
  throw new Error(`parser crashed with ${(error as Error)?.name}: ${(error as Error)?.message}`, {cause: error})
}

const KEY = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex')

/** HTTP request targets: path + query with pairing hex, launch parameters. */
export function fuzzHttpQuery(count: number, seed: number): FuzzResult {
  const rng = new Rng(seed)
  const corpus = [
    '/serverinfo?uniqueid=0123456789ABCDEF&uuid=5e1c4c5a2f4b4c9e9d516f2e8a1b0c3d',
    `/pair?uniqueid=0123456789ABCDEF&uuid=1&devicename=roth&updateState=1&phrase=getservercert&salt=00112233445566778899aabbccddeeff&clientcert=${'2d'.repeat(600)}`,
    `/pair?uniqueid=0123456789ABCDEF&devicename=roth&updateState=1&clientchallenge=${'ab'.repeat(16)}`,
    `/pair?uniqueid=0123456789ABCDEF&devicename=roth&updateState=1&serverchallengeresp=${'cd'.repeat(32)}`,
    `/pair?uniqueid=0123456789ABCDEF&devicename=roth&updateState=1&clientpairingsecret=${'ef'.repeat(272)}`,
    '/launch?uniqueid=0123456789ABCDEF&appid=1&mode=1920x1080x60&additionalStates=1&sops=0&rikey=000102030405060708090a0b0c0d0e0f&rikeyid=-1902135159&localAudioPlayMode=0&surroundAudioInfo=196610&corever=1',
  ].map((s) => Buffer.from(s))
  const r: FuzzResult = {name: 'http-query', inputs: 0, accepted: 0, rejected: 0, ms: 0}
  const t0 = performance.now()
  for (let i = 0; i < count; i++) {
    const input = mutate(rng, rng.pick(corpus), corpus, 32 * 1024).toString('latin1')
    r.inputs++
    try {
      const t = parseTarget(input)
      if (t.params.size > QUERY_LIMITS.maxParams) throw new Error('too many params accepted')
      for (const [k, v] of t.params) {
        if (k.length > QUERY_LIMITS.maxKeyLength || v.length > QUERY_LIMITS.maxValueLength) throw new Error('overlong param accepted')
        if (/salt|challenge|resp|secret|rikey$|clientcert/.test(k)) {
          try {
            const b = parseHex(v, k, {max: 4096})
            if (b.length > 4096) throw new Error('overlong hex accepted')
          } catch (error) {
            expectError(error, QueryError)
          }
        }
      }
      r.accepted++
    } catch (error) {
      expectError(error, QueryError)
      r.rejected++
    }
  }
  r.ms = performance.now() - t0
  return r
}

/** The nvhttp API end to end without sockets: random pairing phases with mutated hex, launches. */
export async function fuzzPairingApi(store: HostStore, count: number, seed: number, clientCertPem: string): Promise<FuzzResult & {validAfter: boolean}> {
  const rng = new Rng(seed)
  const pairing = new PairingManager(store, new FixedPinSource('1234'), () => {
    throw new Error('fuzzing must never complete a pairing')
  })
  const host: HttpApiHost = {
    hostname: 'fuzz',
    httpPort: () => 47989,
    httpsPort: () => 47984,
    rtspPort: () => 48010,
    codecModeSupport: 1,
    maxLumaPixelsHevc: 0,
    rtspEncryption: true,
    currentApp: () => undefined,
    launch: async () => {
      throw new Error('fuzzing must never launch: no paired certificate is presented')
    },
    cancel: async () => {},
    malformed: () => {},
    log: () => {},
  }
  const api = new NvHttpApi(store, pairing, host)
  const certHex = Buffer.from(clientCertPem).toString('hex')
  const corpus = [
    `/pair?uniqueid=A&phrase=getservercert&salt=00112233445566778899aabbccddeeff&clientcert=${certHex}`,
    `/pair?uniqueid=A&clientchallenge=${'ab'.repeat(16)}`,
    `/pair?uniqueid=A&serverchallengeresp=${'cd'.repeat(32)}`,
    `/pair?uniqueid=A&clientpairingsecret=${'ef'.repeat(272)}`,
    '/pair?uniqueid=A&phrase=pairchallenge',
    '/unpair?uniqueid=A',
    '/applist?uniqueid=A',
    '/launch?uniqueid=A&appid=1&rikey=000102030405060708090a0b0c0d0e0f&rikeyid=1&localAudioPlayMode=0',
  ].map((s) => Buffer.from(s))
  const r = {name: 'pairing-api', inputs: 0, accepted: 0, rejected: 0, ms: 0, validAfter: false}
  const t0 = performance.now()
  for (let i = 0; i < count; i++) {
    // a valid phase 1 now and then, so later phases meet a pending attempt
    const seedInput = rng.int(8) === 0 ? corpus[0] : mutate(rng, rng.pick(corpus), corpus, 32 * 1024)
    r.inputs++
    const a = await api.handle({target: seedInput.toString('latin1'), secure: rng.int(2) === 0, localAddress: '127.0.0.1', localPort: 47989, remoteAddress: '127.0.0.1'})
    if (typeof a.body !== 'string' || !a.body.includes('status_code="')) throw new Error('API answered without a status code')
    if (a.body.includes('status_code="200"')) r.accepted++
    else r.rejected++
  }
  r.ms = performance.now() - t0
  const ok = await api.handle({target: '/serverinfo?uniqueid=X', secure: false, localAddress: '127.0.0.1', localPort: 47989, remoteAddress: '127.0.0.1'})
  r.validAfter = typeof ok.body === 'string' && ok.body.includes('status_code="200"') && ok.body.includes('<appversion>7.1.431.-1</appversion>')
  pairing.dropAll()
  return r
}

function rtspCorpus(): Buffer[] {
  const body = announceBody({width: 1280, height: 720, fps: 60, packetSize: 1392, configuredBitrateKbps: 10000, codec: 0, encryptionEnabled: 5, audioChannels: 2, minRequiredFecPackets: 2, slices: 1, hostAddress: '10.0.0.1', videoPort: 47998})
  const base = 'CSeq: 3\r\nX-GS-ClientVersion: 14\r\nHost: 0.0.0.0\r\n'
  return [
    `OPTIONS rtsp://0.0.0.0:48010 RTSP/1.0\r\n${base}\r\n`,
    `DESCRIBE rtsp://0.0.0.0:48010 RTSP/1.0\r\n${base}Accept: application/sdp\r\nIf-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n\r\n`,
    `SETUP streamid=audio/0/0 RTSP/1.0\r\n${base}Transport: unicast;X-GS-ClientPort=50000-50001\r\n\r\n`,
    `SETUP streamid=control/13/0 RTSP/1.0\r\n${base}Session: DEADBEEFCAFE\r\n\r\n`,
    `ANNOUNCE streamid=control/13/0 RTSP/1.0\r\n${base}Session: DEADBEEFCAFE\r\nContent-type: application/sdp\r\nContent-length: ${body.length}\r\n\r\n${body}`,
    `PLAY / RTSP/1.0\r\n${base}Session: DEADBEEFCAFE\r\n\r\n`,
  ].map((s) => Buffer.from(s))
}

/** RTSP requests, plain and as rtspenc frames. */
export function fuzzRtsp(count: number, seed: number): FuzzResult {
  const rng = new Rng(seed)
  const plain = rtspCorpus()
  const sealed = plain.map((p, i) => sealRtsp(KEY, i + 1, p, 'client'))
  const corpus = [...plain, ...sealed]
  const r: FuzzResult = {name: 'rtsp', inputs: 0, accepted: 0, rejected: 0, ms: 0}
  const t0 = performance.now()
  for (let i = 0; i < count; i++) {
    const input = mutate(rng, rng.pick(corpus), corpus, 96 * 1024)
    r.inputs++
    try {
      if ((input[0] ?? 0) & 0x80) {
        const f = peekEncryptedFrame(input)
        if (!f.complete) {
          r.rejected++
          continue
        }
        const opened = openRtsp(KEY, input.subarray(0, f.consumed), 'client')
        parseRtspRequest(opened.plain)
      } else {
        const p = parseRtspRequest(input)
        if (p.complete && p.request.body.length > RTSP_LIMITS.maxBodyBytes) throw new Error('oversized body accepted')
        if (p.complete && p.request.headers.size > RTSP_LIMITS.maxHeaders) throw new Error('too many headers accepted')
      }
      r.accepted++
    } catch (error) {
      expectError(error, RtspParseError)
      r.rejected++
    }
  }
  r.ms = performance.now() - t0
  return r
}

/** ANNOUNCE SDP bodies → StreamConfig. */
export function fuzzSdp(count: number, seed: number): FuzzResult {
  const rng = new Rng(seed)
  const corpus = [
    announceBody({width: 1280, height: 720, fps: 60, packetSize: 1392, configuredBitrateKbps: 10000, codec: 0, encryptionEnabled: 5, audioChannels: 2, minRequiredFecPackets: 2, slices: 1, hostAddress: '10.0.0.1', videoPort: 47998}),
    announceBody({width: 3840, height: 2160, fps: 120, packetSize: 1360, configuredBitrateKbps: 150000, codec: 1, encryptionEnabled: 7, audioChannels: 8, minRequiredFecPackets: 4, slices: 4, hostAddress: '10.0.0.1', videoPort: 47998}),
  ].map((s) => Buffer.from(s))
  const r: FuzzResult = {name: 'sdp', inputs: 0, accepted: 0, rejected: 0, ms: 0}
  const t0 = performance.now()
  for (let i = 0; i < count; i++) {
    const input = mutate(rng, rng.pick(corpus), corpus, 96 * 1024)
    r.inputs++
    try {
      const c = parseAnnounce(input, {riKey: KEY, riKeyId: 1})
      const v = c.video
      if (!(v.width > 0 && v.width <= 16384 && v.height > 0 && v.height <= 16384 && v.fps > 0 && v.fps <= 1000)) throw new Error(`out-of-range config accepted: ${JSON.stringify(v)}`)
      if (!Number.isFinite(v.bitrateKbps)) throw new Error('non-finite bitrate')
      r.accepted++
    } catch (error) {
      expectError(error, SdpError)
      r.rejected++
    }
  }
  r.ms = performance.now() - t0
  return r
}

function inputCorpus(): Buffer[] {
  const hex = [
    '00000006 0d000000 0100',
    '00000008 07000000 0001 0001',
    '0000000e 05000000 0064 00c8 0000 077f 0437',
    '00000005 08000000 01',
    '0000000a 03000000 00 4180 01 0000',
    '0000000a 0a000000 0078 0078 0000',
    '00000006 01000055 ff88',
    '0000001e 0c000000 1a00 0100 0200 1400 0110 ff00 0080 ff7f 0000 0100 9c00 1000 5500',
    '00000007 17000000 e282ac',
    '00000020 02000055 01 00 5a00 07000000 0000003f 0000003f 0000803f 0000003f 0000003f',
    '00000020 03000055 01 02 03 00 0000003f 0000003f 0000803f 5a00 10 00 0000003f 0000003f',
    '0000000c 04000055 00 02 ff01 ffff0f00',
    '00000014 05000055 00 01 00 00 01000000 0000003f 0000003f 0000803f',
    '00000014 06000055 00 02 0000 0000803f 00000040 00004040',
    '00000008 07000055 00 02 64 00',
  ]
  return hex.map((h) => Buffer.from(h.replace(/\s+/g, ''), 'hex'))
}

/** NV input packets (payload of 0x0206). */
export function fuzzInput(count: number, seed: number): FuzzResult {
  const rng = new Rng(seed)
  const corpus = inputCorpus()
  const r: FuzzResult = {name: 'input', inputs: 0, accepted: 0, rejected: 0, ms: 0}
  const t0 = performance.now()
  for (let i = 0; i < count; i++) {
    const input = mutate(rng, rng.pick(corpus), corpus, 4096)
    r.inputs++
    try {
      const e = decodeInputPacket(input)
      if (e.type === 'text' && Buffer.byteLength(e.text) > 96) throw new Error('overlong text accepted')
      r.accepted++
    } catch (error) {
      expectError(error, ControlDecodeError)
      r.rejected++
    }
  }
  r.ms = performance.now() - t0
  return r
}

/**
 * Encrypted control messages: mutated envelopes (mostly caught by the tag), and well-sealed
 * envelopes around mutated plaintext (which reach the message decoders).
 */
export function fuzzControl(count: number, seed: number): FuzzResult {
  const rng = new Rng(seed)
  const inputs = inputCorpus()
  const plains: Array<[number, Buffer]> = [
    [0x0302, Buffer.from([0, 0])],
    [0x0307, Buffer.from([0])],
    [0x0200, Buffer.from([4, 0, 0, 0, 0, 0, 0, 0])],
    [0x0301, Buffer.alloc(24, 1)],
    [0x0350, Buffer.from([5, 0, 0, 0, 0, 0, 0, 0])],
    [0x5502, Buffer.alloc(21, 2)],
    [0x0201, Buffer.alloc(32, 3)],
    ...inputs.map((p): [number, Buffer] => [0x0206, p]),
  ]
  const envelopes = plains.map(([t, p], i) => sealControl(KEY, i, t, p, 'client'))
  const r: FuzzResult = {name: 'control', inputs: 0, accepted: 0, rejected: 0, ms: 0}
  const t0 = performance.now()
  for (let i = 0; i < count; i++) {
    let packet: Buffer
    if (rng.int(2) === 0) packet = mutate(rng, rng.pick(envelopes), envelopes, 8192)
    else {
      const [type, payload] = rng.pick(plains)
      const body = mutate(rng, payload, inputs, 2048)
      packet = sealControl(KEY, rng.int(0x7fffffff), rng.int(8) === 0 ? rng.int(0x10000) : type, body, 'client')
      // sometimes lie about the inner length
      if (rng.int(4) === 0 && packet.length >= 28) {
        const plain = Buffer.alloc(4 + body.length)
        plain.writeUInt16LE(type, 0)
        plain.writeUInt16LE(rng.int(0x10000), 2)
        body.copy(plain, 4)
        packet = sealRaw(plain, rng.int(1000))
      }
    }
    r.inputs++
    try {
      const m = openControl(KEY, packet, 'client')
      decodeClientMessage(m.type, m.payload)
      r.accepted++
    } catch (error) {
      expectError(error, ControlDecodeError)
      r.rejected++
    }
  }
  r.ms = performance.now() - t0
  return r
}

/** Seals an arbitrary plaintext (whose inner length may lie) in a valid envelope. */
function sealRaw(plain: Buffer, seq: number): Buffer {
  // the envelope of a message of the same size, its tag and ciphertext replaced by `plain`'s
  const out = sealControl(KEY, seq, plain.readUInt16LE(0), plain.subarray(4), 'client')
  const iv = Buffer.alloc(12)
  iv.writeUInt32LE(seq, 0)
  iv[10] = 0x43
  iv[11] = 0x43
  const c = createCipheriv('aes-128-gcm', KEY, iv)
  const ct = Buffer.concat([c.update(plain), c.final()])
  ct.copy(out, 24)
  c.getAuthTag().copy(out, 8)
  return out
}

export const SYNC_FUZZERS = {
  'http-query': fuzzHttpQuery,
  rtsp: fuzzRtsp,
  sdp: fuzzSdp,
  control: fuzzControl,
  input: fuzzInput,
} as const
