/**
 * X11 capture against a real X server: Xvfb started here with a known root window (-wr: white,
 * -br: black), grabbed through MIT-SHM, and `lumen encode-test --source x11` on it.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {X11Source} from '../../src/media/capture/x11.js'
import {installed, lumen, sleep} from '../helpers/index.js'
import {startXvfb, type Xvfb} from '../serve/processes.js'

const hasXvfb = installed('Xvfb')

describe.skipIf(!hasXvfb)(`X11 capture under Xvfb${hasXvfb ? '' : ' (skipped: Xvfb is not installed)'}`, () => {
  let white: Xvfb
  let black: Xvfb
  beforeAll(async () => {
    white = await startXvfb('640x480', {args: ['-wr', '-noreset']})
    black = await startXvfb('320x240', {args: ['-br', '-noreset']})
  }, 180_000)
  afterAll(() => {
    white?.proc.kill()
    black?.proc.kill()
  })

  it('grabs the whole screen through MIT-SHM as BGRx: a white root is all 0xffffff', () => {
    const src = new X11Source({display: white.display})
    try {
      expect(src.width).toBe(640)
      expect(src.height).toBe(480)
      expect(src.shm).toBe(true)
      const f = src.grab()
      expect(f.payload.kind).toBe('cpu')
      const data = (f.payload as {data: Buffer}).data
      expect(data.length).toBe(640 * 480 * 4)
      for (let i = 0; i < data.length; i += 4 * 997) expect(data.readUInt32LE(i) & 0xffffff).toBe(0xffffff)
    } finally {
      src.close()
    }
  })

  it('grabs a rectangle, and a black root is all zero', () => {
    const src = new X11Source({display: black.display, x: 16, y: 8, width: 128, height: 64})
    try {
      expect([src.width, src.height]).toEqual([128, 64])
      const data = (src.grab().payload as {data: Buffer}).data
      expect(data.subarray(0, 128 * 64 * 4).every((b, i) => i % 4 === 3 || b === 0)).toBe(true)
    } finally {
      src.close()
    }
  })

  it('refuses a rectangle outside the screen and a display that is not there', () => {
    expect(() => new X11Source({display: black.display, width: 640, height: 480})).toThrow(/not inside the 320x240 screen/)
    expect(() => new X11Source({display: ':7999'})).toThrow(/cannot open display ':7999'/)
  })

  it('lumen encode-test --source x11 encodes and checks the grabbed screen', () => {
    const r = lumen(['encode-test', '--source', 'x11', '--display', white.display, '--size', '640x480', '--frames', '30', '--json'])
    expect(r.status, r.stderr).toBe(0)
    const result = JSON.parse(r.stdout) as {frames: number; idrFrames: number[]; psnr: {mean: number}; ok: boolean}
    expect(result.frames).toBe(30)
    expect(result.idrFrames).toEqual([0])
    expect(result.psnr.mean).toBeGreaterThan(40) // a still white screen
    expect(result.ok).toBe(true)
  })
})

