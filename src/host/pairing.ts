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

/** Where the operator's PIN comes from: a terminal prompt, a fixed `--pin`, a web form … */
export interface PinSource {
  /** Resolves with the 4-digit PIN for this pairing attempt; rejects (or aborts) to refuse it. */
  getPin(request: PinRequest): Promise<string>
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

type Phase = 'waiting-pin' | 'servercert' | 'challenge' | 'serverchallengeresp'

interface Pending {
  phase: Phase
  clientPem: string
  clientDer: Buffer
  key?: Buffer
  serverSecret?: Buffer
  serverChallenge?: Buffer
  clientHash?: Buffer
  abort: AbortController
}

export interface PairingHostIdentity {
  certPem: string
  keyPem: string
}

/** Limits on what a client may send during pairing. */
const MAX_CLIENT_PEM = 8192

/**
 * Pending pairing attempts keyed by uniqueid. Each method is one phase; each throws
 * PairingError for an out-of-order or failed step, after dropping the pending state.
 */
export class PairingManager {
  private readonly pending = new Map<string, Pending>()
  private readonly hostSig: Buffer

  constructor(
    private readonly host: PairingHostIdentity,
    private readonly pins: PinSource,
    private readonly onPaired: (clientPem: string) => void,
    private readonly maxPending = 8,
  ) {
    this.hostSig = certSignature(host.certPem)
  }

  /** Phase 1: stores the client's PEM and salt, waits for the PIN, returns the host's PEM. */
  async getServerCert(uniqueid: string, salt: Buffer, clientPemBytes: Buffer, address: string): Promise<string> {
    this.drop(uniqueid)
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
    if (this.pending.size >= this.maxPending) throw new PairingError('too many pairing attempts in progress')
    const abort = new AbortController()
    const entry: Pending = {phase: 'waiting-pin', clientPem, clientDer, abort}
    this.pending.set(uniqueid, entry)
    let pin: string
    try {
      pin = await this.pins.getPin({uniqueid, address, signal: abort.signal})
    } catch (error) {
      if (this.pending.get(uniqueid) === entry) this.pending.delete(uniqueid)
      throw new PairingError(`no PIN: ${(error as Error).message}`)
    }
    if (this.pending.get(uniqueid) !== entry) throw new PairingError('pairing attempt superseded')
    if (!/^\d{4}$/.test(pin)) {
      this.pending.delete(uniqueid)
      throw new PairingError('the PIN must be 4 digits')
    }
    entry.key = pairingKey(salt, pin)
    entry.phase = 'servercert'
    return this.host.certPem
  }

  /** Phase 2: answers the client's challenge; draws a fresh serverSecret and serverChallenge. */
  clientChallenge(uniqueid: string, encryptedChallenge: Buffer): Buffer {
    const p = this.expect(uniqueid, 'servercert')
    if (encryptedChallenge.length !== 16) return this.fail(uniqueid, 'clientchallenge must be 16 bytes')
    const challenge = aesEcb(p.key!, encryptedChallenge, false)
    p.serverSecret = randomBytes(16)
    p.serverChallenge = randomBytes(16)
    const h = sha256(challenge, this.hostSig, p.serverSecret)
    p.phase = 'challenge'
    return aesEcb(p.key!, Buffer.concat([h, p.serverChallenge]), true)
  }

  /** Phase 3: keeps the client's hash, returns serverSecret ‖ Sign(serverSecret). */
  serverChallengeResp(uniqueid: string, encrypted: Buffer): Buffer {
    const p = this.expect(uniqueid, 'challenge')
    if (encrypted.length !== 32) return this.fail(uniqueid, 'serverchallengeresp must be 32 bytes')
    p.clientHash = aesEcb(p.key!, encrypted, false)
    p.phase = 'serverchallengeresp'
    return Buffer.concat([p.serverSecret!, sign('sha256', p.serverSecret!, this.host.keyPem)])
  }

  /** Phase 4: verifies the client's hash and signature; stores the certificate only if both hold. */
  clientPairingSecret(uniqueid: string, secretAndSig: Buffer): boolean {
    const p = this.expect(uniqueid, 'serverchallengeresp')
    this.pending.delete(uniqueid)
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
    if (!hashOk || !sigOk) return false
    try {
      this.onPaired(p.clientPem)
    } catch (error) {
      // the store could not be written (a full disk): the client is told, nothing was saved
      throw new PairingError(`the PIN was right but the host could not save the pairing: ${(error as Error).message}`)
    }
    return true
  }

  /** /unpair or a failed step: forget the attempt (and cancel a PIN prompt). */
  drop(uniqueid: string): void {
    const p = this.pending.get(uniqueid)
    if (p === undefined) return
    this.pending.delete(uniqueid)
    p.abort.abort()
  }

  dropAll(): void {
    for (const id of [...this.pending.keys()]) this.drop(id)
  }

  get pendingCount(): number {
    return this.pending.size
  }

  private expect(uniqueid: string, phase: Phase): Pending {
    const p = this.pending.get(uniqueid)
    if (p === undefined) throw new PairingError('no pairing in progress for this client')
    if (p.phase !== phase) return this.fail(uniqueid, `pairing step out of order (at ${p.phase}, expected ${phase})`)
    return p
  }

  private fail(uniqueid: string, message: string): never {
    this.drop(uniqueid)
    throw new PairingError(message)
  }
}
