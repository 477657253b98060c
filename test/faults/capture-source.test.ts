/**
 * The capture source dies mid-stream: `lumen serve --source x11` grabs an Xvfb display and the X
 * server is SIGKILLed while the test client watches. The stream ends with termination 0x0109
 * carrying 0x800E9403 (control-stream.md §4: the client reports it, ML_ERROR_FRAME_CONVERSION),
 * serve keeps serving (Xlib's exit-on-IO-error no longer takes the process down), and once an X
 * server is back on that display the next launch streams it.
 */
import type {ChildProcess} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, describe, expect, it} from 'vitest'

import {ControlType, TERMINATION_CONVERSION_FAILED} from '../../src/host/control-codec.js'
import {installed, waitUntil} from '../helpers/index.js'
import {connectClient, type ClientSession} from '../serve/helpers.js'
import {exited, startServeCli, startXvfb, type ServeCli} from '../serve/processes.js'

const missing = !installed('Xvfb')
/** the display Xvfb picked, set once it runs */
let DISPLAY = ''
const ANNOUNCE = {width: 640, height: 360, fps: 30, codec: 0 as const, encryptionEnabled: 5}

let xvfb: ChildProcess | undefined
let serve: ServeCli | undefined
const clients: ClientSession[] = []
const dir = mkdtempSync(join(tmpdir(), 'lumen-faults-x11-'))
afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined)
  if (serve !== undefined && serve.child.exitCode === null) await serve.stop()
  xvfb?.kill('SIGKILL')
  rmSync(dir, {recursive: true, force: true})
})

describe.skipIf(missing)(`the capture source dies${missing ? ' (skipped: Xvfb is not installed)' : ''}`, () => {
  it('ends the stream with a termination code, keeps serving, and streams again once the display is back', async () => {
    ;({proc: xvfb, display: DISPLAY} = await startXvfb('640x360'))
    serve = await startServeCli(['--source', 'x11', '--display', DISPLAY, '--codecs', 'h264', '--audio', 'off', '--config-dir', dir])
    expect(serve.stderr()).toContain('lumen serve: HTTP')

    const first = await connectClient('127.0.0.1', serve.base, {announce: ANNOUNCE, decode: false})
    clients.push(first)
    await waitUntil(() => first.video.frames.length > 10, 20_000, 'frames of the X display')

    const x = xvfb
    xvfb = undefined
    x.kill('SIGKILL')
    await exited(x, 5000)
    await waitUntil(() => first.control.received.some((m) => m.type === ControlType.termination), 20_000, 'the termination message')
    const termination = first.control.received.find((m) => m.type === ControlType.termination)!
    expect(termination.payload.readUInt32BE(0)).toBe(TERMINATION_CONVERSION_FAILED)
    expect(serve.child.exitCode, `serve exited: ${serve.stderr()}`).toBe(null)
    expect(serve.stderr()).toMatch(/the media pipeline failed: .*X11: the connection to the X server was lost/)
    await first.close()
    clients.splice(clients.indexOf(first), 1)

    // serve still answers, and streams the display once an X server is there again
    ;({proc: xvfb} = await startXvfb('640x360', {display: DISPLAY}))
    // the app still runs (only the stream ended): the client resumes it, as Moonlight does when currentgame is set
    const second = await connectClient('127.0.0.1', serve.base, {announce: ANNOUNCE, decode: false, resume: true, client: first.client})
    clients.push(second)
    await waitUntil(() => second.video.frames.length > 10, 20_000, 'frames after the display came back')
    expect(second.control.received.some((m) => m.type === ControlType.termination)).toBe(false)
    await second.close()
    clients.splice(clients.indexOf(second), 1)
    expect(await serve.stop()).toBe(0)
  }, 90_000)
})
