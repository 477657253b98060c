/**
 * `lumen serve --input xtest` end to end: the built CLI streams to the test client, the client
 * sends NV input packets on the encrypted control stream, and an application on the Xvfb display
 * (fixtures/xrecorder.c) records what the X server delivers. Then the client vanishes with keys
 * and a button held: the host releases all of them when the control stream times out.
 */
import type {ChildProcess} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {Channel} from '../client/control.js'
import * as pkt from '../client/input.js'
import {installed, waitUntil} from '../helpers/index.js'
import {connectClient, type ClientSession} from '../serve/helpers.js'
import {startServeCli, startXvfb, type ServeCli} from '../serve/processes.js'
import {SERVE_KEYS, sendButtonsAndScrolls} from './shared.js'
import {XRecorder, xState} from './xrecorder.js'

const missing = !installed('Xvfb', 'cc')
/** the display Xvfb picked, set once it runs */
let DISPLAY = ''

describe.skipIf(missing)(`serve --input xtest${missing ? ' (skipped: Xvfb or cc missing)' : ''}`, () => {
  let xvfb: ChildProcess
  let rec: XRecorder
  let serve: ServeCli
  let client: ClientSession | undefined
  let dir: string

  beforeAll(async () => {
    ;({proc: xvfb, display: DISPLAY} = await startXvfb('640x360'))
    rec = await XRecorder.start(DISPLAY)
    dir = mkdtempSync(join(tmpdir(), 'lumen-input-'))
    serve = await startServeCli(['--source', 'synthetic', '--audio', 'tone', '--codecs', 'h264', '--input', 'xtest', '--display', DISPLAY, '--config-dir', join(dir, 'config')])
  }, 30_000)
  afterAll(async () => {
    await client?.close()
    await serve?.stop()
    rec?.stop()
    xvfb?.kill('SIGTERM')
    rmSync(dir, {recursive: true, force: true})
  })

  it('what the client sends is what an X application receives; a vanished client leaves nothing held', async () => {
    // serve's start line is written first, the input line right after it
    await waitUntil(() => serve.stderr().includes('input: '), 5000, 'the input line')
    expect(serve.stderr()).toContain(`input: XTEST on X display ${DISPLAY}`)
    client = await connectClient('127.0.0.1', serve.base, {announce: {width: 1280, height: 720, fps: 30, codec: 0, encryptionEnabled: 5}, decode: false})
    const c = client.control
    await waitUntil(() => client!.video.frames.length > 2, 20_000, 'the stream running')

    // keys: a letter, a shifted letter, Ctrl+letter, F-keys (VK codes, Moonlight's 0x80 high byte)
    for (const [down, vk, mods] of SERVE_KEYS) c.sendInput(pkt.key(down, vk, mods), Channel.keyboard)
    await waitUntil(() => rec.keys().length >= SERVE_KEYS.length, 10_000, 'the key events')
    const presses = rec.keys().filter((k) => k.down)
    // XK_a, XK_Shift_L, XK_B, XK_Control_R, XK_c, XK_F1, XK_F12 (keysymdef.h)
    expect(presses.map((k) => k.keysym.toString(16))).toEqual(['61', 'ffe1', '42', 'ffe4', '63', 'ffbe', 'ffc9'])
    expect(presses[2].text).toBe('B')
    expect(presses[4].state & 0x4).toBe(0x4)

    rec.clear()
    for (const ch of ['h', 'é', '€']) c.sendInput(pkt.text(ch), Channel.utf8)
    await waitUntil(() => rec.keys().filter((k) => k.down).length >= 3, 10_000, 'the text events')
    expect(rec.keys().filter((k) => k.down).map((k) => k.keysym.toString(16))).toEqual(['68', 'e9', '10020ac'])

    // absolute on the client's 1280x720 surface → the 640x360 screen; then relative from there
    rec.clear()
    c.sendInput(pkt.mouseMoveAbsolute(1000, 500, 1280, 720), Channel.mouse)
    await waitUntil(() => xState(DISPLAY).x === 500, 10_000, 'the pointer at x 500')
    expect(xState(DISPLAY)).toMatchObject({x: 500, y: 250})
    c.sendInput(pkt.mouseMoveRelative(-30, 12), Channel.mouse)
    await waitUntil(() => xState(DISPLAY).x === 470, 10_000, 'the relative move')
    expect(xState(DISPLAY)).toMatchObject({x: 470, y: 262})
    await waitUntil(() => rec.events.some((e) => e.type === 'motion' && e.x === 470), 10_000, 'the recorder seeing the move')
    expect(rec.events.filter((e) => e.type === 'motion').at(-1)).toEqual({type: 'motion', x: 470, y: 262})

    // buttons, then both scrolls (positive = up / right)
    rec.clear()
    sendButtonsAndScrolls(c)
    await waitUntil(() => rec.buttons().filter((b) => b.down).length >= 10, 10_000, 'the button and scroll events')
    expect(rec.buttons().filter((b) => b.down).map((b) => b.button)).toEqual([1, 3, 2, 8, 9, 4, 5, 5, 7, 6])
    expect(rec.buttons().filter((b) => b.x !== 470 || b.y !== 262)).toEqual([])

    // hold Shift, D and the left button, then vanish without a disconnect
    c.sendInput(pkt.key(true, 0xa0, 0x01), Channel.keyboard)
    c.sendInput(pkt.key(true, 0x44, 0x01), Channel.keyboard)
    c.sendInput(pkt.mouseButton(true, 1), Channel.mouse)
    await waitUntil(() => xState(DISPLAY).keys.length === 2 && (xState(DISPLAY).mask & 0x100) !== 0, 10_000, 'the keys and button held')
    await client.close(false)
    client = undefined
    await waitUntil(() => serve.stderr().includes('input (xtest) accepted'), 30_000, 'the stream end after the client vanished')
    const after = xState(DISPLAY)
    expect(after.keys).toEqual([])
    expect(after.mask & 0x1f00).toBe(0)
    expect(serve.stderr()).toMatch(/input \(xtest\) accepted \d+, applied \d+, refused 0, dropped 0/)
  }, 90_000)
})
