/**
 * The Wayland side of the wlroots input tests: fixtures/wlrecorder.c built once per run (with
 * xdg-shell from the system's wayland-protocols through wayland-scanner), a fullscreen window on
 * the compositor that prints every keyboard and pointer event it receives as a JSON line.
 */
import {type ChildProcess, execFileSync, spawn, spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {missing, waitUntil} from '../helpers/index.js'
import {onLines} from './shared.js'

const XDG_SHELL = '/usr/share/wayland-protocols/stable/xdg-shell/xdg-shell.xml'

/** Why the recorder cannot be built here, or undefined when it can. */
export function recorderMissing(): string | undefined {
  const gone = missing('cc', 'wayland-scanner', 'pkg-config')
  if (gone !== undefined) return `${gone} is not installed`
  if (!existsSync(XDG_SHELL)) return `${XDG_SHELL} is not installed (package wayland-protocols)`
  if (spawnSync('pkg-config', ['--exists', 'wayland-client', 'xkbcommon']).status !== 0) return 'libwayland-dev or libxkbcommon-dev is not installed (scripts/install.sh installs them)'
  return undefined
}

let built: string | undefined

function recorderBinary(): string {
  if (built !== undefined) return built
  const dir = mkdtempSync(join(tmpdir(), 'lumen-wlrec-'))
  execFileSync('wayland-scanner', ['client-header', XDG_SHELL, join(dir, 'xdg-shell-client-protocol.h')])
  execFileSync('wayland-scanner', ['private-code', XDG_SHELL, join(dir, 'xdg-shell-protocol.c')])
  const flags = execFileSync('pkg-config', ['--cflags', '--libs', 'wayland-client', 'xkbcommon'], {encoding: 'utf8'}).trim().split(/\s+/).filter((f) => f !== '')
  const out = join(dir, 'wlrecorder')
  execFileSync('cc', ['-O1', '-I', dir, '-o', out, join(import.meta.dirname, 'fixtures', 'wlrecorder.c'), join(dir, 'xdg-shell-protocol.c'), ...flags])
  built = out
  return out
}

export type WlEvent =
  | {ev: 'ready'; width: number; height: number}
  | {ev: 'keymap'}
  | {ev: 'key'; key: number; down: boolean; sym: number; utf8: string; shift: boolean; ctrl: boolean; alt: boolean}
  | {ev: 'modifiers'; depressed: number; latched: number; locked: number; group: number}
  | {ev: 'enter' | 'motion'; x: number; y: number}
  | {ev: 'leave' | 'frame'}
  | {ev: 'button'; button: number; down: boolean; x: number; y: number}
  | {ev: 'axis'; axis: number; value: number}
  | {ev: 'discrete'; axis: number; steps: number}
  | {ev: 'source'; source: number}

type Of<E extends WlEvent['ev']> = Extract<WlEvent, {ev: E}>

export class WlRecorder {
  readonly events: WlEvent[] = []
  size = {width: 0, height: 0}
  private ready = false
  private stderr = ''
  private constructor(private readonly child: ChildProcess) {
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()))
    onLines(child.stdout, (line) => {
      const e = JSON.parse(line) as WlEvent
      if (e.ev === 'ready') {
        this.ready = true
        this.size = {width: e.width, height: e.height}
      } else this.events.push(e)
    })
  }

  /** Starts the window on the compositor at `socket` and waits until it has keyboard focus (the
   * seat needs a keyboard for that: open the virtual one first). */
  static async start(socket: string): Promise<WlRecorder> {
    const r = new WlRecorder(spawn(recorderBinary(), [socket], {stdio: ['ignore', 'pipe', 'pipe']}))
    await waitUntil(() => r.ready || r.child.exitCode !== null, 10_000, 'the Wayland recorder window')
    if (!r.ready) throw new Error(`the Wayland recorder exited: ${r.stderr.trim()}`)
    return r
  }

  of<E extends WlEvent['ev']>(ev: E): Array<Of<E>> {
    return this.events.filter((e): e is Of<E> => e.ev === ev)
  }

  /** The keys and buttons still down, from the presses and releases seen. */
  held(): {keys: number[]; buttons: number[]} {
    const keys = new Set<number>()
    const buttons = new Set<number>()
    for (const e of this.events) {
      if (e.ev === 'key') e.down ? keys.add(e.key) : keys.delete(e.key)
      if (e.ev === 'button') e.down ? buttons.add(e.button) : buttons.delete(e.button)
    }
    return {keys: [...keys], buttons: [...buttons]}
  }

  /** Where the pointer is on the surface, from the last enter or motion. */
  pointer(): {x: number; y: number} | undefined {
    const last = this.events.findLast((e): e is Of<'enter' | 'motion'> => e.ev === 'enter' || e.ev === 'motion')
    return last === undefined ? undefined : {x: last.x, y: last.y}
  }

  clear(): void {
    this.events.length = 0
  }

  stop(): void {
    this.child.kill('SIGTERM')
  }
}
