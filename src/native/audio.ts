/** Typed wrapper over the shim's audio (libs/include/lumen_audio.h): Opus multistream and paced capture. */
import {check, ErrorBuffer} from './call.js'
import {shim} from './library.js'

export type AudioSourceKind = 'auto' | 'pipewire' | 'tone'
const SOURCE = {auto: 0, pipewire: 1, tone: 2} as const

/** An Opus multistream layout (RFC 7845 §5.1.1): mapping[i] is the coded channel of channel i. */
export interface OpusStreamLayout {
  channels: number
  streams: number
  coupled: number
  mapping: readonly number[]
}

/** 1 → mono (1 stream), 2 → stereo (1 coupled stream, mapping 0 1); a layout passes through. */
function layoutOf(l: number | OpusStreamLayout): OpusStreamLayout {
  if (typeof l !== 'number') return l
  return l === 2 ? {channels: 2, streams: 1, coupled: 1, mapping: [0, 1]} : {channels: l, streams: 1, coupled: 0, mapping: [0]}
}

export class OpusEncoder {
  private readonly err = new ErrorBuffer()
  readonly handle: number
  readonly samplesPerChannel: number
  readonly channels: number

  constructor(
    layout: number | OpusStreamLayout,
    readonly bitrateBps: number,
    readonly frameUs: number,
  ) {
    const l = layoutOf(layout)
    this.channels = l.channels
    this.handle = check(
      'lumen_opus_encoder_open',
      shim().lumen_opus_encoder_open([l.channels, l.streams, l.coupled, Buffer.from(l.mapping), l.mapping.length, bitrateBps, frameUs, ...this.err.args()]),
      this.err,
    )
    this.samplesPerChannel = (48 * frameUs) / 1000
  }

  /** Encodes one frame of s16 interleaved PCM into out; returns the packet length. */
  encode(pcm: Buffer, out: Buffer): number {
    return check('lumen_opus_encode', shim().lumen_opus_encode([this.handle, pcm, pcm.length, this.samplesPerChannel, out, out.length, ...this.err.args()]), this.err)
  }

  close(): void {
    shim().lumen_opus_encoder_close([this.handle])
  }
}

export class OpusDecoder {
  private readonly err = new ErrorBuffer()
  readonly handle: number
  readonly channels: number

  constructor(layout: number | OpusStreamLayout) {
    const l = layoutOf(layout)
    this.channels = l.channels
    this.handle = check('lumen_opus_decoder_open', shim().lumen_opus_decoder_open([l.channels, l.streams, l.coupled, Buffer.from(l.mapping), l.mapping.length, ...this.err.args()]), this.err)
  }

  /** Decodes one packet into pcm (s16 interleaved); returns samples per channel. */
  decode(packet: Buffer, pcm: Buffer): number {
    return check('lumen_opus_decode', shim().lumen_opus_decode([this.handle, packet, packet.length, pcm, pcm.length, ...this.err.args()]), this.err)
  }

  close(): void {
    shim().lumen_opus_decoder_close([this.handle])
  }
}

export class AudioCapture {
  private readonly err = new ErrorBuffer()
  readonly handle: number

  constructor(
    source: AudioSourceKind,
    readonly channels: number,
    options: {target?: string; frequencyHz?: number} = {},
  ) {
    this.handle = check(
      'lumen_audio_capture_open',
      shim().lumen_audio_capture_open([SOURCE[source], options.target ?? '', channels, options.frequencyHz ?? 440, ...this.err.args()]),
      this.err,
    )
  }

  /** 'pipewire' or 'tone' */
  get kind(): 'pipewire' | 'tone' {
    return shim().lumen_audio_capture_kind([this.handle]) === 1 ? 'pipewire' : 'tone'
  }

  /** Waits until the next `samplesPerChannel` samples are due and writes them into pcm. */
  read(pcm: Buffer, samplesPerChannel: number): number {
    return check('lumen_audio_capture_read', shim().lumen_audio_capture_read([this.handle, pcm, pcm.length, samplesPerChannel, ...this.err.args()]), this.err)
  }

  stats(): {delivered: number; padded: number; dropped: number} {
    const b = Buffer.alloc(24)
    shim().lumen_audio_capture_stats([this.handle, b, b.length])
    return {delivered: Number(b.readBigInt64LE(0)), padded: Number(b.readBigInt64LE(8)), dropped: Number(b.readBigInt64LE(16))}
  }

  close(): void {
    shim().lumen_audio_capture_close([this.handle])
  }
}
