/**
 * Packet bytes → InputEvent (src/host/input.ts) → records (the router): the packets are built here
 * from the byte layouts of docs/protocol/control-stream.md §5, the expected Linux key codes are
 * the values of <linux/input-event-codes.h>. Then 10⁴ random packets through decoder and router:
 * nothing throws, and every record that comes out is inside its bounds.
 */
import {describe, expect, it} from 'vitest'

import {decodeInputPacket, type InputEvent} from '../../src/host/input.js'
import type {InputCapabilities} from '../../src/input/device.js'
import {KEYMAP} from '../../src/input/keymap.js'
import {bitsFloat, decodeRecords, nameRecord, RecordKind, RecordWriter, type NamedRecord} from '../../src/input/records.js'
import {InputRouter} from '../../src/input/router.js'

const ALL: InputCapabilities = {keyboard: true, pointerRelative: true, pointerAbsolute: true, scroll: true, hscroll: true, text: true, touch: true, pen: true, gamepads: 16, rumble: true, motion: true}

/** BE32 size (length − 4), LE32 magic, body (§5 header). */
function packet(magic: number, body: number[] | Buffer): Buffer {
  const b = Buffer.from(body)
  const p = Buffer.alloc(8 + b.length)
  p.writeUInt32BE(4 + b.length, 0)
  p.writeUInt32LE(magic >>> 0, 4)
  b.copy(p, 8)
  return p
}
const le16 = (v: number): number[] => [v & 0xff, (v >> 8) & 0xff]
const be16 = (v: number): number[] => [(v >> 8) & 0xff, v & 0xff]
const le32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff]
const f32 = (v: number): number[] => {
  const b = Buffer.alloc(4)
  b.writeFloatLE(v)
  return [...b]
}

function route(router: InputRouter, ...packets: Buffer[]): NamedRecord[] {
  const w = new RecordWriter(4)
  router.route(packets.map((p) => decodeInputPacket(p)), w)
  return decodeRecords(w.bytes()).map(nameRecord)
}

describe('input packets become records', () => {
  it('key down/up: VK in the low byte, 0x80 high byte ignored, modifiers kept', () => {
    const r = new InputRouter(ALL)
    // 8: flags, 9: LE16 key code, 11: modifiers, 12: LE16 0
    const recs = route(r, packet(0x03, [0, ...le16(0x8041), 0x01, 0, 0]), packet(0x04, [0, ...le16(0x8041), 0x00, 0, 0]), packet(0x03, [0, ...le16(0x80a3), 0x02, 0, 0]))
    // KEY_A = 30, XK_a = 0x61; KEY_RIGHTCTRL = 97, XK_Control_R = 0xffe4
    expect(recs).toEqual([
      {kind: 'key', fields: {linuxKey: 30, down: 1, keysym: 0x61, modifiers: 1}},
      {kind: 'key', fields: {linuxKey: 30, down: 0, keysym: 0x61, modifiers: 0}},
      {kind: 'key', fields: {linuxKey: 97, down: 1, keysym: 0xffe4, modifiers: 2}},
    ])
    // VK 0x07 is reserved: no key
    expect(route(r, packet(0x03, [0, ...le16(0x8007), 0, 0, 0]))).toEqual([])
    expect(r.dropped.unmapped).toBe(1)
  })

  it('mouse: relative BE16 deltas, absolute BE16 position in the reference area, buttons, both scrolls', () => {
    const r = new InputRouter(ALL)
    const recs = route(
      r,
      packet(0x07, [...be16(-5 & 0xffff), ...be16(300)]),
      packet(0x05, [...be16(100), ...be16(200), 0, 0, ...be16(1279), ...be16(719)]),
      packet(0x05, [...be16(-10 & 0xffff), ...be16(5000), 0, 0, ...be16(1279), ...be16(719)]),
      packet(0x08, [4]),
      packet(0x09, [4]),
      packet(0x0a, [...be16(-120 & 0xffff), ...be16(-120 & 0xffff), 0, 0]),
      packet(0x55000001, be16(240)),
    )
    expect(recs).toEqual([
      {kind: 'moveRel', fields: {dx: -5, dy: 300}},
      {kind: 'moveAbs', fields: {x: 100, y: 200, width: 1280, height: 720}},
      // the protocol does not clamp to the plane; the router does
      {kind: 'moveAbs', fields: {x: 0, y: 719, width: 1280, height: 720}},
      {kind: 'button', fields: {button: 4, down: 1}},
      {kind: 'button', fields: {button: 4, down: 0}},
      {kind: 'scroll', fields: {amount: -120}},
      {kind: 'hscroll', fields: {amount: 240}},
    ])
    expect(route(r, packet(0x08, [6]))).toEqual([])
    expect(r.dropped['out-of-range']).toBe(1)
  })

  it('text: one scalar value per record; invalid UTF-8 and controls are dropped', () => {
    const r = new InputRouter(ALL)
    expect(route(r, packet(0x17, [0xe2, 0x82, 0xac]), packet(0x17, [0xf0, 0x9f, 0x98, 0x80]))).toEqual([
      {kind: 'text', fields: {codePoint: 0x20ac}},
      {kind: 'text', fields: {codePoint: 0x1f600}},
    ])
    expect(route(r, packet(0x17, [0xff]), packet(0x17, [0xed, 0xa0, 0x80]), packet(0x17, [0x07]))).toEqual([])
    expect(r.dropped['out-of-range']).toBe(3)
  })

  it('gamepads: first use creates, the mask removes, arrival carries type and capabilities', () => {
    const r = new InputRouter(ALL)
    // 8: LE16 0x1A, 10: controller, 12: active mask, 14: 0x14, 16: buttons, 18: LT, 19: RT, 20..26 sticks, 28: 0x9C, 30: buttons high, 32: 0x55
    const pad = (controller: number, mask: number, buttons: number, lt: number, lx: number): Buffer =>
      packet(0x0c, [...le16(0x1a), ...le16(controller), ...le16(mask), ...le16(0x14), ...le16(buttons & 0xffff), lt, 0, ...le16(lx & 0xffff), ...le16(0), ...le16(0), ...le16(32767), ...le16(0x9c), ...le16(buttons >>> 16), ...le16(0x55)])
    const recs = route(r, pad(1, 0b10, 0x1000 | 0x010000, 200, -32768))
    expect(recs.map((x) => x.kind)).toEqual(['padArrive', 'padState'])
    expect(recs[0].fields.controller).toBe(1)
    expect(recs[1].fields).toEqual({controller: 1, buttons: 0x011000, leftTrigger: 200, rightTrigger: 0, leftStickX: -32768, leftStickY: 0, rightStickX: 0, rightStickY: 32767})
    expect(r.activePads).toBe(0b10)
    // arrival of pad 2: 8: controller, 9: type, 10: LE16 capabilities, 12: LE32 supported buttons
    const arrive = route(r, packet(0x55000004, [2, 2, ...le16(0x3f), ...le32(0x7ffff)]))
    expect(arrive).toEqual([{kind: 'padArrive', fields: {controller: 2, controllerType: 2, capabilities: 0x3f, supportedButtons: 0x7ffff}}])
    // pad 1's bit leaves the mask (its last packet): removed, pad 2 stays
    expect(route(r, pad(1, 0b100, 0, 0, 0))).toEqual([{kind: 'padRemove', fields: {controller: 1}}])
    expect(r.activePads).toBe(0b100)
    // controller 16 does not exist
    expect(route(r, pad(16, 0xffff, 0, 0, 0))).toEqual([])
    expect(r.dropped['out-of-range']).toBe(1)
  })

  it('pad motion, battery and touchpad need the pad; values bounded', () => {
    const r = new InputRouter(ALL)
    // motion: 8 controller, 9 sensor, 10: 2 bytes 0, 12/16/20 f32
    const motion = packet(0x55000006, [0, 2, 0, 0, ...f32(1.5), ...f32(-9.81), ...f32(0)])
    expect(route(r, motion)).toEqual([])
    expect(r.dropped.unsupported).toBe(1)
    route(r, packet(0x55000004, [0, 1, ...le16(0x70), ...le32(0xffff)]))
    const [m] = route(r, motion)
    expect(m.kind).toBe('padMotion')
    expect([bitsFloat(m.fields.xBits), bitsFloat(m.fields.yBits), bitsFloat(m.fields.zBits)].map((v) => Math.round(v * 100) / 100)).toEqual([1.5, -9.81, 0])
    expect(route(r, packet(0x55000006, [0, 1, 0, 0, ...f32(NaN), ...f32(0), ...f32(0)]))).toEqual([])
    expect(r.dropped['not-finite']).toBe(1)
    // battery: 8 controller, 9 state, 10 percentage
    expect(route(r, packet(0x55000007, [0, 2, 55, 0]))).toEqual([{kind: 'padBattery', fields: {controller: 0, state: 2, percentage: 55}}])
    expect(route(r, packet(0x55000007, [0, 9, 55, 0]), packet(0x55000007, [0, 2, 101, 0]))).toEqual([])
    // touchpad: 8 controller, 9 event, 11 index, 12 LE32 pointer, 16/20/24 f32
    expect(route(r, packet(0x55000005, [0, 1, 0, 0, ...le32(0xdeadbeef), ...f32(0.5), ...f32(2), ...f32(0.25)]))).toEqual([
      {kind: 'padTouchpad', fields: {controller: 0, eventType: 1, pointerId: 0, x: 32768, y: 65535, pressure: 16384}},
    ])
  })

  it('touch and pen: fractions as Q16, clamped; contacts bounded; unknown rotation and tilt', () => {
    const r = new InputRouter(ALL)
    // touch: 8 event, 9 0, 10 LE16 rotation, 12 LE32 pointer id, 16 x, 20 y, 24 pressure, 28 major, 32 minor
    const touch = (ev: number, id: number, x: number, rot = 0xffff): Buffer => packet(0x55000002, [ev, 0, ...le16(rot), ...le32(id), ...f32(x), ...f32(0.5), ...f32(1.5), ...f32(0.1), ...f32(-1)])
    expect(route(r, touch(1, 4000000000, 0.25), touch(1, 9, 1, 90))).toEqual([
      {kind: 'touch', fields: {eventType: 1, pointerId: 0, x: 16384, y: 32768, pressure: 65535, contactMajor: 6554, contactMinor: 0, rotation: -1}},
      {kind: 'touch', fields: {eventType: 1, pointerId: 1, x: 65535, y: 32768, pressure: 65535, contactMajor: 6554, contactMinor: 0, rotation: 90}},
    ])
    // the first contact lifts: its slot is free for the next
    route(r, touch(2, 4000000000, 0.25))
    expect(route(r, touch(1, 5, 0))[0].fields.pointerId).toBe(0)
    // at most 10 contacts at once
    for (let id = 100; id < 120; id++) route(r, touch(1, id, 0))
    expect(r.dropped['out-of-range']).toBe(12)
    expect(route(r, touch(3, 1, NaN))).toEqual([])
    expect(r.dropped['not-finite']).toBe(1)
    // pen: 8 event, 9 tool, 10 buttons, 12 x, 16 y, 20 pressure, 24 LE16 rotation, 26 tilt, 28 major, 32 minor
    const pen = packet(0x55000003, [3, 2, 0x03, 0, ...f32(0.5), ...f32(0.75), ...f32(0.5), ...le16(45), 30, 0, ...f32(0), ...f32(0)])
    expect(route(r, pen)).toEqual([{kind: 'pen', fields: {eventType: 3, toolType: 2, buttons: 3, x: 32768, y: 49151, pressure: 32768, rotation: 45, tilt: 30, contactMajor: 0}}])
    const unknownTilt = packet(0x55000003, [0, 1, 0, 0, ...f32(0), ...f32(0), ...f32(0), ...le16(0xffff), 0xff, 0, ...f32(0), ...f32(0)])
    expect(route(r, unknownTilt)[0].fields).toMatchObject({rotation: -1, tilt: -1})
  })

  it('what the device cannot do is dropped as unsupported, haptics-enable is not input', () => {
    const r = new InputRouter({...ALL, touch: false, gamepads: 0, text: false})
    expect(route(r, packet(0x55000002, [1, 0, 0, 0, ...le32(1), ...f32(0), ...f32(0), ...f32(0), ...f32(0), ...f32(0)]), packet(0x17, [0x61]), packet(0x0d, le16(1)))).toEqual([])
    expect(r.dropped.unsupported).toBe(2)
    expect(r.accepted).toBe(0)
  })
})

describe('fuzz: decoder and router (10⁴ packets)', () => {
  it('never throws and every record is inside its bounds', () => {
    let seed = 0x1234567
    const rand = (): number => {
      seed ^= seed << 13
      seed ^= seed >>> 17
      seed ^= seed << 5
      return (seed >>> 0) / 0x100000000
    }
    const magics = [0x03, 0x04, 0x05, 0x07, 0x08, 0x09, 0x0a, 0x0c, 0x0d, 0x17, 0x55000001, 0x55000002, 0x55000003, 0x55000004, 0x55000005, 0x55000006, 0x55000007, 0x99]
    const linuxKeys = new Set(KEYMAP.map((k) => k.linux))
    const r = new InputRouter(ALL)
    const w = new RecordWriter(16)
    let decoded = 0
    for (let i = 0; i < 10_000; i++) {
      const len = Math.floor(rand() * 48)
      const p = Buffer.alloc(len)
      for (let j = 0; j < len; j++) p[j] = Math.floor(rand() * 256)
      if (len >= 8 && rand() < 0.9) {
        p.writeUInt32BE(len - 4, 0)
        p.writeUInt32LE(magics[Math.floor(rand() * magics.length)] >>> 0, 4)
      }
      let e: InputEvent
      try {
        e = decodeInputPacket(p)
      } catch {
        continue
      }
      decoded++
      w.clear()
      expect(() => r.route([e], w)).not.toThrow()
      for (const rec of decodeRecords(w.bytes())) {
        const v = rec.values
        expect(rec.kind).toBeGreaterThanOrEqual(RecordKind.key)
        expect(rec.kind).toBeLessThanOrEqual(RecordKind.padTouchpad)
        if (rec.kind >= RecordKind.padArrive) expect(rec.code).toBeLessThan(16)
        if (rec.kind === RecordKind.key) expect(linuxKeys.has(rec.code)).toBe(true)
        if (rec.kind === RecordKind.button) expect(rec.code >= 1 && rec.code <= 5).toBe(true)
        if (rec.kind === RecordKind.moveAbs) expect(v[0] >= 0 && v[0] < v[2] && v[1] >= 0 && v[1] < v[3]).toBe(true)
        if (rec.kind === RecordKind.touch) expect([v[1], ...v.slice(2, 7)].every((q) => q >= 0 && q <= 65535) && v[1] < 10).toBe(true)
        if (rec.kind === RecordKind.pen) expect(v.slice(3, 6).every((q) => q >= 0 && q <= 65535)).toBe(true)
        if (rec.kind === RecordKind.text) expect(v[0] >= 0x20 && v[0] <= 0x10ffff && (v[0] < 0xd800 || v[0] > 0xdfff)).toBe(true)
      }
    }
    expect(decoded).toBeGreaterThan(5000)
    const total = r.accepted + Object.values(r.dropped).reduce((a, b) => a + b, 0)
    expect(total).toBeGreaterThan(1000)
  })
})
