/**
 * What a video worker reports about its frames when it stops: per-stage medians (capture,
 * convert, encode, and on the GPU path the chain's stages), the frame-loop thread's own CPU time
 * per frame (/proc/thread-self: read on the thread itself, so it is this thread's, not the
 * process's), GPU memory samples, and where the stream left the GPU path.
 */
import {readFileSync} from 'node:fs'

import type {GpuCaptureProducer} from './gpu-producer.js'
import type {FrameProducer, ProducedFrame} from './video-loop.js'

const KEEP = 1 << 14

export interface VideoFrameStats {
  frames: number
  path: 'gpu' | 'cpu'
  /** the frame the stream moved to the CPU path at, and why */
  fallbackFrame?: number
  fallbackReason?: string
  /** medians, µs */
  p50Us: {capture: number; convert: number; encode: number; gpuSource?: number; gpuChain?: number; gpuKernel?: number; gpuDownload?: number}
  /** CPU time (user + system) of the frame-loop thread per frame, µs; undefined where /proc lacks it */
  threadCpuUsPerFrame?: number
  /** free GPU memory (MiB) sampled every 60 frames on the GPU path */
  gpuFreeMiB: number[]
}

/** utime + stime of the calling thread, µs (clock ticks at 100 Hz, as Linux reports them). */
export function threadCpuUs(): number | undefined {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10_000
  } catch {
    return undefined
  }
}

export class RecordingProducer implements FrameProducer {
  private frames = 0
  private readonly rows = {capture: new Float64Array(KEEP), convert: new Float64Array(KEEP), encode: new Float64Array(KEEP), gpuSource: new Float64Array(KEEP), gpuChain: new Float64Array(KEEP), gpuKernel: new Float64Array(KEEP), gpuDownload: new Float64Array(KEEP)}
  private gpuFrames = 0
  private readonly gpuFreeMiB: number[] = []
  private readonly cpu0 = threadCpuUs()

  constructor(private readonly inner: FrameProducer, private readonly gpu?: GpuCaptureProducer) {}

  next(forceIdr: boolean): ProducedFrame | undefined {
    const onGpu = this.gpu?.path === 'gpu'
    const f = this.inner.next(forceIdr)
    if (f === undefined) return f
    const i = this.frames++ % KEEP
    this.rows.capture[i] = f.captureUs
    this.rows.convert[i] = f.convertUs
    this.rows.encode[i] = f.encodeUs
    if (onGpu && this.gpu?.path === 'gpu') {
      const g = this.gpuFrames++ % KEEP
      const s = this.gpu.stages
      this.rows.gpuSource[g] = s.sourceUs
      this.rows.gpuChain[g] = s.chainUs
      this.rows.gpuKernel[g] = s.kernelUs
      this.rows.gpuDownload[g] = s.downloadUs
      if (this.gpuFrames % 60 === 1) {
        const free = this.gpu.gpuFreeBytes()
        if (free !== undefined) this.gpuFreeMiB.push(Math.round(free / 1048576))
      }
    }
    return f
  }

  stats(): VideoFrameStats {
    const med = (a: Float64Array, n: number): number => {
      const s = a.slice(0, Math.min(n, KEEP)).sort()
      return s.length === 0 ? 0 : Math.round(s[Math.floor(s.length / 2)] * 10) / 10
    }
    const n = this.frames
    const g = this.gpuFrames
    const cpu1 = threadCpuUs()
    const r = this.rows
    return {
      frames: n,
      path: this.gpu?.path ?? 'cpu',
      fallbackFrame: this.gpu?.fallbackFrame,
      fallbackReason: this.gpu?.fallbackReason,
      p50Us: {
        capture: med(r.capture, n),
        convert: med(r.convert, n),
        encode: med(r.encode, n),
        ...(g > 0 ? {gpuSource: med(r.gpuSource, g), gpuChain: med(r.gpuChain, g), gpuKernel: med(r.gpuKernel, g), gpuDownload: med(r.gpuDownload, g)} : {}),
      },
      threadCpuUsPerFrame: this.cpu0 !== undefined && cpu1 !== undefined && n > 0 ? Math.round((cpu1 - this.cpu0) / n) : undefined,
      gpuFreeMiB: this.gpuFreeMiB,
    }
  }
}
