/**
 * Fuzzes every control-plane parser with 1,000,000 random and mutated inputs each (the suite runs
 * 10,000): HTTP query strings and pairing hex, the nvhttp pairing API, RTSP requests (plain and
 * rtspenc), ANNOUNCE SDP, encrypted control messages, input packets. Prints inputs/s, how many
 * were accepted/rejected, and the live heap (after a full GC) before and after each parser (no unbounded allocation).
 *
 *   npm run bench -- fuzz [--count N] [--seed S] [--only name,name] [--json]
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {setFlagsFromString} from 'node:v8'
import {runInNewContext} from 'node:vm'

import {HostStore} from '../src/host/store.js'
import {createClientIdentity} from '../test/client/client.js'
import {fuzzPairingApi, SYNC_FUZZERS, type FuzzResult} from '../test/host/fuzz-cases.js'

export const summary = 'control-plane parser fuzzing: 1,000,000 random/mutated inputs per parser, no crash, bounded memory'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** Heap in use after a full collection: what the parser kept, not what it left for the GC. */
function liveHeapMiB(): number {
  gc()
  return +(process.memoryUsage().heapUsed / 2 ** 20).toFixed(1)
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : undefined
}

export async function run(args: string[]): Promise<void> {
  const count = Number(flag(args, '--count') ?? 1_000_000)
  const seed = Number(flag(args, '--seed') ?? 1)
  const only = flag(args, '--only')?.split(',')
  const json = args.includes('--json')
  const names = [...Object.keys(SYNC_FUZZERS), 'pairing-api'].filter((n) => only === undefined || only.includes(n))
  const rows: Array<FuzzResult & {inputsPerSec: number; heapBeforeMiB: number; heapAfterMiB: number; rssAfterMiB: number; validAfter?: boolean}> = []
  for (const name of names) {
    const before = liveHeapMiB()
    let r: FuzzResult & {validAfter?: boolean}
    if (name === 'pairing-api') {
      const dir = mkdtempSync(join(tmpdir(), 'lumen-fuzz-'))
      try {
        const store = await HostStore.open(dir)
        r = await fuzzPairingApi(store, count, seed, (await createClientIdentity()).certPem)
        if (store.clients().length !== 0) throw new Error('fuzzing paired a client')
      } finally {
        rmSync(dir, {recursive: true, force: true})
      }
    } else {
      // chunks, so progress shows and a failure names a seed near its input
      r = {name, inputs: 0, accepted: 0, rejected: 0, ms: 0}
      const chunk = 100_000
      for (let done = 0, k = 0; done < count; done += chunk, k++) {
        const part = SYNC_FUZZERS[name as keyof typeof SYNC_FUZZERS](Math.min(chunk, count - done), seed * 1000 + k)
        r.inputs += part.inputs
        r.accepted += part.accepted
        r.rejected += part.rejected
        r.ms += part.ms
      }
    }
    const after = liveHeapMiB()
    const row = {...r, inputsPerSec: Math.round((r.inputs / r.ms) * 1000), heapBeforeMiB: before, heapAfterMiB: after, rssAfterMiB: +(process.memoryUsage().rss / 2 ** 20).toFixed(1)}
    rows.push(row)
    if (!json) {
      process.stderr.write(
        `${name.padEnd(12)} ${String(r.inputs).padStart(9)} inputs  ${String(r.accepted).padStart(8)} accepted  ${String(r.rejected).padStart(8)} rejected  ${String(row.inputsPerSec).padStart(8)}/s  live heap ${row.heapBeforeMiB} → ${row.heapAfterMiB} MiB (RSS ${row.rssAfterMiB})${r.validAfter === undefined ? '' : `  valid request after: ${r.validAfter ? 'answered' : 'FAILED'}`}\n`,
      )
    }
    if (r.validAfter === false) throw new Error('the API did not answer a valid request after fuzzing')
  }
  if (json) process.stdout.write(`${JSON.stringify({count, seed, results: rows})}\n`)
  else process.stdout.write(`fuzz: ${rows.reduce((a, r) => a + r.inputs, 0)} inputs over ${rows.length} parsers, no crash\n`)
}
