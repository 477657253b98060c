/**
 * Frames of another size than the encoder's are scaled to it in the shim (swscale bilinear in
 * the conversion pass): the decoded stream has the encoder's size and shows the source picture
 * shrunk. The reference is computed here independently: an area average of the BGRx source
 * (fractional coverage at non-integer ratios), then BT.709 limited-range luma in floating point.
 * A `lumen serve` stream from a 640x480 Xvfb screen to a client asking for 320x240 arrives at
 * 320x240. The luma bound (40 dB; about 48-54 measured) is above what a BT.601 matrix or a crop would reach.
 */
import type {ChildProcess} from 'node:child_process'

import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'

import {VideoDecoder} from '../../src/media/decoder.js'
import {type EncoderName, VideoEncoder} from '../../src/media/encoder.js'
import {installed, sleep} from '../helpers/index.js'
import {startServeSession} from '../serve/helpers.js'
import {startXvfb} from '../serve/processes.js'

const open: Array<{close(): void}> = []
afterEach(() => {
  while (open.length > 0) open.pop()?.close()
})

/** A BGRx picture with smooth gradients, slow waves and a few flat blocks (content a scaler keeps). */
function picture(width: number, height: number, phase = 0): Buffer {
  const buf = Buffer.alloc(width * height * 4)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const u = x / width
      const v = y / height
      let r = 255 * u
      let g = 128 + 100 * Math.sin(2 * Math.PI * (3 * u + 2 * v + phase))
      let b = 255 * v
      if (u > 0.1 && u < 0.35 && v > 0.15 && v < 0.45) [r, g, b] = [230, 40, 30]
      if (u > 0.6 && u < 0.9 && v > 0.55 && v < 0.85) [r, g, b] = [20, 60, 220]
      const o = (y * width + x) * 4
      buf[o] = Math.round(b)
      buf[o + 1] = Math.round(g)
      buf[o + 2] = Math.round(r)
      buf[o + 3] = 0
    }
  }
  return buf
}

/** Area-average of each channel onto dw x dh (each output pixel the mean over its footprint). */
function areaDownscale(src: Buffer, sw: number, sh: number, dw: number, dh: number): Float64Array {
  // separable weights: for output index i, the source samples it covers and by how much
  const weights = (sn: number, dn: number): Array<Array<[number, number]>> => {
    const k = sn / dn
    return Array.from({length: dn}, (_, i) => {
      const a = i * k
      const b = a + k
      const w: Array<[number, number]> = []
      for (let s = Math.floor(a); s < Math.ceil(b) && s < sn; s++) {
        const cover = Math.min(b, s + 1) - Math.max(a, s)
        if (cover > 1e-9) w.push([s, cover / k])
      }
      return w
    })
  }
  const wx = weights(sw, dw)
  const wy = weights(sh, dh)
  const rows = new Float64Array(sh * dw * 3)
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < dw; x++) {
      for (const [s, w] of wx[x]) {
        const o = (y * sw + s) * 4
        for (let c = 0; c < 3; c++) rows[(y * dw + x) * 3 + c] += w * src[o + c]
      }
    }
  }
  const out = new Float64Array(dh * dw * 3)
  for (let y = 0; y < dh; y++) {
    for (const [s, w] of wy[y]) {
      for (let i = 0; i < dw * 3; i++) out[y * dw * 3 + i] += w * rows[s * dw * 3 + i]
    }
  }
  return out // B, G, R per pixel
}

/** BT.709 limited-range luma of a B,G,R float picture. */
function luma709(bgr: Float64Array, n: number): Float64Array {
  const y = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const b = bgr[i * 3]
    const g = bgr[i * 3 + 1]
    const r = bgr[i * 3 + 2]
    y[i] = 16 + (219 / 255) * (0.2126 * r + 0.7152 * g + 0.0722 * b)
  }
  return y
}

function psnr(ref: Float64Array, got: Uint8Array): number {
  let se = 0
  for (let i = 0; i < ref.length; i++) se += (ref[i] - got[i]) ** 2
  const mse = se / ref.length
  return mse === 0 ? 100 : 10 * Math.log10((255 * 255) / mse)
}

/** Encodes `frames` (BGRx at sw x sh) with an encoder opened at dw x dh; returns the decoded I420 pictures. */
function encodeDecode(encoder: EncoderName, frames: Array<{data: Buffer; width: number; height: number}>, dw: number, dh: number) {
  const enc = new VideoEncoder({encoder, width: dw, height: dh, fps: 30, bitrateKbps: 20_000})
  const dec = new VideoDecoder(encoder === 'libx265' ? 'hevc' : 'h264', 'i420', {width: dw, height: dh})
  open.push(enc, dec)
  const pictures: Array<{width: number; height: number; data: Buffer}> = []
  for (const f of frames) {
    const au = enc.encode({kind: 'cpu', width: f.width, height: f.height, stride: f.width * 4, data: f.data})
    expect(au, 'the encoder gave no access unit for a frame').toBeDefined()
    const p = dec.decode(au!.data)
    if (p !== undefined) pictures.push({width: p.width, height: p.height, data: Buffer.from(p.data)})
  }
  pictures.push(...dec.drain())
  return pictures
}

describe('encoding frames of another size than the encoder', () => {
  const SW = 640
  const SH = 360
  const src = picture(SW, SH)

  for (const encoder of ['libx264', 'libx265'] as const) {
    for (const [dw, dh] of [
      [320, 180],
      [480, 270],
    ] as const) {
      it(`${encoder}: ${SW}x${SH} frames into a ${dw}x${dh} encoder decode at ${dw}x${dh} and match an area-averaged reference`, () => {
        const frames = Array.from({length: 6}, () => ({data: src, width: SW, height: SH}))
        const pictures = encodeDecode(encoder, frames, dw, dh)
        expect(pictures.length).toBe(6)
        for (const p of pictures) expect([p.width, p.height]).toEqual([dw, dh])
        const ref = luma709(areaDownscale(src, SW, SH, dw, dh), dw * dh)
        const last = pictures[pictures.length - 1]
        const db = psnr(ref, last.data.subarray(0, dw * dh))
        expect(db, `luma PSNR ${db.toFixed(1)} dB against the reference`).toBeGreaterThanOrEqual(40)
        // the same picture not scaled (its top-left corner) is far from the reference: the bound can fail
        const crop = Buffer.alloc(dw * dh)
        const unscaled = luma709(areaDownscale(src, SW, SH, SW, SH), SW * SH)
        for (let y = 0; y < dh; y++) for (let x = 0; x < dw; x++) crop[y * dw + x] = Math.round(unscaled[y * SW + x])
        expect(psnr(ref, crop)).toBeLessThan(20)
      })
    }
  }

  it('a change of the input size mid-stream rebuilds the scaler: each frame matches its own source', () => {
    const a = picture(640, 360, 0)
    const b = picture(800, 450, 0.5)
    const frames = [a, a, a, b, b, b].map((data, i) => ({data, width: i < 3 ? 640 : 800, height: i < 3 ? 360 : 450}))
    const pictures = encodeDecode('libx264', frames, 320, 180)
    expect(pictures.length).toBe(6)
    const refA = luma709(areaDownscale(a, 640, 360, 320, 180), 320 * 180)
    const refB = luma709(areaDownscale(b, 800, 450, 320, 180), 320 * 180)
    const y = (i: number): Buffer => pictures[i].data.subarray(0, 320 * 180)
    expect(psnr(refA, y(2))).toBeGreaterThanOrEqual(40)
    expect(psnr(refB, y(5))).toBeGreaterThanOrEqual(40)
    // and the two sources differ enough that matching the wrong one would show
    expect(psnr(refA, y(5))).toBeLessThan(psnr(refB, y(5)) - 10)
  })

  it('an upscale (320x180 frames into a 640x360 encoder) decodes at 640x360', () => {
    const small = picture(320, 180)
    const pictures = encodeDecode('libx264', [{data: small, width: 320, height: 180}], 640, 360)
    expect(pictures.map((p) => [p.width, p.height])).toEqual([[640, 360]])
    // the big picture shrunk back by 2 is close to the small source's luma
    const big = pictures[0].data.subarray(0, 640 * 360)
    const back = new Uint8Array(320 * 180)
    for (let y = 0; y < 180; y++) {
      for (let x = 0; x < 320; x++) {
        const i = 2 * y * 640 + 2 * x
        back[y * 320 + x] = Math.round((big[i] + big[i + 1] + big[i + 640] + big[i + 641]) / 4)
      }
    }
    expect(psnr(luma709(areaDownscale(small, 320, 180, 320, 180), 320 * 180), back)).toBeGreaterThanOrEqual(28)
  })
})

const noXvfb = !installed('Xvfb')
/** the display Xvfb picked, set once it runs */
let DISPLAY = ''

describe.skipIf(noXvfb)(`serve: a source of another size than the client asked for${noXvfb ? ' (skipped: Xvfb is not installed)' : ''}`, () => {
  let xvfb: ChildProcess
  beforeAll(async () => {
    ;({proc: xvfb, display: DISPLAY} = await startXvfb('640x480'))
  })
  afterAll(() => {
    xvfb?.kill('SIGTERM')
  })

  it('a 640x480 x11 screen reaches a client that asked for 320x240 at 320x240', async () => {
    const s = await startServeSession({media: {source: 'x11', display: DISPLAY}, announce: {width: 320, height: 240, fps: 30, codec: 0, encryptionEnabled: 5}})
    try {
      const t0 = Date.now()
      while (s.video.frames.length < 10 && Date.now() - t0 < 10_000) await sleep(50)
      expect(s.video.frames.length).toBeGreaterThanOrEqual(10)
      expect(s.video.decodeErrors).toEqual([])
      expect(s.video.frames.every((f) => f.decoded && f.width === 320 && f.height === 240)).toBe(true)
      const started = s.streams[0].reports.find((r) => r.type === 'started' && r.kind === 'video')
      expect(started?.capture).toBe('640x480')
    } finally {
      await s.close()
    }
  }, 30_000)
})
