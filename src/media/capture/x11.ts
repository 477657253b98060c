/**
 * X11 capture: MIT-SHM grabs of an X display's root window (or a rectangle of it), e.g. a
 * desktop session or Xvfb. Every grab is a full copy; X11 does not say what changed, so
 * every frame counts as fresh.
 */
import {X11Grabber} from '../../native/capture.js'
import {monotonicNs} from '../../native/core.js'
import type {ShimHandle} from '../../native/handles.js'
import type {CapturedFrame, CaptureSource, CpuFrame} from '../types.js'

export interface X11SourceOptions {
  /** X display name (":99"); default $DISPLAY */
  display?: string
  /** a rectangle of the screen; default the whole screen */
  x?: number
  y?: number
  width?: number
  height?: number
}

export class X11Source implements CaptureSource {
  readonly name = 'x11'
  readonly width: number
  readonly height: number
  /** true when MIT-SHM is in use (else XGetImage, slower) */
  readonly shm: boolean
  private readonly grabber: X11Grabber
  private readonly frame: CpuFrame

  constructor(options: X11SourceOptions = {}) {
    this.grabber = X11Grabber.open(options.display, options)
    const {width, height, stride, shm} = this.grabber.info
    this.width = width
    this.height = height
    this.shm = shm
    this.frame = {kind: 'cpu', width, height, stride, data: Buffer.alloc(stride * height)}
  }

  /** Grabs the screen into the source's buffer (reused: the previous frame is overwritten). */
  grab(): CapturedFrame {
    this.grabber.grab(this.frame.data)
    return {payload: this.frame, captureNs: monotonicNs(), fresh: true}
  }

  shimHandles(): ShimHandle[] {
    return [{kind: 'x11', handle: this.grabber.handle}]
  }

  close(): void {
    this.grabber.close()
  }
}
