/**
 * The pipeline's video encoder: one libavcodec encoder in the shim behind a small API that
 * takes FramePayloads (BGRx host frames or pooled CUDA frames) and gives EncodedFrames.
 *
 * Stream shape (video.md §8–9): one IDR at the start, then P-frames only; an IDR only when
 * requestIdr() was called (or the shared IDR flag was raised) before the frame.
 */
import type {VideoCodec} from '../protocol/stream-config.js'
import {type CudaFramePool, type EncodeResult, type EncoderName, ENCODER_NAMES, NativeEncoder, type NativeEncoderOptions} from '../native/codec.js'
import type {EncodedFrame, FramePayload} from './types.js'

export type {EncoderName} from '../native/codec.js'
export {ENCODER_NAMES} from '../native/codec.js'

/** The codec each encoder produces. */
export const ENCODER_CODEC: Readonly<Record<EncoderName, VideoCodec>> = {
  libx264: 'h264',
  libx265: 'hevc',
  h264_nvenc: 'h264',
  hevc_nvenc: 'hevc',
  av1_nvenc: 'av1',
}

export function isEncoderName(name: string): name is EncoderName {
  return (ENCODER_NAMES as readonly string[]).includes(name)
}

/** The encoder to use for a codec: NVENC when asked for (and the only choice for AV1), else software. */
export function defaultEncoder(codec: VideoCodec, options: {nvenc?: boolean} = {}): EncoderName {
  if (codec === 'av1') return 'av1_nvenc'
  if (options.nvenc === true) return codec === 'h264' ? 'h264_nvenc' : 'hevc_nvenc'
  return codec === 'h264' ? 'libx264' : 'libx265'
}

/**
 * A sensible CBR bitrate for a size and frame rate when the caller has none: 0.16 bits per
 * pixel per frame (Moonlight's 20 Mbit/s at 1080p60, 10 Mbit/s at 720p60), at least 2 Mbit/s.
 */
export function defaultBitrateKbps(width: number, height: number, fps: number): number {
  return Math.max(2000, Math.round((width * height * fps * 0.16) / 1000))
}

export interface VideoEncoderOptions extends NativeEncoderOptions {
  /**
   * A shared IDR-request flag (Int32Array over a SharedArrayBuffer, index 0): when another
   * thread sets it to non-zero, the next frame is an IDR and the flag goes back to 0.
   */
  idrFlag?: Int32Array
}

/** Per-frame timings of the last encode, µs. */
export interface EncodeTimings {
  /** BGRx → encoder format (or CUDA download) inside the shim */
  convertUs: number
  /** inside avcodec_send_frame + avcodec_receive_packet */
  encodeUs: number
  /** the whole encode() call as JavaScript sees it (convert + encode + the seam) */
  totalUs: number
}

export interface EncodedVideoFrame extends EncodedFrame {
  timings: EncodeTimings
}

export class VideoEncoder {
  readonly codec: VideoCodec
  private readonly native: NativeEncoder
  private readonly out: Buffer
  private idrRequested = false
  private frames = 0
  private bitrate: number

  constructor(readonly options: Readonly<VideoEncoderOptions>) {
    this.codec = ENCODER_CODEC[options.encoder]
    this.native = NativeEncoder.open({
      encoder: options.encoder,
      width: options.width,
      height: options.height,
      fps: options.fps,
      bitrateKbps: options.bitrateKbps,
      slices: options.slices ?? 1,
      cudaPool: options.cudaPool,
    })
    this.bitrate = options.bitrateKbps
    this.out = Buffer.alloc(this.native.maxFrameBytes)
  }

  /** The next frame submitted is encoded as an IDR. */
  requestIdr(): void {
    this.idrRequested = true
  }

  get bitrateKbps(): number {
    return this.bitrate
  }

  /** Changes the bitrate from the next frame on; 'reopened' means the next frame is an IDR. */
  setBitrate(kbps: number): 'in-place' | 'reopened' {
    const how = this.native.setBitrate(kbps)
    this.bitrate = kbps
    return how
  }

  /**
   * Encodes one frame. `data` is a fresh Buffer owned by the caller. Returns undefined when
   * the encoder gave nothing for this frame (not expected with these settings).
   */
  encode(payload: FramePayload, options: {forceIdr?: boolean} = {}): EncodedVideoFrame | undefined {
    const index = this.frames++
    let force = options.forceIdr === true || this.idrRequested
    this.idrRequested = false
    if (this.options.idrFlag !== undefined && Atomics.exchange(this.options.idrFlag, 0, 0) !== 0) force = true
    const t0 = process.hrtime.bigint()
    let r: EncodeResult
    if (payload.kind === 'cpu') {
      // a frame of another size is scaled to the encoder's in the shim
      r = this.native.encodeCpu(payload.data, payload.stride, force, this.out, payload)
    } else {
      if (payload.width !== this.options.width || payload.height !== this.options.height) {
        throw new RangeError(
          `CUDA frame is ${payload.width}x${payload.height}, the encoder ${this.options.width}x${this.options.height}: CUDA frames are not scaled`,
        )
      }
      r = this.native.encodeCuda(payload.handle, force, this.out)
    }
    const totalUs = Number(process.hrtime.bigint() - t0) / 1000
    if (r.length === 0) return undefined
    const data = Buffer.allocUnsafe(r.length)
    this.out.copy(data, 0, 0, r.length)
    return {
      data,
      idr: r.idr,
      index: r.pts >= 0 ? r.pts : index,
      timings: {convertUs: r.convertNs / 1000, encodeUs: r.encodeNs / 1000, totalUs},
    }
  }

  describe(): string {
    return this.native.describe()
  }

  close(): void {
    this.native.close()
  }
}
