/**
 * The control socket of a real `lumen serve` (no TTY, no --pin): the test client pairs through
 * `lumen pair PIN`; a wrong PIN leaves the store byte-identical; another user is refused by the
 * socket's mode and, with the mode opened up, by the SO_PEERCRED check; `lumen clients unpair`
 * revokes a streaming client (its next /applist is 401, its stream gets termination 0x0109);
 * `lumen status` shows the stream's figures.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {chmodSync, mkdtempSync, readFileSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {createClientIdentity, MoonlightTestClient} from '../client/client.js'
import {parseNvXml} from '../client/xml.js'
import {connectClient} from './helpers.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'lumen-control-'))
const socketPath = join(dir, 'run', 'control.sock')
const configDir = join(dir, 'identity')
const port = 30000 + Math.floor(Math.random() * 20000)
let serve: ChildProcess
let serveErr = ''

interface Run {
  status: number | null
  stdout: string
  stderr: string
}

/** The built CLI, asynchronously (serve answers on the same event loop as the test's client). */
function lumen(args: string[], prefix: string[] = []): Promise<Run> {
  const argv = [...prefix, process.execPath, join(root, 'bin/run.js'), ...args, '--socket', socketPath]
  const child = spawn(argv[0], argv.slice(1), {cwd: root, env: {...process.env, NO_COLOR: '1'}, stdio: ['ignore', 'pipe', 'pipe']})
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  return new Promise((resolve) => child.once('exit', (status) => resolve({status, stdout, stderr})))
}

const json = (r: Run): Record<string, unknown> => JSON.parse(r.stdout) as Record<string, unknown>
const statePath = join(configDir, 'state.json')

beforeAll(async () => {
  serve = spawn(process.execPath, [join(root, 'bin/run.js'), 'serve', '--bind', '127.0.0.1', '--port-base', String(port), '--no-mdns', '--source', 'synthetic', '--audio', 'off', '--codecs', 'h264,hevc', '--config-dir', configDir, '--socket', socketPath], {
    cwd: root,
    env: {...process.env, NO_COLOR: '1'},
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  serve.stderr!.on('data', (d: Buffer) => (serveErr += d.toString()))
  const t0 = Date.now()
  while (!serveErr.includes('lumen serve: HTTP') && serve.exitCode === null && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 50))
  expect(serveErr).toContain(`lumen serve: HTTP ${port}`)
}, 90_000)

afterAll(async () => {
  if (serve !== undefined && serve.exitCode === null) {
    const exit = new Promise((r) => serve.once('exit', r))
    serve.kill('SIGINT')
    await exit
  }
  rmSync(dir, {recursive: true, force: true})
})

/** /applist's GameStream status: the XML root's status_code (the HTTP status is 200 either way, as GameStream answers). */
async function applistStatus(client: MoonlightTestClient): Promise<number> {
  const r = await client.httpsRaw('/applist')
  return parseNvXml(r.body.toString('utf8')).statusCode
}

const newClient = async (): Promise<MoonlightTestClient> => new MoonlightTestClient({host: '127.0.0.1', httpPort: port, identity: await createClientIdentity()})

describe('the control socket of a running serve', () => {
  it('is a socket of mode 0600', () => {
    const st = statSync(socketPath)
    expect(st.isSocket()).toBe(true)
    expect(st.mode & 0o777).toBe(0o600)
  })

  it('pairs the test client through `lumen pair PIN` while serve has no terminal', async () => {
    const client = await newClient()
    const pairing = client.pair('4321')
    const r = await lumen(['pair', '4321', '--json'])
    expect(r.status, r.stderr + serveErr).toBe(0)
    expect((await pairing).outcome).toBe('paired')
    const paired = (json(r) as {paired: {fingerprint: string; name: string}}).paired
    const state = JSON.parse(readFileSync(statePath, 'utf8')) as {clients: Array<{fingerprint: string}>}
    expect(state.clients.map((c) => c.fingerprint)).toContain(paired.fingerprint)
    // the paired client is let in
    expect(await applistStatus(client)).toBe(200)
    const list = await lumen(['clients', '--json'])
    expect(list.status).toBe(0)
    const rows = (json(list) as {clients: Array<{name: string; fingerprint: string; lastSeen?: string}>}).clients
    expect(rows.find((c) => c.fingerprint === paired.fingerprint)).toMatchObject({name: paired.name, lastSeen: expect.any(String)})
  }, 60_000)

  it('a wrong PIN: exit 1, the client sees a wrong PIN, the store is byte-identical', async () => {
    const before = readFileSync(statePath)
    const client = await newClient()
    const pairing = client.pair('1111')
    const r = await lumen(['pair', '2222', '--wait', '3', '--json'])
    expect(r.status, r.stderr).toBe(1)
    expect((json(r) as {error: {code: string; message: string}}).error).toMatchObject({code: 'failed', message: expect.stringMatching(/no client paired within 3 s/)})
    expect((await pairing).outcome).toBe('wrong-pin')
    expect(readFileSync(statePath).equals(before)).toBe(true)
    expect(await applistStatus(client)).toBe(401)
  }, 60_000)

  it("another user: refused by the socket's mode, and with the mode opened by the peer-uid check", async () => {
    const nobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']
    chmodSync(dir, 0o755)
    chmodSync(join(dir, 'run'), 0o755)
    const byMode = await lumen(['clients', '--json'], nobody)
    expect(byMode.status, byMode.stderr).toBe(1)
    expect((json(byMode) as {error: {code: string; message: string}}).error).toMatchObject({code: 'unavailable', message: expect.stringMatching(/belongs to another user/)})
    chmodSync(socketPath, 0o666)
    try {
      const byUid = await lumen(['clients', '--json'], nobody)
      expect(byUid.status, byUid.stderr).toBe(1)
      expect((json(byUid) as {error: {message: string}}).error.message).toMatch(/closed the control socket .* without an answer/)
      expect(serveErr).toContain('control socket: refused a connection from uid 65534')
      expect(byUid.stdout).not.toContain('fingerprint')
    } finally {
      chmodSync(socketPath, 0o600)
      chmodSync(join(dir, 'run'), 0o700)
      chmodSync(dir, 0o700)
    }
    // its own user still gets in
    expect((await lumen(['clients', '--json'])).status).toBe(0)
  }, 60_000)

  it('`lumen status` shows the running stream; `lumen clients unpair` revokes: the next /applist is 401 and the stream ends', async () => {
    // connectClient pairs with 1234: the PIN is armed through the socket for the request to come
    const pairing = lumen(['pair', '1234', '--json'])
    const session = await connectClient('127.0.0.1', port, {decode: false})
    try {
      const paired = await pairing
      expect(paired.status, paired.stderr).toBe(0)
      const {fingerprint, name} = (json(paired) as {paired: {fingerprint: string; name: string}}).paired
      const t0 = Date.now()
      let streams: Array<{client?: string; fps: number; mbps: number}> = []
      while (Date.now() - t0 < 20_000) {
        const s = await lumen(['status', '--json'])
        expect(s.status, s.stderr).toBe(0)
        streams = (json(s) as {streams: typeof streams}).streams
        if (streams.some((x) => x.fps > 0)) break
        await new Promise((r) => setTimeout(r, 500))
      }
      expect(streams.find((x) => x.client === fingerprint), 'status lists the stream of the client').toMatchObject({fps: expect.any(Number), mbps: expect.any(Number)})
      expect(session.video.frames.length).toBeGreaterThan(0)

      const r = await lumen(['clients', 'unpair', name, '--json'])
      expect(r.status, r.stderr).toBe(0)
      expect((json(r) as {endedStreams: number[]}).endedStreams).toHaveLength(1)
      expect(await session.control.waitForMessage(0x0109, 10_000), 'the stream got its termination').toBeDefined()
      expect(await applistStatus(session.client)).toBe(401)
      const again = await lumen(['clients', 'unpair', name, '--json'])
      expect(again.status).toBe(2)
      expect((json(again) as {error: {code: string}}).error.code).toBe('invalid_argument')
    } finally {
      await session.close()
    }
  }, 90_000)
})
