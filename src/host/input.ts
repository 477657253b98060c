/**
 * NV input packets (control-stream.md §5), the payload of control message 0x0206, decoded into
 * typed events for an InputSink. Every field is bounds-checked against the packet.
 */
import {ControlDecodeError} from './errors.js'

export type InputEvent =
  | {type: 'key'; down: boolean; keyCode: number; modifiers: number; flags: number}
  | {type: 'mouse-move-relative'; dx: number; dy: number}
  | {type: 'mouse-move-absolute'; x: number; y: number; width: number; height: number}
  | {type: 'mouse-button'; down: boolean; button: number}
  | {type: 'scroll'; amount: number}
  | {type: 'hscroll'; amount: number}
  | {
      type: 'gamepad'
      controller: number
      activeMask: number
      buttons: number
      leftTrigger: number
      rightTrigger: number
      leftStickX: number
      leftStickY: number
      rightStickX: number
      rightStickY: number
    }
  | {type: 'haptics-enable'}
  | {type: 'text'; text: string}
  | {type: 'touch'; eventType: number; rotation: number; pointerId: number; x: number; y: number; pressure: number; contactMajor: number; contactMinor: number}
  | {type: 'pen'; eventType: number; toolType: number; buttons: number; x: number; y: number; pressure: number; rotation: number; tilt: number; contactMajor: number; contactMinor: number}
  | {type: 'gamepad-arrival'; controller: number; controllerType: number; capabilities: number; supportedButtons: number}
  | {type: 'gamepad-touchpad'; controller: number; eventType: number; touchpadIndex: number; pointerId: number; x: number; y: number; pressure: number}
  | {type: 'gamepad-motion'; controller: number; sensor: number; x: number; y: number; z: number}
  | {type: 'gamepad-battery'; controller: number; state: number; percentage: number}
  | {type: 'unknown'; magic: number; length: number}

/** Where decoded input goes (uinput, XTEST, a recorder in tests …). */
export interface InputSink {
  handle(event: InputEvent, session: {id: number}): void
}

export const InputMagic = {
  keyDown: 0x03,
  keyUp: 0x04,
  mouseMoveAbs: 0x05,
  mouseMoveRel: 0x07,
  mouseDown: 0x08,
  mouseUp: 0x09,
  scroll: 0x0a,
  gamepad: 0x0c,
  haptics: 0x0d,
  utf8: 0x17,
  hscroll: 0x55000001,
  touch: 0x55000002,
  pen: 0x55000003,
  arrival: 0x55000004,
  touchpad: 0x55000005,
  motion: 0x55000006,
  battery: 0x55000007,
} as const

/** Largest input packet accepted (the biggest event is 36 bytes; text is one code point). */
export const MAX_INPUT_PACKET = 1024

export function decodeInputPacket(p: Buffer): InputEvent {
  if (p.length < 8) throw new ControlDecodeError(`input packet of ${p.length} bytes is shorter than its header`)
  if (p.length > MAX_INPUT_PACKET) throw new ControlDecodeError(`input packet of ${p.length} bytes is too large`)
  const size = p.readUInt32BE(0)
  if (size + 4 > p.length || size < 4) throw new ControlDecodeError(`input size field ${size} does not fit the ${p.length}-byte packet`)
  const end = size + 4
  const magic = p.readUInt32LE(4)
  const need = (n: number): void => {
    if (end < n) throw new ControlDecodeError(`input event 0x${magic.toString(16)} needs ${n} bytes, got ${end}`)
  }
  switch (magic) {
    case InputMagic.keyDown:
    case InputMagic.keyUp:
      need(12)
      return {type: 'key', down: magic === InputMagic.keyDown, flags: p[8], keyCode: p.readUInt16LE(9), modifiers: p[11]}
    case InputMagic.mouseMoveRel:
      need(12)
      return {type: 'mouse-move-relative', dx: p.readInt16BE(8), dy: p.readInt16BE(10)}
    case InputMagic.mouseMoveAbs:
      need(18)
      return {type: 'mouse-move-absolute', x: p.readInt16BE(8), y: p.readInt16BE(10), width: p.readUInt16BE(14) + 1, height: p.readUInt16BE(16) + 1}
    case InputMagic.mouseDown:
    case InputMagic.mouseUp:
      need(9)
      return {type: 'mouse-button', down: magic === InputMagic.mouseDown, button: p[8]}
    case InputMagic.scroll:
      need(10)
      return {type: 'scroll', amount: p.readInt16BE(8)}
    case InputMagic.hscroll:
      need(10)
      return {type: 'hscroll', amount: p.readInt16BE(8)}
    case InputMagic.gamepad: {
      need(28)
      const high = end >= 32 ? p.readUInt16LE(30) : 0
      return {
        type: 'gamepad',
        controller: p.readUInt16LE(10),
        activeMask: p.readUInt16LE(12),
        buttons: (p.readUInt16LE(16) | (high << 16)) >>> 0,
        leftTrigger: p[18],
        rightTrigger: p[19],
        leftStickX: p.readInt16LE(20),
        leftStickY: p.readInt16LE(22),
        rightStickX: p.readInt16LE(24),
        rightStickY: p.readInt16LE(26),
      }
    }
    case InputMagic.haptics:
      return {type: 'haptics-enable'}
    case InputMagic.utf8: {
      if (end - 8 > 32) throw new ControlDecodeError('text input longer than 32 bytes')
      return {type: 'text', text: p.toString('utf8', 8, end)}
    }
    case InputMagic.touch:
      need(36)
      return {
        type: 'touch',
        eventType: p[8],
        rotation: p.readUInt16LE(10),
        pointerId: p.readUInt32LE(12),
        x: p.readFloatLE(16),
        y: p.readFloatLE(20),
        pressure: p.readFloatLE(24),
        contactMajor: p.readFloatLE(28),
        contactMinor: p.readFloatLE(32),
      }
    case InputMagic.pen:
      need(36)
      return {
        type: 'pen',
        eventType: p[8],
        toolType: p[9],
        buttons: p[10],
        x: p.readFloatLE(12),
        y: p.readFloatLE(16),
        pressure: p.readFloatLE(20),
        rotation: p.readUInt16LE(24),
        tilt: p[26],
        contactMajor: p.readFloatLE(28),
        contactMinor: p.readFloatLE(32),
      }
    case InputMagic.arrival:
      need(16)
      return {type: 'gamepad-arrival', controller: p[8], controllerType: p[9], capabilities: p.readUInt16LE(10), supportedButtons: p.readUInt32LE(12)}
    case InputMagic.touchpad:
      need(28)
      return {
        type: 'gamepad-touchpad',
        controller: p[8],
        eventType: p[9],
        touchpadIndex: p[11],
        pointerId: p.readUInt32LE(12),
        x: p.readFloatLE(16),
        y: p.readFloatLE(20),
        pressure: p.readFloatLE(24),
      }
    case InputMagic.motion:
      need(24)
      return {type: 'gamepad-motion', controller: p[8], sensor: p[9], x: p.readFloatLE(12), y: p.readFloatLE(16), z: p.readFloatLE(20)}
    case InputMagic.battery:
      need(12)
      return {type: 'gamepad-battery', controller: p[8], state: p[9], percentage: p[10]}
    default:
      return {type: 'unknown', magic, length: end}
  }
}
