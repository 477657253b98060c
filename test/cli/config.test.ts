/**
 * serve's config file (src/cli/config.ts): every flag has a key, and the built CLI takes a
 * setting from the command line over its LUMEN_* variable over the file over the default; a
 * bad key or value stops it with exit 2 and a sentence naming the key and what is allowed.
 */
import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {afterAll, describe, expect, it} from 'vitest'

import {SERVE_CONFIG_KEYS} from '../../src/cli/config.js'
import Serve from '../../src/commands/serve.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'lumen-config-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

function lumen(args: string[], env: NodeJS.ProcessEnv = {}): {status: number | null; stdout: string; stderr: string} {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LUMEN_')))
  const r = spawnSync(process.execPath, [join(root, 'bin/run.js'), ...args], {cwd: root, encoding: 'utf8', env: {...clean, NO_COLOR: '1', XDG_CONFIG_HOME: join(dir, 'xdg'), ...env}, timeout: 60_000})
  return {status: r.status, stdout: r.stdout, stderr: r.stderr}
}

function config(name: string, value: unknown): string {
  const p = join(dir, name)
  writeFileSync(p, typeof value === 'string' ? value : JSON.stringify(value))
  return p
}

interface Setting {
  key: string
  value: unknown
  source: string
  from?: string
}

function settings(args: string[], env: NodeJS.ProcessEnv = {}): Map<string, Setting> {
  const r = lumen(['serve', '--print-config', '--json', ...args], env)
  expect(r.status, r.stderr).toBe(0)
  return new Map((JSON.parse(r.stdout) as {settings: Setting[]}).settings.map((s) => [s.key, s]))
}

describe('serve config file', () => {
  it('every serve flag has a row in the key table, and every row is a serve flag', () => {
    const flags = Object.keys(Serve.flags).concat('json')
    for (const f of flags) expect(SERVE_CONFIG_KEYS, `serve flag --${f} has no config key row`).toHaveProperty([f])
    for (const f of Object.keys(SERVE_CONFIG_KEYS)) expect(flags, `row ${f} is not a serve flag`).toContain(f)
  })

  it('flag > env > file > default, each setting saying where it came from', () => {
    const file = config('precedence.json', {pacing: 'burst', 'burst-packets': 8, 'port-base': 40000, 'burst-spread': 0.25, 'udp-gso': 'off', mdns: false})
    const s = settings(['--config', file, '--port-base', '41000'], {LUMEN_BURST_PACKETS: '16'})
    expect(s.get('port-base')).toEqual({key: 'port-base', value: 41000, source: 'flag'})
    expect(s.get('burst-packets')).toEqual({key: 'burst-packets', value: 16, source: 'env', from: 'LUMEN_BURST_PACKETS'})
    expect(s.get('pacing')).toEqual({key: 'pacing', value: 'burst', source: 'file', from: file})
    // a file value goes through the flag's own parser, as the command line's would
    expect(s.get('burst-spread')).toMatchObject({value: 0.25, source: 'file'})
    expect(s.get('udp-gso')).toMatchObject({value: false, source: 'file'})
    expect(s.get('mdns')).toMatchObject({value: false, source: 'file'})
    expect(s.get('send-at')).toEqual({key: 'send-at', value: 'ready', source: 'default'})
    expect(s.get('display')).toEqual({key: 'display', source: 'unset'})
  })

  it('the file comes from LUMEN_CONFIG, else $XDG_CONFIG_HOME/lumen/config.json; a missing default is no error', () => {
    expect(settings([]).get('pacing')).toMatchObject({value: 'line', source: 'default'})
    const viaEnv = config('env.json', {pacing: 'burst'})
    expect(settings([], {LUMEN_CONFIG: viaEnv}).get('pacing')).toMatchObject({source: 'file', from: viaEnv})
    const xdg = join(dir, 'xdg2')
    spawnSync('mkdir', ['-p', join(xdg, 'lumen')])
    writeFileSync(join(xdg, 'lumen', 'config.json'), JSON.stringify({'send-at': 'deadline'}))
    expect(settings([], {XDG_CONFIG_HOME: xdg}).get('send-at')).toMatchObject({value: 'deadline', source: 'file', from: join(xdg, 'lumen', 'config.json')})
  })

  const bad: Array<[string, unknown, RegExp]> = [
    ['a key that is not a setting', {pacingg: 'line'}, /"pacingg" is not a setting; the settings are: aom-speed, audio, bind, /],
    ['a value not among the options', {pacing: 'fast'}, /"pacing" is "fast"; allowed: one of line, burst/],
    ['an integer out of range', {'port-base': 70000}, /"port-base" is 70000 .*65514.*; allowed: an integer from 6 to 65514/],
    ['a value its parser refuses', {'burst-spread': 2}, /"burst-spread" is 2 \(expected a share of the frame interval in \(0, 1\]/],
    ['a boolean that is not one', {mdns: 'yes'}, /"mdns" is "yes"; allowed: true or false/],
    ['a run-only flag', {duration: 5}, /"duration" is not a setting/],
    ['not an object', '[1, 2]', /must hold one JSON object of settings/],
    ['not JSON', '{pacing: line', /is not valid JSON/],
  ]
  for (const [name, value, sentence] of bad) {
    it(`${name}: exit 2, malformed_input, naming the key and the allowed values`, () => {
      const file = config(`bad-${name.replace(/\W+/g, '-')}.json`, value)
      const r = lumen(['serve', '--config', file, '--json'])
      expect(r.status, r.stderr).toBe(2)
      const doc = JSON.parse(r.stdout) as {error: {code: string; message: string}}
      expect(doc.error.code).toBe('malformed_input')
      expect(doc.error.message).toMatch(sentence)
      expect(r.stderr).toContain(`lumen serve: ${doc.error.message}`)
    })
  }

  it('a --config that does not exist: file_not_found', () => {
    const r = lumen(['serve', '--config', join(dir, 'nope.json'), '--json'])
    expect(r.status).toBe(2)
    expect((JSON.parse(r.stdout) as {error: {code: string}}).error.code).toBe('file_not_found')
  })

  it('a real serve takes its port base and source from the file and --bind from the command line', async () => {
    const port = 30000 + Math.floor(Math.random() * 20000)
    const file = config('serve.json', {'port-base': port, source: 'synthetic', audio: 'off', mdns: false, pin: '1234', bind: '192.0.2.1', 'config-dir': join(dir, 'identity'), socket: join(dir, 'control.sock')})
    const child = spawn(process.execPath, [join(root, 'bin/run.js'), 'serve', '--config', file, '--bind', '127.0.0.1', '--duration', '1'], {cwd: root, env: {...process.env, NO_COLOR: '1'}, stdio: ['ignore', 'pipe', 'pipe']})
    let err = ''
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    expect(code, err).toBe(0)
    // the file's bind (192.0.2.1, not this machine's) would have failed: the flag won
    expect(err).toContain(`lumen serve: HTTP ${port}, HTTPS ${port - 5}`)
    expect(err).toContain('source synthetic')
  }, 60_000)
})
