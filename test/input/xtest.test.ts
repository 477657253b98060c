/**
 * The XTEST backend on a real Xvfb: events go through the router and the shim's writer thread to
 * the X server, and an application on that display (fixtures/xrecorder.c) records what arrives.
 * Expected keysyms come from <X11/keysymdef.h> values written here, not from the keymap table.
 */
import type {ChildProcess} from 'node:child_process'

import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest'

import type {InputEvent} from '../../src/host/input.js'
import type {NativeInputDevice} from '../../src/input/native-device.js'
import {xtestBackend} from '../../src/input/xtest.js'
import {installed, waitUntil} from '../helpers/index.js'
import {startXvfb} from '../serve/processes.js'
import {DROPPED, droppedSince, SCROLLS} from './shared.js'
import {XRecorder, xState} from './xrecorder.js'

const missing = !installed('Xvfb', 'cc')
/** the display Xvfb picked, set once it runs */
let DISPLAY = ''

const key = (down: boolean, vk: number, modifiers = 0): InputEvent => ({type: 'key', down, keyCode: vk | 0x8000, modifiers, flags: 0})

describe.skipIf(missing)(`XTEST backend on Xvfb${missing ? ' (skipped: Xvfb or cc missing)' : ''}`, () => {
  let xvfb: ChildProcess
  let rec: XRecorder
  let dev: NativeInputDevice
  const send = async (events: InputEvent[]): Promise<void> => {
    dev.submit(events)
    expect(dev.drain(2000)).toBe(0)
  }

  beforeAll(async () => {
    ;({proc: xvfb, display: DISPLAY} = await startXvfb('640x360'))
    rec = await XRecorder.start(DISPLAY)
    dev = xtestBackend.open({uinputPath: '/dev/uinput', display: DISPLAY}) as NativeInputDevice
  })
  afterAll(() => {
    dev?.close()
    rec?.stop()
    xvfb?.kill('SIGTERM')
  })
  beforeEach(() => rec.clear())

  it('a display without a server is a sentence, not a crash', () => {
    expect(() => xtestBackend.open({uinputPath: '', display: ':249'})).toThrow(/cannot open X display ':249'/)
  })

  it('letters, shifted letters, modifiers and F-keys through the server keymap', async () => {
    await send([key(true, 0x41), key(false, 0x41)])
    await send([key(true, 0xa0), key(true, 0x42, 0x01), key(false, 0x42, 0x01), key(false, 0xa0)])
    await send([key(true, 0xa2), key(true, 0x43, 0x02), key(false, 0x43, 0x02), key(false, 0xa2)])
    await send([key(true, 0x74), key(false, 0x74), key(true, 0x87), key(false, 0x87)])
    await waitUntil(() => rec.keys().length >= 14, 3000, 'the key events')
    const presses = rec.keys().filter((k) => k.down)
    // XK_a, XK_Shift_L, XK_B, XK_Control_L, XK_c (with ControlMask), XK_F5, XK_F24
    expect(presses.map((k) => k.keysym)).toEqual([0x61, 0xffe1, 0x42, 0xffe3, 0x63, 0xffc2, 0xffd5])
    expect(presses[0].text).toBe('a')
    expect(presses[2].text).toBe('B')
    expect(presses[2].state & 0x1).toBe(1) // ShiftMask
    expect(presses[4].state & 0x4).toBe(4) // ControlMask
    expect(rec.keys().filter((k) => !k.down)).toHaveLength(7)
  })

  it('UTF-8 text through a temporary keysym mapping', async () => {
    const chars = ['é', '€', 'ж', '😀', 'q']
    await send(chars.map((text) => ({type: 'text', text})))
    await waitUntil(() => rec.keys().filter((k) => k.down).length >= chars.length, 3000, 'the text key events')
    // Latin-1 keysyms are the code point, the rest 0x01000000 + code point (keysymdef.h)
    expect(rec.keys().filter((k) => k.down).map((k) => k.keysym)).toEqual([0xe9, 0x10020ac, 0x1000436, 0x101f600, 0x71])
  })

  it('absolute motion lands on the position scaled to the screen, relative motion moves from it', async () => {
    // 1280x720 reference area on a 640x360 screen
    await send([{type: 'mouse-move-absolute', x: 640, y: 360, width: 1280, height: 720}])
    await waitUntil(() => xState(DISPLAY).x === 320, 3000, 'the pointer at x 320')
    expect(xState(DISPLAY)).toMatchObject({x: 320, y: 180})
    await send([{type: 'mouse-move-absolute', x: 1279, y: 0, width: 1280, height: 720}])
    expect(xState(DISPLAY)).toMatchObject({x: 639, y: 0})
    await send([{type: 'mouse-move-absolute', x: 100, y: 100, width: 640, height: 360}])
    await send([{type: 'mouse-move-relative', dx: 25, dy: -40}])
    expect(xState(DISPLAY)).toMatchObject({x: 125, y: 60})
    await waitUntil(() => rec.events.some((e) => e.type === 'motion' && e.x === 125 && e.y === 60), 3000, 'the motion event')
  })

  it('buttons 1-5 as X buttons 1, 2, 3, 8, 9', async () => {
    const events: InputEvent[] = []
    for (const button of [1, 2, 3, 4, 5]) events.push({type: 'mouse-button', down: true, button}, {type: 'mouse-button', down: false, button})
    await send(events)
    await waitUntil(() => rec.buttons().length >= 10, 3000, 'the button events')
    expect(rec.buttons().map((b) => `${b.down ? '+' : '-'}${b.button}`)).toEqual(['+1', '-1', '+2', '-2', '+3', '-3', '+8', '-8', '+9', '-9'])
  })

  it('scroll: one click per accumulated 120 units, vertical 4/5, horizontal 6/7', async () => {
    await send(SCROLLS) // 2 up, 1 up from two halves, 1 down, 1 right, 3 left
    await waitUntil(() => rec.buttons().length >= 16, 3000, 'the scroll clicks')
    const clicks = rec.buttons().filter((b) => b.down).map((b) => b.button)
    expect(clicks).toEqual([4, 4, 4, 5, 7, 6, 6, 6])
  })

  it('release-all lets go of every key and button held', async () => {
    await send([key(true, 0xa0), key(true, 0x44), key(true, 0x70), {type: 'mouse-button', down: true, button: 1}, {type: 'mouse-button', down: true, button: 3}])
    const held = xState(DISPLAY)
    expect(held.keys.length).toBe(3)
    expect(held.mask & 0x100).toBe(0x100) // Button1Mask
    expect(held.mask & 0x400).toBe(0x400) // Button3Mask
    dev.releaseAll()
    expect(dev.drain(2000)).toBe(0)
    const after = xState(DISPLAY)
    expect(after.keys).toEqual([])
    expect(after.mask & 0x1f00).toBe(0)
  })

  it('counts what it applied and what it dropped', async () => {
    const before = dev.stats()
    await send(DROPPED.events)
    expect(droppedSince(before, dev.stats())).toEqual(DROPPED.expected)
  })
})
