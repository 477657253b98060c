/**
 * The host's persistent identity and state in $XDG_CONFIG_HOME/lumen/ (default ~/.config/lumen/):
 * the RSA-2048 self-signed certificate and key, a stable uniqueid, the paired clients'
 * certificates and the app list. Every write is atomic (temporary file, fsync, rename, fsync of
 * the folder); a store that cannot be read is reported with its path and never overwritten.
 */
import {createHash, randomBytes, randomUUID, webcrypto, X509Certificate as NodeX509} from 'node:crypto'
import {closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync, writeSync, existsSync} from 'node:fs'
import {homedir} from 'node:os'
import {dirname, join, resolve} from 'node:path'

// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API
import 'reflect-metadata'
import * as x509 from '@peculiar/x509'

import {type AppsLoad, checkApps} from './apps.js'
import type {PrepStep} from './app-prep.js'

export class StoreCorruptError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`${path} cannot be used (${reason}); it was left untouched: fix or remove it, then start again`)
    this.name = 'StoreCorruptError'
  }
}

export interface PairedClient {
  /** SHA-256 of the certificate's DER, lower-case hex: the client's identity */
  fingerprint: string
  name: string
  certPem: string
  pairedAt: string
  enabled: boolean
}

export interface AppEntry {
  id: number
  title: string
  /** command to run on launch; absent = nothing to start (the desktop) */
  cmd?: string
  hdr?: boolean
  /** a PNG file shown as box art */
  image?: string
  /** the folder `cmd` runs in (apps.json "working-dir") */
  workingDir?: string
  /** commands around the app (apps.json "prep-cmd"): each `do` before it starts, each `undo` after it stops */
  prep?: PrepStep[]
}

interface StateFile {
  version: 1
  uniqueid: string
  clients: PairedClient[]
}

export function defaultConfigDir(): string {
  const xdg = process.env.XDG_CONFIG_HOME
  return join(xdg !== undefined && xdg !== '' ? xdg : join(homedir(), '.config'), 'lumen')
}

/** A store file that could not be written; the file as it was before is kept. */
export class StoreWriteError extends Error {
  constructor(
    readonly path: string,
    cause: NodeJS.ErrnoException,
  ) {
    const why = cause.code === 'ENOSPC' || cause.code === 'EDQUOT' ? 'no space left on its file system: free some' : cause.code === 'EROFS' ? 'its file system is read-only' : cause.message
    super(`cannot save ${path} (${why}); the previous version is kept`, {cause})
    this.name = 'StoreWriteError'
  }
}

/** The temporary files atomicWrite leaves when the process dies between open and rename: `<name>.tmp-<pid>-<8 hex>`. */
const TEMP_FILE = /^.+\.tmp-(\d+)-[0-9a-f]{8}$/

/** Writes data to path atomically: temp file in the same folder, fsync, rename, fsync the folder. */
export function atomicWrite(path: string, data: string | Buffer, mode = 0o600): void {
  const dir = join(path, '..')
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`
  let fd: number
  try {
    fd = openSync(tmp, 'wx', mode)
  } catch (error) {
    throw new StoreWriteError(path, error as NodeJS.ErrnoException)
  }
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
    let off = 0
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off)
    fsyncSync(fd)
  } catch (error) {
    closeSync(fd)
    try {
      unlinkSync(tmp)
    } catch {}
    throw new StoreWriteError(path, error as NodeJS.ErrnoException)
  }
  closeSync(fd)
  renameSync(tmp, path)
  const dfd = openSync(dir, 'r')
  try {
    fsyncSync(dfd)
  } finally {
    closeSync(dfd)
  }
}

export function certFingerprint(certDerOrPem: Buffer | string): string {
  const der = typeof certDerOrPem === 'string' ? new NodeX509(certDerOrPem).raw : certDerOrPem
  return createHash('sha256').update(der).digest('hex')
}

// Node's webcrypto implements the Crypto interface @peculiar/x509 expects
x509.cryptoProvider.set(webcrypto as never)

const RSA_ALG = {name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048} as const

/** A new RSA-2048 SHA-256 self-signed certificate and its PKCS#8 key, both PEM. */
export async function createSelfSignedCert(commonName: string, years: number): Promise<{certPem: string; keyPem: string}> {
  const keys = (await webcrypto.subtle.generateKey(RSA_ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair
  const notBefore = new Date(Date.now() - 24 * 3600 * 1000)
  const notAfter = new Date(notBefore.getTime() + years * 365 * 24 * 3600 * 1000)
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex').replace(/^[89a-f]/, '1'),
    name: `CN=${commonName}`,
    notBefore,
    notAfter,
    signingAlgorithm: RSA_ALG,
    keys,
    extensions: [new x509.BasicConstraintsExtension(false, undefined, true)],
  })
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey))
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`
  return {certPem: `${cert.toString('pem')}\n`, keyPem}
}

export const DEFAULT_APPS: AppEntry[] = [{id: 1, title: 'Desktop'}]

export class HostStore {
  readonly certPem: string
  readonly keyPem: string
  readonly certDer: Buffer
  private state: StateFile
  private appList: AppEntry[]
  /** apps.json entries left out, each with its index and field */
  appProblems: string[] = []

  private constructor(
    readonly dir: string,
    cert: {certPem: string; keyPem: string},
    state: StateFile,
    apps: AppEntry[],
  ) {
    this.certPem = cert.certPem
    this.keyPem = cert.keyPem
    this.certDer = new NodeX509(cert.certPem).raw
    this.state = state
    this.appList = apps
  }

  get certPath(): string {
    return join(this.dir, 'host-cert.pem')
  }

  static paths(dir: string) {
    return {cert: join(dir, 'host-cert.pem'), key: join(dir, 'host-key.pem'), state: join(dir, 'state.json'), apps: join(dir, 'apps.json')}
  }

  /** Opens (creating on first use) the store in `dir`. Throws StoreCorruptError for a bad file. */
  static async open(dir: string = defaultConfigDir()): Promise<HostStore> {
    makeDir(dir)
    removeLeftovers(dir)
    const p = HostStore.paths(dir)
    let cert: {certPem: string; keyPem: string}
    const hasCert = existsSync(p.cert)
    const hasKey = existsSync(p.key)
    if (hasCert !== hasKey) throw new StoreCorruptError(hasCert ? p.key : p.cert, `it is missing while ${hasCert ? p.cert : p.key} exists`)
    if (hasCert) {
      cert = {certPem: readFileSync(p.cert, 'utf8'), keyPem: readFileSync(p.key, 'utf8')}
      try {
        const c = new NodeX509(cert.certPem)
        if (c.publicKey.asymmetricKeyType !== 'rsa') throw new Error('the certificate key is not RSA')
        if (!c.checkPrivateKey((await import('node:crypto')).createPrivateKey(cert.keyPem))) throw new Error('the key does not match the certificate')
      } catch (error) {
        throw new StoreCorruptError(p.cert, (error as Error).message)
      }
    } else {
      cert = await createSelfSignedCert('Lumen GameStream Host', 20)
      atomicWrite(p.key, cert.keyPem, 0o600)
      atomicWrite(p.cert, cert.certPem, 0o644)
    }
    let state: StateFile
    if (existsSync(p.state)) state = parseState(p.state, readFileSync(p.state, 'utf8'))
    else {
      state = {version: 1, uniqueid: randomUUID().toUpperCase(), clients: []}
      atomicWrite(p.state, `${JSON.stringify(state, null, 2)}\n`)
    }
    let apps: AppEntry[]
    let appProblems: string[] = []
    if (existsSync(p.apps)) ({apps, problems: appProblems} = parseApps(p.apps, readFileSync(p.apps, 'utf8')))
    else {
      apps = DEFAULT_APPS.map((a) => ({...a}))
      atomicWrite(p.apps, `${JSON.stringify(apps, null, 2)}\n`, 0o644)
    }
    const store = new HostStore(dir, cert, state, apps)
    store.appProblems = appProblems
    return store
  }

  get uniqueid(): string {
    return this.state.uniqueid
  }

  apps(): AppEntry[] {
    return this.appList.map((a) => ({...a}))
  }

  app(id: number): AppEntry | undefined {
    return this.appList.find((a) => a.id === id)
  }

  clients(): PairedClient[] {
    return this.state.clients.map((c) => ({...c}))
  }

  /** The paired, enabled client with this certificate (DER), if any. */
  findClient(certDer: Buffer): PairedClient | undefined {
    const fp = createHash('sha256').update(certDer).digest('hex')
    return this.state.clients.find((c) => c.fingerprint === fp && c.enabled)
  }

  addClient(certPem: string, name: string): PairedClient {
    const fingerprint = certFingerprint(certPem)
    const client: PairedClient = {fingerprint, name, certPem, pairedAt: new Date().toISOString(), enabled: true}
    const clients = [...this.state.clients.filter((c) => c.fingerprint !== fingerprint), client]
    this.save({...this.state, clients})
    return {...client}
  }

  /** Removes a client by fingerprint (or a unique prefix of it); returns whether one was removed. */
  removeClient(fingerprintPrefix: string): boolean {
    const matches = this.state.clients.filter((c) => c.fingerprint.startsWith(fingerprintPrefix.toLowerCase()))
    if (matches.length !== 1) return false
    this.save({...this.state, clients: this.state.clients.filter((c) => c !== matches[0])})
    return true
  }

  private save(next: StateFile): void {
    atomicWrite(HostStore.paths(this.dir).state, `${JSON.stringify(next, null, 2)}\n`)
    this.state = next
  }
}

function parseState(path: string, text: string): StateFile {
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch (error) {
    throw new StoreCorruptError(path, `not valid JSON: ${(error as Error).message}`)
  }
  const s = v as Partial<StateFile>
  if (typeof s !== 'object' || s === null || s.version !== 1) throw new StoreCorruptError(path, 'expected an object with "version": 1')
  if (typeof s.uniqueid !== 'string' || s.uniqueid.length === 0) throw new StoreCorruptError(path, '"uniqueid" is missing')
  if (!Array.isArray(s.clients)) throw new StoreCorruptError(path, '"clients" is not a list')
  for (const [i, c] of s.clients.entries()) {
    if (typeof c?.certPem !== 'string' || typeof c.fingerprint !== 'string') throw new StoreCorruptError(path, `client ${i} lacks certPem/fingerprint`)
    try {
      if (certFingerprint(c.certPem) !== c.fingerprint) throw new Error('fingerprint does not match')
    } catch (error) {
      throw new StoreCorruptError(path, `client ${i}: ${(error as Error).message}`)
    }
    if (typeof c.enabled !== 'boolean') c.enabled = true
    if (typeof c.name !== 'string') c.name = ''
  }
  return s as StateFile
}

function parseApps(path: string, text: string): AppsLoad {
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch (error) {
    throw new StoreCorruptError(path, `not valid JSON: ${(error as Error).message}`)
  }
  if (!Array.isArray(v) || v.length === 0) throw new StoreCorruptError(path, 'expected a non-empty list of apps')
  const {apps, problems} = checkApps(v)
  if (apps.length === 0) throw new StoreCorruptError(path, `no app in it can be used: ${problems.join('; ')}`)
  return {apps, problems}
}

/**
 * mkdir -p, one level at a time: Node's recursive mkdirSync loops forever on a path it cannot
 * create under some file systems (`/proc/nope`), where this throws the ENOENT or EACCES of the
 * first level that fails.
 */
function makeDir(dir: string): void {
  const missing: string[] = []
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) {
    missing.unshift(d)
    if (dirname(d) === d) break
  }
  for (const d of missing) mkdirSync(d, {mode: 0o700})
  // what mkdir(2) says of a path a file already holds
  if (!statSync(dir).isDirectory()) throw Object.assign(new Error(`EEXIST: file already exists, mkdir '${dir}'`), {code: 'EEXIST', syscall: 'mkdir', path: dir})
}

/** Removes the temporary files of writes a killed process never finished (a live process's are left alone). */
function removeLeftovers(dir: string): void {
  for (const name of readdirSync(dir)) {
    const m = TEMP_FILE.exec(name)
    if (m === null) continue
    const pid = Number(m[1])
    if (pid !== process.pid && processAlive(pid)) continue
    try {
      unlinkSync(join(dir, name))
    } catch {}
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
