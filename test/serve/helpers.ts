/**
 * A whole `lumen serve` stream on real sockets: GameStreamHost with the real StartStream
 * (worker threads, encoder, packetizer, send thread), and the test client paired, launched,
 * through RTSP and the control stream, receiving and decoding video and audio.
 */
import {createSocket, type Socket} from 'node:dgram'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {FixedPinSource} from '../../src/host/pairing.js'
import {GameStreamHost} from '../../src/host/server.js'
import {createStartStream, type MediaOptions, type MediaStream} from '../../src/media/stream/index.js'
import type {OpusStreamLayout} from '../../src/native/audio.js'
import {MoonlightTestClient, createClientIdentity, DEFAULT_ANNOUNCE} from '../client/client.js'
import type {ControlClient} from '../client/control.js'
import {AudioReceiver, parseSurroundParams} from '../client/media-audio.js'
import {VideoReceiver} from '../client/media-video.js'

export interface ServeSessionOptions {
  media?: Partial<MediaOptions>
  announce?: Partial<typeof DEFAULT_ANNOUNCE>
  /** address the client binds its media sockets to / reaches the host at */
  clientAddress?: string
  hostAddress?: string
  /** decode video (default true) */
  decode?: boolean
  /** keep each video frame's access unit (ReceivedFrame.data) */
  keepData?: boolean
  /** audio packets (by RTP sequence number) the client drops as if lost */
  audioDrop?: (sequence: number) => boolean
  /** /resume the running app instead of /launch (what Moonlight does when the host's currentgame is set) */
  resume?: boolean
  /** an already paired client to launch with (default: a new identity, paired with PIN 1234) */
  client?: MoonlightTestClient
  /** the host's ServerCodecModeSupport (default H.264 + HEVC Main, 0x101) */
  codecModeSupport?: number
}

export interface ServeSession {
  host: GameStreamHost
  streams: MediaStream[]
  client: MoonlightTestClient
  control: ControlClient
  video: VideoReceiver
  audio: AudioReceiver
  /** the Opus layout the client decodes with, read from the host's DESCRIBE as Moonlight does */
  audioLayout: OpusStreamLayout | undefined
  idrRequestsSent: number
  close(): Promise<void>
}

export const DEFAULT_MEDIA: MediaOptions = {source: 'synthetic', pacing: 'line', burstPackets: 32, burstSpread: 0.5, audio: 'tone', toneHz: 1000}

/** A UDP socket bound to `bindAddress` that pings the host's port every 500 ms (docs/protocol/README.md §Session lifecycle 2). */
export async function pingSocket(bindAddress: string, host: string, port: number, payload: string): Promise<{socket: Socket; stop(): void}> {
  const socket = createSocket('udp4')
  await new Promise<void>((r) => socket.bind(0, bindAddress, () => r()))
  socket.setRecvBufferSize(8 << 20)
  let n = 0
  const send = (): void => {
    const b = Buffer.alloc(20)
    b.write(payload.slice(0, 16), 0, 'latin1')
    b.writeUInt32BE(++n, 16)
    socket.send(b, port, host)
  }
  send()
  const timer = setInterval(send, 500)
  return {
    socket,
    stop: () => {
      clearInterval(timer)
      socket.close()
    },
  }
}

export interface ClientSession {
  client: MoonlightTestClient
  control: ControlClient
  video: VideoReceiver
  audio: AudioReceiver
  /** the Opus layout the client decodes with, read from the host's DESCRIBE as Moonlight does */
  audioLayout: OpusStreamLayout | undefined
  idrRequestsSent: number
  /** graceful false: the client vanishes (no ENet disconnect; the host notices by timeout) */
  close(graceful?: boolean): Promise<void>
}

/** The test client against a host at hostAddress:httpPort (PIN 1234), streaming until close(). */
export async function connectClient(hostAddress: string, httpPort: number, o: ServeSessionOptions = {}): Promise<ClientSession> {
  let client = o.client
  if (client === undefined) {
    client = new MoonlightTestClient({host: hostAddress, httpPort, identity: await createClientIdentity()})
    const paired = await client.pair('1234')
    if (paired.outcome !== 'paired') throw new Error(`pairing failed: ${paired.outcome}`)
  }
  const announce = {...DEFAULT_ANNOUNCE, codec: 1 as const, encryptionEnabled: 7, ...o.announce}
  const encryptVideo = (announce.encryptionEnabled & 0x02) !== 0
  // like the client: with video encryption the announced packet size is 32 less (docs/protocol/media-encryption.md §2)
  const packetSize = encryptVideo ? announce.packetSize - 32 : announce.packetSize
  const launch = await client.launch({appId: 1, mode: `${announce.width}x${announce.height}x${announce.fps}`, resume: o.resume})
  const hs = await client.rtsp(launch, {...announce, packetSize})
  const bindAddress = o.clientAddress ?? '127.0.0.1'
  const audioPing = await pingSocket(bindAddress, hostAddress, hs.audioPort, hs.pingPayload)
  // stereo always decodes as 2 channels, 1 coupled stream; surround with the DESCRIBE's layout
  const audioLayout = announce.audioChannels > 2 ? parseSurroundParams(hs.describe, announce.audioChannels, announce.audioQuality === 1) : undefined
  const audio = new AudioReceiver(audioPing.socket, {
    encryption: (announce.encryptionEnabled & 0x04) !== 0 ? {key: launch.riKey, keyId: launch.riKeyId} : undefined,
    layout: audioLayout,
    drop: o.audioDrop,
  })
  const control = await client.connectControl(launch, hs)
  const videoPing = await pingSocket(bindAddress, hostAddress, hs.videoPort, hs.pingPayload)
  const session: ClientSession = {
    client,
    control,
    audio,
    audioLayout,
    idrRequestsSent: 0,
    video: new VideoReceiver(videoPing.socket, {
      codec: announce.codec === 2 ? 'av1' : announce.codec === 1 ? 'hevc' : 'h264',
      packetSize,
      encryptionKey: encryptVideo ? launch.riKey : undefined,
      decode: o.decode,
      keepData: o.keepData,
      onLoss: () => {
        session.idrRequestsSent++
        control.requestIdr()
      },
    }),
    close: async (graceful = true) => {
      session.video.close()
      audio.close()
      await control.close(graceful)
      videoPing.stop()
      audioPing.stop()
    },
  }
  return session
}

export async function startServeSession(o: ServeSessionOptions = {}): Promise<ServeSession> {
  const dir = mkdtempSync(join(tmpdir(), 'lumen-serve-'))
  const streams: MediaStream[] = []
  const hostAddress = o.hostAddress ?? '127.0.0.1'
  const host = await GameStreamHost.create({
    configDir: dir,
    bindAddress: hostAddress,
    ports: {http: 0, https: 0, rtsp: 0, control: 0, video: 0, audio: 0},
    hostname: 'lumen-serve-test',
    pinSource: new FixedPinSource('1234'),
    startStream: createStartStream({...DEFAULT_MEDIA, ...o.media}, {onStream: (s) => streams.push(s)}),
    mdns: false,
    codecModeSupport: o.codecModeSupport ?? 0x101,
    encryptionSupported: 0x07,
  })
  await host.start()
  const c = await connectClient(hostAddress, host.ports.http, o)
  return {
    ...c,
    get idrRequestsSent() {
      return c.idrRequestsSent
    },
    host,
    streams,
    close: async () => {
      await c.close()
      await host.stop()
      await Promise.all(streams.map((s) => s.stop()))
      rmSync(dir, {recursive: true, force: true})
    },
  }
}
