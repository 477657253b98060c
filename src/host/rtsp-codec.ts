/**
 * The RTSP dialect of rtsp.md §1 and §4: bounded request parsing, response serialisation and
 * the rtspenc:// AES-128-GCM framing. Pure functions of bytes.
 */
import {createCipheriv, createDecipheriv} from 'node:crypto'

export const RTSP_LIMITS = {
  maxHeaderBytes: 16 * 1024,
  maxHeaders: 64,
  maxBodyBytes: 64 * 1024,
} as const

export class RtspParseError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'RtspParseError'
  }
}

export interface RtspRequest {
  method: string
  target: string
  /** header names lower-cased; the first occurrence wins */
  headers: Map<string, string>
  body: Buffer
  cseq: string
}

export type ParseResult = {complete: false} | {complete: true; request: RtspRequest; consumed: number}

const CRLFCRLF = Buffer.from('\r\n\r\n')
const LFLF = Buffer.from('\n\n')

/** Parses one request from the bytes received so far; {complete:false} = wait for more. */
export function parseRtspRequest(buf: Buffer): ParseResult {
  let headerEnd = buf.indexOf(CRLFCRLF)
  let sepLen = 4
  const lf = buf.indexOf(LFLF)
  if (lf >= 0 && (headerEnd < 0 || lf < headerEnd)) {
    headerEnd = lf
    sepLen = 2
  }
  if (headerEnd < 0) {
    if (buf.length > RTSP_LIMITS.maxHeaderBytes) throw new RtspParseError(`RTSP header block longer than ${RTSP_LIMITS.maxHeaderBytes} bytes`)
    return {complete: false}
  }
  if (headerEnd > RTSP_LIMITS.maxHeaderBytes) throw new RtspParseError(`RTSP header block longer than ${RTSP_LIMITS.maxHeaderBytes} bytes`)
  const lines = buf.toString('latin1', 0, headerEnd).split(/\r?\n/)
  if (lines.length - 1 > RTSP_LIMITS.maxHeaders) throw new RtspParseError(`more than ${RTSP_LIMITS.maxHeaders} RTSP headers`)
  const m = /^([A-Z_]{1,32}) (\S{1,2048}) RTSP\/1\.0$/.exec(lines[0])
  if (m === null) throw new RtspParseError('malformed RTSP request line')
  const headers = new Map<string, string>()
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':')
    if (colon <= 0) throw new RtspParseError('malformed RTSP header line')
    const name = line.slice(0, colon).trim().toLowerCase()
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim())
  }
  let bodyLen = 0
  const cl = headers.get('content-length')
  if (cl !== undefined) {
    if (!/^\d{1,9}$/.test(cl)) throw new RtspParseError('malformed Content-length')
    bodyLen = Number(cl)
    if (bodyLen > RTSP_LIMITS.maxBodyBytes) throw new RtspParseError(`RTSP body of ${bodyLen} bytes exceeds ${RTSP_LIMITS.maxBodyBytes}`)
  }
  const bodyStart = headerEnd + sepLen
  if (buf.length < bodyStart + bodyLen) return {complete: false}
  return {
    complete: true,
    consumed: bodyStart + bodyLen,
    request: {method: m[1], target: m[2], headers, body: Buffer.from(buf.subarray(bodyStart, bodyStart + bodyLen)), cseq: headers.get('cseq') ?? '0'},
  }
}

export interface RtspResponse {
  status: number
  reason: string
  /** in order; names sent exactly as given */
  headers: Array<[string, string]>
  body?: string | Buffer
}

/** "RTSP/1.0 200 OK", each header as "Name: value", CRLF CRLF, then the body. */
export function serializeRtspResponse(res: RtspResponse): Buffer {
  let head = `RTSP/1.0 ${res.status} ${res.reason}\r\n`
  for (const [name, value] of res.headers) head += `${name}: ${value}\r\n`
  head += '\r\n'
  const body = res.body === undefined ? Buffer.alloc(0) : typeof res.body === 'string' ? Buffer.from(res.body, 'utf8') : res.body
  return Buffer.concat([Buffer.from(head, 'latin1'), body])
}

export const ENCRYPTED_RTSP_HEADER = 24
const ENCRYPTED_FLAG = 0x80000000

function rtspIv(seq: number, direction: 'client' | 'host'): Buffer {
  const iv = Buffer.alloc(12)
  iv.writeUInt32LE(seq >>> 0, 0)
  iv[10] = direction === 'client' ? 0x43 : 0x48
  iv[11] = 0x52
  return iv
}

/** Seals one RTSP message as an rtspenc frame. */
export function sealRtsp(key: Buffer, seq: number, plain: Buffer, direction: 'client' | 'host'): Buffer {
  const c = createCipheriv('aes-128-gcm', key, rtspIv(seq, direction))
  const ct = Buffer.concat([c.update(plain), c.final()])
  const out = Buffer.alloc(ENCRYPTED_RTSP_HEADER + ct.length)
  out.writeUInt32BE((ENCRYPTED_FLAG | plain.length) >>> 0, 0)
  out.writeUInt32BE(seq >>> 0, 4)
  c.getAuthTag().copy(out, 8)
  ct.copy(out, ENCRYPTED_RTSP_HEADER)
  return out
}

/** Whether the bytes start like an encrypted frame (the high bit of typeAndLength). */
export function looksEncrypted(buf: Buffer): boolean {
  return buf.length > 0 && (buf[0] & (ENCRYPTED_FLAG >>> 24)) !== 0
}

export type EncryptedFrame = {complete: false} | {complete: true; seq: number; length: number; consumed: number}

/** Reads an encrypted frame's header; {complete:false} until the whole frame is there. */
export function peekEncryptedFrame(buf: Buffer): EncryptedFrame {
  if (buf.length < ENCRYPTED_RTSP_HEADER) return {complete: false}
  const tl = buf.readUInt32BE(0)
  if ((tl & ENCRYPTED_FLAG) === 0) throw new RtspParseError('plaintext on an encrypted RTSP session')
  const length = tl & 0x7fffffff
  if (length > RTSP_LIMITS.maxHeaderBytes + RTSP_LIMITS.maxBodyBytes) throw new RtspParseError(`encrypted RTSP frame of ${length} bytes is too large`)
  if (buf.length < ENCRYPTED_RTSP_HEADER + length) return {complete: false}
  return {complete: true, seq: buf.readUInt32BE(4), length, consumed: ENCRYPTED_RTSP_HEADER + length}
}

/** Opens a complete frame (as peekEncryptedFrame found it); throws on a bad tag. */
export function openRtsp(key: Buffer, frame: Buffer, direction: 'client' | 'host'): {seq: number; plain: Buffer} {
  const head = peekEncryptedFrame(frame)
  if (!head.complete) throw new RtspParseError('incomplete encrypted RTSP frame')
  const d = createDecipheriv('aes-128-gcm', key, rtspIv(head.seq, direction))
  d.setAuthTag(frame.subarray(8, 24))
  try {
    const plain = Buffer.concat([d.update(frame.subarray(ENCRYPTED_RTSP_HEADER, head.consumed)), d.final()])
    return {seq: head.seq, plain}
  } catch {
    throw new RtspParseError('encrypted RTSP frame failed authentication')
  }
}
