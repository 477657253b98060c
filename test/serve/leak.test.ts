/**
 * Starting and stopping streams leaks nothing: after a warm-up stream (which creates what a
 * process creates once: libuv's pool, libavcodec's tables), further start/stop cycles leave the
 * process with the same threads and file descriptors.
 */
import {createSocket} from 'node:dgram'
import {readdirSync} from 'node:fs'

import {describe, expect, it} from 'vitest'

import {MediaStream} from '../../src/media/stream/index.js'
import {EncryptionFlags} from '../../src/protocol/flags.js'
import type {StreamConfig} from '../../src/protocol/stream-config.js'
import {sleep, waitUntil} from '../helpers/index.js'
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

describe('stream lifecycle', () => {
  it('start/stop cycles leave threads and file descriptors as they were', async () => {
    const sink = createSocket('udp4')
    await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()))
    let received = 0
    sink.on('message', () => received++)
    const host = createSocket('udp4')
    await new Promise<void>((r) => host.bind(0, '127.0.0.1', () => r()))
    const fd = (host as unknown as {_handle: {fd: number}})._handle.fd
    const peer = {address: '127.0.0.1', port: sink.address().port}
    const cycle = async (): Promise<void> => {
      const s = new MediaStream({config, video: {peer, socket: {port: host.address().port, fd}}, audio: {peer, socket: {port: host.address().port, fd}}}, {...DEFAULT_MEDIA})
      await s.ready
      await sleep(300)
      await waitUntil(() => s.stats().framesSent > 5, 20_000, 'more than 5 frames sent')
      await s.stop()
      expect(s.stats().framesSent).toBeGreaterThan(5)
    }
    await cycle()
    await sleep(200)
    const before = {threads: threads(), fds: fds()}
    for (let i = 0; i < 3; i++) await cycle()
    await sleep(200)
    expect({threads: threads(), fds: fds()}).toEqual(before)
    expect(received).toBeGreaterThan(50)
    sink.close()
    host.close()
  }, 30_000)
})
