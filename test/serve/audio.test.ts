/** Opus through libavcodec and the paced capture: a tone survives encode → decode. */
import {describe, expect, it} from 'vitest'

import {AudioCapture, OpusDecoder, OpusEncoder} from '../../src/native/audio.js'
import {monotonicNs} from '../../src/native/core.js'
import {tonePower} from './tone.js'

describe('audio', () => {
  it('a 1 kHz capture tone comes out of Opus CBR packets as 1 kHz', () => {
    const cap = new AudioCapture('tone', 2, {frequencyHz: 1000})
    const enc = new OpusEncoder(2, 96000, 5000)
    const dec = new OpusDecoder(2)
    const pcm = Buffer.alloc(240 * 4)
    const pkt = Buffer.alloc(1400)
    const out = Buffer.alloc(5760 * 4)
    const left: number[] = []
    const sizes = new Set<number>()
    const t0 = monotonicNs()
    for (let i = 0; i < 60; i++) {
      expect(cap.read(pcm, 240)).toBe(240)
      const n = enc.encode(pcm, pkt)
      sizes.add(n)
      const got = dec.decode(pkt.subarray(0, n), out)
      for (let s = 0; s < got; s++) left.push(out.readInt16LE(s * 4))
    }
    const elapsedMs = (monotonicNs() - t0) / 1e6
    expect(cap.kind).toBe('tone')
    cap.close()
    enc.close()
    dec.close()
    // CBR: 96 kbit/s at 5 ms is 60 bytes per packet, every packet
    expect([...sizes]).toEqual([60])
    // the capture is paced on the clock: 60 packets of 5 ms take about 300 ms
    expect(elapsedMs).toBeGreaterThan(250)
    const tail = Int16Array.from(left.slice(-4800))
    const p1k = tonePower(tail, 1000)
    expect(p1k).toBeGreaterThan(20 * tonePower(tail, 1500))
    expect(p1k).toBeGreaterThan(20 * tonePower(tail, 700))
  })

  it('rejects a frame duration Opus does not have, with a sentence', () => {
    expect(() => new OpusEncoder(2, 96000, 7000)).toThrow(/frame duration/)
  })
})
