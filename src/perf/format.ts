/**
 * The LUMEN_PERF log format: one fixed-size binary record per video frame, after one header.
 * Owned here; `lumen serve` writes it (PerfLogWriter), `lumen perf-report` reads it.
 *
 * Why binary fixed-size records and not JSON lines:
 * - the writer sits in the stream's worker thread at up to 240 fps: filling 64 bytes of a
 *   preallocated Buffer through a DataView allocates nothing and costs well under a microsecond,
 *   where JSON.stringify allocates a string per frame (GC pauses on the hot path);
 * - the reader streams a file in fixed chunks, so memory stays bounded whatever the length, and
 *   decodes 864,000 records (1 h at 240 fps, 55 MB) without parsing text;
 * - a per-record sync word and CRC-32 let the reader find every record that survived a torn or
 *   corrupted write, skip the damage, and stop cleanly at a partial record at the end of a log that
 *   is still being written (a partial record is simply fewer than 64 bytes past the last full one).
 *
 * Layout (all little-endian):
 *
 *   header   off  size
 *            0    8    magic "LUMNPERF"
 *            8    2    u16 format version (1)
 *            10   2    u16 record size in bytes (64)
 *            12   4    u32 length N of the header JSON
 *            16   N    UTF-8 JSON: PerfLogHeader (width, height, fps, codec, bitrateKbps, encoder,
 *                      startTimeMs = wall clock at the stream's t0, ms since the epoch, and any
 *                      extra string/number fields the writer adds)
 *            16+N 4    u32 CRC-32 (IEEE, as zlib) of bytes 0 .. 16+N-1
 *   records start at 20+N, one every 64 bytes:
 *            0    2    u16 sync 0x504C ("LP")
 *            2    1    u8 flags: bit0 IDR frame, bit1 re-encoded (no new capture by the deadline)
 *            3    1    u8 reserved, 0
 *            4    4    u32 frame index (0 = the stream's first frame)
 *            8    8    f64 capture time, µs since the stream's t0 (monotonic clock)
 *            16   4    f32 µs in capture
 *            20   4    f32 µs in convert (colour conversion / upload)
 *            24   4    f32 µs in encode
 *            28   4    f32 µs in packetize + FEC (+ encrypt)
 *            32   4    f32 µs in send (the frame's packets handed to the kernel)
 *            36   4    f32 total µs, capture start to the frame's last packet sent
 *            40   4    f32 slack to the deadline in µs: deadline − moment the frame was ready to
 *                      send; negative = late (the frame was sent at once, after its deadline)
 *            44   4    u32 packets sent (data + FEC parity)
 *            48   4    u32 bytes sent (UDP payload bytes)
 *            52   4    u32 largest packet burst of the frame (packets handed to the NIC back to back)
 *            56   4    u32 frames the client has reported lost since the stream began (cumulative)
 *            60   4    u32 CRC-32 of record bytes 0..59
 *
 * A late frame is one with slack < 0. Stage times are f32: the reader reports them exactly as
 * stored (7 significant digits, far below a microsecond for any stage time up to 100 s).
 */

/** The format in a few lines, for `lumen perf-report --help`. */
export const FORMAT_HELP = `LUMEN_PERF log format (version 1, little-endian): a header — "LUMNPERF", u16 version, u16 record size (64), u32 JSON length N, N bytes of JSON {width, height, fps, codec, bitrateKbps, encoder, startTimeMs}, u32 CRC-32 — then one 64-byte record per frame: u16 sync 0x504C, u8 flags (1 = IDR, 2 = re-encoded), u8 0, u32 frame index, f64 capture time (µs since the stream's t0), f32 µs in capture, convert, encode, packetize+FEC, send, total and deadline slack (negative = late), u32 packets, bytes, largest packet burst, client-reported frames lost (cumulative), u32 CRC-32 of the first 60 bytes. A record whose sync word or CRC does not check is skipped and counted; an incomplete last record (a log still being written) is ignored.`

export const PERF_MAGIC = 'LUMNPERF'
export const PERF_VERSION = 1
export const RECORD_SIZE = 64
export const RECORD_SYNC = 0x504c
export const HEADER_FIXED = 16
/** A header JSON larger than this is treated as corruption, not read. */
export const MAX_HEADER_JSON = 64 * 1024

export const FLAG_IDR = 1
export const FLAG_REENCODED = 2

/** Stream parameters, written once at the head of the log. */
export interface PerfLogHeader {
  width: number
  height: number
  fps: number
  codec: string
  bitrateKbps: number
  /** the encoder in use, e.g. "libx265", "hevc_nvenc" */
  encoder: string
  /** wall clock at the stream's t0 (the capture-time origin), ms since the epoch */
  startTimeMs: number
  [extra: string]: string | number | boolean
}

/** One frame. */
export interface PerfRecord {
  frameIndex: number
  /** µs since the stream's t0 on the monotonic clock */
  captureTimeUs: number
  captureUs: number
  convertUs: number
  encodeUs: number
  /** packetize + FEC (+ encrypt) */
  packetizeUs: number
  sendUs: number
  /** capture start to the frame's last packet sent */
  totalUs: number
  /** deadline − ready-to-send moment; negative = late */
  slackUs: number
  packets: number
  bytes: number
  /** the largest number of packets handed to the NIC back to back for this frame */
  burstPackets: number
  idr: boolean
  /** true when no new frame was captured by the deadline and the last one was encoded again */
  reencoded: boolean
  /** frames the client reported lost since the stream began (cumulative; 0 when unknown) */
  clientFramesLost: number
}

/** Offsets inside a record, shared by the writer and the reader. */
export const R = {
  sync: 0,
  flags: 2,
  frameIndex: 4,
  captureTime: 8,
  capture: 16,
  convert: 20,
  encode: 24,
  packetize: 28,
  send: 32,
  total: 36,
  slack: 40,
  packets: 44,
  bytes: 48,
  burst: 52,
  clientLost: 56,
  crc: 60,
} as const

const CRC_TABLE = (() => {
  const t = new Int32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c
  }
  return t
})()

/** CRC-32 (IEEE, the one zlib computes) of bytes[start, end), without allocating. */
export function crc32(bytes: Uint8Array, start: number, end: number): number {
  let c = -1
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8)
  return (c ^ -1) >>> 0
}

/** Encodes one record at `offset` of `view` (64 bytes). Allocates nothing. */
export function encodeRecord(view: DataView, bytes: Uint8Array, offset: number, r: PerfRecord): void {
  view.setUint16(offset + R.sync, RECORD_SYNC, true)
  view.setUint8(offset + R.flags, (r.idr ? FLAG_IDR : 0) | (r.reencoded ? FLAG_REENCODED : 0))
  view.setUint8(offset + 3, 0)
  view.setUint32(offset + R.frameIndex, r.frameIndex >>> 0, true)
  view.setFloat64(offset + R.captureTime, r.captureTimeUs, true)
  view.setFloat32(offset + R.capture, r.captureUs, true)
  view.setFloat32(offset + R.convert, r.convertUs, true)
  view.setFloat32(offset + R.encode, r.encodeUs, true)
  view.setFloat32(offset + R.packetize, r.packetizeUs, true)
  view.setFloat32(offset + R.send, r.sendUs, true)
  view.setFloat32(offset + R.total, r.totalUs, true)
  view.setFloat32(offset + R.slack, r.slackUs, true)
  view.setUint32(offset + R.packets, r.packets >>> 0, true)
  view.setUint32(offset + R.bytes, r.bytes >>> 0, true)
  view.setUint32(offset + R.burst, r.burstPackets >>> 0, true)
  view.setUint32(offset + R.clientLost, r.clientFramesLost >>> 0, true)
  view.setUint32(offset + R.crc, crc32(bytes, offset, offset + R.crc), true)
}

/** True when the 64 bytes at `offset` carry the sync word and a matching CRC. */
export function recordValid(view: DataView, bytes: Uint8Array, offset: number): boolean {
  return (
    view.getUint16(offset + R.sync, true) === RECORD_SYNC &&
    view.getUint32(offset + R.crc, true) === crc32(bytes, offset, offset + R.crc)
  )
}

/** Decodes a record (assumed valid) into `out`, reusing it. */
export function decodeRecord(view: DataView, offset: number, out: PerfRecord): PerfRecord {
  const flags = view.getUint8(offset + R.flags)
  out.frameIndex = view.getUint32(offset + R.frameIndex, true)
  out.captureTimeUs = view.getFloat64(offset + R.captureTime, true)
  out.captureUs = view.getFloat32(offset + R.capture, true)
  out.convertUs = view.getFloat32(offset + R.convert, true)
  out.encodeUs = view.getFloat32(offset + R.encode, true)
  out.packetizeUs = view.getFloat32(offset + R.packetize, true)
  out.sendUs = view.getFloat32(offset + R.send, true)
  out.totalUs = view.getFloat32(offset + R.total, true)
  out.slackUs = view.getFloat32(offset + R.slack, true)
  out.packets = view.getUint32(offset + R.packets, true)
  out.bytes = view.getUint32(offset + R.bytes, true)
  out.burstPackets = view.getUint32(offset + R.burst, true)
  out.clientFramesLost = view.getUint32(offset + R.clientLost, true)
  out.idr = (flags & FLAG_IDR) !== 0
  out.reencoded = (flags & FLAG_REENCODED) !== 0
  return out
}

export function emptyRecord(): PerfRecord {
  return {
    frameIndex: 0,
    captureTimeUs: 0,
    captureUs: 0,
    convertUs: 0,
    encodeUs: 0,
    packetizeUs: 0,
    sendUs: 0,
    totalUs: 0,
    slackUs: 0,
    packets: 0,
    bytes: 0,
    burstPackets: 0,
    idr: false,
    reencoded: false,
    clientFramesLost: 0,
  }
}

/** The header's bytes: fixed part, JSON, CRC. */
export function encodeHeader(header: PerfLogHeader): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8')
  if (json.length > MAX_HEADER_JSON) throw new RangeError(`perf log header JSON is ${json.length} bytes, over ${MAX_HEADER_JSON}`)
  const buf = Buffer.alloc(HEADER_FIXED + json.length + 4)
  buf.write(PERF_MAGIC, 0, 'latin1')
  buf.writeUInt16LE(PERF_VERSION, 8)
  buf.writeUInt16LE(RECORD_SIZE, 10)
  buf.writeUInt32LE(json.length, 12)
  json.copy(buf, HEADER_FIXED)
  buf.writeUInt32LE(crc32(buf, 0, HEADER_FIXED + json.length), HEADER_FIXED + json.length)
  return buf
}

export type HeaderParse =
  | {kind: 'ok'; header: PerfLogHeader; recordsOffset: number}
  /** not enough bytes yet (an empty or just-created log) */
  | {kind: 'short'; need: number}
  | {kind: 'invalid'; reason: string}

/** Parses the header from the first bytes of a log. */
export function parseHeader(buf: Uint8Array): HeaderParse {
  if (buf.length < HEADER_FIXED) return {kind: 'short', need: HEADER_FIXED}
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
  if (b.toString('latin1', 0, 8) !== PERF_MAGIC) return {kind: 'invalid', reason: 'it does not start with the LUMEN_PERF magic "LUMNPERF"'}
  const version = b.readUInt16LE(8)
  if (version !== PERF_VERSION) return {kind: 'invalid', reason: `its format version is ${version}; this lumen reads version ${PERF_VERSION}`}
  const recordSize = b.readUInt16LE(10)
  if (recordSize !== RECORD_SIZE) return {kind: 'invalid', reason: `its record size is ${recordSize} bytes, not ${RECORD_SIZE}`}
  const n = b.readUInt32LE(12)
  if (n > MAX_HEADER_JSON) return {kind: 'invalid', reason: `its header claims ${n} bytes of JSON (corrupt header)`}
  const end = HEADER_FIXED + n + 4
  if (b.length < end) return {kind: 'short', need: end}
  if (b.readUInt32LE(HEADER_FIXED + n) !== crc32(b, 0, HEADER_FIXED + n)) return {kind: 'invalid', reason: 'its header checksum does not match (corrupt header)'}
  let header: unknown
  try {
    header = JSON.parse(b.toString('utf8', HEADER_FIXED, HEADER_FIXED + n))
  } catch {
    return {kind: 'invalid', reason: 'its header JSON does not parse'}
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return {kind: 'invalid', reason: 'its header is not a JSON object'}
  return {kind: 'ok', header: header as PerfLogHeader, recordsOffset: end}
}
