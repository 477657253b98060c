/**
 * Control-stream messages (control-stream.md §2–§4): the AES-128-GCM envelope both ways and the
 * decoding of every client message. Pure functions of bytes; no sockets.
 */
import {createCipheriv, createDecipheriv} from 'node:crypto'

import {ControlDecodeError} from './errors.js'
import {decodeInputPacket, type InputEvent} from './input.js'

export const ControlType = {
  encrypted: 0x0001,
  ping: 0x0200,
  lossStats: 0x0201,
  frameStats: 0x0204,
  input: 0x0206,
  rfi: 0x0301,
  idr: 0x0302,
  startB: 0x0307,
  ltrAck: 0x0350,
  fecStatus: 0x5502,
  termination: 0x0109,
  rumble: 0x010b,
  hdrMode: 0x010e,
} as const

/** Graceful "server terminated" reason (control-stream.md §4). */
export const TERMINATION_GRACEFUL = 0x80030023
/** "Video frame conversion failed" (control-stream.md §4): what the host sends when its pipeline failed. */
export const TERMINATION_CONVERSION_FAILED = 0x800e9403

/** The HDR-mode message (control-stream.md §3): enabled, then 13 LE16 metadata fields. */
export const HDR_MODE_BYTES = 27

/** HDR mode off: what a 10-bit stream of an SDR source says at its start, so a client that asked
 * for HDR shows the BT.709 picture as SDR rather than switching its display to HDR. */
export function hdrModeOff(): Buffer {
  return Buffer.alloc(HDR_MODE_BYTES)
}

/** Largest encrypted control packet the host accepts (the client's biggest is well under 1 KiB). */
export const MAX_CONTROL_PACKET = 4096

export {ControlDecodeError}

export type Direction = 'client' | 'host'

function iv(seq: number, direction: Direction): Buffer {
  const b = Buffer.alloc(12)
  b.writeUInt32LE(seq >>> 0, 0)
  b[10] = direction === 'client' ? 0x43 : 0x48
  b[11] = 0x43
  return b
}

/** The plain message: LE16 type, LE16 length, payload. */
export function encodePlain(type: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(4 + payload.length)
  b.writeUInt16LE(type, 0)
  b.writeUInt16LE(payload.length, 2)
  payload.copy(b, 4)
  return b
}

/** Seals one control message in the V2 envelope (the direction picks the IV's byte 10). */
export function sealControl(key: Buffer, seq: number, type: number, payload: Buffer, direction: Direction): Buffer {
  const plain = encodePlain(type, payload)
  const c = createCipheriv('aes-128-gcm', key, iv(seq, direction))
  const ct = Buffer.concat([c.update(plain), c.final()])
  const out = Buffer.alloc(24 + ct.length)
  out.writeUInt16LE(ControlType.encrypted, 0)
  out.writeUInt16LE(4 + 16 + ct.length, 2)
  out.writeUInt32LE(seq >>> 0, 4)
  c.getAuthTag().copy(out, 8)
  ct.copy(out, 24)
  return out
}

export interface ControlMessage {
  seq: number
  type: number
  payload: Buffer
}

/** Opens an envelope; throws ControlDecodeError for anything malformed or unauthentic. */
export function openControl(key: Buffer, packet: Buffer, direction: Direction): ControlMessage {
  if (packet.length < 28) throw new ControlDecodeError(`control packet of ${packet.length} bytes is shorter than an envelope`)
  if (packet.length > MAX_CONTROL_PACKET) throw new ControlDecodeError(`control packet of ${packet.length} bytes exceeds ${MAX_CONTROL_PACKET}`)
  if (packet.readUInt16LE(0) !== ControlType.encrypted) throw new ControlDecodeError('unencrypted message on an encrypted control stream')
  const length = packet.readUInt16LE(2)
  if (length < 24 || packet.length !== length + 4) throw new ControlDecodeError(`envelope length ${length} does not match the packet (${packet.length} bytes)`)
  const seq = packet.readUInt32LE(4)
  const d = createDecipheriv('aes-128-gcm', key, iv(seq, direction))
  d.setAuthTag(packet.subarray(8, 24))
  let plain: Buffer
  try {
    plain = Buffer.concat([d.update(packet.subarray(24)), d.final()])
  } catch {
    throw new ControlDecodeError('control message failed authentication (wrong key or altered)')
  }
  const type = plain.readUInt16LE(0)
  const n = plain.readUInt16LE(2)
  if (4 + n > plain.length) throw new ControlDecodeError(`inner length ${n} exceeds the message (${plain.length - 4} bytes)`)
  if (type === ControlType.encrypted) throw new ControlDecodeError('nested envelope')
  return {seq, type, payload: plain.subarray(4, 4 + n)}
}

export interface FecStatus {
  frameIndex: number
  highestReceivedSequence: number
  nextContiguousSequence: number
  missingPacketsBeforeHighest: number
  totalDataPackets: number
  totalParityPackets: number
  receivedDataPackets: number
  receivedParityPackets: number
  fecPercentage: number
  multiFecBlockIndex: number
  multiFecBlockCount: number
}

export type ClientMessage =
  | {kind: 'idr-request'}
  | {kind: 'start-b'}
  | {kind: 'ping'}
  | {kind: 'rfi'; firstFrame: number; lastFrame: number}
  | {kind: 'ltr-ack'; frame: number}
  | {kind: 'fec-status'; status: FecStatus}
  | {kind: 'loss-stats'; lastGoodFrame: number}
  | {kind: 'input'; event: InputEvent}
  | {kind: 'unknown'; type: number; length: number}

function need(payload: Buffer, n: number, what: string): void {
  if (payload.length < n) throw new ControlDecodeError(`${what} needs ${n} payload bytes, got ${payload.length}`)
}

/** Decodes one client → host message (§3). */
export function decodeClientMessage(type: number, payload: Buffer): ClientMessage {
  switch (type) {
    case ControlType.idr:
      return {kind: 'idr-request'}
    case ControlType.startB:
      return {kind: 'start-b'}
    case ControlType.ping:
      return {kind: 'ping'}
    case ControlType.rfi:
      need(payload, 16, 'RFI request')
      return {kind: 'rfi', firstFrame: Number(payload.readBigUInt64LE(0)), lastFrame: Number(payload.readBigUInt64LE(8))}
    case ControlType.ltrAck:
      need(payload, 4, 'LTR ACK')
      return {kind: 'ltr-ack', frame: payload.readUInt32LE(0)}
    case ControlType.fecStatus:
      need(payload, 21, 'frame FEC status')
      return {
        kind: 'fec-status',
        status: {
          frameIndex: payload.readUInt32BE(0),
          highestReceivedSequence: payload.readUInt16BE(4),
          nextContiguousSequence: payload.readUInt16BE(6),
          missingPacketsBeforeHighest: payload.readUInt16BE(8),
          totalDataPackets: payload.readUInt16BE(10),
          totalParityPackets: payload.readUInt16BE(12),
          receivedDataPackets: payload.readUInt16BE(14),
          receivedParityPackets: payload.readUInt16BE(16),
          fecPercentage: payload[18],
          multiFecBlockIndex: payload[19],
          multiFecBlockCount: payload[20],
        },
      }
    case ControlType.lossStats:
      need(payload, 20, 'loss stats')
      return {kind: 'loss-stats', lastGoodFrame: Number(payload.readBigUInt64LE(12))}
    case ControlType.input:
      return {kind: 'input', event: decodeInputPacket(payload)}
    default:
      return {kind: 'unknown', type, length: payload.length}
  }
}

/** The termination message's payload: BE32 reason. */
export function terminationPayload(reason: number = TERMINATION_GRACEFUL): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(reason >>> 0, 0)
  return b
}
