/**
 * The XTEST backend: an X11 session's own keyboard map and pointer, driven through the XTEST
 * extension (libs/src/input_xtest.c). Keys, text, both pointer modes, buttons and both scrolls;
 * no touch, pen or gamepads (an X server has no virtual devices for them).
 */
import {existsSync} from 'node:fs'

import {type InputAvailability, type InputBackend, type InputDevice, type InputSettings, KEYBOARD_AND_POINTER} from './device.js'
import {InputOpenError} from './errors.js'
import {openNativeDevice} from './native-device.js'

/** Whether `display` names a local X server whose socket exists (a remote one is tried as given). */
export function xDisplayLive(display: string | undefined): boolean {
  if (display === undefined || display === '') return false
  const m = /^(?:unix)?:(\d+)(?:\.\d+)?$/.exec(display)
  return m === null || existsSync(`/tmp/.X11-unix/X${m[1]}`)
}

export const xtestBackend: InputBackend = {
  name: 'xtest',
  needs: 'an X11 session: $DISPLAY (or --display) naming a live X server with the XTEST extension (Xorg and Xvfb have it)',
  available(settings: InputSettings): InputAvailability {
    if (settings.display === undefined || settings.display === '') return {ok: false, reason: 'no X display ($DISPLAY is unset)'}
    if (!xDisplayLive(settings.display)) return {ok: false, reason: `X display ${settings.display} is not running (no /tmp/.X11-unix socket)`}
    return {ok: true, detail: `XTEST on X display ${settings.display}`}
  },
  open(settings: InputSettings): InputDevice {
    const r = openNativeDevice('xtest', settings.display ?? '', KEYBOARD_AND_POINTER)
    if (!r.ok) throw new InputOpenError('xtest', r.reason)
    return r.device
  },
}
