/**
 * PerfLogWriter where serve uses it: in a worker thread whose frame loop never yields to its event
 * loop (it blocks in a deadline sleep, as the shim's absolute-time sleep does). Runs the built
 * writer (dist/), since a worker thread cannot load TypeScript.
 */
import {rmSync} from 'node:fs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {Worker} from 'node:worker_threads'

import {afterAll, describe, expect, it} from 'vitest'

import {readPerfLog} from '../../src/perf/reader.js'
import {root} from '../helpers/index.js'
import {tempDir} from './helpers.js'

const dir = tempDir()
afterAll(() => rmSync(dir, {recursive: true, force: true}))

const FRAME_LOOP = `
const {parentPort, workerData} = require('node:worker_threads')
;(async () => {
  const {PerfLogWriter} = await import(workerData.writer)
  const {syntheticHeader, syntheticRecords} = await import(workerData.synthetic)
  const w = PerfLogWriter.open(workerData.path, syntheticHeader())
  const gen = syntheticRecords({seed: 5})
  const sleeper = new Int32Array(new SharedArrayBuffer(4))
  const fps = 240
  const frames = workerData.frames
  const t0 = performance.now()
  let appendMax = 0
  let mid
  for (let i = 0; i < frames; i++) {
    const r = gen.next().value
    const a = performance.now()
    w.append(r)
    appendMax = Math.max(appendMax, performance.now() - a)
    if (i === frames - 1) mid = w.stats()
    // a blocking sleep to the next absolute deadline: this loop never yields to its event loop
    const wait = t0 + ((i + 1) * 1000) / fps - performance.now()
    if (wait > 0) Atomics.wait(sleeper, 0, 0, wait)
  }
  w.closeSync()
  parentPort.postMessage({mid, end: w.stats(), appendMaxMs: appendMax})
})()
`

describe('PerfLogWriter in a worker whose frame loop never yields', () => {
  it('gets every record to disk while the loop runs, and closeSync() flushes the rest', async () => {
    const path = join(dir, 'worker.perf')
    const frames = 360 // 1.5 s at 240 fps
    const worker = new Worker(FRAME_LOOP, {
      eval: true,
      workerData: {
        path,
        frames,
        writer: pathToFileURL(join(root, 'dist/src/perf/writer.js')).href,
        synthetic: pathToFileURL(join(root, 'dist/src/perf/synthetic.js')).href,
      },
    })
    const result = await new Promise<{mid: any; end: any; appendMaxMs: number}>((resolve, reject) => {
      worker.once('message', resolve)
      worker.once('error', reject)
    })
    await worker.terminate()
    // while the loop ran without ever yielding, the writer thread kept writing (batch wakes
    // every 240 records, its own 250 ms interval otherwise): well over half was on disk already
    expect(result.mid.records).toBe(frames)
    expect(result.mid.recordsWritten).toBeGreaterThanOrEqual(frames / 2)
    expect(result.end).toMatchObject({records: frames, recordsWritten: frames, pending: 0, droppedRecords: 0})
    expect(result.end.error).toBeUndefined()
    const indices: number[] = []
    const summary = readPerfLog(path, (r) => indices.push(r.frameIndex))
    expect(summary).toMatchObject({records: frames, corruptRecords: 0, tailBytes: 0})
    expect(indices).toEqual([...Array(frames).keys()])
  })
})
