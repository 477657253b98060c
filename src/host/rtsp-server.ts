/**
 * RTSP on TCP 48010 (rtsp.md): one request per connection, plain or rtspenc://, matched to a
 * pending launch session. The server answers, then closes.
 */
import {createServer, type Server, type Socket} from 'node:net'

import {ConnectionGuard, type ConnectionLimits} from './connection-guard.js'
import type {DropCounters} from './drops.js'
import {listenOn} from './listen.js'

import {
  ENCRYPTED_RTSP_HEADER,
  looksEncrypted,
  openRtsp,
  parseRtspRequest,
  peekEncryptedFrame,
  RTSP_LIMITS,
  RtspParseError,
  sealRtsp,
  serializeRtspResponse,
  type RtspRequest,
  type RtspResponse,
} from './rtsp-codec.js'
import {describeBody, parseAnnounce, SdpError, type DescribeOptions} from './sdp.js'
import type {LaunchSession} from './session.js'
import {announcedModeBit} from '../protocol/flags.js'
import type {StreamConfig} from '../protocol/stream-config.js'

export interface RtspContext {
  /** launch sessions that may still run the handshake, most recent last */
  pendingSessions(): LaunchSession[]
  ports(): {video: number; audio: number; control: number}
  describe(): DescribeOptions
  announced(session: LaunchSession, config: StreamConfig): void
  played(session: LaunchSession): void
  malformed(what: string, detail: string): void
  log(message: string): void
  /** refused connections and timeouts are counted here */
  drops: DropCounters
  limits?: Partial<ConnectionLimits>
}

const MAX_CONNECTION_BYTES = ENCRYPTED_RTSP_HEADER + RTSP_LIMITS.maxHeaderBytes + RTSP_LIMITS.maxBodyBytes + 4
export class RtspServer {
  private server?: Server
  private readonly sockets = new Set<Socket>()
  private readonly guard: ConnectionGuard
  requests = 0

  constructor(private readonly ctx: RtspContext) {
    this.guard = new ConnectionGuard('rtsp', ctx.drops, ctx.limits)
  }

  openConnections(): number {
    return this.guard.connections
  }

  closedConnections(): number {
    return this.guard.closed
  }

  async listen(port: number, host: string): Promise<number> {
    const server = createServer((sock) => this.onConnection(sock))
    this.server = server
    return listenOn(server, port, host)
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    const server = this.server
    if (server !== undefined) await new Promise<void>((r) => server.close(() => r()))
  }

  private onConnection(sock: Socket): void {
    sock.on('error', () => {})
    if (!this.guard.admit(sock)) return
    this.sockets.add(sock)
    sock.on('close', () => this.sockets.delete(sock))
    let buf = Buffer.alloc(0)
    let done = false
    sock.on('data', (chunk: Buffer) => {
      if (done) return
      if (buf.length + chunk.length > MAX_CONNECTION_BYTES) {
        done = true
        this.ctx.malformed('rtsp', 'request larger than the limit')
        sock.destroy()
        return
      }
      buf = Buffer.concat([buf, chunk])
      try {
        const reply = this.tryHandle(buf, sock.remoteAddress ?? '')
        if (reply === undefined) return
        done = true
        this.guard.requestComplete(sock)
        sock.end(reply)
        this.guard.responseDone(sock)
      } catch (error) {
        done = true
        this.ctx.malformed('rtsp', (error as Error).message)
        if (error instanceof RtspParseError && !looksEncrypted(buf)) {
          sock.end(serializeRtspResponse({status: 400, reason: 'BAD REQUEST', headers: [['CSeq', '0']]}))
        } else sock.destroy()
      }
    })
  }

  /** Returns the bytes to send, or undefined while the request is incomplete. */
  private tryHandle(buf: Buffer, remote: string): Buffer | undefined {
    const address = remote.replace(/^::ffff:/, '')
    if (looksEncrypted(buf)) {
      const frame = peekEncryptedFrame(buf)
      if (!frame.complete) return undefined
      for (const s of this.ctx.pendingSessions().reverse()) {
        if (!s.rtspEncrypted) continue
        let plain: Buffer
        try {
          plain = openRtsp(s.riKey, buf.subarray(0, frame.consumed), 'client').plain
        } catch {
          continue
        }
        const parsed = parseRtspRequest(plain)
        if (!parsed.complete) throw new RtspParseError('encrypted RTSP frame holds an incomplete request')
        const response = serializeRtspResponse(this.handle(parsed.request, s))
        return sealRtsp(s.riKey, s.rtspHostSeq++, response, 'host')
      }
      throw new RtspParseError('encrypted RTSP frame matches no launch session')
    }
    const parsed = parseRtspRequest(buf)
    if (!parsed.complete) return undefined
    const req = parsed.request
    const sessions = this.ctx.pendingSessions()
    const token = req.headers.get('session')?.split(';')[0]?.trim()
    let session = token !== undefined ? sessions.find((s) => s.rtspSessionId === token) : undefined
    session ??= [...sessions].reverse().find((s) => s.clientAddress === address)
    if (session === undefined) {
      return serializeRtspResponse({status: 503, reason: 'Service Unavailable', headers: [['CSeq', req.cseq]]})
    }
    if (session.rtspEncrypted) {
      this.ctx.malformed('rtsp', 'plaintext request on an encrypted RTSP session')
      return serializeRtspResponse({status: 400, reason: 'BAD REQUEST', headers: [['CSeq', req.cseq]]})
    }
    return serializeRtspResponse(this.handle(req, session))
  }

  private handle(req: RtspRequest, s: LaunchSession): RtspResponse {
    this.requests++
    s.lastActivity = Date.now()
    const ok = (headers: Array<[string, string]> = [], body?: string): RtspResponse => ({status: 200, reason: 'OK', headers: [['CSeq', req.cseq], ...headers], body})
    switch (req.method) {
      case 'OPTIONS':
        return ok()
      case 'DESCRIBE':
        return ok([], describeBody(this.ctx.describe()))
      case 'SETUP': {
        const m = /streamid=(\w+)\//.exec(req.target)
        const kind = m?.[1]
        const ports = this.ctx.ports()
        const session: [string, string] = ['Session', `${s.rtspSessionId};timeout = 90`]
        if (kind === 'audio') return ok([session, ['Transport', `server_port=${ports.audio}`], ['X-SS-Ping-Payload', s.pingPayload]])
        if (kind === 'video') return ok([session, ['Transport', `server_port=${ports.video}`], ['X-SS-Ping-Payload', s.pingPayload]])
        if (kind === 'control') return ok([session, ['Transport', `server_port=${ports.control}`], ['X-SS-Connect-Data', String(s.connectData >>> 0)]])
        return {status: 404, reason: 'NOT FOUND', headers: [['CSeq', req.cseq]]}
      }
      case 'ANNOUNCE': {
        const host = req.headers.get('host') ?? ''
        try {
          const config = parseAnnounce(req.body, {riKey: s.riKey, riKeyId: s.riKeyId, highQualityAudioAllowed: !host.includes('0.0.0.0')})
          const offered = this.ctx.describe().codecModeSupport
          const v = config.video
          if (offered !== undefined && (announcedModeBit(v) & offered) === 0)
            throw new SdpError(`the client asked for ${v.codec} ${v.chromaSamplingType === 1 ? '4:4:4' : '4:2:0'} ${v.dynamicRangeMode === 1 ? '10-bit' : '8-bit'}, which this host does not offer (ServerCodecModeSupport ${offered})`)
          s.config = config
          this.ctx.announced(s, config)
          this.ctx.log(
            `session ${s.id}: ${config.video.width}x${config.video.height}@${config.video.fps} ${config.video.codec}${config.video.chromaSamplingType === 1 ? ' 4:4:4' : ''}${config.video.dynamicRangeMode === 1 ? ' 10-bit' : ''} ${config.video.bitrateKbps} kbit/s, packet ${config.video.packetSize}`,
          )
          return ok()
        } catch (error) {
          if (!(error instanceof SdpError)) throw error
          this.ctx.malformed('sdp', error.message)
          return {status: 400, reason: 'BAD REQUEST', headers: [['CSeq', req.cseq]]}
        }
      }
      case 'PLAY':
        s.played = true
        this.ctx.played(s)
        return ok()
      default:
        return {status: 501, reason: 'Not Implemented', headers: [['CSeq', req.cseq]]}
    }
  }
}
