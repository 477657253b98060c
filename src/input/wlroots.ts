/**
 * The wlroots backend's slot (zwlr_virtual_pointer_v1 + zwp_virtual_keyboard_v1): not built yet,
 * so it reports itself unavailable and auto moves on.
 */
import type {InputBackend, InputDevice} from './device.js'
import {InputOpenError} from './errors.js'

export const wlrootsBackend: InputBackend = {
  name: 'wlroots',
  needs: 'a wlroots compositor (sway, Hyprland, river, labwc) offering zwlr_virtual_pointer_v1 and zwp_virtual_keyboard_v1 on $WAYLAND_DISPLAY',
  available: () => ({ok: false, reason: 'this build has no wlroots backend'}),
  open(): InputDevice {
    throw new InputOpenError('wlroots', 'this build has no wlroots backend')
  },
}
