/**
 * `lumen fec-sim` as a person runs it: the built CLI (bin/run.js → dist/) in a child process.
 */
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, describe, expect, it} from 'vitest'

import {lumen as run} from '../helpers/index.js'

const dir = mkdtempSync(join(tmpdir(), 'lumen-fec-sim-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

const lumen = (args: string[]) => run(['fec-sim', ...args])

describe('lumen fec-sim', () => {
  it('--json: one object with the documented counts, consistent with each other', () => {
    const r = lumen(['--frames', '600', '--loss', '0.05', '--frame-bytes', '20000', '--json'])
    expect(r.status, r.stderr).toBe(0)
    const o = JSON.parse(r.stdout)
    for (const k of ['framesSent', 'framesRebuilt', 'framesLost', 'packetsSent', 'packetsLost', 'residualFrameLoss', 'longestLossBurst', 'framesUndecodable'])
      expect(o, k).toHaveProperty(k)
    expect(o.framesSent).toBe(600)
    // 20,000-byte frames are 15 data + 3 parity packets
    expect(o.packetsSent).toBe(600 * 18)
    expect(o.framesIntact + o.framesRebuilt + o.framesLost).toBe(600)
    expect(o.residualFrameLoss).toBeCloseTo(o.framesLost / 600, 12)
    expect(o.corruptDeliveries).toBe(0)
  })

  it('--bitrate reads a bare number as kbit/s, like every command: 20000 is the stream 20M is, 20 a far smaller one', () => {
    const run = (rate: string) => {
      const r = lumen(['--frames', '120', '--loss', '0', '--bitrate', rate, '--seed', '7', '--json'])
      expect(r.status, r.stderr).toBe(0)
      return JSON.parse(r.stdout) as {packetsSent: number}
    }
    const mega = run('20M')
    expect(run('20000')).toEqual(mega)
    expect(run('20Mbps')).toEqual(mega)
    // 20 kbit/s at 60 fps is about 42 bytes a frame: one data packet each, plus parity
    expect(run('20').packetsSent).toBeLessThan(mega.packetsSent / 10)
  })

  it('the table names every figure; --sweep gives one row per loss rate and writes an SVG', () => {
    const t = lumen(['--frames', '300'])
    expect(t.status, t.stderr).toBe(0)
    for (const label of ['frames sent', 'rebuilt from parity', 'lost', 'residual frame loss', 'packets lost', 'longest loss burst', 'undecodable until IDR'])
      expect(t.stdout).toContain(label)
    const svg = join(dir, 'sweep.svg')
    const r = lumen(['--frames', '200', '--sweep', '0:0.1:0.05', '--svg', svg, '--json'])
    expect(r.status, r.stderr).toBe(0)
    const o = JSON.parse(r.stdout)
    expect(o.rows.map((x: {loss: number}) => x.loss)).toEqual([0, 0.05, 0.1])
    expect(o.rows[0].packetsLost).toBe(0)
    expect(o.rows[0].framesLost).toBe(0)
    expect(o.rows[2].packetsLost).toBeGreaterThan(0)
    const text = readFileSync(svg, 'utf8')
    expect(text.startsWith('<svg')).toBe(true)
    expect(text).toContain('Residual frame loss vs link packet loss')
    expect(text).toContain('binomial expectation')
  })

  it('Gilbert–Elliott and trace models run; the trace drives exactly the packets it says', () => {
    const ge = lumen(['--frames', '300', '--model', 'ge', '--p-gb', '0.02', '--p-bg', '0.2', '--loss-bad', '0.8', '--json'])
    expect(ge.status, ge.stderr).toBe(0)
    expect(JSON.parse(ge.stdout).longestLossBurst).toBeGreaterThan(2)
    const trace = join(dir, 'loss.txt')
    writeFileSync(trace, '# lose the 2nd of every 5 packets\n0 1 0 0 0\n')
    const tr = lumen(['--frames', '100', '--frame-bytes', '3000', '--trace', trace, '--json'])
    expect(tr.status, tr.stderr).toBe(0)
    const o = JSON.parse(tr.stdout)
    expect([o.packetsSent, o.packetsLost, o.framesLost, o.framesRebuilt]).toEqual([500, 100, 0, 100])
  })

  it('rejects impossible parameters with one line and exit status 2', () => {
    const bad = join(dir, 'bad.txt')
    writeFileSync(bad, '0 1\n0 x\n')
    const cases: [string[], RegExp][] = [
      [['--loss', '1.5'], /--loss is a probability in \[0, 1\]/],
      [['--loss', '-0.1'], /--loss is a probability/],
      [['--packet-size', '16'], /packet size 16 is impossible/],
      [['--packet-size', '1000'], /multiple of 16/],
      [['--min-parity', '100', '--frames', '10'], /k \+ m must be ≤ 255/],
      [['--fec-percent', '300'], /--fec-percent must be at most 255/],
      [['--trace', bad], /line 2: 'x' is not a 0\/1 packet entry/],
      [['--trace', join(dir, 'missing.txt')], /cannot read the trace/],
      [['--sweep', '0:0.1'], /--sweep expects FROM:TO:STEP/],
      [['--model', 'ge', '--p-bg', '7'], /--p-bg is a probability/],
      [['--frames', '0'], /--frames must be at least 1/],
    ]
    for (const [args, msg] of cases) {
      const r = lumen(args)
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2)
      expect(r.stderr, args.join(' ')).toMatch(msg)
      expect(r.stderr, args.join(' ')).not.toMatch(/\n\s+at /) // no stack trace
      expect(r.stdout).toBe('')
    }
  })
})
