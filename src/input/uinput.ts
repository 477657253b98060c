/**
 * PLACEHOLDER until the uinput helper's branch is merged (it replaces this file): the uinput
 * backend's slot in the selection, reporting itself unavailable.
 */
import type {InputBackend, InputDevice} from './device.js'
import {InputOpenError} from './errors.js'

export const uinputBackend: InputBackend = {
  name: 'uinput',
  needs: 'a writable /dev/uinput (or --uinput-path): load the uinput module (modprobe uinput) and add yourself to the input group',
  available: () => ({ok: false, reason: 'this build has no uinput backend yet'}),
  open(): InputDevice {
    throw new InputOpenError('uinput', 'this build has no uinput backend yet')
  },
}
