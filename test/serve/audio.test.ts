/**
 * Opus through libopus and the paced capture: a tone survives encode → decode; and surround
 * (5.1, 7.1; normal and high quality) through `lumen serve` end to end: the test client takes its
 * multistream layout from the host's real DESCRIBE the way moonlight-common-c does, and every
 * channel comes out of the decoder at its own position with its own tone.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterEach, describe, expect, it} from 'vitest'

import {FixedPinSource} from '../../src/host/pairing.js'
import {describeBody} from '../../src/host/sdp.js'
import {GameStreamHost} from '../../src/host/server.js'
import {opusLayout} from '../../src/media/audio/layouts.js'
import {createStartStream, type MediaStream} from '../../src/media/stream/index.js'
import {AudioCapture, OpusDecoder, OpusEncoder} from '../../src/native/audio.js'
import {monotonicNs} from '../../src/native/core.js'
import {createClientIdentity, DEFAULT_ANNOUNCE, MoonlightTestClient} from '../client/client.js'
import type {ControlClient} from '../client/control.js'
import {AudioReceiver, parseSurroundParams} from '../client/media-audio.js'
import {announceBody, rtspTransact, type RtspAnswer, type RtspEncryption} from '../client/rtsp.js'
import {DEFAULT_MEDIA, pingSocket, sleep} from './helpers.js'
import {dominantFrequency, tonePower} from './tone.js'

/** audio.md §2's table: bytes per 5 ms CBR packet */
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

/**
 * A client session against `lumen serve` (the real host and StartStream) that asks for `channels`
 * and AudioQuality — the shared test client's RTSP handshake always sends AudioQuality 0, so this
 * runs the same seven requests with the ANNOUNCE's AudioQuality line set.
 */
async function surroundSession(channels: number, highQuality: boolean, drop?: (seq: number) => boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'lumen-audio-'))
  const streams: MediaStream[] = []
  const host = await GameStreamHost.create({
    configDir: dir,
    bindAddress: '127.0.0.1',
    ports: {http: 0, https: 0, rtsp: 0, control: 0, video: 0, audio: 0},
    hostname: 'lumen-audio-test',
    pinSource: new FixedPinSource('1234'),
    startStream: createStartStream({...DEFAULT_MEDIA, toneHz: TONE}, {onStream: (s) => streams.push(s)}),
    mdns: false,
    codecModeSupport: 0x101,
    encryptionSupported: 0x07,
  })
  await host.start()
  const cleanup: Array<() => unknown> = [() => rmSync(dir, {recursive: true, force: true}), () => host.stop(), () => Promise.all(streams.map((s) => s.stop()))]
  try {
    const client = new MoonlightTestClient({host: '127.0.0.1', httpPort: host.ports.http, identity: await createClientIdentity()})
    const paired = await client.pair('1234')
    if (paired.outcome !== 'paired') throw new Error(`pairing failed: ${paired.outcome}`)
    const announce = {...DEFAULT_ANNOUNCE, width: 320, height: 240, fps: 30, codec: 0 as const, encryptionEnabled: 5, audioChannels: channels}
    const launch = await client.launch({appId: 1, mode: `${announce.width}x${announce.height}x${announce.fps}`})
    const m = /^(rtspenc|rtsp):\/\/(.+):(\d+)$/.exec(launch.sessionUrl)
    if (m === null) throw new Error(`unusable sessionUrl0 '${launch.sessionUrl}'`)
    const port = Number(m[3])
    const enc: RtspEncryption | undefined = m[1] === 'rtspenc' ? {key: launch.riKey, seq: 0} : undefined
    let cseq = 0
    const go = async (req: string): Promise<RtspAnswer> => {
      const a = await rtspTransact('127.0.0.1', port, req, enc)
      if (a.status !== 200) throw new Error(`RTSP ${req.split(' ')[0]} answered ${a.status}`)
      return a
    }
    const base = (): string => `CSeq: ${++cseq}\r\nX-GS-ClientVersion: 14\r\nHost: 0.0.0.0\r\n`
    const url = `rtsp://0.0.0.0:${port}`
    await go(`OPTIONS ${url} RTSP/1.0\r\n${base()}\r\n`)
    const describe = await go(`DESCRIBE ${url} RTSP/1.0\r\n${base()}Accept: application/sdp\r\nIf-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n\r\n`)
    // the client offers AudioQuality 1 only when the host listed a second layout for the count
    const layout = parseSurroundParams(describe.body, channels, highQuality)
    const transport = 'Transport: unicast;X-GS-ClientPort=50000-50001\r\nIf-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n'
    const audioSetup = await go(`SETUP streamid=audio/0/0 RTSP/1.0\r\n${base()}${transport}\r\n`)
    const sessionId = (audioSetup.headers.get('Session') ?? '').split(';')[0]
    const pingPayload = audioSetup.headers.get('X-SS-Ping-Payload') ?? ''
    const portOf = (a: RtspAnswer): number => Number(/server_port=(\d+)/.exec(a.headers.get('Transport') ?? '')?.[1] ?? 0)
    const audioPing = await pingSocket('127.0.0.1', '127.0.0.1', portOf(audioSetup), pingPayload)
    cleanup.unshift(() => audioPing.stop())
    const audio = new AudioReceiver(audioPing.socket, {encryption: {key: launch.riKey, keyId: launch.riKeyId}, layout, drop})
    cleanup.unshift(() => audio.close())
    const sess = `Session: ${sessionId}\r\n`
    const videoSetup = await go(`SETUP streamid=video/0/0 RTSP/1.0\r\n${base()}${sess}${transport}\r\n`)
    const controlSetup = await go(`SETUP streamid=control/13/0 RTSP/1.0\r\n${base()}${sess}${transport}\r\n`)
    const body = announceBody({...announce, hostAddress: '127.0.0.1', videoPort: portOf(videoSetup)}).replace(
      'a=x-nv-audio.surround.AudioQuality:0 ',
      `a=x-nv-audio.surround.AudioQuality:${highQuality ? 1 : 0} `,
    )
    await go(`ANNOUNCE streamid=control/13/0 RTSP/1.0\r\n${base()}${sess}Content-type: application/sdp\r\nContent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
    await go(`PLAY / RTSP/1.0\r\n${base()}${sess}\r\n`)
    const control: ControlClient = await client.connectControl(launch, {
      describe: describe.body,
      sessionId,
      audioPort: portOf(audioSetup),
      videoPort: portOf(videoSetup),
      controlPort: portOf(controlSetup),
      pingPayload,
      connectData: Number(controlSetup.headers.get('X-SS-Connect-Data') ?? 0),
      answers: [],
    })
    cleanup.unshift(() => control.close())
    const videoPing = await pingSocket('127.0.0.1', '127.0.0.1', portOf(videoSetup), pingPayload)
    cleanup.unshift(() => videoPing.stop())
    return {
      audio,
      layout,
      streams,
      close: async () => {
        for (const c of cleanup) await c()
      },
    }
  } catch (error) {
    for (const c of cleanup) await c()
    throw error
  }
}

let session: Awaited<ReturnType<typeof surroundSession>> | undefined
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
        `serve ${name}: layout ${JSON.stringify(s.layout)}; worker ${JSON.stringify(report)}; ${a.dataPackets} data, ${a.fecPackets} FEC, ${a.dropped} dropped, ${a.rebuilt} rebuilt, sizes ${[...a.sizes]} (Opus ${[...a.opusSizes]}); ${tones.map((t) => `${t.name} ${t.hz} Hz (×${t.ratio.toFixed(0)})`).join(', ')}\n`,
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
