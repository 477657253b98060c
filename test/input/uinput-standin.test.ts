/**
 * The uinput stand-in is only worth the kernel answers it gives: a small C program
 * (uinput-standin-check.c) runs, under the preloaded stand-in, the sequences the kernel's
 * drivers/input/misc/uinput.c refuses, and each must fail with the kernel's errno — and the good
 * sequence must pass, with its device and event in the log.
 */
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {constants, tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {root} from '../helpers/index.js'

const {EINVAL, ERANGE, E2BIG, EBUSY, EAGAIN} = constants.errno
let dir: string

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lumen-standin-'))
  execFileSync('cc', ['-shared', '-fPIC', '-O1', '-Wall', '-Werror', '-o', join(dir, 'standin.so'), join(root, 'test', 'input', 'uinput-standin.c'), '-ldl', '-lpthread'])
  execFileSync('cc', ['-O1', '-Wall', '-Werror', '-o', join(dir, 'check'), join(root, 'test', 'input', 'uinput-standin-check.c')])
})
afterAll(() => rmSync(dir, {recursive: true, force: true}))

describe('uinput stand-in', () => {
  it('answers each request as the kernel does', () => {
    const node = join(dir, 'node')
    const log = join(dir, 'log')
    const out = execFileSync(join(dir, 'check'), [node], {
      env: {...process.env, LD_PRELOAD: [process.env.LD_PRELOAD, join(dir, 'standin.so')].filter((x) => x).join(':'), UINPUT_STANDIN_PATH: node, UINPUT_STANDIN_LOG: log},
      encoding: 'utf8',
    })
    const got = Object.fromEntries(out.trim().split('\n').map((l) => l.split(' ')).map(([k, v]) => [k, Number(v)]))
    expect(got).toEqual({
      'create-before-setup': EINVAL,
      'setup-empty-name': EINVAL,
      'evbit-past-max': EINVAL,
      'keybit-past-max': EINVAL,
      'abs-past-max': ERANGE,
      'abs-min-above-max': EINVAL,
      'abs-struct-too-big': E2BIG,
      'setup-wrong-size': EINVAL, // the kernel matches UI_DEV_SETUP with its size: another size is an unknown request
      'unknown-request': EINVAL,
      'write-before-create': EINVAL,
      'get-version': 0,
      version: 5, // UINPUT_VERSION
      'ff-without-effects': EINVAL,
      'too-many-slots': EINVAL,
      evbit: 0,
      keybit: 0,
      'abs-setup': 0,
      setup: 0,
      create: 0,
      'create-twice': EINVAL,
      'keybit-after-create': EINVAL,
      'abs-after-create': EBUSY,
      'setup-after-create': EINVAL,
      'write-event': 0,
      'write-short': EINVAL,
      'begin-upload-unknown-request': EINVAL,
      'blocking-read-empty': EAGAIN, // the kernel would block; the stand-in says so in the log instead
      destroy: 0,
    })
    const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    const created = lines.filter((l) => l.op === 'create')
    expect(created.map((c) => c.name)).toEqual(['good'])
    expect(created[0].ev).toEqual([0, 1]) // EV_SYN added by the input core, EV_KEY; UI_ABS_SETUP sets the axis bit, not EV_ABS
    expect(created[0].key).toEqual([30]) // KEY_A
    expect(lines.filter((l) => l.op === 'ev').map((e) => [e.type, e.code, e.value, e.ok])).toEqual([
      [1, 30, 1, true],
      [0, 0, 0, true],
    ])
    expect(lines.some((l) => l.op === 'refused' && String(l.why).includes('kernel would block'))).toBe(true)
  })
})
