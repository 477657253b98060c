/** Helpers that turn the shim's status convention into values and typed errors. */
import {ShimError} from './errors.js'

const ERR_LEN = 512

/** A caller-owned error buffer for one call (`char *err, int32_t err_len`). */
export class ErrorBuffer {
  readonly bytes = Buffer.alloc(ERR_LEN)
  readonly length = ERR_LEN

  /** The args to append to a call's parameter list. */
  args(): [Buffer, number] {
    this.clear()
    return [this.bytes, this.length]
  }

  /** Empties the sentence before a call that reuses its arguments (./prepared.ts). */
  clear(): void {
    this.bytes[0] = 0
  }

  text(): string {
    const end = this.bytes.indexOf(0)
    return this.bytes.toString('utf8', 0, end < 0 ? this.length : end)
  }
}

/** Returns a non-negative status, throws ShimError with the shim's sentence otherwise. */
export function check(call: string, status: number, err: ErrorBuffer): number {
  if (status >= 0) return status
  throw new ShimError(call, status, err.text())
}

/** Reads a NUL-terminated string the shim wrote into `buf`. */
export function cString(buf: Buffer): string {
  const end = buf.indexOf(0)
  return buf.toString('utf8', 0, end < 0 ? buf.length : end)
}
