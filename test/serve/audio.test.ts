/**
 * Opus through libopus and the paced capture: a tone survives encode → decode; and surround
 * (5.1, 7.1; normal and high quality) through `lumen serve` end to end: the test client takes its
 * multistream layout from the host's real DESCRIBE the way moonlight-common-c does, and every
 * channel comes out of the decoder at its own position with its own tone.
 */
import {join} from 'node:path'

import {afterEach, describe, expect, it} from 'vitest'

import {describeBody} from '../../src/host/sdp.js'
import {opusLayout} from '../../src/protocol/audio.js'
import {AudioCapture, OpusDecoder, OpusEncoder} from '../../src/native/audio.js'
import {monotonicNs} from '../../src/native/core.js'
import {parseSurroundParams} from '../client/media-audio.js'
import {sleep} from '../helpers/index.js'
import {type ServeSession, startServeSession} from './helpers.js'
import {dominantFrequency, tonePower} from './tone.js'

/** docs/protocol/audio.md §2's table: bytes per 5 ms CBR packet */
const TABLE_BYTES: Record<string, number> = {'2': 60, '2hq': 320, '6': 160, '6hq': 960, '8': 281, '8hq': 1280}
/** and its bitrates, bit/s */
const TABLE_BITRATE: Record<string, number> = {'2': 96_000, '2hq': 512_000, '6': 256_000, '6hq': 1_536_000, '8': 450_000, '8hq': 2_048_000}
const NAMES = ['FL', 'FR', 'FC', 'LFE', 'RL', 'RR', 'SL', 'SR']
const TONE = 1000
/** the capture's tone on channel k (lumen_audio.h): TONE × (1 + k/4) for 6 and 8 channels */
const toneOf = (k: number): number => TONE * (1 + k / 4)

/** Dominant frequency of each channel, by name, over `samples` decoded samples per channel. */
function channelTones(get: (k: number) => Int16Array, channels: number): Array<{name: string; hz: number; ratio: number}> {
  return Array.from({length: channels}, (_, k) => {
    const d = dominantFrequency(get(k), 500, 4000, 5)
    return {name: NAMES[k], hz: d.hz, ratio: d.ratio}
  })
}

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

  it('rejects a capture channel count with no speaker layout, and a mapping beyond the streams', () => {
    expect(() => new AudioCapture('tone', 5)).toThrow(/1, 2, 6 \(5\.1\) or 8 \(7\.1\)/)
    expect(() => new OpusDecoder({channels: 6, streams: 4, coupled: 2, mapping: [0, 1, 2, 3, 4, 6]})).toThrow(/mapping entry 5 is 6/)
  })

  it('stereo high quality (512 kbit/s) is 320-byte packets', () => {
    const l = opusLayout(2, true)
    const enc = new OpusEncoder(l, l.bitrate, 5000)
    const pcm = Buffer.alloc(240 * 4)
    for (let i = 0; i < 240; i++) pcm.writeInt16LE(Math.round(8000 * Math.sin(i / 5)), i * 4)
    const pkt = Buffer.alloc(1400)
    const sizes = new Set<number>()
    for (let i = 0; i < 20; i++) sizes.add(enc.encode(pcm, pkt))
    enc.close()
    expect([...sizes]).toEqual([TABLE_BYTES['2hq']])
  })

  // the host's DESCRIBE lines (the layouts the encoder uses) read by the client's rules: the
  // encoder's channels land where the client's decoder puts FL FR FC LFE RL RR (SL SR)
  for (const [channels, hq] of [
    [6, false],
    [6, true],
    [8, false],
    [8, true],
  ] as const) {
    it(`${channels === 6 ? '5.1' : '7.1'}${hq ? ' high quality' : ''}: the client's layout from the DESCRIBE decodes each channel's tone in its place, CBR`, () => {
      const describe = describeBody({encryptionSupported: 7, encryptionRequested: 0, featureFlags: 0, hevc: false, av1: false, refPicInvalidation: false})
      const clientLayout = parseSurroundParams(describe, channels, hq)
      const l = opusLayout(channels, hq)
      expect(clientLayout.streams).toBe(l.streams)
      expect(clientLayout.coupled).toBe(l.coupled)
      const cap = new AudioCapture('tone', channels, {frequencyHz: TONE})
      const enc = new OpusEncoder(l, l.bitrate, 5000)
      const dec = new OpusDecoder(clientLayout)
      const pcm = Buffer.alloc(240 * channels * 2)
      const pkt = Buffer.alloc(1500)
      const out = Buffer.alloc(5760 * channels * 2)
      const sizes = new Set<number>()
      const chans: number[][] = Array.from({length: channels}, () => [])
      for (let i = 0; i < 80; i++) {
        cap.read(pcm, 240)
        const n = enc.encode(pcm, pkt)
        sizes.add(n)
        const got = dec.decode(pkt.subarray(0, n), out)
        expect(got).toBe(240)
        for (let s = 0; s < got; s++) for (let k = 0; k < channels; k++) chans[k].push(out.readInt16LE((s * channels + k) * 2))
      }
      cap.close()
      enc.close()
      dec.close()
      expect([...sizes]).toEqual([TABLE_BYTES[`${channels}${hq ? 'hq' : ''}`]])
      const tones = channelTones((k) => Int16Array.from(chans[k].slice(-9600)), channels)
      process.stderr.write(`${channels}ch${hq ? ' hq' : ''}: ${[...sizes]} B/packet; ${tones.map((t) => `${t.name} ${t.hz} Hz (×${t.ratio.toFixed(0)})`).join(', ')}\n`)
      expect(tones.map((t) => t.hz)).toEqual(Array.from({length: channels}, (_, k) => toneOf(k)))
      for (const t of tones) expect(t.ratio).toBeGreaterThan(10)
    })
  }
})

/** A client session against `lumen serve` (the real host and StartStream) asking for `channels` and AudioQuality. */
function surroundSession(channels: number, highQuality: boolean, drop?: (seq: number) => boolean): Promise<ServeSession> {
  return startServeSession({
    media: {toneHz: TONE},
    announce: {width: 320, height: 240, fps: 30, codec: 0, encryptionEnabled: 5, audioChannels: channels, audioQuality: highQuality ? 1 : 0},
    audioDrop: drop,
    decode: false,
  })
}

let session: ServeSession | undefined
afterEach(async () => {
  await session?.close()
  session = undefined
})

describe('lumen serve surround audio', () => {
  for (const [channels, hq] of [
    [6, false],
    [6, true],
    [8, false],
    [8, true],
    [2, false],
  ] as const) {
    const name = channels === 2 ? 'stereo' : `${channels === 6 ? '5.1' : '7.1'}${hq ? ' high quality' : ''}`
    it(`${name}: every packet decodes with the DESCRIBE's layout, each channel's tone in its place, constant CBR size, FEC rebuilds a lost packet`, async () => {
      // one data packet in 40 lost (the second of every tenth block): FEC must rebuild each
      session = await surroundSession(channels, hq, (seq) => seq % 40 === 21)
      const s = session
      const t0 = Date.now()
      while (s.audio.dataPackets < 500 && Date.now() - t0 < 15_000) await sleep(100)
      const a = s.audio
      const expectBytes = TABLE_BYTES[`${channels}${hq ? 'hq' : ''}`]
      const report = s.streams[0]?.reports.find((r) => (r as {channels?: number}).channels !== undefined) as Record<string, unknown> | undefined
      const tones = channelTones((k) => a.channel(k, 9600), a.channels)
      process.stderr.write(
        `serve ${name}: layout ${JSON.stringify(s.audioLayout)}; worker ${JSON.stringify(report)}; ${a.dataPackets} data, ${a.fecPackets} FEC, ${a.dropped} dropped, ${a.rebuilt} rebuilt, sizes ${[...a.sizes]} (Opus ${[...a.opusSizes]}); ${tones.map((t) => `${t.name} ${t.hz} Hz (×${t.ratio.toFixed(0)})`).join(', ')}\n`,
      )
      expect(a.dataPackets).toBeGreaterThanOrEqual(500)
      expect(a.decodeErrors).toBe(0)
      expect(a.channels).toBe(channels)
      // encrypted payloads: the Opus packet rounded up to 16 with PKCS#7 (at least one byte)
      const cipherBytes = (Math.floor(expectBytes / 16) + 1) * 16
      expect([...a.sizes]).toEqual([cipherBytes])
      expect([...a.opusSizes]).toEqual([expectBytes])
      expect(report?.bitrate).toBe(TABLE_BITRATE[`${channels}${hq ? 'hq' : ''}`])
      expect(report?.durationMs).toBe(5)
      // every lost packet rebuilt from its block's FEC (the last drop may still be in flight)
      expect(a.dropped).toBeGreaterThan(10)
      expect(a.rebuilt).toBeGreaterThanOrEqual(a.dropped - 1)
      if (channels === 2) {
        // stereo unchanged: the same 1 kHz tone on both channels
        expect(tones.map((t) => t.hz)).toEqual([TONE, TONE])
      } else {
        expect(tones.map((t) => t.hz)).toEqual(Array.from({length: channels}, (_, k) => toneOf(k)))
        for (const t of tones) expect(t.ratio).toBeGreaterThan(10)
      }
    }, 60_000)
  }
})
