/** The pipewire capture source: a PipeWire video node consumed through the shim. */
import type {CapturedFrame, CaptureSource} from '../types.js'

export class PipeWireSource implements CaptureSource {
  readonly name = 'pipewire'
  readonly width = 0
  readonly height = 0

  static open(target: string): PipeWireSource {
    throw new Error(`the pipewire capture source is not available in this build (target '${target}'): use --source x11 or synthetic`)
  }

  grab(): CapturedFrame {
    throw new Error('unreachable')
  }

  close(): void {}
}
