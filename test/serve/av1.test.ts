/**
 * AV1 through a whole `lumen serve` stream on loopback, as Moonlight negotiates it: the host offers
 * the AV1 Main 8 bit in ServerCodecModeSupport and the `AV1/90000` marker in its DESCRIBE, the
 * client announces bitStreamFormat 2 (docs/protocol/rtsp.md §3.2), and decodes every frame with
 * dav1d. Moonlight does not parse AV1 (video.md §8): frame type 2 alone marks a key frame, so each
 * one must carry the sequence header a decoder starting there needs.
 */
import {afterEach, describe, expect, it} from 'vitest'

import {isKeyFrameStart, VideoDecoder} from '../../src/media/decoder.js'
import {hasDecoder, hasEncoder} from '../../src/native/core.js'
import {CodecModeSupport} from '../../src/protocol/flags.js'
import {sleep, waitUntil} from '../helpers/index.js'
import {type ServeSession, startServeSession} from './helpers.js'
import {expectStampsFollowFrames} from './stamps.js'

let session: ServeSession | undefined
afterEach(async () => {
  await session?.close()
  session = undefined
})

const av1 = hasEncoder('libaom-av1') && hasDecoder('libdav1d')

describe.skipIf(!av1)(`serve streams AV1${av1 ? '' : ' (skipped: this libavcodec has no libaom-av1 or libdav1d)'}`, () => {
  it('10 s of 640x360 at 30 fps: every frame decodes, the counter has no gaps, one key frame; an IDR request gets one a fresh decoder can start at', async () => {
    session = await startServeSession({
      codecModeSupport: CodecModeSupport.h264 | CodecModeSupport.av1Main8,
      announce: {width: 640, height: 360, fps: 30, codec: 2, encryptionEnabled: 1},
      keepData: true,
    })
    const s = session
    await sleep(10_000)
    await waitUntil(() => s.video.frames.length >= 290, 20_000, '290 frames')
    const before = s.video.frames.slice()
    expect(s.video.lost).toEqual([])
    expect(s.video.decodeErrors).toEqual([])
    expect(before.every((f) => f.decoded)).toBe(true)
    expect(new Set(before.map((f) => `${f.width}x${f.height} ${f.bitDepth}-bit ${f.chromaFormat}`))).toEqual(new Set(['640x360 8-bit 420']))
    expect(before.map((f) => f.frameIndex)).toEqual(before.map((_, i) => i + 1))
    expectStampsFollowFrames(before, 0.9)
    expect(before.filter((f) => f.frameType === 2).map((f) => f.frameIndex)).toEqual([1])
    expect(before.filter((f) => f.keyFrame).map((f) => f.frameIndex)).toEqual([1])
    expect(isKeyFrameStart('av1', before[0].data!)).toBe(true)

    const last = before.at(-1)!.frameIndex
    s.control.requestIdr()
    await waitUntil(() => s.video.frames.at(-1)!.frameIndex > last + 10, 20_000, 'ten frames after the request')
    const keys = s.video.frames.filter((f) => f.frameType === 2)
    expect(keys.length).toBe(2)
    expect(keys[1].frameIndex).toBeGreaterThan(last)
    expect(keys[1].frameIndex).toBeLessThanOrEqual(last + 3)
    expect(isKeyFrameStart('av1', keys[1].data!)).toBe(true)
    const joined = new VideoDecoder('av1', 'planar', {width: 640, height: 360})
    try {
      for (const f of s.video.frames.filter((x) => x.frameIndex >= keys[1].frameIndex)) expect(joined.decode(f.data!), `frame ${f.frameIndex} after joining`).toBeDefined()
    } finally {
      joined.close()
    }
  }, 60_000)

  it('a host that offers H.264 and HEVC only refuses an ANNOUNCE for AV1 (400)', async () => {
    await expect(
      startServeSession({codecModeSupport: CodecModeSupport.h264 | CodecModeSupport.hevcMain, announce: {width: 320, height: 240, fps: 30, codec: 2, encryptionEnabled: 1}}),
    ).rejects.toThrow(/RTSP ANNOUNCE answered 400/)
  }, 30_000)
})
