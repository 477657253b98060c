/**
 * The local control socket of a running `lumen serve`: a unix socket only its user can open
 * (mode 0600 in a 0700 folder, and each peer's uid checked with SO_PEERCRED), speaking
 * line-delimited JSON, one request per connection:
 *
 *   → {"cmd": "pair", "pin": "1234", "waitMs": 30000}   ← {"ok": true, "result": {...}}
 *   → {"cmd": "pair"}                                   ← {"event": "pairing-request", ...}  → {"pin": "1234"}  ← {"ok": ...}
 *   → {"cmd": "clients"} | {"cmd": "unpair", "client": "name or fingerprint"} | {"cmd": "status"}
 *   ← {"ok": false, "error": {"code": "failed", "message": "..."}}
 *
 * `lumen pair`, `lumen clients` and `lumen status` (src/cli/local-control-client.ts) are its clients.
 */
import {chmodSync, existsSync, lstatSync, mkdirSync, unlinkSync} from 'node:fs'
import {createConnection, createServer, type Server, type Socket} from 'node:net'
import {dirname, join} from 'node:path'

import {peerUid} from '../native/peercred.js'
import type {SocketPinSource} from './pin-sources.js'
import type {GameStreamHost} from './server.js'
import {defaultConfigDir, type HostStore, type PairedClient} from './store.js'

/** A request or answer line longer than this is refused (every request is a few dozen bytes). */
export const MAX_CONTROL_LINE = 4096
const DEFAULT_PAIR_WAIT_MS = 60_000
const MAX_PAIR_WAIT_MS = 600_000

export function defaultSocketPath(): string {
  const runtime = process.env.XDG_RUNTIME_DIR
  return runtime !== undefined && runtime !== '' ? join(runtime, 'lumen', 'control.sock') : join(defaultConfigDir(), 'control.sock')
}

/** One stream's figures, the same the TTY status line shows. */
export interface StreamFigures {
  sessionId?: number
  client?: string
  fps: number
  mbps: number
  encodeP99Ms: number
  roundTripMs?: number
  lostFrames: number
  missingPackets: number
}

export interface ClientRow {
  name: string
  fingerprint: string
  pairedAt: string
  /** the last authenticated HTTPS request of this serve run; undefined when none since it started */
  lastSeen?: string
  streaming: boolean
}

export interface LocalControlOptions {
  path: string
  host: GameStreamHost
  pins: SocketPinSource
  streams(): StreamFigures[]
  log(message: string): void
}

type Reply = {ok: true; result: unknown} | {ok: false; error: {code: 'failed' | 'invalid_argument' | 'usage'; message: string}}

/** The socket path already answers: another serve holds it. */
export class ControlSocketBusy extends Error {}

class RequestError extends Error {
  constructor(
    readonly code: 'failed' | 'invalid_argument' | 'usage',
    message: string,
  ) {
    super(message)
  }
}

/** Reads one line (at most MAX_CONTROL_LINE bytes) from the socket. */
export function readLine(socket: Socket, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0)
    const cleanup = (): void => {
      socket.off('data', onData)
      socket.off('end', onEnd)
      socket.off('error', onError)
      signal?.removeEventListener('abort', onEnd)
    }
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d])
      const nl = buf.indexOf(0x0a)
      if (nl < 0 && buf.length <= MAX_CONTROL_LINE) return
      cleanup()
      if (nl < 0 || nl > MAX_CONTROL_LINE) reject(new RequestError('usage', `a control line is at most ${MAX_CONTROL_LINE} bytes`))
      else {
        const rest = buf.subarray(nl + 1)
        if (rest.length > 0) socket.unshift(rest)
        resolve(buf.subarray(0, nl).toString('utf8'))
      }
    }
    const onEnd = (): void => {
      cleanup()
      reject(new RequestError('failed', 'the connection closed'))
    }
    const onError = (e: Error): void => {
      cleanup()
      reject(e)
    }
    socket.on('data', onData)
    socket.once('end', onEnd)
    socket.once('error', onError)
    signal?.addEventListener('abort', onEnd, {once: true})
  })
}

function parseLine(line: string): Record<string, unknown> {
  let v: unknown
  try {
    v = JSON.parse(line)
  } catch {
    throw new RequestError('usage', 'a control request is one JSON object per line')
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new RequestError('usage', 'a control request is one JSON object per line')
  return v as Record<string, unknown>
}

/** Remembers when each client last made an authenticated HTTPS call (the store keeps no such time). */
function trackLastSeen(store: HostStore): Map<string, number> {
  const seen = new Map<string, number>()
  const find = store.findClient.bind(store)
  store.findClient = (der) => {
    const c = find(der)
    if (c !== undefined) seen.set(c.fingerprint, Date.now())
    return c
  }
  return seen
}

export class LocalControlServer {
  private readonly server: Server
  private readonly lastSeen: Map<string, number>
  private readonly sockets = new Set<Socket>()
  refused = 0

  private constructor(private readonly options: LocalControlOptions) {
    this.lastSeen = trackLastSeen(options.host.store)
    this.server = createServer((socket) => this.accept(socket))
  }

  /** Listens on options.path: its folder made 0700 when Lumen creates it, the socket 0600; a stale socket is replaced, a live one is an error. */
  static async start(options: LocalControlOptions): Promise<LocalControlServer> {
    const dir = dirname(options.path)
    if (!existsSync(dir)) mkdirSync(dir, {recursive: true, mode: 0o700})
    if (existsSync(options.path)) {
      if (!lstatSync(options.path).isSocket()) throw new Error(`${options.path} exists and is not a socket: remove it or pick another --socket`)
      if (await answers(options.path)) throw new ControlSocketBusy(`another lumen serve answers on ${options.path}`)
      unlinkSync(options.path)
    }
    const s = new LocalControlServer(options)
    const umask = process.umask(0o177)
    try {
      await new Promise<void>((resolve, reject) => {
        s.server.once('error', reject)
        s.server.listen(options.path, () => resolve())
      })
    } finally {
      process.umask(umask)
    }
    chmodSync(options.path, 0o600)
    return s
  }

  async close(): Promise<void> {
    for (const sock of this.sockets) sock.destroy()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
    try {
      unlinkSync(this.options.path)
    } catch {
      // already gone
    }
  }

  private accept(socket: Socket): void {
    let uid: number | undefined
    try {
      uid = peerUid(socket)
    } catch {
      uid = undefined
    }
    if (uid === undefined || uid !== process.getuid!()) {
      // another user (or an unknown peer): not even an answer
      this.refused++
      this.options.log(`control socket: refused a connection from uid ${uid ?? 'unknown'}`)
      socket.destroy()
      return
    }
    this.sockets.add(socket)
    socket.once('close', () => this.sockets.delete(socket))
    const abort = new AbortController()
    socket.once('close', () => abort.abort())
    socket.on('error', () => {})
    this.serve(socket, abort.signal).then(
      (reply) => socket.end(`${JSON.stringify(reply)}\n`),
      () => socket.destroy(),
    )
  }

  private async serve(socket: Socket, signal: AbortSignal): Promise<Reply> {
    try {
      const req = parseLine(await readLine(socket, signal))
      return {ok: true, result: await this.handle(req, socket, signal)}
    } catch (error) {
      const code = error instanceof RequestError ? error.code : 'failed'
      return {ok: false, error: {code, message: (error as Error).message}}
    }
  }

  private async handle(req: Record<string, unknown>, socket: Socket, signal: AbortSignal): Promise<unknown> {
    switch (req.cmd) {
      case 'pair':
        return this.pair(req, socket, signal)
      case 'clients':
        return {clients: this.clients()}
      case 'unpair':
        return this.unpair(req.client)
      case 'status':
        return {streams: this.options.streams()}
      default:
        throw new RequestError('usage', `unknown control command ${JSON.stringify(req.cmd)}; the commands are pair, clients, unpair, status`)
    }
  }

  private clients(): ClientRow[] {
    const streaming = new Set(this.options.host.stats().streams.map((s) => s.client))
    return this.options.host.pairedClients().map((c) => {
      const seen = this.lastSeen.get(c.fingerprint)
      return {name: c.name, fingerprint: c.fingerprint, pairedAt: c.pairedAt, lastSeen: seen === undefined ? undefined : new Date(seen).toISOString(), streaming: streaming.has(c.fingerprint)}
    })
  }

  private async pair(req: Record<string, unknown>, socket: Socket, signal: AbortSignal): Promise<unknown> {
    const waitMs = typeof req.waitMs === 'number' && Number.isFinite(req.waitMs) ? Math.min(Math.max(req.waitMs, 0), MAX_PAIR_WAIT_MS) : DEFAULT_PAIR_WAIT_MS
    let pin = req.pin
    if (pin === undefined) {
      const request = await this.options.pins.nextRequest(signal)
      socket.write(`${JSON.stringify({event: 'pairing-request', address: request.address, uniqueid: request.uniqueid})}\n`)
      pin = parseLine(await readLine(socket, signal)).pin
    }
    if (typeof pin !== 'string' || !/^\d{4}$/.test(pin)) throw new RequestError('invalid_argument', `the PIN is the 4 digits the Moonlight client shows, got ${JSON.stringify(pin)}`)
    const paired = this.nextPaired(waitMs, signal)
    const request = this.options.pins.enter(pin)
    const to = request === undefined ? 'kept for the next pairing request' : `given to the pairing request from ${request.address}`
    const client = await paired
    if (client === undefined) throw new RequestError('failed', `the PIN was ${to}, but no client paired within ${Math.round(waitMs / 1000)} s: a wrong PIN, or the client gave up; start pairing on the client again`)
    return {paired: {name: client.name, fingerprint: client.fingerprint, address: request?.address}}
  }

  private nextPaired(waitMs: number, signal: AbortSignal): Promise<PairedClient | undefined> {
    return new Promise((resolve) => {
      const host = this.options.host
      const done = (c: PairedClient | undefined): void => {
        clearTimeout(timer)
        host.off('paired', done)
        signal.removeEventListener('abort', onAbort)
        resolve(c)
      }
      const onAbort = (): void => done(undefined)
      const timer = setTimeout(() => done(undefined), waitMs)
      host.on('paired', done)
      signal.addEventListener('abort', onAbort, {once: true})
    })
  }

  /** Revokes a client by name or fingerprint (a unique prefix of 8+ hex digits) and ends its streams. */
  private async unpair(who: unknown): Promise<unknown> {
    if (typeof who !== 'string' || who === '') throw new RequestError('invalid_argument', 'name the client to unpair (its name or fingerprint, as `lumen clients` lists)')
    const all = this.options.host.pairedClients()
    let matches = all.filter((c) => c.name === who)
    if (matches.length === 0 && /^[0-9a-f]{8,64}$/i.test(who)) matches = all.filter((c) => c.fingerprint.startsWith(who.toLowerCase()))
    if (matches.length === 0) throw new RequestError('invalid_argument', `no paired client is named or has the fingerprint '${who}'; \`lumen clients\` lists them`)
    if (matches.length > 1) throw new RequestError('invalid_argument', `'${who}' names ${matches.length} clients; give more of the fingerprint`)
    const client = matches[0]
    if (!this.options.host.unpair(client.fingerprint)) throw new RequestError('failed', `could not remove client ${client.fingerprint}`)
    const ended: number[] = []
    for (const s of this.options.host.stats().streams) {
      if (s.client !== client.fingerprint) continue
      if (await this.options.host.endSession(s.sessionId, 'client unpaired')) ended.push(s.sessionId)
    }
    this.options.log(`unpaired client '${client.name}' ${client.fingerprint.slice(0, 16)}${ended.length > 0 ? `, ended stream ${ended.join(', ')}` : ''}`)
    return {unpaired: {name: client.name, fingerprint: client.fingerprint}, endedStreams: ended}
  }
}

/** Whether something listens on the socket path. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection(path)
    c.once('connect', () => {
      c.destroy()
      resolve(true)
    })
    c.once('error', () => resolve(false))
  })
}
