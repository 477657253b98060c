/**
 * The input layer's one interface. A backend (./uinput.ts, ./xtest.ts, ./wlroots.ts) opens an
 * InputDevice for a stream; the control server hands it the session's decoded events
 * (../host/input.ts) through ./router.ts, which validates, bounds and maps them into records
 * (./records.ts, the layout of libs/include/lumen_input.h) before any reach a backend.
 */
import type {InputEvent} from '../host/input.js'

export type InputBackendName = 'uinput' | 'xtest' | 'wlroots'

/** What a device can do; a call site asks these, never the backend's name. */
export interface InputCapabilities {
  keyboard: boolean
  pointerRelative: boolean
  pointerAbsolute: boolean
  scroll: boolean
  hscroll: boolean
  text: boolean
  touch: boolean
  pen: boolean
  /** gamepads it can create at once (0: none) */
  gamepads: number
  rumble: boolean
  motion: boolean
}

/** A session's own keyboard and pointer (XTEST, wlroots): keys, text, both pointer modes, buttons
 * and both scrolls; no touch, pen or gamepads, which need virtual devices of their own. */
export const KEYBOARD_AND_POINTER: InputCapabilities = {
  keyboard: true,
  pointerRelative: true,
  pointerAbsolute: true,
  scroll: true,
  hscroll: true,
  text: true,
  touch: false,
  pen: false,
  gamepads: 0,
  rumble: false,
  motion: false,
}

/** Host → client messages a device asks for (control-stream.md: 0x010b, 0x5500, 0x5501, 0x5502). */
export type InputFeedback =
  | {type: 'rumble'; controller: number; lowFreq: number; highFreq: number}
  | {type: 'trigger-rumble'; controller: number; left: number; right: number}
  | {type: 'motion-enable'; controller: number; sensor: number; reportRateHz: number}
  | {type: 'led'; controller: number; r: number; g: number; b: number}

/** Why an event was dropped instead of applied (counted per reason). */
export type InputDropReason = 'out-of-range' | 'unmapped' | 'unsupported' | 'queue-full' | 'not-finite'

export interface InputStats {
  accepted: number
  applied: number
  refused: number
  dropped: Record<InputDropReason, number>
  batches: number
  feedback: number
}

export interface InputDevice {
  readonly backend: InputBackendName
  readonly capabilities: InputCapabilities
  /** Validates, maps and queues a batch of events (one control-service round); never blocks. */
  submit(events: readonly InputEvent[]): void
  /** Releases every key, button, touch contact and pad input held (stream end, client gone). */
  releaseAll(): void
  /** Feedback the device produced since the last call. */
  feedback(): InputFeedback[]
  stats(): InputStats
  close(): void
}

/** A backend's verdict on this machine: usable, or why not in a sentence a person can act on. */
export type InputAvailability = {ok: true; detail: string} | {ok: false; reason: string}

export interface InputBackend {
  readonly name: InputBackendName
  /** What it needs, for `serve --help`. */
  readonly needs: string
  available(settings: InputSettings): InputAvailability
  open(settings: InputSettings): InputDevice
}

/** Decided once by `serve` (flags with env fallbacks) and passed down. */
export interface InputSettings {
  /** uinput device node (serve --uinput-path) */
  uinputPath: string
  /** X display for XTEST ($DISPLAY) */
  display?: string
  /** Wayland display socket for wlroots ($WAYLAND_DISPLAY resolved against $XDG_RUNTIME_DIR) */
  waylandSocket?: string
}
