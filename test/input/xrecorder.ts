/**
 * The X side of the XTEST tests: fixtures/xrecorder.c built once per run, as an application on
 * the test display that records every key, button and motion event it receives, and the same
 * program's `state` mode (XQueryKeymap, XQueryPointer) for what is still held.
 */
import {type ChildProcess, execFileSync, spawn} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {waitUntil} from '../helpers/index.js'
import {onLines} from './shared.js'

let built: string | undefined

export function recorderBinary(): string {
  if (built !== undefined) return built
  const out = join(mkdtempSync(join(tmpdir(), 'lumen-xrec-')), 'xrecorder')
  execFileSync('cc', ['-O1', '-o', out, join(import.meta.dirname, 'fixtures', 'xrecorder.c'), '-lX11'])
  built = out
  return out
}

export type XEvent =
  | {type: 'key'; down: boolean; keycode: number; keysym: number; text: string; state: number}
  | {type: 'button'; down: boolean; button: number; x: number; y: number}
  | {type: 'motion'; x: number; y: number}

function parse(line: string): XEvent | undefined {
  const f = line.trim().split(' ')
  if (f[0] === 'key')
    return {type: 'key', down: f[1] === 'press', keycode: Number(f[2]), keysym: parseInt(f[3], 16), text: f[4] === '-' ? '' : Buffer.from(f[4], 'hex').toString('latin1'), state: parseInt(f[5], 16)}
  if (f[0] === 'button') return {type: 'button', down: f[1] === 'press', button: Number(f[2]), x: Number(f[3]), y: Number(f[4])}
  if (f[0] === 'motion') return {type: 'motion', x: Number(f[1]), y: Number(f[2])}
  return undefined
}

export class XRecorder {
  readonly events: XEvent[] = []
  private ready = false
  private constructor(private readonly child: ChildProcess) {
    onLines(child.stdout, (line) => {
      if (line === 'ready') this.ready = true
      const e = parse(line)
      if (e !== undefined) this.events.push(e)
    })
  }

  static async start(display: string): Promise<XRecorder> {
    const r = new XRecorder(spawn(recorderBinary(), ['record', display], {stdio: ['ignore', 'pipe', 'inherit']}))
    await waitUntil(() => r.ready, 5000, 'the X recorder window')
    return r
  }

  keys(): Array<Extract<XEvent, {type: 'key'}>> {
    return this.events.filter((e): e is Extract<XEvent, {type: 'key'}> => e.type === 'key')
  }

  buttons(): Array<Extract<XEvent, {type: 'button'}>> {
    return this.events.filter((e): e is Extract<XEvent, {type: 'button'}> => e.type === 'button')
  }

  clear(): void {
    this.events.length = 0
  }

  stop(): void {
    this.child.kill('SIGTERM')
  }
}

/** What the X server holds now: keycodes down, the pointer position and its button mask. */
export function xState(display: string): {keys: number[]; x: number; y: number; mask: number} {
  const out = execFileSync(recorderBinary(), ['state', display]).toString()
  const keys = /^keys(.*)$/m.exec(out)?.[1].trim()
  const p = /^pointer (-?\d+) (-?\d+) ([0-9a-f]+)$/m.exec(out)
  if (p === null) throw new Error(`xrecorder state: ${out}`)
  return {keys: keys === undefined || keys === '' ? [] : keys.split(' ').map(Number), x: Number(p[1]), y: Number(p[2]), mask: parseInt(p[3], 16)}
}
