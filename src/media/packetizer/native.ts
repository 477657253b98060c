/**
 * The product's video packetizer: TypeScript decides the frame's plan (format.ts planFrame: packet
 * size, FEC blocks with their k, m and wire percentage), the counters (RTP sequence, GCM IV) and
 * the frame header fields, and writes them into a frame descriptor; the shim does the per-packet
 * work (libs/src/packetize.c: headers, shard layout, Reed-Solomon, AES-GCM) in one call, straight
 * into the send thread's ring (Pacer.submitVideo) or into a Buffer (packetize(), for tests and
 * tools). video.ts is the reference it is compared against byte for byte.
 */
import {VIDEO_DESC_INTS, VideoDesc, videoPacketize} from '../../native/packetize.js'
import {checkFecParams, type FramePlan, planFrame, VIDEO_ENC_PREFIX_BYTES, type VideoFecParams} from './format.js'
import type {VideoBlockInfo, VideoFrameInput, VideoPacketBatch} from './video.js'

export interface NativeVideoPacketizerOptions extends VideoFecParams {
  /** AES-128-GCM per packet: the key lives in the send thread (Pacer.setGcm) or is passed to packetize() */
  encrypt?: boolean
  /** first RTP sequence number / packet counter of the stream (default 0) */
  firstSequence?: number
  /** first GCM IV counter (default 0) */
  ivCounter?: bigint
}

/** The frame fields of a descriptor (VideoFrameInput without the data: only its length). */
export interface VideoFrameFields {
  frameIndex: number
  frameType: number
  latencyTenthMs?: number
  rtpTimestamp: number
}

export class NativeVideoPacketizer {
  readonly shardSize: number
  /** bytes per datagram: shardSize, plus 32 with encryption */
  readonly stride: number
  readonly encrypt: boolean
  /** next RTP sequence counter (Sunshine's lowseq) */
  sequence: number
  // a number, not a bigint: the frame loop describes 240 frames a second, and a stream never
  // sends 2^53 packets
  private iv: number
  // reused from frame to frame (planFrame's `into`)
  private plan: FramePlan | undefined
  /** the descriptor of the frame last described */
  readonly desc = Buffer.alloc(VIDEO_DESC_INTS * 4)
  private readonly d = new Int32Array(this.desc.buffer, this.desc.byteOffset, VIDEO_DESC_INTS)
  private out = Buffer.alloc(0)
  private readonly lens = Buffer.alloc(0)

  constructor(private readonly options: NativeVideoPacketizerOptions) {
    checkFecParams(options)
    this.encrypt = options.encrypt === true
    this.shardSize = options.packetSize + 16
    this.stride = this.shardSize + (this.encrypt ? VIDEO_ENC_PREFIX_BYTES : 0)
    this.sequence = options.firstSequence ?? 0
    const iv = options.ivCounter ?? 0n
    if (iv < 0n || iv > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`GCM IV counter ${iv} is outside 0..2^53-1`)
    this.iv = Number(iv)
  }

  /** next GCM IV counter */
  get ivCounter(): bigint {
    return BigInt(this.iv)
  }

  get params(): VideoFecParams {
    return {packetSize: this.options.packetSize, fecPercentage: this.options.fecPercentage, minParity: this.options.minParity}
  }

  /** Fills {@link desc} for a frame of `frameBytes` bytes; returns its packet count. The counters
   * move on only with {@link advance} (a frame the send thread could not take leaves no gap). */
  describe(frameBytes: number, frame: VideoFrameFields): number {
    const plan = planFrame(frameBytes, this.options, this.plan)
    this.plan = plan
    const d = this.d
    d.fill(0)
    d[VideoDesc.packetSize] = this.options.packetSize
    d[VideoDesc.frameIndex] = frame.frameIndex | 0
    d[VideoDesc.frameType] = frame.frameType
    d[VideoDesc.latency] = Math.min(65535, Math.max(0, Math.round(frame.latencyTenthMs ?? 0)))
    d[VideoDesc.rtpTimestamp] = frame.rtpTimestamp | 0
    d[VideoDesc.sequence] = this.sequence | 0
    d[VideoDesc.ivLo] = this.iv % 0x1_0000_0000 | 0
    d[VideoDesc.ivHi] = Math.floor(this.iv / 0x1_0000_0000) | 0
    d[VideoDesc.encrypt] = this.encrypt ? 1 : 0
    d[VideoDesc.blocks] = plan.blocks.length
    for (let i = 0; i < plan.blocks.length; i++) {
      const o = VideoDesc.block0 + i * VideoDesc.blockInts
      d[o] = plan.blocks[i].k
      d[o + 1] = plan.blocks[i].m
      d[o + 2] = plan.blocks[i].fWire
    }
    return plan.dataPackets + plan.parityPackets
  }

  /** The blocks of the frame last described, where each starts. */
  private describedBlocks(): VideoBlockInfo[] {
    const blocks: VideoBlockInfo[] = []
    let first = 0
    for (const b of this.plan?.blocks ?? []) {
      blocks.push({...b, firstPacket: first, firstSequence: (this.sequence + first) & 0xffff})
      first += b.k + b.m
    }
    return blocks
  }

  /** Moves the counters past a frame of `count` packets that went out. */
  advance(count: number): void {
    this.sequence = (this.sequence + count) | 0
    if (this.encrypt) this.iv += count
  }

  /** Packetizes a frame into a reused Buffer (valid until the next call), as the send thread would get it. */
  packetize(frame: VideoFrameInput, key?: Buffer): VideoPacketBatch {
    const data = Buffer.isBuffer(frame.data) ? frame.data : Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength)
    const count = this.describe(data.length, frame)
    const blocks = this.describedBlocks()
    if (this.out.length < count * this.stride) this.out = Buffer.alloc(Math.ceil(count * 1.25) * this.stride)
    videoPacketize(data, data.length, this.desc, this.encrypt ? key : undefined, this.out, this.lens)
    const dataPackets = blocks.reduce((s, b) => s + b.k, 0)
    this.advance(count)
    return {buffer: this.out, stride: this.stride, count, dataPackets, parityPackets: count - dataPackets, blocks, frameIndex: frame.frameIndex >>> 0}
  }
}
