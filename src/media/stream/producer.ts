/** A FrameProducer over a capture source and the pipeline's encoder (../encoder.ts): the CPU capture path. */
import {type EncodedInPlace, type EncoderName, VideoEncoder} from '../encoder.js'
import type {BitDepth, Chroma} from '../../native/codec.js'
import type {CaptureSource, CpuFrame} from '../types.js'
import {monotonicNowNs} from './clock.js'
import type {FrameProducer, ProducedFrame} from './video-loop.js'

const now = monotonicNowNs

export interface ProducerOptions {
  encoder: EncoderName
  fps: number
  bitrateKbps: number
  slices: number
  width?: number
  height?: number
  preset?: string
  convertThreads?: 1 | 2
  chroma?: Chroma
  bitDepth?: BitDepth
}

export class CaptureEncodeProducer implements FrameProducer {
  readonly encoder: VideoEncoder
  private readonly produced: ProducedFrame
  private readonly ownsSource: boolean

  constructor(
    private readonly source: CaptureSource,
    options: ProducerOptions,
    own: {ownsSource?: boolean} = {},
  ) {
    // the encoder runs at the size the client asked for (default: the source's), even
    // dimensions; the shim scales captured frames of another size to it
    const width = (options.width ?? source.width) & ~1
    const height = (options.height ?? source.height) & ~1
    this.ownsSource = own.ownsSource ?? true
    this.encoder = new VideoEncoder({
      encoder: options.encoder,
      width,
      height,
      fps: options.fps,
      bitrateKbps: options.bitrateKbps,
      slices: options.slices,
      preset: options.preset,
      convertThreads: options.convertThreads,
      chroma: options.chroma,
      bitDepth: options.bitDepth,
    })
    this.produced = {data: this.encoder.output, length: 0, idr: false, captureStartNs: 0, captureUs: 0, convertUs: 0, encodeUs: 0, fresh: true}
  }

  next(forceIdr: boolean): ProducedFrame | undefined {
    return this.encodePicture(undefined, forceIdr)
  }

  /** Encodes `picture` (a frame already grabbed from the source), or grabs the next one when undefined. */
  encodePicture(picture: CpuFrame | undefined, forceIdr: boolean): ProducedFrame | undefined {
    const c0 = now()
    const frame = picture === undefined ? this.source.grab() : {payload: picture, fresh: true}
    const c1 = now()
    return fillProduced(this.produced, this.encoder.encodeInPlace(frame.payload, {forceIdr}), c0, c1, frame.fresh)
  }

  close(): void {
    this.encoder.close()
    if (this.ownsSource) this.source.close()
  }
}

/** Writes one encode into a producer's reused frame record: capture ran from c0 to c1 (ns). */
export function fillProduced(p: ProducedFrame, r: EncodedInPlace | undefined, c0: number, c1: number, fresh: boolean): ProducedFrame {
  p.length = r?.length ?? 0
  p.idr = r?.idr ?? false
  p.captureStartNs = c0
  p.captureUs = (c1 - c0) / 1e3
  p.convertUs = r?.timings.convertUs ?? 0
  p.encodeUs = r?.timings.encodeUs ?? 0
  p.fresh = fresh
  return p
}
