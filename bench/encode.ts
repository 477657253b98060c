/**
 * Software encoders at streaming sizes: frames/s, and how much of the wall time of an encode
 * call is spent outside avcodec_send_frame/avcodec_receive_packet (the toolkit's own overhead:
 * BGRx → I420 conversion, the ffi seam, JavaScript, copying the access unit out; goal ≤ 5%).
 *
 *   npm run bench -- encode [--json] [--frames N] [--encoders libx264,libx265] [--sizes 1280x720,1920x1080]
 *
 * Frames come from the synthetic source (drawn before each call, not timed); every call is the
 * pipeline's own VideoEncoder.encode() at 60 fps settings and the default bitrate.
 */
import {SyntheticSource} from '../src/media/capture/synthetic.js'
import {defaultBitrateKbps, type EncoderName, VideoEncoder} from '../src/media/encoder.js'

export const summary = 'libx264/libx265 at 720p and 1080p: frames/s and the share of time outside send_frame/receive_packet'

interface Row {
  encoder: EncoderName
  size: string
  frames: number
  bitrateKbps: number
  fps: number
  /** share of encode-call wall time outside avcodec_send_frame + avcodec_receive_packet */
  outsideShare: number
  /** of which the BGRx → I420 conversion */
  convertShare: number
  /** of which the rest: ffi seam, JavaScript, copying the access unit */
  seamShare: number
  meanUs: {wall: number; encode: number; convert: number; seam: number}
  /** time to draw one synthetic frame (the source, not timed above) */
  drawUs: number
}

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : undefined
}

function measure(encoder: EncoderName, width: number, height: number, frames: number): Row {
  const fps = 60
  const bitrateKbps = defaultBitrateKbps(width, height, fps)
  const source = new SyntheticSource({width, height, clock: 'frame', fps})
  const enc = new VideoEncoder({encoder, width, height, fps, bitrateKbps})
  const warmup = 10
  let wallNs = 0
  let encodeUs = 0
  let convertUs = 0
  let drawNs = 0
  try {
    for (let i = 0; i < warmup + frames; i++) {
      const d0 = process.hrtime.bigint()
      const frame = source.grab()
      const t0 = process.hrtime.bigint()
      const out = enc.encode(frame.payload)
      const t1 = process.hrtime.bigint()
      if (i < warmup || out === undefined) continue
      drawNs += Number(t0 - d0)
      wallNs += Number(t1 - t0)
      encodeUs += out.timings.encodeUs
      convertUs += out.timings.convertUs
    }
  } finally {
    enc.close()
    source.close()
  }
  const wallUs = wallNs / 1000
  const seamUs = wallUs - encodeUs - convertUs
  const r3 = (v: number) => Math.round(v * 1000) / 1000
  const r1 = (v: number) => Math.round(v * 10) / 10
  return {
    encoder,
    size: `${width}x${height}`,
    frames,
    bitrateKbps,
    fps: r1((frames * 1e6) / wallUs),
    outsideShare: r3(1 - encodeUs / wallUs),
    convertShare: r3(convertUs / wallUs),
    seamShare: r3(seamUs / wallUs),
    meanUs: {wall: r1(wallUs / frames), encode: r1(encodeUs / frames), convert: r1(convertUs / frames), seam: r1(seamUs / frames)},
    drawUs: r1(drawNs / 1000 / frames),
  }
}

export async function run(args: string[]): Promise<void> {
  const frames = Number(arg(args, '--frames') ?? 120)
  const encoders = (arg(args, '--encoders') ?? 'libx264,libx265').split(',') as EncoderName[]
  const sizes = (arg(args, '--sizes') ?? '1280x720,1920x1080').split(',').map((s) => s.split('x').map(Number) as [number, number])
  const rows: Row[] = []
  for (const encoder of encoders) {
    for (const [w, h] of sizes) {
      if (!args.includes('--json')) process.stderr.write(`encoding ${frames} frames: ${encoder} ${w}x${h}…\n`)
      rows.push(measure(encoder, w, h, frames))
    }
  }
  if (args.includes('--json')) {
    process.stdout.write(`${JSON.stringify({frames, rows})}\n`)
    return
  }
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`
  process.stdout.write('encoder   size        kbit/s   fps     µs/frame  encode µs  outside  (convert  seam)   draw µs\n')
  for (const r of rows) {
    process.stdout.write(
      `${r.encoder.padEnd(9)} ${r.size.padEnd(10)} ${String(r.bitrateKbps).padStart(7)} ${r.fps.toFixed(1).padStart(6)} ` +
        `${r.meanUs.wall.toFixed(0).padStart(9)} ${r.meanUs.encode.toFixed(0).padStart(10)}  ${pct(r.outsideShare).padStart(7)}  ` +
        `(${pct(r.convertShare).padStart(6)} ${pct(r.seamShare).padStart(6)}) ${r.drawUs.toFixed(0).padStart(8)}\n`,
    )
  }
  process.stdout.write('outside = share of the encode call outside avcodec_send_frame/receive_packet (goal ≤ 5%)\n')
}
