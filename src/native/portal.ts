/** Typed wrapper over the shim's xdg-desktop-portal ScreenCast client (libs/include/lumen_portal.h). */
import {statSync} from 'node:fs'
import {join} from 'node:path'

import {check, cString, ErrorBuffer} from './call.js'
import {shim} from './library.js'

/**
 * The session bus's D-Bus address as libdbus finds it: DBUS_SESSION_BUS_ADDRESS, else the socket
 * $XDG_RUNTIME_DIR/bus, else '' (the shim then says there is no session bus). The shim reads no
 * environment: this is where the default is decided.
 */
export function sessionBusAddress(env: NodeJS.ProcessEnv = process.env): string {
  const given = env.DBUS_SESSION_BUS_ADDRESS
  if (given !== undefined && given !== '') return given
  const run = env.XDG_RUNTIME_DIR
  if (run === undefined || run === '') return ''
  const path = join(run, 'bus')
  try {
    return statSync(path).isSocket() ? `unix:path=${path}` : ''
  } catch {
    return ''
  }
}

const busOrSession = (busAddress: string | undefined): string => (busAddress === undefined || busAddress === '' ? sessionBusAddress() : busAddress)

const INFO_LEN = 36
const SOURCE_MONITOR = 1

export interface ScreenCastPortalInfo {
  /** the PipeWire node of the shared monitor */
  nodeId: number
  /** the PipeWire remote fd from OpenPipeWireRemote (owned by the portal handle) */
  remoteFd: number
  /** the stream's size as the portal gave it (compositor coordinates), or undefined */
  size?: {width: number; height: number}
  cursor: 'hidden' | 'embedded'
  /** 1 monitor, 2 window, 4 virtual; undefined when the portal did not say */
  sourceType?: number
  /** streams the portal offered */
  streams: number
  /** false once the portal closed the session */
  open: boolean
  /** the ScreenCast interface version */
  version: number
}

export class ScreenCastPortal {
  private closed = false

  private constructor(readonly handle: number) {}

  /** Runs CreateSession → SelectSources (one monitor) → Start → OpenPipeWireRemote; each step
   * waits at most timeoutMs. busAddress '' = the session bus. Throws ShimError with a sentence. */
  static open(options: {busAddress?: string; timeoutMs?: number} = {}): ScreenCastPortal {
    const err = new ErrorBuffer()
    return new ScreenCastPortal(check('lumen_portal_open', shim().lumen_portal_open([busOrSession(options.busAddress), options.timeoutMs ?? 30_000, ...err.args()]), err))
  }

  /** The portal's AvailableSourceTypes within timeoutMs in all; throws ShimError with the reason
   * when no ScreenCast portal answers. */
  static sourceTypes(busAddress = '', timeoutMs = 1000): number {
    const err = new ErrorBuffer()
    return check('lumen_portal_probe', shim().lumen_portal_probe([busOrSession(busAddress), timeoutMs, ...err.args()]), err)
  }

  /** Whether a ScreenCast portal that can share a monitor answers within timeoutMs. */
  static available(busAddress = '', timeoutMs = 1000): boolean {
    try {
      return (ScreenCastPortal.sourceTypes(busAddress, timeoutMs) & SOURCE_MONITOR) !== 0
    } catch {
      return false
    }
  }

  info(): ScreenCastPortalInfo {
    const b = Buffer.alloc(INFO_LEN)
    shim().lumen_portal_info([this.handle, b, b.length])
    const v = (i: number) => b.readInt32LE(4 * i)
    return {
      nodeId: v(0),
      remoteFd: v(1),
      size: v(2) > 0 && v(3) > 0 ? {width: v(2), height: v(3)} : undefined,
      cursor: v(4) === 2 ? 'embedded' : 'hidden',
      sourceType: v(5) >= 0 ? v(5) : undefined,
      streams: v(6),
      open: v(7) === 1,
      version: v(8),
    }
  }

  /** The session's D-Bus object path. */
  sessionPath(): string {
    const b = Buffer.alloc(512)
    shim().lumen_portal_session_path([this.handle, b, b.length])
    return cString(b)
  }

  /** Closes the portal session, the PipeWire remote fd and the bus connection. */
  close(): void {
    if (this.closed) return
    this.closed = true
    shim().lumen_portal_close([this.handle])
  }
}
