/**
 * HTTP (47989) and HTTPS (47984) listeners for the nvhttp API: Connection: close after every
 * answer; HTTPS requests (but does not verify) a client certificate, and the API authorises it
 * against the paired store. Connections, header and body sizes and request times are bounded
 * (limits.ts, connection-guard.ts).
 */
import {createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import {createServer as createHttpsServer} from 'node:https'
import type {TLSSocket} from 'node:tls'

import {ConnectionGuard, type ConnectionLimits} from './connection-guard.js'
import type {DropCounters} from './drops.js'
import type {HttpRequestInfo, NvHttpApi} from './http-api.js'
import {CONNECTION_LIMITS} from './limits.js'
import {listenOn} from './listen.js'

export class NvHttpServers {
  private http?: Server
  private https?: Server
  httpPort = 0
  httpsPort = 0

  constructor(
    private readonly api: NvHttpApi,
    private readonly tls: {certPem: string; keyPem: string},
    private readonly onError: (error: Error) => void,
    private readonly drops: DropCounters,
    private readonly limits: Partial<ConnectionLimits> = {},
  ) {}

  private readonly guards = new Map<boolean, ConnectionGuard>()

  async listen(bindAddress: string, httpPort: number, httpsPort: number): Promise<void> {
    const sizes = {maxHeaderSize: CONNECTION_LIMITS.maxHeaderBytes}
    this.http = createHttpServer(sizes, (req, res) => void this.serve(req, res, false))
    this.https = createHttpsServer(
      {...sizes, cert: this.tls.certPem, key: this.tls.keyPem, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2'},
      (req, res) => void this.serve(req, res, true),
    )
    for (const [secure, s] of [[false, this.http], [true, this.https]] as const) {
      // the guard times the request; getservercert then stays open until the operator types the PIN
      s.requestTimeout = 0
      s.headersTimeout = 0
      s.keepAliveTimeout = 0
      s.maxHeadersCount = CONNECTION_LIMITS.maxHeaders
      const guard = new ConnectionGuard(secure ? 'https' : 'http', this.drops, this.limits)
      guard.attach(s)
      this.guards.set(secure, guard)
      s.on('clientError', (_err, socket) => {
        this.drops.count(secure ? 'https' : 'http', 'bad-request')
        socket.destroy()
      })
    }
    this.httpPort = await listenOn(this.http, httpPort, bindAddress)
    this.httpsPort = await listenOn(this.https, httpsPort, bindAddress)
  }

  openConnections(): number {
    let n = 0
    for (const g of this.guards.values()) n += g.connections
    return n
  }

  closedConnections(): number {
    let n = 0
    for (const g of this.guards.values()) n += g.closed
    return n
  }

  private async serve(req: IncomingMessage, res: ServerResponse, secure: boolean): Promise<void> {
    try {
      let clientCertDer: Buffer | undefined
      if (secure) {
        const cert = (req.socket as TLSSocket).getPeerCertificate(false)
        if (cert !== null && typeof cert === 'object' && Buffer.isBuffer(cert.raw)) clientCertDer = cert.raw
      }
      const info: HttpRequestInfo = {
        target: req.url ?? '/',
        secure,
        clientCertDer,
        localAddress: req.socket.localAddress ?? '127.0.0.1',
        localPort: req.socket.localPort ?? 0,
        remoteAddress: req.socket.remoteAddress ?? '',
      }
      // clients never send a body: a few bytes are drained, more close the connection
      const guard = this.guards.get(secure)
      let bodyBytes = 0
      req.on('data', (chunk: Buffer) => {
        bodyBytes += chunk.length
        if (bodyBytes <= CONNECTION_LIMITS.maxBodyBytes) return
        this.drops.count(secure ? 'https' : 'http', 'body-too-large')
        req.socket.destroy()
      })
      req.once('end', () => guard?.requestComplete(req.socket))
      res.once('finish', () => guard?.responseDone(req.socket))
      req.resume()
      const answer = req.method === 'GET' || req.method === 'HEAD' ? await this.api.handle(info) : {contentType: 'text/plain', body: 'GET only\n'}
      const body = typeof answer.body === 'string' ? Buffer.from(answer.body, 'utf8') : answer.body
      res.writeHead(200, {'Content-Type': answer.contentType, 'Content-Length': body.length, Connection: 'close'})
      res.end(body)
    } catch (error) {
      this.onError(error as Error)
      if (!res.headersSent) res.writeHead(200, {'Content-Type': 'application/xml', Connection: 'close'})
      res.end('<?xml version="1.0" encoding="utf-8"?>\n<root status_code="500" status_message="internal error"/>\n')
    }
  }

  async close(): Promise<void> {
    for (const s of [this.http, this.https]) {
      if (s === undefined) continue
      s.closeAllConnections()
      await new Promise<void>((r) => s.close(() => r()))
    }
  }
}
