/**
 * Opus packets → the audio datagrams of docs/protocol/audio.md: RTP (payload type 97), optional
 * AES-128-CBC of each payload (media-encryption.md §4), and after every fourth data packet two
 * FEC packets (payload type 127) carrying the 4+2 parity of the fixed audio matrix (fec.md §4)
 * over the payloads as sent.
 *
 * Packets are written into one Buffer owned by the packetizer; a batch's packets stay valid
 * until the next `packetize()` call.
 */
import {createCipheriv} from 'node:crypto'

import {RsBlocks, rsEncode} from '../../native/fec.js'

export const AUDIO_RTP_HEADER_BYTES = 12
export const AUDIO_FEC_HEADER_BYTES = 24
export const AUDIO_PAYLOAD_TYPE = 97
export const AUDIO_FEC_PAYLOAD_TYPE = 127
export const RTP_VERSION_FLAGS = 0x80
/** Byte offsets of the RTP header and, in an FEC packet, the audio FEC header after it (audio.md §2, §3). */
export const AudioOff = {
  rtpFlags: 0,
  payloadType: 1,
  sequence: 2,
  timestamp: 4,
  ssrc: 8,
  fecShardIndex: 12,
  fecPayloadType: 13,
  fecBaseSequence: 14,
  fecBaseTimestamp: 16,
  fecSsrc: 20,
} as const
/** the client's receive buffer: the largest audio datagram */
export const AUDIO_MAX_DATAGRAM = 1400
const SLOT = AUDIO_MAX_DATAGRAM + 32

export interface AudioPacketizerOptions {
  /** Opus frame duration in ms (5 or 10): the RTP timestamp step */
  packetDurationMs: number
  /** AES-128-CBC key (rikey) and key id (rikeyid) when audio encryption is on */
  encryption?: {key: Buffer; keyId: number}
  /** first sequence number, a multiple of 4 (default 0) */
  firstSequence?: number
  /** first RTP timestamp in ms (default 0) */
  firstTimestamp?: number
}

export interface AudioPacketBatch {
  buffer: Buffer
  /** packet i is buffer[offsets[i], offsets[i] + lengths[i]) */
  offsets: number[]
  lengths: number[]
  count: number
  /** true when this call closed a block whose payload sizes differed: no FEC was sent for it */
  fecSkipped: boolean
}

export class AudioPacketizer {
  sequence: number
  timestamp: number
  private readonly buf = Buffer.alloc(SLOT * 6)
  private readonly desc = new RsBlocks(1)
  private readonly iv = Buffer.alloc(16)
  private inBlock = 0
  private blockSize = -1
  private sizesDiffer = false
  private baseSequence = 0
  private baseTimestamp = 0
  private readonly batch: AudioPacketBatch

  constructor(private readonly options: AudioPacketizerOptions) {
    this.sequence = options.firstSequence ?? 0
    if (this.sequence % 4 !== 0) throw new RangeError(`the first audio sequence number must be a multiple of 4, got ${this.sequence}`)
    this.timestamp = options.firstTimestamp ?? 0
    if (options.encryption !== undefined && options.encryption.key.length !== 16)
      throw new RangeError(`the audio encryption key must be 16 bytes, got ${options.encryption.key.length}`)
    this.batch = {buffer: this.buf, offsets: [], lengths: [], count: 0, fecSkipped: false}
  }

  /** One Opus packet in; its data packet out, followed by the block's two FEC packets after every fourth. */
  packetize(opus: Uint8Array): AudioPacketBatch {
    const slot = this.inBlock
    const o = slot * SLOT
    const buf = this.buf
    const seq = this.sequence & 0xffff
    const ts = this.timestamp >>> 0
    let n: number
    if (this.options.encryption === undefined) {
      n = opus.length
      if (AUDIO_RTP_HEADER_BYTES + n > AUDIO_MAX_DATAGRAM) throw new RangeError(`an audio payload of ${n} bytes exceeds the ${AUDIO_MAX_DATAGRAM}-byte datagram`)
      buf.set(opus, o + AUDIO_RTP_HEADER_BYTES)
    } else {
      const {key, keyId} = this.options.encryption
      this.iv.fill(0)
      this.iv.writeUInt32BE(((keyId >>> 0) + seq) >>> 0, 0)
      const c = createCipheriv('aes-128-cbc', key, this.iv)
      const a = c.update(opus)
      const b = c.final()
      n = a.length + b.length
      if (AUDIO_RTP_HEADER_BYTES + n > AUDIO_MAX_DATAGRAM) throw new RangeError(`an encrypted audio payload of ${n} bytes exceeds the ${AUDIO_MAX_DATAGRAM}-byte datagram`)
      a.copy(buf, o + AUDIO_RTP_HEADER_BYTES)
      b.copy(buf, o + AUDIO_RTP_HEADER_BYTES + a.length)
    }
    buf[o + AudioOff.rtpFlags] = RTP_VERSION_FLAGS
    buf[o + AudioOff.payloadType] = AUDIO_PAYLOAD_TYPE
    buf.writeUInt16BE(seq, o + AudioOff.sequence)
    buf.writeUInt32BE(ts, o + AudioOff.timestamp)
    buf.writeUInt32BE(0, o + AudioOff.ssrc)

    if (slot === 0) {
      this.baseSequence = seq
      this.baseTimestamp = ts
      this.blockSize = n
      this.sizesDiffer = false
    } else if (n !== this.blockSize) this.sizesDiffer = true

    const batch = this.batch
    batch.offsets.length = 0
    batch.lengths.length = 0
    batch.offsets.push(o)
    batch.lengths.push(AUDIO_RTP_HEADER_BYTES + n)
    batch.fecSkipped = false
    this.sequence = (this.sequence + 1) & 0xffff
    this.timestamp = (this.timestamp + this.options.packetDurationMs) >>> 0
    this.inBlock++
    if (this.inBlock === 4) {
      this.inBlock = 0
      if (this.sizesDiffer) batch.fecSkipped = true
      else this.writeFec(n, seq)
    }
    batch.count = batch.offsets.length
    return batch
  }

  private writeFec(n: number, lastSeq: number): void {
    const buf = this.buf
    this.desc.clear()
    this.desc.add(AUDIO_RTP_HEADER_BYTES, SLOT, 4 * SLOT + AUDIO_FEC_HEADER_BYTES, SLOT, 4, 2)
    rsEncode(buf, n, 'audio', this.desc)
    for (let j = 0; j < 2; j++) {
      const o = (4 + j) * SLOT
      buf[o + AudioOff.rtpFlags] = RTP_VERSION_FLAGS
      buf[o + AudioOff.payloadType] = AUDIO_FEC_PAYLOAD_TYPE
      buf.writeUInt16BE((lastSeq + 1 + j) & 0xffff, o + AudioOff.sequence)
      buf.writeUInt32BE(0, o + AudioOff.timestamp)
      buf.writeUInt32BE(0, o + AudioOff.ssrc)
      buf[o + AudioOff.fecShardIndex] = j
      buf[o + AudioOff.fecPayloadType] = AUDIO_PAYLOAD_TYPE
      buf.writeUInt16BE(this.baseSequence, o + AudioOff.fecBaseSequence)
      buf.writeUInt32BE(this.baseTimestamp, o + AudioOff.fecBaseTimestamp)
      buf.writeUInt32BE(0, o + AudioOff.fecSsrc)
      this.batch.offsets.push(o)
      this.batch.lengths.push(AUDIO_FEC_HEADER_BYTES + n)
    }
  }
}
