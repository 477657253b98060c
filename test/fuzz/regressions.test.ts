/**
 * The crashes coverage-guided fuzzing found in the shim stay fixed: every input kept in
 * libs/fuzz/regressions/<target>/ (and the seed corpus beside it) is run through its harness,
 * built without libFuzzer (gcc, libs/fuzz/driver.c) under AddressSanitizer and UBSan, by
 * `scripts/fuzz.sh --replay`. A sanitizer report or a harness check (a decoded block that
 * differs from what was sent, a short buffer accepted) is a non-zero exit.
 */
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, describe, expect, it} from 'vitest'

import {root} from '../helpers/index.js'

const targets = ['rs', 'packetize', 'enet', 'portal', 'pipewire']
const out = mkdtempSync(join(tmpdir(), 'lumen-fuzz-replay-'))
afterAll(() => rmSync(out, {recursive: true, force: true}))

const inputs = (t: string): number =>
  ['regressions', 'corpus'].map((d) => join(root, 'libs', 'fuzz', d, t)).reduce((n, d) => n + (safeList(d).length), 0)

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}

describe('fuzz regressions', () => {
  it('keeps a regression input for every crash found', () => {
    // rs: k + m overflowing in check_code; packetize: stride + 32 overflowing in lumen_video_seal; enet: an empty packet's NULL data copied
    for (const t of ['rs', 'packetize', 'enet']) expect(safeList(join(root, 'libs', 'fuzz', 'regressions', t)).length, t).toBeGreaterThan(0)
  })

  for (const t of targets) {
    it(`replays ${t}'s regressions and seeds under ASan and UBSan`, () => {
      const r = spawnSync('bash', [join(root, 'scripts', 'fuzz.sh'), '--replay', t], {cwd: root, env: {...process.env, FUZZ_REPLAY_DIR: out}, encoding: 'utf8'})
      expect(r.status, r.stderr).toBe(0)
      expect(r.stdout).toContain(`fuzz.sh: replay ${t}: ran ${inputs(t)} inputs`)
    }, 120_000)
  }
})
