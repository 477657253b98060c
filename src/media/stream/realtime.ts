/**
 * Real-time scheduling for a stream's deadline-bound threads, so a compile job or a browser on the
 * same core cannot push a frame past its deadline: the send thread (bounded work: copy, encrypt,
 * send) always, SCHED_FIFO; the frame loop one step below it only when its work per frame is
 * bounded too (a hardware encoder, or the pipeline bench with pre-encoded frames). A software
 * encoder that cannot keep up would turn a real-time frame loop into a thread that starves the
 * rest of its core, control stream included. Best effort: without the privilege the stream runs
 * at normal priority and says so once.
 */
import {type Pacer, setThreadRealtime} from '../../native/net.js'

/** The frame loop's SCHED_FIFO priority unless LUMEN_REALTIME says otherwise; the send thread gets +1. */
export const DEFAULT_REALTIME_PRIORITY = 10

/** LUMEN_REALTIME: `off` or 0 disables it, 1-98 picks the frame loop's priority. */
export function realtimePriority(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return DEFAULT_REALTIME_PRIORITY
  if (/^(off|no|false)$/i.test(value.trim())) return 0
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0 || n > 98) throw new RangeError(`--realtime (LUMEN_REALTIME) must be off or a priority 1-98, got '${value}'`)
  return n
}

/** What the stream got: 'off', 'SCHED_FIFO N/N+1', or the reason it was refused. */
export type RealtimeOutcome = {granted: boolean; detail: string}

/** Call on the frame loop's own thread, after the pacer exists. */
export function applyRealtime(pacer: Pacer, priority: number, frameLoop: boolean): RealtimeOutcome {
  if (priority === 0) return {granted: false, detail: 'off (--realtime, LUMEN_REALTIME)'}
  const refused = pacer.setRealtime(priority + 1) ?? (frameLoop ? setThreadRealtime(priority) : undefined)
  if (refused !== undefined) {
    pacer.setRealtime(0)
    return {granted: false, detail: refused}
  }
  return {granted: true, detail: `SCHED_FIFO ${priority + 1} (send thread)${frameLoop ? ` / ${priority} (frame loop)` : ''}`}
}
