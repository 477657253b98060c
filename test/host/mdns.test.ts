/** mDNS: `_nvstream._tcp` answered with the HTTP port, and the instance-name rule. */
import {createSocket} from 'node:dgram'
import {networkInterfaces} from 'node:os'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {mdnsInstanceName} from '../../src/host/mdns.js'
import {sleep} from '../helpers/index.js'
import {startTestHost, type TestHost} from './helpers.js'

function ptrQuery(name: string): Buffer {
  const labels = name.split('.').filter((l) => l.length > 0)
  const qname = Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])])
  const header = Buffer.from([0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0])
  return Buffer.concat([header, qname, Buffer.from([0, 12, 0, 1])])
}

const lan = Object.values(networkInterfaces())
  .flat()
  .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)

describe('mDNS', () => {
  it('derives the instance name as Sunshine does', () => {
    expect(mdnsInstanceName('living room pc')).toBe('living-room-pc')
    expect(mdnsInstanceName('box.example.org')).toBe('box')
    expect(mdnsInstanceName('é')).toBe('Lumen')
    expect(mdnsInstanceName('a'.repeat(80))).toHaveLength(63)
  })

  describe.skipIf(lan === undefined)('advertisement (needs a non-loopback IPv4 interface)', () => {
    let t: TestHost
    beforeAll(async () => {
      t = await startTestHost({mdns: true, hostname: 'lumen mdns test'})
    })
    afterAll(async () => {
      await t.close()
    })

    it('answers a PTR query for _nvstream._tcp.local with the instance and the HTTP port', async () => {
      const sock = createSocket({type: 'udp4', reuseAddr: true})
      await new Promise<void>((r) => sock.bind(0, lan!.address, () => r()))
      const answers: Buffer[] = []
      sock.on('message', (m) => answers.push(m))
      const deadline = Date.now() + 8000
      // ciao probes and announces for a few seconds before it answers queries
      while (Date.now() < deadline && !answers.some((a) => a.includes(Buffer.from('lumen-mdns-test')))) {
        sock.send(ptrQuery('_nvstream._tcp.local'), 5353, '224.0.0.251')
        await sleep(500)
      }
      sock.close()
      const answer = answers.find((a) => a.includes(Buffer.from('lumen-mdns-test')))
      expect(answer, 'no mDNS answer naming the instance').toBeDefined()
      const port = Buffer.alloc(2)
      port.writeUInt16BE(t.host.ports.http)
      expect(answer!.includes(port)).toBe(true)
    }, 15_000)
  })
})
