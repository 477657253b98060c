/**
 * Which codecs `lumen serve` offers: H.264 always, HEVC only when its encoder keeps up (a short
 * libx265 calibration at the common modes in `auto`) or when --codecs says so; the start line
 * says which and why, and serverinfo's ServerCodecModeSupport matches it.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {chooseCodecs, parseCodecsSetting} from '../../src/media/stream/codecs.js'
import {createClientIdentity, MoonlightTestClient} from '../client/client.js'
import {hasEncoder} from '../../src/native/core.js'
import {lumen} from '../helpers/index.js'
import {startServeCli} from './processes.js'

describe('codec choice', () => {
  it('--codecs parses format lists: H.264 always, a HEVC variant brings HEVC, unknown names are refused with the list', () => {
    expect(parseCodecsSetting('auto')).toBe('auto')
    expect(parseCodecsSetting('h264')).toEqual(['h264'])
    expect(parseCodecsSetting('hevc-main10')).toEqual(['h264', 'hevc', 'hevc-main10'])
    expect(parseCodecsSetting('h264-444, hevc')).toEqual(['h264', 'h264-444', 'hevc'])
    expect(parseCodecsSetting('av1')).toEqual(['h264', 'av1'])
    expect(() => parseCodecsSetting('h264,av2')).toThrow(/expected auto, or a comma list of h264, h264-444, hevc, hevc-main10, hevc-444, hevc-444-10, av1/)
  })

  it('serve --codecs with an unknown format: exit 2 and the list of formats, before anything listens', () => {
    const r = lumen(['serve', '--codecs', 'h264,av2'])
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/--codecs: 'h264,av2': expected auto, or a comma list of h264, h264-444, hevc, hevc-main10, hevc-444, hevc-444-10, av1/)
  })

  it('a list decides without calibrating; every listed format that opens here is offered, with its ServerCodecModeSupport bit', () => {
    expect(chooseCodecs(['h264'], 'libx265')).toMatchObject({modeSupport: 0x0001, offered: ['h264'], calibration: []})
    expect(chooseCodecs(['h264', 'hevc'], 'libx265')).toMatchObject({modeSupport: 0x0101, offered: ['h264', 'hevc'], calibration: []})
    // http-and-pairing.md §5.2: H.264 0x1, HEVC Main 0x100, Main10 0x200, H.264 4:4:4 0x40000, HEVC RExt 4:4:4 8-bit 0x80000, 10-bit 0x100000
    const all = chooseCodecs(parseCodecsSetting('h264-444,hevc-main10,hevc-444,hevc-444-10'), 'libx265')
    expect(all.offered).toEqual(['h264', 'h264-444', 'hevc', 'hevc-main10', 'hevc-444', 'hevc-444-10'])
    expect(all.modeSupport).toBe(0x1 | 0x40000 | 0x100 | 0x200 | 0x80000 | 0x100000)
  })

  it.skipIf(!hasEncoder('libaom-av1'))('AV1 by --codecs: the AV1 Main 8-bit bit (0x10000) when libaom-av1 opens; a probe that refuses it leaves H.264 with the reason', () => {
    expect(chooseCodecs(parseCodecsSetting('av1'), 'libx265')).toMatchObject({modeSupport: 0x1 | 0x10000, offered: ['h264', 'av1']})
    const probe = (encoder: string): void => {
      if (encoder === 'libaom-av1') throw new Error('libaom-av1: this libavcodec was built without that encoder')
    }
    const c = chooseCodecs(parseCodecsSetting('av1'), 'libx265', {probe})
    expect(c).toMatchObject({modeSupport: 0x1, offered: ['h264']})
    expect(c.reason).toContain('not offered: AV1 (libaom-av1: this libavcodec was built without that encoder)')
  })

  it('an encoder that does not open here is not offered: hevc_nvenc without an NVIDIA GPU takes every HEVC bit away, with the reason', () => {
    const c = chooseCodecs(parseCodecsSetting('hevc-main10'), 'hevc_nvenc')
    if (c.offered.includes('hevc')) return // a box with NVENC: nothing to disable
    expect(c.modeSupport).toBe(0x0001)
    expect(c.reason).toMatch(/not offered: HEVC \(hevc_nvenc: .*\); HEVC Main10 \(no HEVC\)/)
  })

  it('a libx265 built without 10 bits (a probe that refuses 10-bit, as the shim does for such a build): Main10 and 4:4:4 10-bit are absent, the rest stays', () => {
    const probe = (_: string, _chroma: string, depth: number): void => {
      if (depth === 10) throw new Error('libx265: this build of the encoder cannot take yuv420p10le')
    }
    const c = chooseCodecs(parseCodecsSetting('h264-444,hevc-main10,hevc-444,hevc-444-10'), 'libx265', {probe})
    expect(c.offered).toEqual(['h264', 'h264-444', 'hevc', 'hevc-444'])
    expect(c.modeSupport & 0x200).toBe(0)
    expect(c.modeSupport & 0x100000).toBe(0)
    expect(c.reason).toContain('HEVC Main10 (libx265: this build of the encoder cannot take yuv420p10le)')
  })

  it('auto calibrates libx265 at 1280x720@60 first (budget 85 % of 16.7 ms) and offers HEVC only when every mode it measured keeps up', () => {
    const said: string[] = []
    const c = chooseCodecs('auto', 'libx265', (m) => said.push(m))
    expect(said.some((m) => /calibrating libx265 HEVC at/.test(m))).toBe(true)
    const hevc = c.calibration.filter((k) => k.format === 'hevc')
    expect(hevc[0]).toMatchObject({encoder: 'libx265', mode: '1280x720@60', budgetMs: 14.2})
    for (const k of c.calibration) expect(k.keepsUp).toBe(k.p90Ms <= k.budgetMs)
    const all = hevc.length === 2 && hevc.every((k) => k.keepsUp)
    expect(c.offered.includes('hevc')).toBe(all)
    expect((c.modeSupport & 0x100) !== 0).toBe(all)
    // a HEVC variant is never offered without HEVC Main, and H.264 4:4:4 only when its calibration kept up
    if (!all) expect(c.offered.filter((f) => f.startsWith('hevc'))).toEqual([])
    const h444 = c.calibration.filter((k) => k.format === 'h264-444')
    expect(c.offered.includes('h264-444')).toBe(h444.length === 2 && h444.every((k) => k.keepsUp))
    process.stderr.write(`calibration: ${c.reason}\n`)
    if (!all) expect(c.reason).toContain(`HEVC (libx265 ${hevc.at(-1)!.p90Ms} ms a frame at ${hevc.at(-1)!.mode}`)
  }, 120_000)

  it('serve --codecs h264: the start line says so and serverinfo offers H.264 only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lumen-codecs-'))
    const serve = await startServeCli(['--source', 'synthetic', '--audio', 'off', '--codecs', 'h264', '--config-dir', join(dir, 'config')])
    try {
      expect(serve.stderr()).toMatch(/lumen serve: HTTP .*send at ready.*; codecs: H\.264 only \(--codecs h264\)/)
      const client = new MoonlightTestClient({host: '127.0.0.1', httpPort: serve.base, identity: await createClientIdentity()})
      const info = await client.serverInfo()
      expect(info.get('ServerCodecModeSupport')).toBe('1')
    } finally {
      expect(await serve.stop()).toBe(0)
      rmSync(dir, {recursive: true, force: true})
    }
  }, 60_000)

  it('serve --codecs h264-444,hevc-main10: serverinfo carries exactly those bits; with --encoder hevc_nvenc where no NVENC opens, every HEVC bit is gone and the start line says why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lumen-codecs-'))
    const mask = async (args: string[]): Promise<{bits: number; line: string}> => {
      const serve = await startServeCli(['--source', 'synthetic', '--audio', 'off', '--config-dir', join(dir, 'config'), ...args])
      try {
        const client = new MoonlightTestClient({host: '127.0.0.1', httpPort: serve.base, identity: await createClientIdentity()})
        const info = await client.serverInfo()
        return {bits: Number(info.get('ServerCodecModeSupport')), line: serve.stderr()}
      } finally {
        expect(await serve.stop()).toBe(0)
      }
    }
    try {
      // http-and-pairing.md §5.2: H.264 0x1, HEVC Main 0x100, Main10 0x200, H.264 High 4:4:4 0x40000
      const sw = await mask(['--codecs', 'h264-444,hevc-main10'])
      expect(sw.bits).toBe(0x1 | 0x100 | 0x200 | 0x40000)
      expect(sw.line).toMatch(/codecs: H\.264, H\.264 4:4:4, HEVC, HEVC Main10 \(--codecs h264,h264-444,hevc,hevc-main10\)/)
      const nv = await mask(['--codecs', 'h264-444,hevc-main10', '--encoder', 'hevc_nvenc'])
      if ((nv.bits & 0x100) === 0) {
        expect(nv.bits).toBe(0x1 | 0x40000)
        expect(nv.line).toMatch(/not offered: HEVC \(hevc_nvenc: .+\); HEVC Main10 \(no HEVC\)/)
      }
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  }, 90_000)
})
