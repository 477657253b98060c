/** Typed wrappers over the shim's core calls (versions, clock, error round trip). */
import {cString, check, ErrorBuffer} from './call.js'
import {shim} from './library.js'

export interface AvcodecVersion {
  /** "62.28.102" */
  version: string
  major: number
  minor: number
  micro: number
}

export function shimVersion(): string {
  return shim().lumen_version([])
}

export function avcodecVersion(): AvcodecVersion {
  const packed = shim().lumen_avcodec_version([])
  const buf = Buffer.alloc(32)
  shim().lumen_avcodec_version_string([buf, buf.length])
  return {version: cString(buf), major: (packed >> 16) & 0xff, minor: (packed >> 8) & 0xff, micro: packed & 0xff}
}

export function hasEncoder(name: string): boolean {
  return shim().lumen_avcodec_has_encoder([name]) === 1
}

export function hasDecoder(name: string): boolean {
  return shim().lumen_avcodec_has_decoder([name]) === 1
}

/** Asks the shim to fail with `status` and `message`: proves errors cross the seam. */
export function echoError(status: number, message: string): number {
  const err = new ErrorBuffer()
  return check('lumen_echo_error', shim().lumen_echo_error([status, message, ...err.args()]), err)
}

/** CLOCK_MONOTONIC in nanoseconds, the clock every deadline is set on. */
export function monotonicNs(): number {
  return shim().lumen_now_ns([])
}

/** Returns the free native heap (OpenSSL's per-connection buffers after a flood, glibc arenas)
 * to the kernel; true when some was released. */
export function trimNativeHeap(): boolean {
  return shim().lumen_malloc_trim([]) === 1
}

/** Caps glibc's malloc arenas at `n` (1-64) for the rest of the process; false when glibc refused. */
export function limitMallocArenas(n: number): boolean {
  return shim().lumen_malloc_arena_max([n]) === 0
}
