/** The one expected failure of the input layer: a backend that cannot open here, and why. */
import type {InputBackendName} from './device.js'

export class InputOpenError extends Error {
  override readonly name = 'InputOpenError'

  constructor(
    readonly backend: InputBackendName,
    reason: string,
  ) {
    super(reason)
  }
}
