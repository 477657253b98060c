/** Typed wrappers over libs/include/lumen_capture.h: the test pattern and X11 grabs. */
import {check, ErrorBuffer} from './call.js'
import {ShimError, ShimStatus} from './errors.js'
import {shim} from './library.js'

/** Draws test-pattern frame `frame` with the clock `clockMs` into a BGRx buffer. */
export function drawPattern(bgrx: Buffer, width: number, height: number, stride: number, frame: number, clockMs: number): void {
  const status = shim().lumen_pattern_draw([bgrx, bgrx.length, width, height, stride, frame, clockMs])
  if (status < 0) {
    const why = status === ShimStatus.buffer ? `the buffer holds ${bgrx.length} bytes, not stride*height = ${stride * height}` : `stride ${stride}, frame ${frame}`
    throw new ShimError('lumen_pattern_draw', status, `cannot draw a ${width}x${height} pattern (${why})`)
  }
}

export interface X11GrabberInfo {
  width: number
  height: number
  stride: number
  /** MIT-SHM in use (else XGetImage) */
  shm: boolean
}

/** An X display's root window (or a rectangle of it), grabbed into BGRx buffers. */
export class X11Grabber {
  private readonly err = new ErrorBuffer()
  private closed = false

  private constructor(
    readonly handle: number,
    readonly info: X11GrabberInfo,
  ) {}

  /** `display` '' or undefined = $DISPLAY; width/height 0 = the whole screen. */
  static open(display?: string, rect: {x?: number; y?: number; width?: number; height?: number} = {}): X11Grabber {
    const err = new ErrorBuffer()
    const handle = check(
      'lumen_x11_open',
      shim().lumen_x11_open([display ?? '', rect.x ?? 0, rect.y ?? 0, rect.width ?? 0, rect.height ?? 0, ...err.args()]),
      err,
    )
    const buf = Buffer.alloc(16)
    shim().lumen_x11_info([handle, buf, buf.length])
    return new X11Grabber(handle, {width: buf.readInt32LE(0), height: buf.readInt32LE(4), stride: buf.readInt32LE(8), shm: buf.readInt32LE(12) === 1})
  }

  /** Grabs one frame into `out` (at least stride*height bytes). */
  grab(out: Buffer): void {
    check('lumen_x11_grab', shim().lumen_x11_grab([this.handle, out, out.length, ...this.err.args()]), this.err)
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    shim().lumen_x11_close([this.handle])
  }
}
