/**
 * The shim's Reed-Solomon code against test/fixtures/vectors/fec/rs_cases.json (made with the
 * Moonlight client's own nanors code), for every kernel level this CPU can run, plus property
 * tests of the decoder: every erasure pattern of up to m shards for random (k, m).
 */
import {spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {join} from 'node:path'

import {afterAll, describe, expect, it} from 'vitest'

import {shimPath} from '../../src/native/library.js'
import {RsBlocks, rsDecode, rsEncode, rsLevels, rsParityMatrix, rsSetLevel, type RsMatrixKind} from '../../src/native/fec.js'
import {Rng, XorShift32} from '../../src/sim/random.js'
import {loadVectors, type RsCase} from './vectors.js'

const {cases} = loadVectors<{cases: RsCase[]}>('rs_cases')
const {available} = rsLevels()

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** Data shards 0..k-1 then m parity slots, contiguous, shard i at i*S. */
function blockFor(c: RsCase): Buffer {
  const buf = Buffer.alloc((c.k + c.m) * c.shard_size)
  new XorShift32(c.seed).fill(buf.subarray(0, c.k * c.shard_size))
  return buf
}

function encodeContiguous(buf: Buffer, k: number, m: number, s: number, matrix: RsMatrixKind): void {
  const blocks = new RsBlocks(1)
  blocks.add(0, s, k * s, s, k, m)
  expect(rsEncode(buf, s, matrix, blocks)).toBe(m)
}

afterAll(() => rsSetLevel('auto'))

describe('GF(2^8) and the matrices', () => {
  it('lists the scalar level first, the active level among those listed', () => {
    expect(available[0]).toBe('scalar')
    expect(available).toContain(rsLevels().active)
  })

  it('Cauchy rows match docs/protocol/fec.md §3 and every vector case', () => {
    expect(rsParityMatrix(4, 2, 'cauchy').toString('hex')).toBe('8ef447a7f48ea747')
    expect(rsParityMatrix(1, 2, 'cauchy').toString('hex')).toBe('8ef4')
    for (const c of cases) {
      const rows = rsParityMatrix(c.k, c.m, c.parity_matrix === 'audio' ? 'audio' : 'cauchy')
      expect(rows.toString('hex'), c.name).toBe(c.parity_matrix_rows_hex.join(''))
    }
  })

  it('the audio matrix is the fixed table of docs/protocol/fec.md §4', () => {
    expect(rsParityMatrix(4, 2, 'audio').toString('hex')).toBe('7740380ec7a70d6c')
  })
})

for (const level of available) {
  describe(`level ${level}`, () => {
    for (const c of cases) {
      it(`${c.name}: parity and both recorded erasure patterns`, () => {
        rsSetLevel(level)
        expect(rsLevels().active).toBe(level)
        const matrix: RsMatrixKind = c.parity_matrix === 'audio' ? 'audio' : 'cauchy'
        const S = c.shard_size
        const buf = blockFor(c)
        expect(buf.subarray(0, Math.min(32, S)).toString('hex')).toBe(c.data_shard0_first_bytes_hex)
        expect(sha(buf.subarray(0, c.k * S))).toBe(c.data_sha256)
        encodeContiguous(buf, c.k, c.m, S, matrix)
        const parity = buf.subarray(c.k * S)
        expect(sha(parity)).toBe(c.parity_sha256)
        if (c.parity_hex !== undefined)
          for (let j = 0; j < c.m; j++) expect(parity.subarray(j * S, (j + 1) * S).toString('hex')).toBe(c.parity_hex[j])
        const original = Buffer.from(buf)
        for (const r of c.recovery) {
          const damaged = Buffer.from(original)
          const present = Buffer.alloc(c.k + c.m, 1)
          for (const s of r.erased_shards) {
            present[s] = 0
            damaged.fill(0xa5, s * S, (s + 1) * S)
          }
          const rebuilt = rsDecode(damaged, {offset: 0, stride: S, shardSize: S, k: c.k, m: c.m, matrix}, present)
          expect(rebuilt).toBe(r.erased_shards.filter((s) => s < c.k).length)
          expect(damaged.equals(original), `${c.name} ${r.pattern}`).toBe(true)
        }
      })
    }

    it('encodes several blocks at strides inside one buffer (the packetizer layout)', () => {
      rsSetLevel(level)
      // two blocks of 1408-byte shards in 1440-byte slots, 32 bytes in
      const S = 1408
      const T = 1440
      const k0 = 7
      const m0 = 2
      const k1 = 5
      const m1 = 3
      const buf = Buffer.alloc((k0 + m0 + k1 + m1) * T)
      const gen = new XorShift32(99)
      for (let s = 0; s < k0 + m0 + k1 + m1; s++) gen.fill(buf.subarray(s * T, s * T + T))
      const blocks = new RsBlocks(2)
      blocks.add(32, T, 32 + k0 * T, T, k0, m0)
      const b1 = (k0 + m0) * T + 32
      blocks.add(b1, T, b1 + k1 * T, T, k1, m1)
      expect(rsEncode(buf, S, 'cauchy', blocks)).toBe(m0 + m1)
      // the same blocks encoded contiguously
      for (const [base, k, m] of [
        [32, k0, m0],
        [b1, k1, m1],
      ]) {
        const ref = Buffer.alloc((k + m) * S)
        for (let i = 0; i < k; i++) buf.copy(ref, i * S, base + i * T, base + i * T + S)
        encodeContiguous(ref, k, m, S, 'cauchy')
        for (let j = 0; j < m; j++) {
          const at = base + (k + j) * T
          expect(buf.subarray(at, at + S).equals(ref.subarray((k + j) * S, (k + j + 1) * S))).toBe(true)
        }
      }
    })
  })
}

describe('decoder properties', () => {
  /** Every subset of {0..n-1} with exactly e members. */
  function* subsets(n: number, e: number, start = 0, acc: number[] = []): Generator<number[]> {
    if (acc.length === e) {
      yield acc
      return
    }
    for (let i = start; i <= n - (e - acc.length); i++) yield* subsets(n, e, i + 1, [...acc, i])
  }

  const rng = new Rng(2024)
  const shapes: [number, number][] = [
    [1, 2],
    [3, 2],
    [4, 2],
    [10, 2],
    [5, 4],
  ]
  for (let t = 0; t < 4; t++) {
    const k = rng.int(2, 30)
    const m = rng.int(1, 4)
    shapes.push([k, m])
  }
  const lengths = [16, 60, 100, 1408]

  for (const level of available) {
    it(`${level}: every erasure pattern of up to m shards rebuilds the block (${shapes.map(([k, m]) => `${k}+${m}`).join(', ')})`, () => {
      rsSetLevel(level)
      let patterns = 0
      for (const [k, m] of shapes) {
        const S = lengths[(k + m) % lengths.length]
        const orig = Buffer.alloc((k + m) * S)
        new XorShift32(k * 1000 + m).fill(orig.subarray(0, k * S))
        encodeContiguous(orig, k, m, S, 'cauchy')
        const work = Buffer.alloc(orig.length)
        const present = Buffer.alloc(k + m)
        for (let e = 1; e <= m; e++) {
          for (const erased of subsets(k + m, e)) {
            orig.copy(work)
            present.fill(1)
            for (const s of erased) {
              present[s] = 0
              work.fill(0, s * S, (s + 1) * S)
            }
            rsDecode(work, {offset: 0, stride: S, shardSize: S, k, m, matrix: 'cauchy'}, present)
            if (!work.equals(orig)) throw new Error(`${level} k=${k} m=${m} S=${S}: erasing ${erased.join(',')} did not rebuild`)
            patterns++
          }
        }
      }
      expect(patterns).toBeGreaterThan(1000)
    })
  }

  it.each(available)('%s: large blocks (k + m = 255) rebuild from random erasures of m shards', (level) => {
    rsSetLevel(level)
    for (const [k, m] of [
      [212, 43],
      [128, 127],
      [250, 5],
    ]) {
      const S = 64 + k % 37 // odd tails too
      const orig = Buffer.alloc((k + m) * S)
      new XorShift32(k).fill(orig.subarray(0, k * S))
      encodeContiguous(orig, k, m, S, 'cauchy')
      for (let trial = 0; trial < 3; trial++) {
        const work = Buffer.from(orig)
        const present = Buffer.alloc(k + m, 1)
        const idx = [...Array(k + m).keys()]
        for (let i = 0; i < m; i++) {
          const j = i + rng.int(0, k + m - 1 - i)
          ;[idx[i], idx[j]] = [idx[j], idx[i]]
          present[idx[i]] = 0
          work.fill(0xff, idx[i] * S, (idx[i] + 1) * S)
        }
        rsDecode(work, {offset: 0, stride: S, shardSize: S, k, m, matrix: 'cauchy'}, present)
        expect(work.equals(orig), `k=${k} m=${m}`).toBe(true)
      }
    }
  })

  it('audio 4+2: every pair of lost shards rebuilds', () => {
    const S = 64
    const orig = Buffer.alloc(6 * S)
    new XorShift32(5).fill(orig.subarray(0, 4 * S))
    encodeContiguous(orig, 4, 2, S, 'audio')
    for (const erased of subsets(6, 2)) {
      const work = Buffer.from(orig)
      const present = Buffer.alloc(6, 1)
      for (const s of erased) {
        present[s] = 0
        work.fill(0, s * S, (s + 1) * S)
      }
      rsDecode(work, {offset: 0, stride: S, shardSize: S, k: 4, m: 2, matrix: 'audio'}, present)
      expect(work.equals(orig), erased.join(',')).toBe(true)
    }
  })
})

describe('LUMEN_RS_ISA', () => {
  /** The level the shim picks at load time in a fresh process with this environment. */
  function activeAtLoad(env: string | undefined): string {
    const script = `const {open, load, DataType} = require('ffi-rs'); open({library: 'l', path: ${JSON.stringify(shimPath())}});
      const b = Buffer.alloc(64); load({library: 'l', funcName: 'lumen_rs_isa_active', retType: DataType.I32, paramsType: [DataType.U8Array, DataType.I32], paramsValue: [b, 64]});
      process.stdout.write(b.toString('utf8', 0, b.indexOf(0)))`
    const e = {...process.env}
    delete e.LUMEN_RS_ISA
    if (env !== undefined) e.LUMEN_RS_ISA = env
    const r = spawnSync(process.execPath, ['-e', script], {env: e, encoding: 'utf8', cwd: join(import.meta.dirname, '..', '..')})
    expect(r.status, r.stderr).toBe(0)
    return r.stdout
  }

  it('picks the best level by default and each level the CPU has when asked', () => {
    expect(activeAtLoad(undefined)).toBe(available[available.length - 1])
    for (const level of available) expect(activeAtLoad(level)).toBe(level)
  })

  it('keeps the best level for an unknown name (the wrapper then reports it)', () => {
    expect(activeAtLoad('sse9')).toBe(available[available.length - 1])
  })
})

describe('bad input', () => {
  it('rejects k + m > 255, a lost block and a buffer too small, with a sentence', () => {
    const blocks = new RsBlocks(1)
    blocks.add(0, 10, 0, 10, 200, 56)
    expect(() => rsEncode(Buffer.alloc(10), 10, 'cauchy', blocks)).toThrow(/k \+ m <= 255/)
    const small = new RsBlocks(1)
    small.add(0, 100, 400, 100, 4, 2)
    expect(() => rsEncode(Buffer.alloc(500), 100, 'cauchy', small)).toThrow(/does not fit/)
    const present = Buffer.from([1, 0, 0, 0, 1])
    expect(() => rsDecode(Buffer.alloc(50), {offset: 0, stride: 10, shardSize: 10, k: 3, m: 2, matrix: 'cauchy'}, present)).toThrow(
      /only 2 of the 3 shards/,
    )
    expect(() => rsSetLevel('nope' as never)).toThrow(/unknown Reed-Solomon level/)
  })
})
