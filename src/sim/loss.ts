/** Packet-loss models for the FEC simulator: each answers "is the next packet lost?". */
import {Rng} from './random.js'

export interface LossModel {
  /** e.g. "uniform 2%" */
  readonly label: string
  /** Advances the model by one packet; true = this packet is lost. */
  lost(): boolean
}

/** Independent loss with probability p per packet. */
export class UniformLoss implements LossModel {
  readonly label: string

  constructor(
    readonly p: number,
    private readonly rng: Rng,
  ) {
    this.label = `uniform ${fmtPct(p)}`
  }

  lost(): boolean {
    return this.rng.next() < this.p
  }
}

export interface GilbertElliottParams {
  /** P(good → bad) per packet */
  pGB: number
  /** P(bad → good) per packet */
  pBG: number
  /** loss probability in the good state */
  lossGood: number
  /** loss probability in the bad state */
  lossBad: number
}

/**
 * Two-state Markov (Gilbert–Elliott) bursty loss. The state moves first, then the packet is
 * lost with the state's loss probability. Starts in the stationary distribution.
 */
export class GilbertElliottLoss implements LossModel {
  readonly label: string
  private bad: boolean

  constructor(
    readonly params: GilbertElliottParams,
    private readonly rng: Rng,
  ) {
    this.label = `Gilbert–Elliott p(g→b)=${params.pGB} p(b→g)=${params.pBG} loss ${fmtPct(params.lossGood)}/${fmtPct(params.lossBad)} (mean ${fmtPct(gilbertElliottMeanLoss(params))})`
    this.bad = rng.next() < stationaryBad(params)
  }

  lost(): boolean {
    this.bad = this.bad ? this.rng.next() >= this.params.pBG : this.rng.next() < this.params.pGB
    return this.rng.next() < (this.bad ? this.params.lossBad : this.params.lossGood)
  }
}

function stationaryBad(p: GilbertElliottParams): number {
  const s = p.pGB + p.pBG
  return s === 0 ? 0 : p.pGB / s
}

/** Long-run loss rate of a Gilbert–Elliott channel. */
export function gilbertElliottMeanLoss(p: GilbertElliottParams): number {
  const b = stationaryBad(p)
  return b * p.lossBad + (1 - b) * p.lossGood
}

/** Replays a recorded loss pattern, one entry per packet, from the start again when it ends. */
export class TraceLoss implements LossModel {
  readonly label: string
  private i = 0

  constructor(
    readonly pattern: Uint8Array,
    name = 'trace',
  ) {
    if (pattern.length === 0) throw new TraceError(`${name}: the trace has no packets`)
    let lost = 0
    for (const v of pattern) lost += v
    this.label = `${name} (${pattern.length} packets, ${fmtPct(lost / pattern.length)} lost, repeated)`
  }

  lost(): boolean {
    const v = this.pattern[this.i]
    this.i = this.i + 1 === this.pattern.length ? 0 : this.i + 1
    return v === 1
  }
}

export class TraceError extends Error {
  override name = 'TraceError'
}

/** The trace file format, for --help. */
export const TRACE_FORMAT = `A trace is a text file with one entry per packet, in send order: 1 = the packet is lost, 0 = it arrives. Entries are separated by whitespace or newlines, and a run of digits such as 0001100 counts as one entry per digit; text after '#' on a line is a comment. The trace repeats from the start when the simulation sends more packets than it holds.`

/** Parses a trace (see TRACE_FORMAT); throws TraceError naming the line of the first bad entry. */
export function parseTrace(text: string, name = 'trace'): Uint8Array {
  const out: number[] = []
  const lines = text.split('\n')
  for (let ln = 0; ln < lines.length; ln++) {
    const line = lines[ln].replace(/#.*/, '')
    for (const tok of line.split(/\s+/)) {
      if (tok === '') continue
      if (!/^[01]+$/.test(tok)) throw new TraceError(`${name} line ${ln + 1}: '${tok.length > 20 ? tok.slice(0, 20) + '…' : tok}' is not a 0/1 packet entry`)
      for (const ch of tok) out.push(ch === '1' ? 1 : 0)
    }
  }
  if (out.length === 0) throw new TraceError(`${name}: the trace has no 0/1 entries`)
  return Uint8Array.from(out)
}

export function fmtPct(p: number): string {
  const v = p * 100
  return `${Number.isInteger(v) ? v : v.toPrecision(3).replace(/\.?0+$/, '')}%`
}
