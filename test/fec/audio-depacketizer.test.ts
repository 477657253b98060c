/** The client-side audio depacketizer on the audio vectors: in order, rebuilt from FEC, lost. */
import {describe, expect, it} from 'vitest'

import {type AudioEvent, AudioDepacketizer} from '../../src/media/depacketizer/audio.js'
import {loadVectors, type AudioVectors} from './vectors.js'

const audio = loadVectors<AudioVectors>('audio_packets')

for (const s of audio.streams) {
  const opts = {
    packetDurationMs: s.packet_duration_ms,
    encryption: s.encrypted ? {key: Buffer.from(audio.keys.audio_aes_cbc_key_hex, 'hex'), keyId: s.rikeyid} : undefined,
  }
  const packets = s.packets.map((p) => Buffer.from(p.hex, 'hex'))
  // datagram order: 4 data + 2 FEC per block
  const dataIndex = (block: number, i: number): number => block * 6 + i

  function run(drop: Set<number>): AudioEvent[] {
    const d = new AudioDepacketizer(opts)
    const ev: AudioEvent[] = []
    packets.forEach((p, i) => {
      if (!drop.has(i)) ev.push(...d.push(p))
    })
    ev.push(...d.flush())
    return ev
  }

  describe(`AudioDepacketizer: ${s.name}`, () => {
    it('delivers every Opus payload in order with the right timestamps', () => {
      const ev = run(new Set())
      expect(ev.map((e) => (e.kind === 'audio' ? e.payload.toString('hex') : 'lost'))).toEqual(s.opus_payloads_hex)
      expect(ev.map((e) => (e.kind === 'audio' ? e.timestamp : -1))).toEqual(s.opus_payloads_hex.map((_, i) => i * s.packet_duration_ms))
    })

    it('rebuilds any two lost packets of a block from its FEC packets', () => {
      for (let a = 0; a < 6; a++)
        for (let b = a + 1; b < 6; b++) {
          const ev = run(new Set([dataIndex(1, a), dataIndex(1, b)]))
          expect(ev.map((e) => (e.kind === 'audio' ? e.payload.toString('hex') : 'lost')), `drop ${a},${b}`).toEqual(s.opus_payloads_hex)
          const rebuilt = ev.filter((e) => e.kind === 'audio' && e.recovered).map((e) => e.sequence)
          expect(rebuilt).toEqual([a, b].filter((x) => x < 4).map((x) => 4 + x))
        }
    })

    it('reports the packets of a block that lost three as lost, and goes on', () => {
      const ev = run(new Set([dataIndex(0, 1), dataIndex(0, 2), dataIndex(0, 4)]))
      expect(ev.filter((e) => e.kind === 'lost').map((e) => e.sequence)).toEqual([1, 2])
      expect(ev.filter((e) => e.kind === 'audio').length).toBe(10)
    })
  })
}
