/**
 * The test client's video receiver: the datagrams arriving on its video ping socket go through
 * the client-side depacketizer (decrypt, FEC rebuild, reassembly: src/media/depacketizer) and
 * every completed frame is DECODED with the shim's decoder; the frame counter the synthetic
 * source stamps into each picture is read back from the decoded luma. A lost frame makes it ask
 * for an IDR, like moonlight-common-c without RFI.
 */
import type {Socket} from 'node:dgram'

import {VideoDepacketizer} from '../../src/media/depacketizer/index.js'
import {readStampI420} from '../../src/media/capture/stamp.js'
import {NativeDecoder, pictureBytes} from '../../src/native/codec.js'

export interface ReceivedFrame {
  frameIndex: number
  frameType: number
  /** when the frame completed (ms, performance.now()) */
  at: number
  /** the same moment on the monotonic clock the host's grid runs on (ns, process.hrtime) */
  arrivalNs: bigint
  /** the host's 90 kHz RTP timestamp (its capture clock) */
  rtpTimestamp: number
  bytes: number
  latencyTenthMs: number
  rebuilt: number
  /** decoded picture: key frame per the decoder, and the stamped counter (undefined: unreadable) */
  decoded: boolean
  keyFrame: boolean
  stamp?: number
  width?: number
  height?: number
  /** as the decoder reports the picture: bits a sample and chroma format (420, 444) */
  bitDepth?: number
  chromaFormat?: number
  /** the access unit as the decoder got it (with keepData) */
  data?: Buffer
}

export interface VideoReceiverOptions {
  codec: 'h264' | 'hevc' | 'av1'
  packetSize: number
  encryptionKey?: Buffer
  /** called when a frame is lost (the client would request an IDR) */
  onLoss?: (frameIndex: number) => void
  /** decode every frame (default true) */
  decode?: boolean
  /** keep each frame's access unit in ReceivedFrame.data */
  keepData?: boolean
}

export class VideoReceiver {
  readonly frames: ReceivedFrame[] = []
  readonly lost: number[] = []
  readonly decodeErrors: string[] = []
  datagrams = 0
  private readonly depacketizer: VideoDepacketizer
  private readonly decoder: NativeDecoder | undefined
  private picture = Buffer.alloc(0)
  /** like the client: after a loss, drop frames until an IDR arrives */
  private waitingForIdr = false
  droppedWaitingForIdr = 0
  private readonly listener: (msg: Buffer) => void

  constructor(
    private readonly socket: Socket,
    private readonly options: VideoReceiverOptions,
  ) {
    this.depacketizer = new VideoDepacketizer({packetSize: options.packetSize, encryptionKey: options.encryptionKey})
    this.decoder = options.decode === false ? undefined : NativeDecoder.open(options.codec)
    this.listener = (msg) => this.onDatagram(msg)
    socket.on('message', this.listener)
  }

  get stats() {
    return this.depacketizer.stats
  }

  private onDatagram(msg: Buffer): void {
    this.datagrams++
    for (const e of this.depacketizer.push(msg)) {
      if (e.kind === 'lost') {
        this.lost.push(e.frameIndex)
        if (!this.waitingForIdr) this.options.onLoss?.(e.frameIndex)
        this.waitingForIdr = true
        continue
      }
      const f: ReceivedFrame = {
        frameIndex: e.frameIndex,
        frameType: e.frameType,
        at: performance.now(),
        arrivalNs: process.hrtime.bigint(),
        rtpTimestamp: e.rtpTimestamp,
        bytes: e.data.length,
        latencyTenthMs: e.latencyTenthMs,
        rebuilt: e.dataRebuilt,
        decoded: false,
        keyFrame: false,
        ...(this.options.keepData === true ? {data: Buffer.from(e.data)} : {}),
      }
      this.frames.push(f)
      if (this.waitingForIdr) {
        if (e.frameType !== 2) {
          this.droppedWaitingForIdr++
          continue
        }
        this.waitingForIdr = false
      }
      if (this.decoder === undefined) continue
      try {
        // the decoder may need the picture size first: grow the buffer on demand
        if (this.picture.length === 0) this.picture = Buffer.alloc(pictureBytes(7680, 4320, 'i420'))
        const pic = this.decoder.decode(Buffer.from(e.data), 'i420', this.picture)
        if (pic !== undefined) {
          f.decoded = true
          f.keyFrame = pic.keyFrame
          f.width = pic.width
          f.height = pic.height
          f.bitDepth = pic.bitDepth
          f.chromaFormat = pic.chromaFormat
          f.stamp = readStampI420(this.picture, pic.width, pic.height)
        }
      } catch (error) {
        this.decodeErrors.push(`frame ${e.frameIndex}: ${(error as Error).message}`)
      }
    }
  }

  close(): void {
    this.socket.off('message', this.listener)
    this.decoder?.close()
  }
}
