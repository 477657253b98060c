/**
 * Loss on a real emulated link: `lumen serve` (the built CLI) runs inside a network namespace
 * behind a veth; the test client, in the root namespace, streams from it. nftables in the
 * namespace drops the video port's packets at random (numgen random mod 100 < N).
 *
 * - 2 %: no frame lost over 60 s at the stream defaults — 20 % FEC with the client's parity floor
 *   minRequiredFecPackets = 2 — on a stream shaped like the field result (issue 9): 20 Mbit/s of
 *   H.264 (libx264 CBR) at 60 fps — 1920x1080, preset ultrafast, so that the synthetic pattern
 *   really fills frames of ~35 KB (≈ 26 data packets, m = 6 parity; the field's 42 KB frames
 *   have ~30 and 6). The test checks that the frames really are large (mean ≥ 30 KB): with frames of a
 *   few packets the floor of 2 is not enough at 2 % (binomial: about one lost frame a minute).
 * - 8 % at the default 20 %: frames are lost, the client asks for IDRs, the stream recovers and
 *   keeps going, and the loss shows in the LUMEN_PERF log.
 *
 * Video is sent without UDP GSO here (LUMEN_UDP_GSO=0): nftables sees a GSO super-packet as one
 * packet, so per-datagram random drop needs one skb per datagram.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterEach, describe, expect, it} from 'vitest'

import {readPerfLog} from '../../src/perf/reader.js'
import {cliEntry, sleep} from '../helpers/index.js'
import {NODE_FLAGS} from '../../src/cli/node-flags.js'
import {connectClient, type ClientSession} from '../serve/helpers.js'
import {createLink, netnsUnavailable, type NetnsLink} from './helpers.js'

const why = netnsUnavailable()

interface Served {
  child: ChildProcess
  stderr: string[]
  dir: string
  perf: string
  stop(): Promise<number | null>
}

async function serveInNamespace(link: NetnsLink, base: number, extra: string[], env: NodeJS.ProcessEnv = {}): Promise<Served> {
  const dir = mkdtempSync(join(tmpdir(), 'lumen-netns-'))
  const perf = join(dir, 'serve.perf')
  const args = ['netns', 'exec', link.ns, process.execPath, ...NODE_FLAGS, cliEntry, 'serve', '--bind', link.nsAddr, '--port-base', String(base), '--pin', '1234', '--no-mdns', '--source', 'synthetic', '--audio', 'tone', '--config-dir', join(dir, 'config'), ...extra]
  const child = spawn('ip', args, {env: {...process.env, LUMEN_PERF: perf, LUMEN_UDP_GSO: '0', ...env}, stdio: ['ignore', 'pipe', 'pipe']})
  const stderr: string[] = []
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`lumen serve did not start: ${stderr.join('')}`)), 20_000)
    child.stderr?.on('data', (d: Buffer) => {
      stderr.push(d.toString())
      if (stderr.join('').includes('lumen serve: HTTP')) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('exit', (code) => reject(new Error(`lumen serve exited (${code}): ${stderr.join('')}`)))
  })
  return {
    child,
    stderr,
    dir,
    perf,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', (code) => resolve(code))
        child.kill('SIGINT')
      }),
  }
}

function perfSummary(path: string): {records: number; idr: number; maxClientLost: number; late: number; packets: number; bitrateKbps: number; encoder: string} {
  let records = 0
  let idr = 0
  let maxClientLost = 0
  let late = 0
  let packets = 0
  const {header} = readPerfLog(path, (r) => {
    records++
    packets += r.packets
    if (r.idr) idr++
    if (r.slackUs < 0) late++
    maxClientLost = Math.max(maxClientLost, r.clientFramesLost)
  })
  return {records, idr, maxClientLost, late, packets, bitrateKbps: header.bitrateKbps, encoder: header.encoder}
}

/** The packets the nftables drop rule has dropped (its counter). */
function droppedPackets(link: NetnsLink): number {
  const m = /counter packets (\d+) bytes \d+ drop/.exec(link.exec(['nft', 'list', 'table', 'netdev', 'lumenloss']))
  return Number(m?.[1] ?? Number.NaN)
}

let link: NetnsLink | undefined
let served: Served | undefined
let client: ClientSession | undefined
afterEach(async () => {
  await client?.close()
  if (served !== undefined && served.child.exitCode === null) await served.stop()
  if (served !== undefined) rmSync(served.dir, {recursive: true, force: true})
  link?.close()
  client = undefined
  served = undefined
  link = undefined
})

const ANNOUNCE = {width: 1280, height: 720, fps: 60, codec: 0 as const, encryptionEnabled: 5, configuredBitrateKbps: 10_000}
/**
 * The field result's stream (issue 9): ≈ 20 Mbit/s at 60 fps. The client asks for 26 Mbit/s,
 * which the host turns into 20108 kbit/s for the encoder once FEC (20 %), audio and headroom are
 * taken off (docs/protocol/rtsp.md §3.4); H.264 (libx264, CBR), the client's default parity floor of 2.
 * The synthetic pattern is too easy for libx264 to fill 20 Mbit/s at 1280x720: measured over 10 s,
 * preset superfast gave a mean of 23.7 KB/frame (the same at a 33 Mbit/s target), 1920x1080
 * superfast 27 KB; 1920x1080 with preset ultrafast ≈ 35 KB (≈ 26 data + 6 parity packets).
 */
const FIELD_ANNOUNCE = {...ANNOUNCE, width: 1920, height: 1080, configuredBitrateKbps: 26_000, minRequiredFecPackets: 2}

describe.skipIf(why !== undefined)(`lumen serve over a lossy emulated link${why !== undefined ? ` (skipped: ${why})` : ''}`, () => {
  it('2 % random loss at the default FEC (20 %, floor 2) on a 20 Mbit/s 60 fps stream: no frame lost over 60 s', async () => {
    link = createLink()
    const base = 42000
    served = await serveInNamespace(link, base, [], {LUMEN_X264_PRESET: 'ultrafast'})
    link.dropFromPort(base + 9, 2)
    client = await connectClient(link.nsAddr, base, {clientAddress: link.hostAddr, announce: FIELD_ANNOUNCE, decode: false})
    await sleep(Number(process.env.LUMEN_TEST_LOSS_S ?? 60) * 1000)
    const v = client.video
    const frames = v.frames.length
    const meanBytes = v.frames.reduce((sum, f) => sum + f.bytes, 0) / Math.max(1, frames)
    const stats = {...v.stats}
    const lost = [...v.lost]
    const idrRequests = client.idrRequestsSent
    const idrFrames = v.frames.filter((f) => f.frameType === 2).length
    const dropped = droppedPackets(link)
    await client.close()
    client = undefined
    expect(await served.stop()).toBe(0)
    const p = perfSummary(served.perf)
    process.stderr.write(
      `2%: ${p.encoder} ${p.bitrateKbps} kbit/s; client: ${frames} frames, mean ${Math.round(meanBytes)} bytes/frame, ${stats.datagrams} datagrams, ` +
        `rebuilt ${stats.dataRebuilt} data packets in ${stats.framesRebuilt} frames, lost ${lost.length} frames [${lost.slice(0, 10).join(" ")}]; ` +
        `host: ${p.records} frames, ${p.packets} packets (${(p.packets / Math.max(1, p.records)).toFixed(1)}/frame with parity); nftables dropped ${dropped}\n`,
    )
    // the stream has the field result's shape: ~20 Mbit/s of H.264, frames of tens of packets
    expect(p.encoder).toBe('libx264')
    expect(p.bitrateKbps).toBeGreaterThanOrEqual(19_000)
    expect(meanBytes).toBeGreaterThanOrEqual(30_000)
    expect(frames).toBeGreaterThan(1200)
    // the loss really happened (about 2 % of the packets), and FEC repaired it
    expect(dropped).toBeGreaterThan(0.01 * p.packets)
    expect(stats.dataRebuilt).toBeGreaterThan(100)
    expect(lost).toEqual([])
    expect(idrRequests).toBe(0)
    expect(idrFrames).toBe(1)
  }, 120_000)

  it('8 % random loss: the stream survives, recovers with IDRs, and the perf log shows the loss', async () => {
    link = createLink()
    const base = 43000
    served = await serveInNamespace(link, base, [])
    link.dropFromPort(base + 9, 8)
    client = await connectClient(link.nsAddr, base, {clientAddress: link.hostAddr, announce: ANNOUNCE, decode: false})
    await sleep(20_000)
    const v = client.video
    const framesAt = v.frames.length
    await sleep(3000)
    // still streaming at the end
    expect(v.frames.length).toBeGreaterThan(framesAt + 30)
    expect(v.lost.length).toBeGreaterThan(0)
    expect(client.idrRequestsSent).toBeGreaterThan(0)
    // recovery: IDR frames after the first, each after a loss
    const idrs = v.frames.filter((f) => f.frameType === 2).map((f) => f.frameIndex)
    expect(idrs.length).toBeGreaterThan(1)
    const asked = client.idrRequestsSent
    await client.close()
    client = undefined
    expect(await served.stop()).toBe(0)
    const p = perfSummary(served.perf)
    process.stderr.write(`8%: client saw ${v.frames.length} frames, lost ${v.lost.length}, asked for ${asked} IDRs, got ${idrs.length - 1} recovery IDR frames; perf log ${p.records} records, ${p.idr} IDRs, client-reported lost ${p.maxClientLost}\n`)
    expect(p.records).toBeGreaterThan(600)
    expect(p.maxClientLost).toBeGreaterThan(0)
    expect(p.idr).toBeGreaterThan(1)
  }, 120_000)
})
