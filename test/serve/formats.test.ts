/**
 * Each 4:4:4 and 10-bit format through a whole `lumen serve` stream on loopback: the test client
 * announces it the way Moonlight does (x-ss-video[0].chromaSamplingType, x-nv-video[0].dynamicRangeMode
 * with bitStreamFormat; docs/protocol/rtsp.md §3.4), the host encodes it, and the client
 * depacketizes and decodes every frame, reading the bit depth and chroma format back from its
 * decoder and the stamped frame counter from the picture. A format the host does not offer is
 * refused at ANNOUNCE (400, as Sunshine does). A 10-bit stream tells the client, with the HDR-mode
 * message, that its picture is SDR (every source here is).
 */
import {afterEach, describe, expect, it} from 'vitest'

import {hasDecoder, hasEncoder} from '../../src/native/core.js'
import {CodecModeSupport} from '../../src/protocol/flags.js'
import {sleep, waitUntil} from '../helpers/index.js'
import {type ServeSession, startServeSession} from './helpers.js'
import {expectStampsFollowFrames} from './stamps.js'

const av1 = hasEncoder('libaom-av1') && hasDecoder('libdav1d')
let session: ServeSession | undefined
afterEach(async () => {
  await session?.close()
  session = undefined
})

const ALL =
  CodecModeSupport.h264 |
  CodecModeSupport.h264High8_444 |
  CodecModeSupport.hevcMain |
  CodecModeSupport.hevcMain10 |
  CodecModeSupport.hevcRext8_444 |
  CodecModeSupport.hevcRext10_444 |
  CodecModeSupport.av1Main8 |
  CodecModeSupport.av1High8_444

const cases = [
  {name: 'H.264 4:4:4', codec: 0, chroma: 1, range: 0, depth: 8, format: 444},
  {name: 'HEVC Main10', codec: 1, chroma: 0, range: 1, depth: 10, format: 420},
  {name: 'HEVC 4:4:4', codec: 1, chroma: 1, range: 0, depth: 8, format: 444},
  {name: 'HEVC 4:4:4 10-bit', codec: 1, chroma: 1, range: 1, depth: 10, format: 444},
  {name: 'AV1 High 4:4:4', codec: 2, chroma: 1, range: 0, depth: 8, format: 444},
] as const

describe('4:4:4 and 10-bit serve streams', () => {
  for (const c of cases) {
    const skip = c.codec === 2 && !av1 ? ' (skipped: this libavcodec has no libaom-av1 or libdav1d)' : ''
    it.skipIf(skip !== '')(`${c.name}: 10 s of 320x240 at 30 fps, every frame decodes as ${c.depth}-bit ${c.format}, the counter has no gaps, one IDR${skip}`, async () => {
      session = await startServeSession({
        codecModeSupport: ALL,
        announce: {width: 320, height: 240, fps: 30, codec: c.codec, chromaSamplingType: c.chroma, dynamicRangeMode: c.range, encryptionEnabled: 1},
      })
      const s = session
      await sleep(10_000)
      // 30 fps for 10 s, short only by frames still in flight
      await waitUntil(() => s.video.frames.length >= 290, 20_000, '290 frames')
      const frames = s.video.frames
      expect(s.video.lost).toEqual([])
      expect(s.video.decodeErrors).toEqual([])
      expect(frames.every((f) => f.decoded)).toBe(true)
      expect(new Set(frames.map((f) => f.bitDepth))).toEqual(new Set([c.depth]))
      expect(new Set(frames.map((f) => f.chromaFormat))).toEqual(new Set([c.format]))
      expect(frames.map((f) => f.frameIndex)).toEqual(frames.map((_, i) => i + 1))
      expectStampsFollowFrames(frames, 0.9)
      expect(frames.filter((f) => f.frameType === 2).map((f) => f.frameIndex)).toEqual([1])
      // 0x010e HDR mode (control-stream.md §3): a 10-bit stream of an SDR source says "HDR off" once, at its start
      const hdr = s.control.received.filter((m) => m.type === 0x010e).map((m) => [...m.payload])
      expect(hdr).toEqual(c.range === 1 ? [new Array(27).fill(0)] : [])
      expect(s.streams[0].stats()).toBeDefined()
    }, 60_000)
  }

  it('a host that offers H.264 and HEVC Main only refuses an ANNOUNCE for HEVC Main10 (400)', async () => {
    await expect(
      startServeSession({
        codecModeSupport: CodecModeSupport.h264 | CodecModeSupport.hevcMain,
        announce: {width: 320, height: 240, fps: 30, codec: 1, dynamicRangeMode: 1, encryptionEnabled: 1},
      }),
    ).rejects.toThrow(/RTSP ANNOUNCE answered 400/)
  }, 30_000)
})
