/**
 * sway on its headless backend, as the tests run it on a box without a display: the pixman
 * renderer, no libinput devices, one output of the size asked. sway refuses root, so it runs as
 * an unprivileged user made here (DESKTOP_USER) with its own XDG_RUNTIME_DIR; root (the tests)
 * can still open its socket.
 *
 * - `startSway(o)`: starts it through the caller's `run` (test/capture/portal-stack.ts keeps the
 *   rest of its desktop in the same runtime dir) and waits for its Wayland and IPC sockets.
 * - `startHeadlessSway(size)`: sway alone in a runtime dir of its own, stopped with `stop()`.
 */
import {type ChildProcess, execFileSync, spawn, spawnSync} from 'node:child_process'
import {chmodSync, chownSync, closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {missing, sleep, waitUntil} from './index.js'

export const DESKTOP_USER = 'lumen-portal'

export interface SwayOutput {
  name: string
  width: number
  height: number
}

/** Why headless sway cannot run here, or undefined when it can. */
export function swayMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: sway refuses root, so it runs as an unprivileged user made here'
  const gone = missing('sway', 'swaymsg', 'useradd')
  return gone === undefined ? undefined : `${gone} is not installed (scripts/install.sh installs it)`
}

/** The unprivileged desktop user, made on first use. */
export function desktopUser(): {uid: number; gid: number} {
  if (spawnSync('id', ['-u', DESKTOP_USER]).status !== 0) {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', DESKTOP_USER])
  }
  return {uid: Number(execFileSync('id', ['-u', DESKTOP_USER], {encoding: 'utf8'})), gid: Number(execFileSync('id', ['-g', DESKTOP_USER], {encoding: 'utf8'}))}
}

/** Runs a program of the desktop as its user (the caller logs and stops it). */
export type RunAsDesktop = (name: string, cmd: string, args: string[], env: Record<string, string>) => ChildProcess

/** Starts sway in `dir` (the desktop user's XDG_RUNTIME_DIR, already in env) and waits until
 * it serves: the Wayland socket's path, the IPC socket's and the output swaymsg reports. */
export async function startSway(o: {
  dir: string
  env: Record<string, string>
  user: {uid: number; gid: number}
  size: {width: number; height: number}
  run: RunAsDesktop
}): Promise<{socket: string; ipc: string; output: SwayOutput}> {
  const conf = join(o.dir, 'sway.conf')
  writeFileSync(conf, `output HEADLESS-1 mode ${o.size.width}x${o.size.height}\n`)
  o.run('sway', 'sway', ['-c', conf], {...o.env, WLR_BACKENDS: 'headless', WLR_RENDERER: 'pixman', WLR_LIBINPUT_NO_DEVICES: '1'})
  // sway leaves wayland-0 to others and takes the first free name after it
  const socket = join(o.dir, 'wayland-1')
  const poll = (ok: () => boolean, ms: number, what: string): Promise<void> => waitUntil(ok, ms, what, 50)
  await poll(() => existsSync(socket), 10_000, 'sway did not make its Wayland socket')
  const ipcName = (): string | undefined => readdirSync(o.dir).find((f) => /^sway-ipc\..*\.sock$/.test(f))
  await poll(() => ipcName() !== undefined, 5000, 'sway did not make its IPC socket')
  const ipc = join(o.dir, ipcName() as string)
  const outputs = JSON.parse(
    execFileSync('swaymsg', ['-t', 'get_outputs', '-r'], {env: {...o.env, SWAYSOCK: ipc}, uid: o.user.uid, gid: o.user.gid, encoding: 'utf8'}),
  ) as Array<{name: string; current_mode: {width: number; height: number}}>
  const out = outputs[0]
  if (out === undefined) throw new Error('sway has no output')
  return {socket, ipc, output: {name: out.name, width: out.current_mode.width, height: out.current_mode.height}}
}

export interface HeadlessSway {
  dir: string
  /** the Wayland socket's path (what $WAYLAND_DISPLAY may name) */
  socket: string
  output: SwayOutput
  child: ChildProcess
  log(): string
  stop(): Promise<void>
}

/** Stops a child: SIGTERM, then SIGKILL after 3 s. */
export async function stopChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return
  const gone = new Promise<void>((r) => c.once('exit', () => r()))
  c.kill('SIGTERM')
  await Promise.race([gone, sleep(3000)])
  if (c.exitCode === null && c.signalCode === null) {
    c.kill('SIGKILL')
    await gone
  }
}

export async function startHeadlessSway(size = {width: 1280, height: 720}): Promise<HeadlessSway> {
  const user = desktopUser()
  const dir = mkdtempSync('/tmp/lumen-sway-')
  chownSync(dir, user.uid, user.gid)
  chmodSync(dir, 0o700)
  const logPath = join(dir, 'sway.log')
  let child: ChildProcess | undefined
  const run: RunAsDesktop = (_name, cmd, args, env) => {
    const fd = openSync(logPath, 'w')
    child = spawn(cmd, args, {env, stdio: ['ignore', fd, fd], uid: user.uid, gid: user.gid})
    closeSync(fd)
    return child
  }
  const stop = async (): Promise<void> => {
    if (child !== undefined) await stopChild(child)
    rmSync(dir, {recursive: true, force: true})
  }
  try {
    const env = {PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, XDG_RUNTIME_DIR: dir, LANG: 'C.UTF-8'}
    const {socket, output} = await startSway({dir, env, user, size, run})
    return {dir, socket, output, child: child as ChildProcess, log: () => (existsSync(logPath) ? readFileSync(logPath, 'utf8') : ''), stop}
  } catch (error) {
    await stop()
    throw error
  }
}
