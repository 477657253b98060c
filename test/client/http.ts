/** The client's HTTP(S) transport: one GET per connection, client certificate on HTTPS. */
import {request as httpRequest} from 'node:http'
import {request as httpsRequest} from 'node:https'
import {X509Certificate} from 'node:crypto'

export interface ClientIdentityPem {
  certPem: string
  keyPem: string
}

export interface GetOptions {
  /** HTTPS with this client certificate (omit for no certificate) */
  identity?: ClientIdentityPem
  /** the pinned server certificate (PEM): the TLS peer must present exactly this */
  pinnedServerCertPem?: string
  timeoutMs?: number
}

export interface RawAnswer {
  httpStatus: number
  contentType: string
  body: Buffer
}

export function get(url: string, options: GetOptions = {}): Promise<RawAnswer> {
  const u = new URL(url)
  const secure = u.protocol === 'https:'
  return new Promise((resolve, reject) => {
    const common = {method: 'GET', host: u.hostname, port: Number(u.port), path: `${u.pathname}${u.search}`, agent: false as const, headers: {Connection: 'close'}}
    const req = secure
      ? httpsRequest({
          ...common,
          rejectUnauthorized: false,
          cert: options.identity?.certPem,
          key: options.identity?.keyPem,
          servername: undefined,
        })
      : httpRequest(common)
    req.setTimeout(options.timeoutMs ?? 30_000, () => req.destroy(new Error(`timeout on ${u.pathname}`)))
    req.on('error', reject)
    req.on('response', (res) => {
      if (secure && options.pinnedServerCertPem !== undefined) {
        const peer = (res.socket as import('node:tls').TLSSocket).getPeerCertificate(false)
        const pinned = new X509Certificate(options.pinnedServerCertPem).raw
        if (!Buffer.isBuffer(peer.raw) || !peer.raw.equals(pinned)) {
          req.destroy()
          reject(new Error('the server presented a certificate other than the pinned one'))
          return
        }
      }
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({httpStatus: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks)}))
      res.on('error', reject)
    })
    req.end()
  })
}
