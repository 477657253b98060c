/**
 * Which codecs `lumen serve` offers: H.264 always, HEVC only when its encoder keeps up (a short
 * libx265 calibration at the common modes in `auto`) or when --codecs says so; the start line
 * says which and why, and serverinfo's ServerCodecModeSupport matches it.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {chooseCodecs} from '../../src/media/stream/codecs.js'
import {createClientIdentity, MoonlightTestClient} from '../client/client.js'
import {startServeCli} from './processes.js'

describe('codec choice', () => {
  it('--codecs h264 and h264,hevc decide without calibrating; a hardware HEVC encoder is offered as is', () => {
    expect(chooseCodecs('h264', 'libx265')).toMatchObject({modeSupport: 0x0001, offered: ['h264'], calibration: []})
    expect(chooseCodecs('h264,hevc', 'libx265')).toMatchObject({modeSupport: 0x0101, offered: ['h264', 'hevc'], calibration: []})
    expect(chooseCodecs('auto', 'hevc_nvenc')).toMatchObject({modeSupport: 0x0101, calibration: []})
  })

  it('auto calibrates libx265 at 1280x720@60 first (budget 85 % of 16.7 ms) and offers HEVC only when every mode it measured keeps up', () => {
    const said: string[] = []
    const c = chooseCodecs('auto', 'libx265', (m) => said.push(m))
    expect(said[0]).toMatch(/calibrating libx265/)
    expect(c.calibration[0]).toMatchObject({encoder: 'libx265', mode: '1280x720@60', budgetMs: 14.2})
    for (const k of c.calibration) expect(k.keepsUp).toBe(k.p90Ms <= k.budgetMs)
    const all = c.calibration.length === 2 && c.calibration.every((k) => k.keepsUp)
    expect(c.offered).toEqual(all ? ['h264', 'hevc'] : ['h264'])
    expect(c.modeSupport).toBe(all ? 0x0101 : 0x0001)
    process.stderr.write(`calibration: ${c.reason}\n`)
    expect(c.reason).toContain(`${c.calibration[0].p90Ms} ms a frame at 1280x720@60`)
  }, 60_000)

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
})
