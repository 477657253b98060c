/**
 * Typed wrapper over the shim's video packetizer (libs/include/lumen_packetize.h): one frame →
 * its datagrams (headers, shard layout, Reed-Solomon, AES-128-GCM) in one call, from a frame
 * descriptor that src/media/packetizer/native.ts builds; and the AES-GCM sealing the TypeScript
 * reference packetizer uses, so the product has one AES-GCM for video.
 */
import {check, cString, ErrorBuffer} from './call.js'
import {shim} from './library.js'

/** int32 values in a frame descriptor, and their indices (lumen_packetize.h LUMEN_VD_*) */
export const VIDEO_DESC_INTS = 24
export const VideoDesc = {
  packetSize: 0,
  frameIndex: 1,
  frameType: 2,
  latency: 3,
  rtpTimestamp: 4,
  sequence: 5,
  ivLo: 6,
  ivHi: 7,
  encrypt: 8,
  blocks: 9,
  block0: 10,
  blockInts: 3,
  maxBlocks: 4,
} as const

const err = new ErrorBuffer()
const noKey = Buffer.alloc(0)

/** Packetizes into `out` (packet i at i*stride); lengths into `lens` when given. Returns the packet count. */
export function videoPacketize(frame: Buffer, frameLength: number, desc: Buffer, key: Buffer | undefined, out: Buffer, lens?: Buffer): number {
  if (frameLength < 0 || frameLength > frame.length) throw new RangeError(`frame length ${frameLength} is outside the ${frame.length}-byte buffer`)
  const k = key ?? noKey
  const l = lens ?? noKey
  return check('lumen_video_packetize', shim().lumen_video_packetize([frame, frameLength, desc, desc.length, k, k.length, out, out.length, l, l.length, ...err.args()]), err)
}

/** Which AES-GCM keys set from now on use: the best the CPU allows, or OpenSSL's (benches and tests compare them). */
export function selectVideoGcm(engine: 'best' | 'openssl'): void {
  shim().lumen_video_gcm_select([engine === 'openssl' ? 1 : 0])
}

/** The AES-GCM the packetizer and the send thread use: the shim's VAES kernel or OpenSSL. */
export function videoGcmEngine(): 'vaes-avx512' | 'openssl' {
  const out = Buffer.alloc(32)
  shim().lumen_video_gcm_engine([out, out.length])
  return cString(out) as 'vaes-avx512' | 'openssl'
}

/** Seals `count` plaintext packets in place (slot i at i*stride, plaintext at +32, shardSize bytes) with IV counters from ivCounter on. */
export function videoSeal(buf: Buffer, count: number, stride: number, shardSize: number, key: Buffer, ivCounter: bigint): number {
  return check('lumen_video_seal', shim().lumen_video_seal([buf, buf.length, count, stride, shardSize, key, key.length, Number(ivCounter), ...err.args()]), err)
}
