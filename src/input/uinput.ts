/**
 * The uinput backend: the stream's keyboard, two mice (relative, absolute), touchscreen, pen and
 * up to 16 gamepads as kernel input devices (libs/src/input_uinput.c), so the desktop and games
 * see hardware, and games' force feedback comes back as rumble for the client (0x010b).
 */
import {accessSync, constants, statSync} from 'node:fs'

import type {InputAvailability, InputBackend, InputCapabilities, InputDevice, InputSettings} from './device.js'
import {InputOpenError} from './errors.js'
import {openNativeDevice} from './native-device.js'

export const UINPUT_CAPABILITIES: InputCapabilities = {
  keyboard: true,
  pointerRelative: true,
  pointerAbsolute: true,
  scroll: true,
  hscroll: true,
  // a key code has no character of its own: text needs the session's keymap (XTEST, wlroots)
  text: false,
  touch: true,
  pen: true,
  gamepads: 16,
  rumble: true,
  motion: false,
}

/** What a person does about a missing or locked node, in one sentence each. */
export function uinputUnavailable(path: string): string | undefined {
  let isChar = false
  try {
    isChar = statSync(path).isCharacterDevice()
  } catch {
    return `no ${path}: load the uinput module (modprobe uinput)`
  }
  try {
    accessSync(path, constants.R_OK | constants.W_OK)
  } catch {
    return `${path} is not writable: add a udev rule KERNEL=="uinput", GROUP="input", MODE="0660" and join the input group`
  }
  if (!isChar) return `${path} is not a device node: point --uinput-path at the uinput device (usually /dev/uinput)`
  return undefined
}

export const uinputBackend: InputBackend = {
  name: 'uinput',
  needs: 'a writable /dev/uinput (modprobe uinput; a udev rule KERNEL=="uinput", GROUP="input", MODE="0660" and membership of the input group)',

  available(settings: InputSettings): InputAvailability {
    const reason = uinputUnavailable(settings.uinputPath)
    return reason === undefined ? {ok: true, detail: `uinput on ${settings.uinputPath}`} : {ok: false, reason}
  },

  open(settings: InputSettings): InputDevice {
    const opened = openNativeDevice('uinput', settings.uinputPath, UINPUT_CAPABILITIES)
    if (!opened.ok) throw new InputOpenError('uinput', opened.reason)
    return opened.device
  },
}
