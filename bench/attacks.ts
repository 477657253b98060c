/**
 * The attack figures of issue 21 / 19.3 against a GameStreamHost in this process, on loopback,
 * with the test client (test/client) and the hostile senders of test/security/attacks.ts:
 *   enet      64 bogus ENet CONNECTs from one socket, then the paired client's control connect
 *   pin       200 wrong PINs from one address as fast as the host answers: PIN checks reached
 *   slowloris 500 trickling connections per port (HTTP, HTTPS, RTSP): when the last is closed,
 *             and /serverinfo latency during the flood
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {FixedPinSource} from '../src/host/pairing.js'
import {GameStreamHost} from '../src/host/server.js'
import {createClientIdentity, MoonlightTestClient} from '../test/client/client.js'
import {connectFlood, slowloris} from '../test/security/attacks.js'

export const summary = 'ENet CONNECT flood, 200 wrong PINs and a 500-connection slowloris per port: what gets through, how fast the host recovers'

const ms = (t0: number): number => Math.round(performance.now() - t0)

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json')
  const dir = mkdtempSync(join(tmpdir(), 'lumen-attacks-'))
  const host = await GameStreamHost.create({
    configDir: dir,
    bindAddress: '127.0.0.1',
    ports: {http: 0, https: 0, rtsp: 0, control: 0, video: 0, audio: 0},
    pinSource: new FixedPinSource('1234'),
    mdns: false,
  })
  await host.start()
  const out: Record<string, unknown> = {}
  const say = (m: string): void => {
    if (!json) process.stdout.write(`${m}\n`)
  }
  try {
    const c = new MoonlightTestClient({host: '127.0.0.1', httpPort: host.ports.http, identity: await createClientIdentity()})
    if ((await c.pair('1234')).outcome !== 'paired') throw new Error('the bench client could not pair')

    // ENet
    const launch = await c.launch({appId: 1})
    const hs = await c.rtsp(launch)
    let n = 0
    const flood = await connectFlood(host.ports.control, 64, () => (hs.connectData + 1 + n++) >>> 0)
    const t0 = performance.now()
    const control = await c.connectControl(launch, hs, false)
    const connectMs = ms(t0)
    await control.close()
    flood.close()
    await c.cancel()
    out.enet = {bogusConnects: 64, answersToThem: flood.answers(), clientConnectMs: connectMs, drops: host.stats().drops['control:connect-unknown'] ?? 0}
    say(`enet: 64 bogus CONNECTs got ${flood.answers()} answers; the paired client's control stream connected in ${connectMs} ms; control:connect-unknown ${host.stats().drops['control:connect-unknown'] ?? 0}`)

    // PIN guessing
    const guesser = await createClientIdentity()
    const g = new MoonlightTestClient({host: '127.0.0.1', httpPort: host.ports.http, identity: guesser})
    const p0 = performance.now()
    for (let i = 0; i < 200; i++) await g.pair(String(1235 + i).padStart(4, '0'))
    const pin = host.stats().pairing
    out.pin = {attempts: 200, ms: ms(p0), pinChecks: pin.pinChecks, refusedWaiting: pin.refusedWaiting}
    say(`pin: 200 wrong attempts in ${ms(p0)} ms reached ${pin.pinChecks} PIN checks; ${pin.refusedWaiting} were told to wait`)

    // slowloris
    const prefix = Buffer.from('GET /serverinfo HTTP/1.1\r\nHost: lumen\r\nX-Slow: ')
    const rtspPrefix = Buffer.from('OPTIONS rtsp://127.0.0.1 RTSP/1.0\r\nCSeq: 1\r\nX-Slow: ')
    const s0 = performance.now()
    const floods = {
      http: slowloris(host.ports.http, 500, prefix),
      https: slowloris(host.ports.https, 500, prefix, {tls: true}),
      rtsp: slowloris(host.ports.rtsp, 500, rtspPrefix),
    }
    const lat: number[] = []
    const doneAt: Record<string, number> = {}
    while (Object.keys(doneAt).length < 3 && performance.now() - s0 < 30_000) {
      const q = performance.now()
      await c.serverInfo()
      lat.push(performance.now() - q)
      for (const [k, f] of Object.entries(floods)) if (doneAt[k] === undefined && f.closed() === 500) doneAt[k] = ms(s0)
      await new Promise((r) => setTimeout(r, 200))
    }
    for (const f of Object.values(floods)) f.stop()
    lat.sort((a, b) => a - b)
    const p50 = Math.round(lat[Math.floor(lat.length / 2)] * 10) / 10
    const max = Math.round(lat[lat.length - 1] * 10) / 10
    out.slowloris = {connectionsPerPort: 500, allClosedMs: doneAt, serverinfoP50Ms: p50, serverinfoMaxMs: max, drops: host.stats().drops}
    say(`slowloris: all 500 closed after ${Object.entries(doneAt).map(([k, v]) => `${k} ${v} ms`).join(', ')}; /serverinfo during it p50 ${p50} ms, max ${max} ms (${lat.length} requests)`)
    say(`drops: ${JSON.stringify(host.stats().drops)}`)
    if (json) process.stdout.write(`${JSON.stringify(out)}\n`)
  } finally {
    await host.stop()
    rmSync(dir, {recursive: true, force: true})
  }
}
