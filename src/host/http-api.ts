/**
 * The nvhttp API (http-and-pairing.md §5–§10) as one request → answer function, apart from the
 * sockets: serverinfo, pairing, unpair, applist, appasset, launch, resume, cancel. Every answer
 * is HTTP 200 with the real outcome in root@status_code (except appasset's PNG).
 */
import {readFileSync} from 'node:fs'

import {PairingError, PairingWait, type PairingManager} from './pairing.js'
import {parseHex, parseIntParam, parseTarget, QueryError} from './query.js'
import type {LaunchSession} from './session.js'
import {parseMode} from './session.js'
import type {AppEntry, HostStore, PairedClient} from './store.js'
import {el, xmlRoot, type XmlElement} from './xml.js'

export const APP_VERSION = '7.1.431.-1'
export const GFE_VERSION = '3.23.0.74'

export interface HttpRequestInfo {
  /** request target: path and query */
  target: string
  secure: boolean
  /** DER of the TLS client certificate, if one was presented */
  clientCertDer?: Buffer
  /** the host address the client reached (for LocalIP and sessionUrl0) */
  localAddress: string
  localPort: number
  remoteAddress: string
}

export interface HttpAnswer {
  contentType: string
  body: string | Buffer
}

export interface LaunchRequest {
  appId: number
  resume: boolean
  client: PairedClient
  clientAddress: string
  riKey: Buffer
  riKeyId: number
  mode: {width: number; height: number; fps: number}
  localAudioPlayMode: number
  surroundAudioInfo: number
  corever: number
}

/** What the API needs from the host around it. */
export interface HttpApiHost {
  hostname: string
  httpPort(): number
  httpsPort(): number
  rtspPort(): number
  codecModeSupport: number
  maxLumaPixelsHevc: number
  /** offer rtspenc:// to clients that send corever>=1 */
  rtspEncryption: boolean
  currentApp(): AppEntry | undefined
  /** records the launch session, starts the app on launch; throws LaunchRefused */
  launch(request: LaunchRequest): Promise<LaunchSession>
  cancel(client: PairedClient): Promise<void>
  malformed(what: string, detail: string): void
  log(message: string): void
}

export class LaunchRefused extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message)
    this.name = 'LaunchRefused'
  }
}

const XML = 'application/xml'

function xml(status: number, children: XmlElement[] = [], message?: string): HttpAnswer {
  return {contentType: XML, body: xmlRoot(status, children, message)}
}

export class NvHttpApi {
  requests = 0

  constructor(
    private readonly store: HostStore,
    private readonly pairing: PairingManager,
    private readonly host: HttpApiHost,
  ) {}

  async handle(req: HttpRequestInfo): Promise<HttpAnswer> {
    this.requests++
    let path: string
    let params: Map<string, string>
    try {
      ;({path, params} = parseTarget(req.target))
    } catch (error) {
      if (!(error instanceof QueryError)) throw error
      this.host.malformed('http-query', error.message)
      return xml(400, [], error.message)
    }
    const client = req.secure && req.clientCertDer !== undefined && req.clientCertDer.length > 0 ? this.store.findClient(req.clientCertDer) : undefined
    try {
      switch (path) {
        case '/serverinfo':
          return this.serverInfo(req, client)
        case '/pair':
          return await this.pair(req, params, client)
        case '/unpair':
          // every Moonlight client sends the same uniqueid over plain HTTP: /unpair can name and
          // prove no one, so it removes nothing (SECURITY.md §Unpair); the client then forgets
          // this host on its side. It ends only this address's own pairing attempt.
          this.pairing.dropAttempt(params.get('uniqueid') ?? '', req.remoteAddress)
          this.host.log(`unpair request from ${req.remoteAddress}: nothing removed (revoke clients with the owner's tools)`)
          return xml(200)
        case '/applist':
        case '/appasset':
        case '/launch':
        case '/resume':
        case '/cancel':
          if (!req.secure) return xml(404, [], 'this request needs HTTPS')
          if (client === undefined) return xml(401, [], 'The client is not authorized. Certificate verification failed.')
          return await this.protectedCall(path, req, params, client)
        default:
          return xml(404, [], `no such path ${path.slice(0, 64)}`)
      }
    } catch (error) {
      if (error instanceof QueryError) {
        this.host.malformed('http-query', error.message)
        return xml(400, path === '/launch' ? [el('gamesession', 0)] : path === '/resume' ? [el('resume', 0)] : [el('paired', 0)], error.message)
      }
      throw error
    }
  }

  private serverInfo(req: HttpRequestInfo, client: PairedClient | undefined): HttpAnswer {
    const app = this.host.currentApp()
    const local = req.localAddress.replace(/^::ffff:/, '')
    return xml(200, [
      el('hostname', this.host.hostname),
      el('appversion', APP_VERSION),
      el('GfeVersion', GFE_VERSION),
      el('uniqueid', this.store.uniqueid),
      el('HttpsPort', this.host.httpsPort()),
      el('ExternalPort', this.host.httpPort()),
      el('MaxLumaPixelsHEVC', this.host.maxLumaPixelsHevc),
      el('mac', '00:00:00:00:00:00'),
      el('LocalIP', local.includes(':') ? '127.0.0.1' : local),
      el('ServerCodecModeSupport', this.host.codecModeSupport),
      el('PairStatus', client !== undefined ? 1 : 0),
      el('currentgame', app?.id ?? 0),
      el('state', app !== undefined ? 'SUNSHINE_SERVER_BUSY' : 'SUNSHINE_SERVER_FREE'),
    ])
  }

  private async pair(req: HttpRequestInfo, params: Map<string, string>, client: PairedClient | undefined): Promise<HttpAnswer> {
    const uniqueid = params.get('uniqueid')
    if (uniqueid === undefined || uniqueid.length === 0 || uniqueid.length > 64) throw new QueryError('missing or overlong uniqueid')
    const phrase = params.get('phrase')
    try {
      if (phrase === 'getservercert') {
        const salt = parseHex(params.get('salt'), 'salt', {bytes: 16})
        const clientPem = parseHex(params.get('clientcert'), 'clientcert', {max: 8192})
        const pem = await this.pairing.getServerCert(uniqueid, salt, clientPem, req.remoteAddress)
        return xml(200, [el('paired', 1), el('plaincert', Buffer.from(pem, 'utf8').toString('hex'))])
      }
      if (phrase === 'pairchallenge') {
        if (!req.secure || client === undefined) return xml(401, [el('paired', 0)], 'The client is not authorized. Certificate verification failed.')
        return xml(200, [el('paired', 1)])
      }
      if (params.has('clientchallenge')) {
        const r = this.pairing.clientChallenge(uniqueid, parseHex(params.get('clientchallenge'), 'clientchallenge', {bytes: 16}), req.remoteAddress)
        return xml(200, [el('paired', 1), el('challengeresponse', r.toString('hex'))])
      }
      if (params.has('serverchallengeresp')) {
        const r = this.pairing.serverChallengeResp(uniqueid, parseHex(params.get('serverchallengeresp'), 'serverchallengeresp', {bytes: 32}), req.remoteAddress)
        return xml(200, [el('paired', 1), el('pairingsecret', r.toString('hex'))])
      }
      if (params.has('clientpairingsecret')) {
        const ok = this.pairing.clientPairingSecret(uniqueid, parseHex(params.get('clientpairingsecret'), 'clientpairingsecret', {max: 16 + 1024}), req.remoteAddress)
        this.host.log(ok ? `paired a new client (${req.remoteAddress})` : `pairing from ${req.remoteAddress} failed: wrong PIN or bad signature`)
        return xml(200, [el('paired', ok ? 1 : 0)])
      }
      this.pairing.dropAttempt(uniqueid, req.remoteAddress)
      return xml(400, [el('paired', 0)], 'unknown pairing phase')
    } catch (error) {
      if (error instanceof QueryError) {
        this.pairing.dropAttempt(uniqueid, req.remoteAddress)
        throw error
      }
      if (error instanceof PairingWait) {
        this.host.malformed('pairing-wait', `${req.remoteAddress}: ${error.message}`)
        return xml(503, [el('paired', 0)], error.message)
      }
      if (error instanceof PairingError) return xml(400, [el('paired', 0)], error.message)
      throw error
    }
  }

  private async protectedCall(path: string, req: HttpRequestInfo, params: Map<string, string>, client: PairedClient): Promise<HttpAnswer> {
    switch (path) {
      case '/applist':
        return xml(
          200,
          this.store.apps().map((a) => el('App', [el('IsHdrSupported', a.hdr === true ? 1 : 0), el('AppTitle', a.title), el('ID', a.id)])),
        )
      case '/appasset': {
        const app = this.store.app(parseIntParam(params.get('appid'), 'appid', 1, 0x7fffffff))
        if (app?.image === undefined) return xml(404, [], 'no image for this app')
        try {
          return {contentType: 'image/png', body: readFileSync(app.image)}
        } catch {
          return xml(404, [], 'the app image cannot be read')
        }
      }
      case '/launch':
      case '/resume': {
        const resume = path === '/resume'
        const failTag = resume ? 'resume' : 'gamesession'
        const riKey = parseHex(params.get('rikey'), 'rikey', {bytes: 16})
        const riKeyId = parseIntParam(params.get('rikeyid'), 'rikeyid', -0x80000000, 0xffffffff) | 0
        const mode = parseMode(params.get('mode')) ?? {width: 1280, height: 720, fps: 60}
        const appId = resume ? (this.host.currentApp()?.id ?? 0) : parseIntParam(params.get('appid'), 'appid', 1, 0x7fffffff)
        const localAudioPlayMode = params.has('localAudioPlayMode') ? parseIntParam(params.get('localAudioPlayMode'), 'localAudioPlayMode', 0, 1) : 0
        if (!resume && !params.has('localAudioPlayMode')) throw new QueryError('missing localAudioPlayMode')
        const surroundAudioInfo = params.has('surroundAudioInfo') ? parseIntParam(params.get('surroundAudioInfo'), 'surroundAudioInfo', 0, 0xffffffff) : 196610
        const corever = params.has('corever') ? parseIntParam(params.get('corever'), 'corever', 0, 1000) : 0
        try {
          const session = await this.host.launch({
            appId,
            resume,
            client,
            clientAddress: req.remoteAddress.replace(/^::ffff:/, ''),
            riKey,
            riKeyId,
            mode,
            localAudioPlayMode,
            surroundAudioInfo,
            corever,
          })
          const local = req.localAddress.replace(/^::ffff:/, '')
          const addr = local.includes(':') ? `[${local}]` : local
          const url = `${session.rtspEncrypted ? 'rtspenc' : 'rtsp'}://${addr}:${this.host.rtspPort()}`
          return xml(200, [el('sessionUrl0', url), el(failTag, 1)])
        } catch (error) {
          if (error instanceof LaunchRefused) return xml(error.statusCode, [el(failTag, 0)], error.message)
          throw error
        }
      }
      case '/cancel':
        try {
          await this.host.cancel(client)
        } catch (error) {
          if (error instanceof LaunchRefused) return xml(error.statusCode, [el('cancel', 0)], error.message)
          throw error
        }
        return xml(200, [el('cancel', 1)])
      default:
        return xml(404)
    }
  }
}
