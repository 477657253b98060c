/**
 * The client side of the video stream: datagrams in, completed frames (and lost-frame reports)
 * out, as moonlight-common-c's receive path does it (docs/protocol/video.md §7): optional
 * AES-GCM decryption, one FEC block at a time, Reed-Solomon rebuild of missing data packets as
 * soon as any k of a block's k + m packets are in, the client's sanity checks on rebuilt packets,
 * then the frame bytes without the 8-byte frame header.
 *
 * Used by `lumen fec-sim` and by the in-repo test client. Feed datagrams in arrival order with
 * `push()`; call `flush()` at the end of a stream. No allocation per packet on the plain path;
 * a delivered frame's `data` is a view valid until the next push()/flush().
 */
import {createDecipheriv} from 'node:crypto'

import {rsDecode} from '../../native/fec.js'
import {
  FecInfo,
  FRAME_HEADER_BYTES,
  FRAME_HEADER_TYPE,
  FrameHeaderOff,
  MultiFecBlocks,
  Off,
  RTP_EXTENSION_BIT,
  VIDEO_ENC_PREFIX_BYTES,
  VIDEO_HEADER_BYTES,
  VideoFlags,
} from '../../protocol/video-header.js'
import {MAX_FEC_BLOCKS} from '../packetizer/format.js'

export interface VideoDepacketizerOptions {
  /** x-nv-video[0].packetSize as announced (reduced by 32 with encryption) */
  packetSize: number
  /** AES-128 key when video encryption is on */
  encryptionKey?: Buffer
  /** the first frame index the host will send (default 1): a stream whose first frames are lost
   * entirely reports them as lost */
  firstFrameIndex?: number
}

export interface DeliveredFrame {
  kind: 'frame'
  frameIndex: number
  /** frame header type: 1 P, 2 IDR, 4 intra refresh, 5 after RFI */
  frameType: number
  latencyTenthMs: number
  rtpTimestamp: number
  /** the encoded frame (header stripped, padding trimmed); valid until the next push()/flush() */
  data: Buffer
  /** packets of this frame that arrived and were used (data + parity) */
  packetsReceived: number
  /** data packets rebuilt from parity */
  dataRebuilt: number
  blocks: number
}

export type LostReason =
  /** no packet of the frame arrived */
  | 'missing'
  /** a block got fewer than k of its packets */
  | 'unrecoverable'
  /** packets arrived but failed the client's checks (flags, continuity, header) */
  | 'corrupt'

export interface LostFrame {
  kind: 'lost'
  frameIndex: number
  reason: LostReason
  packetsReceived: number
}

export type FrameEvent = DeliveredFrame | LostFrame

export interface DepacketizerStats {
  datagrams: number
  /** shorter than a header, failed authentication, or a malformed fecInfo */
  rejected: number
  /** behind the frame or block being assembled (late or duplicate) */
  stale: number
  framesDelivered: number
  framesRebuilt: number
  framesLost: number
  dataRebuilt: number
}

const NONE: FrameEvent[] = []

const le32 = (b: Uint8Array, o: number): number => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0
const be32 = (b: Uint8Array, o: number): number => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0

interface BlockState {
  k: number
  m: number
  baseSeq: number
  received: number
  done: boolean
}

export class VideoDepacketizer {
  readonly shardSize: number
  readonly stats: DepacketizerStats = {datagrams: 0, rejected: 0, stale: 0, framesDelivered: 0, framesRebuilt: 0, framesLost: 0, dataRebuilt: 0}
  private readonly P: number
  private readonly key: Buffer | undefined
  /** shard slots: block b, shard s at ((b * 256) + s) * S */
  private readonly work: Buffer
  private readonly present: Buffer
  private out = Buffer.alloc(0)
  private readonly blocks: BlockState[] = []
  /** frame being assembled, or null */
  private frame: number | null = null
  private frameFailed = false
  private frameBlocks = 0
  private curBlock = 0
  private framePackets = 0
  private frameRebuilt = 0
  private frameTimestamp = 0
  /** the last frame index delivered or declared lost */
  private lastDone: number

  constructor(options: VideoDepacketizerOptions) {
    if (options.packetSize % 16 !== 0 || options.packetSize < VIDEO_HEADER_BYTES) throw new RangeError(`impossible packet size ${options.packetSize}`)
    this.shardSize = options.packetSize + 16
    this.P = options.packetSize - 16
    this.key = options.encryptionKey
    this.lastDone = ((options.firstFrameIndex ?? 1) - 1) >>> 0
    this.work = Buffer.alloc(MAX_FEC_BLOCKS * 256 * this.shardSize)
    this.present = Buffer.alloc(MAX_FEC_BLOCKS * 256)
    for (let b = 0; b < MAX_FEC_BLOCKS; b++) this.blocks.push({k: 0, m: 0, baseSeq: 0, received: 0, done: false})
  }

  /** One datagram in (the bytes are copied); the frames it completed or proved lost out. */
  push(datagram: Uint8Array): FrameEvent[] {
    this.stats.datagrams++
    const S = this.shardSize
    let pkt: Uint8Array = datagram
    if (this.key !== undefined) {
      const plain = this.decrypt(datagram)
      if (plain === null) {
        this.stats.rejected++
        return NONE
      }
      pkt = plain
    }
    if (pkt.length < VIDEO_HEADER_BYTES || pkt.length > S || (pkt[Off.rtpFlags] & RTP_EXTENSION_BIT) === 0) {
      this.stats.rejected++
      return NONE
    }
    const frameIndex = le32(pkt, Off.frameIndex)
    const fecInfo = le32(pkt, Off.fecInfo)
    const k = fecInfo >>> FecInfo.kShift
    const shard = (fecInfo >>> FecInfo.shardShift) & FecInfo.shardMask
    const fWire = (fecInfo >>> FecInfo.percentShift) & FecInfo.percentMask
    const mfb = pkt[Off.multiFecBlocks]
    const blockIdx = (mfb >>> MultiFecBlocks.indexShift) & MultiFecBlocks.mask
    const lastBlock = (mfb >>> MultiFecBlocks.lastShift) & MultiFecBlocks.mask
    const seq = (pkt[Off.sequence] << 8) | pkt[Off.sequence + 1]
    const m = Math.ceil((k * fWire) / 100)
    if (k === 0 || shard >= k + m || k + m > 1023 || blockIdx > lastBlock) {
      this.stats.rejected++
      return NONE
    }
    if (((frameIndex - this.lastDone) | 0) <= 0) {
      this.stats.stale++
      return NONE
    }

    let events = NONE
    if (this.frame !== frameIndex) {
      events = []
      if (this.frame !== null) this.loseCurrent(events, this.frameFailed ? 'corrupt' : 'unrecoverable')
      // frames skipped entirely
      const gap = ((frameIndex - this.lastDone) | 0) - 1
      for (let i = 1; i <= Math.min(gap, 100_000); i++) this.lose(events, (this.lastDone + 1) >>> 0, 'missing', 0)
      this.lastDone = (frameIndex - 1) >>> 0
      this.startFrame(frameIndex, lastBlock + 1, be32(pkt, Off.timestamp))
    }
    if (this.frameFailed) return events
    if (blockIdx < this.curBlock || lastBlock + 1 !== this.frameBlocks) {
      this.stats.stale++
      return events
    }
    if (blockIdx > this.curBlock) {
      // a later block while the current one is incomplete: the client gives up on the frame
      this.frameFailed = true
      return events
    }
    const bs = this.blocks[blockIdx]
    if (bs.received === 0) {
      bs.k = k
      bs.m = m
      bs.baseSeq = (seq - shard) & 0xffff
    } else if (bs.k !== k || bs.m !== m || ((seq - shard) & 0xffff) !== bs.baseSeq) {
      this.stats.rejected++
      return events
    }
    const pIdx = blockIdx * 256 + shard
    if (bs.done || this.present[pIdx] !== 0) {
      this.stats.stale++
      return events
    }
    const at = pIdx * S
    this.work.set(pkt, at)
    if (pkt.length < S) this.work.fill(0, at + pkt.length, at + S)
    this.present[pIdx] = 1
    bs.received++
    this.framePackets++
    if (bs.received < bs.k) return events

    // the block is complete: rebuild, check, move on
    bs.done = true
    const rebuilt = this.completeBlock(blockIdx, bs)
    if (rebuilt < 0) {
      this.frameFailed = true
      return events
    }
    this.frameRebuilt += rebuilt
    this.curBlock++
    if (this.curBlock === this.frameBlocks) {
      if (events === NONE) events = []
      this.deliver(events, frameIndex)
    }
    return events
  }

  /** End of stream: the frame being assembled, if any, is lost. */
  flush(): FrameEvent[] {
    if (this.frame === null) return NONE
    const events: FrameEvent[] = []
    this.loseCurrent(events, this.frameFailed ? 'corrupt' : 'unrecoverable')
    return events
  }

  private startFrame(frameIndex: number, blocks: number, timestamp: number): void {
    this.frame = frameIndex
    this.frameFailed = false
    this.frameBlocks = blocks
    this.curBlock = 0
    this.framePackets = 0
    this.frameRebuilt = 0
    this.frameTimestamp = timestamp
    for (let b = 0; b < blocks; b++) {
      const bs = this.blocks[b]
      bs.received = 0
      bs.done = false
      this.present.fill(0, b * 256, b * 256 + 256)
    }
  }

  private loseCurrent(events: FrameEvent[], reason: LostReason): void {
    this.lose(events, this.frame as number, reason, this.framePackets)
    this.frame = null
  }

  private lose(events: FrameEvent[], frameIndex: number, reason: LostReason, packetsReceived: number): void {
    events.push({kind: 'lost', frameIndex, reason, packetsReceived})
    this.stats.framesLost++
    this.lastDone = frameIndex
  }

  /** Rebuilds missing data shards and applies the client's checks; returns shards rebuilt or -1. */
  private completeBlock(b: number, bs: BlockState): number {
    const S = this.shardSize
    const base = b * 256
    let missing = 0
    for (let x = 0; x < bs.k; x++) if (this.present[base + x] === 0) missing++
    if (missing > 0) {
      try {
        rsDecode(this.work, {offset: base * S, stride: S, shardSize: S, k: bs.k, m: bs.m, matrix: 'cauchy', rebuildParity: false}, this.present.subarray(base, base + bs.k + bs.m))
      } catch {
        return -1
      }
    }
    // flags and packet-index continuity, as the client checks them
    let prevSpi = 0
    for (let x = 0; x < bs.k; x++) {
      const o = (base + x) * S
      const want = VideoFlags.picData | (x === 0 ? VideoFlags.sof : 0) | (x === bs.k - 1 ? VideoFlags.eof : 0)
      if (this.work[o + Off.flags] !== want) return -1
      const spi = this.work.readUInt32LE(o + Off.streamPacketIndex) >>> 8
      if (x > 0 && spi !== ((prevSpi + 1) & 0xffffff)) return -1
      prevSpi = spi
    }
    return missing
  }

  private deliver(events: FrameEvent[], frameIndex: number): void {
    const S = this.shardSize
    const P = this.P
    let D = 0
    for (let b = 0; b < this.frameBlocks; b++) D += this.blocks[b].k
    const h = VIDEO_HEADER_BYTES // first data shard of block 0 is slot 0
    const w = this.work
    const lastPayloadLen = w.readUInt16LE(h + FrameHeaderOff.lastPayloadLen)
    const total = (D - 1) * P + lastPayloadLen - FRAME_HEADER_BYTES
    if (w[h + FrameHeaderOff.headerType] !== FRAME_HEADER_TYPE || lastPayloadLen === 0 || lastPayloadLen > P || total < 0) {
      this.lose(events, frameIndex, 'corrupt', this.framePackets)
      this.frame = null
      return
    }
    if (this.out.length < D * P) this.out = Buffer.alloc(Math.ceil(D * P * 1.25))
    const out = this.out
    let n = 0
    let first = true
    for (let b = 0; b < this.frameBlocks; b++) {
      for (let x = 0; x < this.blocks[b].k; x++) {
        const o = (b * 256 + x) * S + VIDEO_HEADER_BYTES + (first ? FRAME_HEADER_BYTES : 0)
        const len = Math.min(S - (o % S), total - n)
        w.copy(out, n, o, o + len)
        n += len
        first = false
      }
    }
    this.stats.framesDelivered++
    if (this.frameRebuilt > 0) this.stats.framesRebuilt++
    this.stats.dataRebuilt += this.frameRebuilt
    events.push({
      kind: 'frame',
      frameIndex,
      frameType: w[h + 3],
      latencyTenthMs: w[h + 1] | (w[h + 2] << 8),
      rtpTimestamp: this.frameTimestamp,
      data: out.subarray(0, total),
      packetsReceived: this.framePackets,
      dataRebuilt: this.frameRebuilt,
      blocks: this.frameBlocks,
    })
    this.lastDone = frameIndex
    this.frame = null
  }

  private decrypt(d: Uint8Array): Buffer | null {
    if (d.length < VIDEO_ENC_PREFIX_BYTES + 12) return null
    const buf = Buffer.from(d.buffer, d.byteOffset, d.byteLength)
    try {
      const dec = createDecipheriv('aes-128-gcm', this.key as Buffer, buf.subarray(0, 12))
      dec.setAuthTag(buf.subarray(16, 32))
      const a = dec.update(buf.subarray(VIDEO_ENC_PREFIX_BYTES))
      const b = dec.final()
      return b.length === 0 ? a : Buffer.concat([a, b])
    } catch {
      return null
    }
  }
}
