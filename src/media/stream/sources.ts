/**
 * The capture sources a stream can use, behind CaptureSource (../types.ts): `synthetic` (the
 * shim's test pattern, ../capture/synthetic.ts, with the frame counter stamped), `x11` (XShm grab,
 * ../capture/x11.ts), `pipewire` (a PipeWire video node, ../capture/pipewire.ts) and `portal` (the
 * ScreenCast portal's monitor, ../capture/portal.ts), and `gltest` (the synthetic pattern put into
 * a GL texture standing in for a dma-buf, the GPU capture path's test source: ./gpu-producer.ts).
 */
import {existsSync} from 'node:fs'

import {ScreenCastPortal} from '../../native/portal.js'
import {SyntheticSource} from '../capture/synthetic.js'
import {X11Source} from '../capture/x11.js'
import type {CaptureSource} from '../types.js'
import type {SourceName} from './shared.js'

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
    case 'gltest':
      // gltest: the same stamped pattern, drawn into the chain's GPU-side source image on the GPU path (./gpu-producer.ts)
      return new SyntheticSource({width: want.width, height: want.height, stamp: options.stamp ?? true})
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
