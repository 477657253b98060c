/**
 * A stream whose workers must be terminated (they did not stop in time) leaks nothing: terminate()
 * skips the workers' own cleanup, so the send thread, sockets, encoder and capture they held are
 * closed by the main thread from their handle ledgers. Counted in /proc/self/task and
 * /proc/self/fd, after a warm-up stream that creates what a process creates once.
 */
import {createSocket} from 'node:dgram'
import {readdirSync} from 'node:fs'

import {describe, expect, it} from 'vitest'

import {MediaStream} from '../../src/media/stream/index.js'
import {EncryptionFlags} from '../../src/protocol/flags.js'
import type {StreamConfig} from '../../src/protocol/stream-config.js'
import {sleep} from '../helpers/index.js'
import {DEFAULT_MEDIA} from './helpers.js'

const config: StreamConfig = {
  video: {width: 320, height: 240, fps: 60, clientRefreshRateX100: 0, packetSize: 1392, bitrateKbps: 2000, codec: 'h264', slicesPerFrame: 1, minRequiredFecPackets: 2, fecPercentage: 20, chromaSamplingType: 0, dynamicRangeMode: 0, maxNumReferenceFrames: 1, encoderCscMode: 0, qosTrafficType: 0},
  audio: {channels: 2, channelMask: 3, packetDurationMs: 5, highQuality: false},
  encryptionFlags: EncryptionFlags.controlV2 | EncryptionFlags.video | EncryptionFlags.audio,
  clientFeatureFlags: 0,
  riKey: Buffer.alloc(16, 1),
  riKeyId: 7,
}

const threads = (): number => readdirSync('/proc/self/task').length
const fds = (): number => readdirSync('/proc/self/fd').length

describe('terminating a stream mid-stream', () => {
  it('closes the send thread, sockets and encoders the terminated workers held', async () => {
    // one receiver per worker: the stream is open once both send (ready waits for video only)
    const sinks = {video: createSocket('udp4'), audio: createSocket('udp4')}
    const received = {video: 0, audio: 0}
    for (const kind of ['video', 'audio'] as const) {
      await new Promise<void>((r) => sinks[kind].bind(0, '127.0.0.1', () => r()))
      sinks[kind].on('message', () => received[kind]++)
    }
    const total = (): number => received.video + received.audio
    const peer = (kind: 'video' | 'audio') => ({address: '127.0.0.1', port: sinks[kind].address().port})
    // no host socket: each worker opens (and must release) its own
    const open = async (): Promise<MediaStream> => {
      const s = new MediaStream({config, video: {peer: peer('video')}, audio: {peer: peer('audio')}}, {...DEFAULT_MEDIA})
      await s.ready
      const at = {...received}
      for (let i = 0; i < 200 && (received.video < at.video + 20 || received.audio < at.audio + 20); i++) await sleep(50)
      expect(received.video, 'the video worker sends').toBeGreaterThanOrEqual(at.video + 20)
      expect(received.audio, 'the audio worker sends').toBeGreaterThanOrEqual(at.audio + 20)
      return s
    }
    const warm = await open()
    await warm.stop()
    expect(warm.released, 'a stop that completes leaves nothing for the main thread').toEqual([])
    await sleep(200)
    const before = {threads: threads(), fds: fds()}

    for (let i = 0; i < 2; i++) {
      const s = await open()
      const during = {threads: threads(), fds: fds()}
      expect(during.threads).toBeGreaterThan(before.threads)
      expect(during.fds).toBeGreaterThan(before.fds)
      await s.terminate()
      // the workers' finally never ran: every handle came back through the ledgers
      const kinds = s.released.map((h) => `${h.worker}:${h.kind}`).sort()
      expect(kinds).toEqual(['audio:audioCapture', 'audio:opusEncoder', 'audio:udp', 'video:encoder', 'video:pacer', 'video:udp'])
      // newest first: the send thread before the socket it sends on
      const video = s.released.filter((h) => h.worker === 'video').map((h) => h.kind)
      expect(video.indexOf('pacer')).toBeLessThan(video.indexOf('udp'))
      await sleep(200)
      const n = total()
      await sleep(300)
      expect(total(), 'nothing is sent after terminate').toBe(n)
      expect({threads: threads(), fds: fds()}).toEqual(before)
    }
    sinks.video.close()
    sinks.audio.close()
  }, 60_000)
})
