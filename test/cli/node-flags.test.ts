/**
 * `./bin/run.js` and the npm scripts run node with the V8 options the systemd unit and the tests'
 * spawns use.
 */
import {execFileSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {NODE_FLAGS} from '../../src/cli/node-flags.js'
import {root} from '../helpers/index.js'

describe('node flags', () => {
  it("bin/run.js's shebang passes exactly NODE_FLAGS, and the CLI starts through it", () => {
    const shebang = readFileSync(join(root, 'bin', 'run.js'), 'utf8').split('\n')[0]
    expect(shebang).toBe(`#!/usr/bin/env -S node ${NODE_FLAGS.join(' ')}`)
    // env -S splits the line: the CLI starts through it
    const out = execFileSync(join(root, 'bin', 'run.js'), ['--version'], {cwd: root, encoding: 'utf8'})
    expect(out).toMatch(/^lumen\//)
  })

  it("package.json's lumen and bench scripts run node with NODE_FLAGS", () => {
    const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {scripts: Record<string, string>}).scripts
    for (const name of ['lumen', 'bench']) {
      const node = /(?:^|&& )node ([^]*?)(?:bin\/run\.js|dist\/bench\/main\.js)/.exec(scripts[name])
      expect(node, `${name}: ${scripts[name]}`).not.toBeNull()
      for (const f of NODE_FLAGS) expect(node![1].split(' '), name).toContain(f)
    }
  })
})
