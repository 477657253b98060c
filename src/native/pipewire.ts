/** Typed wrapper over the shim's PipeWire video capture (libs/include/lumen_pipewire.h). */
import {check, ErrorBuffer} from './call.js'
import {shim} from './library.js'

const INFO_LEN = 36
const GRAB_INFO_LEN = 16

export interface PipeWireVideoInfo {
  state: 'connecting' | 'streaming' | 'failed'
  width: number
  height: number
  stride: number
  /** SPA video format id */
  format: number
  /** the last frame's buffer type */
  buffers: 'none' | 'memfd' | 'memptr' | 'dmabuf'
  frames: number
  dropped: number
  nodeId: number
}

export class PipeWireVideo {
  private readonly err = new ErrorBuffer()
  private readonly grabInfo = Buffer.alloc(GRAB_INFO_LEN)
  private closed = false

  private constructor(readonly handle: number) {}

  /** Connects to a video node by id or name ('' = the session manager's choice); remoteFd from the
   * ScreenCast portal, or -1 for the default PipeWire daemon. */
  static open(target: string, remoteFd = -1): PipeWireVideo {
    const err = new ErrorBuffer()
    return new PipeWireVideo(check('lumen_pw_video_open', shim().lumen_pw_video_open([target, remoteFd, ...err.args()]), err))
  }

  /** Waits for the first frame; throws ShimError (with the reason) on timeout or failure. */
  waitFirstFrame(timeoutMs: number): void {
    check('lumen_pw_video_wait', shim().lumen_pw_video_wait([this.handle, timeoutMs, ...this.err.args()]), this.err)
  }

  info(): PipeWireVideoInfo {
    const b = Buffer.alloc(INFO_LEN)
    shim().lumen_pw_video_info([this.handle, b, b.length])
    const v = (i: number) => b.readInt32LE(4 * i)
    return {
      state: (['connecting', 'streaming', 'failed'] as const)[v(0)] ?? 'failed',
      width: v(1),
      height: v(2),
      stride: v(3),
      format: v(4),
      buffers: (['none', 'memfd', 'memptr', 'dmabuf'] as const)[v(5)] ?? 'none',
      frames: v(6),
      dropped: v(7),
      nodeId: v(8),
    }
  }

  /** Copies the newest frame (BGRx, width*4 per row) into out; fresh = new since the last grab. */
  grab(out: Buffer): {fresh: boolean; arrivedNs: number; sequence: number} {
    const r = check('lumen_pw_video_grab', shim().lumen_pw_video_grab([this.handle, out, out.length, this.grabInfo, this.grabInfo.length, ...this.err.args()]), this.err)
    return {fresh: r === 1, arrivedNs: Number(this.grabInfo.readBigInt64LE(0)), sequence: Number(this.grabInfo.readBigInt64LE(8))}
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    shim().lumen_pw_video_close([this.handle])
  }
}
