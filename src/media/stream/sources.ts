/**
 * The capture sources a stream can use, behind CaptureSource (../types.ts): `synthetic` (the
 * shim's test pattern, with the frame counter stamped machine-readably), `x11` (XShm grab,
 * ../capture/x11.ts), `pipewire` (a PipeWire video node, ../capture/pipewire.ts) and `portal` (the
 * ScreenCast portal's monitor, ../capture/portal.ts).
 */
import {existsSync} from 'node:fs'

import {drawPattern} from '../../native/capture.js'
import {ScreenCastPortal} from '../../native/portal.js'
import {X11Source} from '../capture/x11.js'
import type {CapturedFrame, CaptureSource, CpuFrame} from '../types.js'
import type {SourceName} from './shared.js'
import {writeStamp} from './stamp.js'

const now = (): number => Number(process.hrtime.bigint())

export class SyntheticSource implements CaptureSource {
  readonly name = 'synthetic'
  private readonly frame: CpuFrame
  private n = 0
  private readonly t0 = now()

  constructor(
    readonly width: number,
    readonly height: number,
    private readonly stamp = true,
  ) {
    this.frame = {kind: 'cpu', width, height, stride: width * 4, data: Buffer.alloc(width * height * 4)}
  }

  /** Draws the next pattern frame: the synthetic source always has a new one. */
  grab(): CapturedFrame {
    const captureNs = now()
    const f = this.frame
    drawPattern(f.data, f.width, f.height, f.stride, this.n, Math.round((captureNs - this.t0) / 1e6))
    if (this.stamp) writeStamp(f.data, f.width, f.height, f.stride, this.n)
    this.n++
    return {payload: f, captureNs, fresh: true}
  }

  close(): void {}
}

/** Which source `auto` means on this box: portal when a desktop session (WAYLAND_DISPLAY or
 * XDG_CURRENT_DESKTOP) has a ScreenCast portal that answers within a second, else x11 when
 * $DISPLAY names a live display, else synthetic. */
export function detectSource(env: NodeJS.ProcessEnv = process.env): SourceName {
  if ((env.WAYLAND_DISPLAY ?? '') !== '' || (env.XDG_CURRENT_DESKTOP ?? '') !== '') {
    if (ScreenCastPortal.available(env.DBUS_SESSION_BUS_ADDRESS ?? '', 1000)) return 'portal'
  }
  const display = env.DISPLAY
  if (display !== undefined && display !== '') {
    const m = /^:(\d+)/.exec(display)
    if (m !== null && existsSync(`/tmp/.X11-unix/X${m[1]}`)) return 'x11'
  }
  return 'synthetic'
}

export async function openSource(
  name: SourceName,
  want: {width: number; height: number},
  options: {display?: string; pipewireTarget?: string; stamp?: boolean; portalTimeoutMs?: number},
): Promise<CaptureSource> {
  switch (name) {
    case 'synthetic':
      return new SyntheticSource(want.width, want.height, options.stamp ?? true)
    case 'x11':
      return new X11Source({display: options.display})
    case 'pipewire': {
      const {PipeWireSource} = await import('../capture/pipewire.js')
      return PipeWireSource.open(options.pipewireTarget ?? '')
    }
    case 'portal': {
      const {PortalSource} = await import('../capture/portal.js')
      return PortalSource.open({timeoutMs: options.portalTimeoutMs})
    }
  }
}
