/**
 * Vitest global setup: builds the TypeScript (`tsc -p tsconfig.json`, the same as `npm run build`)
 * once, before any test file runs, so every test that runs the built CLI (bin/run.js → dist/)
 * finds it current. The build is incremental (tsconfig.json's tsBuildInfoFile in dist/): with
 * nothing changed it only compares file hashes. A type error stops the whole run with tsc's
 * message, before a single test runs against stale output. The tests themselves are then
 * type-checked (tsconfig.test.json, no output): vitest strips types without checking them, so a
 * test importing a name that moved would otherwise fail only when it runs.
 */
import {spawnSync} from 'node:child_process'
import {createRequire} from 'node:module'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

function tsc(project: string, what: string): void {
  const bin = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  const r = spawnSync(process.execPath, [bin, '-p', project], {cwd: root, encoding: 'utf8'})
  if (r.status !== 0) {
    const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() || (r.error?.message ?? `exit status ${r.status}`)
    throw new Error(`${what} (tsc -p ${project}) failed, so no test ran:\n${output}`)
  }
}

export default function setup(): void {
  tsc('tsconfig.json', 'the build')
  tsc('tsconfig.test.json', 'the type check of the tests')
}
