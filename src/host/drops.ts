/**
 * What the host refused or dropped, counted per port and kind ("control" / "connect-unknown",
 * "http" / "per-source-cap" …), so an owner can see an attack or a broken client: totals for
 * `stats()` and `--json`, and at most one summary log line per interval.
 */
export type DropPort = 'http' | 'https' | 'rtsp' | 'control' | 'media' | 'pairing'

export class DropCounters {
  private readonly totals = new Map<string, number>()
  private readonly unlogged = new Map<string, number>()
  private lastLog = 0

  constructor(
    private readonly log: (line: string) => void,
    private readonly intervalMs = 10_000,
  ) {}

  count(port: DropPort, kind: string, n = 1): void {
    if (n <= 0) return
    const key = `${port}:${kind}`
    this.totals.set(key, (this.totals.get(key) ?? 0) + n)
    this.unlogged.set(key, (this.unlogged.get(key) ?? 0) + n)
    this.maybeLog()
  }

  /** Totals since start, keyed "port:kind". */
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.totals].sort(([a], [b]) => a.localeCompare(b)))
  }

  total(): number {
    let n = 0
    for (const v of this.totals.values()) n += v
    return n
  }

  /** Logs what was dropped since the last line, when the interval has passed (call it from a timer too). */
  maybeLog(now = Date.now()): void {
    if (this.unlogged.size === 0 || now - this.lastLog < this.intervalMs) return
    this.lastLog = now
    const parts = [...this.unlogged].map(([k, v]) => `${k.replace(':', ' ')} ${v}`)
    this.unlogged.clear()
    this.log(`dropped: ${parts.join(', ')}`)
  }
}
