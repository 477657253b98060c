/**
 * Between the decoder (../host/input.ts) and a device: every InputEvent is checked and bounded
 * here before it becomes a record (./records.ts), and what cannot be injected is counted by
 * reason and dropped. Nothing here throws on bad input: a client's bytes never stop the stream.
 *
 * Bounds (control-stream.md §5): controller < 16, key codes in ./keymap.ts, buttons 1–5, floats
 * finite, surface fractions and pressure clamped to 0..1 (Q16 in the record), rotation 0–359 or
 * unknown, tilt 0–90 or unknown, touch contacts bounded (MAX_CONTACTS at once), text one Unicode
 * scalar value per record, absolute positions clamped into the reference area (the protocol does
 * not clamp them). Gamepads: an arrival or the first state of a controller creates it; its bit
 * leaving the active mask removes it.
 */
import type {InputEvent} from '../host/input.js'
import type {InputCapabilities, InputDropReason} from './device.js'
import {keyForVk} from './keymap.js'
import {floatBits, type RecordWriter} from './records.js'

export const MAX_CONTROLLERS = 16
/** touch contacts (and pad touchpad contacts) held at once */
export const MAX_CONTACTS = 10
const Q16 = 65535
const UNKNOWN_ROTATION = 0xffff
const UNKNOWN_TILT = 0xff

/** Touch/pen event types (control-stream.md §5). */
export const TouchEvent = {hover: 0, down: 1, up: 2, move: 3, cancel: 4, buttonOnly: 5, hoverLeave: 6, cancelAll: 7} as const
/** Gamepad arrival capability bits the protocol defines. */
const PAD_CAPS_MASK = 0x1ff
/** A first-use gamepad (no arrival): an Xbox pad with analog triggers and rumble. */
const FIRST_USE_PAD = {controllerType: 1, capabilities: 0x03, supportedButtons: 0x003ff7ff}

export const DROP_REASONS: readonly InputDropReason[] = ['out-of-range', 'unmapped', 'unsupported', 'queue-full', 'not-finite']

export function emptyDrops(): Record<InputDropReason, number> {
  return {'out-of-range': 0, unmapped: 0, unsupported: 0, 'queue-full': 0, 'not-finite': 0}
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v
}

/** A 0..1 fraction as Q16 (finite checked by the caller). */
function q16(v: number): number {
  return Math.round(clamp(v, 0, 1) * Q16)
}

function rotation(deg: number): number {
  return deg === UNKNOWN_ROTATION || deg > 359 ? -1 : deg
}

function isInt(v: unknown, lo: number, hi: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi
}

/** Pointer ids (u32 from the client) → contact slots 0..MAX_CONTACTS-1. */
class Contacts {
  private readonly slots = new Map<number, number>()

  /** The slot for `id`, allocating one when `create`; undefined when none is free or unknown. */
  slot(id: number, create: boolean): number | undefined {
    const s = this.slots.get(id)
    if (s !== undefined || !create) return s
    if (this.slots.size >= MAX_CONTACTS) return undefined
    const used = new Set(this.slots.values())
    for (let i = 0; i < MAX_CONTACTS; i++) {
      if (!used.has(i)) {
        this.slots.set(id, i)
        return i
      }
    }
    return undefined
  }

  free(id: number): void {
    this.slots.delete(id)
  }

  clear(): void {
    this.slots.clear()
  }
}

export class InputRouter {
  accepted = 0
  readonly dropped = emptyDrops()
  /** controllers created on the device (bit n = controller n) */
  private pads = 0
  private readonly touch = new Contacts()
  private readonly padTouch = Array.from({length: MAX_CONTROLLERS}, () => new Contacts())

  constructor(private readonly caps: InputCapabilities) {}

  get activePads(): number {
    return this.pads
  }

  /** Appends the records for `events` to `out`; drops and counts what it cannot pass. */
  route(events: readonly InputEvent[], out: RecordWriter): void {
    for (const e of events) {
      let reason: InputDropReason | null | 'ignored'
      try {
        reason = this.one(e, out)
      } catch {
        reason = 'out-of-range'
      }
      if (reason === null) this.accepted++
      else if (reason !== 'ignored') this.dropped[reason]++
    }
  }

  /** The device released everything: contacts are gone (pads stay created). */
  released(): void {
    this.touch.clear()
    for (const c of this.padTouch) c.clear()
  }

  countDrop(reason: InputDropReason, n = 1): void {
    this.dropped[reason] += n
  }

  /** null: accepted (records appended); a reason: dropped; 'ignored': not input to inject. */
  private one(e: InputEvent, out: RecordWriter): InputDropReason | null | 'ignored' {
    const caps = this.caps
    switch (e.type) {
      case 'key': {
        if (!caps.keyboard) return 'unsupported'
        if (!isInt(e.keyCode, 0, 0xffff) || !isInt(e.modifiers, 0, 0xff)) return 'out-of-range'
        const row = keyForVk(e.keyCode & 0xff)
        if (row === undefined) return 'unmapped'
        out.push('key', row.linux, e.down ? 1 : 0, row.keysym, e.modifiers & 0x0f)
        return null
      }
      case 'mouse-move-relative':
        if (!caps.pointerRelative) return 'unsupported'
        if (!isInt(e.dx, -32768, 32767) || !isInt(e.dy, -32768, 32767)) return 'out-of-range'
        if (e.dx === 0 && e.dy === 0) return 'ignored'
        out.push('moveRel', 0, e.dx, e.dy)
        return null
      case 'mouse-move-absolute': {
        if (!caps.pointerAbsolute) return 'unsupported'
        if (!isInt(e.width, 1, 65536) || !isInt(e.height, 1, 65536) || !isInt(e.x, -32768, 65535) || !isInt(e.y, -32768, 65535)) return 'out-of-range'
        out.push('moveAbs', 0, clamp(e.x, 0, e.width - 1), clamp(e.y, 0, e.height - 1), e.width, e.height)
        return null
      }
      case 'mouse-button':
        if (!caps.pointerRelative && !caps.pointerAbsolute) return 'unsupported'
        if (!isInt(e.button, 1, 5)) return 'out-of-range'
        out.push('button', e.button, e.down ? 1 : 0)
        return null
      case 'scroll':
        if (!caps.scroll) return 'unsupported'
        if (!isInt(e.amount, -32768, 32767)) return 'out-of-range'
        if (e.amount === 0) return 'ignored'
        out.push('scroll', 0, e.amount)
        return null
      case 'hscroll':
        if (!caps.hscroll) return 'unsupported'
        if (!isInt(e.amount, -32768, 32767)) return 'out-of-range'
        if (e.amount === 0) return 'ignored'
        out.push('hscroll', 0, e.amount)
        return null
      case 'text':
        return this.text(e.text, out)
      case 'touch':
        return this.touchEvent(e, out)
      case 'pen':
        return this.pen(e, out)
      case 'gamepad':
        return this.gamepad(e, out)
      case 'gamepad-arrival': {
        if (caps.gamepads === 0) return 'unsupported'
        if (!isInt(e.controller, 0, MAX_CONTROLLERS - 1) || !isInt(e.capabilities, 0, 0xffff) || !isInt(e.supportedButtons, 0, 0xffffffff)) return 'out-of-range'
        if (!this.hasRoomFor(e.controller)) return 'unsupported'
        const type = isInt(e.controllerType, 0, 4) ? e.controllerType : 0
        out.push('padArrive', e.controller, type, e.capabilities & PAD_CAPS_MASK, e.supportedButtons | 0)
        this.pads |= 1 << e.controller
        return null
      }
      case 'gamepad-touchpad': {
        if (caps.gamepads === 0) return 'unsupported'
        if (!isInt(e.controller, 0, MAX_CONTROLLERS - 1) || !isInt(e.eventType, 0, 7)) return 'out-of-range'
        if ((this.pads & (1 << e.controller)) === 0) return 'unsupported'
        if (!Number.isFinite(e.x) || !Number.isFinite(e.y) || !Number.isFinite(e.pressure)) return 'not-finite'
        const slot = this.contact(this.padTouch[e.controller], e.eventType, e.pointerId)
        if (slot === undefined) return 'out-of-range'
        out.push('padTouchpad', e.controller, e.eventType, slot, q16(e.x), q16(e.y), q16(e.pressure))
        return null
      }
      case 'gamepad-motion': {
        if (!caps.motion) return 'unsupported'
        if (!isInt(e.controller, 0, MAX_CONTROLLERS - 1) || !isInt(e.sensor, 1, 2)) return 'out-of-range'
        if ((this.pads & (1 << e.controller)) === 0) return 'unsupported'
        if (!Number.isFinite(e.x) || !Number.isFinite(e.y) || !Number.isFinite(e.z)) return 'not-finite'
        // float32 range: the record carries float32 bits
        const lim = 3.4e38
        out.push('padMotion', e.controller, e.sensor, floatBits(clamp(e.x, -lim, lim)), floatBits(clamp(e.y, -lim, lim)), floatBits(clamp(e.z, -lim, lim)))
        return null
      }
      case 'gamepad-battery': {
        if (caps.gamepads === 0) return 'unsupported'
        if (!isInt(e.controller, 0, MAX_CONTROLLERS - 1) || !isInt(e.state, 0, 5) || !isInt(e.percentage, 0, 255)) return 'out-of-range'
        if (e.percentage > 100 && e.percentage !== 255) return 'out-of-range'
        if ((this.pads & (1 << e.controller)) === 0) return 'unsupported'
        out.push('padBattery', e.controller, e.state, e.percentage)
        return null
      }
      case 'haptics-enable':
        return 'ignored'
      default:
        return 'unsupported'
    }
  }

  private hasRoomFor(controller: number): boolean {
    if ((this.pads & (1 << controller)) !== 0) return true
    let n = 0
    for (let m = this.pads; m !== 0; m &= m - 1) n++
    return n < this.caps.gamepads
  }

  private text(text: string, out: RecordWriter): InputDropReason | null {
    if (!this.caps.text) return 'unsupported'
    if (typeof text !== 'string' || text.length === 0) return 'out-of-range'
    const points: number[] = []
    for (const ch of text) {
      const cp = ch.codePointAt(0) ?? 0xfffd
      // lone surrogates, C0/C1 controls, and the decoder's replacement for invalid UTF-8
      if ((cp >= 0xd800 && cp <= 0xdfff) || cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp === 0xfffd || cp > 0x10ffff) return 'out-of-range'
      points.push(cp)
    }
    // the protocol sends one code point per packet; 32 bytes of UTF-8 hold at most 32
    if (points.length > 32) return 'out-of-range'
    for (const cp of points) out.push('text', 0, cp)
    return null
  }

  /** The contact slot for an event, allocating on the first sight and freeing on its end. */
  private contact(c: Contacts, eventType: number, pointerId: number): number | undefined {
    if (!isInt(pointerId, 0, 0xffffffff)) return undefined
    if (eventType === TouchEvent.cancelAll) {
      c.clear()
      return 0
    }
    const ending = eventType === TouchEvent.up || eventType === TouchEvent.cancel || eventType === TouchEvent.hoverLeave
    const slot = c.slot(pointerId, !ending)
    if (ending) c.free(pointerId)
    return slot
  }

  private touchEvent(e: Extract<InputEvent, {type: 'touch'}>, out: RecordWriter): InputDropReason | null {
    if (!this.caps.touch) return 'unsupported'
    if (!isInt(e.eventType, 0, 7) || !isInt(e.rotation, 0, 0xffff)) return 'out-of-range'
    for (const v of [e.x, e.y, e.pressure, e.contactMajor, e.contactMinor]) if (!Number.isFinite(v)) return 'not-finite'
    const slot = this.contact(this.touch, e.eventType, e.pointerId)
    if (slot === undefined) return 'out-of-range'
    out.push('touch', 0, e.eventType, slot, q16(e.x), q16(e.y), q16(e.pressure), q16(e.contactMajor), q16(e.contactMinor), rotation(e.rotation))
    return null
  }

  private pen(e: Extract<InputEvent, {type: 'pen'}>, out: RecordWriter): InputDropReason | null {
    if (!this.caps.pen) return 'unsupported'
    if (!isInt(e.eventType, 0, 7) || !isInt(e.toolType, 0, 2) || !isInt(e.buttons, 0, 0xff) || !isInt(e.rotation, 0, 0xffff) || !isInt(e.tilt, 0, 0xff))
      return 'out-of-range'
    for (const v of [e.x, e.y, e.pressure, e.contactMajor]) if (!Number.isFinite(v)) return 'not-finite'
    const tilt = e.tilt === UNKNOWN_TILT || e.tilt > 90 ? -1 : e.tilt
    out.push('pen', 0, e.eventType, e.toolType, e.buttons & 0x07, q16(e.x), q16(e.y), q16(e.pressure), rotation(e.rotation), tilt, q16(e.contactMajor))
    return null
  }

  private gamepad(e: Extract<InputEvent, {type: 'gamepad'}>, out: RecordWriter): InputDropReason | null | 'ignored' {
    if (this.caps.gamepads === 0) return 'unsupported'
    if (!isInt(e.controller, 0, 0xffff) || !isInt(e.activeMask, 0, 0xffff)) return 'out-of-range'
    if (e.controller >= MAX_CONTROLLERS) return 'out-of-range'
    if (!isInt(e.buttons, 0, 0xffffffff) || !isInt(e.leftTrigger, 0, 255) || !isInt(e.rightTrigger, 0, 255)) return 'out-of-range'
    for (const v of [e.leftStickX, e.leftStickY, e.rightStickX, e.rightStickY]) if (!isInt(v, -32768, 32767)) return 'out-of-range'
    // pads whose bit left the mask are gone
    const gone = this.pads & ~e.activeMask & 0xffff
    for (let c = 0; c < MAX_CONTROLLERS; c++) {
      if ((gone & (1 << c)) === 0) continue
      out.push('padRemove', c)
      this.padTouch[c].clear()
    }
    this.pads &= ~gone
    const bit = 1 << e.controller
    if ((e.activeMask & bit) === 0) return gone & bit ? null : 'ignored'
    if ((this.pads & bit) === 0) {
      if (!this.hasRoomFor(e.controller)) return 'unsupported'
      out.push('padArrive', e.controller, FIRST_USE_PAD.controllerType, FIRST_USE_PAD.capabilities, FIRST_USE_PAD.supportedButtons)
      this.pads |= bit
    }
    out.push('padState', e.controller, e.buttons | 0, e.leftTrigger, e.rightTrigger, e.leftStickX, e.leftStickY, e.rightStickX, e.rightStickY)
    return null
  }
}
