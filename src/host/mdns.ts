/** mDNS advertisement of `_nvstream._tcp` (http-and-pairing.md §1) through @homebridge/ciao. */
import ciao from '@homebridge/ciao'

/** Sunshine's rule: host name cut to 63 characters, spaces → '-', up to the first character that is not alphanumeric or '-'. */
export function mdnsInstanceName(hostname: string): string {
  const cut = hostname.slice(0, 63).replace(/ /g, '-')
  const m = /^[A-Za-z0-9-]+/.exec(cut)
  return m !== null ? m[0] : 'Lumen'
}

export class MdnsAdvertiser {
  private responder?: ReturnType<typeof ciao.getResponder>
  private service?: ReturnType<ReturnType<typeof ciao.getResponder>['createService']>

  async start(hostname: string, httpPort: number): Promise<void> {
    this.responder = ciao.getResponder()
    // IPv4 only: the control stream's libenet cannot serve IPv6 clients (control-stream.md §1.2)
    this.service = this.responder.createService({name: mdnsInstanceName(hostname), type: 'nvstream', protocol: 'tcp' as never, port: httpPort, disabledIpv6: true})
    await this.service.advertise()
  }

  async stop(): Promise<void> {
    try {
      await this.service?.end()
      await this.service?.destroy()
      await this.responder?.shutdown()
    } finally {
      this.service = undefined
      this.responder = undefined
    }
  }
}
