import {afterEach, describe, expect, it} from 'vitest'

import {EnetHost, EnetSend, type EnetEvent} from '../../src/native/enet.js'
import {sleep} from '../helpers/index.js'

const queues = new Map<EnetHost, EnetEvent[]>()

/** Services every host, keeping each host's events, and takes the first event `pick` accepts. */
async function until<T>(hosts: EnetHost[], pick: (e: EnetEvent, from: EnetHost) => T | undefined, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    for (const h of hosts) {
      const q = queues.get(h) ?? []
      queues.set(h, q)
      q.push(...h.service(0))
      for (let i = 0; i < q.length; i++) {
        const v = pick(q[i], h)
        if (v !== undefined) {
          q.splice(0, i + 1)
          return v
        }
      }
    }
    await sleep(2)
  }
  throw new Error('timed out waiting for an ENet event')
}

describe('shim ENet (libenet 1.3.17)', () => {
  const open: EnetHost[] = []
  afterEach(() => {
    for (const h of open.splice(0)) h.destroy()
  })

  it('connects with 48 channels and connect data, carries packets both ways, batches events, disconnects', async () => {
    const server = new EnetHost({bindAddress: '127.0.0.1', port: 0, peerCount: 4})
    const client = new EnetHost({peerCount: 1})
    open.push(server, client)
    expect(server.port).toBeGreaterThan(0)
    client.connect('127.0.0.1', server.port, 48, 0xf6151a77)
    const conn = await until([server, client], (e, h) => (h === server && e.type === 'connect' ? e : undefined))
    expect(conn.data).toBe(0xf6151a77)
    expect(conn.address).toBe('127.0.0.1')
    await until([server, client], (e, h) => (h === client && e.type === 'connect' ? true : undefined))
    // several packets on different channels arrive in one service batch
    for (let i = 0; i < 20; i++) client.send(0, i % 7, Buffer.from([i, 1, 2, 3]), EnetSend.reliable)
    client.flush()
    const got: number[] = []
    const channels = new Set<number>()
    await until([server, client], (e, h) => {
      if (h === server && e.type === 'receive') {
        got.push(e.data[0])
        channels.add(e.channel)
      }
      return got.length === 20 ? true : undefined
    })
    expect(got.sort((a, b) => a - b)).toEqual([...Array(20).keys()])
    expect(channels.size).toBe(7)
    // a fragmented packet (> MTU) and the server→client direction
    const big = Buffer.alloc(5000, 0xab)
    server.send(conn.peer, 0, big)
    const recv = await until([server, client], (e, h) => (h === client && e.type === 'receive' ? e.data : undefined))
    expect(recv.equals(big)).toBe(true)
    client.disconnect(0, 7)
    const disc = await until([server, client], (e, h) => (h === server && e.type === 'disconnect' ? e : undefined))
    expect(disc.peer).toBe(conn.peer)
    expect(server.stats(conn.peer)).toBeDefined()
  })

  it('reports a packet larger than the event buffer as dropped and keeps serving', async () => {
    const server = new EnetHost({bindAddress: '127.0.0.1', peerCount: 2, eventBufferBytes: 256})
    const client = new EnetHost({peerCount: 1})
    open.push(server, client)
    client.connect('127.0.0.1', server.port, 48, 1)
    await until([server, client], (e, h) => (h === client && e.type === 'connect' ? true : undefined))
    client.send(0, 0, Buffer.alloc(1000, 1))
    client.send(0, 0, Buffer.from('ok'))
    client.flush()
    const dropped = await until([server, client], (e, h) => (h === server && e.type === 'dropped' ? e : undefined))
    expect(dropped.length).toBe(1000)
    const ok = await until([server, client], (e, h) => (h === server && e.type === 'receive' ? e.data.toString() : undefined))
    expect(ok).toBe('ok')
  })

  it('carries packets up to 64 KiB and refuses larger ones (bounded allocation)', async () => {
    const server = new EnetHost({bindAddress: '127.0.0.1', peerCount: 2, eventBufferBytes: 128 * 1024})
    const client = new EnetHost({peerCount: 1})
    open.push(server, client)
    client.connect('127.0.0.1', server.port, 48, 1)
    await until([server, client], (e, h) => (h === client && e.type === 'connect' ? true : undefined))
    expect(() => client.send(0, 0, Buffer.alloc(64 * 1024 + 1))).toThrow(/refused/)
    client.send(0, 0, Buffer.alloc(60 * 1024, 3))
    client.flush()
    const got = await until([server, client], (e, h) => (h === server && e.type === 'receive' ? e.data : undefined))
    expect(got.length).toBe(60 * 1024)
  })

  it('refuses a port that is taken and explains why', () => {
    const a = new EnetHost({bindAddress: '127.0.0.1'})
    open.push(a)
    expect(() => new EnetHost({bindAddress: '127.0.0.1', port: a.port})).toThrow(/cannot create an ENet host on UDP 127.0.0.1/)
  })
})
