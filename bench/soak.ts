/**
 * Soak: N cycles of launch → stream → quit with the in-repo test client against one `lumen serve`
 * (the built CLI: synthetic source, tone audio, H.264), pairing once. After each cycle (stream
 * ended, app quit) it reads serve's resident memory, open fds and threads from /proc, and prints
 * them per cycle range with the growth from cycle 100 (or the first cycle, when fewer) to the end.
 *
 *   npm run bench -- soak [--cycles 1000] [--stream-s 2] [--every 50] [--malloc-arenas N] [--json]
 */
import {mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import Table from 'cli-table3'

import {MoonlightTestClient, createClientIdentity} from '../test/client/client.js'
import {sleep, waitUntil} from '../test/helpers/index.js'
import {connectClient} from '../test/serve/helpers.js'
import {startServeCli} from '../test/serve/processes.js'

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : undefined
}

export const summary = 'launch → stream → quit cycles against one serve: RSS, fds and threads per cycle'

export interface Sample {
  cycle: number
  rssMiB: number
  fds: number
  threads: number
  frames: number
}

function sample(pid: number, cycle: number, frames: number): Sample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const rssKiB = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN)
  return {cycle, rssMiB: +(rssKiB / 1024).toFixed(1), fds: readdirSync(`/proc/${pid}/fd`).length, threads: readdirSync(`/proc/${pid}/task`).length, frames}
}

const pct = (from: number, to: number): number => +(((to - from) / from) * 100).toFixed(2)

export interface SoakOptions {
  cycles: number
  streamMs: number
  /** progress on stderr every this many cycles (0: none) */
  every: number
  /** serve's --malloc-arenas (undefined: its default) */
  mallocArenas?: number
}

export interface SoakResult {
  cycles: number
  streamS: number
  seconds: number
  /** serve before the first launch, after pairing */
  start: Sample
  samples: Sample[]
  /** the cycle growth is measured from: 100, or the first when fewer ran */
  from: Sample | undefined
  end: Sample | undefined
  rssGrowthPct: number | undefined
  fdGrowth: number | undefined
  threadGrowth: number | undefined
  maxRssMiB: number
  failure: string | undefined
}

export async function soak(o: SoakOptions): Promise<SoakResult> {
  const {cycles, streamMs, every, mallocArenas} = o
  const dir = mkdtempSync(join(tmpdir(), 'lumen-bench-soak-'))
  const serve = await startServeCli(['--config-dir', dir, '--codecs', 'h264', '--source', 'synthetic', '--audio', 'tone', ...(mallocArenas === undefined ? [] : ['--malloc-arenas', String(mallocArenas)])])
  const pid = serve.child.pid
  if (!serve.stderr().includes('lumen serve: HTTP') || pid === undefined) throw new Error(`serve did not start: ${serve.stderr()}`)
  const samples: Sample[] = []
  const t0 = Date.now()
  let failure: string | undefined
  try {
    const client = new MoonlightTestClient({host: '127.0.0.1', httpPort: serve.base, identity: await createClientIdentity()})
    if ((await client.pair('1234')).outcome !== 'paired') throw new Error('pairing failed')
    const start = sample(pid, 0, 0)
    samples.push(start)
    for (let cycle = 1; cycle <= cycles; cycle++) {
      try {
        const s = await connectClient('127.0.0.1', serve.base, {client, decode: false, announce: {width: 640, height: 360, fps: 60, codec: 0, encryptionEnabled: 5, configuredBitrateKbps: 2000}})
        await waitUntil(() => s.video.frames.length > 0, 20_000, `cycle ${cycle}: the first frame`)
        await sleep(streamMs)
        const frames = s.video.frames.length
        await s.close()
        await client.cancel()
        // the host ends the stream on the ENet disconnect; give its workers their exit
        await sleep(100)
        samples.push(sample(pid, cycle, frames))
      } catch (error) {
        failure = `cycle ${cycle}: ${(error as Error).message}`
        break
      }
      if (every > 0 && cycle % every === 0) {
        const x = samples.at(-1)!
        process.stderr.write(`soak: cycle ${cycle}/${cycles}: RSS ${x.rssMiB} MiB, ${x.fds} fds, ${x.threads} threads, ${x.frames} frames in the last stream\n`)
      }
    }
  } finally {
    const code = await serve.stop()
    rmSync(dir, {recursive: true, force: true})
    if (code !== 0 && failure === undefined) failure = `serve exited ${code} at the end`
  }
  const done = samples.filter((s) => s.cycle > 0)
  const from = done.find((s) => s.cycle === 100) ?? done[0]
  const last = done.at(-1)
  return {
    cycles: done.length,
    streamS: streamMs / 1000,
    seconds: +((Date.now() - t0) / 1000).toFixed(1),
    start: samples[0],
    samples: done,
    from,
    end: last,
    rssGrowthPct: from && last ? pct(from.rssMiB, last.rssMiB) : undefined,
    fdGrowth: from && last ? last.fds - from.fds : undefined,
    threadGrowth: from && last ? last.threads - from.threads : undefined,
    maxRssMiB: Math.max(...done.map((s) => s.rssMiB)),
    failure,
  }
}

export async function run(args: string[]): Promise<void> {
  const every = Number(flag(args, '--every') ?? 50)
  const json = args.includes('--json')
  const out = await soak({cycles: Number(flag(args, '--cycles') ?? 1000), streamMs: Number(flag(args, '--stream-s') ?? 2) * 1000, every: json ? 0 : every, mallocArenas: flag(args, '--malloc-arenas') === undefined ? undefined : Number(flag(args, '--malloc-arenas'))})
  const {samples, from, end: last, failure} = out
  if (json) process.stdout.write(`${JSON.stringify(out)}\n`)
  else {
    const t = new Table({head: ['cycle', 'RSS MiB', 'fds', 'threads', 'frames (last stream)']})
    for (const s of [out.start, ...samples]) if (s.cycle === 0 || s.cycle === 1 || s.cycle % every === 0 || s === last) t.push([s.cycle === 0 ? 'before' : s.cycle, s.rssMiB, s.fds, s.threads, s.frames])
    process.stdout.write(`${t.toString()}\n`)
    process.stdout.write(
      `soak: ${out.cycles} cycles of ${out.streamS} s in ${out.seconds} s; from cycle ${from?.cycle} to ${last?.cycle}: RSS ${out.rssGrowthPct} % (${from?.rssMiB} → ${last?.rssMiB} MiB, max ${out.maxRssMiB}), fds ${out.fdGrowth! >= 0 ? '+' : ''}${out.fdGrowth}, threads ${out.threadGrowth! >= 0 ? '+' : ''}${out.threadGrowth}\n`,
    )
    if (failure !== undefined) process.stdout.write(`FAILED ${failure}\n`)
  }
  if (failure !== undefined) process.exitCode = 1
}
