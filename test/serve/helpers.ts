/**
 * A whole `lumen serve` stream on real sockets: GameStreamHost with the real StartStream
 * (worker threads, encoder, packetizer, send thread), and the test client paired, launched,
 * through RTSP and the control stream, receiving and decoding video and audio.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {FixedPinSource} from '../../src/host/pairing.js'
import {GameStreamHost} from '../../src/host/server.js'
import {createStartStream, type MediaOptions, type MediaStream} from '../../src/media/stream/index.js'
import {MoonlightTestClient, createClientIdentity, DEFAULT_ANNOUNCE} from '../client/client.js'
import type {ControlClient} from '../client/control.js'
import {AudioReceiver} from '../client/media-audio.js'
import {VideoReceiver} from '../client/media-video.js'

export interface ServeSessionOptions {
  media?: Partial<MediaOptions>
  announce?: Partial<typeof DEFAULT_ANNOUNCE>
  /** address the client binds its media sockets to / reaches the host at */
  clientAddress?: string
  hostAddress?: string
  /** decode video (default true) */
  decode?: boolean
}

export interface ServeSession {
  host: GameStreamHost
  streams: MediaStream[]
  client: MoonlightTestClient
  control: ControlClient
  video: VideoReceiver
  audio: AudioReceiver
  idrRequestsSent: number
  close(): Promise<void>
}

export const DEFAULT_MEDIA: MediaOptions = {source: 'synthetic', pacing: 'line', burstPackets: 32, burstSpread: 0.5, audio: 'tone', toneHz: 1000}

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
    codecModeSupport: 0x101,
    encryptionSupported: 0x07,
  })
  await host.start()
  const client = new MoonlightTestClient({host: hostAddress, httpPort: host.ports.http, identity: await createClientIdentity()})
  const paired = await client.pair('1234')
  if (paired.outcome !== 'paired') throw new Error(`pairing failed: ${paired.outcome}`)
  const announce = {...DEFAULT_ANNOUNCE, codec: 1 as const, encryptionEnabled: 7, ...o.announce}
  const encryptVideo = (announce.encryptionEnabled & 0x02) !== 0
  // like the client: with video encryption the announced packet size is 32 less (media-encryption.md §2)
  const packetSize = encryptVideo ? announce.packetSize - 32 : announce.packetSize
  const launch = await client.launch({appId: 1, mode: `${announce.width}x${announce.height}x${announce.fps}`})
  const hs = await client.rtsp(launch, {...announce, packetSize})
  const audioPing = await client.pingSocket(hs.audioPort, hs.pingPayload)
  const audio = new AudioReceiver(audioPing.socket, {encryption: (announce.encryptionEnabled & 0x04) !== 0 ? {key: launch.riKey, keyId: launch.riKeyId} : undefined})
  const control = await client.connectControl(launch, hs)
  const videoPing = await client.pingSocket(hs.videoPort, hs.pingPayload)
  videoPing.socket.setRecvBufferSize(8 << 20)
  const session: ServeSession = {
    host,
    streams,
    client,
    control,
    audio,
    idrRequestsSent: 0,
    video: new VideoReceiver(videoPing.socket, {
      codec: announce.codec === 1 ? 'hevc' : 'h264',
      packetSize,
      encryptionKey: encryptVideo ? launch.riKey : undefined,
      decode: o.decode,
      onLoss: () => {
        session.idrRequestsSent++
        control.requestIdr()
      },
    }),
    close: async () => {
      session.video.close()
      audio.close()
      await control.close()
      videoPing.stop()
      audioPing.stop()
      await host.stop()
      await Promise.all(streams.map((s) => s.stop()))
      rmSync(dir, {recursive: true, force: true})
    },
  }
  return session
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
