/** A FrameProducer over a capture source and the shim's encoder (CPU frames). */
import {type EncoderName, NativeEncoder} from '../../native/codec.js'
import type {VideoCodec} from '../../protocol/stream-config.js'
import type {CaptureSource} from '../types.js'
import type {FrameProducer, ProducedFrame} from './video-loop.js'

const now = (): number => Number(process.hrtime.bigint())

/** The encoder a codec gets unless one is named: software where it exists. */
export function defaultEncoder(codec: VideoCodec): EncoderName {
  if (codec === 'hevc') return 'libx265'
  if (codec === 'av1') return 'av1_nvenc'
  return 'libx264'
}

export class CaptureEncodeProducer implements FrameProducer {
  readonly encoder: NativeEncoder
  private readonly out: Buffer
  private readonly produced: ProducedFrame

  constructor(
    private readonly source: CaptureSource,
    options: {encoder: EncoderName; fps: number; bitrateKbps: number; slices: number; width?: number; height?: number},
  ) {
    // the encoder runs at the size the client asked for (default: the source's), even
    // dimensions; the shim scales captured frames of another size to it
    const width = (options.width ?? source.width) & ~1
    const height = (options.height ?? source.height) & ~1
    this.encoder = NativeEncoder.open({encoder: options.encoder, width, height, fps: options.fps, bitrateKbps: options.bitrateKbps, slices: options.slices})
    this.out = Buffer.alloc(this.encoder.maxFrameBytes)
    this.produced = {data: this.out, length: 0, idr: false, captureStartNs: 0, captureUs: 0, convertUs: 0, encodeUs: 0, fresh: true}
  }

  next(forceIdr: boolean): ProducedFrame | undefined {
    const c0 = now()
    const frame = this.source.grab()
    const c1 = now()
    if (frame.payload.kind !== 'cpu') throw new Error('CUDA frames are not wired into the stream pipeline yet')
    const r = this.encoder.encodeCpu(frame.payload.data, frame.payload.stride, forceIdr, this.out, frame.payload)
    const p = this.produced
    p.length = r.length
    p.idr = r.idr
    p.captureStartNs = c0
    p.captureUs = (c1 - c0) / 1e3
    p.convertUs = r.convertNs / 1e3
    p.encodeUs = r.encodeNs / 1e3
    p.fresh = frame.fresh
    return p
  }

  close(): void {
    this.encoder.close()
    this.source.close()
  }
}
