/**
 * Faults against the host's store (src/host/store.ts) with the real `lumen serve` CLI: SIGKILL at
 * random moments around a pairing's write, shared by the suite (a few rounds) and
 * bench/store-kill.ts (200).
 */
import {randomBytes} from 'node:crypto'
import {readdirSync, readFileSync} from 'node:fs'
import {connect} from 'node:net'
import {join} from 'node:path'

import {certFingerprint} from '../../src/host/store.js'
import {MoonlightTestClient, createClientIdentity} from '../client/client.js'
import {pair} from '../client/pairing.js'
import {exited, startServeCli} from '../serve/processes.js'

/** The flags every fault test's serve runs with: no calibration, no capture hardware, no audio. */
export const QUIET_SERVE = ['--codecs', 'h264', '--source', 'synthetic', '--audio', 'off']

export const TEMP_FILE = /\.tmp-\d+-[0-9a-f]{8}$/

export function tempFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => TEMP_FILE.test(f))
}

/** The fingerprints state.json holds; throws when it does not parse as the store's format. */
export function storedClients(dir: string): string[] {
  const s = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as {version: number; uniqueid: string; clients: Array<{fingerprint: string; certPem: string}>}
  if (s.version !== 1 || typeof s.uniqueid !== 'string' || !Array.isArray(s.clients)) throw new Error('state.json is not a store state')
  for (const c of s.clients) if (certFingerprint(c.certPem) !== c.fingerprint) throw new Error(`client ${c.fingerprint} does not match its certificate`)
  return s.clients.map((c) => c.fingerprint)
}

export interface KillRound {
  /** what state.json held after the kill */
  held: 'old' | 'new'
  /** temporary files the killed serve left */
  leftovers: number
  /** temporary files still there once the next serve had started (must be 0) */
  leftAfterRestart: number
  /** µs between sending the last pairing step and SIGKILL */
  delayUs: number
}

const spinUs = (us: number): void => {
  const end = process.hrtime.bigint() + BigInt(Math.round(us * 1000))
  while (process.hrtime.bigint() < end) {
    // a busy wait: timers are too coarse for the microseconds a write takes
  }
}

/**
 * One round on `dir`: serve starts (and must clear the previous round's temporary files), a new
 * client pairs, and serve is SIGKILLed `delayUs` after the client sent the step whose answer
 * saves it (clientpairingsecret). state.json must then parse and hold the clients it held before,
 * with or without the new one, and nothing else.
 */
export async function killRound(dir: string, maxDelayUs: number): Promise<KillRound> {
  const before = storedClientsOrNone(dir)
  const serve = await startServeCli(['--config-dir', dir, ...QUIET_SERVE])
  if (!serve.stderr().includes('lumen serve: HTTP')) {
    serve.child.kill('SIGKILL')
    throw new Error(`serve did not start on ${dir}: ${serve.stderr()}`)
  }
  const leftAfterRestart = tempFiles(dir).length
  const identity = await createClientIdentity()
  const client = new MoonlightTestClient({host: '127.0.0.1', httpPort: serve.base, identity})
  await client.serverInfo()
  const delayUs = Math.random() * maxDelayUs
  const gone = exited(serve.child, 10_000)
  await pair(
    async (q, secure) => {
      if (secure) throw new Error('killed')
      if (q.clientpairingsecret === undefined) return client.httpGet('/pair', {devicename: 'kill', updateState: '1', ...q})
      // the saving step on a socket already connected, so the kill's delay counts from the moment the request leaves
      const socket = connect(serve.base, '127.0.0.1')
      socket.on('error', () => undefined)
      await new Promise<void>((r) => socket.once('connect', () => r()))
      const query = new URLSearchParams({uniqueid: client.uniqueid, uuid: randomBytes(16).toString('hex'), devicename: 'kill', updateState: '1', ...q})
      socket.write(`GET /pair?${query} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`)
      spinUs(delayUs)
      serve.child.kill('SIGKILL')
      socket.destroy()
      throw new Error('killed')
    },
    async () => undefined,
    identity,
    '1234',
  ).catch(() => undefined)
  await gone
  const after = storedClients(dir)
  const fp = certFingerprint(identity.certPem)
  const old = before.join(',')
  let held: KillRound['held']
  if (after.join(',') === old) held = 'old'
  else if (after.filter((f) => f !== fp).join(',') === old && after.includes(fp)) held = 'new'
  else throw new Error(`state.json holds neither the old nor the new clients: ${after.length} clients, ${before.length} before`)
  return {held, leftovers: tempFiles(dir).length, leftAfterRestart, delayUs}
}

function storedClientsOrNone(dir: string): string[] {
  try {
    return storedClients(dir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
}
