/**
 * Decoding and inspecting access units: the shim's libavcodec decoder for pictures (dav1d for
 * AV1), an AV1 OBU reader, and a small Annex B reader that sees a frame the way the Moonlight client does
 * (video.md §8): a key frame is SPS (H.264) or VPS (HEVC) as the first NAL unit after any
 * AUD/SEI, followed by the IDR/IRAP slice.
 */
import {type DecodedPicture, NativeDecoder, type PictureFormat, pictureBytes} from '../native/codec.js'

export type {DecodedPicture, PictureFormat} from '../native/codec.js'

export interface NalUnit {
  /** nal_unit_type */
  type: number
  /** offset of the start code in the access unit */
  offset: number
  /** offset of the NAL header (after the start code) */
  headerOffset: number
}

/** Splits an Annex B byte stream at its 3- and 4-byte start codes. */
export function nalUnits(codec: 'h264' | 'hevc', data: Uint8Array): NalUnit[] {
  const units: NalUnit[] = []
  for (let i = 0; i + 3 <= data.length; i++) {
    if (data[i] !== 0 || data[i + 1] !== 0) continue
    let header = -1
    if (data[i + 2] === 1) header = i + 3
    else if (data[i + 2] === 0 && i + 3 < data.length && data[i + 3] === 1) header = i + 4
    if (header < 0 || header >= data.length) continue
    const type = codec === 'h264' ? data[header] & 0x1f : (data[header] >> 1) & 0x3f
    units.push({type, offset: i, headerOffset: header})
    i = header
  }
  return units
}

const H264 = {slice: 1, idr: 5, sei: 6, sps: 7, pps: 8, aud: 9} as const
const HEVC = {vps: 32, sps: 33, pps: 34, aud: 35, prefixSei: 39, suffixSei: 40} as const

/** OBU types of the AV1 low-overhead bitstream format (AV1 spec §6.2.2). */
export const AV1_OBU = {sequenceHeader: 1, temporalDelimiter: 2, frameHeader: 3, tileGroup: 4, metadata: 5, frame: 6, padding: 15} as const

/** The OBU types of one AV1 temporal unit in the low-overhead format, in order; undefined when an
 * OBU has no size field or runs past the end (what the encoder sends must parse to the end). */
export function av1ObuTypes(data: Uint8Array): number[] | undefined {
  const types: number[] = []
  let i = 0
  while (i < data.length) {
    const header = data[i]
    if ((header & 0x80) !== 0 || (header & 0x02) === 0) return undefined
    i += (header & 0x04) !== 0 ? 2 : 1
    let size = 0
    for (let k = 0; ; k++) {
      if (i >= data.length || k === 8) return undefined
      const b = data[i++]
      size += (b & 0x7f) * 2 ** (7 * k)
      if ((b & 0x80) === 0) break
    }
    if (i + size > data.length) return undefined
    types.push((header >> 3) & 0x0f)
    i += size
  }
  return types
}

/**
 * True when a decoder can start at this access unit: for H.264/HEVC what the client itself checks
 * (video.md §8); for AV1, which the client does not parse (it trusts frame type 2), the sequence
 * header a decoder joining there needs, then the frame.
 */
export function isKeyFrameStart(codec: 'h264' | 'hevc' | 'av1', data: Uint8Array): boolean {
  if (codec === 'av1') {
    const types = (av1ObuTypes(data) ?? []).filter((t) => t !== AV1_OBU.temporalDelimiter && t !== AV1_OBU.metadata && t !== AV1_OBU.padding)
    return types[0] === AV1_OBU.sequenceHeader && (types[1] === AV1_OBU.frame || types[1] === AV1_OBU.frameHeader)
  }
  const types = nalUnits(codec, data).map((n) => n.type)
  const skip = codec === 'h264' ? [H264.aud, H264.sei] : [HEVC.aud, HEVC.prefixSei, HEVC.suffixSei]
  let i = 0
  while (i < types.length && skip.includes(types[i] as never)) i++
  if (codec === 'h264') {
    if (types[i] !== H264.sps) return false
    const rest = types.slice(i + 1).filter((t) => !skip.includes(t as never))
    return rest[0] === H264.pps && rest.slice(1).find((t) => t !== H264.pps && t !== H264.sps) === H264.idr
  }
  if (types[i] !== HEVC.vps) return false
  const rest = types.slice(i + 1).filter((t) => !skip.includes(t as never))
  const slice = rest.find((t) => t !== HEVC.sps && t !== HEVC.pps)
  return rest[0] === HEVC.sps && rest.includes(HEVC.pps) && slice !== undefined && slice >= 16 && slice <= 21
}

/** A decoder for one stream: one access unit in, at most one picture out (low delay). */
export class VideoDecoder {
  private readonly native: NativeDecoder
  private readonly buffer: Buffer

  /** Pictures up to maxWidth x maxHeight (default 3840x2160) fit its buffer. */
  constructor(
    readonly codec: 'h264' | 'hevc' | 'av1',
    readonly format: PictureFormat = 'i420',
    max: {width: number; height: number} = {width: 3840, height: 2160},
  ) {
    this.buffer = Buffer.alloc(pictureBytes(max.width, max.height, format))
    this.native = NativeDecoder.open(codec)
  }

  /**
   * Decodes one access unit; returns the picture, whose bytes are a view of the decoder's
   * buffer valid until the next call (copy them to keep them), or undefined when none is ready.
   */
  decode(accessUnit: Buffer): (DecodedPicture & {data: Buffer}) | undefined {
    const p = this.native.decode(accessUnit, this.format, this.buffer)
    return p === undefined ? undefined : {...p, data: this.buffer.subarray(0, p.length)}
  }

  /** Ends the stream and returns copies of the pictures the decoder still held. */
  drain(): Array<DecodedPicture & {data: Buffer}> {
    const out: Array<DecodedPicture & {data: Buffer}> = []
    for (;;) {
      const p = this.native.drain(this.format, this.buffer)
      if (p === undefined) return out
      out.push({...p, data: Buffer.from(this.buffer.subarray(0, p.length))})
    }
  }

  close(): void {
    this.native.close()
  }
}
