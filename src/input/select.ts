/**
 * Which input backend a stream gets (`serve --input`, env LUMEN_INPUT). auto: uinput when its
 * device node is writable, else wlroots when the Wayland compositor offers virtual pointer and
 * keyboard, else XTEST when the X display is live, else none — the stream is view-only, and one
 * line says why and what would change it.
 */
import type {InputBackend, InputBackendName, InputSettings} from './device.js'
import {uinputBackend} from './uinput.js'
import {wlrootsBackend} from './wlroots.js'
import {xtestBackend} from './xtest.js'

export const INPUT_CHOICES = ['auto', 'uinput', 'xtest', 'wlroots', 'none'] as const
export type InputChoice = (typeof INPUT_CHOICES)[number]

/** In the order auto tries them. */
export const INPUT_BACKENDS: readonly InputBackend[] = [uinputBackend, wlrootsBackend, xtestBackend]

export function backendNamed(name: InputBackendName): InputBackend {
  const b = INPUT_BACKENDS.find((x) => x.name === name)
  if (b === undefined) throw new Error(`no input backend '${name}'`)
  return b
}

export type InputSelection =
  | {ok: true; backend: InputBackend | undefined; line: string}
  /** an explicit choice that cannot work here */
  | {ok: false; reason: string}

const VIEW_ONLY_HINT = 'load the uinput module and add yourself to the input group, or run under X11 or a wlroots compositor'

export function selectInput(choice: InputChoice, settings: InputSettings): InputSelection {
  if (choice === 'none') return {ok: true, backend: undefined, line: 'input: none (--input none): the stream is view-only'}
  if (choice !== 'auto') {
    const b = backendNamed(choice)
    const a = b.available(settings)
    if (!a.ok) return {ok: false, reason: `--input ${choice}: ${a.reason} (it needs ${b.needs})`}
    return {ok: true, backend: b, line: `input: ${a.detail}`}
  }
  const why: string[] = []
  for (const b of INPUT_BACKENDS) {
    const a = b.available(settings)
    if (a.ok) return {ok: true, backend: b, line: `input: ${a.detail}`}
    why.push(`${b.name}: ${a.reason}`)
  }
  return {ok: true, backend: undefined, line: `input: none, the stream is view-only (${why.join('; ')}): ${VIEW_ONLY_HINT}`}
}

/** For `serve --help`: what each backend needs. */
export function inputHelp(): string {
  return INPUT_BACKENDS.map((b) => `  ${b.name.padEnd(8)} ${b.needs}`).join('\n')
}
