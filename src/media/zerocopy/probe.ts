/**
 * `lumen zerocopy-probe`: runs the shim's native checks and turns them into the report (the
 * --json object) and the table rows. Every check ends as ok / absent / failed with a reason.
 */
import {avcodecVersion, hasEncoder} from '../../native/core.js'
import {type CheckResult, type CudaProbe, type EglProbe, type GlProbe, probeCuda, probeEglGl, probeNvenc} from '../../native/gpu.js'

export const PROBED_ENCODERS = ['libx264', 'libx265', 'libaom-av1', 'libopus', 'h264_nvenc', 'hevc_nvenc', 'av1_nvenc'] as const

export type CheckState = 'ok' | 'absent' | 'failed'

export interface ProbeReport {
  libavcodec: {ok: boolean; version: string; major: number; encoders: Record<string, boolean>; error?: string}
  cuda: CudaProbe & {state: CheckState}
  egl: EglProbe & {state: CheckState}
  gl: GlProbe & {state: CheckState}
  dmabuf: CheckResult & {state: CheckState}
  glCuda: CheckResult & {state: CheckState}
  nvenc: CheckResult & {state: CheckState; encoder: string}
  capture: {ok: boolean; reason?: string}
  zerocopy: {ok: boolean; reason?: string}
}

/** A check whose facility is missing on this box reads "absent"; one that was tried and broke, "failed". */
const ABSENT =
  /no NVIDIA driver|libcuda\.so\.1 not found|reports no device|no EGL (display|vendor|client)|no GL context|lacks EGL_|is not on a CUDA device|built without|no display could be opened/

export function stateOf(check: {ok: boolean; error?: string}): CheckState {
  if (check.ok) return 'ok'
  return ABSENT.test(check.error ?? '') ? 'absent' : 'failed'
}

function withState<T extends {ok: boolean; error?: string}>(check: T): T & {state: CheckState} {
  return {...check, state: stateOf(check)}
}

export function runProbe(): ProbeReport {
  const av = avcodecVersion()
  const encoders: Record<string, boolean> = {}
  for (const name of PROBED_ENCODERS) encoders[name] = hasEncoder(name)
  const libavcodec: ProbeReport['libavcodec'] = {ok: av.major === 62, version: av.version, major: av.major, encoders}
  if (!libavcodec.ok) libavcodec.error = `libavcodec ${av.version} is not 62.x (FFmpeg 8): run scripts/install.sh`

  const cuda = withState(probeCuda())
  const eglGl = probeEglGl()
  const egl = withState(eglGl.egl)
  const gl = withState(eglGl.gl)
  const dmabuf = withState(eglGl.dmabuf)
  const glCuda = withState(eglGl.glCuda)
  const nvenc = withState(probeNvenc())

  // capture = dma-buf → CUDA frame: blocked by the first failing step in chain order
  const steps: [string, {ok: boolean; error?: string}][] = [
    ['EGL', egl],
    ['GL', gl],
    ['dma-buf', dmabuf],
    ['CUDA', cuda],
    ['GL→CUDA', glCuda],
  ]
  const blocked = steps.find(([, c]) => !c.ok)
  const capture = blocked === undefined ? {ok: true} : {ok: false, reason: `${blocked[0]}: ${blocked[1].error ?? 'failed'}`}
  const zerocopy = !capture.ok
    ? {ok: false, reason: capture.reason}
    : nvenc.ok
      ? {ok: true}
      : {ok: false, reason: `NVENC: ${nvenc.error ?? 'failed'}`}
  return {libavcodec, cuda, egl, gl, dmabuf, glCuda, nvenc, capture, zerocopy}
}

export interface ProbeRow {
  check: string
  state: CheckState
  detail: string
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`
}

function modifierSummary(list: {modifier: string}[]): string {
  if (list.length === 0) return 'none'
  const shown = list.slice(0, 4).map((m) => m.modifier)
  return `${list.length} (${shown.join(', ')}${list.length > 4 ? ', …' : ''})`
}

/** The table: one row per check, then the two verdicts. */
export function probeRows(r: ProbeReport): ProbeRow[] {
  const rows: ProbeRow[] = []
  const enc = Object.entries(r.libavcodec.encoders)
    .filter(([, has]) => has)
    .map(([name]) => name)
  rows.push({
    check: 'libavcodec',
    state: r.libavcodec.ok ? 'ok' : 'failed',
    detail: `${r.libavcodec.version}${r.libavcodec.error !== undefined ? ` — ${r.libavcodec.error}` : ''}; encoders: ${enc.join(', ') || 'none'}`,
  })
  rows.push({
    check: 'cuda',
    state: r.cuda.state,
    detail: r.cuda.ok
      ? `driver ${r.cuda.driverVersion}; ${r.cuda.devices.map((d) => `#${d.index} ${d.name} (sm ${d.computeCapability}, ${gib(d.memoryBytes)})`).join('; ')}`
      : (r.cuda.error ?? ''),
  })
  const ext = Object.entries(r.egl.extensions)
    .map(([name, has]) => `${has ? '+' : '-'}${name.replace(/^EGL_/, '')}`)
    .join(' ')
  rows.push({
    check: 'egl',
    state: r.egl.state,
    detail: r.egl.ok
      ? `${r.egl.platform}; EGL ${r.egl.version} ${r.egl.vendor}; APIs: ${(r.egl.clientApis ?? '').trim()}; ${ext}; ` +
        `XRGB8888 modifiers: ${modifierSummary(r.egl.modifiers.XRGB8888)}; ARGB8888: ${modifierSummary(r.egl.modifiers.ARGB8888)}`
      : (r.egl.error ?? ''),
  })
  const glExt = Object.entries(r.gl.extensions ?? {})
    .map(([name, has]) => `${name} ${has ? 'yes' : 'no'}`)
    .join(', ')
  rows.push({check: 'gl', state: r.gl.state, detail: r.gl.ok ? `${r.gl.renderer} (${r.gl.version})${glExt ? `; ${glExt}` : ''}` : (r.gl.error ?? '')})
  rows.push({check: 'dmabuf', state: r.dmabuf.state, detail: r.dmabuf.ok ? 'export → import → sample: pixels match' : (r.dmabuf.error ?? '')})
  rows.push({
    check: 'glCuda',
    state: r.glCuda.state,
    detail: r.glCuda.ok ? 'RGBA8 texture registered, mapped, copied, read back: pixels match' : (r.glCuda.error ?? ''),
  })
  rows.push({check: 'nvenc', state: r.nvenc.state, detail: r.nvenc.ok ? `${r.nvenc.encoder} session opened` : (r.nvenc.error ?? '')})
  rows.push({check: 'capture', state: r.capture.ok ? 'ok' : 'failed', detail: r.capture.ok ? 'dma-buf → CUDA frame works' : (r.capture.reason ?? '')})
  rows.push({
    check: 'zerocopy',
    state: r.zerocopy.ok ? 'ok' : 'failed',
    detail: r.zerocopy.ok ? 'capture and NVENC work' : (r.zerocopy.reason ?? ''),
  })
  return rows
}
