/**
 * PerfLogWriter: what `lumen serve` uses when LUMEN_PERF=FILE is set (format in ./format.ts).
 *
 * Hot-path cost: append() encodes 64 bytes into a preallocated ring in a SharedArrayBuffer and
 * publishes it with one atomic store — no allocation, no system call, no dependence on the
 * calling thread's event loop (the stream's frame loop may block in the shim's deadline sleep
 * and never yield). Every `batchRecords` records it wakes a small writer thread (one futex wake);
 * the writer thread also wakes by itself every `flushIntervalMs`, so a log being watched lags at
 * most that much. The writer thread drains the ring with one write per contiguous stretch, in
 * order with plain sequential writes (so a file, a pipe or a FIFO all work), so a file only ever grows at its end: a reader of a log still being written sees
 * complete records, then at most one partial record.
 *
 * If the disk falls so far behind that the ring is full (default 16,384 records, 68 s at
 * 240 fps), records are dropped and counted (`stats().droppedRecords`, and gaps in the frame
 * index that perf-report shows) — the stream is never blocked.
 *
 * Call close() (or closeSync() from an exit handler) when the stream stops: it drains the ring,
 * fsyncs and closes the file, and ends the writer thread, which otherwise keeps the process alive.
 */
import {closeSync, openSync, writeSync} from 'node:fs'
import {Worker} from 'node:worker_threads'

import {encodeHeader, encodeRecord, type PerfLogHeader, type PerfRecord, RECORD_SIZE} from './format.js'

export interface PerfLogWriterOptions {
  /** ring capacity in records (default 16,384: 1 MiB) */
  ringRecords?: number
  /** the writer thread is woken every this many records (default 240) */
  batchRecords?: number
  /** the writer thread drains the ring at least this often (default 250 ms) */
  flushIntervalMs?: number
}

export interface PerfLogWriterStats {
  /** records appended (written or still in the ring) */
  records: number
  /** records written to the file so far */
  recordsWritten: number
  /** records in the ring, not yet written */
  pending: number
  /** records dropped because the ring was full (the disk fell behind) */
  droppedRecords: number
  /** the first write error, if one happened; records after it are discarded, the stream goes on */
  error?: string
}

// control words in the shared Int32Array
const HEAD = 0 // records published by append()
const TAIL = 1 // records consumed by the writer thread
const WAKE = 2 // bumped to wake the writer thread
const CLOSED = 3 // 1 once close() began
const DONE = 4 // 1 once the writer thread drained, synced and stopped
const FAILED = 5 // 1 once a write failed
const CONTROL_WORDS = 8

/** The writer thread: plain JS so it runs from the built CLI and under vitest alike. */
const WRITER_THREAD = `
const {workerData, parentPort} = require('node:worker_threads')
const {writeSync, fsyncSync} = require('node:fs')
const {ring, control, fd, capacity, recordSize, intervalMs} = workerData
const bytes = new Uint8Array(ring)
const ctl = new Int32Array(control)
let tail = 0
let failed = false
function put(from, count) {
  if (failed) return
  let off = from * recordSize
  let len = count * recordSize
  try {
    while (len > 0) {
      const n = writeSync(fd, bytes, off, len)
      off += n; len -= n
    }
  } catch (error) {
    failed = true
    Atomics.store(ctl, ${FAILED}, 1)
    parentPort.postMessage(String(error && error.message || error))
  }
}
for (;;) {
  const wake = Atomics.load(ctl, ${WAKE})
  const head = Atomics.load(ctl, ${HEAD})
  if (head !== tail) {
    const n = (head - tail) | 0
    const start = ((tail % capacity) + capacity) % capacity
    const first = Math.min(n, capacity - start)
    put(start, first)
    if (n > first) put(0, n - first)
    tail = head
    Atomics.store(ctl, ${TAIL}, tail)
    continue
  }
  if (Atomics.load(ctl, ${CLOSED}) === 1) {
    // CLOSED is stored after the last HEAD: one more look at HEAD sees every record
    if (Atomics.load(ctl, ${HEAD}) !== tail) continue
    break
  }
  Atomics.wait(ctl, ${WAKE}, wake, intervalMs)
}
try { fsyncSync(fd) } catch {}
Atomics.store(ctl, ${DONE}, 1)
Atomics.notify(ctl, ${DONE})
`

export class PerfLogWriter {
  private readonly capacity: number
  private readonly batchRecords: number
  private readonly ring: SharedArrayBuffer
  private readonly bytes: Uint8Array
  private readonly view: DataView
  private readonly ctl: Int32Array
  private readonly worker: Worker
  private readonly exited: Promise<void>
  private readonly online: Promise<void>
  private head = 0
  private lastWake = 0
  private dropped = 0
  private error: string | undefined
  private closed = false
  private fdClosed = false

  private constructor(
    private readonly fd: number,
    private readonly headerBytes: number,
    options: PerfLogWriterOptions,
  ) {
    this.capacity = Math.max(2, Math.floor(options.ringRecords ?? 16_384))
    this.batchRecords = Math.max(1, Math.floor(options.batchRecords ?? 240))
    this.ring = new SharedArrayBuffer(this.capacity * RECORD_SIZE)
    this.bytes = new Uint8Array(this.ring)
    this.view = new DataView(this.ring)
    const control = new SharedArrayBuffer(CONTROL_WORDS * 4)
    this.ctl = new Int32Array(control)
    this.worker = new Worker(WRITER_THREAD, {
      eval: true,
      workerData: {ring: this.ring, control, fd, capacity: this.capacity, recordSize: RECORD_SIZE, intervalMs: options.flushIntervalMs ?? 250},
    })
    this.worker.on('message', (m: unknown) => {
      if (this.error === undefined) this.error = `writing the LUMEN_PERF log failed: ${String(m)}`
    })
    this.online = new Promise((resolve) => this.worker.once('online', () => resolve()))
    this.exited = new Promise((resolve) => {
      this.worker.on('error', (e: Error) => {
        if (this.error === undefined) this.error = `the LUMEN_PERF writer thread failed: ${e.message}`
      })
      this.worker.on('exit', () => resolve())
    })
  }

  /**
   * Creates (truncates) `path`, writes the header synchronously and starts the writer thread:
   * call it when the stream starts, not per frame. Throws an Error with a sentence when the file
   * cannot be created.
   */
  static open(path: string, header: PerfLogHeader, options: PerfLogWriterOptions = {}): PerfLogWriter {
    const bytes = encodeHeader(header)
    let fd: number
    try {
      fd = openSync(path, 'w')
    } catch (error) {
      throw new Error(`cannot create the LUMEN_PERF log ${path}: ${(error as Error).message}`)
    }
    // sequential writes (no positions) from here on, so a pipe or /dev/stderr works as well as a file
    writeSync(fd, bytes, 0, bytes.length)
    return new PerfLogWriter(fd, bytes.length, options)
  }

  /**
   * Resolves once the writer thread runs (tens of ms after open()). Optional: records appended
   * before then wait in the ring.
   */
  ready(): Promise<void> {
    return this.online
  }

  /** Records one frame. Never blocks, never throws on I/O, allocates nothing. */
  append(record: PerfRecord): void {
    if (this.closed) return
    const head = this.head
    if (((head - Atomics.load(this.ctl, TAIL)) | 0) >= this.capacity) {
      this.dropped++
      return
    }
    const slot = ((head % this.capacity) + this.capacity) % this.capacity
    encodeRecord(this.view, this.bytes, slot * RECORD_SIZE, record)
    this.head = (head + 1) | 0
    Atomics.store(this.ctl, HEAD, this.head)
    if (((this.head - this.lastWake) | 0) >= this.batchRecords) this.wake()
  }

  /** Wakes the writer thread now (e.g. before a pause), instead of at the next batch or interval. */
  flush(): void {
    this.wake()
  }

  /** Drains the ring, fsyncs and closes the file; resolves once the writer thread has ended. */
  async close(): Promise<void> {
    if (this.closed) return
    this.beginClose()
    await this.exited
    this.closeFd()
  }

  /** close() for a process 'exit' handler: blocks until the ring is written (at most `timeoutMs`). */
  closeSync(timeoutMs = 5000): void {
    if (this.closed) return
    this.beginClose()
    Atomics.wait(this.ctl, DONE, 0, timeoutMs)
    this.closeFd()
    void this.worker.terminate()
  }

  stats(): PerfLogWriterStats {
    const tail = Atomics.load(this.ctl, TAIL)
    const failed = Atomics.load(this.ctl, FAILED) === 1
    const error = this.error ?? (failed ? 'writing the LUMEN_PERF log failed' : undefined)
    return {
      records: this.head + this.dropped,
      recordsWritten: tail,
      pending: (this.head - tail) | 0,
      droppedRecords: this.dropped,
      ...(error === undefined ? {} : {error}),
    }
  }

  /** bytes of the header, where the first record starts */
  get recordsOffset(): number {
    return this.headerBytes
  }

  private wake(): void {
    this.lastWake = this.head
    Atomics.add(this.ctl, WAKE, 1)
    Atomics.notify(this.ctl, WAKE)
  }

  private beginClose(): void {
    this.closed = true
    Atomics.store(this.ctl, CLOSED, 1)
    this.wake()
  }

  private closeFd(): void {
    if (this.fdClosed) return
    this.fdClosed = true
    closeSync(this.fd)
  }
}
