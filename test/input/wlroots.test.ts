/**
 * The wlroots backend on a real headless sway: events go through the router and the shim's writer
 * thread to the compositor, and a Wayland application there (fixtures/wlrecorder.c) records what
 * arrives. Expected key codes come from <linux/input-event-codes.h>, keysyms from
 * <xkbcommon/xkbcommon-keysyms.h> and buttons from BTN_*, written here, not from the keymap table.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest'

import type {InputEvent} from '../../src/host/input.js'
import type {NativeInputDevice} from '../../src/input/native-device.js'
import {wlrootsBackend} from '../../src/input/wlroots.js'
import {missing, waitUntil} from '../helpers/index.js'
import {type HeadlessSway, startHeadlessSway, stopChild, swayMissing} from '../helpers/sway.js'
import {recorderMissing, WlRecorder} from './wlrecorder.js'
import {DROPPED, droppedSince, SCROLLS} from './shared.js'

const why = swayMissing() ?? recorderMissing()

const key = (down: boolean, vk: number, modifiers = 0): InputEvent => ({type: 'key', down, keyCode: vk | 0x8000, modifiers, flags: 0})
const tap = (vk: number, modifiers = 0): InputEvent[] => [key(true, vk, modifiers), key(false, vk, modifiers)]

// <linux/input-event-codes.h>
const KEY_LEFTSHIFT = 42
const KEY_LEFTCTRL = 29
const KEY_LEFTALT = 56
const KEY_A = 30
const KEY_D = 32
const BTN = {left: 0x110, right: 0x111, middle: 0x112, side: 0x113, extra: 0x114}

describe.skipIf(why !== undefined)(`wlroots backend on headless sway${why !== undefined ? ` (skipped: ${why})` : ''}`, () => {
  let sway: HeadlessSway
  let rec: WlRecorder
  let dev: NativeInputDevice
  const send = async (events: InputEvent[]): Promise<void> => {
    dev.submit(events)
    expect(dev.drain(2000)).toBe(0)
  }
  const downs = (): Array<Extract<ReturnType<WlRecorder['of']>[number], {ev: 'key'}>> => rec.of('key').filter((k) => k.down)

  beforeAll(async () => {
    sway = await startHeadlessSway({width: 1280, height: 720})
    // first: a seat without a keyboard gives the window no keyboard focus
    dev = wlrootsBackend.open({uinputPath: '', waylandSocket: sway.socket}) as NativeInputDevice
    rec = await WlRecorder.start(sway.socket)
  }, 30_000)
  afterAll(async () => {
    dev?.close()
    rec?.stop()
    await sway?.stop()
  })
  beforeEach(() => rec.clear())

  it('the window covers the output, so surface coordinates are the output\'s', () => {
    expect(rec.size).toEqual({width: sway.output.width, height: sway.output.height})
    expect(sway.output).toMatchObject({width: 1280, height: 720})
  })

  it('says it is there when the compositor offers both protocols and a seat', () => {
    expect(wlrootsBackend.available({uinputPath: '', waylandSocket: sway.socket})).toEqual({ok: true, detail: 'wlroots virtual pointer and keyboard on wayland-1'})
  })

  it('letters, Shift for capitals, Ctrl and Alt as modifiers, F-keys (F24 through a spare keycode)', async () => {
    await send(tap(0x41))
    await send([key(true, 0xa0), ...tap(0x42, 0x01), key(false, 0xa0)])
    await send([key(true, 0xa2), ...tap(0x43, 0x02), key(false, 0xa2)])
    await send([key(true, 0xa4), ...tap(0x58, 0x04), key(false, 0xa4)])
    await send([...tap(0x74), ...tap(0x87)])
    await waitUntil(() => rec.of('key').length >= 18, 3000, 'the key events')
    const presses = downs()
    // XKB_KEY_a, Shift_L, B, Control_L, c, Alt_L, x, F5, F24
    expect(presses.map((k) => k.sym.toString(16))).toEqual(['61', 'ffe1', '42', 'ffe3', '63', 'ffe9', '78', 'ffc2', 'ffd5'])
    expect(presses.slice(0, 7).map((k) => k.key)).toEqual([KEY_A, KEY_LEFTSHIFT, 48, KEY_LEFTCTRL, 46, KEY_LEFTALT, 45])
    expect(presses[0]).toMatchObject({utf8: 'a', shift: false})
    expect(presses[2]).toMatchObject({utf8: 'B', shift: true})
    expect(presses[4]).toMatchObject({ctrl: true, shift: false})
    expect(presses[6]).toMatchObject({alt: true, ctrl: false})
    expect(presses[7].key).toBe(63) // KEY_F5: the US map has it
    expect(presses[8].key).not.toBe(194) // KEY_F24: the US map has no symbol there
    expect(rec.held().keys).toEqual([])
    // the compositor followed the modifiers: all released again
    expect(rec.of('modifiers').at(-1)).toMatchObject({depressed: 0, latched: 0, locked: 0})
  })

  it('UTF-8 text through keysyms lent to spare keycodes, read with the keymap the application was sent', async () => {
    const chars = ['é', '€', 'ж', '中', '😀', 'q', 'é']
    await send(chars.map((text) => ({type: 'text', text})))
    await waitUntil(() => downs().length >= chars.length, 3000, 'the text key events')
    expect(downs().map((k) => k.utf8)).toEqual(chars)
    // Latin-1 keysyms are the code point, Unicode ones 0x01000000 + it; EuroSign and Cyrillic_zhe are legacy keysyms
    expect(downs().map((k) => k.sym.toString(16))).toEqual(['e9', '20ac', '6d6', '1004e2d', '101f600', '71', 'e9'])
    // one keymap for each new keysym, none for the one already lent
    expect(rec.of('keymap').length).toBe(6)
    expect(rec.held().keys).toEqual([])
  })

  it('absolute motion lands on the position scaled to the output, relative motion moves from it', async () => {
    await send([{type: 'mouse-move-absolute', x: 1000, y: 500, width: 1280, height: 720}])
    await waitUntil(() => rec.pointer()?.x === 1000, 3000, 'the pointer at x 1000')
    expect(rec.pointer()).toEqual({x: 1000, y: 500})
    // a 640x360 reference area on the 1280x720 output
    await send([{type: 'mouse-move-absolute', x: 100, y: 100, width: 640, height: 360}])
    await waitUntil(() => rec.pointer()?.x === 200, 3000, 'the pointer at x 200')
    expect(rec.pointer()).toEqual({x: 200, y: 200})
    await send([{type: 'mouse-move-absolute', x: 1279, y: 0, width: 1280, height: 720}])
    await waitUntil(() => rec.pointer()?.x === 1279, 3000, 'the pointer at the right edge')
    expect(rec.pointer()).toEqual({x: 1279, y: 0})
    await send([{type: 'mouse-move-absolute', x: 100, y: 100, width: 640, height: 360}])
    await send([{type: 'mouse-move-relative', dx: 25, dy: -40}])
    await waitUntil(() => rec.pointer()?.x === 225, 3000, 'the relative move')
    expect(rec.pointer()).toEqual({x: 225, y: 160})
  })

  it('buttons 1-5 as BTN_LEFT, BTN_MIDDLE, BTN_RIGHT, BTN_SIDE, BTN_EXTRA where the pointer is', async () => {
    await send([{type: 'mouse-move-absolute', x: 320, y: 180, width: 640, height: 360}])
    const events: InputEvent[] = []
    for (const button of [1, 2, 3, 4, 5]) events.push({type: 'mouse-button', down: true, button}, {type: 'mouse-button', down: false, button})
    await send(events)
    await waitUntil(() => rec.of('button').length >= 10, 3000, 'the button events')
    const b = rec.of('button')
    expect(b.map((e) => `${e.down ? '+' : '-'}${e.button.toString(16)}`)).toEqual(['+110', '-110', '+112', '-112', '+111', '-111', '+113', '-113', '+114', '-114'])
    expect(b.every((e) => e.x === 640 && e.y === 360)).toBe(true)
  })

  it('scroll: wheel axis events, 15 a notch, Wayland down-positive; whole notches as discrete steps', async () => {
    await send(SCROLLS) // 2 up, 1 up from two halves, 1 down, 1 right, 3 left
    await waitUntil(() => rec.of('axis').length >= 6, 3000, 'the axis events')
    expect(rec.of('axis').map((a) => [a.axis, a.value])).toEqual([[0, -30], [0, -7.5], [0, -7.5], [0, 15], [1, 15], [1, -45]])
    expect(rec.of('discrete').map((a) => [a.axis, a.steps])).toEqual([[0, -2], [0, -1], [0, 1], [1, 1], [1, -3]])
    expect(rec.of('source').every((s) => s.source === 0)).toBe(true) // WL_POINTER_AXIS_SOURCE_WHEEL
  })

  it('release-all lets go of every key and button held', async () => {
    await send([key(true, 0xa0), key(true, 0x44), key(true, 0x87), {type: 'mouse-button', down: true, button: 1}, {type: 'mouse-button', down: true, button: 3}])
    await waitUntil(() => rec.held().keys.length === 3 && rec.held().buttons.length === 2, 3000, 'the keys and buttons held')
    expect(rec.held().keys.slice(0, 2)).toEqual([KEY_LEFTSHIFT, KEY_D])
    expect(rec.held().buttons).toEqual([BTN.left, BTN.right])
    dev.releaseAll()
    expect(dev.drain(2000)).toBe(0)
    await waitUntil(() => rec.held().keys.length === 0 && rec.held().buttons.length === 0, 3000, 'everything released')
    expect(rec.of('modifiers').at(-1)).toMatchObject({depressed: 0})
  })

  it('counts what it applied and what it dropped', async () => {
    const before = dev.stats()
    await send(DROPPED.events)
    expect(droppedSince(before, dev.stats())).toEqual(DROPPED.expected)
  })

  describe('says why it cannot work', () => {
    let dir: string
    let silent: Server
    let weston: ChildProcess | undefined
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'lumen-wl-'))
      silent = createServer(() => {})
      await new Promise<void>((r) => silent.listen(join(dir, 'silent'), r))
    })
    afterAll(async () => {
      silent?.close()
      if (weston !== undefined) await stopChild(weston)
      rmSync(dir, {recursive: true, force: true})
    })
    const reason = (waylandSocket?: string): string => {
      const a = wlrootsBackend.available({uinputPath: '', waylandSocket})
      expect(a.ok).toBe(false)
      return a.ok ? '' : a.reason
    }

    it('no display, no socket, a file that is not a socket, a socket nobody answers on', () => {
      expect(reason(undefined)).toMatch(/^no Wayland display \(\$WAYLAND_DISPLAY is unset/)
      expect(reason(join(dir, 'wayland-9'))).toBe(`no Wayland socket at ${join(dir, 'wayland-9')} (is the compositor running?)`)
      writeFileSync(join(dir, 'plain'), '')
      expect(reason(join(dir, 'plain'))).toMatch(/^cannot connect to a Wayland compositor at .*plain \(Connection refused\): is it running/)
      expect(reason(join(dir, 'silent'))).toBe(`${join(dir, 'silent')} does not answer as a Wayland compositor (no reply within 1 s)`)
      expect(() => wlrootsBackend.open({uinputPath: '', waylandSocket: join(dir, 'wayland-9')})).toThrow(/^wlroots: cannot connect to a Wayland compositor at/)
    })

    it.skipIf(missing('weston') !== undefined)('a compositor without the protocols (weston)', async () => {
      const runtime = join(dir, 'weston')
      mkdirSync(runtime, {mode: 0o700})
      weston = spawn('weston', ['--backend=headless-backend.so', '--socket=wayland-5', '--idle-time=0', '--no-config'], {env: {...process.env, XDG_RUNTIME_DIR: runtime}, stdio: 'ignore'})
      const socket = join(runtime, 'wayland-5')
      await waitUntil(() => existsSync(socket), 10_000, 'weston\'s socket')
      expect(reason(socket)).toMatch(/^the compositor on wayland-5 offers no (wl_seat, )?zwlr_virtual_pointer_manager_v1 and zwp_virtual_keyboard_manager_v1 \(GNOME and KDE do not; use uinput there\)$/)
      expect(() => wlrootsBackend.open({uinputPath: '', waylandSocket: socket})).toThrow(/^wlroots: the compositor on .*wayland-5 offers no/)
    }, 15_000)
  })

  // last: it takes the compositor away
  it('a compositor that goes away: records are refused, nothing crashes, close still works', async () => {
    await stopChild(sway.child)
    const before = dev.stats()
    await waitUntil(() => {
      dev.submit(tap(0x41))
      dev.drain(500)
      return dev.stats().refused > before.refused
    }, 5000, 'a refused record')
    dev.close()
    expect(wlrootsBackend.available({uinputPath: '', waylandSocket: sway.socket}).ok).toBe(false)
  })
})
