/**
 * The CLI contract (README "CLI contract", src/cli/command.ts) over every command, as a table:
 * the built CLI (node bin/run.js) runs each row plain and with --json. Exit 0 done and every check
 * passed, 1 ran but a check failed or the box lacks something, 2 usage or input error — the same
 * in both modes; with --json stdout is exactly one JSON document, a failure's being
 * {"error": {"code", "message", "exit"}}; stderr carries the failure's sentence, never a stack.
 */
import {spawn, spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {ERROR_CODES, type ErrorCode} from '../../src/cli/errors.js'
import {writeLog} from '../perf/helpers.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'lumen-cli-contract-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

const file = (name: string): string => join(dir, name)
const missing = file('no-such-file')
const port = 30000 + Math.floor(Math.random() * 20000)

interface Run {
  status: number | null
  stdout: string
  stderr: string
}

function lumen(args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const r = spawnSync(process.execPath, [join(root, 'bin/run.js'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: {...process.env, NO_COLOR: '1', ...env},
    timeout: 60_000,
  })
  return {status: r.status, stdout: r.stdout, stderr: r.stderr}
}

/** A row: argv after the command, the exit status the contract gives it, and for a failure its code and sentence. */
interface Row {
  name: string
  args: string[] | (() => string[])
  env?: NodeJS.ProcessEnv
  exit: 0 | 1 | 2
  code?: ErrorCode
  sentence?: RegExp
}

const argsOf = (row: Row): string[] => (typeof row.args === 'function' ? row.args() : row.args)

/** Every command in src/commands, each with a good invocation and failures: usage errors and a missing or unreadable input. */
const TABLE: Record<string, Row[]> = {
  'fec-sim': [
    {name: 'a small run', args: ['--frames', '30', '--frame-bytes', '3000'], exit: 0},
    {name: '--loss out of [0, 1]', args: ['--loss', '1.5'], exit: 2, code: 'invalid_flag_value', sentence: /--loss is a probability in \[0, 1\], got '1\.5'/},
    {name: 'a flag it does not have', args: ['--no-such-flag'], exit: 2, code: 'unknown_flag', sentence: /--no-such-flag/},
    {name: 'a --model that is not an option', args: ['--model', 'markov'], exit: 2, code: 'invalid_flag_value', sentence: /--model=markov .*uniform, ge/},
    {name: 'a flag without its value', args: ['--frames'], exit: 2, code: 'usage', sentence: /--frames expects a value/},
    {name: 'two loss models', args: () => ['--model', 'ge', '--trace', file('good.trace')], exit: 2, code: 'conflicting_flags', sentence: /pick one/},
    {name: 'a missing trace', args: ['--trace', missing], exit: 2, code: 'file_not_found', sentence: /cannot read the trace .*no-such-file: no such file/},
    {name: 'a trace that is a folder', args: () => ['--trace', dir], exit: 2, code: 'file_unreadable', sentence: /cannot read the trace .*: it is a folder/},
    {name: 'a malformed trace', args: () => ['--trace', file('bad.trace'), '--frames', '10'], exit: 2, code: 'malformed_input', sentence: /line 2: 'x' is not a 0\/1 packet entry/},
    {name: 'an --svg in a missing folder', args: () => ['--frames', '10', '--frame-bytes', '3000', '--svg', join(missing, 'x.svg')], exit: 2, code: 'file_unwritable', sentence: /cannot write the plot .*x\.svg: its folder does not exist/},
  ],
  'perf-report': [
    {name: 'a log', args: () => [file('a.perf')], exit: 0},
    {name: 'no log named', args: [], exit: 2, code: 'missing_argument', sentence: /missing argument: file/},
    {name: '--since that is not seconds', args: () => [file('a.perf'), '--since', 'soon'], exit: 2, code: 'invalid_flag_value', sentence: /--since: expected a number of seconds/},
    {name: '--until before --since', args: () => [file('a.perf'), '--since', '5', '--until', '2'], exit: 2, code: 'conflicting_flags', sentence: /--until \(2\) must be after --since \(5\)/},
    {name: '--compare with one log', args: () => ['--compare', file('a.perf')], exit: 2, code: 'usage', sentence: /--compare takes exactly two logs/},
    {name: 'a flag it does not have', args: () => [file('a.perf'), '--no-such-flag'], exit: 2, code: 'unknown_flag', sentence: /--no-such-flag/},
    {name: 'a missing log', args: ['/nonexistent'], exit: 2, code: 'file_not_found', sentence: /cannot read the LUMEN_PERF log \/nonexistent: no such file/},
    {name: 'a foreign file', args: () => [file('foreign.perf')], exit: 2, code: 'malformed_input', sentence: /not a readable LUMEN_PERF log/},
  ],
  'encode-test': [
    {name: 'a few small frames', args: ['--size', '64x64', '--frames', '5'], exit: 0},
    {name: 'a quality the stream cannot reach: the check fails', args: ['--size', '64x64', '--frames', '5', '--min-psnr', '99'], exit: 1},
    {name: '--size that is not WxH', args: ['--size', '13x'], exit: 2, code: 'invalid_flag_value', sentence: /--size "13x" is not WxH/},
    {name: 'a --codec that is not an option', args: ['--codec', 'vp9'], exit: 2, code: 'invalid_flag_value', sentence: /--codec=vp9 .*h264, hevc, av1/},
    {name: '--source dmabuf without --path cuda', args: ['--source', 'dmabuf'], exit: 2, code: 'conflicting_flags', sentence: /add --path cuda/},
    {name: 'an argument it does not take', args: ['--size', '64x64', 'extra'], exit: 2, code: 'unexpected_argument', sentence: /Unexpected argument: extra/},
    {name: 'an --out in a missing folder', args: ['--size', '64x64', '--frames', '2', '--out', join(missing, 'x.h264')], exit: 2, code: 'file_unwritable', sentence: /cannot write the bitstream .*x\.h264: its folder does not exist/},
  ],
  'zerocopy-probe': [
    // the good run's exit follows the verdict this box gives (checked against its JSON below)
    {name: 'a probe of this box', args: [], exit: 0},
    {name: 'a flag it does not have', args: ['--no-such-flag'], exit: 2, code: 'unknown_flag', sentence: /Nonexistent flag: --no-such-flag/},
    {name: 'an argument it does not take', args: ['extra'], exit: 2, code: 'unexpected_argument', sentence: /Unexpected argument: extra/},
    // its input is the shim: a missing library is something the box lacks (exit 1), said in one sentence
    {name: 'a shim that is not there', args: [], env: {LUMEN_SHIM: missing}, exit: 1, code: 'unavailable', sentence: /the native shim is not built \(.*no-such-file is missing\)/},
  ],
  pair: [
    // the good runs need a running serve: test/serve/control-socket.test.ts
    {name: 'a PIN that is not 4 digits', args: ['12a'], exit: 2, code: 'invalid_argument', sentence: /the PIN is the 4 digits the Moonlight client shows, got '12a'/},
    {name: 'a flag it does not have', args: ['--no-such-flag'], exit: 2, code: 'unknown_flag', sentence: /Nonexistent flag: --no-such-flag/},
    {name: '--wait out of range', args: ['1234', '--wait', '0'], exit: 2, code: 'invalid_flag_value', sentence: /--wait/},
    {name: 'no serve running', args: ['1234', '--socket', missing], exit: 1, code: 'unavailable', sentence: /no lumen serve is running \(no control socket answers at .*no-such-file\)/},
  ],
  clients: [
    {name: 'an action it does not have', args: ['forget'], exit: 2, code: 'invalid_argument', sentence: /forget/},
    {name: 'unpair without a client', args: ['unpair', '--socket', missing], exit: 2, code: 'missing_argument', sentence: /missing argument: client/},
    {name: 'a flag it does not have', args: ['--no-such-flag'], exit: 2, code: 'unknown_flag', sentence: /Nonexistent flag: --no-such-flag/},
    {name: 'no serve running', args: ['--socket', missing], exit: 1, code: 'unavailable', sentence: /no lumen serve is running/},
  ],
  status: [
    {name: 'a flag it does not have', args: ['--no-such-flag'], exit: 2, code: 'unknown_flag', sentence: /Nonexistent flag: --no-such-flag/},
    {name: 'an argument it does not take', args: ['extra'], exit: 2, code: 'unexpected_argument', sentence: /Unexpected argument: extra/},
    {name: 'no serve running', args: ['--socket', missing], exit: 1, code: 'unavailable', sentence: /no lumen serve is running/},
  ],
  service: [
    {name: 'install, written only', args: ['install', '--no-enable'], env: {XDG_CONFIG_HOME: file('service-xdg')}, exit: 0},
    {name: 'an action it does not have', args: ['restart'], exit: 2, code: 'invalid_argument', sentence: /restart/},
    {name: 'no action', args: [], exit: 2, code: 'missing_argument', sentence: /missing argument: action/},
    {name: "serve's arguments after status", args: ['status', 'extra'], exit: 2, code: 'unexpected_argument', sentence: /Unexpected argument: extra \(only install takes serve's arguments\)/},
    {name: 'a unit folder that is a file', args: ['install', '--no-enable'], env: {XDG_CONFIG_HOME: file('a.perf')}, exit: 2, code: 'file_not_found', sentence: /cannot mkdir .*a\.perf\/systemd\/user: a folder on its path is not a folder/},
  ],
  serve: [
    // the good run (start → SIGINT → exit 0) is its own test below: it needs a signal
    {name: '--pin that is not 4 digits', args: ['--pin', '12', '--no-mdns'], exit: 2, code: 'invalid_flag_value', sentence: /--pin must be 4 digits, got '12'/},
    {name: '--burst-spread out of (0, 1]', args: ['--burst-spread', '2'], exit: 2, code: 'invalid_flag_value', sentence: /--burst-spread: expected a share of the frame interval in \(0, 1\], got "2"/},
    {name: '--port-base out of range', args: ['--port-base', '70000'], exit: 2, code: 'invalid_flag_value', sentence: /--port-base: .*65514/},
    {name: 'a flag it does not have', args: ['--no-such-flag'], exit: 2, code: 'unknown_flag', sentence: /Nonexistent flag: --no-such-flag/},
    {name: '--bind to an address not on this machine', args: () => ['--bind', '192.0.2.1', '--no-mdns', '--pin', '1234', '--config-dir', file('config'), '--source', 'synthetic', '--audio', 'off'], exit: 2, code: 'invalid_flag_value', sentence: /cannot start the host: .*EADDRNOTAVAIL/},
    {name: '--config-dir that is a file', args: () => ['--config-dir', file('a.perf'), '--no-mdns', '--pin', '1234'], exit: 2, code: 'file_unwritable', sentence: /cannot open the host identity: .*a\.perf/},
    {name: 'a damaged client store in --config-dir', args: () => ['--config-dir', file('damaged-config'), '--no-mdns', '--pin', '1234'], exit: 2, code: 'malformed_input', sentence: /state\.json cannot be used \(not valid JSON.*fix or remove it/},
    {name: 'a port in use: the box, not the command line', args: () => ['--bind', '127.0.0.1', '--port-base', String(port), '--no-mdns', '--pin', '1234', '--config-dir', file('config'), '--source', 'synthetic', '--audio', 'off'], exit: 1, code: 'unavailable', sentence: /cannot start the host: .*EADDRINUSE/},
  ],
}

let blocker: Server
beforeAll(async () => {
  // the built CLI is current: test/global-setup.ts builds it before any test runs

  await writeLog(file('a.perf'), 200)
  writeFileSync(file('foreign.perf'), 'x'.repeat(100))
  writeFileSync(file('good.trace'), '0 1 0 0 0\n')
  writeFileSync(file('bad.trace'), '0 1\n0 x\n')
  mkdirSync(file('config'))
  mkdirSync(file('damaged-config'))
  writeFileSync(file('damaged-config/state.json'), 'garbage\n')
  blocker = createServer()
  await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve))
}, 120_000)
afterAll(() => new Promise<void>((resolve) => (blocker === undefined ? resolve() : blocker.close(() => resolve()))))

/** The sentence a failure prints on stderr: "lumen <command>: <sentence>", one line, no stack. */
function sentenceOf(run: Run, command: string): string {
  const lines = run.stderr.split('\n').filter((l) => l.startsWith(`lumen ${command}: `))
  expect(lines, `stderr names the failure once as "lumen ${command}: …":\n${run.stderr}`).toHaveLength(1)
  expect(run.stderr, 'no stack trace for an expected failure').not.toMatch(/\n\s+at /)
  return lines[0].slice(`lumen ${command}: `.length)
}

describe('the CLI contract, every command plain and with --json', () => {
  it('the table covers every command in src/commands (a new command adds its rows here)', () => {
    const commands = readdirSync(join(root, 'src/commands')).map((f) => f.replace(/\.ts$/, ''))
    expect(Object.keys(TABLE).sort()).toEqual(commands.sort())
    for (const [command, rows] of Object.entries(TABLE)) {
      const input = (r: Row): boolean => /^file_|^malformed_input$|^unavailable$/.test(r.code ?? '')
      expect(rows.filter((r) => r.exit === 2 && !input(r)).length, `${command}: at least two usage errors`).toBeGreaterThanOrEqual(2)
      expect(rows.some(input), `${command}: a missing or unreadable input`).toBe(true)
      // serve's good run needs a signal, and pair, clients and status a running serve: their own tests
      expect(rows.some((r) => r.code === undefined) || ['serve', 'pair', 'clients', 'status'].includes(command), `${command}: a good invocation`).toBe(true)
    }
  })

  for (const [command, rows] of Object.entries(TABLE)) {
    describe(command, () => {
      for (const row of rows) {
        it(`${row.name}: exit ${row.exit}${row.code === undefined ? '' : `, ${row.code}`}`, () => {
          const args = argsOf(row)
          const json = lumen([command, ...args, '--json'], row.env)
          const plain = lumen([command, ...args], row.env)
          // exactly one JSON document on stdout
          let doc: Record<string, unknown>
          try {
            doc = JSON.parse(json.stdout) as Record<string, unknown>
          } catch {
            throw new Error(`--json stdout is not one JSON document:\n${json.stdout}\nstderr:\n${json.stderr}`)
          }
          let expected: number = row.exit
          if (command === 'zerocopy-probe' && row.code === undefined) expected = (doc as {zerocopy: {ok: boolean}}).zerocopy.ok ? 0 : 1
          expect(json.status, `--json: ${json.stderr}`).toBe(expected)
          expect(plain.status, `plain: ${plain.stderr}`).toBe(expected)

          if (row.code === undefined) {
            expect(doc.error, 'a run that did its work prints its result, not an error').toBeUndefined()
            expect(plain.stdout.length, 'the plain run prints its data on stdout').toBeGreaterThan(0)
            return
          }
          expect(Object.keys(doc)).toEqual(['error'])
          const error = doc.error as Record<string, unknown>
          expect(Object.keys(error).sort()).toEqual(['code', 'exit', 'message'])
          expect(error.code).toBe(row.code)
          expect(error.exit).toBe(expected)
          expect(ERROR_CODES[row.code].exit).toBe(expected)
          expect(error.message).toMatch(row.sentence!)
          // stderr carries the same sentence in both modes; plain stdout stays empty
          expect(sentenceOf(json, command)).toBe(error.message)
          expect(sentenceOf(plain, command)).toBe(error.message)
          expect(plain.stdout).toBe('')
        })
      }
    })
  }

  it('serve: a real start, SIGINT, exit 0 — plain and with --json (its result alone on stdout)', async () => {
    for (const mode of [[], ['--json']]) {
      const child = spawn(process.execPath, [join(root, 'bin/run.js'), 'serve', '--bind', '127.0.0.1', '--port-base', String(port + 100), '--pin', '1234', '--no-mdns', '--source', 'synthetic', '--audio', 'off', '--config-dir', file('config'), ...mode], {
        cwd: root,
        env: {...process.env, NO_COLOR: '1'},
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let out = ''
      let err = ''
      child.stdout.on('data', (d: Buffer) => (out += d.toString()))
      child.stderr.on('data', (d: Buffer) => (err += d.toString()))
      const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
      const t0 = Date.now()
      while (!err.includes('lumen serve: HTTP') && child.exitCode === null && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 50))
      expect(err, 'serve says it listens (on stderr, also with --json)').toContain(`lumen serve: HTTP ${port + 100}`)
      child.kill('SIGINT')
      expect(await exit, err).toBe(0)
      expect(err).toContain('lumen serve: stopped')
      if (mode.length === 0) expect(out).toBe('')
      else expect((JSON.parse(out) as {ports: {http: number}}).ports.http).toBe(port + 100)
    }
  }, 90_000)

  it('a mistyped command: exit 2 and the same error shape', () => {
    for (const json of [false, true]) {
      const r = lumen(['no-such-command', ...(json ? ['--json'] : [])])
      expect(r.status).toBe(2)
      expect(sentenceOf(r, 'no-such-command')).toMatch(/no command "no-such-command"; the commands are: .*fec-sim/)
      if (json) expect(JSON.parse(r.stdout)).toEqual({error: {code: 'unknown_command', message: expect.stringMatching(/^no command/), exit: 2}})
      else expect(r.stdout).toBe('')
    }
  })

  it("the README's code table is ERROR_CODES, code by code", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8')
    const section = readme.slice(readme.indexOf('## CLI contract'))
    const rows = [...section.matchAll(/^\| `(\w+)` \| (\d) \|/gm)].map((m) => [m[1], Number(m[2])])
    expect(rows).toEqual(Object.entries(ERROR_CODES).map(([code, c]) => [code, c.exit]))
  })
})
