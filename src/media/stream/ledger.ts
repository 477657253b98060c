/**
 * What a stream's worker thread holds in the shim, written where its main thread can read it:
 * a small table in a SharedArrayBuffer. The worker records each handle (socket, send thread,
 * encoder, capture) as it opens it and clears the record once it closed it; when the worker has
 * exited — normally, or terminated, which skips its `finally` — the main thread closes whatever
 * is still recorded, newest first (the send thread before its socket), so a stop can never leave
 * a send thread running or a socket or encoder open. A record cleared a moment late only makes
 * the main thread close a handle twice, which the shim refuses harmlessly (../../native/handles.ts).
 *
 * One writer (the worker) while it runs, one reader (the main thread) after it exited.
 */
import {closeShimHandle, SHIM_HANDLE_KINDS, type ShimHandle} from '../../native/handles.js'

/** Records a worker can hold at once (a video worker holds at most 6). */
const SLOTS = 32
/** Per record: kind (index in SHIM_HANDLE_KINDS + 1; 0 = free), handle, order of opening. */
const WORDS = 3
export const LEDGER_BYTES = SLOTS * WORDS * 4 + 4

export class HandleLedger {
  private readonly words: Int32Array
  private readonly seq: Int32Array

  constructor(sab: SharedArrayBuffer) {
    this.words = new Int32Array(sab, 0, SLOTS * WORDS)
    this.seq = new Int32Array(sab, SLOTS * WORDS * 4, 1)
  }

  /** Worker side: records an open handle; the returned function clears the record. */
  record(h: ShimHandle): () => void {
    const w = this.words
    for (let s = 0; s < SLOTS; s++) {
      const o = s * WORDS
      if (Atomics.load(w, o) !== 0) continue
      Atomics.store(w, o + 1, h.handle)
      Atomics.store(w, o + 2, Atomics.add(this.seq, 0, 1))
      Atomics.store(w, o, SHIM_HANDLE_KINDS.indexOf(h.kind) + 1)
      return () => Atomics.store(w, o, 0)
    }
    throw new RangeError(`a stream worker holds more than ${SLOTS} shim handles`)
  }

  /** The handles still recorded, newest first. */
  open(): ShimHandle[] {
    const out: Array<ShimHandle & {order: number}> = []
    for (let s = 0; s < SLOTS; s++) {
      const o = s * WORDS
      const kind = Atomics.load(this.words, o)
      if (kind !== 0) out.push({kind: SHIM_HANDLE_KINDS[kind - 1], handle: Atomics.load(this.words, o + 1), order: Atomics.load(this.words, o + 2)})
    }
    return out.sort((a, b) => b.order - a.order).map(({kind, handle}) => ({kind, handle}))
  }

  /** Main thread, once the worker exited: closes every handle still recorded, newest first, and
   * clears the table. Returns the handles the shim still had open (the worker had not closed them). */
  release(): ShimHandle[] {
    const released = this.open().filter((h) => closeShimHandle(h))
    this.words.fill(0)
    return released
  }
}

/**
 * A worker's resources: what to close at its end (newest first, each step on its own so one
 * failing close does not keep the rest open) and the shim handles each step releases, kept in
 * the ledger for the main thread.
 */
export class WorkerResources {
  private readonly steps: Array<() => void> = []

  constructor(private readonly ledger: HandleLedger) {}

  /** Registers `close`, which releases `handles`; returns `value` for chaining. */
  add<T>(value: T, close: () => void, handles: readonly ShimHandle[]): T {
    const clear = handles.map((h) => this.ledger.record(h))
    this.steps.push(() => {
      close()
      for (const c of clear) c()
    })
    return value
  }

  /** Runs every close, newest first. */
  closeAll(): void {
    while (this.steps.length > 0) {
      try {
        this.steps.pop()!()
      } catch {
        // keep releasing the rest; the main thread closes what stays recorded
      }
    }
  }
}
