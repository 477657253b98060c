/**
 * The record every backend is fed (libs/include/lumen_input.h, the one mirror in TypeScript):
 * little-endian u16 kind, u16 code, nine int32 values, 40 bytes. RECORD_FIELDS names what the
 * code and each value mean per kind, as the header's table does; the writer packs records into
 * one reusable Buffer per control-service round and the decoder reads them back (feedback, tests).
 */
import {FeedbackKind, RECORD_LEN, RECORD_VALUES, RecordKind, type RecordKindName} from '../native/input.js'

export {RECORD_LEN, RECORD_VALUES, RecordKind, FeedbackKind}
export type {RecordKindName}

interface Layout {
  /** what the u16 code holds ('' = unused) */
  code: string
  /** what v0, v1, … hold, in order */
  values: readonly string[]
}

/** What each record kind's fields hold (lumen_input.h). Q16: a fraction of the surface, 0..65535. */
export const RECORD_FIELDS: Readonly<Record<RecordKindName, Layout>> = {
  key: {code: 'linuxKey', values: ['down', 'keysym', 'modifiers']},
  moveRel: {code: '', values: ['dx', 'dy']},
  moveAbs: {code: '', values: ['x', 'y', 'width', 'height']},
  button: {code: 'button', values: ['down']},
  scroll: {code: '', values: ['amount']},
  hscroll: {code: '', values: ['amount']},
  text: {code: '', values: ['codePoint']},
  touch: {code: '', values: ['eventType', 'pointerId', 'x', 'y', 'pressure', 'contactMajor', 'contactMinor', 'rotation']},
  pen: {code: '', values: ['eventType', 'toolType', 'buttons', 'x', 'y', 'pressure', 'rotation', 'tilt', 'contactMajor']},
  padArrive: {code: 'controller', values: ['controllerType', 'capabilities', 'supportedButtons']},
  padState: {code: 'controller', values: ['buttons', 'leftTrigger', 'rightTrigger', 'leftStickX', 'leftStickY', 'rightStickX', 'rightStickY']},
  padRemove: {code: 'controller', values: []},
  padMotion: {code: 'controller', values: ['sensor', 'xBits', 'yBits', 'zBits']},
  padBattery: {code: 'controller', values: ['state', 'percentage']},
  padTouchpad: {code: 'controller', values: ['eventType', 'pointerId', 'x', 'y', 'pressure']},
}

export type FeedbackKindName = keyof typeof FeedbackKind

export const FEEDBACK_FIELDS: Readonly<Record<FeedbackKindName, Layout>> = {
  rumble: {code: 'controller', values: ['lowFreq', 'highFreq']},
  triggerRumble: {code: 'controller', values: ['left', 'right']},
  motionEnable: {code: 'controller', values: ['sensor', 'reportRateHz']},
  led: {code: 'controller', values: ['r', 'g', 'b']},
}

const kindNames = new Map<number, RecordKindName>(Object.entries(RecordKind).map(([n, k]) => [k, n as RecordKindName]))
const feedbackNames = new Map<number, FeedbackKindName>(Object.entries(FeedbackKind).map(([n, k]) => [k, n as FeedbackKindName]))

export interface RawRecord {
  kind: number
  code: number
  values: number[]
}

/** A record with its fields named after RECORD_FIELDS / FEEDBACK_FIELDS. */
export interface NamedRecord {
  kind: RecordKindName | FeedbackKindName | 'unknown'
  fields: Record<string, number>
}

const f32 = new Float32Array(1)
const i32 = new Int32Array(f32.buffer)

/** The int32 holding a float32's bits (PAD_MOTION's x, y, z). */
export function floatBits(x: number): number {
  f32[0] = x
  return i32[0]
}

export function bitsFloat(bits: number): number {
  i32[0] = bits
  return f32[0]
}

/** Packs records into one reusable Buffer; `bytes()` is what lumen_input_submit takes. */
export class RecordWriter {
  private buf: Buffer
  count = 0

  constructor(capacity = 64) {
    this.buf = Buffer.alloc(capacity * RECORD_LEN)
  }

  clear(): void {
    this.count = 0
  }

  /** Appends one record; values beyond those given are zero. Each value must be an int32. */
  push(kind: RecordKindName, code: number, ...values: number[]): void {
    if (values.length > RECORD_VALUES) throw new RangeError(`a record holds ${RECORD_VALUES} values, not ${values.length}`)
    if ((this.count + 1) * RECORD_LEN > this.buf.length) {
      const bigger = Buffer.alloc(this.buf.length * 2)
      this.buf.copy(bigger)
      this.buf = bigger
    }
    const o = this.count * RECORD_LEN
    this.buf.writeUInt16LE(RecordKind[kind], o)
    this.buf.writeUInt16LE(code & 0xffff, o + 2)
    for (let i = 0; i < RECORD_VALUES; i++) this.buf.writeInt32LE(i < values.length ? values[i] | 0 : 0, o + 4 + 4 * i)
    this.count++
  }

  /** The packed records (a view, valid until the next push or clear). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.count * RECORD_LEN)
  }
}

/** Reads whole records from `buf` (a trailing partial record is ignored). */
export function decodeRecords(buf: Buffer): RawRecord[] {
  const out: RawRecord[] = []
  for (let o = 0; o + RECORD_LEN <= buf.length; o += RECORD_LEN) {
    const values: number[] = []
    for (let i = 0; i < RECORD_VALUES; i++) values.push(buf.readInt32LE(o + 4 + 4 * i))
    out.push({kind: buf.readUInt16LE(o), code: buf.readUInt16LE(o + 2), values})
  }
  return out
}

/** Names a record's fields after its kind's layout. */
export function nameRecord(r: RawRecord): NamedRecord {
  const rec = kindNames.get(r.kind)
  const fb = feedbackNames.get(r.kind)
  const layout = rec !== undefined ? RECORD_FIELDS[rec] : fb !== undefined ? FEEDBACK_FIELDS[fb] : undefined
  if (layout === undefined) return {kind: 'unknown', fields: {kind: r.kind, code: r.code}}
  const fields: Record<string, number> = {}
  if (layout.code !== '') fields[layout.code] = r.code
  layout.values.forEach((name, i) => (fields[name] = r.values[i]))
  return {kind: (rec ?? fb) as NamedRecord['kind'], fields}
}
