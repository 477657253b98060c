/**
 * The test client's audio receiver (shared/protocol/audio.md): RTP data packets (type 97) and
 * FEC packets (type 127) in; a missing data packet of a 4+2 block is rebuilt from any four of
 * the six; payloads are AES-CBC decrypted when audio encryption is on and Opus-decoded.
 */
import {createDecipheriv} from 'node:crypto'
import type {Socket} from 'node:dgram'

import {rsDecode} from '../../src/native/fec.js'
import {OpusDecoder} from '../../src/native/audio.js'

interface Block {
  base: number
  baseTs: number
  payloads: Array<Buffer | undefined>
  done: boolean
}

export interface AudioReceiverOptions {
  encryption?: {key: Buffer; keyId: number}
  channels?: number
}

export class AudioReceiver {
  dataPackets = 0
  fecPackets = 0
  rebuilt = 0
  decodeErrors = 0
  /** decoded left-channel samples, in sequence order as played */
  readonly left: number[] = []
  readonly sizes = new Set<number>()
  private readonly decoder: OpusDecoder
  private readonly pcm = Buffer.alloc(5760 * 2 * 2)
  private readonly blocks = new Map<number, Block>()
  private readonly listener: (msg: Buffer) => void

  constructor(
    private readonly socket: Socket,
    private readonly options: AudioReceiverOptions = {},
  ) {
    this.decoder = new OpusDecoder(options.channels ?? 2)
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
      const payload = Buffer.from(msg.subarray(12))
      this.sizes.add(payload.length)
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
    try {
      const n = this.decoder.decode(opus, this.pcm)
      const ch = this.options.channels ?? 2
      for (let i = 0; i < n; i++) this.left.push(this.pcm.readInt16LE(i * ch * 2))
    } catch {
      this.decodeErrors++
    }
  }

  close(): void {
    this.socket.off('message', this.listener)
    this.decoder.close()
  }
}
