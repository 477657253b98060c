/**
 * An InputDevice over a shim input handle (src/native/input.ts), the same for every backend: the
 * router validates and maps a round's events into records, one submit hands them all to the
 * shim's writer thread (one ffi call per round, never blocking), feedback records come back as
 * InputFeedback.
 */
import type {InputEvent} from '../host/input.js'
import {FeedbackKind, InputHandle, type InputBackendKey} from '../native/input.js'
import type {InputBackendName, InputCapabilities, InputDevice, InputFeedback, InputStats} from './device.js'
import {decodeRecords, RecordWriter} from './records.js'
import {InputRouter} from './router.js'

/** Opens the backend's shim device; {ok: false} carries the shim's sentence. */
export function openNativeDevice(
  backend: InputBackendName & InputBackendKey,
  params: string,
  capabilities: InputCapabilities,
): {ok: true; device: NativeInputDevice} | {ok: false; reason: string} {
  const opened = InputHandle.open(backend, params)
  if (!opened.ok) return {ok: false, reason: opened.reason}
  return {ok: true, device: new NativeInputDevice(backend, capabilities, opened.value)}
}

export class NativeInputDevice implements InputDevice {
  readonly router: InputRouter
  private readonly writer = new RecordWriter(64)
  private batches = 0
  private last: InputStats | undefined

  constructor(
    readonly backend: InputBackendName,
    readonly capabilities: InputCapabilities,
    readonly handle: InputHandle,
  ) {
    this.router = new InputRouter(capabilities)
  }

  submit(events: readonly InputEvent[]): void {
    if (this.handle.isClosed || events.length === 0) return
    this.writer.clear()
    const before = this.router.accepted
    this.router.route(events, this.writer)
    if (this.writer.count === 0) return
    this.batches++
    const r = this.handle.submit(this.writer.bytes(), this.writer.count)
    if (!r.ok) {
      // the events were valid but the device is behind (or gone): none of them is applied
      this.router.countDrop('queue-full', this.router.accepted - before)
      this.router.accepted = before
    }
  }

  releaseAll(): void {
    this.handle.releaseAll()
    this.router.released()
  }

  /** Waits until what was submitted is applied (tests, benches); the records still queued. */
  drain(timeoutMs = 1000): number {
    return this.handle.drain(timeoutMs)
  }

  feedback(): InputFeedback[] {
    const out: InputFeedback[] = []
    for (const r of decodeRecords(this.handle.feedback())) {
      const controller = r.code
      const [a, b, c] = r.values
      switch (r.kind) {
        case FeedbackKind.rumble:
          out.push({type: 'rumble', controller, lowFreq: a & 0xffff, highFreq: b & 0xffff})
          break
        case FeedbackKind.triggerRumble:
          out.push({type: 'trigger-rumble', controller, left: a & 0xffff, right: b & 0xffff})
          break
        case FeedbackKind.motionEnable:
          out.push({type: 'motion-enable', controller, sensor: a, reportRateHz: b & 0xffff})
          break
        case FeedbackKind.led:
          out.push({type: 'led', controller, r: a & 0xff, g: b & 0xff, b: c & 0xff})
          break
        default:
          break
      }
    }
    return out
  }

  stats(): InputStats {
    if (this.handle.isClosed && this.last !== undefined) return this.last
    const n = this.handle.stats()
    return {
      accepted: this.router.accepted,
      applied: n.applied,
      refused: n.refused,
      dropped: {...this.router.dropped},
      batches: this.batches,
      feedback: n.feedback,
    }
  }

  close(): void {
    if (this.handle.isClosed) return
    this.handle.releaseAll()
    this.handle.drain(200)
    this.last = this.stats()
    this.handle.close()
  }
}
