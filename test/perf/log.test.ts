import {execFileSync} from 'node:child_process'
import {appendFileSync, closeSync, constants, openSync, readFileSync, readSync, rmSync, statSync, truncateSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {crc32 as zlibCrc32} from 'node:zlib'

import {afterAll, describe, expect, it} from 'vitest'

import {crc32, encodeHeader, type PerfRecord, RECORD_SIZE} from '../../src/perf/format.js'
import {PerfLogError, readPerfLog} from '../../src/perf/reader.js'
import {syntheticHeader, syntheticRecords} from '../../src/perf/synthetic.js'
import {PerfLogWriter} from '../../src/perf/writer.js'
import {sleep} from '../helpers/index.js'
import {asStored, tempDir, writeLog} from './helpers.js'

const dir = tempDir()
afterAll(() => rmSync(dir, {recursive: true, force: true}))

function readAll(path: string): {records: PerfRecord[]; summary: ReturnType<typeof readPerfLog>} {
  const records: PerfRecord[] = []
  const summary = readPerfLog(path, (r) => records.push({...r}), {chunkBytes: 4096})
  return {records, summary}
}

function headerLength(path: string): number {
  const b = readFileSync(path)
  return 16 + b.readUInt32LE(12) + 4
}

describe('LUMEN_PERF log: writer → reader', () => {
  it('checksums with the CRC-32 zlib computes', () => {
    const b = Buffer.from('the quick brown fox jumps over the lazy dog, 0123456789')
    expect(crc32(b, 0, b.length)).toBe(zlibCrc32(b))
    expect(crc32(b, 5, 30)).toBe(zlibCrc32(b.subarray(5, 30)))
  })

  it('gives back every record and the header as written (f32 stage times)', async () => {
    const path = join(dir, 'roundtrip.perf')
    const header = syntheticHeader({encoder: 'libx265', codec: 'hevc', fps: 120, note: 'ünïcode'})
    // a small ring, so the writer wraps around it several times
    const writer = PerfLogWriter.open(path, header, {batchRecords: 7, ringRecords: 256})
    await writer.ready()
    const gen = syntheticRecords({seed: 3, idrEvery: 50})
    const written: PerfRecord[] = []
    for (let i = 0; i < 1000; i++) {
      const r = gen.next().value as PerfRecord
      writer.append(r)
      written.push(asStored(r))
      if (i % 8 === 7) await sleep(1) // a frame loop waits for its next deadline
    }
    await writer.close()
    expect(writer.stats()).toMatchObject({records: 1000, recordsWritten: 1000, pending: 0, droppedRecords: 0})
    const file = readFileSync(path)
    expect(file.length).toBe(encodeHeader(header).length + 1000 * RECORD_SIZE)
    const {records, summary} = readAll(path)
    expect(summary).toMatchObject({records: 1000, corruptRecords: 0, corruptBytes: 0, tailBytes: 0})
    expect(summary.header).toEqual(header)
    expect(records).toEqual(written)
    expect(records.filter((r) => r.idr).length).toBe(20)
    expect(records.some((r) => r.reencoded)).toBe(true)
  })

  it('rejects a file that is not a log, and an incomplete header, with a sentence', () => {
    const junk = join(dir, 'junk.perf')
    writeFileSync(junk, 'hello, this is not a perf log at all, just some text that is long enough')
    expect(() => readPerfLog(junk, () => {})).toThrow(PerfLogError)
    expect(() => readPerfLog(junk, () => {})).toThrow(/not a readable LUMEN_PERF log/)
    const short = join(dir, 'short.perf')
    writeFileSync(short, encodeHeader(syntheticHeader()).subarray(0, 30))
    expect(() => readPerfLog(short, () => {})).toThrow(/no complete LUMEN_PERF header/)
    const badCrc = join(dir, 'badcrc.perf')
    const h = encodeHeader(syntheticHeader())
    h[20] ^= 0xff
    writeFileSync(badCrc, h)
    expect(() => readPerfLog(badCrc, () => {})).toThrow(/checksum/)
    expect(() => readPerfLog(join(dir, 'absent.perf'), () => {})).toThrow(/no such file/)
  })

  it('skips a corrupted record and an inserted run of garbage, counting them, and keeps every other record', async () => {
    const path = join(dir, 'corrupt.perf')
    const written = await writeLog(path, 500, {seed: 5})
    const h = headerLength(path)
    const b = readFileSync(path)
    b[h + 100 * RECORD_SIZE + 20] ^= 0x40 // one bit in record 100's encode time
    b[h + 300 * RECORD_SIZE] ^= 0xff // record 300's sync word
    const garbage = Buffer.alloc(37, 0xa5)
    const damaged = Buffer.concat([b.subarray(0, h + 400 * RECORD_SIZE), garbage, b.subarray(h + 400 * RECORD_SIZE)])
    writeFileSync(path, damaged)
    const {records, summary} = readAll(path)
    expect(summary.corruptRecords).toBe(3) // record 100, record 300, the 37 bytes before record 400
    expect(summary.corruptBytes).toBe(64 + 64 + 37)
    expect(summary.tailBytes).toBe(0)
    expect(records.length).toBe(498)
    expect(records).toEqual(written.filter((_, i) => i !== 100 && i !== 300))
  })

  it('survives a log of random bytes after a valid header without throwing', () => {
    const path = join(dir, 'random.perf')
    let x = 12345
    const noise = Buffer.alloc(200_000)
    for (let i = 0; i < noise.length; i++) {
      x = (x * 1103515245 + 12345) >>> 0
      noise[i] = x >>> 24
    }
    writeFileSync(path, Buffer.concat([encodeHeader(syntheticHeader()), noise]))
    const {records, summary} = readAll(path)
    expect(records.length).toBe(0)
    expect(summary.corruptBytes + summary.tailBytes).toBe(noise.length)
    expect(summary.corruptRecords).toBe(Math.ceil(summary.corruptBytes / RECORD_SIZE))
  })

  it('reports a log cut mid-record: every complete record, the partial one as tail bytes', async () => {
    const path = join(dir, 'truncated.perf')
    const written = await writeLog(path, 300, {seed: 9})
    const h = headerLength(path)
    truncateSync(path, h + 250 * RECORD_SIZE + 41)
    const {records, summary} = readAll(path)
    expect(summary).toMatchObject({records: 250, corruptRecords: 0, tailBytes: 41})
    expect(records).toEqual(written.slice(0, 250))
  })

  it('reads a log that is still being written, then more of it once more is written', async () => {
    const path = join(dir, 'live.perf')
    const writer = PerfLogWriter.open(path, syntheticHeader(), {batchRecords: 50, flushIntervalMs: 100})
    const gen = syntheticRecords({seed: 11})
    const append = (n: number): void => {
      for (let i = 0; i < n; i++) writer.append(gen.next().value as PerfRecord)
    }
    expect(readAll(path).summary).toMatchObject({records: 0, corruptRecords: 0, tailBytes: 0})
    append(150)
    // the writer thread gets there by itself (batch wakes, then its interval)
    const deadline = Date.now() + 5000
    while (readAll(path).summary.records < 150 && Date.now() < deadline) await sleep(20)
    expect(readAll(path).summary).toMatchObject({records: 150, corruptRecords: 0, tailBytes: 0})
    expect(writer.stats()).toMatchObject({records: 150, recordsWritten: 150, pending: 0})
    // a torn write in progress: part of a record at the end
    const size = statSync(path).size
    const partial = readFileSync(path).subarray(headerLength(path), headerLength(path) + 30)
    appendFileSync(path, partial)
    const mid = readAll(path)
    expect(mid.summary).toMatchObject({records: 150, corruptRecords: 0, tailBytes: 30})
    expect(mid.records.at(-1)?.frameIndex).toBe(149)
    truncateSync(path, size)
    append(25)
    await writer.close()
    const end = readAll(path)
    expect(end.summary).toMatchObject({records: 175, corruptRecords: 0, tailBytes: 0})
    expect(end.records.map((r) => r.frameIndex)).toEqual([...Array(175).keys()])
  })

  it('never blocks the stream: with the disk stalled, append() drops and counts once the ring is full', async () => {
    // a FIFO nobody reads stands in for a stalled disk: the writer thread blocks once the pipe is full
    const fifo = join(dir, 'stalled.fifo')
    execFileSync('mkfifo', [fifo])
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK)
    const writer = PerfLogWriter.open(fifo, syntheticHeader(), {ringRecords: 100, batchRecords: 10})
    const gen = syntheticRecords({seed: 13})
    const appended = 5000 // 320 KB, far more than a pipe holds (64 KB) plus the ring
    for (let i = 0; i < appended; i++) writer.append(gen.next().value as PerfRecord)
    const s = writer.stats()
    expect(s.records).toBe(appended)
    expect(s.droppedRecords).toBeGreaterThan(0)
    // now drain the pipe, as a disk catching up would, and let close() finish
    const chunks: Buffer[] = []
    const buf = Buffer.alloc(65536)
    let closed = false
    const closing = writer.close().then(() => (closed = true))
    for (;;) {
      let n = 0
      try {
        n = readSync(reader, buf, 0, buf.length, null)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error
      }
      if (n > 0) chunks.push(Buffer.from(buf.subarray(0, n)))
      else if (closed) break
      else await sleep(2)
    }
    await closing
    closeSync(reader)
    const copy = join(dir, 'stalled.perf')
    writeFileSync(copy, Buffer.concat(chunks))
    const {records, summary} = readAll(copy)
    expect(summary).toMatchObject({corruptRecords: 0, tailBytes: 0})
    expect(records.length + writer.stats().droppedRecords).toBe(appended)
    // what was dropped shows as gaps in the frame index
    const gaps = records.reduce((a, r, i) => a + (i === 0 ? r.frameIndex : r.frameIndex - records[i - 1].frameIndex - 1), 0)
    expect(gaps + (appended - 1 - records.at(-1)!.frameIndex)).toBe(writer.stats().droppedRecords)
  })
})
