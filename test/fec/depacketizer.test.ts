/**
 * The client-side depacketizer: the vector packets (plain and AES-GCM) reassemble into the
 * vector frames, with packets dropped up to the parity count, and frames beyond repair are
 * reported lost with the right reason.
 */
import {createHash} from 'node:crypto'

import {describe, expect, it} from 'vitest'

import {type FrameEvent, VideoDepacketizer} from '../../src/media/depacketizer/video.js'
import {videoPacket, VideoPacketizer} from '../../src/media/packetizer/video.js'
import {XorShift32} from '../../src/sim/random.js'
import {loadVectors, vectorFrame, type VideoVectors} from './vectors.js'

const video = loadVectors<VideoVectors>('video_packets')
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')
const key = Buffer.from(video.keys.video_aes_gcm_key_hex, 'hex')

function packetsOf(name: string): {frame: (typeof video.frames)[number]; packets: Buffer[]} {
  const frame = video.frames.find((f) => f.name === name)
  if (frame === undefined) throw new Error(name)
  const pk = new VideoPacketizer({
    packetSize: frame.negotiated_packet_size,
    fecPercentage: 20,
    minParity: 2,
    encryptionKey: frame.video_encryption ? key : undefined,
    firstSequence: frame.first_rtp_sequence_number,
  })
  const batch = pk.packetize({data: vectorFrame(frame), frameIndex: frame.frame_index, frameType: frame.frame_type, latencyTenthMs: frame.host_latency_tenth_ms, rtpTimestamp: frame.rtp_timestamp})
  const packets = Array.from({length: batch.count}, (_, i) => Buffer.from(videoPacket(batch, i)))
  // they are the vector's packets
  for (const v of frame.packets) if (v.hex !== undefined) expect(packets[v.index].toString('hex')).toBe(v.hex)
  return {frame, packets}
}

function feed(d: VideoDepacketizer, packets: Buffer[], drop: Set<number> = new Set()): FrameEvent[] {
  const out: FrameEvent[] = []
  packets.forEach((p, i) => {
    if (drop.has(i)) return
    for (const e of d.push(p)) out.push(e.kind === 'frame' ? {...e, data: Buffer.from(e.data)} : e)
  })
  return out
}

describe('VideoDepacketizer', () => {
  for (const name of ['hevc_idr_3data_2parity', 'hevc_idr_encrypted', 'av1_key_1024']) {
    it(`${name}: every way of losing up to 2 of the 5 packets still yields the frame`, () => {
      const {frame, packets} = packetsOf(name)
      const drops: number[][] = [[]]
      for (let a = 0; a < 5; a++) {
        drops.push([a])
        for (let b = a + 1; b < 5; b++) drops.push([a, b])
      }
      for (const drop of drops) {
        const d = new VideoDepacketizer({packetSize: frame.negotiated_packet_size, encryptionKey: frame.video_encryption ? key : undefined, firstFrameIndex: frame.frame_index})
        const ev = feed(d, packets, new Set(drop))
        expect(ev.length, `drop ${drop}`).toBe(1)
        const e = ev[0]
        if (e.kind !== 'frame') throw new Error(`drop ${drop}: ${e.reason}`)
        expect(sha(e.data), `drop ${drop}`).toBe(frame.frame_sha256)
        expect(e.frameType).toBe(frame.frame_type)
        expect(e.latencyTenthMs).toBe(frame.host_latency_tenth_ms)
        expect(e.rtpTimestamp).toBe(frame.rtp_timestamp)
        expect(e.dataRebuilt).toBe(drop.filter((i) => i < 3).length)
      }
    })
  }

  it('losing 3 of 5 makes the frame lost; the next frame still arrives; a fully lost frame is reported missing', () => {
    const pk = new VideoPacketizer({packetSize: 1392, fecPercentage: 20, minParity: 2})
    const frames = [1, 2, 3, 4].map((i) => {
      const data = new XorShift32(i).fill(Buffer.alloc(2000 + i * 1000))
      const b = pk.packetize({data, frameIndex: i, frameType: i === 1 ? 2 : 1, rtpTimestamp: i * 1500})
      return {data, packets: Array.from({length: b.count}, (_, j) => Buffer.from(videoPacket(b, j)))}
    })
    const d = new VideoDepacketizer({packetSize: 1392})
    const ev = [
      ...feed(d, frames[0].packets),
      ...feed(d, frames[1].packets, new Set([0, 1, 2])),
      ...feed(d, frames[2].packets, new Set(frames[2].packets.map((_, i) => i))),
      ...feed(d, frames[3].packets, new Set([1])),
      ...d.flush(),
    ]
    expect(ev.map((e) => [e.frameIndex, e.kind === 'frame' ? 'frame' : e.reason])).toEqual([
      [1, 'frame'],
      [2, 'unrecoverable'],
      [3, 'missing'],
      [4, 'frame'],
    ])
    expect((ev[3] as {data: Buffer}).data.equals(frames[3].data)).toBe(true)
    expect(d.stats.framesLost).toBe(2)
  })

  it('a two-block 400 kB frame survives 30 + 29 losses spread over its blocks, and tampered ciphertext is rejected', () => {
    const data = new XorShift32(77).fill(Buffer.alloc(400_000))
    const pk = new VideoPacketizer({packetSize: 1392, fecPercentage: 20, minParity: 2})
    const b = pk.packetize({data, frameIndex: 1, frameType: 2, rtpTimestamp: 0})
    expect(b.blocks.map((x) => [x.k, x.m])).toEqual([
      [146, 30],
      [145, 29],
    ])
    const packets = Array.from({length: b.count}, (_, j) => Buffer.from(videoPacket(b, j)))
    const drop = new Set<number>()
    for (let i = 0; i < 30; i++) drop.add(i * 4)
    for (let i = 0; i < 29; i++) drop.add(176 + i * 5)
    const d = new VideoDepacketizer({packetSize: 1392})
    const ev = feed(d, packets, drop)
    expect(ev.length).toBe(1)
    expect(ev[0].kind === 'frame' && ev[0].data.equals(data)).toBe(true)

    const {packets: enc, frame} = packetsOf('hevc_idr_encrypted')
    const bad = Buffer.from(enc[1])
    bad[100] ^= 1
    const d2 = new VideoDepacketizer({packetSize: 1360, encryptionKey: key})
    const ev2 = feed(d2, [enc[0], bad, enc[2], enc[3], enc[4]])
    expect(d2.stats.rejected).toBe(1)
    expect(ev2.length === 1 && ev2[0].kind === 'frame' && sha(ev2[0].data) === frame.frame_sha256).toBe(true)
  })
})
