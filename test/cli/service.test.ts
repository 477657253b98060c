/**
 * `lumen service`: the systemd user unit it writes runs this node and bin/run.js with serve's
 * arguments, restarts on failure, passes the session's variables in, and passes
 * `systemd-analyze verify`; uninstall removes it. Starting it needs a user systemd instance.
 */
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {afterAll, describe, expect, it} from 'vitest'

const root = fileURLToPath(new URL('../..', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'lumen-service-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))
const unit = join(dir, 'xdg', 'systemd', 'user', 'lumen.service')
const runtime = join(dir, 'runtime')
mkdirSync(runtime, {mode: 0o700})

function lumen(args: string[]): {status: number | null; stdout: string; stderr: string} {
  const r = spawnSync(process.execPath, [join(root, 'bin/run.js'), ...args], {cwd: root, encoding: 'utf8', env: {...process.env, NO_COLOR: '1', XDG_CONFIG_HOME: join(dir, 'xdg')}, timeout: 60_000})
  return {status: r.status, stdout: r.stdout, stderr: r.stderr}
}

const analyze = spawnSync('systemd-analyze', ['--version'], {encoding: 'utf8'})
const noAnalyze = analyze.error === undefined ? undefined : 'systemd-analyze is not installed (scripts/install.sh installs systemd)'

function verify(path: string): {status: number | null; stderr: string} {
  const r = spawnSync('systemd-analyze', ['verify', '--user', path], {encoding: 'utf8', env: {...process.env, XDG_RUNTIME_DIR: runtime}})
  return {status: r.status, stderr: `${r.stdout}${r.stderr}`.trim()}
}

describe('lumen service', () => {
  it('install --no-enable writes the unit: this node, the absolute bin/run.js, serve with the arguments after --', () => {
    const r = lumen(['service', 'install', '--no-enable', '--json', '--', '--source', 'synthetic', '--name', 'living room'])
    expect(r.status, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({action: 'install', unit, installed: true})
    const text = readFileSync(unit, 'utf8')
    expect(text).toContain(`\nExecStart=${process.execPath} --max-semi-space-size=2 --no-memory-reducer ${join(root, 'bin/run.js')} serve --source synthetic --name "living room"\n`)
    expect(text).toMatch(/\nRestart=on-failure\n/)
    const passed = /\nPassEnvironment=(.*)\n/.exec(text)?.[1].split(' ')
    expect(passed).toEqual(expect.arrayContaining(['WAYLAND_DISPLAY', 'DISPLAY', 'XDG_RUNTIME_DIR']))
    expect(text).toMatch(/\nStandardError=journal\n/)
  })

  it.skipIf(noAnalyze !== undefined)(`systemd-analyze verify accepts it without a warning${noAnalyze === undefined ? '' : ` (skipped: ${noAnalyze})`}`, () => {
    const good = verify(unit)
    expect(good.status, good.stderr).toBe(0)
    expect(good.stderr).toBe('')
    // the same check reports a damaged copy: it reads what we wrote
    const broken = join(runtime, 'lumen.service')
    writeFileSync(broken, readFileSync(unit, 'utf8').replace('Restart=on-failure', 'Restart=sometimes'))
    expect(verify(broken).stderr).toMatch(/restart specifier/)
  })

  // a user systemd instance needs systemd as PID 1 (or a running user manager); this box's PID 1 is not
  const noUserManager = existsSync('/run/systemd/system') && spawnSync('systemctl', ['--user', 'is-system-running'], {encoding: 'utf8'}).status !== null && process.env.DBUS_SESSION_BUS_ADDRESS !== undefined ? undefined : 'no user systemd instance can run here (systemd is not PID 1, no user bus)'
  it.skipIf(noUserManager !== undefined)(`starts serve through the unit${noUserManager === undefined ? '' : ` (skipped: ${noUserManager})`}`, () => {
    const r = lumen(['service', 'install', '--', '--source', 'synthetic', '--audio', 'off', '--no-mdns'])
    expect(r.status, r.stderr).toBe(0)
    const active = spawnSync('systemctl', ['--user', 'is-active', 'lumen.service'], {encoding: 'utf8'})
    expect(active.stdout.trim()).toBe('active')
    expect(lumen(['service', 'uninstall']).status).toBe(0)
  })

  it('uninstall removes the unit; status then says not installed', () => {
    const r = lumen(['service', 'uninstall', '--json'])
    expect(r.status, r.stderr).toBe(0)
    expect(existsSync(unit)).toBe(false)
    const s = lumen(['service', 'status', '--json'])
    expect(s.status, s.stderr).toBe(0)
    expect(JSON.parse(s.stdout)).toMatchObject({action: 'status', installed: false})
  })
})
