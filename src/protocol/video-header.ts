/**
 * The video datagram header layout (docs/protocol/video.md §2, §3): byte offsets, flag bits and
 * the frame header at the start of a frame's first payload. Owned here; the packetizer
 * (src/media/packetizer, whose format.ts re-exports it beside the FEC block plan) writes it, the
 * depacketizer and the test client read it.
 */

/** RTP header (12) + extension area (4) + NV video header (16) */
export const VIDEO_HEADER_BYTES = 32
/** AES-GCM prefix before an encrypted video packet: IV (12) + frameNumber (4) + tag (16) */
export const VIDEO_ENC_PREFIX_BYTES = 32
export const FRAME_HEADER_BYTES = 8

/** Byte offsets in a (decrypted) video datagram. Multi-byte fields: RTP big-endian, NV little-endian. */
export const Off = {
  rtpFlags: 0,
  payloadType: 1,
  sequence: 2,
  timestamp: 4,
  ssrc: 8,
  streamPacketIndex: 16,
  frameIndex: 20,
  flags: 24,
  extraFlags: 25,
  multiFecFlags: 26,
  multiFecBlocks: 27,
  fecInfo: 28,
  payload: 32,
} as const

/** The frame header at the start of the first data packet's payload (video.md §3). */
export const FrameHeaderOff = {headerType: 0, latencyTenthMs: 1, frameType: 3, lastPayloadLen: 4} as const
export const FRAME_HEADER_TYPE = 0x01

export const VideoFlags = {picData: 0x01, eof: 0x02, sof: 0x04} as const
export const FrameType = {p: 1, idr: 2, intraRefresh: 4, afterRfi: 5} as const
export const MULTI_FEC_FLAGS = 0x10
export const RTP_FLAGS = 0x90
/** The RTP extension bit of the first byte: set on every video datagram. */
export const RTP_EXTENSION_BIT = 0x10

/** fecInfo (LE32 at Off.fecInfo): k data shards, shard index, FEC percentage. */
export const FecInfo = {kShift: 22, shardShift: 12, shardMask: 0x3ff, percentShift: 4, percentMask: 0xff} as const
/** multiFecBlocks (Off.multiFecBlocks): this block's index and the last block's index, 2 bits each. */
export const MultiFecBlocks = {indexShift: 4, lastShift: 6, mask: 3} as const
