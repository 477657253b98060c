/**
 * `serve --input`: auto takes the first backend that works here (uinput, wlroots, XTEST) or none
 * with one line saying why; an explicit backend that cannot work is a sentence, not a stream.
 */
import type {ChildProcess} from 'node:child_process'
import {existsSync} from 'node:fs'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {selectInput} from '../../src/input/select.js'
import {installed} from '../helpers/index.js'
import {startXvfb} from '../serve/processes.js'

const NO_NODE = '/nonexistent/uinput'
/** a display number with no server on this box */
const DEAD = `:${Array.from({length: 100}, (_, i) => 1900 + i).find((n) => !existsSync(`/tmp/.X11-unix/X${n}`))}`

describe('input backend selection', () => {
  it('auto with nothing usable: none, view-only, and what would change it', () => {
    const s = selectInput('auto', {uinputPath: NO_NODE, display: undefined})
    expect(s.ok).toBe(true)
    if (!s.ok) return
    expect(s.backend).toBeUndefined()
    expect(s.line).toMatch(/view-only/)
    expect(s.line).toContain(`no ${NO_NODE}: load the uinput module`)
    expect(s.line).toContain('xtest: no X display')
    expect(s.line).toMatch(/add yourself to the input group, or run under X11/)
  })

  it('an explicit backend that cannot work here says why and what it needs', () => {
    const x = selectInput('xtest', {uinputPath: NO_NODE, display: DEAD})
    expect(x).toMatchObject({ok: false})
    if (!x.ok) expect(x.reason).toMatch(new RegExp(`--input xtest: X display ${DEAD} is not running .*it needs an X11 session`))
    const u = selectInput('uinput', {uinputPath: NO_NODE})
    if (!u.ok) expect(u.reason).toContain(`no ${NO_NODE}`)
    else throw new Error('uinput selected without a node')
  })

  it('none is view-only by choice', () => {
    expect(selectInput('none', {uinputPath: '/dev/uinput', display: ':0'})).toMatchObject({ok: true, backend: undefined})
  })
})

describe.skipIf(!installed('Xvfb'))('auto on an X11 session without /dev/uinput', () => {
  /** the display Xvfb picked, set once it runs */
  let DISPLAY = ''
  let xvfb: ChildProcess
  beforeAll(async () => {
    ;({proc: xvfb, display: DISPLAY} = await startXvfb('320x200'))
  })
  afterAll(() => {
    xvfb?.kill('SIGTERM')
  })
  it('picks XTEST', () => {
    const s = selectInput('auto', {uinputPath: NO_NODE, display: DISPLAY})
    expect(s).toMatchObject({ok: true, line: `input: XTEST on X display ${DISPLAY}`})
    if (s.ok) expect(s.backend?.name).toBe('xtest')
  })
})
