/**
 * The client side of the audio stream (docs/protocol/audio.md §4-5): RTP data packets
 * (payload type 97) and FEC packets (127) in, Opus payloads out in sequence order, with a missing
 * data packet rebuilt from the 4+2 audio code once any four of its block's six packets are in,
 * and AES-128-CBC decryption when audio encryption is on.
 *
 * Simplified from the client: no 500 ms start-up discard, no timers. A block's missing packets are
 * reported lost when a packet of a later block arrives (or on flush()).
 */
import {createDecipheriv} from 'node:crypto'

import {rsDecode} from '../../native/fec.js'
import {AUDIO_FEC_HEADER_BYTES, AUDIO_FEC_PAYLOAD_TYPE, AUDIO_PAYLOAD_TYPE, AUDIO_RTP_HEADER_BYTES} from '../packetizer/audio.js'

export interface AudioDepacketizerOptions {
  packetDurationMs: number
  encryption?: {key: Buffer; keyId: number}
}

export type AudioEvent =
  | {kind: 'audio'; sequence: number; timestamp: number; payload: Buffer; recovered: boolean}
  | {kind: 'lost'; sequence: number}

const SLOT = 1400

export class AudioDepacketizer {
  readonly stats = {datagrams: 0, rejected: 0, recovered: 0, lost: 0, delivered: 0}
  private readonly work = Buffer.alloc(6 * SLOT)
  private readonly present = Buffer.alloc(6)
  private readonly delivered = [false, false, false, false]
  /** base sequence number of the block being assembled, or -1 */
  private base = -1
  private baseTimestamp = 0
  private size = -1
  private readonly iv = Buffer.alloc(16)

  constructor(private readonly options: AudioDepacketizerOptions) {}

  push(datagram: Uint8Array): AudioEvent[] {
    this.stats.datagrams++
    const d = Buffer.from(datagram.buffer, datagram.byteOffset, datagram.byteLength)
    if (d.length < AUDIO_RTP_HEADER_BYTES || (d[0] & 0xc0) !== 0x80) return this.reject()
    const pt = d[1] & 0x7f
    const events: AudioEvent[] = []
    if (pt === AUDIO_PAYLOAD_TYPE) {
      const seq = d.readUInt16BE(2)
      const ts = d.readUInt32BE(4)
      const payload = d.subarray(AUDIO_RTP_HEADER_BYTES)
      if (!this.enterBlock(seq & 0xfffc, (ts - (seq & 3) * this.options.packetDurationMs) >>> 0, payload.length, events)) return events
      const i = seq & 3
      if (this.present[i] !== 0) return events
      payload.copy(this.work, i * SLOT)
      this.present[i] = 1
      this.deliverInOrder(events)
    } else if (pt === AUDIO_FEC_PAYLOAD_TYPE) {
      if (d.length < AUDIO_FEC_HEADER_BYTES) return this.reject()
      const shard = d[12]
      const base = d.readUInt16BE(14)
      if (shard > 1 || base % 4 !== 0) return this.reject()
      const payload = d.subarray(AUDIO_FEC_HEADER_BYTES)
      if (!this.enterBlock(base, d.readUInt32BE(16), payload.length, events)) return events
      if (this.present[4 + shard] !== 0) return events
      payload.copy(this.work, (4 + shard) * SLOT)
      this.present[4 + shard] = 1
    } else return this.reject()
    this.tryRecover(events)
    return events
  }

  /** End of stream: the current block's missing packets are lost. */
  flush(): AudioEvent[] {
    const events: AudioEvent[] = []
    this.closeBlock(events)
    return events
  }

  private reject(): AudioEvent[] {
    this.stats.rejected++
    return []
  }

  /** Makes `base` the current block (closing the previous one); false when the packet is stale or its size differs. */
  private enterBlock(base: number, baseTimestamp: number, size: number, events: AudioEvent[]): boolean {
    if (this.base !== base) {
      if (this.base >= 0 && ((base - this.base) << 16) >> 16 < 0) return false // an earlier block: too late
      this.closeBlock(events)
      this.base = base
      this.baseTimestamp = baseTimestamp
      this.size = size
      this.present.fill(0)
      this.delivered.fill(false)
    }
    if (size !== this.size || size > SLOT) {
      this.stats.rejected++
      return false
    }
    return true
  }

  private closeBlock(events: AudioEvent[]): void {
    if (this.base < 0) return
    for (let i = 0; i < 4; i++) {
      if (this.delivered[i]) continue
      if (this.present[i] !== 0) this.emit(events, i, false)
      else {
        events.push({kind: 'lost', sequence: (this.base + i) & 0xffff})
        this.stats.lost++
        this.delivered[i] = true
      }
    }
    this.base = -1
  }

  private tryRecover(events: AudioEvent[]): void {
    let have = 0
    let missingData = 0
    for (let i = 0; i < 6; i++) have += this.present[i]
    for (let i = 0; i < 4; i++) if (this.present[i] === 0) missingData++
    if (missingData === 0 || have < 4) return
    rsDecode(this.work, {offset: 0, stride: SLOT, shardSize: this.size, k: 4, m: 2, matrix: 'audio', rebuildParity: false}, this.present)
    for (let i = 0; i < 4; i++) {
      if (this.present[i] === 0) {
        this.present[i] = 2 // rebuilt
        this.stats.recovered++
      }
    }
    this.deliverInOrder(events)
  }

  /** Delivers the block's packets from the first undelivered one while they are present. */
  private deliverInOrder(events: AudioEvent[]): void {
    for (let i = 0; i < 4; i++) {
      if (this.delivered[i]) continue
      if (this.present[i] === 0) return
      this.emit(events, i, this.present[i] === 2)
    }
  }

  private emit(events: AudioEvent[], i: number, recovered: boolean): void {
    const seq = (this.base + i) & 0xffff
    let payload = Buffer.from(this.work.subarray(i * SLOT, i * SLOT + this.size))
    if (this.options.encryption !== undefined) {
      this.iv.fill(0)
      this.iv.writeUInt32BE(((this.options.encryption.keyId >>> 0) + seq) >>> 0, 0)
      try {
        const dec = createDecipheriv('aes-128-cbc', this.options.encryption.key, this.iv)
        payload = Buffer.concat([dec.update(payload), dec.final()])
      } catch {
        events.push({kind: 'lost', sequence: seq})
        this.stats.lost++
        this.delivered[i] = true
        return
      }
    }
    events.push({kind: 'audio', sequence: seq, timestamp: (this.baseTimestamp + i * this.options.packetDurationMs) >>> 0, payload, recovered})
    this.stats.delivered++
    this.delivered[i] = true
  }
}
