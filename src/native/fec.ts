/**
 * Typed wrapper over the shim's Reed-Solomon code (libs/include/lumen_fec.h): the Moonlight
 * video (Cauchy) and audio (fixed 4+2) codes, encoded and decoded inside caller Buffers.
 *
 * One call encodes every block of a frame: describe the blocks with {@link RsBlocks} (where the
 * data and parity shards sit inside one Buffer) and call {@link rsEncode}.
 */
import {check, cString, ErrorBuffer} from './call.js'
import {shim} from './library.js'

export const RS_LEVELS = ['scalar', 'avx2', 'gfni-avx2', 'gfni-avx512'] as const
export type RsLevel = (typeof RS_LEVELS)[number]

export const RsMatrix = {cauchy: 0, audio: 1} as const
export type RsMatrixKind = keyof typeof RsMatrix

/** int32 values per block descriptor (lumen_fec.h LUMEN_RS_BLOCK_INTS) */
export const RS_BLOCK_INTS = 6

const err = new ErrorBuffer()
let envApplied = false

/** The shim, with LUMEN_RS_ISA checked once: an unknown or unsupported level is an error here
 * (the C side silently keeps its best level). */
function lib(): ReturnType<typeof shim> {
  const s = shim()
  if (!envApplied) {
    envApplied = true
    const env = process.env.LUMEN_RS_ISA
    if (env !== undefined && env !== '') check('lumen_rs_isa_set', s.lumen_rs_isa_set([env, ...err.args()]), err)
  }
  return s
}

export function isRsLevel(name: string): name is RsLevel {
  return (RS_LEVELS as readonly string[]).includes(name)
}

/** The levels this CPU can run (weakest first) and the one in use. */
export function rsLevels(): {available: RsLevel[]; active: RsLevel} {
  const buf = Buffer.alloc(128)
  lib().lumen_rs_isa_list([buf, buf.length])
  const available = cString(buf).split(',').filter(isRsLevel)
  const act = Buffer.alloc(32)
  lib().lumen_rs_isa_active([act, act.length])
  const active = cString(act)
  if (!isRsLevel(active)) throw new Error(`the shim reports an unknown Reed-Solomon level '${active}'`)
  return {available, active}
}

/** Forces a kernel level for this process ('auto' = the best this CPU has). */
export function rsSetLevel(level: RsLevel | 'auto'): void {
  check('lumen_rs_isa_set', lib().lumen_rs_isa_set([level, ...err.args()]), err)
}

/**
 * Block descriptors for {@link rsEncode}, reusable across frames (no allocation per frame).
 * Offsets and strides are in bytes inside the Buffer passed to rsEncode.
 */
export class RsBlocks {
  readonly bytes: Buffer
  count = 0

  constructor(readonly capacity: number) {
    this.bytes = Buffer.alloc(capacity * RS_BLOCK_INTS * 4)
  }

  clear(): void {
    this.count = 0
  }

  add(dataOffset: number, dataStride: number, parityOffset: number, parityStride: number, k: number, m: number): void {
    if (this.count >= this.capacity) throw new RangeError(`RsBlocks holds at most ${this.capacity} blocks`)
    const o = this.count * RS_BLOCK_INTS * 4
    const b = this.bytes
    b.writeInt32LE(dataOffset, o)
    b.writeInt32LE(dataStride, o + 4)
    b.writeInt32LE(parityOffset, o + 8)
    b.writeInt32LE(parityStride, o + 12)
    b.writeInt32LE(k, o + 16)
    b.writeInt32LE(m, o + 20)
    this.count++
  }
}

/** Computes the parity shards of every block in `blocks`, in place in `buf`; returns how many. */
export function rsEncode(buf: Buffer, shardSize: number, matrix: RsMatrixKind, blocks: RsBlocks): number {
  return check(
    'lumen_rs_encode',
    lib().lumen_rs_encode([buf, buf.length, shardSize, RsMatrix[matrix], blocks.bytes, blocks.bytes.length, blocks.count, ...err.args()]),
    err,
  )
}

export interface RsBlockLayout {
  /** byte offset of shard 0 */
  offset: number
  /** bytes from one shard to the next */
  stride: number
  shardSize: number
  k: number
  m: number
  matrix: RsMatrixKind
  /** also re-encode missing parity shards (default true) */
  rebuildParity?: boolean
}

/**
 * Rebuilds the missing shards of one block in place: `present[s]` non-zero marks shard s
 * (data 0..k-1, then parity) as received; missing parity is re-encoded unless
 * `layout.rebuildParity` is false. Returns the number of data shards rebuilt; throws
 * ShimError (status 'failed') when fewer than k shards are present.
 */
export function rsDecode(buf: Buffer, layout: RsBlockLayout, present: Buffer): number {
  const {offset, stride, shardSize, k, m, matrix} = layout
  if (present.length < k + m) throw new RangeError(`rsDecode: present has ${present.length} flags, a ${k}+${m} block needs ${k + m}`)
  return check(
    'lumen_rs_decode',
    lib().lumen_rs_decode([buf, buf.length, offset, stride, shardSize, k, m, RsMatrix[matrix], layout.rebuildParity === false ? 0 : 1, present, present.length, ...err.args()]),
    err,
  )
}

/** The m x k parity matrix (row-major) the shim uses. */
export function rsParityMatrix(k: number, m: number, matrix: RsMatrixKind): Buffer {
  const out = Buffer.alloc(Math.max(1, k * m))
  const n = check('lumen_rs_matrix', lib().lumen_rs_matrix([k, m, RsMatrix[matrix], out, out.length, ...err.args()]), err)
  return out.subarray(0, n)
}
