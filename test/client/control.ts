/**
 * The client side of the control stream (docs/protocol/control-stream.md): ENet through the shim's libenet,
 * 48 channels with the connect data, the V2 AES-GCM envelope, Start A/B, pings, input, and the
 * host's termination.
 */
import {EnetHost, EnetSend} from '../../src/native/enet.js'
import {ControlType, openControl, sealControl, type ControlMessage} from '../../src/host/control-codec.js'

export const Channel = {generic: 0, urgent: 1, keyboard: 2, mouse: 3, pen: 4, touch: 5, utf8: 6} as const

export class ControlClient {
  private readonly enet = new EnetHost({peerCount: 1})
  private peer = -1
  private seq = 0
  private timer?: NodeJS.Timeout
  private pingTimer?: NodeJS.Timeout
  connected = false
  disconnected = false
  readonly received: ControlMessage[] = []
  private readonly waiters: Array<() => void> = []

  constructor(private readonly key: Buffer) {}

  /** Connects (48 channels, connect data) and resolves when ENet has connected. */
  async connect(host: string, port: number, connectData: number, timeoutMs = 10_000): Promise<void> {
    this.peer = this.enet.connect(host, port, 48, connectData)
    this.timer = setInterval(() => this.tick(), 2)
    await this.waitFor(() => this.connected || this.disconnected, timeoutMs)
    if (!this.connected) throw new Error('control stream connection refused')
    this.enet.setTimeout(this.peer, 2, 10_000, 10_000)
  }

  /** Start A (IDR request on channel 0) and Start B, then 100 ms pings, like the client. */
  start(): void {
    this.send(ControlType.idr, Buffer.from([0, 0]), Channel.generic)
    this.send(ControlType.startB, Buffer.from([0]), Channel.generic)
    this.pingTimer = setInterval(() => this.send(ControlType.ping, Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Channel.generic), 100)
  }

  requestIdr(): void {
    this.send(ControlType.idr, Buffer.from([0, 0]), Channel.urgent)
  }

  /** Sends one input packet (NV input packet bytes) inside 0x0206. */
  sendInput(packet: Buffer, channel: number = Channel.mouse): void {
    this.send(ControlType.input, packet, channel)
  }

  send(type: number, payload: Buffer, channel: number, flags: number = EnetSend.reliable): void {
    this.sendRaw(sealControl(this.key, this.seq++, type, payload, 'client'), channel, flags)
  }

  /** Sends raw bytes as one ENet packet (for malformed-input tests). */
  sendRaw(data: Buffer, channel = 0, flags: number = EnetSend.reliable): void {
    if (this.disconnected) return // like the client: nothing more goes out on a dead peer
    this.enet.send(this.peer, channel, data, flags)
    this.enet.flush()
  }

  /** Resolves when a message of that type arrived (or the host disconnected). */
  async waitForMessage(type: number, timeoutMs = 10_000): Promise<ControlMessage | undefined> {
    await this.waitFor(() => this.received.some((m) => m.type === type) || this.disconnected, timeoutMs)
    return this.received.find((m) => m.type === type)
  }

  async waitForDisconnect(timeoutMs = 10_000): Promise<void> {
    await this.waitFor(() => this.disconnected, timeoutMs)
  }

  private tick(): void {
    for (const e of this.enet.service(0)) {
      if (e.type === 'connect') this.connected = true
      else if (e.type === 'disconnect') this.disconnected = true
      else if (e.type === 'receive') {
        try {
          this.received.push(openControl(this.key, e.data, 'host'))
        } catch {
          // the client drops what it cannot open
        }
      }
    }
    for (const w of this.waiters.splice(0)) w()
  }

  private waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const deadline = Date.now() + timeoutMs
      const check = (): void => {
        if (cond() || Date.now() > deadline) resolve()
        else this.waiters.push(check)
      }
      check()
    })
  }

  /** ENet disconnect (the user stops streaming), then releases the host. */
  async close(graceful = true): Promise<void> {
    if (this.pingTimer !== undefined) clearInterval(this.pingTimer)
    if (graceful && this.connected && !this.disconnected) {
      this.enet.disconnect(this.peer, 0)
      await this.waitFor(() => this.disconnected, 2000)
    }
    if (this.timer !== undefined) clearInterval(this.timer)
    this.enet.destroy()
  }
}
