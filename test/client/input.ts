/** NV input packets as the client builds them (docs/protocol/control-stream.md §5). */

function packet(magic: number, body: Buffer): Buffer {
  const p = Buffer.alloc(8 + body.length)
  p.writeUInt32BE(4 + body.length, 0)
  p.writeUInt32LE(magic >>> 0, 4)
  body.copy(p, 8)
  return p
}

export function hapticsEnable(): Buffer {
  return packet(0x0d, Buffer.from([1, 0]))
}

export function mouseMoveRelative(dx: number, dy: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeInt16BE(dx, 0)
  b.writeInt16BE(dy, 2)
  return packet(0x07, b)
}

export function mouseMoveAbsolute(x: number, y: number, width: number, height: number): Buffer {
  const b = Buffer.alloc(10)
  b.writeInt16BE(x, 0)
  b.writeInt16BE(y, 2)
  b.writeUInt16BE(width - 1, 6)
  b.writeUInt16BE(height - 1, 8)
  return packet(0x05, b)
}

export function mouseButton(down: boolean, button: number): Buffer {
  return packet(down ? 0x08 : 0x09, Buffer.from([button]))
}

export function key(down: boolean, keyCode: number, modifiers = 0): Buffer {
  const b = Buffer.alloc(6)
  b[0] = 0
  b.writeUInt16LE(keyCode | 0x8000, 1)
  b[3] = modifiers
  return packet(down ? 0x03 : 0x04, b)
}

export function scroll(amount: number): Buffer {
  const b = Buffer.alloc(6)
  b.writeInt16BE(amount, 0)
  b.writeInt16BE(amount, 2)
  return packet(0x0a, b)
}

export function text(ch: string): Buffer {
  return packet(0x17, Buffer.from(ch, 'utf8'))
}

export function gamepad(controller: number, buttons: number, lt: number, rt: number, lx: number, ly: number, rx: number, ry: number): Buffer {
  const b = Buffer.alloc(26)
  b.writeUInt16LE(0x1a, 0)
  b.writeUInt16LE(controller, 2)
  b.writeUInt16LE(1 << controller, 4)
  b.writeUInt16LE(0x14, 6)
  b.writeUInt16LE(buttons & 0xffff, 8)
  b[10] = lt
  b[11] = rt
  b.writeInt16LE(lx, 12)
  b.writeInt16LE(ly, 14)
  b.writeInt16LE(rx, 16)
  b.writeInt16LE(ry, 18)
  b.writeUInt16LE(0x9c, 20)
  b.writeUInt16LE(buttons >>> 16, 22)
  b.writeUInt16LE(0x55, 24)
  return packet(0x0c, b)
}

export function hscroll(amount: number): Buffer {
  const b = Buffer.alloc(2)
  b.writeInt16BE(amount, 0)
  return packet(0x55000001, b)
}

export function gamepadArrival(controller: number, type: number, capabilities: number, supportedButtons: number): Buffer {
  const b = Buffer.alloc(8)
  b[0] = controller
  b[1] = type
  b.writeUInt16LE(capabilities, 2)
  b.writeUInt32LE(supportedButtons >>> 0, 4)
  return packet(0x55000004, b)
}
