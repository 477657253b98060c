/** The shim's media send path on real loopback sockets: batches, GSO, adoption, the send thread. */
import {createSocket} from 'node:dgram'

import {afterEach, describe, expect, it} from 'vitest'

import {monotonicNs} from '../../src/native/core.js'
import {decodePacerRecord, PACER_RECORD_LEN, PacketBatch, Pacer, sleepUntilNs, UDP_GRO, UdpSocket} from '../../src/native/net.js'

const open: Array<{close(): void}> = []
afterEach(() => {
  while (open.length > 0) open.pop()?.close()
})

function pair(): {tx: UdpSocket; rx: UdpSocket} {
  const rx = UdpSocket.open('127.0.0.1', 0)
  const tx = UdpSocket.open('127.0.0.1', 0)
  open.push(tx, rx)
  tx.setPeer('127.0.0.1', rx.port)
  return {tx, rx}
}

function frame(count: number, stride: number, tag: number, lastLen = stride): PacketBatch {
  const b = new PacketBatch(stride, count)
  for (let i = 0; i < count; i++) {
    const p = Buffer.alloc(i === count - 1 ? lastLen : stride, (tag + i) & 0xff)
    p.writeUInt32BE(tag * 100000 + i, 0)
    b.push(p)
  }
  return b
}

function receiveAll(rx: UdpSocket, want: number, stride: number): Buffer[] {
  const got: Buffer[] = []
  const b = new PacketBatch(stride, 256)
  const until = Date.now() + 3000
  while (got.length < want && Date.now() < until) {
    const {count} = rx.recvBatch(b, 100)
    for (let i = 0; i < count; i++) got.push(Buffer.from(b.packet(i)))
  }
  return got
}

describe('UDP batch send', () => {
  for (const gso of [true, false]) {
    it(`delivers every datagram in order with its own length (GSO ${gso ? 'on' : 'off'})`, () => {
      const {tx, rx} = pair()
      tx.setGso(gso)
      const batch = frame(150, 1408, 7, 333)
      const r = tx.sendBatch(batch)
      expect(r.sent).toBe(150)
      const got = receiveAll(rx, 150, 2048)
      expect(got.length).toBe(150)
      for (let i = 0; i < 150; i++) {
        expect(got[i].readUInt32BE(0)).toBe(7 * 100000 + i)
        expect(got[i].length).toBe(i === 149 ? 333 : 1408)
      }
      const s = tx.stats()
      expect(s.sent).toBe(150)
      // batching: far fewer system calls than datagrams
      expect(s.sendCalls).toBeLessThan(10)
      if (gso) expect(s.gsoMessages).toBeGreaterThan(0)
      else expect(s.gsoMessages).toBe(0)
    })
  }

  it('a UDP_GRO sink takes a GSO send whole: the bytes in order, in fewer datagrams than were sent', () => {
    const rx = UdpSocket.open('127.0.0.1', 0, UDP_GRO)
    const tx = UdpSocket.open('127.0.0.1', 0)
    open.push(tx, rx)
    tx.setPeer('127.0.0.1', rx.port)
    expect(tx.setGso(true)).toBe(true)
    const batch = frame(20, 1000, 3)
    expect(tx.sendBatch(batch).sent).toBe(20)
    const got: Buffer[] = []
    const b = new PacketBatch(65536, 4)
    for (let bytes = 0, tries = 0; bytes < 20 * 1000 && tries < 30; tries++) {
      const {count} = rx.recvBatch(b, 100)
      for (let i = 0; i < count; i++) got.push(Buffer.from(b.packet(i)))
      bytes = got.reduce((n, g) => n + g.length, 0)
    }
    // the kernel hands the sink what one sendmmsg message held, coalesced: 20 000 bytes in one
    // datagram, where a plain socket gets 20 (the test above)
    expect(got.length).toBeLessThan(20)
    const all = Buffer.concat(got)
    expect(all.length).toBe(20 * 1000)
    for (let i = 0; i < 20; i++) expect(all.readUInt32BE(i * 1000)).toBe(3 * 100000 + i)
  })

  it('sends from an adopted socket, so the datagrams leave from its port', async () => {
    const host = createSocket('udp4')
    await new Promise<void>((resolve) => host.bind(0, '127.0.0.1', () => resolve()))
    const rx = UdpSocket.open('127.0.0.1', 0)
    open.push(rx)
    const fd = (host as unknown as {_handle: {fd: number}})._handle.fd
    const tx = UdpSocket.adopt(fd)
    open.push(tx)
    tx.setPeer('127.0.0.1', rx.port)
    tx.sendBatch(frame(3, 100, 1))
    const b = new PacketBatch(2048, 8)
    const got = receiveAll(rx, 3, 2048)
    expect(got.length).toBe(3)
    const {count, from} = (tx.sendBatch(frame(1, 100, 2)), rx.recvBatch(b, 1000))
    expect(count).toBe(1)
    expect(from?.port).toBe(host.address().port)
    tx.close()
    // the host's own socket still works after our dup is closed
    await new Promise<void>((resolve, reject) => host.send(Buffer.from('x'), rx.port, '127.0.0.1', (e) => (e ? reject(e) : resolve())))
    let late = 0
    for (let i = 0; i < 10 && late === 0; i++) late = rx.recvBatch(b, 100).count
    expect(late).toBe(1)
    expect(b.packet(0).toString()).toBe('x')
    host.close()
  })
})

describe('absolute deadline sleep', () => {
  it('wakes at the deadline, not before', () => {
    const errs: number[] = []
    for (let i = 0; i < 20; i++) {
      const deadline = monotonicNs() + 2_000_000
      sleepUntilNs(deadline)
      errs.push(monotonicNs() - deadline)
    }
    expect(Math.min(...errs)).toBeGreaterThanOrEqual(0)
  })
})

describe('send thread', () => {
  it('line mode sends each frame at its deadline, in order', () => {
    const {tx, rx} = pair()
    const pacer = new Pacer(tx, {mode: 'line'})
    open.push(pacer)
    const t0 = monotonicNs() + 5_000_000
    const interval = 10_000_000
    for (let f = 0; f < 5; f++) expect(pacer.submit(f, t0 + f * interval, interval, frame(40, 1408, f))).toBe(true)
    expect(pacer.drain(2000)).toBe(0)
    const recs = pacer.poll()
    expect(recs.map((r) => r.frameId)).toEqual([0, 1, 2, 3, 4])
    for (const r of recs) {
      expect(r.startNs).toBeGreaterThanOrEqual(r.deadlineNs)
      expect(r.packets).toBe(40)
      expect(r.largestBurst).toBe(40)
      expect(r.late).toBe(false)
    }
    const got = receiveAll(rx, 200, 2048)
    expect(got.map((p) => p.readUInt32BE(0))).toEqual(Array.from({length: 200}, (_, i) => Math.floor(i / 40) * 100000 + (i % 40)))
  })

  it('burst mode spreads a frame over the given share of the interval in bursts of at most N', () => {
    const {tx, rx} = pair()
    const pacer = new Pacer(tx, {mode: 'burst', burstPackets: 16, spread: 0.5})
    open.push(pacer)
    const interval = 20_000_000
    const deadline = monotonicNs() + 5_000_000
    pacer.submit(9, deadline, interval, frame(160, 1408, 9))
    expect(pacer.drain(2000)).toBe(0)
    const [r] = pacer.poll()
    expect(r.largestBurst).toBe(16)
    // 10 bursts over 10 ms: the last leaves ~9 ms after the first
    expect(r.endNs - r.startNs).toBeGreaterThan(8_000_000)
    expect(receiveAll(rx, 160, 2048).length).toBe(160)
  })

  it('sends a late frame at once and marks it late', () => {
    const {tx} = pair()
    const pacer = new Pacer(tx, {mode: 'line'})
    open.push(pacer)
    const deadline = monotonicNs() - 3_000_000
    pacer.submit(1, deadline, 16_000_000, frame(4, 1408, 1))
    pacer.drain(1000)
    const [r] = pacer.poll()
    expect(r.late).toBe(true)
    expect(r.startNs - r.submitNs).toBeLessThan(50_000_000)
  })
})

describe('completion records', () => {
  it('decode the int64 times as Number(BigInt) would, without bigints', () => {
    const b = Buffer.alloc(PACER_RECORD_LEN)
    for (const v of [0n, 1n, 0xffff_ffffn, 0x1_0000_0000n, 1_700_000_123_456_789n, -1n, -5_000_000_000n, 2n ** 53n + 1n, 2n ** 63n - 1n]) {
      b.writeBigInt64LE(v, 32)
      expect(decodePacerRecord(b, 0).startNs).toBe(Number(v))
    }
  })
})

describe('AES-GCM in the send thread', () => {
  it('encrypts every packet exactly as the packetizer does (docs/protocol/media-encryption.md §3)', async () => {
    const {VideoPacketizer} = await import('../../src/media/packetizer/index.js')
    const key = Buffer.from('00112233445566778899aabbccddeeff', 'hex')
    const frameBytes = Buffer.alloc(9000)
    for (let i = 0; i < frameBytes.length; i++) frameBytes[i] = (i * 7 + 3) & 0xff
    const frame = {data: frameBytes, frameIndex: 5, frameType: 2, rtpTimestamp: 1500, latencyTenthMs: 25}
    // reference: the packetizer's own encryption, IV counter from 3
    const ref = new VideoPacketizer({packetSize: 1360, fecPercentage: 20, minParity: 2, encryptionKey: key, ivCounter: 3n}).packetize(frame)
    const plain = new VideoPacketizer({packetSize: 1360, fecPercentage: 20, minParity: 2}).packetize(frame)
    const {tx, rx} = pair()
    const pacer = new Pacer(tx, {mode: 'line'})
    open.push(pacer)
    pacer.setGcm(key, 3)
    const batch = new PacketBatch(plain.stride, plain.count)
    for (let i = 0; i < plain.count; i++) batch.push(plain.buffer.subarray(i * plain.stride, (i + 1) * plain.stride))
    pacer.submit(5, monotonicNs(), 16_000_000, batch)
    pacer.drain(1000)
    expect(pacer.gcmCounter).toBe(3 + plain.count)
    const got = receiveAll(rx, plain.count, 4096)
    expect(got.length).toBe(ref.count)
    for (let i = 0; i < ref.count; i++) expect(got[i].equals(ref.buffer.subarray(i * ref.stride, (i + 1) * ref.stride))).toBe(true)
  })
})
