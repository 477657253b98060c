/**
 * `lumen serve --input uinput` at the kernel ABI: the built CLI runs with the uinput stand-in
 * preloaded (test/input/uinput-standin.c; no machine here has /dev/uinput), the test client
 * announces a gamepad on the control stream, a "game" uploads and plays a rumble effect on the
 * created pad, and the client receives it as control message 0x010b (control-stream.md §4);
 * playing the same effect again sends nothing new, stopping it sends 0/0.
 */
import {execFileSync} from 'node:child_process'
import {appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {Channel} from '../client/control.js'
import * as pkt from '../client/input.js'
import {installed, root, sleep, waitUntil} from '../helpers/index.js'
import {connectClient, type ClientSession} from '../serve/helpers.js'
import {startServeCli, type ServeCli} from '../serve/processes.js'

const missing = !installed('cc')
// a writable character device serve itself never opens: the stand-in answers it as uinput
const NODE = '/dev/full'

describe.skipIf(missing)(`serve --input uinput: rumble to the client${missing ? ' (skipped: cc missing)' : ''}`, () => {
  let dir: string
  let serve: ServeCli
  let client: ClientSession | undefined
  let control: string
  let log: string

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lumen-rumble-'))
    const standin = join(dir, 'uinput-standin.so')
    execFileSync('cc', ['-shared', '-fPIC', '-O1', '-o', standin, join(root, 'test', 'input', 'uinput-standin.c'), '-ldl', '-lpthread'])
    control = join(dir, 'control')
    log = join(dir, 'log.jsonl')
    writeFileSync(control, '')
    const env = {...process.env, LD_PRELOAD: standin, UINPUT_STANDIN_PATH: NODE, UINPUT_STANDIN_LOG: log, UINPUT_STANDIN_CONTROL: control}
    for (let attempt = 0; attempt < 3; attempt++) {
      serve = await startServeCli(['--source', 'synthetic', '--audio', 'tone', '--codecs', 'h264', '--input', 'uinput', '--uinput-path', NODE, '--config-dir', join(dir, 'config')], env)
      if (!serve.stderr().includes('EADDRINUSE')) break
      await serve.stop()
    }
  }, 60_000)
  afterAll(async () => {
    await client?.close()
    await serve?.stop()
    rmSync(dir, {recursive: true, force: true})
  })

  it('a game\'s rumble on the created pad arrives as 0x010b, repeats once, stop as 0/0', async () => {
    expect(serve.stderr()).toContain(`input: uinput on ${NODE}`)
    client = await connectClient('127.0.0.1', serve.base, {announce: {width: 640, height: 360, fps: 30, codec: 0, encryptionEnabled: 5}, decode: false})
    const c = client.control
    await waitUntil(() => client!.video.frames.length > 2, 20_000, 'the stream running')
    // an Xbox pad with rumble (capability 0x02) as controller 1
    c.sendInput(pkt.gamepadArrival(1, 1, 0x02, 0xf7ff), Channel.generic)
    const name = '|Lumen gamepad 1|'
    await waitUntil(() => readFileSync(log, 'utf8').includes('"Lumen gamepad 1"'), 10_000, 'the pad created')
    appendFileSync(control, `upload ${name} 0 40000 20000 0\nplay ${name} 0 1\n`)
    const rumbles = (): Buffer[] => c.received.filter((m) => m.type === 0x010b).map((m) => m.payload)
    await waitUntil(() => rumbles().length >= 1, 10_000, 'the rumble message')
    // LE32 unused, LE16 controller, LE16 low-frequency motor, LE16 high-frequency motor
    expect(rumbles()[0].length).toBe(10)
    expect([rumbles()[0].readUInt16LE(4), rumbles()[0].readUInt16LE(6), rumbles()[0].readUInt16LE(8)]).toEqual([1, 40000, 20000])
    appendFileSync(control, `play ${name} 0 1\nstop ${name} 0\n`)
    await waitUntil(() => rumbles().length >= 2, 10_000, 'the stop message')
    await sleep(300)
    expect(rumbles().map((p) => [p.readUInt16LE(4), p.readUInt16LE(6), p.readUInt16LE(8)])).toEqual([
      [1, 40000, 20000],
      [1, 0, 0],
    ])
  }, 90_000)
})
