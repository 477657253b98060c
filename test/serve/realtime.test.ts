/**
 * Real-time scheduling of a stream's threads (src/media/stream/realtime.ts): what the kernel
 * reports for each thread after applyRealtime(), with the privilege, without it, and with only an
 * RLIMIT_RTPRIO grant (the limits.conf route a desktop user takes). Each case runs in a child
 * process, since scheduling sticks to the threads of the process that asked.
 */
import {spawnSync} from 'node:child_process'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {DEFAULT_REALTIME_PRIORITY, realtimePriority} from '../../src/media/stream/realtime.js'
import {installed} from '../helpers/index.js'

const SCHED_OTHER = 0
const SCHED_FIFO = 1
const child = join(import.meta.dirname, 'fixtures', 'realtime-child.mjs')
const isRoot = process.getuid?.() === 0
const haveTools = installed('setpriv', 'prlimit')

interface Thread {
  tid: number
  comm: string
  rtPriority: number
  policy: number
}
interface ChildReport {
  outcome: {granted: boolean; detail: string}
  pid: number
  threads: Thread[]
}

function runChild(wrapper: string[], priority: number, frameLoop: boolean): ChildReport {
  const argv = [...wrapper, process.execPath, child, String(priority), frameLoop ? 'loop' : 'send-only']
  const r = spawnSync(argv[0], argv.slice(1), {encoding: 'utf8', timeout: 20_000})
  expect(r.status, r.stderr).toBe(0)
  return JSON.parse(r.stdout) as ChildReport
}

const sendThread = (r: ChildReport): Thread => r.threads.find((t) => t.comm === 'lumen-send')!
const loopThread = (r: ChildReport): Thread => r.threads.find((t) => t.tid === r.pid)!
// without CAP_SYS_NICE (root keeps it unless the bounding set drops it) and with a given RLIMIT_RTPRIO
const unprivileged = (rtprio: number): string[] => ['prlimit', `--rtprio=${rtprio}:${rtprio}`, 'setpriv', '--bounding-set=-sys_nice']

describe('LUMEN_REALTIME', () => {
  it('parses off, a priority, and rejects the rest', () => {
    expect(realtimePriority(undefined)).toBe(DEFAULT_REALTIME_PRIORITY)
    expect(realtimePriority('')).toBe(DEFAULT_REALTIME_PRIORITY)
    expect(realtimePriority('off')).toBe(0)
    expect(realtimePriority('0')).toBe(0)
    expect(realtimePriority('42')).toBe(42)
    for (const bad of ['99', '-1', '1.5', 'high']) expect(() => realtimePriority(bad), bad).toThrow(/LUMEN_REALTIME/)
  })
})

describe.skipIf(!isRoot || !haveTools)(`real-time threads${!isRoot ? ' (skipped: needs root to grant and drop CAP_SYS_NICE)' : !haveTools ? ' (skipped: setpriv/prlimit missing)' : ''}`, () => {
  it('with the privilege: the send thread runs SCHED_FIFO one above the frame loop', () => {
    const r = runChild([], 10, true)
    expect(r.outcome.granted).toBe(true)
    expect(sendThread(r)).toMatchObject({policy: SCHED_FIFO, rtPriority: 11})
    expect(loopThread(r)).toMatchObject({policy: SCHED_FIFO, rtPriority: 10})
    // V8's own helper threads keep the normal policy: only the two deadline-bound threads change
    expect(r.threads.filter((t) => t.policy === SCHED_FIFO)).toHaveLength(2)
  })

  it('a software-encoder stream: only the send thread is real-time', () => {
    const r = runChild([], 10, false)
    expect(r.outcome.granted).toBe(true)
    expect(sendThread(r)).toMatchObject({policy: SCHED_FIFO, rtPriority: 11})
    expect(loopThread(r)).toMatchObject({policy: SCHED_OTHER, rtPriority: 0})
  })

  it('without CAP_SYS_NICE: refused with the reason, every thread stays normal', () => {
    const r = runChild(unprivileged(0), 10, true)
    expect(r.outcome.granted).toBe(false)
    expect(r.outcome.detail).toMatch(/refused \(EPERM\).*CAP_SYS_NICE.*RLIMIT_RTPRIO of at least 11/)
    expect(r.threads.every((t) => t.policy === SCHED_OTHER)).toBe(true)
  })

  // raising RLIMIT_RTPRIO needs CAP_SYS_RESOURCE, which some containers withhold even from root
  const canRaiseRtprio = isRoot && haveTools && spawnSync('prlimit', ['--rtprio=20:20', 'true']).status === 0
  it.skipIf(!canRaiseRtprio)(`an RLIMIT_RTPRIO grant is enough; above it, refused without half-applying${canRaiseRtprio ? '' : ' (skipped: this box cannot raise RLIMIT_RTPRIO)'}`, () => {
    const ok = runChild(unprivileged(20), 10, true)
    expect(ok.outcome.granted).toBe(true)
    expect(sendThread(ok)).toMatchObject({policy: SCHED_FIFO, rtPriority: 11})
    expect(loopThread(ok)).toMatchObject({policy: SCHED_FIFO, rtPriority: 10})
    // a limit of 10 admits the frame loop's 10 but not the send thread's 11: both stay normal
    const over = runChild(unprivileged(10), 10, true)
    expect(over.outcome.granted).toBe(false)
    expect(over.threads.every((t) => t.policy === SCHED_OTHER)).toBe(true)
  })

  it('off: nothing changes', () => {
    const r = runChild([], 0, true)
    expect(r.outcome).toEqual({granted: false, detail: 'off (--realtime, LUMEN_REALTIME)'})
    expect(r.threads.every((t) => t.policy === SCHED_OTHER)).toBe(true)
  })
})
