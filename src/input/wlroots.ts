/**
 * The wlroots backend: a virtual pointer (zwlr_virtual_pointer_v1) and a virtual keyboard
 * (zwp_virtual_keyboard_v1, with an evdev/us XKB keymap) on a wlroots compositor's seat
 * (libs/src/input_wlroots.c). Keys, text, both pointer modes, buttons and both scrolls; no touch,
 * pen or gamepads (the protocols have none). GNOME and KDE offer neither protocol.
 */
import {existsSync} from 'node:fs'
import {basename} from 'node:path'

import {probeWlroots} from '../native/input.js'
import {type InputAvailability, type InputBackend, type InputDevice, type InputSettings, KEYBOARD_AND_POINTER} from './device.js'
import {InputOpenError} from './errors.js'
import {openNativeDevice} from './native-device.js'

/** Why a compositor lacking these globals cannot take input from Lumen, and what to do instead. */
function missingReason(display: string, missing: string[]): string {
  const list = missing.length > 1 ? `${missing.slice(0, -1).join(', ')} and ${missing.at(-1)}` : missing.join('')
  const what = `the compositor on ${display} offers no ${list}`
  if (missing.every((g) => g === 'wl_seat')) return `${what} (it has no input at all)`
  return `${what} (GNOME and KDE do not; use uinput there)`
}

export const wlrootsBackend: InputBackend = {
  name: 'wlroots',
  needs: 'a wlroots compositor (sway, Hyprland, river, labwc) on $WAYLAND_DISPLAY offering zwlr_virtual_pointer_manager_v1 and zwp_virtual_keyboard_manager_v1',
  available(settings: InputSettings): InputAvailability {
    const socket = settings.waylandSocket
    if (socket === undefined || socket === '') return {ok: false, reason: 'no Wayland display ($WAYLAND_DISPLAY is unset, or $XDG_RUNTIME_DIR is, for a relative name)'}
    if (!existsSync(socket)) return {ok: false, reason: `no Wayland socket at ${socket} (is the compositor running?)`}
    const display = basename(socket)
    const probe = probeWlroots(socket)
    if (!probe.ok) return {ok: false, reason: probe.reason}
    if (probe.value.length > 0) return {ok: false, reason: missingReason(display, probe.value)}
    return {ok: true, detail: `wlroots virtual pointer and keyboard on ${display}`}
  },
  open(settings: InputSettings): InputDevice {
    const r = openNativeDevice('wlroots', settings.waylandSocket ?? '', KEYBOARD_AND_POINTER)
    if (!r.ok) throw new InputOpenError('wlroots', r.reason)
    return r.device
  },
}
