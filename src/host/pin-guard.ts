/**
 * Wrong-PIN rate limiting for pairing (SECURITY.md §Pairing): every pairing attempt that used its
 * PIN (answered phase 2) and did not pair counts as a wrong PIN, per source address and host-wide.
 * After the free allowance a new attempt must wait, the wait doubling with every further wrong
 * PIN; the wait is told in the answer. A pairing from an address clears that address's record.
 */
import {PAIRING_LIMITS} from './limits.js'

export type PinGuardLimits = Pick<typeof PAIRING_LIMITS, 'freePerSource' | 'freeTotal' | 'firstWaitMs' | 'maxWaitMs' | 'forgetMs' | 'trackedSources'>

interface Record_ {
  failures: number
  last: number
}

export class PinGuard {
  private readonly sources = new Map<string, Record_>()
  private readonly total: Record_ = {failures: 0, last: 0}
  private readonly limits: PinGuardLimits

  constructor(
    limits: Partial<PinGuardLimits> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.limits = {...PAIRING_LIMITS, ...limits}
  }

  /** How long (ms) an attempt from this address must still wait; 0 = it may try now. */
  waitMs(address: string): number {
    const t = this.now()
    this.forgetOld(t)
    const own = this.sources.get(address)
    return Math.max(own === undefined ? 0 : this.remaining(own, this.limits.freePerSource, t), this.remaining(this.total, this.limits.freeTotal, t))
  }

  /** A wrong PIN (or an attempt abandoned after using its PIN) from this address. */
  failed(address: string): void {
    const t = this.now()
    let r = this.sources.get(address)
    if (r === undefined) {
      if (this.sources.size >= this.limits.trackedSources) this.sources.delete(this.sources.keys().next().value!)
      r = {failures: 0, last: t}
    }
    this.sources.delete(address) // re-insert: the map's order is the forget order
    r.failures++
    r.last = t
    this.sources.set(address, r)
    this.total.failures++
    this.total.last = t
  }

  paired(address: string): void {
    this.sources.delete(address)
  }

  get failures(): number {
    return this.total.failures
  }

  private remaining(r: Record_, free: number, t: number): number {
    if (r.failures < free) return 0
    const wait = Math.min(this.limits.maxWaitMs, this.limits.firstWaitMs * 2 ** Math.min(30, r.failures - free))
    return Math.max(0, r.last + wait - t)
  }

  private forgetOld(t: number): void {
    for (const [address, r] of this.sources) {
      if (t - r.last < this.limits.forgetMs) break
      this.sources.delete(address)
    }
    if (t - this.total.last >= this.limits.forgetMs) this.total.failures = 0
  }
}
