/**
 * Vitest global setup: builds the TypeScript (`tsc -p tsconfig.json`, the same as `npm run build`)
 * once, before any test file runs, so every test that runs the built CLI (bin/run.js → dist/)
 * finds it current. The build is incremental (tsconfig.json's tsBuildInfoFile in dist/): with
 * nothing changed it only compares file hashes. A type error stops the whole run with tsc's
 * message, before a single test runs against stale output.
 */
import {spawnSync} from 'node:child_process'
import {createRequire} from 'node:module'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

export default function setup(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], {cwd: root, encoding: 'utf8'})
  if (r.status !== 0) {
    const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() || (r.error?.message ?? `exit status ${r.status}`)
    throw new Error(`the build (tsc -p tsconfig.json) failed, so no test ran:\n${output}`)
  }
}
