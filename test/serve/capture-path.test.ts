/**
 * `serve --capture-path` on a box without a GPU (CI): the GPU path reports one clear reason and the
 * stream runs on the CPU path; auto picks cpu. The GPU path itself runs on the GPU machine
 * (bench/gpupath.ts, whose output the change's report carries).
 */
import {afterEach, describe, expect, it} from 'vitest'

import {planCapturePath} from '../../src/media/stream/capture-path.js'
import {sleep, waitUntil} from '../helpers/index.js'
import {type ServeSession, startServeSession} from './helpers.js'
import {expectStampsFollowFrames} from './stamps.js'

let session: ServeSession | undefined
afterEach(async () => {
  await session?.close()
  session = undefined
})

describe('the capture path plan', () => {
  const rows: Array<[Parameters<typeof planCapturePath>, boolean]> = [
    [['cpu', 'h264_nvenc', 'gltest'], false],
    [['auto', 'libx264', 'gltest'], false],
    [['auto', 'libx265', 'gltest'], false],
    [['auto', 'h264_nvenc', 'gltest'], true],
    [['auto', 'hevc_nvenc', 'synthetic'], false],
    [['gpu', 'libx264', 'gltest'], true],
    [['gpu', 'h264_nvenc', 'x11'], false],
    [['gpu', 'hevc_nvenc', 'pipewire'], false],
  ]
  for (const [args, tryGpu] of rows) {
    it(`${args.join(' / ')}: ${tryGpu ? 'tries the GPU path' : 'cpu'} with a reason`, () => {
      const plan = planCapturePath(...args)
      expect(plan.tryGpu).toBe(tryGpu)
      expect(plan.reason.length).toBeGreaterThan(10)
    })
  }
})

function videoStarted(s: ServeSession): {capturePath: string} {
  const started = s.streams[0].reports.find((m) => m.type === 'started' && m.kind === 'video')
  if (started === undefined || started.type !== 'started' || started.kind !== 'video') throw new Error('no video start report')
  return started
}

async function streamFrames(s: ServeSession): Promise<void> {
  await sleep(2000)
  await waitUntil(() => s.video.frames.length > 40, 20_000, 'more than 40 frames')
  const frames = s.video.frames
  expect(s.video.decodeErrors).toEqual([])
  expect(frames.every((f) => f.decoded)).toBe(true)
  expectStampsFollowFrames(frames, 0.8)
}

describe('serve --capture-path without a GPU', () => {
  it('gpu with --source gltest: one reason from the chain, and the stream runs on the CPU path', async () => {
    session = await startServeSession({media: {source: 'gltest', capturePath: 'gpu', audio: 'off'}, announce: {width: 640, height: 360, fps: 30, codec: 0}})
    await streamFrames(session)
    const path = videoStarted(session).capturePath
    process.stderr.write(`capture path: ${path}\n`)
    // no NVIDIA driver here: the chain (or the pool before it) says so
    expect(path).toMatch(/^cpu \(the GPU path did not open: .*(CUDA|EGL|GL)/)
  }, 60_000)

  it('auto picks cpu for libx264', async () => {
    session = await startServeSession({media: {source: 'gltest', capturePath: 'auto', audio: 'off'}, announce: {width: 640, height: 360, fps: 30, codec: 0}})
    await streamFrames(session)
    expect(videoStarted(session).capturePath).toMatch(/^cpu \(auto: libx264 takes host frames/)
  }, 60_000)
})
