/**
 * Streams a LUMEN_PERF log (format in ./format.ts) in fixed chunks: memory is bounded by the
 * chunk size whatever the log's length. Reads the file as long as it was when reading began, so
 * a log still being written reads up to its last complete record; the partial record after it,
 * if any, is reported as `tailBytes`, not as corruption. Damaged records (bad sync word or CRC)
 * are skipped by scanning forward for the next record whose sync word and CRC both check.
 */
import {closeSync, fstatSync, openSync, readSync} from 'node:fs'

import {decodeRecord, emptyRecord, type PerfLogHeader, type PerfRecord, parseHeader, RECORD_SIZE, recordValid} from './format.js'

/** A log that cannot be read at all (missing, not a LUMEN_PERF log, header incomplete). */
export class PerfLogError extends Error {
  override readonly name = 'PerfLogError'
}

export interface ReadSummary {
  header: PerfLogHeader
  /** file size when reading began */
  fileBytes: number
  /** records that checked and were handed to the visitor */
  records: number
  /** damaged stretches skipped, in record units: each stretch counts ceil(bytes / 64) */
  corruptRecords: number
  corruptBytes: number
  /** bytes of an incomplete last record (a log still being written, or a truncated one) */
  tailBytes: number
}

export interface ReadOptions {
  /** bytes per read (default 4 MiB) */
  chunkBytes?: number
  /** called after every chunk with bytes done and the total */
  onProgress?: (done: number, total: number) => void
}

/**
 * Calls `visit` for every valid record, in file order. The record object is reused between
 * calls: copy what you keep.
 */
export function readPerfLog(path: string, visit: (record: PerfRecord) => void, options: ReadOptions = {}): ReadSummary {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (error) {
    throw new PerfLogError(`cannot open ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`)
  }
  try {
    return readFd(fd, path, visit, options)
  } finally {
    closeSync(fd)
  }
}

function readFd(fd: number, path: string, visit: (record: PerfRecord) => void, options: ReadOptions): ReadSummary {
  const fileBytes = fstatSync(fd).size
  let head = Buffer.alloc(Math.min(fileBytes, 4096))
  readFully(fd, head, 0)
  let parsed = parseHeader(head)
  if (parsed.kind === 'short' && parsed.need <= fileBytes) {
    head = Buffer.alloc(parsed.need)
    readFully(fd, head, 0)
    parsed = parseHeader(head)
  }
  if (parsed.kind === 'short') throw new PerfLogError(`${path} has no complete LUMEN_PERF header yet (${fileBytes} bytes): the stream may have just started`)
  if (parsed.kind === 'invalid') throw new PerfLogError(`${path} is not a readable LUMEN_PERF log: ${parsed.reason}`)

  const chunkBytes = Math.max(RECORD_SIZE * 16, Math.floor((options.chunkBytes ?? 4 * 1024 * 1024) / RECORD_SIZE) * RECORD_SIZE)
  const buf = Buffer.alloc(chunkBytes + RECORD_SIZE)
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  const record = emptyRecord()
  let pos = parsed.recordsOffset
  let carry = 0
  let records = 0
  let corruptRecords = 0
  let corruptBytes = 0
  let badRun = 0

  const endBadRun = (): void => {
    if (badRun > 0) {
      corruptRecords += Math.ceil(badRun / RECORD_SIZE)
      corruptBytes += badRun
      badRun = 0
    }
  }

  while (pos < fileBytes) {
    const want = Math.min(chunkBytes, fileBytes - pos)
    const got = readSync(fd, buf, carry, want, pos)
    if (got <= 0) break
    pos += got
    const avail = carry + got
    let i = 0
    while (i + RECORD_SIZE <= avail) {
      if (recordValid(view, buf, i)) {
        endBadRun()
        visit(decodeRecord(view, i, record))
        records++
        i += RECORD_SIZE
      } else {
        badRun++
        i++
      }
    }
    carry = avail - i
    if (carry > 0) buf.copy(buf, 0, i, avail)
    options.onProgress?.(pos, fileBytes)
  }
  // a partial record right after damage is part of the damage, not a record still being written
  if (badRun > 0) {
    badRun += carry
    carry = 0
  }
  endBadRun()
  return {header: parsed.header, fileBytes, records, corruptRecords, corruptBytes, tailBytes: carry}
}

function readFully(fd: number, buf: Buffer, position: number): void {
  let off = 0
  while (off < buf.length) {
    const n = readSync(fd, buf, off, buf.length - off, position + off)
    if (n <= 0) break
    off += n
  }
}
