/** Status codes of the shim (libs/include/lumen_core.h), and the error a failing call becomes. */

export const ShimStatus = {
  ok: 0,
  invalid: -1,
  unavailable: -2,
  failed: -3,
  noMemory: -4,
  again: -5,
  eof: -6,
  buffer: -7,
} as const

export type ShimStatusName = keyof typeof ShimStatus

const nameOf = new Map<number, ShimStatusName>(
  Object.entries(ShimStatus).map(([name, code]) => [code, name as ShimStatusName]),
)

export function statusName(code: number): ShimStatusName | 'unknown' {
  return nameOf.get(code) ?? 'unknown'
}

/** A shim call that returned a negative status; `message` is the shim's own sentence. */
export class ShimError extends Error {
  readonly status: ShimStatusName | 'unknown'

  constructor(
    readonly call: string,
    readonly code: number,
    message: string,
  ) {
    super(message.length > 0 ? message : `${call} failed (${statusName(code)})`)
    this.name = 'ShimError'
    this.status = statusName(code)
  }
}

/** The shim itself could not be found or loaded: nothing native can run. */
export class ShimLoadError extends Error {
  constructor(message: string, options?: {cause?: unknown}) {
    super(message, options)
    this.name = 'ShimLoadError'
  }
}
