/**
 * Which path captured frames take to the encoder (`serve --capture-path`): `cpu` (host memory,
 * converted on the CPU), `gpu` (the zero-copy chain: a GPU image → a pooled CUDA frame → NVENC,
 * or a software encoder that converts to I420 on the GPU and downloads 1.5 bytes a pixel) or
 * `auto` (gpu when the encoder takes CUDA frames — NVENC — and the source has a GPU image).
 * This module decides what to try before anything opens; ./gpu-producer.ts opens it and falls
 * back to the CPU path with the reason when a step fails.
 */
import type {EncoderName} from '../encoder.js'
import type {SourceName} from './shared.js'

export type CapturePathSetting = 'auto' | 'cpu' | 'gpu'
export const CAPTURE_PATHS: readonly CapturePathSetting[] = ['auto', 'cpu', 'gpu']

/** The sources whose frames exist as a GPU image the chain can import. */
const GPU_IMAGE_SOURCES: ReadonlySet<SourceName> = new Set(['gltest'])

const WHY_NO_GPU_IMAGE: Record<SourceName, string> = {
  synthetic: 'the synthetic source draws in host memory (--source gltest is its GPU-side twin)',
  x11: 'the x11 source grabs into host memory (XShm)',
  pipewire: 'the pipewire source takes shared-memory buffers (dma-buf negotiation is not built yet)',
  portal: 'the portal source takes shared-memory buffers (dma-buf negotiation is not built yet)',
  gltest: '',
}

export interface CapturePathPlan {
  /** try the GPU path (it may still fall back when a step fails to open) */
  tryGpu: boolean
  /** why the CPU path runs when tryGpu is false; what the GPU path will do when true */
  reason: string
}

export function planCapturePath(setting: CapturePathSetting, encoder: EncoderName, source: SourceName): CapturePathPlan {
  if (setting === 'cpu') return {tryGpu: false, reason: '--capture-path cpu'}
  const nvenc = encoder.endsWith('_nvenc')
  if (!GPU_IMAGE_SOURCES.has(source)) return {tryGpu: false, reason: WHY_NO_GPU_IMAGE[source]}
  if (setting === 'auto' && !nvenc)
    return {tryGpu: false, reason: `auto: ${encoder} takes host frames, the GPU path is for NVENC (--capture-path gpu converts to I420 on the GPU for it)`}
  return {
    tryGpu: true,
    reason: nvenc ? `${encoder} takes pooled CUDA frames` : `${encoder} gets I420 converted on the GPU (1.5 bytes a pixel downloaded)`,
  }
}
