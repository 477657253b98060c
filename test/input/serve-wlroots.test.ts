/**
 * `lumen serve --input wlroots` end to end: the built CLI streams to the test client, the client
 * sends NV input packets on the encrypted control stream, and a Wayland application on a headless
 * sway (fixtures/wlrecorder.c) records what the compositor delivers. Then the client vanishes with
 * keys and a button held: the host releases all of them when the control stream times out.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {Channel} from '../client/control.js'
import * as pkt from '../client/input.js'
import {waitUntil} from '../helpers/index.js'
import {type HeadlessSway, startHeadlessSway, swayMissing} from '../helpers/sway.js'
import {connectClient, type ClientSession} from '../serve/helpers.js'
import {startServeCli, type ServeCli} from '../serve/processes.js'
import {recorderMissing, WlRecorder} from './wlrecorder.js'
import {SERVE_KEYS, sendButtonsAndScrolls} from './shared.js'

const why = swayMissing() ?? recorderMissing()

describe.skipIf(why !== undefined)(`serve --input wlroots${why !== undefined ? ` (skipped: ${why})` : ''}`, () => {
  let sway: HeadlessSway
  let rec: WlRecorder | undefined
  let serve: ServeCli
  let client: ClientSession | undefined
  let dir: string

  beforeAll(async () => {
    sway = await startHeadlessSway({width: 640, height: 360})
    dir = mkdtempSync(join(tmpdir(), 'lumen-input-'))
    const env = {...process.env, WAYLAND_DISPLAY: sway.socket}
    serve = await startServeCli(['--source', 'synthetic', '--audio', 'tone', '--codecs', 'h264', '--input', 'wlroots', '--config-dir', join(dir, 'config')], env)
  }, 30_000)
  afterAll(async () => {
    await client?.close()
    await serve?.stop()
    rec?.stop()
    await sway?.stop()
    rmSync(dir, {recursive: true, force: true})
  })

  it('what the client sends is what a Wayland application receives; a vanished client leaves nothing held', async () => {
    // serve's start line is written first, the input line right after it
    await waitUntil(() => serve.stderr().includes('input: '), 5000, 'the input line')
    expect(serve.stderr()).toContain('input: wlroots virtual pointer and keyboard on wayland-1')
    client = await connectClient('127.0.0.1', serve.base, {announce: {width: 1280, height: 720, fps: 30, codec: 0, encryptionEnabled: 5}, decode: false})
    const c = client.control
    await waitUntil(() => client!.video.frames.length > 2, 20_000, 'the stream running')
    // the stream's virtual keyboard exists now: the window gets keyboard focus
    const r = (rec = await WlRecorder.start(sway.socket))

    // keys: a letter, a shifted letter, Ctrl+letter, F-keys (VK codes, Moonlight's 0x80 high byte)
    for (const [down, vk, mods] of SERVE_KEYS) c.sendInput(pkt.key(down, vk, mods), Channel.keyboard)
    await waitUntil(() => r.of('key').length >= SERVE_KEYS.length, 10_000, 'the key events')
    const presses = r.of('key').filter((k) => k.down)
    // XKB_KEY_a, Shift_L, B, Control_R, c, F1, F12; KEY_A, KEY_LEFTSHIFT, KEY_B, KEY_RIGHTCTRL, KEY_C, KEY_F1, KEY_F12
    expect(presses.map((k) => k.sym.toString(16))).toEqual(['61', 'ffe1', '42', 'ffe4', '63', 'ffbe', 'ffc9'])
    expect(presses.map((k) => k.key)).toEqual([30, 42, 48, 97, 46, 59, 88])
    expect(presses[2]).toMatchObject({utf8: 'B', shift: true})
    expect(presses[4]).toMatchObject({ctrl: true})

    r.clear()
    for (const ch of ['h', 'é', '€']) c.sendInput(pkt.text(ch), Channel.utf8)
    await waitUntil(() => r.of('key').filter((k) => k.down).length >= 3, 10_000, 'the text events')
    expect(r.of('key').filter((k) => k.down).map((k) => k.utf8)).toEqual(['h', 'é', '€'])

    // absolute on the client's 1280x720 surface → the 640x360 output; then relative from there
    r.clear()
    c.sendInput(pkt.mouseMoveAbsolute(1000, 500, 1280, 720), Channel.mouse)
    await waitUntil(() => r.pointer()?.x === 500, 10_000, 'the pointer at x 500')
    expect(r.pointer()).toEqual({x: 500, y: 250})
    c.sendInput(pkt.mouseMoveRelative(-30, 12), Channel.mouse)
    await waitUntil(() => r.pointer()?.x === 470, 10_000, 'the relative move')
    expect(r.pointer()).toEqual({x: 470, y: 262})

    // buttons, then both scrolls (Moonlight's positive = up / right; Wayland's vertical is down-positive)
    r.clear()
    sendButtonsAndScrolls(c)
    await waitUntil(() => r.of('button').length >= 10 && r.of('axis').length >= 4, 10_000, 'the button and scroll events')
    // BTN_LEFT, BTN_RIGHT, BTN_MIDDLE, BTN_SIDE, BTN_EXTRA
    expect(r.of('button').filter((b) => b.down).map((b) => b.button.toString(16))).toEqual(['110', '111', '112', '113', '114'])
    expect(r.of('button').filter((b) => b.x !== 470 || b.y !== 262)).toEqual([])
    expect(r.of('axis').map((a) => [a.axis, a.value])).toEqual([[0, -15], [0, 30], [1, 15], [1, -15]])
    expect(r.of('discrete').map((a) => [a.axis, a.steps])).toEqual([[0, -1], [0, 2], [1, 1], [1, -1]])

    // hold Shift, D and the left button, then vanish without a disconnect
    c.sendInput(pkt.key(true, 0xa0, 0x01), Channel.keyboard)
    c.sendInput(pkt.key(true, 0x44, 0x01), Channel.keyboard)
    c.sendInput(pkt.mouseButton(true, 1), Channel.mouse)
    await waitUntil(() => r.held().keys.length === 2 && r.held().buttons.length === 1, 10_000, 'the keys and button held')
    await client.close(false)
    client = undefined
    await waitUntil(() => serve.stderr().includes('input (wlroots) accepted'), 30_000, 'the stream end after the client vanished')
    await waitUntil(() => r.held().keys.length === 0 && r.held().buttons.length === 0, 5000, 'everything released')
    expect(serve.stderr()).toMatch(/input \(wlroots\) accepted \d+, applied \d+, refused 0, dropped 0/)
  }, 90_000)
})
