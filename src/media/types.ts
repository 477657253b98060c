/** Values that flow through the media pipeline: capture → encode → packetize → send. */
import type {ShimHandle} from '../native/handles.js'

/** A frame in host memory: BGRx, `stride` bytes per row. */
export interface CpuFrame {
  kind: 'cpu'
  width: number
  height: number
  stride: number
  data: Buffer
}

/** A frame already on the GPU: a pooled CUDA frame owned by the shim, named by its handle. */
export interface CudaFrame {
  kind: 'cuda'
  width: number
  height: number
  /** the shim's handle of the pooled frame */
  handle: number
}

export type FramePayload = CpuFrame | CudaFrame

export interface CapturedFrame {
  payload: FramePayload
  /** monotonic capture time, ns */
  captureNs: number
  /** false when the source had nothing new and this repeats the previous frame */
  fresh: boolean
}

/** One encoded access unit (Annex B for H.264/HEVC, OBUs for AV1). */
export interface EncodedFrame {
  data: Buffer
  idr: boolean
  /** the index of the input frame it came from */
  index: number
}

export interface CaptureSource {
  readonly name: string
  readonly width: number
  readonly height: number
  /** The newest frame; `fresh` false when nothing changed since the last call. */
  grab(): CapturedFrame
  close(): void
  /** The shim handles it holds, for a stream worker's handle ledger (../stream/ledger.ts); absent: none. */
  shimHandles?(): ShimHandle[]
}
