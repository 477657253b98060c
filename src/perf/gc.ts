/**
 * This thread's garbage collections during a measurement, from V8's `gc` performance entries:
 * how many young-generation scavenges and full mark-compacts ran and the longest of each, and how
 * many bytes the heap grew by per frame between collections. The frame loop allocates next to
 * nothing per frame; a bench that sees frequent scavenges, or any full collection, has found
 * garbage in the hot path, and a collection in the frame loop's thread is a late frame waiting
 * to happen.
 */
import {constants, PerformanceObserver, type PerformanceEntry} from 'node:perf_hooks'
import {getHeapStatistics} from 'node:v8'

import {monotonicNowNs} from '../media/stream/clock.js'

export interface GcSummary {
  scavenges: number
  scavengeMaxMs: number
  /** full (mark-compact) collections, incremental marking steps not counted apart */
  fullGcs: number
  fullGcMaxMs: number
  /** median heap growth per frame over the windows with no collection in them; undefined if none */
  heapBytesPerFrame?: number
  /** every collection: start on the monotonic clock (ns, as the frame loop's), pause (ms), kind */
  events: GcEvent[]
}

export interface GcEvent {
  startNs: number
  ms: number
  kind: 'scavenge' | 'full' | 'other'
}

export class GcWatch {
  private readonly observer: PerformanceObserver
  private scavenges = 0
  private scavengeMaxMs = 0
  private fullGcs = 0
  private fullGcMaxMs = 0
  private readonly growth: number[] = []
  private readonly events: GcEvent[] = []
  private windowStart = -1
  private windowFrom = 0

  constructor() {
    this.observer = new PerformanceObserver((list) => this.count(list.getEntries()))
    this.observer.observe({entryTypes: ['gc']})
  }

  /**
   * Call now and then with the frames done so far; at most once a `minFrames` window it compares
   * the heap's used size with the last sample (a sample allocates a few hundred bytes itself). A
   * collection frees far more than a window allocates, so a window whose heap shrank had one.
   */
  sample(frames: number, minFrames = 240): void {
    if (this.windowStart >= 0 && frames - this.windowFrom < minFrames) return
    const used = getHeapStatistics().used_heap_size
    if (this.windowStart >= 0 && used >= this.windowStart) this.growth.push((used - this.windowStart) / (frames - this.windowFrom))
    this.windowStart = used
    this.windowFrom = frames
  }

  stop(): GcSummary {
    this.count(this.observer.takeRecords())
    this.observer.disconnect()
    const g = this.growth.sort((a, b) => a - b)
    const round = (v: number): number => Math.round(v * 100) / 100
    return {
      scavenges: this.scavenges,
      scavengeMaxMs: round(this.scavengeMaxMs),
      fullGcs: this.fullGcs,
      fullGcMaxMs: round(this.fullGcMaxMs),
      heapBytesPerFrame: g.length > 0 ? Math.round(g[Math.floor(g.length / 2)]) : undefined,
      events: this.events,
    }
  }

  private count(entries: PerformanceEntry[]): void {
    for (const e of entries) {
      // Node's gc entries carry {kind, flags} in detail, which its types leave out
      const kind = (e as PerformanceEntry & {detail?: {kind?: number}}).detail?.kind
      const startNs = monotonicNowNs() - (performance.now() - e.startTime) * 1e6
      const ms = Math.round(e.duration * 1000) / 1000
      this.events.push({startNs, ms, kind: kind === constants.NODE_PERFORMANCE_GC_MINOR ? 'scavenge' : kind === constants.NODE_PERFORMANCE_GC_MAJOR ? 'full' : 'other'})
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) {
        this.scavenges++
        this.scavengeMaxMs = Math.max(this.scavengeMaxMs, e.duration)
      } else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        this.fullGcs++
        this.fullGcMaxMs = Math.max(this.fullGcMaxMs, e.duration)
      }
    }
  }
}
