/**
 * What the control side of a stream (index.ts, on Node's main thread) and its worker threads
 * share: the SharedArrayBuffer layout (flags the worker polls every frame, counters it
 * publishes), the data a worker starts with and the messages it posts.
 */
import type {AudioCapture} from '../../native/audio.js'
import type {UdpStats} from '../../native/net.js'
import type {PerfLogWriterStats} from '../../perf/writer.js'
import type {PeerAddress} from '../../protocol/pipeline.js'
import type {StreamConfig} from '../../protocol/stream-config.js'
import type {CapturePathSetting} from './capture-path.js'
import type {VideoFrameStats} from './frame-stats.js'
import type {SendAt} from './video-loop.js'

/** Int32 flags at the start of the shared buffer. */
export const Flag = {
  /** 1 = encode the next frame as an IDR (the worker clears it when it takes it) */
  idr: 0,
  /** 1 = stop: the worker finishes its frame, releases everything and exits */
  stop: 1,
  /** frames the client reported lost (IDR / RFI requests after the start), for the perf log */
  clientLost: 2,
  /** 1 once the worker is running (its first frame is queued) */
  running: 3,
  /** 1 once the send thread reported the first frame (an IDR) sent */
  firstSent: 4,
} as const
const FLAG_INTS = 8

/** Float64 counters after the flags. */
export const Counter = {
  framesSent: 0,
  uniqueFrames: 1,
  reencodedFrames: 2,
  idrFrames: 3,
  lateFrames: 4,
  packetsSent: 5,
  bytesSent: 6,
  /** frames the send thread could not take (its queue full) */
  droppedFrames: 7,
  /** p99 of the encode time over the last second, µs */
  encodeP99Us: 8,
  /** frames sent in the last full second */
  fpsLastSecond: 9,
  /** bytes sent in the last full second */
  bytesLastSecond: 10,
  /** largest burst of the last second */
  burstLastSecond: 11,
  /** audio packets sent (audio worker) */
  audioPackets: 12,
} as const
const COUNTERS = 16

export const SHARED_BYTES = FLAG_INTS * 4 + COUNTERS * 8

export function sharedViews(sab: SharedArrayBuffer): {flags: Int32Array; counters: Float64Array} {
  return {flags: new Int32Array(sab, 0, FLAG_INTS), counters: new Float64Array(sab, FLAG_INTS * 4, COUNTERS)}
}

export type SourceName = 'synthetic' | 'x11' | 'pipewire' | 'portal' | 'gltest'
export type PacingName = 'line' | 'burst'

/** The media options `lumen serve` turns its flags into. */
export interface MediaOptions {
  source: SourceName
  /** X display for the x11 source ('' = $DISPLAY) */
  display?: string
  /** PipeWire node id or name for the pipewire source ('' = the portal or the first video source) */
  pipewireTarget?: string
  /** encoder name override (libx264, libx265, libaom-av1, h264_nvenc, hevc_nvenc, av1_nvenc) */
  encoder?: string
  pacing: PacingName
  /** burst pacing: at most this many packets back to back */
  burstPackets: number
  /** burst pacing: share of the frame interval a frame is spread over (0..1] */
  burstSpread: number
  /** write LUMEN_PERF records here */
  perfPath?: string
  /** draw the frame counter as a machine-readable stamp (synthetic source; default true) */
  stamp?: boolean
  /** audio source: auto (PipeWire monitor, else tone), pipewire, tone, or off */
  audio: 'auto' | 'pipewire' | 'tone' | 'off'
  /** the tone's frequency (Hz) */
  toneHz?: number
  /** fps cap (default MAX_STREAM_FPS) */
  maxFps?: number
  /** FEC percentage override (default: the stream config's) */
  fecPercentage?: number
  /** the frame loop's SCHED_FIFO priority, the send thread's one above (0 = off; serve --realtime) */
  realtime?: number
  /** µs the send thread spins before a deadline (serve --spin-us) */
  spinUs?: number
  /** UDP GSO for video batches (serve --udp-gso; default on) */
  udpGso?: boolean
  /** software encoder presets and conversion threads (serve --x264-preset, --x265-preset, --convert-threads) */
  x264Preset?: string
  x265Preset?: string
  /** libaom-av1's realtime speed (serve --aom-speed) */
  aomSpeed?: number
  convertThreads?: 1 | 2
  /** bound on each ScreenCast portal step and the first frame (serve --portal-timeout) */
  portalTimeoutMs?: number
  /** what the frame grid drives: capture, sending when ready (default), or the send itself (serve --send-at) */
  sendAt?: SendAt
  /** the path frames take to the encoder (serve --capture-path; default auto): ./capture-path.ts */
  capturePath?: CapturePathSetting
  /** test hook (serve --debug-gpu-fail-at): the GPU path's import fails on this frame */
  gpuFailAtFrame?: number
}

/** What a stream's worker thread (video: ./worker.ts, audio: ../audio/worker.ts) starts with. */
export interface WorkerData {
  kind: WorkerKind
  config: StreamConfig
  peer: PeerAddress
  /** the host's bound socket for this kind (-1: open our own) */
  socketFd: number
  /** the flags and counters (sharedViews) */
  sab: SharedArrayBuffer
  /** the worker's handle ledger (./ledger.ts) */
  ledger: SharedArrayBuffer
  options: MediaOptions
}

export type WorkerKind = 'video' | 'audio'

/**
 * What a worker posts to the main thread: `started` (or `error`), then `stopped` when its loop ended
 * (it releases its resources as it exits). The main thread posts nothing: it speaks through the
 * shared flags.
 */
export type WorkerMessage =
  | {
      type: 'started'
      kind: 'video'
      encoder: string
      width: number
      height: number
      capture: string
      fps: number
      source: string
      realtime: string
      /** 'gpu' or 'cpu', and why */
      capturePath: string
    }
  | {type: 'log'; kind: WorkerKind; line: string}
  | {type: 'started'; kind: 'audio'; source: string; bitrate: number; durationMs: number; channels: number; streams: number; coupled: number}
  | {type: 'stopped'; kind: 'video'; udp: UdpStats; perf?: PerfLogWriterStats; frames: VideoFrameStats}
  | {type: 'stopped'; kind: 'audio'; udp: UdpStats; capture: ReturnType<AudioCapture['stats']>}
  | {type: 'error'; kind: WorkerKind; message: string}
