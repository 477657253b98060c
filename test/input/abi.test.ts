/**
 * lumen_input_* at the ABI (libs/include/lumen_input.h) with a real XTEST device on Xvfb: every
 * length is checked in C, a closed handle is refused after its slot is reused, a full queue
 * refuses a whole batch (LUMEN_E_AGAIN) while the X server is stopped, and the writer catches up
 * once it runs again. And the host → client feedback messages (control-stream.md §4) byte by byte.
 */
import type {ChildProcess} from 'node:child_process'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {encodeFeedback, FeedbackFilter} from '../../src/host/input-feedback.js'
import {ErrorBuffer} from '../../src/native/call.js'
import {ShimStatus} from '../../src/native/errors.js'
import {INPUT_QUEUE, InputHandle, RECORD_LEN} from '../../src/native/input.js'
import {shim} from '../../src/native/library.js'
import {RecordWriter} from '../../src/input/records.js'
import {installed} from '../helpers/index.js'
import {startXvfb} from '../serve/processes.js'

const missing = !installed('Xvfb')
/** the display Xvfb picked, set once it runs */
let DISPLAY = ''

function textRecords(n: number): RecordWriter {
  const w = new RecordWriter(n)
  for (let i = 0; i < n; i++) w.push('text', 0, 0x61 + (i % 26))
  return w
}

describe('input feedback messages', () => {
  it('rumble 0x010b: LE32 unused, LE16 controller, low, high', () => {
    const m = encodeFeedback({type: 'rumble', controller: 3, lowFreq: 0x1234, highFreq: 0xffff})
    expect(m.type).toBe(0x010b)
    expect(m.payload.toString('hex')).toBe('eeffc000' + '0300' + '3412' + 'ffff')
  })
  it('trigger rumble 0x5500, motion 0x5501, LED 0x5502', () => {
    expect(encodeFeedback({type: 'trigger-rumble', controller: 1, left: 2, right: 0x300})).toEqual({type: 0x5500, payload: Buffer.from('010002000003', 'hex')})
    expect(encodeFeedback({type: 'motion-enable', controller: 2, sensor: 2, reportRateHz: 250})).toEqual({type: 0x5501, payload: Buffer.from('0200fa0002', 'hex')})
    expect(encodeFeedback({type: 'led', controller: 0, r: 255, g: 16, b: 1})).toEqual({type: 0x5502, payload: Buffer.from('0000ff1001', 'hex')})
  })
  it('an identical rumble is not sent again; a change or another pad is', () => {
    const f = new FeedbackFilter()
    const r = (controller: number, lowFreq: number): boolean => f.pass({type: 'rumble', controller, lowFreq, highFreq: 0})
    expect([r(0, 100), r(0, 100), r(1, 100), r(0, 0), r(0, 0), r(0, 100)]).toEqual([true, false, true, true, false, true])
    expect(f.suppressed).toBe(2)
  })
})

describe.skipIf(missing)(`lumen_input_* at the ABI${missing ? ' (skipped: Xvfb is not installed)' : ''}`, () => {
  let xvfb: ChildProcess
  beforeAll(async () => {
    ;({proc: xvfb, display: DISPLAY} = await startXvfb('320x200'))
  })
  afterAll(() => {
    xvfb?.kill('SIGCONT')
    xvfb?.kill('SIGTERM')
  })

  it('refuses bad backends, parameters, buffers and record kinds with a sentence', () => {
    const err = new ErrorBuffer()
    const s = shim()
    expect(s.lumen_input_open([9, Buffer.alloc(1), 0, ...err.args()])).toBe(ShimStatus.invalid)
    expect(err.text()).toMatch(/backend 9/)
    const nul = Buffer.from(`${DISPLAY}\0x`)
    expect(s.lumen_input_open([2, nul, nul.length, ...err.args()])).toBe(ShimStatus.invalid)
    expect(err.text()).toMatch(/NUL/)
    const long = Buffer.alloc(5000, 0x41)
    expect(s.lumen_input_open([2, long, long.length, ...err.args()])).toBe(ShimStatus.invalid)
    expect(err.text()).toMatch(/5000 bytes/)
    const h = InputHandle.open('xtest', DISPLAY)
    if (!h.ok) throw new Error(h.reason)
    const dev = h.value
    try {
      const w = textRecords(3)
      expect(s.lumen_input_submit([dev.handle, w.bytes(), RECORD_LEN * 2, 3, ...err.args()])).toBe(ShimStatus.buffer)
      expect(err.text()).toMatch(/has 80 bytes, 120 are needed/)
      expect(s.lumen_input_submit([dev.handle, w.bytes(), w.bytes().length, INPUT_QUEUE + 1, ...err.args()])).toBe(ShimStatus.invalid)
      const bad = Buffer.from(w.bytes())
      bad.writeUInt16LE(77, RECORD_LEN)
      expect(s.lumen_input_submit([dev.handle, bad, bad.length, 3, ...err.args()])).toBe(ShimStatus.invalid)
      expect(err.text()).toMatch(/record 1 has kind 77/)
      expect(s.lumen_input_stats([dev.handle, Buffer.alloc(39), 39])).toBe(ShimStatus.buffer)
      // nothing of the refused submits was queued
      expect(dev.stats()).toMatchObject({applied: 0, batches: 0})
      expect(dev.submit(w.bytes(), 3)).toEqual({ok: true, value: 3})
      expect(dev.drain(2000)).toBe(0)
      expect(dev.stats()).toMatchObject({applied: 3, refused: 0, batches: 1})
    } finally {
      dev.close()
    }
    // the closed handle is refused, also once another device took its slot
    const again = InputHandle.open('xtest', DISPLAY)
    if (!again.ok) throw new Error(again.reason)
    try {
      expect(s.lumen_input_submit([dev.handle, Buffer.alloc(RECORD_LEN), RECORD_LEN, 0, ...err.args()])).toBe(ShimStatus.invalid)
      expect(err.text()).toMatch(/no input device/)
      expect(s.lumen_input_close([dev.handle])).toBe(ShimStatus.invalid)
    } finally {
      again.value.close()
    }
  })

  it('a full queue refuses the whole batch and never blocks; the writer catches up', () => {
    const h = InputHandle.open('xtest', DISPLAY)
    if (!h.ok) throw new Error(h.reason)
    const dev = h.value
    try {
      // a stopped X server: the writer blocks on its first text mapping (a round trip)
      xvfb.kill('SIGSTOP')
      const full = textRecords(INPUT_QUEUE)
      expect(dev.submit(full.bytes(), INPUT_QUEUE)).toEqual({ok: true, value: INPUT_QUEUE})
      const more = textRecords(300)
      const r = dev.submit(more.bytes(), 300)
      expect(r).toMatchObject({ok: false, status: 'again'})
      expect(dev.stats().queueFull).toBe(300)
      xvfb.kill('SIGCONT')
      expect(dev.drain(20_000)).toBe(0)
      expect(dev.stats()).toMatchObject({applied: INPUT_QUEUE, queueFull: 300})
    } finally {
      xvfb.kill('SIGCONT')
      dev.close()
    }
  }, 30_000)
})
