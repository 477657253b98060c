/**
 * Microburst pacing on an emulated shallow-buffered link: a veth into a network namespace with a
 * tbf rate limit and a small queue. 5K-sized IDR frames (5120x1440-class, ~500 KB: about 440
 * packets with FEC) sent by the send thread at line rate overflow the queue; `burst` pacing
 * spreads the same packets in bursts of at most N over 0.8 of the frame interval and loses fewer.
 * Prints the figures.
 */
import {randomBytes} from 'node:crypto'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {VideoPacketizer} from '../../src/media/packetizer/index.js'
import {PacketBatch, Pacer, type PacingMode, UdpSocket} from '../../src/native/net.js'
import {sleep} from '../helpers/index.js'
import {createLink, netnsUnavailable, type NetnsLink} from './helpers.js'

const why = netnsUnavailable()
const FRAMES = 20
const FPS = 20
const FRAME_BYTES = 500_000
const LINK = {rateMbit: 200, burstBytes: 32 * 1024, limitBytes: 64 * 1024}
const SPREAD = 0.8

interface Outcome {
  mode: string
  sent: number
  delivered: number
  lost: number
  lossPct: number
  qdiscDropped: number
  largestBurst: number
  spreadMs: number
}

let link: NetnsLink
let frames: PacketBatch[] = []

describe.skipIf(why !== undefined)(`burst vs line pacing on a tbf link${why !== undefined ? ` (skipped: ${why})` : ''}`, () => {
  beforeAll(() => {
    link = createLink()
    link.shape(LINK)
    const pk = new VideoPacketizer({packetSize: 1392, fecPercentage: 20, minParity: 2})
    for (let i = 0; i < FRAMES; i++) {
      const b = pk.packetize({data: randomBytes(FRAME_BYTES), frameIndex: i + 1, frameType: 2, rtpTimestamp: i * 1500})
      const batch = new PacketBatch(b.stride, b.count)
      for (let p = 0; p < b.count; p++) batch.push(b.buffer.subarray(p * b.stride, (p + 1) * b.stride))
      frames.push(batch)
    }
  })
  afterAll(() => {
    link?.close()
    frames = []
  })

  async function send(mode: PacingMode, port: number, burstPackets = 32): Promise<Outcome> {
    link.countToPort(port)
    const before = link.qdiscStats()
    const sock = UdpSocket.open(link.hostAddr, 0)
    // one skb per datagram, so the nftables counter and tbf count datagrams
    sock.setGso(false)
    sock.setPeer(link.nsAddr, port)
    const pacer = new Pacer(sock, {mode, burstPackets, spread: SPREAD})
    const interval = 1e9 / FPS
    const t0 = Number(process.hrtime.bigint()) + 20e6
    let sent = 0
    frames.forEach((f, i) => {
      pacer.submit(i + 1, t0 + i * interval, interval, f)
      sent += f.count
    })
    pacer.drain(5000)
    const recs = pacer.poll()
    pacer.close()
    sock.close()
    await sleep(200)
    const delivered = link.counter(port).packets
    const after = link.qdiscStats()
    return {
      mode: mode === 'burst' ? `burst ≤${burstPackets}` : 'line',
      sent,
      delivered,
      lost: sent - delivered,
      lossPct: (100 * (sent - delivered)) / sent,
      qdiscDropped: after.dropped - before.dropped,
      largestBurst: Math.max(...recs.map((r) => r.largestBurst)),
      spreadMs: Math.max(...recs.map((r) => (r.endNs - r.startNs) / 1e6)),
    }
  }

  it('burst pacing loses fewer packets than line rate for 5K IDR frames', async () => {
    const line = await send('line', 40001)
    const burst = await send('burst', 40002, 32)
    const burst16 = await send('burst', 40003, 16)
    const rows = [line, burst, burst16]
    process.stderr.write(
      `\ntbf ${LINK.rateMbit} Mbit/s, bucket ${LINK.burstBytes} B, queue ${LINK.limitBytes} B; ${FRAMES} IDR frames of ${FRAME_BYTES} B at ${FPS} fps (${frames[0].count} packets each, spread ${SPREAD} of the interval)\n` +
        rows.map((r) => `  ${r.mode.padEnd(10)} sent ${r.sent} delivered ${r.delivered} lost ${r.lost} (${r.lossPct.toFixed(1)}%) qdisc drops ${r.qdiscDropped}, largest burst ${r.largestBurst}, frame on the wire ${r.spreadMs.toFixed(2)} ms`).join('\n') +
        '\n',
    )
    expect(line.sent).toBe(FRAMES * frames[0].count)
    expect(line.lost).toBeGreaterThan(0)
    expect(burst.lost).toBeLessThan(line.lost)
    expect(burst16.lost).toBeLessThan(line.lost)
    expect(burst.largestBurst).toBeLessThanOrEqual(32)
  }, 60_000)
})
