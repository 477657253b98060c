/**
 * The test client's audio receiver (docs/protocol/audio.md): RTP data packets (type 97) and
 * FEC packets (type 127) in; a missing data packet of a 4+2 block is rebuilt from any four of
 * the six; payloads are AES-CBC decrypted when audio encryption is on and Opus-decoded with the
 * multistream layout the client takes from the host's DESCRIBE (parseSurroundParams).
 */
import {createDecipheriv} from 'node:crypto'
import type {Socket} from 'node:dgram'

import {rsDecode} from '../../src/native/fec.js'
import {OpusDecoder, type OpusStreamLayout} from '../../src/native/audio.js'

/**
 * The Opus layout the client decodes with, read from the host's DESCRIBE body the way
 * moonlight-common-c does (docs/protocol/audio.md §2.1, docs/protocol/rtsp.md §3.2) — written from the documents, not from
 * the host's table: stereo is always 2 channels, 1 stream, 1 coupled, mapping 0 1; for 6 or 8
 * channels the first `a=fmtp:97 surround-params=<C>` run is the normal-quality layout and the
 * next one the high-quality layout; the digits are C, streams, coupled, then C mapping entries;
 * the normal-quality mapping is rearranged: M0 M1 M2 M(C−1) M3 … M(C−2). Throws where the
 * client would fail (no line for the count, or no second line when high quality is asked for).
 */
export function parseSurroundParams(describe: string, channels: number, highQuality: boolean): OpusStreamLayout {
  if (channels === 2) return {channels: 2, streams: 1, coupled: 1, mapping: [0, 1]}
  const key = `a=fmtp:97 surround-params=${channels}`
  const first = describe.indexOf(key)
  if (first < 0) throw new Error(`the DESCRIBE offers no ${channels}-channel layout`)
  const at = highQuality ? describe.indexOf(key, first + key.length) : first
  if (at < 0) throw new Error(`the DESCRIBE offers no high-quality ${channels}-channel layout`)
  const digits = describe.slice(at + key.length - 1, at + key.length - 1 + 3 + channels)
  if (!/^\d+$/.test(digits) || digits.length !== 3 + channels) throw new Error(`malformed surround-params '${digits}'`)
  const d = [...digits].map(Number)
  const [c, streams, coupled] = d
  const m = d.slice(3)
  const mapping = highQuality ? m : [m[0], m[1], m[2], m[c - 1], ...m.slice(3, c - 1)]
  return {channels: c, streams, coupled, mapping}
}

/** decoded packets kept for channel(): 2 s of 5 ms packets */
const MAX_KEPT = 400

interface Block {
  base: number
  baseTs: number
  payloads: Array<Buffer | undefined>
  done: boolean
}

export interface AudioReceiverOptions {
  encryption?: {key: Buffer; keyId: number}
  /** stereo (2) or a multistream layout (parseSurroundParams); default stereo */
  channels?: number
  layout?: OpusStreamLayout
  /** a data packet with this sequence number is discarded on arrival, as if lost (FEC checks) */
  drop?: (seq: number) => boolean
}

export class AudioReceiver {
  dataPackets = 0
  fecPackets = 0
  rebuilt = 0
  dropped = 0
  decodeErrors = 0
  /** decoded left-channel samples, in sequence order as played */
  readonly left: number[] = []
  /** payload sizes seen (a set) and every data packet's payload size in arrival order */
  readonly sizes = new Set<number>()
  readonly sizeLog: number[] = []
  /** Opus packet sizes (after decryption) */
  readonly opusSizes = new Set<number>()
  /** decoded packets, interleaved s16 (the last MAX_KEPT), for per-channel analysis */
  readonly decoded: Int16Array[] = []
  readonly channels: number
  private readonly decoder: OpusDecoder
  private readonly pcm: Buffer
  private readonly blocks = new Map<number, Block>()
  private readonly listener: (msg: Buffer) => void

  constructor(
    private readonly socket: Socket,
    private readonly options: AudioReceiverOptions = {},
  ) {
    this.decoder = new OpusDecoder(options.layout ?? options.channels ?? 2)
    this.channels = this.decoder.channels
    this.pcm = Buffer.alloc(5760 * 2 * this.channels)
    this.listener = (msg) => this.onDatagram(msg)
    socket.on('message', this.listener)
  }

  private block(base: number): Block {
    let b = this.blocks.get(base)
    if (b === undefined) {
      b = {base, baseTs: 0, payloads: new Array(6).fill(undefined), done: false}
      this.blocks.set(base, b)
      if (this.blocks.size > 64) this.blocks.delete(this.blocks.keys().next().value as number)
    }
    return b
  }

  private onDatagram(msg: Buffer): void {
    if (msg.length < 12 || msg[0] !== 0x80) return
    const pt = msg[1] & 0x7f
    if (pt === 97) {
      this.dataPackets++
      const seq = msg.readUInt16BE(2)
      if (this.options.drop?.(seq) === true) {
        this.dropped++
        return
      }
      const payload = Buffer.from(msg.subarray(12))
      this.sizes.add(payload.length)
      this.sizeLog.push(payload.length)
      const b = this.block(seq - (seq % 4))
      b.payloads[seq % 4] = payload
      this.play(seq, payload)
      // a later block's packet: try to finish earlier incomplete blocks with FEC
    } else if (pt === 127 && msg.length >= 24) {
      this.fecPackets++
      const shard = msg[12]
      const base = msg.readUInt16BE(14)
      const b = this.block(base)
      b.baseTs = msg.readUInt32BE(16)
      b.payloads[4 + shard] = Buffer.from(msg.subarray(24))
      this.tryRebuild(b)
    }
  }

  private tryRebuild(b: Block): void {
    const missing = [0, 1, 2, 3].filter((i) => b.payloads[i] === undefined)
    if (missing.length === 0 || b.done) return
    const present = b.payloads.filter((p) => p !== undefined)
    if (present.length < 4) return
    const n = (present[0] as Buffer).length
    const buf = Buffer.alloc(6 * n)
    const mask = Buffer.alloc(6)
    b.payloads.forEach((p, i) => {
      if (p !== undefined) {
        p.copy(buf, i * n)
        mask[i] = 1
      }
    })
    this.rebuilt += rsDecode(buf, {offset: 0, stride: n, shardSize: n, k: 4, m: 2, matrix: 'audio'}, mask)
    b.done = true
    for (const i of missing) {
      const p = Buffer.from(buf.subarray(i * n, (i + 1) * n))
      b.payloads[i] = p
      this.play((b.base + i) & 0xffff, p)
    }
  }

  private play(seq: number, payload: Buffer): void {
    let opus = payload
    const enc = this.options.encryption
    if (enc !== undefined) {
      const iv = Buffer.alloc(16)
      iv.writeUInt32BE(((enc.keyId >>> 0) + seq) >>> 0, 0)
      try {
        const d = createDecipheriv('aes-128-cbc', enc.key, iv)
        opus = Buffer.concat([d.update(payload), d.final()])
      } catch {
        this.decodeErrors++
        return
      }
    }
    this.opusSizes.add(opus.length)
    try {
      const n = this.decoder.decode(opus, this.pcm)
      const ch = this.channels
      for (let i = 0; i < n; i++) this.left.push(this.pcm.readInt16LE(i * ch * 2))
      this.decoded.push(new Int16Array(this.pcm.buffer.slice(this.pcm.byteOffset, this.pcm.byteOffset + n * ch * 2)))
      if (this.decoded.length > MAX_KEPT) this.decoded.shift()
    } catch {
      this.decodeErrors++
    }
  }

  /** The last `samples` decoded samples of channel k (in the client's order FL FR FC LFE …). */
  channel(k: number, samples: number): Int16Array {
    const ch = this.channels
    const out: number[] = []
    for (let p = this.decoded.length - 1; p >= 0 && out.length < samples; p--) {
      const d = this.decoded[p]
      for (let i = d.length / ch - 1; i >= 0 && out.length < samples; i--) out.push(d[i * ch + k])
    }
    return Int16Array.from(out.reverse())
  }

  close(): void {
    this.socket.off('message', this.listener)
    this.decoder.close()
  }
}
