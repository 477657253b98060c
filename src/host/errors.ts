/** Errors of the host's parsers: each marks one malformed input, counted and dropped. */

export class ControlDecodeError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ControlDecodeError'
  }
}
