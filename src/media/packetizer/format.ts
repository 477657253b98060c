/**
 * The FEC block plan (docs/protocol/video.md §6, fec.md §6), and the datagram layout it is cut
 * into, owned by ../../protocol/video-header.ts and re-exported here.
 */

export {
  FRAME_HEADER_BYTES,
  FRAME_HEADER_TYPE,
  FrameHeaderOff,
  FrameType,
  MULTI_FEC_FLAGS,
  Off,
  RTP_FLAGS,
  VIDEO_ENC_PREFIX_BYTES,
  VIDEO_HEADER_BYTES,
  VideoFlags,
} from '../../protocol/video-header.js'
import {FRAME_HEADER_BYTES, VIDEO_HEADER_BYTES} from '../../protocol/video-header.js'

/** Largest number of data packets in one block with FEC off (the 10-bit k field). */
export const MAX_BLOCK_PACKETS_NO_FEC = 1023
export const MAX_FEC_BLOCKS = 4

export interface VideoFecParams {
  /** x-nv-video[0].packetSize as announced (already reduced by 32 with video encryption); multiple of 16 */
  packetSize: number
  /** host FEC percentage F, 0..255 (0 = no parity) */
  fecPercentage: number
  /** the client's minRequiredFecPackets */
  minParity: number
}

export interface BlockPlan {
  /** data shards */
  k: number
  /** parity shards */
  m: number
  /** FEC percentage written into fecInfo */
  fWire: number
}

export interface FramePlan {
  /** bytes of frame header + frame */
  payloadBytes: number
  /** video bytes per packet, packetSize - 16 */
  P: number
  /** shard / packet size, packetSize + 16 */
  S: number
  dataPackets: number
  parityPackets: number
  /** bytes in the final data packet's payload (the frame header's lastPayloadLen) */
  lastPayloadLen: number
  blocks: BlockPlan[]
}

/** Parameters (or a frame) that no correct packetization exists for. */
export class FecParamError extends RangeError {
  override name = 'FecParamError'
}

export function checkFecParams(p: VideoFecParams): void {
  if (!Number.isInteger(p.packetSize) || p.packetSize < VIDEO_HEADER_BYTES || p.packetSize % 16 !== 0)
    throw new FecParamError(
      `packet size ${p.packetSize} is impossible: it must be a multiple of 16 and at least ${VIDEO_HEADER_BYTES} (the headers)`,
    )
  if (!Number.isInteger(p.fecPercentage) || p.fecPercentage < 0 || p.fecPercentage > 255)
    throw new FecParamError(`FEC percentage ${p.fecPercentage} is outside 0..255`)
  if (!Number.isInteger(p.minParity) || p.minParity < 0 || p.minParity > 254)
    throw new FecParamError(`minimum parity ${p.minParity} is outside 0..254`)
}

/** m and F_wire for a block of k data shards (fec.md §6), written into `into` when given. */
export function blockParity(k: number, F: number, minParity: number, into?: BlockPlan): BlockPlan {
  const out = into ?? {k, m: 0, fWire: 0}
  out.k = k
  if (F === 0) {
    out.m = 0
    out.fWire = 0
    return out
  }
  let m = Math.floor((k * F + 99) / 100)
  let fWire = F
  if (m < minParity) {
    m = minParity
    if (minParity <= 2) {
      fWire = Math.floor((100 * m) / k) // Sunshine's formula: consistent for minimums up to 2
    } else {
      fWire = Math.ceil((100 * m) / k) // fec.md §6: the self-consistent rule for larger minimums
      m = Math.ceil((k * fWire) / 100)
    }
  }
  if (fWire > 255 || k + m > 255 || Math.ceil((k * fWire) / 100) !== m)
    throw new FecParamError(
      `a block of ${k} data packets cannot carry ${m} parity packets (F=${F}%, minimum ${minParity}): k + m must be ≤ 255 and the wire percentage ≤ 255`,
    )
  out.m = m
  out.fWire = fWire
  return out
}

/** How one frame of `frameBytes` bytes is cut into packets and FEC blocks (video.md §6); into a
 * plan given (its block objects reused: the frame loop plans every frame) or a new one. */
export function planFrame(frameBytes: number, p: VideoFecParams, into?: FramePlan): FramePlan {
  const P = p.packetSize - 16
  const S = p.packetSize + 16
  const payloadBytes = frameBytes + FRAME_HEADER_BYTES
  const D = Math.ceil(payloadBytes / P)
  const rest = payloadBytes - (D - 1) * P
  const W = (D - 1) * S + VIDEO_HEADER_BYTES + rest
  let F = p.fecPercentage
  const kMax = Math.floor(25500 / (100 + F))
  let B = Math.ceil(W / (kMax * S))
  if (B > MAX_FEC_BLOCKS) {
    F = 0
    B = MAX_FEC_BLOCKS
  }
  const A = Math.ceil(Math.floor(W / B) / S)
  const blocks: BlockPlan[] = into?.blocks ?? []
  let parity = 0
  for (let b = 0; b < B; b++) {
    const k = b < B - 1 ? A : D - (B - 1) * A
    if (k < 1) throw new FecParamError(`a ${frameBytes}-byte frame leaves FEC block ${b} empty`)
    if (k > MAX_BLOCK_PACKETS_NO_FEC)
      throw new FecParamError(
        `a ${frameBytes}-byte frame needs ${D} packets of ${S} bytes: more than 4 blocks of ${MAX_BLOCK_PACKETS_NO_FEC} packets, which the protocol cannot represent`,
      )
    const plan = blockParity(k, F, p.minParity, blocks[b])
    parity += plan.m
    blocks[b] = plan
  }
  blocks.length = B
  if (into === undefined) return {payloadBytes, P, S, dataPackets: D, parityPackets: parity, lastPayloadLen: rest, blocks}
  into.payloadBytes = payloadBytes
  into.P = P
  into.S = S
  into.dataPackets = D
  into.parityPackets = parity
  into.lastPayloadLen = rest
  return into
}
