/**
 * `lumen serve --input uinput` end to end at the kernel's ABI: the built CLI runs with the uinput
 * stand-in preloaded (uinput-standin.c; no kernel here has uinput), on a device node made with
 * mknod so the host's availability check sees a character device. The test client sends NV input
 * packets on the encrypted control stream; the stand-in's log shows the devices and events; a
 * game's rumble (injected through the stand-in) reaches the client as 0x010b messages; and when
 * the client vanishes with keys, a button and a pad button held, every one is released.
 */
import {execFileSync, spawnSync} from 'node:child_process'
import {appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {selectInput} from '../../src/input/select.js'
import {Channel} from '../client/control.js'
import * as pkt from '../client/input.js'
import {installed, root, waitUntil} from '../helpers/index.js'
import {connectClient, type ClientSession} from '../serve/helpers.js'
import {startServeCli, type ServeCli} from '../serve/processes.js'

/** The stand-in after whatever is preloaded already (scripts/asan.sh preloads libasan, which must come first). */
const preload = (so: string): string => [process.env.LD_PRELOAD, so].filter((x) => x).join(':')

const RUMBLE = 0x010b // control-stream.md §4
const GAMEPAD_CHANNEL = 0x10 // §1.4: 0x10 + controller

let dir = ''
/** The stand-in needs a path whose stat says "character device": uinput's own numbers (10, 223). */
function makeNode(): string | undefined {
  if (!installed('cc', 'mknod')) return 'cc or mknod missing'
  dir = mkdtempSync(join(tmpdir(), 'lumen-serve-uinput-'))
  const r = spawnSync('mknod', [join(dir, 'uinput'), 'c', '10', '223'], {encoding: 'utf8'})
  return r.status === 0 ? undefined : `mknod refused (${r.stderr.trim()}): creating a device node needs root`
}
const skip = makeNode()

type Line = Record<string, any>

describe.skipIf(skip !== undefined)(`serve --input uinput${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let serve: ServeCli
  let client: ClientSession | undefined
  const node = join(dir, 'uinput')
  const log = join(dir, 'log.jsonl')
  const control = join(dir, 'control')
  const lines = (): Line[] => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => l).map((l) => JSON.parse(l) as Line) : [])
  const device = (name: string): number | undefined => lines().findLast((l) => l.op === 'create' && l.name === name)?.dev

  beforeAll(async () => {
    const so = join(dir, 'uinput-standin.so')
    execFileSync('cc', ['-shared', '-fPIC', '-O1', '-o', so, join(root, 'test', 'input', 'uinput-standin.c'), '-ldl', '-lpthread'])
    writeFileSync(control, '')
    serve = await startServeCli(['--source', 'synthetic', '--audio', 'tone', '--input', 'uinput', '--uinput-path', node, '--config-dir', join(dir, 'config')], {
      ...process.env,
      LD_PRELOAD: preload(so),
      UINPUT_STANDIN_PATH: node,
      UINPUT_STANDIN_LOG: log,
      UINPUT_STANDIN_CONTROL: control,
    })
  }, 30_000)
  afterAll(async () => {
    await client?.close()
    await serve?.stop()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it('--input auto picks uinput when the node is a writable character device', () => {
    const picked = selectInput('auto', {uinputPath: node})
    expect(picked).toMatchObject({ok: true, line: `input: uinput on ${node}`})
    expect(picked.ok && picked.backend?.name).toBe('uinput')
    const missing = selectInput('uinput', {uinputPath: join(dir, 'absent')})
    expect(missing).toEqual({ok: false, reason: expect.stringContaining(`no ${join(dir, 'absent')}: load the uinput module (modprobe uinput)`)})
  })

  it('input reaches the devices, rumble reaches the client, a vanished client leaves nothing held', async () => {
    expect(serve.stderr()).toContain(`input: uinput on ${node}`)
    client = await connectClient('127.0.0.1', serve.base, {announce: {width: 1280, height: 720, fps: 30, codec: 0, encryptionEnabled: 5}, decode: false})
    const c = client.control
    await waitUntil(() => client!.video.frames.length > 2, 20_000, 'the stream running')

    c.sendInput(pkt.key(true, 0x41, 0), Channel.keyboard)
    c.sendInput(pkt.key(false, 0x41, 0), Channel.keyboard)
    c.sendInput(pkt.mouseMoveRelative(7, -2), Channel.mouse)
    c.sendInput(pkt.gamepad(0, 0x1000, 0, 0, 0, 0, 0, 0), GAMEPAD_CHANNEL)
    await waitUntil(() => device('Lumen gamepad 0') !== undefined && device('Lumen keyboard') !== undefined && device('Lumen mouse (relative)') !== undefined, 10_000, 'the devices')
    const kbd = device('Lumen keyboard')
    const evs = () => lines().filter((l) => l.op === 'ev')
    await waitUntil(() => evs().filter((e) => e.dev === kbd && e.type === 1).length >= 2, 10_000, 'the key events')
    expect(evs().filter((e) => e.dev === kbd && e.type === 1).map((e) => [e.code, e.value])).toEqual([[30, 1], [30, 0]]) // KEY_A
    const rel = device('Lumen mouse (relative)')
    expect(evs().filter((e) => e.dev === rel && e.type === 2).map((e) => [e.code, e.value])).toEqual([[0, 7], [1, -2]]) // REL_X, REL_Y

    // a game uploads and plays a rumble effect on pad 0, then stops it
    appendFileSync(control, 'upload |Lumen gamepad 0| 0 40000 20000 0\nplay |Lumen gamepad 0| 0 1\n')
    await waitUntil(() => c.received.filter((m) => m.type === RUMBLE).length >= 1, 10_000, 'the rumble message')
    appendFileSync(control, 'stop |Lumen gamepad 0| 0\n')
    await waitUntil(() => c.received.filter((m) => m.type === RUMBLE).length >= 2, 10_000, 'the rumble stop')
    const rumbles = c.received.filter((m) => m.type === RUMBLE).map((m) => [m.payload.length, m.payload.readUInt16LE(4), m.payload.readUInt16LE(6), m.payload.readUInt16LE(8)])
    expect(rumbles).toEqual([
      [10, 0, 40000, 20000],
      [10, 0, 0, 0],
    ])

    // hold Shift, D, the left button and the pad's B, then vanish without a disconnect
    c.sendInput(pkt.key(true, 0xa0, 0x01), Channel.keyboard)
    c.sendInput(pkt.key(true, 0x44, 0x01), Channel.keyboard)
    c.sendInput(pkt.mouseButton(true, 1), Channel.mouse)
    c.sendInput(pkt.gamepad(0, 0x2000, 255, 0, 20000, 0, 0, 0), GAMEPAD_CHANNEL)
    await waitUntil(() => evs().filter((e) => e.type === 1 && e.value === 1).length >= 5, 10_000, 'the keys and buttons held')
    await client.close(false)
    client = undefined
    await waitUntil(() => serve.stderr().includes('input (uinput) accepted'), 30_000, 'the stream end after the client vanished')
    const held = new Map<string, number>()
    for (const e of evs()) if (e.type === 1) held.set(`${e.dev}:${e.code}`, e.value)
    expect([...held].filter(([, v]) => v !== 0)).toEqual([])
    expect(lines().filter((l) => l.op === 'refused')).toEqual([])
    expect(evs().filter((e) => !e.ok || !e.inrange)).toEqual([])
    expect(serve.stderr()).toMatch(/input \(uinput\) accepted \d+, applied \d+, refused 0, dropped 0/)
  }, 90_000)
})
