/**
 * A headless desktop with a real ScreenCast portal, as it runs on a box without a display:
 * a private session bus (dbus-daemon, whose policy lets root and the desktop's user share it),
 * pipewire + wireplumber, sway on the headless backend with the pixman renderer, a Wayland client
 * that keeps drawing (weston-presentation-shm: frames come only when the screen changes),
 * xdg-desktop-portal-wlr (scripts/xdpw.sh's build, chooser_type=none, output HEADLESS-1), then
 * xdg-desktop-portal once the wlr backend owns its bus name.
 *
 * sway refuses root, so the desktop (pipewire, wireplumber, sway, the client, xdpw) runs as an
 * unprivileged user made here (../helpers/sway.ts) with its own XDG_RUNTIME_DIR; dbus-daemon and
 * xdg-desktop-portal run as root like the caller (the portal reads its caller's /proc entry).
 */
import {type ChildProcess, spawn, spawnSync} from 'node:child_process'
import {chmodSync, chownSync, closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {missing, waitUntil} from '../helpers/index.js'
import {desktopUser, startSway, stopChild, swayMissing} from '../helpers/sway.js'

const XDP = '/usr/libexec/xdg-desktop-portal'
const PROGRAMS = ['dbus-daemon', 'dbus-send', 'pipewire', 'wireplumber', 'weston-presentation-shm', 'pw-dump']
const ROOT = join(import.meta.dirname, '..', '..')

/** Why the portal stack cannot run here, or undefined when it can; xdpw is its build's prefix. */
export function portalStackMissing(): {reason?: string; xdpw?: string} {
  const sway = swayMissing()
  if (sway !== undefined) return {reason: sway}
  const gone = missing(...PROGRAMS)
  if (gone !== undefined) return {reason: `${gone} is not installed (scripts/install.sh installs it)`}
  if (!existsSync(XDP)) return {reason: `${XDP} is not installed (package xdg-desktop-portal)`}
  const r = spawnSync('bash', [join(ROOT, 'scripts', 'xdpw.sh'), '--cached'], {encoding: 'utf8'})
  if (r.status !== 0) return {reason: 'the patched xdg-desktop-portal-wlr is not built (scripts/install.sh runs scripts/xdpw.sh)'}
  return {xdpw: r.stdout.trim()}
}

/** A private dbus-daemon that root and the desktop user may both connect to; serviceDir: where it
 * finds services to start on demand (none by default). */
export async function startBus(dir: string, serviceDir?: string): Promise<{address: string; child: ChildProcess}> {
  const socket = join(dir, 'bus')
  writeFileSync(
    join(dir, 'bus.conf'),
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
${serviceDir !== undefined ? `  <servicedir>${serviceDir}</servicedir>\n` : ''}  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`,
  )
  const child = spawn('dbus-daemon', [`--config-file=${join(dir, 'bus.conf')}`, '--nofork'], {stdio: 'ignore'})
  await until(() => existsSync(socket), 5000, 'dbus-daemon did not make its socket')
  return {address: `unix:path=${socket}`, child}
}

/** Whether a name has an owner on the bus (asked with dbus-send, not the code under test). */
export function nameHasOwner(address: string, name: string): boolean {
  const r = spawnSync('dbus-send', [`--bus=${address}`, '--print-reply', '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.NameHasOwner', `string:${name}`], {encoding: 'utf8', timeout: 3000})
  return r.status === 0 && /boolean true/.test(r.stdout)
}

/** The introspection XML of an object of the portal (dbus-send), '' when the call fails. */
export function introspect(address: string, path: string): string {
  const r = spawnSync('dbus-send', [`--bus=${address}`, '--print-reply', '--dest=org.freedesktop.portal.Desktop', path, 'org.freedesktop.DBus.Introspectable.Introspect'], {encoding: 'utf8', timeout: 3000})
  return r.status === 0 ? r.stdout : ''
}

/** waitUntil at a slower poll: the conditions here run dbus-send */
export const until = (ok: () => boolean, ms: number, what: string): Promise<void> => waitUntil(ok, ms, what, 50)

export interface PortalStack {
  dir: string
  busAddress: string
  /** the compositor's output size, as swaymsg reports it */
  output: {name: string; width: number; height: number}
  /** the desktop's processes by name */
  children: Map<string, ChildProcess>
  /** the PipeWire Video/Source nodes (pw-dump as the desktop user): the portal's casts */
  videoSources(): number
  log(name: string): string
  /** Restarts xdg-desktop-portal-wlr with these [screencast] settings (lines of key=value). */
  restartXdpw(settings: string): Promise<void>
  stop(): Promise<void>
}

export async function startPortalStack(xdpwPrefix: string, size = {width: 1280, height: 720}): Promise<PortalStack> {
  const {uid, gid} = desktopUser()
  const dir = mkdtempSync('/tmp/lumen-portal-')
  chownSync(dir, uid, gid)
  chmodSync(dir, 0o700)
  const children = new Map<string, ChildProcess>()
  const order: ChildProcess[] = []
  const userEnv = {PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, XDG_RUNTIME_DIR: dir, LANG: 'C.UTF-8'}
  const logFd = (name: string): number => {
    const f = join(dir, `${name}.log`)
    const fd = openSync(f, 'w')
    chownSync(f, uid, gid)
    return fd
  }
  const run = (name: string, cmd: string, args: string[], env: Record<string, string>, asUser: boolean): ChildProcess => {
    const fd = logFd(name)
    const c = spawn(cmd, args, {env, stdio: ['ignore', fd, fd], ...(asUser ? {uid, gid} : {})})
    closeSync(fd)
    children.set(name, c)
    order.push(c)
    return c
  }
  const stop = async (): Promise<void> => {
    for (const c of order.reverse()) await stopChild(c)
    rmSync(dir, {recursive: true, force: true})
  }
  try {
    const bus = await startBus(dir)
    children.set('dbus-daemon', bus.child)
    order.push(bus.child)
    const env = {...userEnv, DBUS_SESSION_BUS_ADDRESS: bus.address}

    run('pipewire', 'pipewire', [], env, true)
    await until(() => existsSync(join(dir, 'pipewire-0')), 5000, 'pipewire did not make its socket')
    run('wireplumber', 'wireplumber', [], env, true)

    const {output} = await startSway({dir, env, user: {uid, gid}, size, run: (name, cmd, args, e) => run(name, cmd, args, e, true)})

    const wl = {...env, WAYLAND_DISPLAY: 'wayland-1'}
    run('client', 'weston-presentation-shm', [], wl, true)

    // the wlr backend, from a copy the user can read (the build sits in root's cache)
    const xdpwConf = join(dir, 'xdpw.conf')
    writeFileSync(xdpwConf, `[screencast]\noutput_name=${output.name}\nchooser_type=none\n`)
    const xdpw = join(dir, 'xdg-desktop-portal-wlr')
    copyFileSync(join(xdpwPrefix, 'libexec', 'xdg-desktop-portal-wlr'), xdpw)
    chownSync(xdpw, uid, gid)
    chmodSync(xdpw, 0o755)
    run('xdpw', xdpw, ['-l', 'DEBUG', '-c', xdpwConf], wl, true)
    await until(() => nameHasOwner(bus.address, 'org.freedesktop.impl.portal.desktop.wlr'), 10_000, 'xdg-desktop-portal-wlr did not take its bus name')

    // the frontend reads the backends' properties when it starts: after the backend is up
    run('xdg-desktop-portal', XDP, ['-v'], {...env, XDG_CURRENT_DESKTOP: 'sway', XDG_DESKTOP_PORTAL_DIR: join(xdpwPrefix, 'share', 'xdg-desktop-portal', 'portals')}, false)
    await until(() => nameHasOwner(bus.address, 'org.freedesktop.portal.Desktop'), 10_000, 'xdg-desktop-portal did not take its bus name')

    return {
      dir,
      busAddress: bus.address,
      output,
      children,
      videoSources: () => {
        const r = spawnSync('pw-dump', [], {env, uid, gid, encoding: 'utf8', timeout: 5000})
        if (r.status !== 0) throw new Error(`pw-dump failed: ${r.stderr}`)
        let objs: Array<{type: string; info?: {props?: Record<string, unknown>}}>
        try {
          // pw-dump may follow its dump with updates: the first top-level array is the dump
          const end = r.stdout.indexOf('\n]')
          objs = JSON.parse(end < 0 ? r.stdout : r.stdout.slice(0, end + 2)) as Array<{type: string; info?: {props?: Record<string, unknown>}}>
        } catch {
          throw new Error(`pw-dump printed no JSON: ${JSON.stringify(r.stdout.slice(0, 300))}`)
        }
        return objs.filter((o) => o.type === 'PipeWire:Interface:Node' && o.info?.props?.['media.class'] === 'Video/Source').length
      },
      log: (name) => {
        try {
          return readFileSync(join(dir, `${name}.log`), 'utf8')
        } catch {
          return ''
        }
      },
      restartXdpw: async (settings) => {
        const old = children.get('xdpw')
        if (old !== undefined && old.exitCode === null && old.signalCode === null) {
          const gone = new Promise<void>((r) => old.once('exit', () => r()))
          old.kill('SIGTERM')
          await gone
        }
        await until(() => !nameHasOwner(bus.address, 'org.freedesktop.impl.portal.desktop.wlr'), 5000, 'the old xdg-desktop-portal-wlr kept its bus name')
        const conf = join(dir, 'xdpw-2.conf')
        writeFileSync(conf, `[screencast]\n${settings}\n`)
        run('xdpw', xdpw, ['-l', 'DEBUG', '-c', conf], wl, true)
        await until(() => nameHasOwner(bus.address, 'org.freedesktop.impl.portal.desktop.wlr'), 10_000, 'xdg-desktop-portal-wlr did not take its bus name')
      },
      stop,
    }
  } catch (error) {
    await stop()
    throw error
  }
}
