import {describe, expect, it} from 'vitest'

import {parseBitrateKbps} from '../../src/cli/bitrate.js'

describe('the one bitrate syntax', () => {
  // kbit/s worked out by hand from the unit each text names
  const good: Array<[string, number]> = [
    ['20000', 20_000],
    ['20000k', 20_000],
    ['20000K', 20_000],
    ['20M', 20_000],
    ['20m', 20_000],
    ['20Mbps', 20_000],
    ['20 Mbit/s', 20_000],
    ['20Mb', 20_000],
    ['2.5M', 2_500],
    ['.5M', 500],
    ['1G', 1_000_000],
    ['96kbps', 96],
    [' 8M ', 8_000],
    ['0', 0],
  ]
  for (const [text, kbps] of good) {
    it(`reads '${text}' as ${kbps} kbit/s`, () => expect(parseBitrateKbps(text)).toBe(kbps))
  }

  it('reads a bare number as kbit/s, the unit Moonlight itself uses, not Mbit/s', () => {
    expect(parseBitrateKbps('20')).toBe(20)
    expect(parseBitrateKbps('20')).toBe(parseBitrateKbps('20k'))
  })

  const bad = ['', 'fast', '20 M M', '-5M', '20MB', '20Mbytes', '20bps', '20T', '1e3', 'M', '20,5M']
  for (const text of bad) {
    it(`refuses '${text}'`, () => expect(parseBitrateKbps(text)).toBeUndefined())
  }
})
