/**
 * The pipeline's video encoder: one libavcodec encoder in the shim behind a small API that
 * takes FramePayloads (BGRx host frames or pooled CUDA frames) and gives EncodedFrames. The one
 * wrapper `lumen serve` (stream/producer.ts, encodeInPlace: no copy), encode-test and the
 * benches encode through.
 *
 * Stream shape (video.md §8–9): one IDR at the start, then P-frames only; an IDR only when
 * requestIdr() was called or the frame was submitted with forceIdr (the stream's frame loop
 * passes the shared IDR flag that way).
 */
import type {VideoCodec} from '../protocol/stream-config.js'
import {type EncodeResult, type EncoderName, ENCODER_NAMES, NativeEncoder, type NativeEncoderOptions} from '../native/codec.js'
import type {EncodedFrame, FramePayload} from './types.js'

export type {EncoderName} from '../native/codec.js'
export {ENCODER_NAMES} from '../native/codec.js'

/** The codec each encoder produces. */
export const ENCODER_CODEC: Readonly<Record<EncoderName, VideoCodec>> = {
  libx264: 'h264',
  libx265: 'hevc',
  'libaom-av1': 'av1',
  h264_nvenc: 'h264',
  hevc_nvenc: 'hevc',
  av1_nvenc: 'av1',
}

export function isEncoderName(name: string): name is EncoderName {
  return (ENCODER_NAMES as readonly string[]).includes(name)
}

/** The encoder a codec gets unless one is named: the software one, which every box has. */
export function defaultEncoder(codec: VideoCodec): EncoderName {
  if (codec === 'av1') return 'libaom-av1'
  return codec === 'h264' ? 'libx264' : 'libx265'
}

/** The preset to open `encoder` with from the x264/x265 presets and libaom's speed (undefined: the
 * shim's default; NVENC takes none). */
export function encoderPreset(encoder: string, tuning: {x264Preset?: string; x265Preset?: string; aomSpeed?: number}): string | undefined {
  if (encoder === 'libx264') return tuning.x264Preset
  if (encoder === 'libx265') return tuning.x265Preset
  if (encoder === 'libaom-av1') return tuning.aomSpeed === undefined ? undefined : String(tuning.aomSpeed)
  return undefined
}

/**
 * A sensible CBR bitrate for a size and frame rate when the caller has none: 0.16 bits per
 * pixel per frame (Moonlight's 20 Mbit/s at 1080p60, 10 Mbit/s at 720p60), at least 2 Mbit/s.
 */
export function defaultBitrateKbps(width: number, height: number, fps: number): number {
  return Math.max(2000, Math.round((width * height * fps * 0.16) / 1000))
}

/** Per-frame timings of the last encode, µs. */
export interface EncodeTimings {
  /** BGRx → encoder format (or CUDA download) inside the shim */
  convertUs: number
  /** inside avcodec_send_frame + avcodec_receive_packet */
  encodeUs: number
  /** the whole encode() call as JavaScript sees it (convert + encode + the seam) */
  totalUs: number
  /** a software encoder fed CUDA frames: GPU time of the BGRx → I420 kernel and of the I420 download (0 otherwise) */
  gpuKernelUs?: number
  gpuDownloadUs?: number
}

export interface EncodedVideoFrame extends EncodedFrame {
  timings: EncodeTimings
}

/** An access unit left in the encoder's own buffer (`VideoEncoder.output`), valid until the next encode. */
export interface EncodedInPlace {
  /** bytes of `output` that hold the access unit */
  length: number
  idr: boolean
  /** the index of the input frame it came from */
  index: number
  timings: EncodeTimings
}

export class VideoEncoder {
  readonly codec: VideoCodec
  private readonly native: NativeEncoder
  /** where encodeInPlace() leaves the access unit */
  readonly output: Buffer
  private readonly last: EncodedInPlace = {length: 0, idr: false, index: 0, timings: {convertUs: 0, encodeUs: 0, totalUs: 0}}
  private idrRequested = false
  private frames = 0
  private bitrate: number

  constructor(readonly options: Readonly<NativeEncoderOptions>) {
    this.codec = ENCODER_CODEC[options.encoder]
    this.native = NativeEncoder.open({
      encoder: options.encoder,
      width: options.width,
      height: options.height,
      fps: options.fps,
      bitrateKbps: options.bitrateKbps,
      slices: options.slices ?? 1,
      cudaPool: options.cudaPool,
      preset: options.preset,
      convertThreads: options.convertThreads,
      chroma: options.chroma,
      bitDepth: options.bitDepth,
    })
    this.bitrate = options.bitrateKbps
    this.output = Buffer.alloc(this.native.maxFrameBytes)
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

  /** The shim's handle of the encoder (for the stream's handle ledger). */
  get handle(): number {
    return this.native.handle
  }

  /**
   * Encodes one frame. `data` is a fresh Buffer owned by the caller. Returns undefined when
   * the encoder gave nothing for this frame (not expected with these settings).
   */
  encode(payload: FramePayload, options: {forceIdr?: boolean} = {}): EncodedVideoFrame | undefined {
    const r = this.encodeInPlace(payload, options)
    if (r === undefined) return undefined
    return {data: Buffer.from(this.output.subarray(0, r.length)), idr: r.idr, index: r.index, timings: {...r.timings}}
  }

  /**
   * Encodes one frame into `output` without a copy; the result object and the bytes are reused by
   * the next call. Undefined when the encoder gave nothing for this frame.
   */
  encodeInPlace(payload: FramePayload, options: {forceIdr?: boolean} = {}): EncodedInPlace | undefined {
    const index = this.frames++
    const force = options.forceIdr === true || this.idrRequested
    this.idrRequested = false
    const t0 = process.hrtime.bigint()
    let r: EncodeResult
    if (payload.kind === 'cpu') {
      // a frame of another size is scaled to the encoder's in the shim
      r = this.native.encodeCpu(payload.data, payload.stride, force, this.output, payload)
    } else {
      if (payload.width !== this.options.width || payload.height !== this.options.height) {
        throw new RangeError(
          `CUDA frame is ${payload.width}x${payload.height}, the encoder ${this.options.width}x${this.options.height}: CUDA frames are not scaled`,
        )
      }
      r = this.native.encodeCuda(payload.handle, force, this.output)
    }
    const totalUs = Number(process.hrtime.bigint() - t0) / 1000
    if (r.length === 0) return undefined
    const last = this.last
    last.length = r.length
    last.idr = r.idr
    last.index = r.pts >= 0 ? r.pts : index
    last.timings.convertUs = r.convertNs / 1000
    last.timings.encodeUs = r.encodeNs / 1000
    last.timings.totalUs = totalUs
    last.timings.gpuKernelUs = r.gpuKernelNs / 1000
    last.timings.gpuDownloadUs = r.gpuDownloadNs / 1000
    return last
  }

  describe(): string {
    return this.native.describe()
  }

  close(): void {
    this.native.close()
  }
}
