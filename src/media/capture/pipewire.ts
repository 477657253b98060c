/**
 * The pipewire capture source: a PipeWire video node (by id or name, or the session manager's
 * choice) consumed through the shim — shared-memory or linear dma-buf buffers. A grab returns the
 * newest frame; `fresh` is false when the node sent nothing new since the previous grab (a
 * compositor sends frames only when the screen changes), so the stream re-encodes the last one.
 */
import {PipeWireVideo} from '../../native/pipewire.js'
import type {ShimHandle} from '../../native/handles.js'
import type {CapturedFrame, CaptureSource, CpuFrame} from '../types.js'

export class PipeWireSource implements CaptureSource {
  readonly name = 'pipewire'
  readonly width: number
  readonly height: number
  private readonly frame: CpuFrame

  private constructor(private readonly video: PipeWireVideo) {
    const info = video.info()
    this.width = info.width
    this.height = info.height
    this.frame = {kind: 'cpu', width: info.width, height: info.height, stride: info.width * 4, data: Buffer.alloc(info.width * info.height * 4)}
  }

  /** Connects and waits (up to firstFrameMs) for the first frame, which fixes the size. */
  static open(target: string, options: {remoteFd?: number; firstFrameMs?: number} = {}): PipeWireSource {
    const video = PipeWireVideo.open(target, options.remoteFd ?? -1)
    try {
      video.waitFirstFrame(options.firstFrameMs ?? 5000)
      return new PipeWireSource(video)
    } catch (error) {
      video.close()
      throw error
    }
  }

  grab(): CapturedFrame {
    const captureNs = Number(process.hrtime.bigint())
    const r = this.video.grab(this.frame.data)
    return {payload: this.frame, captureNs, fresh: r.fresh}
  }

  info() {
    return this.video.info()
  }

  shimHandles(): ShimHandle[] {
    return [{kind: 'pipewire', handle: this.video.handle}]
  }

  close(): void {
    this.video.close()
  }
}
