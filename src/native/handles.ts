/**
 * Closing a shim handle by its kind and number, for an owner other than the wrapper that opened
 * it: a stream's main thread releasing what a terminated worker thread left open
 * (src/media/stream/ledger.ts). One process, one shim: every thread's handles live in the same
 * tables. Closing a handle already closed is refused by the shim (LUMEN_E_INVALID, generation
 * tags), so a handle released twice is harmless.
 */
import {shim} from './library.js'

const CLOSE = {
  udp: (h: number) => shim().lumen_udp_close([h]),
  pacer: (h: number) => shim().lumen_pacer_close([h]),
  encoder: (h: number) => shim().lumen_encoder_close([h]),
  x11: (h: number) => shim().lumen_x11_close([h]),
  pipewire: (h: number) => shim().lumen_pw_video_close([h]),
  portal: (h: number) => shim().lumen_portal_close([h]),
  audioCapture: (h: number) => shim().lumen_audio_capture_close([h]),
  opusEncoder: (h: number) => shim().lumen_opus_encoder_close([h]),
} as const

export type ShimHandleKind = keyof typeof CLOSE
/** Every kind, in a fixed order (the ledger stores a kind as its index here, plus one). */
export const SHIM_HANDLE_KINDS = Object.keys(CLOSE) as ShimHandleKind[]

/** A handle some object holds, named by what closes it. */
export interface ShimHandle {
  kind: ShimHandleKind
  handle: number
}

/** Closes the handle; true when it was open, false when the shim refused it (closed already). */
export function closeShimHandle(h: ShimHandle): boolean {
  return CLOSE[h.kind](h.handle) === 0
}
