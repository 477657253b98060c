/**
 * The packetizers against test/fixtures/vectors/fec/video_packets.json and audio_packets.json, which
 * the Moonlight client's receive path accepted: every packet must match byte for byte.
 */
import {createHash} from 'node:crypto'

import {afterAll, describe, expect, it} from 'vitest'

import {rsLevels, rsSetLevel} from '../../src/native/fec.js'
import {AudioPacketizer} from '../../src/media/packetizer/audio.js'
import {FecParamError, planFrame} from '../../src/media/packetizer/format.js'
import {videoPacket, VideoPacketizer} from '../../src/media/packetizer/video.js'
import {XorShift32} from '../../src/sim/random.js'
import {type AudioVectors, loadVectors, vectorFrame, type VideoVectorFrame, type VideoVectors} from './vectors.js'

const video = loadVectors<VideoVectors>('video_packets')
const audio = loadVectors<AudioVectors>('audio_packets')
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

afterAll(() => rsSetLevel('auto'))

describe('frame plan (docs/protocol/video.md §6 worked splits)', () => {
  const p = {packetSize: 1392, fecPercentage: 20, minParity: 2}
  it('3000 B → 3+2, 100 B → 1+2 at F_wire 200, 400 kB → 146+30 and 145+29, 1.1 MB → 4 blocks, 1.4 MB → 4 blocks without parity', () => {
    expect(planFrame(3000, p).blocks).toEqual([{k: 3, m: 2, fWire: 66}])
    expect(planFrame(100, p).blocks).toEqual([{k: 1, m: 2, fWire: 200}])
    expect(planFrame(400_000, p).blocks).toEqual([
      {k: 146, m: 30, fWire: 20},
      {k: 145, m: 29, fWire: 20},
    ])
    const big = planFrame(1_100_000, p)
    expect(big.blocks.length).toBe(4)
    expect(big.blocks.every((b) => b.m > 0 && b.k + b.m <= 255)).toBe(true)
    const huge = planFrame(1_400_000, p)
    expect(huge.blocks.length).toBe(4)
    expect(huge.blocks.every((b) => b.m === 0 && b.fWire === 0)).toBe(true)
  })

  it('the docs/protocol/fec.md §6 table of m and F_wire, and m_client = m for every k up to Kmax at F = 20', () => {
    for (const [frameLen, k, m, fw] of [
      [1, 1, 2, 200],
      [3 * 1376 - 8, 3, 2, 66],
      [5 * 1376 - 8, 5, 2, 40],
      [10 * 1376 - 8, 10, 2, 20],
      [11 * 1376 - 8, 11, 3, 20],
    ]) {
      expect(planFrame(frameLen, p).blocks[0]).toEqual({k, m, fWire: fw})
    }
    for (let k = 1; k <= 212; k++) {
      const b = planFrame(k * 1376 - 8, p).blocks
      expect(b.length).toBe(1)
      expect(Math.ceil((k * b[0].fWire) / 100)).toBe(b[0].m)
      expect(k + b[0].m).toBeLessThanOrEqual(255)
    }
  })

  it('rejects impossible parameters', () => {
    expect(() => new VideoPacketizer({packetSize: 16, fecPercentage: 20, minParity: 2})).toThrow(FecParamError)
    expect(() => new VideoPacketizer({packetSize: 1390, fecPercentage: 20, minParity: 2})).toThrow(/multiple of 16/)
    expect(() => planFrame(200 * 1376, {packetSize: 1392, fecPercentage: 20, minParity: 60})).toThrow(/k \+ m must be ≤ 255/)
    expect(() => planFrame(6_000_000, p)).toThrow(/cannot represent/)
  })
})

for (const level of rsLevels().available) {
  describe(`video packets, RS level ${level}`, () => {
    for (const f of video.frames) {
      it(`${f.name}: every packet bit-exact`, () => {
        rsSetLevel(level)
        const frame = vectorFrame(f)
        expect(sha(frame)).toBe(f.frame_sha256)
        if (f.frame_hex !== undefined) expect(frame.toString('hex')).toBe(f.frame_hex)
        const pk = new VideoPacketizer({
          packetSize: f.negotiated_packet_size,
          fecPercentage: f.fec_percentage_config,
          minParity: f.min_required_fec_packets,
          encryptionKey: f.video_encryption ? Buffer.from(video.keys.video_aes_gcm_key_hex, 'hex') : undefined,
          firstSequence: f.first_rtp_sequence_number,
          ivCounter: BigInt(video.keys.gcm_iv_counter_start),
        })
        const batch = pk.packetize({
          data: frame,
          frameIndex: f.frame_index,
          frameType: f.frame_type,
          latencyTenthMs: f.host_latency_tenth_ms,
          rtpTimestamp: f.rtp_timestamp,
        })
        expect(batch.count).toBe(f.packets.length)
        for (const v of f.packets) {
          const got = videoPacket(batch, v.index)
          expect(got.length, `${f.name} #${v.index} length`).toBe(v.length)
          const b = batch.blocks[v.fec_block]
          expect([b.k, b.m]).toEqual([v.block_data_shards, v.block_parity_shards])
          expect(v.index - b.firstPacket).toBe(v.shard_index)
          if (v.hex !== undefined) expect(got.toString('hex'), `${f.name} #${v.index}`).toBe(v.hex)
          if (v.first_64_bytes_hex !== undefined) expect(got.subarray(0, 64).toString('hex')).toBe(v.first_64_bytes_hex)
          if (v.sha256 !== undefined) expect(sha(got), `${f.name} #${v.index}`).toBe(v.sha256)
        }
      })
    }
  })
}

describe('packetizer state across frames', () => {
  it('continues sequence numbers: the P-frame vector follows the IDR vector in one session', () => {
    const [idr, p] = video.frames
    const pk = new VideoPacketizer({packetSize: 1392, fecPercentage: 20, minParity: 2})
    const mk = (f: VideoVectorFrame) => ({
      data: vectorFrame(f),
      frameIndex: f.frame_index,
      frameType: f.frame_type,
      latencyTenthMs: f.host_latency_tenth_ms,
      rtpTimestamp: f.rtp_timestamp,
    })
    pk.packetize(mk(idr))
    expect(pk.sequence).toBe(p.first_rtp_sequence_number)
    const batch = pk.packetize(mk(p))
    for (const v of p.packets) expect(videoPacket(batch, v.index).toString('hex')).toBe(v.hex)
  })
})

describe('audio packets', () => {
  for (const s of audio.streams) {
    it(`${s.name}: all ${s.packets.length} datagrams bit-exact`, () => {
      const opus = Buffer.alloc(s.opus_payload_length * s.opus_payloads_hex.length)
      new XorShift32(s.opus_seed).fill(opus)
      const pk = new AudioPacketizer({
        packetDurationMs: s.packet_duration_ms,
        encryption: s.encrypted ? {key: Buffer.from(audio.keys.audio_aes_cbc_key_hex, 'hex'), keyId: s.rikeyid} : undefined,
      })
      const out: string[] = []
      for (let i = 0; i < s.opus_payloads_hex.length; i++) {
        const payload = opus.subarray(i * s.opus_payload_length, (i + 1) * s.opus_payload_length)
        expect(payload.toString('hex')).toBe(s.opus_payloads_hex[i])
        const batch = pk.packetize(payload)
        for (let j = 0; j < batch.count; j++) out.push(batch.buffer.toString('hex', batch.offsets[j], batch.offsets[j] + batch.lengths[j]))
      }
      expect(out).toEqual(s.packets.map((p) => p.hex))
    })
  }
})

describe('packetizers from a StreamConfig', () => {
  it('take packet size, FEC settings and the launch key from the config', async () => {
    const {videoPacketizerForStream, audioPacketizerForStream} = await import('../../src/media/packetizer/index.js')
    const f = video.frames.find((x) => x.name === 'hevc_idr_encrypted') as VideoVectorFrame
    const a = audio.streams.find((x) => x.encrypted) as (typeof audio.streams)[number]
    const config = {
      video: {packetSize: f.negotiated_packet_size, fecPercentage: 20, minRequiredFecPackets: 2},
      audio: {packetDurationMs: 5},
      encryptionFlags: 0x07,
      riKey: Buffer.from(video.keys.video_aes_gcm_key_hex, 'hex'),
      riKeyId: a.rikeyid,
    } as unknown as Parameters<typeof videoPacketizerForStream>[0]
    const batch = videoPacketizerForStream(config).packetize({data: vectorFrame(f), frameIndex: 1, frameType: 2, latencyTenthMs: 25, rtpTimestamp: 1500})
    expect(videoPacket(batch, 0).toString('hex')).toBe(f.packets[0].hex)
    const plain = videoPacketizerForStream({...config, encryptionFlags: 0x05})
    expect(plain.stride).toBe(f.negotiated_packet_size + 16)
    // audio: encrypted with rikeyid-based IVs (the key differs from the vector's, so compare lengths and header)
    const ap = audioPacketizerForStream(config).packetize(Buffer.alloc(60, 1))
    expect(ap.lengths[0]).toBe(12 + 64)
  })
})
