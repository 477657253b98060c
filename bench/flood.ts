/**
 * Native memory after HTTPS connection floods (issue 21.5): a GameStreamHost in this process,
 * then `--rounds` rounds (20) of `--connections` (500) TLS connections from 20 loopback
 * addresses (127.0.0.2-21, so the per-source cap is not what stops them) that finish their
 * handshake and then send nothing; the host closes them (idle timeout, per-source cap). After
 * each round: full GC, then RSS and the V8 heap. `--no-trim` turns off the host's heap trim after
 * floods, to show what it returns; `--malloc-arenas N` (2, as serve; 0: glibc's own limit) the arena
 * cap serve sets at start. `npm run bench` runs node with serve's NODE_FLAGS (src/cli/node-flags.ts)
 * so the host here has serve's young generation. Figures: RSS per round, growth from round 1 to the last.
 */
import {spawn} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import v8 from 'node:v8'
import vm from 'node:vm'

import {FixedPinSource} from '../src/host/pairing.js'
import {GameStreamHost} from '../src/host/server.js'
import {limitMallocArenas} from '../src/native/core.js'

export const summary = 'RSS and V8 heap per round of 500 idle HTTPS connections (20 rounds), with and without the heap trim'

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

function arg(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name)
  return i >= 0 ? Number(args[i + 1]) : fallback
}

/** The flood runs in a child process, so the RSS measured here is the host's alone. */
const FLOOD_CLIENT = `
const tls = require('node:tls')
const [port, n] = process.argv.slice(1).map(Number)
let closed = 0, handshakes = 0
for (let i = 0; i < n; i++) {
  const s = tls.connect({host: '127.0.0.1', port, localAddress: '127.0.0.' + (2 + (i % 20)), rejectUnauthorized: false})
  s.once('secureConnect', () => handshakes++)
  s.on('error', () => {})
  s.once('close', () => { if (++closed === n) { process.stdout.write(String(handshakes)); process.exit(0) } })
}`

async function round(port: number, n: number): Promise<number> {
  const child = spawn(process.execPath, ['-e', FLOOD_CLIENT, String(port), String(n)], {stdio: ['ignore', 'pipe', 'inherit']})
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  await new Promise((r) => child.once('exit', r))
  return Number(out)
}

export async function run(args: string[]): Promise<void> {
  const rounds = arg(args, '--rounds', 20)
  const connections = arg(args, '--connections', 500)
  const json = args.includes('--json')
  const trim = !args.includes('--no-trim')
  // as serve does at start (--malloc-arenas, default 2; 0 leaves glibc's own limit)
  const arenas = arg(args, '--malloc-arenas', 2)
  if (arenas > 0) limitMallocArenas(arenas)
  const dir = mkdtempSync(join(tmpdir(), 'lumen-flood-'))
  const host = await GameStreamHost.create({
    configDir: dir,
    bindAddress: '127.0.0.1',
    ports: {http: 0, https: 0, rtsp: 0, control: 0, video: 0, audio: 0},
    pinSource: new FixedPinSource('1234'),
    mdns: false,
    trimAfterFloods: trim,
  })
  await host.start()
  const mb = (b: number): number => Math.round((b / 1048576) * 10) / 10
  const rows: Array<{round: number; handshakes: number; rssMB: number; heapMB: number; heapCommittedMB: number; externalMB: number}> = []
  try {
    gc()
    const baseline = process.memoryUsage().rss
    for (let r = 1; r <= rounds; r++) {
      const handshakes = await round(host.ports.https, connections)
      await sleep(1500) // the host's sweep (1 s) trims after a flood
      gc()
      const m = process.memoryUsage()
      rows.push({round: r, handshakes, rssMB: mb(m.rss), heapMB: mb(m.heapUsed), heapCommittedMB: mb(m.heapTotal), externalMB: mb(m.external)})
      if (!json) process.stdout.write(`round ${String(r).padStart(2)}: ${handshakes} handshakes, RSS ${mb(m.rss)} MB, V8 heap ${mb(m.heapUsed)} MB (committed ${mb(m.heapTotal)}), external ${mb(m.external)} MB\n`)
    }
    const first = rows[0].rssMB
    const last = rows[rows.length - 1].rssMB
    const growth = Math.round(((last - first) / first) * 1000) / 10
    const result = {rounds, connections, trim, mallocArenas: arenas, baselineRssMB: mb(baseline), firstRssMB: first, lastRssMB: last, growthPercent: growth, drops: host.stats().drops, rows}
    if (json) process.stdout.write(`${JSON.stringify(result)}\n`)
    else process.stdout.write(`trim ${trim ? 'on' : 'off'}, malloc arenas ${arenas > 0 ? arenas : 'glibc default'}: RSS baseline ${mb(baseline)} MB, round 1 ${first} MB, round ${rounds} ${last} MB (${growth >= 0 ? '+' : ''}${growth} %)\n`)
  } finally {
    await host.stop()
    rmSync(dir, {recursive: true, force: true})
  }
}
