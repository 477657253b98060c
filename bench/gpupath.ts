/**
 * `serve`'s capture paths side by side on a GPU machine: the whole host (GameStreamHost, the
 * real stream workers) streams `--source gltest` to the in-repo Moonlight test client
 * (test/client: pairing, RTSP, control, FEC, decode, the stamp read back) in this process, once
 * with --capture-path gpu and once with cpu, per mode. Then the fallback: the GPU path with an
 * import failure forced mid-stream (the test hook) must go on on the CPU path with an IDR.
 *
 * Figures per run: frames sent/decoded, stamp check, IDR frames, per-stage medians from the
 * video worker (GPU: source image fill, chain, BGRx → I420 kernel, I420 download; both: convert,
 * encode), the frame-loop thread's CPU time per frame, the whole process's CPU time per frame
 * (it includes the client's decoding, the same on both paths), and free GPU memory over the run.
 *
 * --exact first checks the GPU conversion against the CPU's (identical access units) and the
 * pattern the GPU draws into the source image against the CPU's, pixel for pixel.
 *
 *   npm run bench -- gpupath [--json] [--exact] [--seconds 30] [--modes 2560x1440@60,5120x1440@60] [--encoder libx264] [--fail-at 120]
 */
import {SyntheticSource} from '../src/media/capture/synthetic.js'
import {VideoEncoder} from '../src/media/encoder.js'
import type {MediaOptions} from '../src/media/stream/shared.js'
import {stampBits} from '../src/media/capture/stamp.js'
import {CudaFramePool, type EncoderName} from '../src/native/codec.js'
import {ZeroCopyChain} from '../src/native/gpu.js'
import type {VideoFrameStats} from '../src/media/stream/frame-stats.js'
import {startServeSession} from '../test/serve/helpers.js'

export const summary = 'serve --source gltest to the test client: --capture-path gpu vs cpu (stage times, CPU per frame, GPU memory), and a forced GPU failure mid-stream'

function arg(args: string[], name: string, def: string): string {
  const i = args.indexOf(`--${name}`)
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function one(width: number, height: number, fps: number, path: 'gpu' | 'cpu', seconds: number, encoder: string, failAt?: number) {
  const media: Partial<MediaOptions> = {source: 'gltest', capturePath: path, encoder, audio: 'off', gpuFailAtFrame: failAt}
  const session = await startServeSession({media, announce: {width, height, fps, codec: 0}})
  const cpu0 = process.cpuUsage()
  const frames0 = session.video.frames.length
  await sleep(seconds * 1000)
  const cpu = process.cpuUsage(cpu0)
  const during = session.video.frames.length - frames0
  const stream = session.streams[0]
  await session.close()
  const started = stream.reports.find((m) => m.type === 'started' && m.kind === 'video')
  const stopped = stream.reports.find((m) => m.type === 'stopped' && m.kind === 'video')
  const stats = (stopped as {frames?: VideoFrameStats} | undefined)?.frames
  const frames = session.video.frames
  const readable = frames.filter((f) => f.stamp !== undefined)
  // stamp − frame index: one value when the stamp advances with every frame
  const offsets = new Map<number, number>()
  for (const f of readable) offsets.set((f.stamp as number) - f.frameIndex, (offsets.get((f.stamp as number) - f.frameIndex) ?? 0) + 1)
  const offset = [...offsets].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 0
  const offStamps = readable.filter((f) => (f.stamp as number) - f.frameIndex !== offset).length
  const gaps = frames.filter((f, i) => i > 0 && f.frameIndex !== frames[i - 1].frameIndex + 1).length
  return {
    run: `${width}x${height}@${fps} ${encoder} --capture-path ${path}${failAt !== undefined ? ` (import fails at frame ${failAt})` : ''}`,
    capturePath: started !== undefined && started.type === 'started' && started.kind === 'video' ? started.capturePath : 'no start report',
    encoderLine: started !== undefined && started.type === 'started' && started.kind === 'video' ? started.encoder : '',
    framesReceived: frames.length,
    decoded: frames.filter((f) => f.decoded).length,
    decodeErrors: session.video.decodeErrors.length,
    lost: session.video.lost.length,
    indexGaps: gaps,
    stampsReadable: readable.length,
    stampsOff: offStamps,
    stampOffsets: Object.fromEntries([...offsets].sort((a, b) => b[1] - a[1]).slice(0, 6)),
    stampFirstLast: readable.length > 0 ? [readable[0].stamp, readable[readable.length - 1].stamp] : [],
    idrFrames: frames.filter((f) => f.frameType === 2).map((f) => f.frameIndex),
    worker: stats,
    processCpuUsPerFrame: during > 0 ? Math.round((cpu.user + cpu.system) / during) : undefined,
  }
}

/**
 * The GPU conversion against the CPU one: the same stamped frames through two libx264 encoders
 * of identical settings, one fed BGRx host frames (CPU conversion), one fed pooled CUDA frames
 * (the GPU kernel). x264 is deterministic for identical input, so identical access units mean
 * identical I420 pictures.
 */
function exactness(width: number, height: number, frames: number, encoder: EncoderName) {
  const source = new SyntheticSource({width, height, stamp: true, clock: 'frame'})
  const pool = CudaFramePool.open(width, height, {size: 2})
  const settings = {encoder, width, height, fps: 60, bitrateKbps: 20000, slices: 1}
  const cpu = new VideoEncoder(settings)
  const gpu = new VideoEncoder({...settings, cudaPool: pool})
  let identical = 0
  let gpuConvertUs = 0
  let cpuConvertUs = 0
  try {
    for (let i = 0; i < frames; i++) {
      const f = source.grab().payload
      if (f.kind !== 'cpu') throw new Error('synthetic frames are host frames')
      const a = cpu.encode(f)
      cpuConvertUs += a?.timings.convertUs ?? 0
      const h = pool.get()
      pool.upload(h, f.data, f.stride)
      const b = gpu.encode({kind: 'cuda', width, height, handle: h})
      pool.release(h)
      gpuConvertUs += b?.timings.convertUs ?? 0
      if (a !== undefined && b !== undefined && a.data.equals(b.data)) identical++
    }
    return {size: `${width}x${height}`, frames, identicalAccessUnits: identical, gpuEncoder: gpu.describe(), convertUsMean: {cpu: Math.round(cpuConvertUs / frames), gpuKernelPlusDownload: Math.round(gpuConvertUs / frames)}}
  } finally {
    gpu.close()
    cpu.close()
    pool.close()
  }
}

/**
 * The pattern drawn on the GPU (what `--source gltest` puts into its image) against the CPU's
 * drawPattern + writeStamp: frames through the chain into the pool, downloaded, compared pixel
 * for pixel (B, G, R), at frame numbers that move every part of the pattern.
 */
function patternExactness(width: number, height: number) {
  const frames = [0, 1, 2, 37, 1000, 65_537, 9_999_999, 123_456_789]
  const cpu = new SyntheticSource({width, height, stamp: true})
  const chain = ZeroCopyChain.open(width, height)
  const pool = CudaFramePool.open(width, height, {size: 2})
  const image = chain.rawTextureSource(Buffer.alloc(width * height * 4))
  const got = Buffer.alloc(width * height * 4)
  let exact = 0
  let worstPixels = 0
  try {
    for (const [i, index] of frames.entries()) {
      const clockMs = i * 3_723_456
      chain.drawPatternSource(image, index, clockMs, stampBits(index))
      const h = chain.capture(image, pool.handle)
      pool.download(h, got, width * 4)
      pool.release(h)
      const want = cpu.draw({index, clockMs}).payload
      if (want.kind !== 'cpu') throw new Error('synthetic frames are host frames')
      let off = 0
      for (let p = 0; p < width * height * 4; p += 4) if (got[p] !== want.data[p] || got[p + 1] !== want.data[p + 1] || got[p + 2] !== want.data[p + 2]) off++
      if (off === 0) exact++
      worstPixels = Math.max(worstPixels, off)
    }
    return {pattern: `${width}x${height} drawn on the GPU vs the CPU`, frames: frames.length, exactFrames: exact, worstFramePixelsOff: worstPixels}
  } finally {
    chain.closeSource(image)
    pool.close()
    chain.close()
  }
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json')
  const seconds = Number(arg(args, 'seconds', '30'))
  const encoder = arg(args, 'encoder', 'libx264')
  const failAt = Number(arg(args, 'fail-at', '120'))
  const modes = arg(args, 'modes', '2560x1440@60,5120x1440@60').split(',')
  const results: unknown[] = []
  if (args.includes('--exact')) {
    let x: unknown
    try {
      x = exactness(2560, 1440, 30, encoder as EncoderName)
    } catch (error) {
      x = {exactness: 'not run', reason: (error as Error).message}
    }
    results.push(x)
    if (!json) process.stdout.write(`${JSON.stringify(x)}\n`)
    for (const [w, h] of [[2560, 1440], [5120, 1440], [1280, 720], [640, 360]]) {
      try {
        x = patternExactness(w, h)
      } catch (error) {
        x = {pattern: 'not run', reason: (error as Error).message}
      }
      results.push(x)
      if (!json) process.stdout.write(`${JSON.stringify(x)}\n`)
    }
  }
  for (const m of modes) {
    const match = /^(\d+)x(\d+)@(\d+)$/.exec(m)
    if (match === null) throw new Error(`mode '${m}' is not WxH@FPS`)
    for (const path of ['gpu', 'cpu'] as const) {
      process.stderr.write(`${m} ${path}: ${seconds} s…\n`)
      const r = await one(Number(match[1]), Number(match[2]), Number(match[3]), path, seconds, encoder)
      results.push(r)
      if (!json) process.stdout.write(`${JSON.stringify(r)}\n`)
    }
  }
  if (failAt >= 0 && modes.length > 0) {
    const match = /^(\d+)x(\d+)@(\d+)$/.exec(modes[0])!
    process.stderr.write(`${modes[0]} gpu with a forced import failure at frame ${failAt}…\n`)
    // long enough to pass the failing frame at 20 fps (the GPU machine's libx264 did not reach 60 at 2560x1440)
    const r = await one(Number(match[1]), Number(match[2]), Number(match[3]), 'gpu', Math.ceil(failAt / 20) + 5, encoder, failAt)
    results.push(r)
    if (!json) process.stdout.write(`${JSON.stringify(r)}\n`)
  }
  if (json) process.stdout.write(`${JSON.stringify(results)}\n`)
}
