import {Flags} from '@oclif/core'

import {BITRATE_SYNTAX, parseBitrateKbps} from '../cli/bitrate.js'
import {LumenCommand} from '../cli/command.js'
import {outputFileFailure} from '../cli/files.js'
import {color, Progress, renderTable, verdict} from '../cli/output.js'
import type {VideoCodec} from '../protocol/stream-config.js'
import {encoderTuning, encoderTuningFlags} from '../cli/tuning-flags.js'
import {type EncodeCheckResult, runEncodeCheck} from '../media/encode-check.js'
import {defaultBitrateKbps, defaultEncoder, ENCODER_CODEC, ENCODER_NAMES, isEncoderName} from '../media/encoder.js'
import {ShimError, ShimLoadError} from '../native/errors.js'
import type {BitDepth, Chroma} from '../native/codec.js'

/** Whole kbit/s from the one bitrate syntax (../cli/bitrate.ts). */
function parseBitrate(text: string): number | undefined {
  const kbps = parseBitrateKbps(text)
  return kbps === undefined ? undefined : Math.round(kbps)
}

export default class EncodeTest extends LumenCommand {
  static override summary = 'Encode test frames, decode them back and check the stream (IDRs, PSNR, timings)'

  static override description = `Encodes frames from a capture source through one encoder and frame path, the way \`lumen serve\` does (no B-frames, zero-latency tuning, CBR with a one-frame VBV, infinite GOP), decodes every access unit back with libavcodec and checks:

  - frame count: every frame encoded comes back as a picture;
  - IDR frames: exactly frame 0 plus the --force-idr frames (plus frames where a --bitrate-change had to reopen the encoder: libx265), as the encoder flags them, as the decoder sees them, and as the Moonlight client would recognise them (parameter sets then the IDR slice at the start of the access unit);
  - PSNR of every decoded frame against its source: the mean must reach --min-psnr, every frame --min-frame-psnr (a one-frame VBV legitimately starves some frames: the IDR, and now and then the last slice of a libx264 P-frame, seen down to ~13 dB at 720p; the floor is there to catch garbage pictures).

Prints per-frame timing percentiles (convert = BGRx → encoder format inside the shim, encode = inside avcodec_send_frame/avcodec_receive_packet, total = the whole encode call seen from JavaScript), bytes per frame for IDR and P frames, and the verdict. Exit 1 when a check fails or the encoder/path cannot run here (one line says why), 2 on bad input.

Sources: synthetic (a moving, detailed pattern with a frame counter, no display needed) or x11 (an XShm grab of --display; the screen must be at least --size). Paths: cpu (BGRx host frames) or cuda (frames uploaded into libavcodec's pooled CUDA frames; NVENC encodes them on the GPU, libx264/libx265 download them first).`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --encoder libx265 --size 1920x1080 --fps 60 --frames 600 --force-idr 100,200',
    '<%= config.bin %> <%= command.id %> --codec hevc --bitrate 8M --bitrate-change 150:2M --out /tmp/test.h265',
    'Xvfb :99 -screen 0 1280x720x24 & <%= config.bin %> <%= command.id %> --source x11 --display :99 --size 1280x720',
    '<%= config.bin %> <%= command.id %> --encoder hevc_nvenc --path cuda --json',
  ]

  static override enableJsonFlag = true

  static override flags = {
    encoder: Flags.string({description: `encoder: ${ENCODER_NAMES.join(', ')} (default: libx264 for h264, libx265 for hevc, libaom-av1 for av1)`}),
    codec: Flags.string({description: 'codec (default: the encoder\'s, else h264)', options: ['h264', 'hevc', 'av1']}),
    size: Flags.string({description: 'frame size WxH, even, 16..8192', default: '1280x720'}),
    fps: Flags.integer({description: 'frame rate the encoder is set up for, 1..1000', default: 60}),
    frames: Flags.integer({description: 'frames to encode, 1..1000000', default: 300}),
    bitrate: Flags.string({description: `CBR bitrate: ${BITRATE_SYNTAX}; default 0.16 bit per pixel per frame, at least 2000k`}),
    slices: Flags.integer({description: 'slices per frame, 1..64 (libx264 may use more: one per thread)', default: 1}),
    path: Flags.string({description: 'frame path: cpu (BGRx host frames) or cuda (pooled CUDA frames)', options: ['cpu', 'cuda'], default: 'cpu'}),
    source: Flags.string({
      description: 'frame source; dmabuf: synthetic frames through the zero-copy chain (an EGLImage standing in for an XRGB8888 dma-buf, copied by CUDA into pooled frames), needs --path cuda',
      options: ['synthetic', 'x11', 'dmabuf'],
      default: 'synthetic',
    }),
    display: Flags.string({description: 'X display for --source x11', env: 'DISPLAY'}),
    'force-idr': Flags.string({description: 'frame indices to encode as IDR, comma-separated ("100,200")'}),
    'bitrate-change': Flags.string({description: 'change the bitrate before frame N: "N:RATE[,N:RATE…]" ("150:2M", "150:2000")'}),
    out: Flags.string({description: 'write the raw bitstream (Annex B for H.264/HEVC) to this file'}),
    chroma: Flags.string({description: 'chroma sampling: 420, or 444 (H.264 High 4:4:4 Predictive, HEVC Main 4:4:4; libx264/libx265)', options: ['420', '444'], default: '420'}),
    'bit-depth': Flags.string({description: 'bits a sample: 8, or 10 (HEVC Main10 with libx265)', options: ['8', '10'], default: '8'}),
    'min-psnr': Flags.string({description: 'mean PSNR the stream must reach, dB', default: '35'}),
    'min-frame-psnr': Flags.string({description: 'PSNR every frame must reach, dB', default: '12'}),
    ...encoderTuningFlags,
  }

  async run(): Promise<EncodeCheckResult> {
    const {flags} = await this.parse(EncodeTest)
    const bad = (message: string): never => this.fail('invalid_flag_value', message)
    if (flags.source === 'dmabuf' && flags.path !== 'cuda') this.fail('conflicting_flags', '--source dmabuf runs the zero-copy chain into pooled CUDA frames: add --path cuda')

    // encoder and codec
    if (flags.encoder !== undefined && !isEncoderName(flags.encoder)) {
      bad(`unknown encoder "${flags.encoder}" (known: ${ENCODER_NAMES.join(', ')})`)
    }
    const codec = (flags.codec ?? (flags.encoder !== undefined && isEncoderName(flags.encoder) ? ENCODER_CODEC[flags.encoder] : 'h264')) as VideoCodec
    const encoder = flags.encoder !== undefined && isEncoderName(flags.encoder) ? flags.encoder : defaultEncoder(codec)
    if (ENCODER_CODEC[encoder] !== codec) this.fail('conflicting_flags', `encoder ${encoder} makes ${ENCODER_CODEC[encoder]}, not ${codec}`)

    // geometry, rate
    const sm = /^(\d+)x(\d+)$/.exec(flags.size)
    if (sm === null) bad(`--size "${flags.size}" is not WxH (e.g. 1280x720)`)
    const width = Number(sm![1])
    const height = Number(sm![2])
    if (width < 16 || height < 16 || width > 8192 || height > 8192) bad(`--size ${width}x${height}: each side must be 16..8192`)
    if (width % 2 !== 0 || height % 2 !== 0) bad(`--size ${width}x${height}: width and height must be even (4:2:0 chroma)`)
    if (flags.fps < 1 || flags.fps > 1000) bad(`--fps ${flags.fps} is out of range 1..1000`)
    if (flags.frames < 1 || flags.frames > 1_000_000) bad(`--frames ${flags.frames} is out of range 1..1000000`)
    if (flags.slices < 1 || flags.slices > 64) bad(`--slices ${flags.slices} is out of range 1..64`)
    let bitrateKbps = defaultBitrateKbps(width, height, flags.fps)
    if (flags.bitrate !== undefined) {
      const b = parseBitrate(flags.bitrate)
      if (b === undefined) bad(`--bitrate "${flags.bitrate}" is not a bitrate (${BITRATE_SYNTAX})`)
      if (b! < 50 || b! > 1_000_000) bad(`--bitrate ${b} kbit/s is out of range 50..1000000 (50 kbit/s to 1 Gbit/s)`)
      bitrateKbps = b!
    }

    // forced IDRs and bitrate changes
    const forceIdr: number[] = []
    for (const part of (flags['force-idr'] ?? '').split(',').filter((p) => p.trim() !== '')) {
      const n = Number(part)
      if (!Number.isInteger(n) || n < 0 || n >= flags.frames) bad(`--force-idr "${part}" is not a frame index 0..${flags.frames - 1}`)
      forceIdr.push(n)
    }
    const bitrateChanges: Array<{frame: number; kbps: number}> = []
    for (const part of (flags['bitrate-change'] ?? '').split(',').filter((p) => p.trim() !== '')) {
      const [f, b] = part.split(':')
      const frame = Number(f)
      const kbps = b === undefined ? undefined : parseBitrate(b)
      if (!Number.isInteger(frame) || frame < 1 || frame >= flags.frames || kbps === undefined || kbps < 50 || kbps > 1_000_000) {
        bad(`--bitrate-change "${part}" is not N:RATE with N in 1..${flags.frames - 1} and RATE 50k..1G (${BITRATE_SYNTAX})`)
      }
      bitrateChanges.push({frame, kbps: kbps!})
    }
    const minMeanPsnr = Number(flags['min-psnr'])
    const minFramePsnr = Number(flags['min-frame-psnr'])
    if (!Number.isFinite(minMeanPsnr) || !Number.isFinite(minFramePsnr)) bad('--min-psnr and --min-frame-psnr take a number of dB')

    const progress = new Progress('encode-test', flags.frames)
    let result: EncodeCheckResult
    try {
      result = runEncodeCheck({
        encoder,
        width,
        height,
        fps: flags.fps,
        frames: flags.frames,
        bitrateKbps,
        slices: flags.slices,
        ...encoderTuning(flags),
        chroma: flags.chroma as Chroma,
        bitDepth: Number(flags['bit-depth']) as BitDepth,
        path: flags.path as 'cpu' | 'cuda',
        source: flags.source as 'synthetic' | 'x11' | 'dmabuf',
        display: flags.display,
        forceIdr: [...new Set(forceIdr)].sort((a, b) => a - b),
        bitrateChanges,
        out: flags.out,
        minMeanPsnr,
        minFramePsnr,
        onProgress: (done) => progress.update(done),
      })
    } catch (error) {
      progress.done()
      if (error instanceof ShimError || error instanceof ShimLoadError || error instanceof RangeError) this.fail('unavailable', error.message, {cause: error})
      if (flags.out !== undefined && (error as NodeJS.ErrnoException).path === flags.out) throw outputFileFailure(error, 'the bitstream', flags.out)
      throw error
    }
    progress.done()

    if (!this.jsonEnabled()) this.log(render(result))
    this.verdict(result.ok)
    return result
  }
}

function render(r: EncodeCheckResult): string {
  const t = r.timingsUs
  const rows = [
    ['convert', t.convert.p50, t.convert.p99, t.convert.max],
    ['encode', t.encode.p50, t.encode.p99, t.encode.max],
    ['total', t.total.p50, t.total.p99, t.total.max],
    ...(t.upload === undefined ? [] : [['upload (CUDA)', t.upload.p50, t.upload.p99, t.upload.max]]),
  ]
  const lines = [
    color.bold(r.description),
    `${r.source} source, ${r.path} path, ${r.framesEncoded} frames encoded, ${r.frames} decoded`,
    renderTable(['stage (µs per frame)', 'p50', 'p99', 'max'], rows),
    renderTable(
      ['frames', 'count', 'mean bytes'],
      [
        ['IDR', r.expectedIdrFrames.length, r.bytes.idrMean],
        ['P', r.framesEncoded - r.expectedIdrFrames.length, r.bytes.pMean],
      ],
    ),
    `PSNR: mean ${r.psnr.mean.toFixed(2)} dB (Y ${r.psnr.planes.y.toFixed(2)}, U ${r.psnr.planes.u.toFixed(2)}, V ${r.psnr.planes.v.toFixed(2)}), min ${r.psnr.min.toFixed(2)} dB (frame ${r.psnr.minFrame}); decoded as ${r.decodedFormats.join(', ') || 'nothing'}`,
    `encode rate: ${r.encodeFps} fps (convert + encode on the calling thread, 1e6 / mean total µs)`,
    ...r.bitrateActions.map((a) => `bitrate → ${a.kbps} kbit/s before frame ${a.frame}: ${a.how === 'reopened' ? 'encoder reopened (IDR)' : 'in place'}`),
    renderTable(['check', '', 'detail'], r.checks.map((c) => [c.name, verdict(c.ok ? 'ok' : 'failed'), c.detail])),
    r.ok ? color.green('stream ok') : color.red('stream check FAILED'),
  ]
  return lines.join('\n')
}
