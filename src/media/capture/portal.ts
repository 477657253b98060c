/**
 * The portal capture source: the xdg-desktop-portal ScreenCast request (one monitor, through the
 * shim's libdbus client, ../../native/portal.ts), then the portal's PipeWire node consumed on the
 * portal's PipeWire remote fd by the pipewire source (./pipewire.ts). The portal session stays
 * open while capture runs; close() ends the PipeWire stream, then the session and its fd.
 *
 * A compositor sends frames only when the screen changes, so the first frame waits (as long as
 * the portal timeout) for something on screen to move.
 */
import {ScreenCastPortal, type ScreenCastPortalInfo} from '../../native/portal.js'
import type {ShimHandle} from '../../native/handles.js'
import type {CapturedFrame, CaptureSource} from '../types.js'
import {PipeWireSource} from './pipewire.js'

/** Default bound on each portal step and on the first frame. */
export const DEFAULT_PORTAL_TIMEOUT_MS = 30_000

export interface PortalSourceOptions {
  /** a D-Bus address; '' or undefined = the session bus */
  busAddress?: string
  /** bound on each portal step and on the first frame (serve --portal-timeout; default 30 s) */
  timeoutMs?: number
}

export class PortalSource implements CaptureSource {
  readonly name = 'portal'
  readonly width: number
  readonly height: number
  private closed = false

  private constructor(
    private readonly portal: ScreenCastPortal,
    private readonly video: PipeWireSource,
  ) {
    this.width = video.width
    this.height = video.height
  }

  /** Runs the portal request, connects to its node and waits for the first frame. */
  static open(options: PortalSourceOptions = {}): PortalSource {
    const timeoutMs = options.timeoutMs ?? DEFAULT_PORTAL_TIMEOUT_MS
    const portal = ScreenCastPortal.open({busAddress: options.busAddress, timeoutMs})
    try {
      const {nodeId, remoteFd} = portal.info()
      return new PortalSource(portal, PipeWireSource.open(String(nodeId), {remoteFd, firstFrameMs: timeoutMs}))
    } catch (error) {
      portal.close()
      throw error
    }
  }

  grab(): CapturedFrame {
    return this.video.grab()
  }

  info(): {portal: ScreenCastPortalInfo; pipewire: ReturnType<PipeWireSource['info']>} {
    return {portal: this.portal.info(), pipewire: this.video.info()}
  }

  /** The portal session's D-Bus object path. */
  sessionPath(): string {
    return this.portal.sessionPath()
  }

  /** The portal session first: closed after the PipeWire stream on it. */
  shimHandles(): ShimHandle[] {
    return [{kind: 'portal', handle: this.portal.handle}, ...this.video.shimHandles()]
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    try {
      this.video.close()
    } finally {
      this.portal.close()
    }
  }
}
