/** Shared by the encoder tests: the built CLI in a child process, and an Annex B reader written
 * here (not the one in src/media/decoder.ts) so the tests check the bitstream independently. */
import {spawnSync} from 'node:child_process'
import {existsSync, readdirSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const root = fileURLToPath(new URL('../..', import.meta.url))

/** Rebuilds dist/ when a source the command uses is newer than the built command. */
export function ensureBuilt(): boolean {
  const built = join(root, 'dist/src/commands/encode-test.js')
  const dirs = ['src/commands', 'src/media', 'src/media/capture', 'src/native', 'src/native/bindings']
  const newest = Math.max(
    ...dirs.flatMap((d) =>
      readdirSync(join(root, d))
        .filter((f) => f.endsWith('.ts'))
        .map((f) => statSync(join(root, d, f)).mtimeMs),
    ),
  )
  if (!existsSync(built) || statSync(built).mtimeMs < newest) spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], {cwd: root, stdio: 'ignore'})
  return existsSync(built)
}

export interface Run {
  status: number
  stdout: string
  stderr: string
}

export function lumen(args: string[], env: Record<string, string> = {}): Run {
  const r = spawnSync('node', [join(root, 'bin/run.js'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: {...process.env, NO_COLOR: '1', ...env},
    timeout: 120_000,
  })
  return {status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr}
}

/** NAL unit types of an Annex B access unit, in order. */
export function nalTypes(codec: 'h264' | 'hevc', au: Uint8Array): number[] {
  const types: number[] = []
  let i = 0
  while (i + 3 < au.length) {
    let header = -1
    if (au[i] === 0 && au[i + 1] === 0 && au[i + 2] === 1) header = i + 3
    else if (au[i] === 0 && au[i + 1] === 0 && au[i + 2] === 0 && au[i + 3] === 1) header = i + 4
    if (header < 0) {
      i++
      continue
    }
    types.push(codec === 'h264' ? au[header] & 0x1f : (au[header] >> 1) & 0x3f)
    i = header + 1
  }
  return types
}
