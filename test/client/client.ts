/**
 * A Moonlight test client written from docs/protocol/: identity, serverinfo, pairing, applist,
 * launch/resume/cancel, the RTSP handshake (plain or rtspenc://), the encrypted control stream and
 * A/V pings. Integration tests drive a GameStreamHost with it over loopback; later issues extend
 * it to receive video and audio (see `pingSocket`: the socket the host sends media to).
 */
import {randomBytes} from 'node:crypto'
import {createSocket, type Socket} from 'node:dgram'

import {createSelfSignedCert} from '../../src/host/store.js'
import {ControlClient} from './control.js'
import {get, type ClientIdentityPem} from './http.js'
import {pair, type PairTranscript} from './pairing.js'
import {rtspHandshake, type AnnounceParams, type HandshakeResult, type RtspEncryption} from './rtsp.js'
import {parseNvXml, type NvXml} from './xml.js'

export type ClientIdentity = ClientIdentityPem

/** A client certificate like moonlight-qt's: RSA 2048, SHA-256, CN "NVIDIA GameStream Client". */
export async function createClientIdentity(): Promise<ClientIdentity> {
  return createSelfSignedCert('NVIDIA GameStream Client', 20)
}

export interface TestClientOptions {
  host: string
  httpPort: number
  identity: ClientIdentity
  /** moonlight-embedded sends 0123456789ABCDEF always */
  uniqueid?: string
}

export interface LaunchOptions {
  appId?: number
  mode?: string
  /** send corever=1 (the host may answer rtspenc://) */
  corever?: boolean
  resume?: boolean
}

export interface LaunchResult {
  xml: NvXml
  sessionUrl: string
  riKey: Buffer
  riKeyId: number
}

export const DEFAULT_ANNOUNCE: Omit<AnnounceParams, 'hostAddress' | 'videoPort'> = {
  width: 1280,
  height: 720,
  fps: 60,
  packetSize: 1392,
  configuredBitrateKbps: 10_000,
  codec: 0,
  encryptionEnabled: 1,
  audioChannels: 2,
  minRequiredFecPackets: 2,
  slices: 1,
}

export class MoonlightTestClient {
  readonly uniqueid: string
  httpsPort?: number
  /** pinned after pairing */
  serverCertPem?: string
  /** the client's RTSP counter: never reset (docs/protocol/rtsp.md §4) */
  private readonly rtspEnc: {seq: number} = {seq: 0}

  constructor(readonly options: TestClientOptions) {
    this.uniqueid = options.uniqueid ?? randomBytes(8).toString('hex').toUpperCase()
  }

  private query(extra: Record<string, string>): string {
    const q = new URLSearchParams({uniqueid: this.uniqueid, uuid: randomBytes(16).toString('hex'), ...extra})
    return q.toString()
  }

  async httpGet(path: string, extra: Record<string, string> = {}): Promise<NvXml> {
    const r = await get(`http://${this.options.host}:${this.options.httpPort}${path}?${this.query(extra)}`)
    if (r.httpStatus !== 200) throw new Error(`HTTP ${r.httpStatus} on ${path}`)
    return parseNvXml(r.body.toString('utf8'))
  }

  /** HTTPS with the client certificate (or without one when `withCert` is false). */
  async httpsGet(path: string, extra: Record<string, string> = {}, withCert = true): Promise<NvXml> {
    const r = await this.httpsRaw(path, extra, withCert)
    if (r.httpStatus !== 200) throw new Error(`HTTP ${r.httpStatus} on ${path}`)
    return parseNvXml(r.body.toString('utf8'))
  }

  async httpsRaw(path: string, extra: Record<string, string> = {}, withCert = true) {
    if (this.httpsPort === undefined) await this.serverInfo()
    return get(`https://${this.options.host}:${this.httpsPort}${path}?${this.query(extra)}`, {
      identity: withCert ? this.options.identity : undefined,
      pinnedServerCertPem: this.serverCertPem,
    })
  }

  /** HTTP /serverinfo (learns HttpsPort); with `secure`, the HTTPS one. */
  async serverInfo(secure = false): Promise<NvXml> {
    if (!secure) {
      const x = await this.httpGet('/serverinfo')
      this.httpsPort = Number(x.get('HttpsPort') ?? 47984)
      return x
    }
    return this.httpsGet('/serverinfo')
  }

  async pair(pin: string, options: {skipPinCheck?: boolean} = {}): Promise<PairTranscript> {
    await this.serverInfo()
    let plainCert: string | undefined
    const t = await pair(
      async (q, secure) => {
        if (secure) {
          this.serverCertPem ??= plainCert
          return this.httpsGet('/pair', {devicename: 'roth', updateState: '1', ...q})
        }
        const x = await this.httpGet('/pair', {devicename: 'roth', updateState: '1', ...q})
        const plain = x.get('plaincert')
        if (plain !== undefined) plainCert = Buffer.from(plain, 'hex').toString('utf8')
        return x
      },
      async () => {
        await this.httpGet('/unpair')
      },
      this.options.identity,
      pin,
      options,
    )
    if (t.outcome === 'paired') this.serverCertPem = t.serverCertPem
    return t
  }

  async appList(): Promise<Array<{id: number; title: string; hdr: boolean}>> {
    const x = await this.httpsGet('/applist')
    if (x.statusCode !== 200) throw new Error(`applist: ${x.statusCode} ${x.statusMessage ?? ''}`)
    return [...x.body.matchAll(/<App>([\s\S]*?)<\/App>/g)].map((m) => {
      const a = parseNvXml(`<root status_code="200">${m[1]}</root>`)
      return {id: Number(a.get('ID')), title: a.get('AppTitle') ?? '', hdr: a.get('IsHdrSupported') === '1'}
    })
  }

  async launch(o: LaunchOptions = {}): Promise<LaunchResult> {
    const riKey = randomBytes(16)
    const riKeyId = randomBytes(4).readInt32BE(0)
    const params: Record<string, string> = {
      mode: o.mode ?? '1280x720x60',
      additionalStates: '1',
      sops: '0',
      rikey: riKey.toString('hex'),
      rikeyid: String(riKeyId),
      localAudioPlayMode: '0',
      surroundAudioInfo: '196610',
      remoteControllersBitmap: '0',
      gcmap: '0',
      gcpersist: '0',
    }
    if (!o.resume) params.appid = String(o.appId ?? 1)
    if (o.corever ?? true) params.corever = '1'
    const xml = await this.httpsGet(o.resume ? '/resume' : '/launch', params)
    return {xml, sessionUrl: xml.get('sessionUrl0') ?? '', riKey, riKeyId}
  }

  async cancel(): Promise<NvXml> {
    return this.httpsGet('/cancel')
  }

  /** The RTSP handshake against a launch's sessionUrl0 (encrypted when it says rtspenc://). */
  async rtsp(launch: LaunchResult, announce: Partial<typeof DEFAULT_ANNOUNCE> = {}): Promise<HandshakeResult> {
    const m = /^(rtspenc|rtsp):\/\/(.+):(\d+)$/.exec(launch.sessionUrl)
    if (m === null) throw new Error(`unusable sessionUrl0 '${launch.sessionUrl}'`)
    const enc: RtspEncryption | undefined = m[1] === 'rtspenc' ? {key: launch.riKey, seq: this.rtspEnc.seq} : undefined
    try {
      return await rtspHandshake(this.options.host, Number(m[3]), {...DEFAULT_ANNOUNCE, ...announce}, enc)
    } finally {
      if (enc !== undefined) this.rtspEnc.seq = enc.seq
    }
  }

  /** Connects the control stream after PLAY; `start` sends Start A/B and begins 100 ms pings. */
  async connectControl(launch: LaunchResult, hs: HandshakeResult, start = true): Promise<ControlClient> {
    const c = new ControlClient(launch.riKey)
    await c.connect(this.options.host, hs.controlPort, hs.connectData)
    if (start) c.start()
    return c
  }

  /** A UDP socket that pings the host's video or audio port every 500 ms with the session payload. */
  async pingSocket(port: number, payload: string, intervalMs = 500): Promise<{socket: Socket; stop(): void}> {
    const socket = createSocket('udp4')
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()))
    // as moonlight-common-c asks for its RTP socket: room for 2048 packets (the kernel caps it at
    // net.core.rmem_max), so a busy event loop does not lose datagrams in the socket
    socket.setRecvBufferSize(2048 * 1500)
    let n = 0
    const send = (): void => {
      const b = Buffer.alloc(20)
      b.write(payload.padEnd(16, ' ').slice(0, 16), 0, 'latin1')
      b.writeUInt32BE(++n, 16)
      socket.send(b, port, this.options.host)
    }
    send()
    const timer = setInterval(send, intervalMs)
    return {
      socket,
      stop: () => {
        clearInterval(timer)
        socket.close()
      },
    }
  }
}
