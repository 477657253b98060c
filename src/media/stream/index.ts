/**
 * `lumen serve`'s StartStream: each stream gets a video worker thread (./worker.ts) and an audio
 * worker thread (../audio/worker.ts), sharing flags and counters with this side through one
 * SharedArrayBuffer (./shared.ts). requestIdr() sets a flag the video worker reads on its very
 * next frame; stop() raises the stop flag and resolves once both workers have exited and every
 * shim handle they opened is closed: a worker that does not stop within STOP_GRACE_MS is
 * terminated (which skips its own cleanup), and whatever its handle ledger (./ledger.ts) still
 * records — send thread, sockets, encoder, capture — is closed from here.
 */
import {existsSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {Worker} from 'node:worker_threads'

import type {ShimHandle} from '../../native/handles.js'
import type {StartStream, StreamPipeline, StreamStartOptions, StreamStats} from '../../protocol/pipeline.js'
import {streamRate} from '../../protocol/stream-config.js'
import {HandleLedger, LEDGER_BYTES} from './ledger.js'
import {Counter, Flag, type MediaOptions, SHARED_BYTES, sharedViews, type WorkerData, type WorkerKind, type WorkerMessage} from './shared.js'

export type {MediaOptions} from './shared.js'

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error('cannot find the lumen package root')
    dir = parent
  }
  return dir
}

/** The compiled worker script: next to this module when it runs from dist/, else dist/ itself
 * (vitest runs the .ts sources; a worker thread needs the built .js). */
function workerScript(rel: 'stream/worker.js' | 'audio/worker.js'): string {
  const here = dirname(fileURLToPath(import.meta.url))
  const sibling = join(here, '..', rel)
  if (existsSync(sibling)) return sibling
  const built = join(packageRoot(), 'dist', 'src', 'media', rel)
  if (existsSync(built)) return built
  throw new Error(`the media worker ${built} is not built: run 'npm run build'`)
}

export interface StreamEvents {
  /** one line for the log (worker started/stopped/failed) */
  onLog?: (message: string) => void
}

/** How long stop() waits for the workers to stop by themselves before it terminates them. */
const STOP_GRACE_MS = 5000

const WORKER_SCRIPT: Readonly<Record<WorkerKind, 'stream/worker.js' | 'audio/worker.js'>> = {video: 'stream/worker.js', audio: 'audio/worker.js'}

export class MediaStream implements StreamPipeline {
  readonly flags: Int32Array
  readonly counters: Float64Array
  readonly fps: number
  private readonly workers: Worker[] = []
  private readonly exits: Array<Promise<void>> = []
  private idrRequests = 0
  private stopping: Promise<void> | undefined
  readonly reports: WorkerMessage[] = []
  /** shim handles a worker left open when it exited (terminated), closed from this thread */
  readonly released: Array<ShimHandle & {worker: WorkerKind}> = []
  /** resolves when the video worker queued its first frame, rejects if it failed first */
  readonly ready: Promise<void>
  /** resolves with the reason when video fails after it started (the capture source died); never when stopped */
  readonly failed: Promise<string>

  constructor(
    readonly start: StreamStartOptions,
    readonly options: MediaOptions,
    private readonly events: StreamEvents = {},
  ) {
    const sab = new SharedArrayBuffer(SHARED_BYTES)
    const v = sharedViews(sab)
    this.flags = v.flags
    this.counters = v.counters
    this.fps = streamRate(start.config.video, options.maxFps)
    let readyResolve!: () => void
    let readyReject!: (e: Error) => void
    this.ready = new Promise<void>((resolve, reject) => {
      readyResolve = resolve
      readyReject = reject
    })
    this.ready.catch(() => undefined)
    const video = this.spawn({kind: 'video', config: start.config, peer: start.video.peer, socketFd: start.video.socket?.fd ?? -1, sab, options})
    let failedResolve!: (reason: string) => void
    this.failed = new Promise<string>((resolve) => (failedResolve = resolve))
    let started = false
    video.on('message', (m: WorkerMessage) => {
      if (m.type === 'started') {
        started = true
        readyResolve()
      }
      if (m.type === 'error') {
        readyReject(new Error(`video pipeline: ${m.message}`))
        if (started && this.stopping === undefined) failedResolve(m.message)
      }
    })
    video.once('exit', () => {
      readyReject(new Error('the video worker exited before it started'))
      if (started && this.stopping === undefined) failedResolve('the video worker exited')
    })
    if (start.audio !== undefined && options.audio !== 'off') {
      this.spawn({kind: 'audio', config: start.config, peer: start.audio.peer, socketFd: start.audio.socket?.fd ?? -1, sab, options})
    }
  }

  private spawn(data: Omit<WorkerData, 'ledger'>): Worker {
    const ledgerSab = new SharedArrayBuffer(LEDGER_BYTES)
    const workerData: WorkerData = {...data, ledger: ledgerSab}
    const w = new Worker(workerScript(WORKER_SCRIPT[data.kind]), {workerData})
    this.workers.push(w)
    const name = data.kind
    w.on('message', (m: WorkerMessage) => {
      this.reports.push(m)
      if (m.type === 'error') this.events.onLog?.(`${name}: ${m.message}`)
      else if (m.type === 'log') this.events.onLog?.(`${name}: ${m.line}`)
      else if (m.type === 'started') this.events.onLog?.(`${name}: started ${describe(m)}`)
    })
    w.on('error', (e) => this.events.onLog?.(`${name} worker crashed: ${e.message}`))
    this.exits.push(
      new Promise<void>((resolve) =>
        w.once('exit', () => {
          // the thread is gone: nothing uses its handles any more
          const left = new HandleLedger(ledgerSab).release()
          if (left.length > 0) {
            this.released.push(...left.map((h) => ({...h, worker: name})))
            this.events.onLog?.(`${name}: closed ${left.map((h) => h.kind).join(', ')} the worker left open`)
          }
          resolve()
        }),
      ),
    )
    return w
  }

  /** false once stop() was called */
  get active(): boolean {
    return this.stopping === undefined
  }

  requestIdr(reason: 'client-request' | 'rfi' | 'start'): void {
    // the stream starts with an IDR: a request made before that first frame has left (the
    // client's "Start A" at connection) is answered by it, not by a second IDR
    if (Atomics.load(this.flags, Flag.firstSent) === 0) return
    Atomics.store(this.flags, Flag.idr, 1)
    if (reason !== 'start') {
      this.idrRequests++
      // an IDR/RFI request after the start means the client lost a frame it could not rebuild
      Atomics.add(this.flags, Flag.clientLost, 1)
    }
  }

  stop(): Promise<void> {
    return this.end(STOP_GRACE_MS)
  }

  /** stop() without the grace period: terminates the workers at once (their own cleanup does
   * not run) and closes what they held from this thread. */
  terminate(): Promise<void> {
    return this.end(0)
  }

  private end(graceMs: number): Promise<void> {
    if (this.stopping !== undefined) return this.stopping
    // a terminate gives no signal first: a worker told to stop would start its own cleanup and
    // race the main thread's release of what it holds
    if (graceMs > 0) Atomics.store(this.flags, Flag.stop, 1)
    this.stopping = (async () => {
      const all = Promise.all(this.exits)
      if (graceMs > 0) {
        const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref())
        if ((await Promise.race([all, timeout])) !== 'timeout') return
        this.events.onLog?.(`a media worker did not stop within ${graceMs / 1000} s; terminating it`)
      }
      await Promise.all(this.workers.map((w) => w.terminate()))
      Atomics.store(this.flags, Flag.stop, 1)
      await all
    })()
    return this.stopping
  }

  stats(): StreamStats {
    const c = this.counters
    return {
      framesSent: c[Counter.framesSent],
      uniqueFrames: c[Counter.uniqueFrames],
      reencodedFrames: c[Counter.reencodedFrames],
      idrFrames: c[Counter.idrFrames],
      lateFrames: c[Counter.lateFrames],
      packetsSent: c[Counter.packetsSent],
      bytesSent: c[Counter.bytesSent],
      idrRequests: this.idrRequests,
    }
  }

  /** Figures for the live status line. */
  live(): {fps: number; mbps: number; encodeP99Us: number; clientLost: number; audioPackets: number; largestBurst: number} {
    const c = this.counters
    return {
      fps: c[Counter.fpsLastSecond],
      mbps: (c[Counter.bytesLastSecond] * 8) / 1e6,
      encodeP99Us: c[Counter.encodeP99Us],
      clientLost: Atomics.load(this.flags, Flag.clientLost),
      audioPackets: c[Counter.audioPackets],
      largestBurst: c[Counter.burstLastSecond],
    }
  }
}

function describe(m: WorkerMessage): string {
  return Object.entries(m)
    .filter(([k]) => k !== 'type' && k !== 'kind')
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' ')
}

/** The StartStream `lumen serve` hands to GameStreamHost. `onStream` sees every stream started. */
export function createStartStream(options: MediaOptions, events: StreamEvents & {onStream?: (s: MediaStream) => void} = {}): StartStream {
  return async (start) => {
    const stream = new MediaStream(start, options, events)
    events.onStream?.(stream)
    try {
      await stream.ready
    } catch (error) {
      await stream.stop()
      throw error
    }
    return stream
  }
}
