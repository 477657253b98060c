/**
 * The narrow interface between the control plane (src/host) and a stream's media pipeline
 * (src/media): start with these parameters, request an IDR, stop, read statistics.
 * The control plane owns when; the pipeline owns how. Types only: neither side imports the other.
 */
import type {StreamConfig} from './stream-config.js'

export interface PeerAddress {
  address: string
  port: number
}

export interface StreamStats {
  framesSent: number
  uniqueFrames: number
  reencodedFrames: number
  idrFrames: number
  lateFrames: number
  packetsSent: number
  bytesSent: number
  idrRequests: number
}

export interface StreamPipeline {
  /** The next frame the encoder produces is an IDR (reaches it on the very next frame). */
  requestIdr(reason: 'client-request' | 'rfi' | 'start'): void
  /** Stops capture, encode and send; resolves when every thread and socket is released. */
  stop(): Promise<void>
  stats(): StreamStats
  /** resolves with the reason when the pipeline fails mid-stream (its capture source died): the host ends the stream */
  readonly failed?: Promise<string>
}

/** A UDP socket the host bound and the client pinged: send media FROM it (docs/protocol/README.md §Session lifecycle 2). */
export interface BoundUdpSocket {
  /** the local port (47998 video / 48000 audio by default) */
  port: number
  /** the OS file descriptor (-1 when unknown); owned by the control plane, do not close it */
  fd: number
}

export interface StreamStartOptions {
  config: StreamConfig
  /** the bound video/audio sockets' ports and where the client's pings came from */
  video: {peer: PeerAddress; socket?: BoundUdpSocket}
  audio?: {peer: PeerAddress; socket?: BoundUdpSocket}
  /** the control plane's session id (the same id InputSink events carry) */
  sessionId?: number
}

export type StartStream = (options: StreamStartOptions) => Promise<StreamPipeline>
