/**
 * Typed wrappers over libs/include/lumen_codec.h: encoders, pooled CUDA frames, decoders and
 * the PSNR check. Each wrapper keeps its small info buffers, so a frame costs one shim call.
 */
import {check, ErrorBuffer} from './call.js'
import {ShimStatus} from './errors.js'
import {shim} from './library.js'

export type EncoderName = 'libx264' | 'libx265' | 'libaom-av1' | 'h264_nvenc' | 'hevc_nvenc' | 'av1_nvenc'
export const ENCODER_NAMES: readonly EncoderName[] = ['libx264', 'libx265', 'libaom-av1', 'h264_nvenc', 'hevc_nvenc', 'av1_nvenc']

/** LUMEN_ENC_FORCE_IDR */
const FORCE_IDR = 1
/** LUMEN_FMT_444, LUMEN_FMT_10BIT: the picture format bits of lumen_encoder_open */
const FMT_444 = 1
const FMT_10BIT = 2
/** LUMEN_DEC_PLANAR */
const DEC_PLANAR = 2

/** Chroma sampling of an encoded stream (x-ss-video[0].chromaSamplingType 0 / 1, rtsp.md §3.4). */
export type Chroma = '420' | '444'
/** Bits a sample (x-nv-video[0].dynamicRangeMode 0 / 1). */
export type BitDepth = 8 | 10

/** The shim's LUMEN_FMT_* bits of a chroma and bit depth. */
export function pictureFormatBits(chroma: Chroma = '420', bitDepth: BitDepth = 8): number {
  return (chroma === '444' ? FMT_444 : 0) | (bitDepth === 10 ? FMT_10BIT : 0)
}
const ENC_INFO_LEN = 64
/** LUMEN_ENC_INFO_GPU_KERNEL_NS, LUMEN_ENC_INFO_GPU_DOWNLOAD_NS: int64 field indexes of the info buffer */
const ENC_INFO_GPU_KERNEL_NS = 6
const ENC_INFO_GPU_DOWNLOAD_NS = 7
const DEC_INFO_LEN = 32
const CUDA_FRAME_INFO_LEN = 32

export interface NativeEncoderOptions {
  encoder: EncoderName
  width: number
  height: number
  fps: number
  bitrateKbps: number
  /** slices per frame (default 1) */
  slices?: number
  /** a pool whose frames this encoder takes (encodeCuda); omit for BGRx host frames */
  cudaPool?: CudaFramePool
  /** libx264/libx265 preset (serve --x264-preset/--x265-preset); undefined = the shim's default per encoder */
  preset?: string
  /** 2 splits the BGRx → I420 conversion over a second thread (serve --convert-threads); default 1 */
  convertThreads?: 1 | 2
  /** chroma sampling (default 4:2:0); 4:4:4 with libx264, libx265 and libaom-av1 only */
  chroma?: Chroma
  /** bits a sample (default 8); 10 with libx265 only (HEVC Main10) */
  bitDepth?: BitDepth
}

/** What one encode call produced; `length` bytes of the output buffer hold the access unit. */
export interface EncodeResult {
  length: number
  idr: boolean
  /** swscale (or download) time inside the shim, ns */
  convertNs: number
  /** time inside avcodec_send_frame + avcodec_receive_packet, ns */
  encodeNs: number
  /** the input frame number the access unit came from (-1 when none came out) */
  pts: number
  /** a software encoder fed CUDA frames: GPU time of the BGRx → I420 kernel and of the I420 download, ns (0 otherwise) */
  gpuKernelNs: number
  gpuDownloadNs: number
}

/** One libavcodec encoder in the shim. Use from one thread at a time. */
export class NativeEncoder {
  private readonly info = Buffer.alloc(ENC_INFO_LEN)
  private readonly err = new ErrorBuffer()
  private closed = false

  private constructor(
    readonly handle: number,
    readonly options: Readonly<NativeEncoderOptions>,
  ) {}

  static open(options: NativeEncoderOptions): NativeEncoder {
    const err = new ErrorBuffer()
    const status = shim().lumen_encoder_open([
      options.encoder,
      options.width,
      options.height,
      options.fps,
      options.bitrateKbps,
      options.slices ?? 1,
      options.cudaPool?.handle ?? -1,
      options.preset ?? '',
      options.convertThreads ?? 1,
      pictureFormatBits(options.chroma, options.bitDepth),
      ...err.args(),
    ])
    return new NativeEncoder(check('lumen_encoder_open', status, err), {...options})
  }

  /** The size an output buffer needs to hold any access unit of this encoder. */
  get maxFrameBytes(): number {
    return this.options.width * this.options.height * 4
  }

  /**
   * Encodes one BGRx host frame into `out` (see maxFrameBytes). `size` is the frame's own size
   * (default: the encoder's); a frame of another size is scaled to the encoder's in the shim
   * (swscale bilinear, in the same pass as the colour conversion).
   */
  encodeCpu(bgrx: Buffer, stride: number, forceIdr: boolean, out: Buffer, size?: {width: number; height: number}): EncodeResult {
    const status = shim().lumen_encoder_encode([
      this.handle,
      bgrx,
      bgrx.length,
      size?.width ?? this.options.width,
      size?.height ?? this.options.height,
      stride,
      forceIdr ? FORCE_IDR : 0,
      out,
      out.length,
      this.info,
      this.info.length,
      ...this.err.args(),
    ])
    return this.result(check('lumen_encoder_encode', status, this.err))
  }

  /** Encodes a pooled CUDA frame (a handle from CudaFramePool.get); the caller still releases it. */
  encodeCuda(frame: number, forceIdr: boolean, out: Buffer): EncodeResult {
    const status = shim().lumen_encoder_encode_cuda([
      this.handle,
      frame,
      forceIdr ? FORCE_IDR : 0,
      out,
      out.length,
      this.info,
      this.info.length,
      ...this.err.args(),
    ])
    return this.result(check('lumen_encoder_encode_cuda', status, this.err))
  }

  /** 'in-place' when the encoder took the new rate as it runs, 'reopened' when it had to be
   * reopened (libx265): then the next frame is an IDR. */
  setBitrate(kbps: number): 'in-place' | 'reopened' {
    const err = new ErrorBuffer()
    const status = check('lumen_encoder_set_bitrate', shim().lumen_encoder_set_bitrate([this.handle, kbps, ...err.args()]), err)
    return status === 1 ? 'reopened' : 'in-place'
  }

  describe(): string {
    const buf = Buffer.alloc(512)
    const n = shim().lumen_encoder_describe([this.handle, buf, buf.length])
    return n > 0 ? buf.toString('utf8', 0, n) : ''
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    shim().lumen_encoder_close([this.handle])
  }

  private result(length: number): EncodeResult {
    const i = this.info
    return {
      length,
      idr: (Number(i.readBigInt64LE(0)) & 1) === 1,
      convertNs: Number(i.readBigInt64LE(8)),
      encodeNs: Number(i.readBigInt64LE(16)),
      pts: Number(i.readBigInt64LE(24)),
      gpuKernelNs: Number(i.readBigInt64LE(ENC_INFO_GPU_KERNEL_NS * 8)),
      gpuDownloadNs: Number(i.readBigInt64LE(ENC_INFO_GPU_DOWNLOAD_NS * 8)),
    }
  }
}

/** Where a pooled CUDA frame lives on the device (for device-to-device copies into it). */
export interface CudaFrameInfo {
  /** CUdeviceptr of the BGR0 plane */
  devicePtr: bigint
  pitch: number
  width: number
  height: number
  device: number
  /** the CUcontext (the device's primary context) */
  context: bigint
}

/** Reports whether CUDA can work here; `reason` is the shim's one sentence when not. */
export function cudaCheck(): {ok: true} | {ok: false; reason: string} {
  const err = new ErrorBuffer()
  const status = shim().lumen_cuda_check([...err.args()])
  return status >= 0 ? {ok: true} : {ok: false, reason: err.text()}
}

/** A pool of BGR0 CUDA frames (AV_PIX_FMT_CUDA frames context) that encoders take frames from. */
export class CudaFramePool {
  private readonly err = new ErrorBuffer()
  private closed = false

  private constructor(
    readonly handle: number,
    readonly width: number,
    readonly height: number,
  ) {}

  static open(width: number, height: number, options: {device?: number; size?: number} = {}): CudaFramePool {
    const err = new ErrorBuffer()
    const status = shim().lumen_cuda_pool_open([options.device ?? 0, width, height, options.size ?? 4, ...err.args()])
    return new CudaFramePool(check('lumen_cuda_pool_open', status, err), width, height)
  }

  /** Takes a frame (av_hwframe_get_buffer); returns its handle. */
  get(): number {
    return check('lumen_cuda_frame_get', shim().lumen_cuda_frame_get([this.handle, ...this.err.args()]), this.err)
  }

  info(frame: number): CudaFrameInfo {
    const buf = Buffer.alloc(CUDA_FRAME_INFO_LEN)
    check('lumen_cuda_frame_info', shim().lumen_cuda_frame_info([frame, buf, buf.length, ...this.err.args()]), this.err)
    return {
      devicePtr: buf.readBigUInt64LE(0),
      pitch: buf.readInt32LE(8),
      width: buf.readInt32LE(12),
      height: buf.readInt32LE(16),
      device: buf.readInt32LE(20),
      context: buf.readBigUInt64LE(24),
    }
  }

  upload(frame: number, bgrx: Buffer, stride: number): void {
    check('lumen_cuda_frame_upload', shim().lumen_cuda_frame_upload([frame, bgrx, bgrx.length, stride, ...this.err.args()]), this.err)
  }

  download(frame: number, bgrx: Buffer, stride: number): void {
    check('lumen_cuda_frame_download', shim().lumen_cuda_frame_download([frame, bgrx, bgrx.length, stride, ...this.err.args()]), this.err)
  }

  release(frame: number): void {
    shim().lumen_cuda_frame_release([frame])
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    shim().lumen_cuda_pool_close([this.handle])
  }
}

/** bgrx, i420, or planar: the decoder's own planes (4:2:0 or 4:4:4; 2 bytes a sample above 8 bits), packed */
export type PictureFormat = 'bgrx' | 'i420' | 'planar'

export interface DecodedPicture {
  /** bytes of the output buffer the picture fills */
  length: number
  width: number
  height: number
  keyFrame: boolean
  /** AVPictureType: 1 = I, 2 = P, 3 = B */
  pictureType: number
  /** as the decoder reports the picture: bits a sample (0 when not planar YUV) and chroma format */
  bitDepth: number
  /** 420, 422 or 444 (0 when not planar YUV) */
  chromaFormat: number
  /** the colour description the bitstream signals (ISO/IEC 23091-4 codes; 1 = BT.709, 2 = unspecified) and range (1 limited, 2 full) */
  colour: {primaries: number; transfer: number; matrix: number; range: number}
}

/** The bytes a decoded picture of this size takes in `format`. */
export function pictureBytes(width: number, height: number, format: PictureFormat): number {
  if (format === 'planar') return width * height * 3 * 2 // the largest: 4:4:4 at 2 bytes a sample
  return format === 'bgrx' ? width * height * 4 : width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2)
}

/** An H.264/HEVC decoder in the shim: one access unit in, at most one picture out. */
export class NativeDecoder {
  private readonly info = Buffer.alloc(DEC_INFO_LEN)
  private readonly err = new ErrorBuffer()
  private closed = false

  private constructor(readonly handle: number) {}

  static open(codec: 'h264' | 'hevc' | 'av1'): NativeDecoder {
    const err = new ErrorBuffer()
    return new NativeDecoder(check('lumen_decoder_open', shim().lumen_decoder_open([codec, ...err.args()]), err))
  }

  /** Decodes one access unit; the picture (if one is ready) goes into `out`. */
  decode(accessUnit: Buffer, format: PictureFormat, out: Buffer): DecodedPicture | undefined {
    if (accessUnit.length === 0) throw new RangeError('an empty access unit: use drain() to end the stream')
    return this.call(accessUnit, format, out)
  }

  /** Ends the stream; call until it returns undefined to collect held pictures. */
  drain(format: PictureFormat, out: Buffer): DecodedPicture | undefined {
    return this.call(Buffer.alloc(1), format, out, true)
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    shim().lumen_decoder_close([this.handle])
  }

  private call(data: Buffer, format: PictureFormat, out: Buffer, drain = false): DecodedPicture | undefined {
    const status = shim().lumen_decoder_decode([
      this.handle,
      data,
      drain ? 0 : data.length,
      format === 'bgrx' ? 0 : format === 'i420' ? 1 : DEC_PLANAR,
      out,
      out.length,
      this.info,
      this.info.length,
      ...this.err.args(),
    ])
    if (status === ShimStatus.again || status === ShimStatus.eof) return undefined
    const length = check('lumen_decoder_decode', status, this.err)
    const i = this.info
    return {
      length,
      width: i.readInt32LE(0),
      height: i.readInt32LE(4),
      keyFrame: i.readInt32LE(8) === 1,
      pictureType: i.readInt32LE(12),
      bitDepth: i.readInt32LE(20),
      chromaFormat: i.readInt32LE(24),
      colour: {primaries: i[28], transfer: i[29], matrix: i[30], range: i[31]},
    }
  }
}

export interface Psnr {
  y: number
  u: number
  v: number
  /** all planes, sample-weighted */
  all: number
}

/** PSNR (dB) of an I420 picture against the BGRx source it was encoded from. */
export function psnrBgrxI420(bgrx: Buffer, stride: number, i420: Buffer, width: number, height: number): Psnr {
  const out = Buffer.alloc(32)
  const err = new ErrorBuffer()
  check('lumen_psnr_bgrx_i420', shim().lumen_psnr_bgrx_i420([bgrx, bgrx.length, stride, i420, i420.length, width, height, out, out.length, ...err.args()]), err)
  return {y: out.readDoubleLE(0), u: out.readDoubleLE(8), v: out.readDoubleLE(16), all: out.readDoubleLE(24)}
}

/** PSNR (dB; peak 255 at 8 bits, 1023 at 10) of a 'planar' picture of an encoder opened with this
 * chroma and bit depth against the BGRx source, converted the way that encoder converts it. */
export function psnrBgrxPlanar(bgrx: Buffer, stride: number, planar: Buffer, width: number, height: number, chroma: Chroma, bitDepth: BitDepth): Psnr {
  const out = Buffer.alloc(32)
  const err = new ErrorBuffer()
  const fmt = pictureFormatBits(chroma, bitDepth)
  check('lumen_psnr_bgrx_planar', shim().lumen_psnr_bgrx_planar([bgrx, bgrx.length, stride, planar, planar.length, width, height, fmt, out, out.length, ...err.args()]), err)
  return {y: out.readDoubleLE(0), u: out.readDoubleLE(8), v: out.readDoubleLE(16), all: out.readDoubleLE(24)}
}
