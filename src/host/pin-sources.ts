/**
 * PIN sources beside the terminal and --pin (src/host/pairing.ts): the one `lumen pair` feeds
 * through the control socket, and the race of several (the terminal and the socket), whichever
 * answers first.
 */
import type {PinRequest, PinSource} from './pairing.js'

/** A PIN typed into `lumen pair` before the client asked is kept this long for the next request. */
const ARMED_PIN_MS = 120_000

interface Waiting {
  request: PinRequest
  resolve(pin: string): void
}

/** PINs entered through the control socket (`lumen pair [PIN]`). */
export class SocketPinSource implements PinSource {
  private readonly waiting: Waiting[] = []
  private armed?: {pin: string; until: number}
  private readonly watchers = new Set<(request: PinRequest) => void>()

  getPin(request: PinRequest): Promise<string> {
    if (this.armed !== undefined && Date.now() <= this.armed.until) {
      const {pin} = this.armed
      this.armed = undefined
      return Promise.resolve(pin)
    }
    this.armed = undefined
    return new Promise((resolve, reject) => {
      const entry: Waiting = {request, resolve}
      this.waiting.push(entry)
      request.signal.addEventListener(
        'abort',
        () => {
          const i = this.waiting.indexOf(entry)
          if (i >= 0) this.waiting.splice(i, 1)
          reject(new Error('pairing attempt cancelled'))
        },
        {once: true},
      )
      for (const w of this.watchers) w(request)
    })
  }

  /** Hands the PIN to the oldest waiting request (returned), or keeps it for the next one (undefined). */
  enter(pin: string): PinRequest | undefined {
    if (!/^\d{4}$/.test(pin)) throw new Error(`the PIN is 4 digits, got '${pin}'`)
    const next = this.waiting.shift()
    if (next === undefined) {
      this.armed = {pin, until: Date.now() + ARMED_PIN_MS}
      return undefined
    }
    next.resolve(pin)
    return next.request
  }

  /** The oldest request waiting for a PIN, or the next one to come. */
  nextRequest(signal: AbortSignal): Promise<PinRequest> {
    if (this.waiting.length > 0) return Promise.resolve(this.waiting[0].request)
    return new Promise((resolve, reject) => {
      const watcher = (r: PinRequest): void => {
        this.watchers.delete(watcher)
        resolve(r)
      }
      this.watchers.add(watcher)
      signal.addEventListener(
        'abort',
        () => {
          this.watchers.delete(watcher)
          reject(new Error('stopped waiting'))
        },
        {once: true},
      )
    })
  }

  get waitingCount(): number {
    return this.waiting.length
  }
}

/** The first PIN any of the sources gives; the others' prompts are cancelled. */
export class FirstPinSource implements PinSource {
  constructor(private readonly sources: readonly PinSource[]) {}

  async getPin(request: PinRequest): Promise<string> {
    const done = new AbortController()
    const cancel = (): void => done.abort()
    request.signal.addEventListener('abort', cancel, {once: true})
    try {
      return await Promise.any(this.sources.map((s) => s.getPin({...request, signal: done.signal})))
    } catch {
      throw new Error(request.signal.aborted ? 'pairing attempt cancelled' : 'no PIN source answered')
    } finally {
      request.signal.removeEventListener('abort', cancel)
      done.abort()
    }
  }
}
