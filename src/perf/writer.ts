/**
 * PerfLogWriter: what `lumen serve` uses when LUMEN_PERF=FILE is set (format in ./format.ts).
 *
 * Hot-path cost: append() encodes 64 bytes into a preallocated batch Buffer (no allocation, no
 * system call). A full batch (or one older than `flushIntervalMs`, checked on append) is handed to
 * an asynchronous positional write on libuv's thread pool and a fresh batch from a small pool is
 * used. One write is in flight at a time — a writev of every batch queued meanwhile — so the file
 * only ever grows at its end (a reader of a log still being written sees complete records, then
 * at most one partial record). If the disk falls behind so far that every pooled batch is queued,
 * new batches are allocated (`stats().extraBatches`) up to `maxExtraBatches`; past that, whole
 * batches are dropped and counted (`stats().droppedRecords`, visible as frame-index gaps in the
 * report) rather than ever blocking the stream or growing without bound.
 *
 * The asynchronous writes complete on the event loop of the thread that owns the writer: the
 * worker's frame loop must yield to its event loop now and then (an `await` between frames does);
 * close() waits for every pending write.
 */
import {closeSync, fsyncSync, openSync, writeSync, writev} from 'node:fs'

import {encodeHeader, encodeRecord, type PerfLogHeader, type PerfRecord, RECORD_SIZE} from './format.js'

export interface PerfLogWriterOptions {
  /** records per batch (default 256: 16 KiB, about a second at 240 fps) */
  batchRecords?: number
  /** a non-empty batch older than this is flushed on the next append (default 1000 ms) */
  flushIntervalMs?: number
  /** preallocated batches (default 4) */
  poolBatches?: number
  /** batches allocated beyond the pool when writes fall behind, before batches are dropped (default 64) */
  maxExtraBatches?: number
}

export interface PerfLogWriterStats {
  records: number
  bytesWritten: number
  writesInFlight: number
  extraBatches: number
  /** records dropped because writes fell more than the pool plus maxExtraBatches behind */
  droppedRecords: number
  /** the first write error, if one happened; records after it are dropped, the stream goes on */
  error?: string
}

interface Batch {
  buf: Buffer
  view: DataView
  used: number
}

export class PerfLogWriter {
  private readonly batchRecords: number
  private readonly flushIntervalMs: number
  private readonly maxExtraBatches: number
  private droppedRecords = 0
  private readonly pool: Batch[] = []
  private current: Batch
  private batchStartedAt = 0
  private position: number
  private queue: Batch[] = []
  private writing = false
  private idle: (() => void)[] = []
  private inFlight = 0
  private records = 0
  private bytesWritten: number
  private extraBatches = 0
  private error: string | undefined
  private closed = false

  private constructor(
    private readonly fd: number,
    headerBytes: number,
    options: PerfLogWriterOptions,
  ) {
    this.batchRecords = Math.max(1, options.batchRecords ?? 256)
    this.flushIntervalMs = options.flushIntervalMs ?? 1000
    this.maxExtraBatches = options.maxExtraBatches ?? 64
    const poolBatches = Math.max(2, options.poolBatches ?? 4)
    for (let i = 0; i < poolBatches; i++) this.pool.push(this.newBatch())
    this.current = this.pool.pop() as Batch
    this.position = headerBytes
    this.bytesWritten = headerBytes
  }

  /**
   * Creates (truncates) `path` and writes the header synchronously: call it when the stream
   * starts, not per frame. Throws a plain Error with a sentence when the file cannot be created.
   */
  static open(path: string, header: PerfLogHeader, options: PerfLogWriterOptions = {}): PerfLogWriter {
    const bytes = encodeHeader(header)
    let fd: number
    try {
      fd = openSync(path, 'w')
    } catch (error) {
      throw new Error(`cannot create the LUMEN_PERF log ${path}: ${(error as Error).message}`)
    }
    writeSync(fd, bytes, 0, bytes.length, 0)
    return new PerfLogWriter(fd, bytes.length, options)
  }

  /** Records one frame. Never blocks, never throws on I/O (see stats().error). */
  append(record: PerfRecord): void {
    if (this.closed) return
    const batch = this.current
    if (batch.used === 0) this.batchStartedAt = performance.now()
    encodeRecord(batch.view, batch.buf, batch.used * RECORD_SIZE, record)
    batch.used++
    this.records++
    if (batch.used >= this.batchRecords || performance.now() - this.batchStartedAt >= this.flushIntervalMs) this.flush()
  }

  /** Hands the current batch to the background writer now (e.g. on a pause). */
  flush(): void {
    const batch = this.current
    if (batch.used === 0) return
    const next = this.pool.pop() ?? (this.extraBatches < this.maxExtraBatches ? this.extraBatch() : undefined)
    if (next === undefined) {
      this.droppedRecords += batch.used
      batch.used = 0
      return
    }
    this.current = next
    this.queue.push(batch)
    this.inFlight++
    if (!this.writing) this.writeQueued()
  }

  /** One positional writev of every queued batch; the next one starts when it completes. */
  private writeQueued(): void {
    const batches = this.queue
    this.queue = []
    this.writing = true
    const position = this.position
    let length = 0
    const views = batches.map((b) => {
      length += b.used * RECORD_SIZE
      return b.buf.subarray(0, b.used * RECORD_SIZE)
    })
    this.position += length
    const done = (): void => {
      for (const b of batches) this.release(b)
      if (this.queue.length > 0) this.writeQueued()
      else {
        this.writing = false
        const idle = this.idle
        this.idle = []
        for (const resolve of idle) resolve()
      }
    }
    if (this.error !== undefined) {
      done()
      return
    }
    writev(this.fd, views, position, (err, written) => {
      if (err !== null) {
        if (this.error === undefined) this.error = `writing the LUMEN_PERF log failed: ${err.message}`
      } else {
        this.bytesWritten += written
        if (written < length && this.error === undefined) this.error = `writing the LUMEN_PERF log: short write (${written} of ${length} bytes)`
      }
      done()
    })
  }

  /** Flushes, waits for every pending write, and closes the file. */
  async close(): Promise<void> {
    if (this.closed) return
    this.flush()
    this.closed = true
    if (this.writing) await new Promise<void>((resolve) => this.idle.push(resolve))
    try {
      fsyncSync(this.fd)
    } catch {
      // a pipe or a special file: nothing to sync
    }
    closeSync(this.fd)
  }

  stats(): PerfLogWriterStats {
    return {
      records: this.records,
      bytesWritten: this.bytesWritten,
      writesInFlight: this.inFlight,
      extraBatches: this.extraBatches,
      droppedRecords: this.droppedRecords,
      ...(this.error === undefined ? {} : {error: this.error}),
    }
  }

  private release(batch: Batch): void {
    this.inFlight--
    batch.used = 0
    this.pool.push(batch)
  }

  private extraBatch(): Batch {
    this.extraBatches++
    return this.newBatch()
  }

  private newBatch(): Batch {
    const buf = Buffer.alloc(this.batchRecords * RECORD_SIZE)
    return {buf, view: new DataView(buf.buffer, buf.byteOffset, buf.byteLength), used: 0}
  }
}
