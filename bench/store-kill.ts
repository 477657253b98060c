/**
 * SIGKILL of `lumen serve` around pairing writes, N rounds on one config dir (the suite runs 4):
 * each round starts serve (which must clear the temporary files the last one left), pairs a new
 * client and kills serve a random 0..max-delay µs after the saving request left the client.
 * state.json must parse every time and hold the old clients or the old plus the new one. Prints
 * how often each state was held, how many kills left a temporary file (the kill landed inside a
 * write), and how many temporary files survived a restart (must be 0).
 *
 *   npm run bench -- store-kill [--rounds 200] [--max-delay-us 8000] [--json]
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {renderTable} from '../src/cli/output.js'
import {killRound, storedClients, type KillRound} from '../test/faults/store-faults.js'

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : undefined
}

export const summary = 'kill -9 of serve during pairing writes: the store always parses, old or new state, temp files cleared'

export async function run(args: string[]): Promise<void> {
  const rounds = Number(flag(args, '--rounds') ?? 200)
  const maxDelayUs = Number(flag(args, '--max-delay-us') ?? 8000)
  const json = args.includes('--json')
  const dir = mkdtempSync(join(tmpdir(), 'lumen-bench-store-kill-'))
  const results: KillRound[] = []
  const failures: string[] = []
  const t0 = Date.now()
  try {
    for (let i = 0; i < rounds; i++) {
      try {
        results.push(await killRound(dir, maxDelayUs))
      } catch (error) {
        failures.push(`round ${i}: ${(error as Error).message}`)
        break
      }
      if (!json && (i + 1) % 20 === 0) process.stderr.write(`store-kill: ${i + 1}/${rounds} rounds\n`)
    }
    const out = {
      rounds: results.length,
      maxDelayUs,
      heldOld: results.filter((r) => r.held === 'old').length,
      heldNew: results.filter((r) => r.held === 'new').length,
      killsInsideAWrite: results.filter((r) => r.leftovers > 0).length,
      tempFilesAfterRestart: results.reduce((n, r) => n + r.leftAfterRestart, 0),
      clientsStored: failures.length > 0 ? -1 : storedClients(dir).length,
      failures,
      seconds: +((Date.now() - t0) / 1000).toFixed(1),
    }
    if (json) process.stdout.write(`${JSON.stringify(out)}\n`)
    else {
      const head = ['rounds', 'held old', 'held new', 'kill left a temp file', 'temp files after restart', 'failures', 'seconds']
      process.stdout.write(`${renderTable(head, [[out.rounds, out.heldOld, out.heldNew, out.killsInsideAWrite, out.tempFilesAfterRestart, failures.length, out.seconds]])}\n`)
      for (const f of failures) process.stdout.write(`FAILED ${f}\n`)
    }
    if (failures.length > 0 || out.tempFilesAfterRestart > 0) process.exitCode = 1
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}
