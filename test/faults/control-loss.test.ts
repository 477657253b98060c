/**
 * Loss on the control stream: `lumen serve` in a network namespace, nftables dropping 5 % and
 * 20 % of the control port's datagrams at random in both directions (numgen random mod 100; the
 * kernel here has no netem). ENet retransmits: the session survives (no termination, no
 * disconnect, video keeps coming), and every IDR request the client sends reaches the host — the
 * host's own count of them (serve --json's idrRequests) is the number sent (plus Start A's, when
 * loss delayed it past the first frame).
 */
import {afterEach, describe, expect, it} from 'vitest'

import {ControlType} from '../../src/host/control-codec.js'
import {sleep, waitUntil} from '../helpers/index.js'
import {createLink, netnsUnavailable, type NetnsLink} from '../netns/helpers.js'
import {connectClient, type ClientSession} from '../serve/helpers.js'
import {droppedBy, serveInNamespace, type NetnsServe} from './netns-serve.js'

const why = netnsUnavailable()
const ANNOUNCE = {width: 640, height: 360, fps: 30, codec: 0 as const, encryptionEnabled: 5, configuredBitrateKbps: 2000}
const REQUESTS = 12

let link: NetnsLink | undefined
let served: NetnsServe | undefined
let client: ClientSession | undefined
afterEach(async () => {
  await client?.close().catch(() => undefined)
  served?.cleanup()
  link?.close()
  client = undefined
  served = undefined
  link = undefined
})

describe.skipIf(why !== undefined)(`control-stream loss${why !== undefined ? ` (skipped: ${why})` : ''}`, () => {
  for (const percent of [5, 20]) {
    it(`${percent} % random loss both ways: the session survives and every IDR request arrives`, async () => {
      link = createLink()
      served = await serveInNamespace(link)
      const control = served.base + 10
      link.dropFromPort(control, percent)
      link.dropToPort(control, percent)
      client = await connectClient(link.nsAddr, served.base, {clientAddress: link.hostAddr, announce: ANNOUNCE, decode: false})
      await waitUntil(() => client!.video.frames.length > 10, 20_000, 'the first frames')
      const c = client
      let after = 0
      for (let i = 0; i < REQUESTS; i++) {
        if (i > 0) await sleep(500)
        // requests travel in order on one reliable channel: an IDR after the last one was sent means every one arrived
        after = c.video.frames.length
        c.control.requestIdr()
      }
      await waitUntil(() => c.video.frames.slice(after).some((f) => f.frameType === 2), 30_000, 'an IDR frame after the last request')
      await sleep(1000)
      const framesBefore = c.video.frames.length
      await sleep(1000)
      expect(c.video.frames.length, 'video still arrives').toBeGreaterThan(framesBefore)
      expect(c.control.disconnected).toBe(false)
      expect(c.control.received.some((m) => m.type === ControlType.termination)).toBe(false)
      expect(served.stderr()).not.toContain('stream ended')
      expect(c.idrRequestsSent, 'no video was lost, so the client asked for no IDR on its own').toBe(0)
      const dropped = droppedBy(link.exec(['nft', 'list', 'table', 'netdev', 'lumenloss'])) + droppedBy(link.exec(['nft', 'list', 'chain', 'inet', 'lumen', 'input']))
      await c.close()
      client = undefined
      const {code, json} = await served.stop()
      expect(code).toBe(0)
      const idrRequests = json?.streams[0]?.idrRequests
      process.stderr.write(`control loss ${percent} %: nftables dropped ${dropped} control datagrams; ${REQUESTS} IDR requests sent, the host counted ${idrRequests}; ${c.video.frames.length} frames\n`)
      expect(dropped, 'the loss really happened').toBeGreaterThan(0)
      // every request arrived; the client's Start A (an IDR request too) counts once more when loss
      // held it back until after the stream's first frame (before that, the first frame answers it)
      expect(idrRequests).toBeGreaterThanOrEqual(REQUESTS)
      expect(idrRequests).toBeLessThanOrEqual(REQUESTS + 1)
    }, 120_000)
  }
})
