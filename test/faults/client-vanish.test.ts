/**
 * The client vanishes mid-stream (a phone drops off the network): no quit, no ENet disconnect.
 * `lumen serve` runs in a network namespace; nftables there drops every packet from the client's
 * address and, silently at the veth's egress, every packet to it. The host ends the stream within
 * the documented control timeout (10 s without control traffic, README §Session lifecycle, and
 * ENet's 10 s peer timeout, control-stream.md §1.3), stops sending, keeps serving, and once the
 * client is reachable again its next session (a resume: the app still runs) streams.
 */
import {afterEach, describe, expect, it} from 'vitest'

import {sleep, waitUntil} from '../helpers/index.js'
import {createLink, netnsUnavailable, type NetnsLink} from '../netns/helpers.js'
import {connectClient, type ClientSession} from '../serve/helpers.js'
import {serveInNamespace, type NetnsServe} from './netns-serve.js'

const why = netnsUnavailable()
const ANNOUNCE = {width: 640, height: 360, fps: 30, codec: 0 as const, encryptionEnabled: 5, configuredBitrateKbps: 2000}
/** the documented control timeout, and the slack of the host's 4 ms poll and ENet's timeout check */
const CONTROL_TIMEOUT_MS = 10_000
const SLACK_MS = 1500

let link: NetnsLink | undefined
let served: NetnsServe | undefined
const clients: ClientSession[] = []
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => undefined)
  served?.cleanup()
  link?.close()
  served = undefined
  link = undefined
})

describe.skipIf(why !== undefined)(`the client vanishes mid-stream${why !== undefined ? ` (skipped: ${why})` : ''}`, () => {
  it('ends the stream within the control timeout, and the next session streams', async () => {
    link = createLink()
    served = await serveInNamespace(link)
    const first = await connectClient(link.nsAddr, served.base, {clientAddress: link.hostAddr, announce: ANNOUNCE, decode: false})
    clients.push(first)
    await waitUntil(() => first.video.frames.length > 10, 20_000, 'the first frames')

    // the client is gone: nothing from it arrives, nothing reaches it
    const cut = (rules: string[][]): void => {
      for (const r of rules) link!.exec(['nft', ...r])
    }
    cut([
      ['add', 'table', 'inet', 'vanish'],
      ['add', 'chain', 'inet', 'vanish', 'input', '{ type filter hook input priority -10 ; }'],
      ['add', 'rule', 'inet', 'vanish', 'input', 'ip', 'saddr', link.hostAddr, 'drop'],
      ['add', 'table', 'netdev', 'vanish'],
      ['add', 'chain', 'netdev', 'vanish', 'egress', `{ type filter hook egress device "${link.nsIf}" priority 0 ; }`],
      ['add', 'rule', 'netdev', 'vanish', 'egress', 'ip', 'daddr', link.hostAddr, 'counter', 'drop'],
    ])
    const t0 = Date.now()
    await waitUntil(() => served!.stderr().includes('stream ended'), CONTROL_TIMEOUT_MS + SLACK_MS, 'the end of the stream')
    const endedMs = Date.now() - t0
    const reason = /session \d+: stream ended \(([^)]*)\)/.exec(served.stderr())?.[1]
    // the host stops sending: the egress counter stands still once the stream ended
    const sent = (): number => Number(/counter packets (\d+)/.exec(link!.exec(['nft', 'list', 'table', 'netdev', 'vanish']))?.[1] ?? Number.NaN)
    await sleep(500)
    const a = sent()
    await sleep(1000)
    const b = sent()
    process.stderr.write(`client vanished: the stream ended after ${endedMs} ms (${reason}); ${a} packets to the vanished client were dropped\n`)
    expect(reason).toMatch(/no control traffic for 10000 ms|client disconnected/)
    expect(b, 'nothing more is sent to the vanished client').toBe(a)
    expect(served.child.exitCode).toBe(null)

    // it is back: the old session is gone for good, a new one streams
    link.exec(['nft', 'delete', 'table', 'inet', 'vanish'])
    link.exec(['nft', 'delete', 'table', 'netdev', 'vanish'])
    await first.close()
    clients.splice(0)
    const second = await connectClient(link.nsAddr, served.base, {clientAddress: link.hostAddr, announce: ANNOUNCE, decode: false, resume: true, client: first.client})
    clients.push(second)
    await waitUntil(() => second.video.frames.length > 10, 20_000, 'frames of the next session')
    await second.close()
    clients.splice(0)
    expect((await served.stop()).code).toBe(0)
  }, 90_000)
})
