/** `--source x11`: the stream grabs an Xvfb display (XShm) and the client decodes it at its size. */
import type {ChildProcess} from 'node:child_process'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {installed, waitUntil} from '../helpers/index.js'
import {startServeSession} from './helpers.js'
import {startXvfb} from './processes.js'

const missing = !installed('Xvfb')
/** the display Xvfb picked, set once it runs */
let DISPLAY = ''

describe.skipIf(missing)(`x11 capture${missing ? ' (skipped: Xvfb is not installed)' : ''}`, () => {
  let xvfb: ChildProcess
  beforeAll(async () => {
    ;({proc: xvfb, display: DISPLAY} = await startXvfb('640x360'))
  })
  afterAll(() => {
    xvfb?.kill('SIGTERM')
  })

  it('streams the display: every frame decodes at the size the client asked for', async () => {
    const s = await startServeSession({media: {source: 'x11', display: DISPLAY}, announce: {width: 1280, height: 720, fps: 30, codec: 0, encryptionEnabled: 5}})
    try {
      await waitUntil(() => s.video.frames.length > 20 && s.streams[0].stats().uniqueFrames > 20, 20_000, 'more than 20 frames')
      expect(s.video.frames.length).toBeGreaterThan(20)
      expect(s.video.decodeErrors).toEqual([])
      expect(s.video.frames.every((f) => f.decoded)).toBe(true)
      // the encoder runs at the size the client asked for: the 640x360 screen is scaled up to it
      expect([s.video.frames[0].width, s.video.frames[0].height]).toEqual([1280, 720])
      expect(s.streams[0].stats().uniqueFrames).toBeGreaterThan(20)
    } finally {
      await s.close()
    }
  }, 30_000)
})
