/**
 * Typed wrapper over libs/include/lumen_input.h: a virtual input device is an InputHandle fed
 * batches of records (src/input/records.ts builds them). Failures a caller expects (no such
 * backend in this build, no display, a full queue) come back as values with the shim's sentence.
 */
import {ErrorBuffer} from './call.js'
import {statusName, type ShimStatusName} from './errors.js'
import {shim} from './library.js'

/** bytes per record (LUMEN_INPUT_RECORD_LEN) */
export const RECORD_LEN = 40
/** int32 values per record (LUMEN_INPUT_RECORD_VALUES) */
export const RECORD_VALUES = 9
/** records one device queues (LUMEN_INPUT_QUEUE) */
export const INPUT_QUEUE = 4096
/** int64 counters lumen_input_stats writes (LUMEN_INPUT_STATS) */
export const INPUT_STATS = 5

export const InputBackendId = {uinput: 1, xtest: 2, wlroots: 3} as const
export type InputBackendKey = keyof typeof InputBackendId

/** Record kinds, host → device (LUMEN_IN_*). */
export const RecordKind = {
  key: 1,
  moveRel: 2,
  moveAbs: 3,
  button: 4,
  scroll: 5,
  hscroll: 6,
  text: 7,
  touch: 8,
  pen: 9,
  padArrive: 10,
  padState: 11,
  padRemove: 12,
  padMotion: 13,
  padBattery: 14,
  padTouchpad: 15,
} as const
export type RecordKindName = keyof typeof RecordKind

/** Feedback kinds, device → client (LUMEN_FB_*). */
export const FeedbackKind = {rumble: 101, triggerRumble: 102, motionEnable: 103, led: 104} as const

/** Index of each counter in lumen_input_stats' output (LUMEN_INPUT_STAT_*). */
export const InputStat = {applied: 0, refused: 1, queueFull: 2, batches: 3, feedback: 4} as const

/** The globals the wlroots backend needs, by their bit in lumen_input_wlroots_probe's result (LUMEN_WLR_MISSING_*). */
export const WlrootsMissing = {seat: 1, pointer: 2, keyboard: 4} as const
const WLROOTS_GLOBALS: Record<keyof typeof WlrootsMissing, string> = {
  seat: 'wl_seat',
  pointer: 'zwlr_virtual_pointer_manager_v1',
  keyboard: 'zwp_virtual_keyboard_manager_v1',
}

export interface NativeInputStats {
  applied: number
  refused: number
  queueFull: number
  batches: number
  feedback: number
}

export type NativeResult<T> = {ok: true; value: T} | {ok: false; status: ShimStatusName | 'unknown'; reason: string}

function failure(call: string, status: number, err: ErrorBuffer): {ok: false; status: ShimStatusName | 'unknown'; reason: string} {
  const text = err.text()
  return {ok: false, status: statusName(status), reason: text.length > 0 ? text : `${call} failed (${statusName(status)})`}
}

/** Connects to the Wayland compositor at `socket` (a path) and lists the globals of WlrootsMissing
 * it does not offer ([] when all are there); {ok: false} when nothing answers as a compositor. */
export function probeWlroots(socket: string): NativeResult<string[]> {
  const err = new ErrorBuffer()
  if (socket.includes('\0')) return {ok: false, status: 'invalid', reason: 'the Wayland socket path contains a NUL byte'}
  const bytes = Buffer.from(socket, 'utf8')
  const status = shim().lumen_input_wlroots_probe([bytes, bytes.length, ...err.args()])
  if (status < 0) return failure('lumen_input_wlroots_probe', status, err)
  const missing = (Object.keys(WlrootsMissing) as Array<keyof typeof WlrootsMissing>).filter((k) => (status & WlrootsMissing[k]) !== 0)
  return {ok: true, value: missing.map((k) => WLROOTS_GLOBALS[k])}
}

/** Feedback records come back in whole records; this many per call is plenty (the shim keeps 256). */
const FEEDBACK_BATCH = 64

export class InputHandle {
  private readonly err = new ErrorBuffer()
  private readonly statsBuf = Buffer.alloc(8 * INPUT_STATS)
  private readonly feedbackBuf = Buffer.alloc(FEEDBACK_BATCH * RECORD_LEN)
  private closed = false

  private constructor(readonly handle: number) {}

  /** Opens a device on `backend`; params is the backend's one setting (device node, X display, Wayland socket). */
  static open(backend: InputBackendKey, params: string): NativeResult<InputHandle> {
    const err = new ErrorBuffer()
    if (params.includes('\0')) return {ok: false, status: 'invalid', reason: 'input parameters contain a NUL byte'}
    const bytes = Buffer.from(params, 'utf8')
    const status = shim().lumen_input_open([InputBackendId[backend], bytes, bytes.length, ...err.args()])
    if (status < 0) return failure('lumen_input_open', status, err)
    return {ok: true, value: new InputHandle(status)}
  }

  /** Queues `count` records from `records` (count * RECORD_LEN bytes); never blocks. A full
   * queue is {ok: false, status: 'again'} and queues none of them. */
  submit(records: Buffer, count: number): NativeResult<number> {
    if (this.closed) return {ok: false, status: 'invalid', reason: 'the input device is closed'}
    const status = shim().lumen_input_submit([this.handle, records, records.length, count, ...this.err.args()])
    if (status < 0) return failure('lumen_input_submit', status, this.err)
    return {ok: true, value: status}
  }

  /** Queues the release of every key, button, contact and pad input held. */
  releaseAll(): void {
    if (!this.closed) shim().lumen_input_release_all([this.handle])
  }

  /** Waits up to timeoutMs for the queue to be applied; the records still queued. */
  drain(timeoutMs: number): number {
    if (this.closed) return 0
    return Math.max(0, shim().lumen_input_drain([this.handle, timeoutMs]))
  }

  /** Pending feedback records (whole records, RECORD_LEN bytes each), copied out. */
  feedback(): Buffer {
    if (this.closed) return Buffer.alloc(0)
    const parts: Buffer[] = []
    for (;;) {
      const n = shim().lumen_input_feedback([this.handle, this.feedbackBuf, this.feedbackBuf.length])
      if (n <= 0) break
      parts.push(Buffer.from(this.feedbackBuf.subarray(0, n * RECORD_LEN)))
      if (n < FEEDBACK_BATCH) break
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts)
  }

  stats(): NativeInputStats {
    const b = this.statsBuf
    if (!this.closed && shim().lumen_input_stats([this.handle, b, b.length]) < 0) b.fill(0)
    const at = (i: number): number => Number(b.readBigInt64LE(8 * i))
    return {
      applied: at(InputStat.applied),
      refused: at(InputStat.refused),
      queueFull: at(InputStat.queueFull),
      batches: at(InputStat.batches),
      feedback: at(InputStat.feedback),
    }
  }

  /** Releases everything held, destroys the backend's devices and frees the handle (idempotent). */
  close(): void {
    if (this.closed) return
    this.closed = true
    shim().lumen_input_close([this.handle])
  }

  get isClosed(): boolean {
    return this.closed
  }
}
