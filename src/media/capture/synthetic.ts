/**
 * The synthetic capture source: a moving, detailed test pattern (scrolling coloured blocks
 * with a fine grid, a moving gradient, moving thin bars, a bouncing square) with the frame
 * number and a clock drawn on it, made in the shim, and optionally the frame counter stamped
 * machine-readably (./stamp.ts) for the test client. Needs no display; every frame is new.
 * `lumen serve --source synthetic`, encode-test and the benches all draw through this class.
 */
import {drawPattern} from '../../native/capture.js'
import {monotonicNs} from '../../native/core.js'
import type {CapturedFrame, CaptureSource, CpuFrame} from '../types.js'
import {writeStamp} from './stamp.js'

export interface SyntheticSourceOptions {
  width: number
  height: number
  /**
   * The clock drawn on the frames: 'wall' (time of day, UTC — shows glass-to-glass latency on a
   * client) or 'frame' (frame index × 1000 / fps: the same frames on every run). Default 'wall'.
   */
  clock?: 'wall' | 'frame'
  /** used by the 'frame' clock, default 60 */
  fps?: number
  /** stamp the frame counter machine-readably in the top-right corner (default false) */
  stamp?: boolean
}

/** One frame of the pattern: its number and the clock drawn on it. */
export interface PatternFrame {
  index: number
  clockMs: number
}

export class SyntheticSource implements CaptureSource {
  readonly name = 'synthetic'
  readonly width: number
  readonly height: number
  private readonly frame: CpuFrame
  private index = 0

  constructor(private readonly options: SyntheticSourceOptions) {
    const {width, height} = options
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 16 || height < 16 || width > 16384 || height > 16384) {
      throw new RangeError(`synthetic source: ${width}x${height} is not a size from 16x16 to 16384x16384`)
    }
    this.width = width
    this.height = height
    this.frame = {kind: 'cpu', width, height, stride: width * 4, data: Buffer.alloc(width * height * 4)}
  }

  /** The number of the frame the next grab() draws. */
  get nextIndex(): number {
    return this.index
  }

  /** Whether frames carry the machine-readable stamp. */
  get stamped(): boolean {
    return this.options.stamp === true
  }

  /** Takes the next frame's number and clock without drawing it (for a drawer on the GPU). */
  nextFrame(): PatternFrame {
    const index = this.index++
    const clockMs = this.options.clock === 'frame' ? Math.floor((index * 1000) / (this.options.fps ?? 60)) : Date.now() % 86_400_000
    return {index, clockMs}
  }

  /** Draws frame `f` into the source's buffer (reused: the previous frame is overwritten). */
  draw(f: PatternFrame): CapturedFrame {
    drawPattern(this.frame.data, this.width, this.height, this.frame.stride, f.index, f.clockMs)
    if (this.options.stamp === true) writeStamp(this.frame.data, this.width, this.height, this.frame.stride, f.index)
    return {payload: this.frame, captureNs: monotonicNs(), fresh: true}
  }

  /** Draws the next frame. */
  grab(): CapturedFrame {
    return this.draw(this.nextFrame())
  }

  close(): void {}
}
