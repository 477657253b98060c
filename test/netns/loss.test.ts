/**
 * Loss on a real emulated link: `lumen serve` (the built CLI) runs inside a network namespace
 * behind a veth; the test client, in the root namespace, streams from it. nftables in the
 * namespace drops the video port's packets at random (numgen random mod 100 < N).
 *
 * - 2 %: no frame lost over 60 s — FEC and the parity floor rebuild every frame. The host runs
 *   with --fec 50: at Sunshine's 20 % a 720p60 10 Mbit/s stream (blocks of ~12 packets with 3
 *   parity) loses a frame to 2 % random loss about once a minute (P(≥4 of 15) ≈ 2e-4 per frame);
 *   at 50 % the expected loss over 60 s is ≈ 1e-3 frames.
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
import {connectClient, sleep, type ClientSession} from '../serve/helpers.js'
import {createLink, netnsUnavailable, type NetnsLink} from './helpers.js'

const why = netnsUnavailable()
const root = join(import.meta.dirname, '..', '..')

interface Served {
  child: ChildProcess
  stderr: string[]
  dir: string
  perf: string
  stop(): Promise<number | null>
}

async function serveInNamespace(link: NetnsLink, base: number, extra: string[]): Promise<Served> {
  const dir = mkdtempSync(join(tmpdir(), 'lumen-netns-'))
  const perf = join(dir, 'serve.perf')
  const args = ['netns', 'exec', link.ns, process.execPath, join(root, 'bin', 'run.js'), 'serve', '--bind', link.nsAddr, '--port-base', String(base), '--pin', '1234', '--no-mdns', '--source', 'synthetic', '--audio', 'tone', '--config-dir', join(dir, 'config'), ...extra]
  const child = spawn('ip', args, {env: {...process.env, LUMEN_PERF: perf, LUMEN_UDP_GSO: '0'}, stdio: ['ignore', 'pipe', 'pipe']})
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

function perfSummary(path: string): {records: number; idr: number; maxClientLost: number; late: number} {
  let records = 0
  let idr = 0
  let maxClientLost = 0
  let late = 0
  readPerfLog(path, (r) => {
    records++
    if (r.idr) idr++
    if (r.slackUs < 0) late++
    maxClientLost = Math.max(maxClientLost, r.clientFramesLost)
  })
  return {records, idr, maxClientLost, late}
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

describe.skipIf(why !== undefined)(`lumen serve over a lossy emulated link${why !== undefined ? ` (skipped: ${why})` : ''}`, () => {
  it('2 % random loss on the video port: no frame lost over 60 s', async () => {
    link = createLink()
    const base = 42000
    served = await serveInNamespace(link, base, ['--fec', '50'])
    link.dropFromPort(base + 9, 2)
    client = await connectClient(link.nsAddr, base, {clientAddress: link.hostAddr, announce: ANNOUNCE, decode: false})
    await sleep(Number(process.env.LUMEN_TEST_LOSS_S ?? 60) * 1000)
    const v = client.video
    const figures = `2%: ${v.frames.length} frames, ${v.stats.datagrams} datagrams, rebuilt ${v.stats.dataRebuilt} data packets in ${v.stats.framesRebuilt} frames, lost ${v.lost.length}`
    process.stderr.write(`${figures}\n${link.exec(['nft', 'list', 'table', 'netdev', 'lumenloss'])}\n`)
    expect(v.frames.length).toBeGreaterThan(1200)
    // the loss really happened, and FEC repaired it
    expect(v.stats.dataRebuilt).toBeGreaterThan(100)
    expect(v.lost).toEqual([])
    expect(client.idrRequestsSent).toBe(0)
    expect(v.frames.filter((f) => f.frameType === 2)).toHaveLength(1)
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
