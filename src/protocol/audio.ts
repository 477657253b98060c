/**
 * The Opus layouts of the audio stream (docs/protocol/audio.md §2, §2.1): the ONE table both the
 * DESCRIBE's `a=fmtp:97 surround-params=` lines (src/host/sdp.ts) and the encoder
 * (src/media/audio/worker.ts) read, and the stream parameters derived from the negotiated config.
 *
 * `mapping` is the mapping the encoder codes with AND the one the client ends up decoding with.
 * The DESCRIBE line is derived from it: for normal-quality surround the client moves the last
 * digit it reads to position 3 (rtsp.md §3.2), so the line carries the inverse
 * (R0 R1 R2 R4 … R(C−1) R3); high-quality and stereo lines carry the mapping as is.
 *
 * 7.1 normal quality: Sunshine advertises 85301245367, which the client turns into 0 1 2 7 4 5 3 6
 * while Sunshine encodes with the identity (audio.md §2.1). Lumen encodes every layout with the
 * identity, like Sunshine's encoder, and advertises what makes the client decode with the identity:
 * 85301245673. Why this one and not "advertise Sunshine's line, encode 0 1 2 7 4 5 3 6": one rule
 * (the inverse of the client's rearrangement) produces every line from the encoder's mapping, so
 * the line cannot drift from the encoder; the other five lines come out exactly as Sunshine's; and
 * the coded channel pairs stay Sunshine's (FL+FR, FC+LFE, RL+RR, then SL and SR alone).
 */
import type {AudioStreamConfig} from './stream-config.js'

export interface OpusLayout {
  channels: number
  streams: number
  coupled: number
  /** mapping[i]: coded channel of channel i in the client's order (FL FR FC LFE RL RR SL SR,
   * audio.md §2, our capture's too), encoder and decoder alike */
  mapping: readonly number[]
  /** bit/s, CBR over all streams */
  bitrate: number
  highQuality: boolean
}

const identity = (n: number): number[] => Array.from({length: n}, (_, i) => i)

/** Sunshine's six configurations, in its DESCRIBE order (stereo, HQ stereo, 5.1, HQ 5.1, 7.1, HQ 7.1). */
const OPUS_LAYOUTS: readonly OpusLayout[] = [
  {channels: 2, streams: 1, coupled: 1, mapping: identity(2), bitrate: 96_000, highQuality: false},
  {channels: 2, streams: 1, coupled: 1, mapping: identity(2), bitrate: 512_000, highQuality: true},
  {channels: 6, streams: 4, coupled: 2, mapping: identity(6), bitrate: 256_000, highQuality: false},
  {channels: 6, streams: 6, coupled: 0, mapping: identity(6), bitrate: 1_536_000, highQuality: true},
  {channels: 8, streams: 5, coupled: 3, mapping: identity(8), bitrate: 450_000, highQuality: false},
  {channels: 8, streams: 8, coupled: 0, mapping: identity(8), bitrate: 2_048_000, highQuality: true},
]

/** The layout for a negotiated channel count (2, 6 or 8) and quality. */
export function opusLayout(channels: number, highQuality: boolean): OpusLayout {
  const l = OPUS_LAYOUTS.find((x) => x.channels === channels && x.highQuality === highQuality)
  if (l === undefined) throw new Error(`no Opus layout for ${channels} channels`)
  return l
}

/** The value of the layout's `a=fmtp:97 surround-params=` line (rtsp.md §3.2). */
function surroundParams(l: OpusLayout): string {
  const m = [...l.mapping]
  // normal-quality surround: the client moves the last digit to position 3, so send position 3 last
  const sent = l.channels > 2 && !l.highQuality ? [...m.slice(0, 3), ...m.slice(4), m[3]] : m
  return `${l.channels}${l.streams}${l.coupled}${sent.join('')}`
}

/** Every surround-params line of the DESCRIBE, in table order (normal before high quality per count). */
export function surroundParamsLines(): string[] {
  return OPUS_LAYOUTS.map((l) => `a=fmtp:97 surround-params=${surroundParams(l)}`)
}

/**
 * Opus frame duration in ms for the negotiated x-nv-aqos.packetDuration: 5 or 10; high-quality
 * surround always 5 (audio.md §2: its packets would not fit a datagram at 10 ms).
 */
export function packetDurationMs(channels: number, highQuality: boolean, announcedMs: number): 5 | 10 {
  if (channels > 2 && highQuality) return 5
  return announcedMs === 10 ? 10 : 5
}

/** The negotiated Opus layout (channels 2, 6 or 8; normal or high quality). */
export function audioLayout(cfg: AudioStreamConfig): OpusLayout {
  return opusLayout(cfg.channels, cfg.highQuality)
}

/** Opus frame duration in ms: the ANNOUNCE's 5 or 10, high-quality surround always 5. */
export function audioDurationMs(cfg: AudioStreamConfig): 5 | 10 {
  return packetDurationMs(cfg.channels, cfg.highQuality, cfg.packetDurationMs)
}
