/**
 * The systemd user unit that runs `lumen serve` at login (`lumen service install`): ExecStart
 * with the absolute paths of node and bin/run.js, restart on failure, the graphical session's
 * variables passed in from the user manager (which `systemctl --user import-environment` fills),
 * output to the journal (no TTY there, so serve prints no status line).
 */
import {join} from 'node:path'

import {defaultConfigDir} from '../host/store.js'
import {NODE_FLAGS} from './node-flags.js'

/** The session variables serve needs to find the desktop: the capture source and the portal. */
export const SESSION_ENV = ['WAYLAND_DISPLAY', 'DISPLAY', 'XDG_RUNTIME_DIR', 'XDG_CURRENT_DESKTOP', 'DBUS_SESSION_BUS_ADDRESS'] as const

export const UNIT_NAME = 'lumen.service'

export function userUnitDir(): string {
  // systemd's user search path: $XDG_CONFIG_HOME/systemd/user, the same folder as lumen's config
  return join(defaultConfigDir(), '..', 'systemd', 'user')
}

export function unitText(node: string, runJs: string, serveArgs: readonly string[]): string {
  const readme = join(runJs, '..', '..', 'README.md')
  const quote = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : `"${a.replace(/(["\\])/g, '\\$1')}"`)
  return `[Unit]
Description=Lumen: stream this desktop to Moonlight clients
Documentation=file://${readme}
After=graphical-session.target network-online.target
PartOf=graphical-session.target

[Service]
Type=simple
ExecStart=${[node, ...NODE_FLAGS, runJs, 'serve', ...serveArgs].map(quote).join(' ')}
Restart=on-failure
RestartSec=5
PassEnvironment=${SESSION_ENV.join(' ')}
StandardOutput=journal
StandardError=journal

[Install]
WantedBy=graphical-session.target
`
}
