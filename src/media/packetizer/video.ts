/**
 * One encoded video frame → the UDP datagrams a Moonlight client reassembles
 * (docs/protocol/video.md §6, fec.md §5.1), with optional AES-128-GCM per packet
 * (media-encryption.md §3).
 *
 * The reference implementation: the stream sends through the shim's packetizer
 * (./native.ts, libs/src/packetize.c), which the tests compare with this one byte for byte.
 * Encryption goes through the shim's AES-GCM (the product's one), checked against the shared
 * vectors and an independent oracle in the tests.
 *
 * Built for the send hot path: every packet of a frame is written into one Buffer that is
 * reused from frame to frame (grown only when a frame needs more room), packet i sits at
 * `i * stride` and is `stride` bytes long, and all parity of the frame comes from ONE shim call.
 * The packets of a {@link VideoPacketBatch} stay valid until the next `packetize()` call.
 */
import {RsBlocks, rsEncode} from '../../native/fec.js'
import {videoSeal} from '../../native/packetize.js'
import {
  type BlockPlan,
  checkFecParams,
  FRAME_HEADER_BYTES,
  FRAME_HEADER_TYPE,
  FrameHeaderOff,
  MULTI_FEC_FLAGS,
  Off,
  planFrame,
  RTP_FLAGS,
  VIDEO_ENC_PREFIX_BYTES,
  type VideoFecParams,
  VideoFlags,
} from './format.js'

export interface VideoPacketizerOptions extends VideoFecParams {
  /** AES-128 key (the launch's rikey) when video encryption was negotiated */
  encryptionKey?: Buffer
  /** first RTP sequence number / packet counter of the stream (default 0) */
  firstSequence?: number
  /** first GCM IV counter (default 0) */
  ivCounter?: bigint
}

export interface VideoFrameInput {
  /** the encoded access unit */
  data: Uint8Array
  /** frame number, first frame = 1 */
  frameIndex: number
  /** frame type of the frame header: 1 P, 2 IDR, 4 intra-refresh, 5 after RFI */
  frameType: number
  /** capture-to-send time in 0.1 ms units (0 = unknown) */
  latencyTenthMs?: number
  /** 90 kHz RTP timestamp */
  rtpTimestamp: number
}

export interface VideoBlockInfo extends BlockPlan {
  /** index of the block's first packet in the batch */
  firstPacket: number
  /** RTP sequence number of that packet */
  firstSequence: number
}

export interface VideoPacketBatch {
  /** the packets, back to back: packet i is buffer[i*stride, (i+1)*stride) */
  buffer: Buffer
  stride: number
  count: number
  dataPackets: number
  parityPackets: number
  blocks: VideoBlockInfo[]
  frameIndex: number
}

/** packet i of a batch, as a view (allocates a Buffer object: for tests and tools) */
export function videoPacket(batch: VideoPacketBatch, i: number): Buffer {
  return batch.buffer.subarray(i * batch.stride, (i + 1) * batch.stride)
}

export class VideoPacketizer {
  readonly shardSize: number
  /** bytes per datagram: shardSize, plus 32 with encryption */
  readonly stride: number
  /** next RTP sequence counter (Sunshine's lowseq) */
  sequence: number
  ivCounter: bigint
  private buffer: Buffer
  private readonly blocksDesc = new RsBlocks(4)
  private readonly pre: number
  private readonly key: Buffer | undefined

  constructor(private readonly options: VideoPacketizerOptions) {
    checkFecParams(options)
    if (options.encryptionKey !== undefined && options.encryptionKey.length !== 16)
      throw new RangeError(`the video encryption key must be 16 bytes, got ${options.encryptionKey.length}`)
    this.key = options.encryptionKey
    this.shardSize = options.packetSize + 16
    this.pre = this.key === undefined ? 0 : VIDEO_ENC_PREFIX_BYTES
    this.stride = this.shardSize + this.pre
    this.sequence = options.firstSequence ?? 0
    this.ivCounter = options.ivCounter ?? 0n
    this.buffer = Buffer.alloc(this.stride * 64)
  }

  get params(): VideoFecParams {
    return {packetSize: this.options.packetSize, fecPercentage: this.options.fecPercentage, minParity: this.options.minParity}
  }

  packetize(frame: VideoFrameInput): VideoPacketBatch {
    const plan = planFrame(frame.data.length, this.options)
    const {S, P} = plan
    const T = this.stride
    const pre = this.pre
    const total = plan.dataPackets + plan.parityPackets
    if (this.buffer.length < total * T) this.buffer = Buffer.alloc(Math.ceil(total * 1.25) * T)
    const buf = this.buffer
    // one Buffer view per frame, so packets copy by offsets without a view each
    const data = Buffer.isBuffer(frame.data) ? frame.data : Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength)
    const frameIndex = frame.frameIndex >>> 0
    const B = plan.blocks.length
    const ts = frame.rtpTimestamp >>> 0
    const blocks: VideoBlockInfo[] = []
    this.blocksDesc.clear()

    // 1. data shards: zero header, NV fields, payload (fec.md §5.1 step 1)
    let slot = 0
    let src = 0 // offset in `data` of the next video byte
    let dataPacket = 0
    for (let b = 0; b < B; b++) {
      const bp = plan.blocks[b]
      const multiFecBlocks = (b << 4) | ((B - 1) << 6)
      const firstSlot = slot
      for (let x = 0; x < bp.k; x++, slot++, dataPacket++) {
        const o = slot * T + pre
        for (let z = o; z < o + Off.streamPacketIndex; z++) buf[z] = 0
        const spi = ((this.sequence + slot) << 8) >>> 0
        buf[o + Off.streamPacketIndex] = spi & 0xff
        buf[o + Off.streamPacketIndex + 1] = (spi >>> 8) & 0xff
        buf[o + Off.streamPacketIndex + 2] = (spi >>> 16) & 0xff
        buf[o + Off.streamPacketIndex + 3] = spi >>> 24
        buf[o + Off.flags] = VideoFlags.picData | (x === 0 ? VideoFlags.sof : 0) | (x === bp.k - 1 ? VideoFlags.eof : 0)
        buf[o + Off.extraFlags] = 0
        buf[o + Off.multiFecFlags] = MULTI_FEC_FLAGS
        buf[o + Off.multiFecBlocks] = multiFecBlocks
        buf[o + Off.fecInfo] = 0
        buf[o + Off.fecInfo + 1] = 0
        buf[o + Off.fecInfo + 2] = 0
        buf[o + Off.fecInfo + 3] = 0
        let p = o + Off.payload
        let room = P
        if (dataPacket === 0) {
          buf.fill(0, p, p + FRAME_HEADER_BYTES)
          buf[p + FrameHeaderOff.headerType] = FRAME_HEADER_TYPE
          const lat = Math.min(65535, Math.max(0, Math.round(frame.latencyTenthMs ?? 0)))
          buf.writeUInt16LE(lat, p + FrameHeaderOff.latencyTenthMs)
          buf[p + FrameHeaderOff.frameType] = frame.frameType
          buf.writeUInt16LE(plan.lastPayloadLen, p + FrameHeaderOff.lastPayloadLen)
          p += FRAME_HEADER_BYTES
          room -= FRAME_HEADER_BYTES
        }
        const n = Math.min(room, data.length - src)
        data.copy(buf, p, src, src + n)
        src += n
        if (n < room) buf.fill(0, p + n, o + S)
      }
      if (bp.m > 0) this.blocksDesc.add(firstSlot * T + pre, T, slot * T + pre, T, bp.k, bp.m)
      blocks.push({...bp, firstPacket: firstSlot, firstSequence: (this.sequence + firstSlot) & 0xffff})
      slot += bp.m
    }

    // 2. all parity of the frame: one shim call
    if (this.blocksDesc.count > 0) rsEncode(buf, S, 'cauchy', this.blocksDesc)

    // 3. RTP header, fecInfo, frameIndex, multiFecBlocks on every shard
    for (let b = 0; b < B; b++) {
      const bi = blocks[b]
      const multiFecBlocks = (b << 4) | ((B - 1) << 6)
      const n = bi.k + bi.m
      const fecBase = (bi.k << 22) | (bi.fWire << 4)
      for (let x = 0; x < n; x++) {
        const s = bi.firstPacket + x
        const o = s * T + pre
        const seq = (this.sequence + s) & 0xffff
        buf[o + Off.rtpFlags] = RTP_FLAGS
        buf[o + Off.payloadType] = 0
        buf[o + Off.sequence] = seq >>> 8
        buf[o + Off.sequence + 1] = seq & 0xff
        buf[o + Off.timestamp] = ts >>> 24
        buf[o + Off.timestamp + 1] = (ts >>> 16) & 0xff
        buf[o + Off.timestamp + 2] = (ts >>> 8) & 0xff
        buf[o + Off.timestamp + 3] = ts & 0xff
        buf[o + Off.frameIndex] = frameIndex & 0xff
        buf[o + Off.frameIndex + 1] = (frameIndex >>> 8) & 0xff
        buf[o + Off.frameIndex + 2] = (frameIndex >>> 16) & 0xff
        buf[o + Off.frameIndex + 3] = frameIndex >>> 24
        buf[o + Off.multiFecBlocks] = multiFecBlocks
        const fec = (fecBase | (x << 12)) >>> 0
        buf[o + Off.fecInfo] = fec & 0xff
        buf[o + Off.fecInfo + 1] = (fec >>> 8) & 0xff
        buf[o + Off.fecInfo + 2] = (fec >>> 16) & 0xff
        buf[o + Off.fecInfo + 3] = fec >>> 24
      }
    }

    // 4. AES-128-GCM per packet, after FEC (the shim's, as the stream's)
    if (this.key !== undefined) {
      videoSeal(buf, total, T, S, this.key, this.ivCounter)
      this.ivCounter += BigInt(total)
    }

    this.sequence = (this.sequence + total) | 0
    return {
      buffer: buf,
      stride: T,
      count: total,
      dataPackets: plan.dataPackets,
      parityPackets: plan.parityPackets,
      blocks,
      frameIndex,
    }
  }
}
