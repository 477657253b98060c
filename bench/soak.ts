/**
 * Soak: N cycles of launch → stream → quit with the in-repo test client against one `lumen serve`
 * (the built CLI: synthetic source by default, tone audio, H.264), pairing once. After each cycle
 * (stream ended, app quit) it reads serve's resident memory, open fds and threads from /proc, and
 * prints them per cycle range with the growth from cycle 100 (or the first cycle, when fewer) to
 * the end. On a GPU machine `--source gltest --capture-path gpu` soaks the GPU path, and
 * `--gpu-memory` samples the device's free memory after each cycle through a small zero-copy
 * chain this process holds (device-wide, so serve's CUDA and GL allocations show in it).
 *
 *   npm run bench -- soak [--cycles 1000] [--stream-s 2] [--every 50] [--malloc-arenas N]
 *                         [--source synthetic|gltest] [--capture-path cpu|gpu|auto]
 *                         [--mode 640x360@60] [--gpu-memory] [--max-s S] [--json]
 *
 * --max-s ends the run after the cycle that passes S seconds (the cycles run are reported), so a
 * time-limited machine still gets the whole table.
 */
import {mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {renderTable} from '../src/cli/output.js'
import {ZeroCopyChain} from '../src/native/gpu.js'
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
  /** the GPU's free memory (MiB) after the cycle, with --gpu-memory */
  gpuFreeMiB?: number
}

function sample(pid: number, cycle: number, frames: number, gpu: ZeroCopyChain | undefined): Sample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const rssKiB = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN)
  const s: Sample = {cycle, rssMiB: +(rssKiB / 1024).toFixed(1), fds: readdirSync(`/proc/${pid}/fd`).length, threads: readdirSync(`/proc/${pid}/task`).length, frames}
  if (gpu !== undefined) s.gpuFreeMiB = +(gpu.stats().gpuFreeBytes / 2 ** 20).toFixed(1)
  return s
}

const pct = (from: number, to: number): number => +(((to - from) / from) * 100).toFixed(2)

export interface SoakOptions {
  cycles: number
  streamMs: number
  /** progress on stderr every this many cycles (0: none) */
  every: number
  /** serve's --malloc-arenas (undefined: its default) */
  mallocArenas?: number
  /** serve's --source (default synthetic) */
  source?: string
  /** serve's --capture-path (default: serve's own) */
  capturePath?: string
  /** the stream the client asks for (default 640x360@60) */
  mode?: {width: number; height: number; fps: number}
  /** sample the GPU's free memory after each cycle */
  gpuMemory?: boolean
  /** stop after the cycle that passes this much time (ms), and report the cycles run */
  maxMs?: number
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
  /** free GPU memory from cycle `from` to the end (MiB; negative: serve holds more), with --gpu-memory */
  gpuFreeChangeMiB?: number
  /** the spread (max − min) of free GPU memory over cycles `from`..end */
  gpuFreeSpreadMiB?: number
  maxRssMiB: number
  failure: string | undefined
}

export async function soak(o: SoakOptions): Promise<SoakResult> {
  const {cycles, streamMs, every, mallocArenas} = o
  const mode = o.mode ?? {width: 640, height: 360, fps: 60}
  const gpu = o.gpuMemory ? ZeroCopyChain.open(64, 64) : undefined
  const dir = mkdtempSync(join(tmpdir(), 'lumen-bench-soak-'))
  const serve = await startServeCli([
    '--config-dir',
    dir,
    '--codecs',
    'h264',
    '--source',
    o.source ?? 'synthetic',
    '--audio',
    'tone',
    ...(o.capturePath === undefined ? [] : ['--capture-path', o.capturePath]),
    ...(mallocArenas === undefined ? [] : ['--malloc-arenas', String(mallocArenas)]),
  ])
  const pid = serve.child.pid
  if (!serve.stderr().includes('lumen serve: HTTP') || pid === undefined) {
    gpu?.close()
    throw new Error(`serve did not start: ${serve.stderr()}`)
  }
  const samples: Sample[] = []
  const t0 = Date.now()
  let failure: string | undefined
  try {
    const client = new MoonlightTestClient({host: '127.0.0.1', httpPort: serve.base, identity: await createClientIdentity()})
    if ((await client.pair('1234')).outcome !== 'paired') throw new Error('pairing failed')
    const start = sample(pid, 0, 0, gpu)
    samples.push(start)
    for (let cycle = 1; cycle <= cycles; cycle++) {
      try {
        const s = await connectClient('127.0.0.1', serve.base, {client, decode: false, announce: {...mode, codec: 0, encryptionEnabled: 5, configuredBitrateKbps: 2000}})
        await waitUntil(() => s.video.frames.length > 0, 20_000, `cycle ${cycle}: the first frame`)
        await sleep(streamMs)
        const frames = s.video.frames.length
        await s.close()
        await client.cancel()
        // the host ends the stream on the ENet disconnect; give its workers their exit
        await sleep(100)
        samples.push(sample(pid, cycle, frames, gpu))
      } catch (error) {
        failure = `cycle ${cycle}: ${(error as Error).message}`
        break
      }
      if (every > 0 && cycle % every === 0) {
        const x = samples.at(-1)!
        const gpuFree = x.gpuFreeMiB === undefined ? '' : `, GPU free ${x.gpuFreeMiB} MiB`
        process.stderr.write(`soak: cycle ${cycle}/${cycles}: RSS ${x.rssMiB} MiB, ${x.fds} fds, ${x.threads} threads${gpuFree}, ${x.frames} frames in the last stream\n`)
      }
      if (o.maxMs !== undefined && Date.now() - t0 >= o.maxMs) break
    }
  } finally {
    const code = await serve.stop()
    gpu?.close()
    rmSync(dir, {recursive: true, force: true})
    if (code !== 0 && failure === undefined) failure = `serve exited ${code} at the end`
  }
  const done = samples.filter((s) => s.cycle > 0)
  const from = done.find((s) => s.cycle === 100) ?? done[0]
  const last = done.at(-1)
  const gpuFree = done.filter((s) => s.cycle >= (from?.cycle ?? 0) && s.gpuFreeMiB !== undefined).map((s) => s.gpuFreeMiB as number)
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
    ...(gpuFree.length > 0 ? {gpuFreeChangeMiB: +(gpuFree.at(-1)! - gpuFree[0]).toFixed(1), gpuFreeSpreadMiB: +(Math.max(...gpuFree) - Math.min(...gpuFree)).toFixed(1)} : {}),
    maxRssMiB: Math.max(...done.map((s) => s.rssMiB)),
    failure,
  }
}

export async function run(args: string[]): Promise<void> {
  const every = Number(flag(args, '--every') ?? 50)
  const json = args.includes('--json')
  const modeArg = flag(args, '--mode')
  const m = modeArg === undefined ? undefined : /^(\d+)x(\d+)@(\d+)$/.exec(modeArg)
  if (m === null) throw new Error(`--mode ${modeArg}: give WIDTHxHEIGHT@FPS, e.g. 2560x1440@60`)
  const out = await soak({
    cycles: Number(flag(args, '--cycles') ?? 1000),
    streamMs: Number(flag(args, '--stream-s') ?? 2) * 1000,
    every: json ? 0 : every,
    mallocArenas: flag(args, '--malloc-arenas') === undefined ? undefined : Number(flag(args, '--malloc-arenas')),
    source: flag(args, '--source'),
    capturePath: flag(args, '--capture-path'),
    mode: m === undefined ? undefined : {width: Number(m[1]), height: Number(m[2]), fps: Number(m[3])},
    gpuMemory: args.includes('--gpu-memory'),
    maxMs: flag(args, '--max-s') === undefined ? undefined : Number(flag(args, '--max-s')) * 1000,
  })
  const {samples, from, end: last, failure} = out
  const gpu = out.start.gpuFreeMiB !== undefined
  if (json) process.stdout.write(`${JSON.stringify(out)}\n`)
  else {
    const rows = [out.start, ...samples]
      .filter((s) => s.cycle === 0 || s.cycle === 1 || s.cycle % every === 0 || s === last)
      .map((s) => [s.cycle === 0 ? 'before' : s.cycle, s.rssMiB, s.fds, s.threads, s.frames, ...(gpu ? [s.gpuFreeMiB] : [])])
    process.stdout.write(`${renderTable(['cycle', 'RSS MiB', 'fds', 'threads', 'frames (last stream)', ...(gpu ? ['GPU free MiB'] : [])], rows)}\n`)
    const gpuLine = gpu ? `, GPU free memory ${out.gpuFreeChangeMiB! >= 0 ? '+' : ''}${out.gpuFreeChangeMiB} MiB (spread ${out.gpuFreeSpreadMiB} MiB)` : ''
    process.stdout.write(
      `soak: ${out.cycles} cycles of ${out.streamS} s in ${out.seconds} s; from cycle ${from?.cycle} to ${last?.cycle}: RSS ${out.rssGrowthPct} % (${from?.rssMiB} → ${last?.rssMiB} MiB, max ${out.maxRssMiB}), fds ${out.fdGrowth! >= 0 ? '+' : ''}${out.fdGrowth}, threads ${out.threadGrowth! >= 0 ? '+' : ''}${out.threadGrowth}${gpuLine}\n`,
    )
    if (failure !== undefined) process.stdout.write(`FAILED ${failure}\n`)
  }
  if (failure !== undefined) process.exitCode = 1
}
