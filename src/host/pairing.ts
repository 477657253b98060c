/**
 * The pairing handshake (http-and-pairing.md §6), host side: pure crypto helpers, the PIN
 * source interface, and the per-uniqueid state machine. Nothing is stored unless phase 4 checks
 * out; every attempt draws fresh server secrets and challenges.
 */
import {createCipheriv, createDecipheriv, createHash, randomBytes, sign, timingSafeEqual, verify, X509Certificate as NodeX509} from 'node:crypto'
import {createInterface} from 'node:readline'

// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API
import 'reflect-metadata'
import * as x509 from '@peculiar/x509'

import {PAIRING_LIMITS} from './limits.js'
import {PinGuard} from './pin-guard.js'

/** Where the operator's PIN comes from: a terminal prompt, a fixed `--pin`, a web form … */
export interface PinSource {
  /** Resolves with the 4-digit PIN for this pairing attempt; rejects (or aborts) to refuse it. */
  getPin(request: PinRequest): Promise<string>
  /** Called when an attempt is about to use its PIN (phase 2); false refuses the attempt. A
   * one-time PIN is spent here. Sources that hand out a fresh PIN per attempt leave it out. */
  claim?(pin: string, request: Omit<PinRequest, 'signal'>): boolean
}

export interface PinRequest {
  uniqueid: string
  /** the client's address as seen by the HTTP server */
  address: string
  /** aborted when the attempt is superseded or the host stops */
  signal: AbortSignal
}

/** `lumen serve --pin NNNN`: every attempt gets the same PIN. */
export class FixedPinSource implements PinSource {
  constructor(private readonly pin: string) {
    if (!/^\d{4}$/.test(pin)) throw new Error(`the PIN must be 4 digits, got '${pin}'`)
  }

  async getPin(): Promise<string> {
    return this.pin
  }
}

/**
 * `lumen serve --pin NNNN` (LUMEN_PIN): the owner's PIN, good for ONE pairing attempt and
 * `minutes` minutes. The first attempt that uses it (paired or not) spends it: one wrong attempt's
 * transcript is enough to find a 4-digit PIN offline, so a PIN must never serve a second one.
 */
export class OneTimePinSource implements PinSource {
  private spent?: string
  private readonly expiresAt: number

  constructor(
    private readonly pin: string,
    readonly minutes: number,
    private readonly onSpent: (why: string) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {
    if (!/^\d{4}$/.test(pin)) throw new Error(`the PIN must be 4 digits, got '${pin}'`)
    this.expiresAt = now() + minutes * 60_000
  }

  async getPin(): Promise<string> {
    if (this.spent !== undefined) throw new Error(`the --pin PIN was spent by ${this.spent}: restart serve with a new --pin to pair another client`)
    if (this.now() >= this.expiresAt) throw new Error(`the --pin PIN expired after ${this.minutes} min: restart serve with a new --pin`)
    return this.pin
  }

  claim(pin: string, request: Omit<PinRequest, 'signal'>): boolean {
    if (pin !== this.pin) return true
    if (this.spent !== undefined || this.now() >= this.expiresAt) return false
    this.spent = `the pairing attempt from ${request.address}`
    this.onSpent(this.spent)
    return true
  }
}

/** Asks on the terminal (prompt on stderr, answer from stdin). */
export class TerminalPinSource implements PinSource {
  constructor(
    private readonly input: NodeJS.ReadableStream = process.stdin,
    private readonly output: NodeJS.WritableStream = process.stderr,
  ) {}

  getPin(request: PinRequest): Promise<string> {
    return new Promise((resolve, reject) => {
      const rl = createInterface({input: this.input, output: this.output, terminal: false})
      const onAbort = (): void => {
        rl.close()
        reject(new Error('pairing attempt cancelled'))
      }
      request.signal.addEventListener('abort', onAbort, {once: true})
      const ask = (): void => {
        rl.question(`Pairing request from ${request.address}: type the 4-digit PIN the Moonlight client shows: `, (answer) => {
          const pin = answer.trim()
          if (!/^\d{4}$/.test(pin)) {
            this.output.write('The PIN is 4 digits.\n')
            ask()
            return
          }
          request.signal.removeEventListener('abort', onAbort)
          rl.close()
          resolve(pin)
        })
      }
      ask()
    })
  }
}

export function pairingKey(salt: Buffer, pin: string): Buffer {
  return createHash('sha256').update(Buffer.concat([salt, Buffer.from(pin, 'ascii')])).digest().subarray(0, 16)
}

export function aesEcb(key: Buffer, data: Buffer, encrypt: boolean): Buffer {
  if (data.length % 16 !== 0) throw new Error('AES-ECB input must be a multiple of 16 bytes')
  const c = encrypt ? createCipheriv('aes-128-ecb', key, null) : createDecipheriv('aes-128-ecb', key, null)
  c.setAutoPadding(false)
  return Buffer.concat([c.update(data), c.final()])
}

/** sig(cert): the certificate's own signatureValue bits (not a new signature). */
export function certSignature(certDerOrPem: Buffer | string): Buffer {
  const cert = new x509.X509Certificate(typeof certDerOrPem === 'string' ? certDerOrPem : new Uint8Array(certDerOrPem))
  return Buffer.from(cert.signature)
}

export function sha256(...parts: Buffer[]): Buffer {
  return createHash('sha256').update(Buffer.concat(parts)).digest()
}

export class PairingError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PairingError'
  }
}

/** Phase 1 refused: the address (or the host) had too many wrong PINs and must wait waitMs. */
export class PairingWait extends PairingError {
  constructor(readonly waitMs: number) {
    super(`too many wrong PINs: try again in ${Math.ceil(waitMs / 1000)} s`)
    this.name = 'PairingWait'
  }
}

type Phase = 'waiting-pin' | 'servercert' | 'challenge' | 'serverchallengeresp'

interface Pending {
  phase: Phase
  uniqueid: string
  address: string
  createdAt: number
  clientPem: string
  clientDer: Buffer
  pin?: string
  /** the attempt answered phase 2 with its PIN: ending without a pairing counts as a wrong PIN */
  pinUsed: boolean
  key?: Buffer
  serverSecret?: Buffer
  serverChallenge?: Buffer
  clientHash?: Buffer
  abort: AbortController
  timer: NodeJS.Timeout
}

export interface PairingHostIdentity {
  certPem: string
  keyPem: string
}

/** Limits on what a client may send during pairing. */
const MAX_CLIENT_PEM = 8192

export type PairingLimits = typeof PAIRING_LIMITS

export interface PairingOptions {
  limits?: Partial<PairingLimits>
  /** the clock (tests drive it) */
  now?: () => number
  log?: (message: string) => void
}

export interface PairingStats {
  pending: number
  /** attempts that used their PIN (answered phase 2) */
  pinChecks: number
  wrongPins: number
  /** phase-1 requests refused because the address (or the host) must wait */
  refusedWaiting: number
  /** pending attempts that gave way to newer ones, or expired */
  evicted: number
  expired: number
}

/**
 * Pending pairing attempts keyed by source address and uniqueid (Moonlight clients share one
 * uniqueid, so it alone names no one). Bounded per address and in all (PAIRING_LIMITS): a new
 * attempt replaces its address's oldest, or the oldest attempt of the address holding the most;
 * each expires after attemptMs. Each method is one phase; each throws PairingError for an
 * out-of-order or failed step, after dropping the pending state.
 */
export class PairingManager {
  private readonly pending = new Map<string, Pending>()
  private readonly hostSig: Buffer
  private readonly limits: PairingLimits
  private readonly now: () => number
  private readonly guard: PinGuard
  private readonly log: (message: string) => void
  private readonly counters = {pinChecks: 0, refusedWaiting: 0, evicted: 0, expired: 0}

  constructor(
    private readonly host: PairingHostIdentity,
    private readonly pins: PinSource,
    private readonly onPaired: (clientPem: string) => void,
    options: PairingOptions = {},
  ) {
    this.hostSig = certSignature(host.certPem)
    this.limits = {...PAIRING_LIMITS, ...options.limits}
    this.now = options.now ?? Date.now
    this.guard = new PinGuard(this.limits, this.now)
    this.log = options.log ?? (() => {})
  }

  /** Phase 1: stores the client's PEM and salt, waits for the PIN, returns the host's PEM. */
  async getServerCert(uniqueid: string, salt: Buffer, clientPemBytes: Buffer, address: string): Promise<string> {
    const id = attemptKey(uniqueid, address)
    this.drop(id)
    this.expire()
    if (salt.length !== 16) throw new PairingError('salt must be 16 bytes')
    if (clientPemBytes.length > MAX_CLIENT_PEM) throw new PairingError('client certificate too large')
    const clientPem = clientPemBytes.toString('utf8')
    let clientDer: Buffer
    try {
      const c = new NodeX509(clientPem)
      if (c.publicKey.asymmetricKeyType !== 'rsa') throw new Error('not RSA')
      clientDer = c.raw
    } catch (error) {
      throw new PairingError(`clientcert is not an RSA certificate in PEM form (${(error as Error).message})`)
    }
    const wait = this.guard.waitMs(address)
    if (wait > 0) {
      this.counters.refusedWaiting++
      throw new PairingWait(wait)
    }
    this.makeRoom(address)
    const abort = new AbortController()
    const timer = setTimeout(() => {
      if (this.pending.get(id) !== entry) return
      this.counters.expired++
      this.drop(id)
    }, this.limits.attemptMs)
    timer.unref?.()
    const entry: Pending = {phase: 'waiting-pin', uniqueid, address, createdAt: this.now(), clientPem, clientDer, pinUsed: false, abort, timer}
    this.pending.set(id, entry)
    let pin: string
    try {
      pin = await this.pins.getPin({uniqueid, address, signal: abort.signal})
    } catch (error) {
      if (this.pending.get(id) === entry) this.drop(id)
      throw new PairingError(`no PIN: ${(error as Error).message}`)
    }
    if (this.pending.get(id) !== entry) throw new PairingError('pairing attempt superseded or expired')
    if (!/^\d{4}$/.test(pin)) {
      this.drop(id)
      throw new PairingError('the PIN must be 4 digits')
    }
    entry.pin = pin
    entry.key = pairingKey(salt, pin)
    entry.phase = 'servercert'
    return this.host.certPem
  }

  /** Phase 2: answers the client's challenge; draws a fresh serverSecret and serverChallenge. */
  clientChallenge(uniqueid: string, encryptedChallenge: Buffer, address: string): Buffer {
    const id = attemptKey(uniqueid, address)
    const p = this.expect(id, 'servercert')
    if (encryptedChallenge.length !== 16) return this.fail(id, 'clientchallenge must be 16 bytes')
    // this answer lets its holder test PINs offline: the PIN is used now, and a one-time PIN is spent
    if (this.pins.claim !== undefined && !this.pins.claim(p.pin!, {uniqueid, address})) return this.fail(id, 'the PIN was already used by another attempt')
    p.pinUsed = true
    this.counters.pinChecks++
    const challenge = aesEcb(p.key!, encryptedChallenge, false)
    p.serverSecret = randomBytes(16)
    p.serverChallenge = randomBytes(16)
    const h = sha256(challenge, this.hostSig, p.serverSecret)
    p.phase = 'challenge'
    return aesEcb(p.key!, Buffer.concat([h, p.serverChallenge]), true)
  }

  /** Phase 3: keeps the client's hash, returns serverSecret ‖ Sign(serverSecret). */
  serverChallengeResp(uniqueid: string, encrypted: Buffer, address: string): Buffer {
    const id = attemptKey(uniqueid, address)
    const p = this.expect(id, 'challenge')
    if (encrypted.length !== 32) return this.fail(id, 'serverchallengeresp must be 32 bytes')
    p.clientHash = aesEcb(p.key!, encrypted, false)
    p.phase = 'serverchallengeresp'
    return Buffer.concat([p.serverSecret!, sign('sha256', p.serverSecret!, this.host.keyPem)])
  }

  /** Phase 4: verifies the client's hash and signature; stores the certificate only if both hold. */
  clientPairingSecret(uniqueid: string, secretAndSig: Buffer, address: string): boolean {
    const id = attemptKey(uniqueid, address)
    const p = this.expect(id, 'serverchallengeresp')
    this.forget(id, p)
    const ok = this.verifySecret(p, secretAndSig)
    if (!ok) {
      this.wrongPin(p)
      return false
    }
    this.guard.paired(address)
    try {
      this.onPaired(p.clientPem)
    } catch (error) {
      // the store could not be written (a full disk): the client is told, nothing was saved
      throw new PairingError(`the PIN was right but the host could not save the pairing: ${(error as Error).message}`)
    }
    return true
  }

  private verifySecret(p: Pending, secretAndSig: Buffer): boolean {
    if (secretAndSig.length <= 16 || secretAndSig.length > 16 + 1024) return false
    const clientSecret = secretAndSig.subarray(0, 16)
    const signature = secretAndSig.subarray(16)
    const expected = sha256(p.serverChallenge!, certSignature(p.clientDer), clientSecret)
    const hashOk = expected.length === p.clientHash!.length && timingSafeEqual(expected, p.clientHash!)
    let sigOk = false
    try {
      sigOk = verify('sha256', clientSecret, new NodeX509(p.clientPem).publicKey, signature)
    } catch {
      sigOk = false
    }
    return hashOk && sigOk
  }

  /** /unpair from this address or a failed step: forget the attempt (and cancel a PIN prompt). */
  dropAttempt(uniqueid: string, address: string): void {
    this.drop(attemptKey(uniqueid, address))
  }

  dropAll(): void {
    for (const id of [...this.pending.keys()]) this.drop(id)
  }

  get pendingCount(): number {
    return this.pending.size
  }

  stats(): PairingStats {
    return {pending: this.pending.size, wrongPins: this.guard.failures, ...this.counters}
  }

  private drop(id: string): void {
    const p = this.pending.get(id)
    if (p === undefined) return
    this.forget(id, p)
    p.abort.abort()
    if (p.pinUsed) this.wrongPin(p)
  }

  private forget(id: string, p: Pending): void {
    this.pending.delete(id)
    clearTimeout(p.timer)
  }

  private wrongPin(p: Pending): void {
    this.guard.failed(p.address)
    const wait = this.guard.waitMs(p.address)
    this.log(`pairing from ${p.address} failed after using its PIN${wait > 0 ? `: its next attempt waits ${Math.ceil(wait / 1000)} s` : ''}`)
  }

  private expire(): void {
    const t = this.now()
    for (const [id, p] of [...this.pending]) {
      if (t - p.createdAt < this.limits.attemptMs) continue
      this.counters.expired++
      this.drop(id)
    }
  }

  /** Room for one more attempt from this address: its own oldest gives way first, then the
   * oldest attempt of the address holding the most. */
  private makeRoom(address: string): void {
    const mine = [...this.pending].filter(([, p]) => p.address === address)
    if (mine.length >= this.limits.perSource) {
      this.counters.evicted++
      this.drop(mine[0][0])
    }
    if (this.pending.size < this.limits.total) return
    const perAddress = new Map<string, number>()
    for (const p of this.pending.values()) perAddress.set(p.address, (perAddress.get(p.address) ?? 0) + 1)
    const most = Math.max(...perAddress.values())
    const victim = [...this.pending].find(([, p]) => perAddress.get(p.address) === most)
    if (victim !== undefined) {
      this.counters.evicted++
      this.drop(victim[0])
    }
  }

  private expect(id: string, phase: Phase): Pending {
    const p = this.pending.get(id)
    if (p === undefined) throw new PairingError('no pairing in progress for this client')
    if (p.phase !== phase) return this.fail(id, `pairing step out of order (at ${p.phase}, expected ${phase})`)
    return p
  }

  private fail(id: string, message: string): never {
    this.drop(id)
    throw new PairingError(message)
  }
}

function attemptKey(uniqueid: string, address: string): string {
  return `${address.replace(/^::ffff:/, '')}\n${uniqueid}`
}
