import {Flags} from '@oclif/core'

import {BITRATE_SYNTAX, parseBitrateKbps} from '../cli/bitrate.js'
import {LumenCommand} from '../cli/command.js'
import {CliFailure} from '../cli/errors.js'
import {readInputFile, writeOutputFile} from '../cli/files.js'
import {Progress, renderTable} from '../cli/output.js'
import {checkFecParams, FecParamError} from '../media/packetizer/format.js'
import {fmtPct, GilbertElliottLoss, type LossModel, parseTrace, TRACE_FORMAT, TraceError, TraceLoss, UniformLoss} from '../sim/loss.js'
import {type SweepRow, sweepSvg, timelineSvg} from '../sim/plots.js'
import {Rng} from '../sim/random.js'
import {checkStream, type FecSimResult, frameSizes, runFecSim, type StreamShape} from '../sim/runner.js'

export interface FecSimParameters {
  model: string
  frames: number
  fps: number
  meanFrameBytes: number
  idrEvery: number
  idrLatencyFrames: number
  fecPercent: number
  minParity: number
  packetSize: number
  seed: number
}

export type FecSimRow = Omit<FecSimResult, 'timeline' | 'lostFrameIndices'> & {loss: number}

export type FecSimOutput =
  | (FecSimResult & {parameters: FecSimParameters; svg?: string})
  | {parameters: FecSimParameters; sweep: string; rows: FecSimRow[]; framesSent: number; framesRebuilt: number; framesLost: number; packetsSent: number; packetsLost: number; residualFrameLoss: number; svg?: string}

class BadInput extends Error {}

function num(raw: string | undefined, flag: string, o: {min?: number; max?: number; integer?: boolean; minExclusive?: boolean} = {}): number | undefined {
  if (raw === undefined) return undefined
  const v = Number(raw)
  if (raw.trim() === '' || !Number.isFinite(v)) throw new BadInput(`${flag} expects a number, got '${raw}'`)
  if (o.integer === true && !Number.isInteger(v)) throw new BadInput(`${flag} expects a whole number, got '${raw}'`)
  if (o.min !== undefined && (o.minExclusive === true ? v <= o.min : v < o.min))
    throw new BadInput(`${flag} must be ${o.minExclusive === true ? 'above' : 'at least'} ${o.min}${o.max !== undefined ? ` (and at most ${o.max})` : ''}, got ${raw}`)
  if (o.max !== undefined && v > o.max) throw new BadInput(`${flag} must be at most ${o.max}${o.min !== undefined ? ` (and at least ${o.min})` : ''}, got ${raw}`)
  return v
}

function probability(raw: string | undefined, flag: string): number | undefined {
  if (raw === undefined) return undefined
  const v = Number(raw)
  if (raw.trim() === '' || !Number.isFinite(v) || v < 0 || v > 1) throw new BadInput(`${flag} is a probability in [0, 1], got '${raw}'`)
  return v
}

/** bit/s from the one bitrate syntax (../cli/bitrate.ts). */
function bitrate(raw: string): number {
  const kbps = parseBitrateKbps(raw)
  if (kbps === undefined) throw new BadInput(`--bitrate expects a rate such as ${BITRATE_SYNTAX}, got '${raw}'`)
  if (!(kbps > 0)) throw new BadInput(`--bitrate must be above 0, got '${raw}'`)
  return kbps * 1000
}

function sweepRange(raw: string): number[] {
  const parts = raw.split(':').map((p) => Number(p))
  if (parts.length !== 3 || parts.some((p) => !Number.isFinite(p)))
    throw new BadInput(`--sweep expects FROM:TO:STEP loss rates such as 0:0.1:0.005, got '${raw}'`)
  const [a, b, step] = parts
  if (a < 0 || b > 1 || a > b) throw new BadInput(`--sweep losses must satisfy 0 ≤ FROM ≤ TO ≤ 1, got '${raw}'`)
  if (!(step > 0)) throw new BadInput(`--sweep STEP must be above 0, got '${raw}'`)
  const n = Math.floor((b - a) / step + 1e-9) + 1
  if (n > 1000) throw new BadInput(`--sweep '${raw}' gives ${n} loss rates; at most 1000`)
  return Array.from({length: n}, (_, i) => Number((a + i * step).toPrecision(12)))
}

export default class FecSim extends LumenCommand {
  static override summary = 'Replays a lossy link through the real packetizer and Reed-Solomon FEC and reports which frames the client rebuilds'

  static override description = `Makes a synthetic encoded video stream, cuts every frame into Moonlight video packets with Lumen's packetizer (FEC blocks, parity from the native Reed-Solomon encoder), drops packets with a loss model, and feeds the rest to the client-side depacketizer, which rebuilds missing packets from parity exactly as the Moonlight client does. Every frame that comes out is compared byte for byte with the frame sent.

Loss models (pick one):
• --loss P: independent loss with probability P per packet (the default, 0.02).
• --model ge with --p-gb, --p-bg, --loss-good, --loss-bad: Gilbert–Elliott bursts — a good and a bad state, P(good→bad) and P(bad→good) per packet, and a loss probability in each state.
• --trace FILE: a recorded pattern. ${TRACE_FORMAT}

Stream: --frames frames at --fps; each frame's size comes from --bitrate (mean bytes = bitrate / 8 / fps; an IDR is about 4 P-frames, P-frames vary ±30 %) or is exactly --frame-bytes. The first frame is an IDR; --idr-every N adds one every N frames, 0 = infinite GOP (the default: only IDRs that answer a loss). Like a Moonlight client without reference-frame invalidation, after a lost frame the client drops every frame until an IDR arrives and asks for one; the host sends it --idr-latency-frames frames later.

Output: frames sent, delivered intact, rebuilt from parity, lost (residual frame loss), undecodable while waiting for an IDR, IDR requests, packets sent and lost, the longest burst of consecutive lost packets, and for uniform loss the binomial-tail expectation of lost frames. --sweep FROM:TO:STEP repeats the run for each uniform loss rate. --svg FILE plots residual frame loss against link loss (sweep) or frames lost over time (one run).

Impossible parameters (a block over 255 packets, a packet size below the headers, a probability outside [0, 1], a malformed trace) stop with one line and exit status 2.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> --loss 0.02 --bitrate 20M --fps 60 --frames 10000',
    '<%= config.bin %> <%= command.id %> --sweep 0:0.1:0.005 --frames 2000 --svg sweep.svg',
    '<%= config.bin %> <%= command.id %> --model ge --p-gb 0.01 --p-bg 0.3 --loss-good 0.001 --loss-bad 0.4 --svg bursts.svg',
    '<%= config.bin %> <%= command.id %> --trace lossy.txt --frame-bytes 50000 --json',
  ]

  static override errorCodes = [
    [BadInput, 'invalid_flag_value'],
    [FecParamError, 'invalid_flag_value'],
    [TraceError, 'malformed_input'],
  ] as const

  static override flags = {
    loss: Flags.string({description: 'uniform packet loss probability, 0..1 [default: 0.02]'}),
    model: Flags.string({description: 'loss model', options: ['uniform', 'ge'], default: 'uniform'}),
    'p-gb': Flags.string({description: 'Gilbert–Elliott: P(good → bad) per packet', default: '0.01'}),
    'p-bg': Flags.string({description: 'Gilbert–Elliott: P(bad → good) per packet', default: '0.3'}),
    'loss-good': Flags.string({description: 'Gilbert–Elliott: loss probability in the good state', default: '0'}),
    'loss-bad': Flags.string({description: 'Gilbert–Elliott: loss probability in the bad state', default: '0.5'}),
    trace: Flags.string({description: 'replay a loss trace: one 0/1 per packet (1 = lost); see DESCRIPTION'}),
    frames: Flags.string({description: 'frames to send', default: '10000'}),
    bitrate: Flags.string({description: `stream bitrate: ${BITRATE_SYNTAX}`, default: '20M'}),
    fps: Flags.string({description: 'frames per second', default: '60'}),
    'frame-bytes': Flags.string({description: 'every frame exactly this many bytes (instead of --bitrate)'}),
    'idr-every': Flags.string({description: 'an IDR every N frames; 0 = infinite GOP', default: '0'}),
    'idr-latency-frames': Flags.string({description: 'frames from the one being sent when the client notices a loss to the IDR that answers it (1 = the next frame)', default: '1'}),
    'fec-percent': Flags.string({description: 'host FEC percentage F (parity = ceil(k·F/100) per block), 0..255', default: '20'}),
    'min-parity': Flags.string({description: "the client's minRequiredFecPackets: parity floor per block", default: '2'}),
    'packet-size': Flags.string({description: 'x-nv-video[0].packetSize (multiple of 16)', default: '1392'}),
    seed: Flags.string({description: 'random seed (loss draws and frame contents)', default: '1'}),
    sweep: Flags.string({description: 'FROM:TO:STEP: one run per uniform loss rate, e.g. 0:0.1:0.005'}),
    svg: Flags.string({description: 'write a plot to this SVG file'}),
  }

  async run(): Promise<FecSimOutput> {
    const {flags} = await this.parse(FecSim)
    const {shape, params, seed, sweep, makeLoss, parameters} = this.setup(flags)
    const json = this.jsonEnabled()

    if (sweep === undefined) {
      const progress = new Progress('fec-sim', shape.frames)
      const loss = makeLoss(undefined)
      const result = runFecSim({...params, stream: shape, loss, seed, onProgress: (n) => progress.update(n)})
      progress.done()
      const out: FecSimOutput = {parameters: {...parameters, model: loss.label}, ...result}
      if (flags.svg !== undefined) out.svg = this.writeSvg(flags.svg, timelineSvg(result, shape.fps, this.subtitle(parameters, loss.label)))
      if (!json) this.log(this.renderRun(result, parameters, loss.label))
      return out
    }

    const progress = new Progress(`fec-sim sweep (${sweep.length} loss rates)`, shape.frames * sweep.length)
    const rows: SweepRow[] = []
    sweep.forEach((p, i) => {
      const result = runFecSim({...params, stream: shape, loss: makeLoss(p), seed, onProgress: (n) => progress.update(i * shape.frames + n)})
      rows.push({loss: p, result})
    })
    progress.done()
    const flat: FecSimRow[] = rows.map(({loss, result}) => {
      const {timeline: _t, lostFrameIndices: _l, ...rest} = result
      return {loss, ...rest}
    })
    const sum = (k: 'framesSent' | 'framesRebuilt' | 'framesLost' | 'packetsSent' | 'packetsLost'): number => flat.reduce((a, r) => a + r[k], 0)
    const out: FecSimOutput = {
      parameters: {...parameters, model: 'uniform (swept)'},
      sweep: flags.sweep as string,
      rows: flat,
      framesSent: sum('framesSent'),
      framesRebuilt: sum('framesRebuilt'),
      framesLost: sum('framesLost'),
      packetsSent: sum('packetsSent'),
      packetsLost: sum('packetsLost'),
      residualFrameLoss: sum('framesSent') > 0 ? sum('framesLost') / sum('framesSent') : 0,
    }
    if (flags.svg !== undefined) out.svg = this.writeSvg(flags.svg, sweepSvg(rows, this.subtitle(parameters, 'uniform loss')))
    if (!json) this.log(this.renderSweep(flat, parameters))
    return out
  }

  private setup(flags: Record<string, string | undefined>) {
    const frames = num(flags.frames, '--frames', {min: 1, max: 10_000_000, integer: true}) as number
    const fps = num(flags.fps, '--fps', {min: 0, minExclusive: true, max: 1000}) as number
    const frameBytes = num(flags['frame-bytes'], '--frame-bytes', {min: 1, max: 100_000_000, integer: true})
    const idrEvery = num(flags['idr-every'], '--idr-every', {min: 0, integer: true}) as number
    const idrLatencyFrames = num(flags['idr-latency-frames'], '--idr-latency-frames', {min: 1, max: 10_000, integer: true}) as number
    const fecPercent = num(flags['fec-percent'], '--fec-percent', {min: 0, max: 255, integer: true}) as number
    const minParity = num(flags['min-parity'], '--min-parity', {min: 0, max: 254, integer: true}) as number
    const packetSize = num(flags['packet-size'], '--packet-size', {min: 0, integer: true}) as number
    const seed = num(flags.seed, '--seed', {min: 0, max: 2 ** 32 - 1, integer: true}) as number
    const meanFrameBytes = frameBytes ?? bitrate(flags.bitrate ?? '20M') / 8 / fps
    const params = {packetSize, fecPercentage: fecPercent, minParity}
    checkFecParams(params)
    const shape: StreamShape = {frames, fps, meanFrameBytes, fixedSize: frameBytes !== undefined, idrEvery, idrLatencyFrames}
    if (!(frameSizes(shape).pMeanBytes >= 1)) throw new BadInput('the stream shape gives frames under one byte: raise --bitrate or lower --fps')
    checkStream(shape, params)

    const lossRate = probability(flags.loss, '--loss')
    const sweep = flags.sweep === undefined ? undefined : sweepRange(flags.sweep)
    const modelCount = (flags.model === 'ge' ? 1 : 0) + (flags.trace !== undefined ? 1 : 0)
    if (modelCount > 1) throw new CliFailure('conflicting_flags', '--model ge and --trace are two different loss models: pick one')
    if (sweep !== undefined && modelCount > 0) throw new CliFailure('conflicting_flags', '--sweep varies uniform loss: it cannot be combined with --model ge or --trace')
    if (lossRate !== undefined && (modelCount > 0 || sweep !== undefined)) throw new CliFailure('conflicting_flags', '--loss sets uniform loss: it cannot be combined with --model ge, --trace or --sweep')
    const ge = {
      pGB: probability(flags['p-gb'], '--p-gb') as number,
      pBG: probability(flags['p-bg'], '--p-bg') as number,
      lossGood: probability(flags['loss-good'], '--loss-good') as number,
      lossBad: probability(flags['loss-bad'], '--loss-bad') as number,
    }
    let trace: Uint8Array | undefined
    if (flags.trace !== undefined) {
      trace = parseTrace(readInputFile(flags.trace, 'the trace'), flags.trace)
    }
    const makeLoss = (sweepP: number | undefined): LossModel => {
      const rng = new Rng(seed)
      if (sweepP !== undefined) return new UniformLoss(sweepP, rng)
      if (trace !== undefined) return new TraceLoss(trace, flags.trace)
      if (flags.model === 'ge') return new GilbertElliottLoss(ge, rng)
      return new UniformLoss(lossRate ?? 0.02, rng)
    }
    const parameters: FecSimParameters = {model: '', frames, fps, meanFrameBytes: Math.round(meanFrameBytes), idrEvery, idrLatencyFrames, fecPercent, minParity, packetSize, seed}
    return {shape, params, seed, sweep, makeLoss, parameters}
  }

  private subtitle(p: FecSimParameters, model: string): string {
    return `${model}, FEC ${p.fecPercent}% (min ${p.minParity}), ${p.frames} frames of ~${Math.round(p.meanFrameBytes / 1000)} kB at ${p.fps} fps, packet ${p.packetSize}${p.idrEvery === 0 ? ', infinite GOP' : `, IDR every ${p.idrEvery}`}`
  }

  private writeSvg(path: string, svg: string): string {
    writeOutputFile(path, svg, 'the plot')
    this.logToStderr(`wrote ${path}`)
    return path
  }

  private renderRun(r: FecSimResult, p: FecSimParameters, model: string): string {
    const rows: [string, string | number][] = [
      ['loss model', model],
      ['frames sent', r.framesSent],
      ['  delivered intact', r.framesIntact],
      ['  rebuilt from parity', r.framesRebuilt],
      ['  lost', r.framesLost],
      ['residual frame loss', fmtPct(r.residualFrameLoss)],
    ]
    if (r.expectedFramesLost !== undefined) rows.push(['  binomial expectation', `${r.expectedFramesLost.toPrecision(3)} ± ${(r.expectedFramesLostSd as number).toPrecision(2)} frames`])
    rows.push(
      [p.idrEvery === 0 ? 'undecodable until IDR (infinite GOP)' : 'undecodable until IDR', r.framesUndecodable],
      ['IDR requests / IDR frames', `${r.idrRequests} / ${r.idrFrames}`],
      ['packets sent (data + parity)', `${r.packetsSent} (${r.dataPacketsSent} + ${r.parityPacketsSent})`],
      ['packets lost', `${r.packetsLost} (${fmtPct(r.linkLoss)})`],
      ['longest loss burst', `${r.longestLossBurst} packets`],
      ['delivered frames differing from sent', r.corruptDeliveries],
    )
    return renderTable(['fec-sim', 'value'], rows, {title: this.subtitle(p, model)})
  }

  private renderSweep(rows: FecSimRow[], p: FecSimParameters): string {
    return renderTable(
      ['link loss', 'measured', 'frames sent', 'rebuilt', 'lost', 'residual', 'binomial', 'undecodable', 'longest burst'],
      rows.map((r) => [
        fmtPct(r.loss),
        fmtPct(r.linkLoss),
        r.framesSent,
        r.framesRebuilt,
        r.framesLost,
        fmtPct(r.residualFrameLoss),
        r.expectedFramesLost === undefined ? '' : fmtPct(r.expectedFramesLost / r.framesSent),
        r.framesUndecodable,
        r.longestLossBurst,
      ]),
      {title: this.subtitle(p, 'uniform loss sweep')},
    )
  }
}
