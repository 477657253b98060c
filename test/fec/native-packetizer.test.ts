/**
 * The shim's packetizer (libs/src/packetize.c, through src/media/packetizer/native.ts) against
 * the shared vectors and against the TypeScript reference packetizer (video.ts), byte for byte:
 * 10^4 random frames covering every FEC percentage 0-255 with every parity floor 0-4, with and
 * without AES-GCM. Encrypted packets are checked against an independent AES-GCM oracle (Node's
 * crypto over the reference's plaintext, media-encryption.md §3), with each of the shim's two
 * AES-GCM engines (its VAES kernel where the CPU has one, and OpenSSL).
 */
import {createCipheriv, createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {FecParamError, FRAME_HEADER_BYTES, VIDEO_ENC_PREFIX_BYTES, VIDEO_HEADER_BYTES} from '../../src/media/packetizer/format.js'
import {NativeVideoPacketizer} from '../../src/media/packetizer/native.js'
import {videoPacket, VideoPacketizer} from '../../src/media/packetizer/video.js'
import {Pacer, PacketBatch, UdpSocket} from '../../src/native/net.js'
import {VIDEO_DESC_INTS, VideoDesc, selectVideoGcm, videoGcmEngine} from '../../src/native/packetize.js'
import {XorShift32} from '../../src/sim/random.js'
import {loadVectors, vectorFrame, type VideoVectors} from './vectors.js'

const video = loadVectors<VideoVectors>('video_packets')
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** media-encryption.md §3, written from the document: IV = counter LE64 | 0 0 0 | 0x56; the
 * datagram is IV, frameIndex (LE32, from the plaintext header), tag, ciphertext. */
function gcmOracle(plain: Buffer, key: Buffer, counter: bigint): Buffer {
  const iv = Buffer.alloc(12)
  iv.writeBigUInt64LE(counter, 0)
  iv[11] = 0x56
  const c = createCipheriv('aes-128-gcm', key, iv)
  const ct = Buffer.concat([c.update(plain), c.final()])
  return Buffer.concat([iv, plain.subarray(20, 24), c.getAuthTag(), ct])
}

describe('the descriptor layout TypeScript mirrors', () => {
  it('matches the #defines of lumen_packetize.h', () => {
    const h = readFileSync(join(import.meta.dirname, '..', '..', 'libs', 'include', 'lumen_packetize.h'), 'utf8')
    const def = (name: string): number => {
      const m = new RegExp(`#define ${name} (\\d+)`).exec(h)
      if (m === null) throw new Error(`${name} is not defined in lumen_packetize.h`)
      return Number(m[1])
    }
    expect(VIDEO_DESC_INTS).toBe(def('LUMEN_VIDEO_DESC_INTS'))
    const names: Record<keyof typeof VideoDesc, string> = {
      packetSize: 'LUMEN_VD_PACKET_SIZE',
      frameIndex: 'LUMEN_VD_FRAME_INDEX',
      frameType: 'LUMEN_VD_FRAME_TYPE',
      latency: 'LUMEN_VD_LATENCY',
      rtpTimestamp: 'LUMEN_VD_RTP_TIMESTAMP',
      sequence: 'LUMEN_VD_SEQUENCE',
      ivLo: 'LUMEN_VD_IV_LO',
      ivHi: 'LUMEN_VD_IV_HI',
      encrypt: 'LUMEN_VD_ENCRYPT',
      blocks: 'LUMEN_VD_BLOCKS',
      block0: 'LUMEN_VD_BLOCK0',
      blockInts: 'LUMEN_VD_BLOCK_INTS',
      maxBlocks: 'LUMEN_VD_MAX_BLOCKS',
    }
    for (const [k, n] of Object.entries(names)) expect(VideoDesc[k as keyof typeof VideoDesc], n).toBe(def(n))
    expect(VIDEO_HEADER_BYTES).toBe(def('LUMEN_VIDEO_HEADER_BYTES'))
    expect(VIDEO_ENC_PREFIX_BYTES).toBe(def('LUMEN_VIDEO_ENC_PREFIX'))
    expect(FRAME_HEADER_BYTES).toBe(def('LUMEN_FRAME_HEADER_BYTES'))
  })
})

describe('shim packetizer on the shared vectors', () => {
  for (const f of video.frames) {
    it(`${f.name}: every packet bit-exact`, () => {
      const key = Buffer.from(video.keys.video_aes_gcm_key_hex, 'hex')
      const pk = new NativeVideoPacketizer({
        packetSize: f.negotiated_packet_size,
        fecPercentage: f.fec_percentage_config,
        minParity: f.min_required_fec_packets,
        encrypt: f.video_encryption,
        firstSequence: f.first_rtp_sequence_number,
        ivCounter: BigInt(video.keys.gcm_iv_counter_start),
      })
      const batch = pk.packetize({data: vectorFrame(f), frameIndex: f.frame_index, frameType: f.frame_type, latencyTenthMs: f.host_latency_tenth_ms, rtpTimestamp: f.rtp_timestamp}, key)
      expect(batch.count).toBe(f.packets.length)
      for (const v of f.packets) {
        const got = videoPacket(batch, v.index)
        expect(got.length).toBe(v.length)
        if (v.hex !== undefined) expect(got.toString('hex'), `${f.name} #${v.index}`).toBe(v.hex)
        if (v.first_64_bytes_hex !== undefined) expect(got.subarray(0, 64).toString('hex')).toBe(v.first_64_bytes_hex)
        if (v.sha256 !== undefined) expect(sha(got), `${f.name} #${v.index}`).toBe(v.sha256)
      }
    })
  }
})

describe('shim packetizer = TypeScript reference', () => {
  it('10^4 random frames: every FEC percentage 0-255 × parity floor 0-4, plain and AES-GCM, random packet sizes, sequence and IV counters', () => {
    const rng = new XorShift32(0x5eed15)
    const pool = Buffer.alloc(2_000_000)
    rng.fill(pool)
    const key = Buffer.alloc(16)
    rng.fill(key)
    const seen = new Set<string>()
    let compared = 0
    let packets = 0
    let refused = 0
    for (let i = 0; i < 10_000; i++) {
      const fec = i % 256
      const floor = Math.floor(i / 256) % 5
      const encrypt = Math.floor(i / 1280) % 2 === 1
      // packet sizes: mostly realistic (1024-1392), some tiny (32-256) to stress block splitting
      const packetSize = rng.next() % 8 === 0 ? 32 + 16 * (rng.next() % 15) : 1024 + 16 * (rng.next() % 24)
      const r = rng.next() % 1000
      // sizes: mostly small P-frames, some IDR-sized, a few beyond what 4 blocks with FEC hold
      const len = r < 700 ? rng.next() % 16_000 : r < 990 ? rng.next() % 64_000 : 900_000 + (rng.next() % 500_000)
      // tiny packets: frames of up to 4 kB (a few hundred packets), which keeps the suite quick
      const smallPacketLen = packetSize < 512 ? len % 4_000 : len
      const start = rng.next() % (pool.length - smallPacketLen)
      const data = pool.subarray(start, start + smallPacketLen)
      const firstSequence = rng.next() >>> 0
      const ivCounter = BigInt(rng.next() >>> 0) * 65536n
      const frame = {data, frameIndex: rng.next() >>> 0, frameType: [1, 2, 4, 5][rng.next() % 4], latencyTenthMs: rng.next() % 70_000, rtpTimestamp: rng.next() >>> 0}
      const params = {packetSize, fecPercentage: fec, minParity: floor}
      const ref = new VideoPacketizer({...params, firstSequence})
      const nat = new NativeVideoPacketizer({...params, firstSequence, ivCounter, encrypt})
      let a
      try {
        a = ref.packetize(frame)
      } catch (error) {
        expect(error).toBeInstanceOf(FecParamError)
        expect(() => nat.packetize(frame, key)).toThrow(FecParamError)
        refused++
        continue
      }
      const b = nat.packetize(frame, key)
      expect(b.count).toBe(a.count)
      expect(b.blocks).toEqual(a.blocks)
      expect(nat.sequence).toBe(ref.sequence)
      if (!encrypt) {
        expect(b.stride).toBe(a.stride)
        const same = a.buffer.compare(b.buffer, 0, a.count * a.stride, 0, a.count * a.stride) === 0
        if (!same) {
          for (let p = 0; p < a.count; p++) expect(videoPacket(b, p).toString('hex'), `frame ${i} packet ${p}`).toBe(videoPacket(a, p).toString('hex'))
        }
      } else {
        expect(b.stride).toBe(a.stride + 32)
        for (let p = 0; p < a.count; p++) {
          const want = gcmOracle(videoPacket(a, p), key, ivCounter + BigInt(p))
          if (videoPacket(b, p).compare(want) !== 0) expect(videoPacket(b, p).toString('hex'), `frame ${i} packet ${p}`).toBe(want.toString('hex'))
        }
        expect(nat.ivCounter).toBe(ivCounter + BigInt(a.count))
      }
      seen.add(`${fec}/${floor}/${encrypt}`)
      compared++
      packets += a.count
    }
    process.stderr.write(`compared ${compared} frames (${packets} packets), ${refused} refused by both\n`)
    // every percentage with every floor, plain and encrypted
    expect(seen.size).toBe(256 * 5 * 2)
  }, 300_000)

  it('the TypeScript reference with encryption (the shim AES-GCM) equals the oracle', () => {
    const key = Buffer.alloc(16, 0x42)
    const data = Buffer.alloc(50_000, 7)
    const frame = {data, frameIndex: 9, frameType: 2, latencyTenthMs: 12, rtpTimestamp: 3000}
    const plain = new VideoPacketizer({packetSize: 1360, fecPercentage: 20, minParity: 2, firstSequence: 5}).packetize(frame)
    const sealed = new VideoPacketizer({packetSize: 1360, fecPercentage: 20, minParity: 2, firstSequence: 5, encryptionKey: key, ivCounter: 77n}).packetize(frame)
    for (let p = 0; p < plain.count; p++) expect(videoPacket(sealed, p).equals(gcmOracle(videoPacket(plain, p), key, 77n + BigInt(p)))).toBe(true)
  })
})

describe('the AES-GCM engines', () => {
  const cpu = readFileSync('/proc/cpuinfo', 'utf8')
  const cpuHasVaes = ['vaes', 'vpclmulqdq', 'avx512f', 'avx512bw', 'avx512vl'].every((f) => new RegExp(`\\b${f}\\b`).test(cpu))

  it.each(['best', 'openssl'])('%s: random frames and packet sizes equal the oracle', (engine) => {
    selectVideoGcm(engine as 'best' | 'openssl')
    try {
      expect(videoGcmEngine()).toBe(engine === 'openssl' || !cpuHasVaes ? 'openssl' : 'vaes-avx512')
      const rng = new XorShift32(engine === 'openssl' ? 11 : 12)
      const key = Buffer.alloc(16)
      for (let i = 0; i < 200; i++) {
        rng.fill(key)
        const packetSize = 32 + 16 * (rng.next() % 86)
        const data = Buffer.alloc(rng.next() % 20_000)
        rng.fill(data)
        const frame = {data, frameIndex: rng.next() >>> 0, frameType: 1, latencyTenthMs: 5, rtpTimestamp: rng.next() >>> 0}
        const ivCounter = BigInt(rng.next() >>> 0) * BigInt(1 + (rng.next() % 65536))
        const plain = new VideoPacketizer({packetSize, fecPercentage: 20, minParity: 2}).packetize(frame)
        const sealed = new NativeVideoPacketizer({packetSize, fecPercentage: 20, minParity: 2, encrypt: true, ivCounter}).packetize(frame, key)
        for (let p = 0; p < plain.count; p++) {
          const want = gcmOracle(videoPacket(plain, p), key, ivCounter + BigInt(p))
          if (videoPacket(sealed, p).compare(want) !== 0) expect(videoPacket(sealed, p).toString('hex'), `frame ${i} packet ${p}`).toBe(want.toString('hex'))
        }
      }
    } finally {
      selectVideoGcm('best')
    }
  })
})

describe('packetize into the send thread', () => {
  it('a frame packetized, FEC-protected and encrypted in the shim arrives on loopback as the reference packets', () => {
    const rx = UdpSocket.open('127.0.0.1', 0)
    const tx = UdpSocket.open('127.0.0.1', 0)
    tx.setPeer('127.0.0.1', rx.port)
    const pacer = new Pacer(tx, {mode: 'line'})
    try {
      const key = Buffer.alloc(16, 0x21)
      pacer.setGcm(key, 0)
      const data = Buffer.alloc(30_000)
      new XorShift32(3).fill(data)
      const frame = {data, frameIndex: 4, frameType: 1, latencyTenthMs: 33, rtpTimestamp: 1500}
      const nat = new NativeVideoPacketizer({packetSize: 1360, fecPercentage: 20, minParity: 2, encrypt: true, firstSequence: 10, ivCounter: 100n})
      const count = nat.describe(data.length, frame)
      expect(pacer.submitVideo(4, 0, 16_000_000, data, data.length, nat.desc)).toBe(count)
      expect(pacer.drain(2000)).toBe(0)
      const plain = new VideoPacketizer({packetSize: 1360, fecPercentage: 20, minParity: 2, firstSequence: 10}).packetize(frame)
      const got = new PacketBatch(1500, 256)
      let n = 0
      const received: Buffer[] = []
      while (n < count) {
        const r = rx.recvBatch(got, 1000)
        if (r.count === 0) break
        for (let i = 0; i < r.count; i++) received.push(Buffer.from(got.packet(i)))
        n += r.count
      }
      expect(received).toHaveLength(count)
      received.forEach((p, i) => expect(p.equals(gcmOracle(videoPacket(plain, i), key, 100n + BigInt(i))), `packet ${i}`).toBe(true))
    } finally {
      pacer.close()
      tx.close()
      rx.close()
    }
  })

  it('refuses a descriptor that does not fit the frame, a short descriptor, and encryption without a key', () => {
    const tx = UdpSocket.open('127.0.0.1', 0)
    tx.setPeer('127.0.0.1', 9)
    const pacer = new Pacer(tx, {mode: 'line'})
    try {
      const nat = new NativeVideoPacketizer({packetSize: 1392, fecPercentage: 20, minParity: 2, encrypt: true})
      nat.describe(3000, {frameIndex: 1, frameType: 2, rtpTimestamp: 0})
      const data = Buffer.alloc(10_000)
      expect(() => pacer.submitVideo(1, 0, 1, data, 3000, nat.desc)).toThrow(/no video key/)
      expect(() => pacer.submitVideo(1, 0, 1, data, 9000, nat.desc)).toThrow(/needs 7/)
      expect(() => pacer.submitVideo(1, 0, 1, data, 3000, nat.desc.subarray(0, 40))).toThrow(/descriptor is 40 bytes/)
      expect(() => pacer.submitVideo(1, 0, 1, data, 20_000, nat.desc)).toThrow(RangeError)
    } finally {
      pacer.close()
      tx.close()
    }
  })
})
