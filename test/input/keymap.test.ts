/**
 * Walks the keyboard table row by row against the system's own headers: the Linux key codes
 * from <linux/input-event-codes.h>, the X keysyms from <X11/keysymdef.h> and <X11/XF86keysym.h>.
 */
import {readFileSync} from 'node:fs'

import {describe, expect, it} from 'vitest'

import {KEYMAP, keyForVk} from '../../src/input/keymap.js'

function defines(path: string, prefix: RegExp): Map<string, number> {
  const raw = new Map<string, string>()
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^#define\s+(\w+)\s+(\S+)/.exec(line)
    if (m !== null && prefix.test(m[1])) raw.set(m[1], m[2])
  }
  const out = new Map<string, number>()
  const resolve = (name: string, depth = 0): number | undefined => {
    const v = raw.get(name)
    if (v === undefined || depth > 4) return undefined
    if (/^(0x[0-9a-f]+|\d+)$/i.test(v)) return Number(v)
    const m = /^_EVDEVK\((0x[0-9a-f]+)\)$/i.exec(v)
    if (m !== null) return 0x10081000 + Number(m[1])
    return resolve(v, depth + 1)
  }
  for (const name of raw.keys()) {
    const v = resolve(name)
    if (v !== undefined) out.set(name, v)
  }
  return out
}

const linux = defines('/usr/include/linux/input-event-codes.h', /^KEY_/)
const keysyms = new Map([...defines('/usr/include/X11/keysymdef.h', /^XK_/), ...defines('/usr/include/X11/XF86keysym.h', /^XF86XK_/)])

describe('the keyboard table matches the system headers', () => {
  it('parsed the headers', () => {
    expect(linux.get('KEY_ESC')).toBe(1)
    expect(keysyms.get('XK_Escape')).toBe(0xff1b)
  })
  for (const row of KEYMAP) {
    it(`VK_${row.name} (0x${row.vk.toString(16)}) → ${row.linuxName}, ${row.keysymName}`, () => {
      expect(linux.get(row.linuxName), `${row.linuxName} in input-event-codes.h`).toBe(row.linux)
      expect(keysyms.get(row.keysymName), `${row.keysymName} in the keysym headers`).toBe(row.keysym)
    })
  }
  it('one row per virtual-key code', () => {
    expect(new Set(KEYMAP.map((r) => r.vk)).size).toBe(KEYMAP.length)
  })
  it('covers the groups a client sends', () => {
    const vks = [
      ...Array.from({length: 26}, (_, i) => 0x41 + i), // letters
      ...Array.from({length: 10}, (_, i) => 0x30 + i), // digits
      ...Array.from({length: 24}, (_, i) => 0x70 + i), // F1–F24
      ...Array.from({length: 16}, (_, i) => 0x60 + i), // numpad
      0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x2d, 0x2e, // navigation
      0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0x5b, 0x5c, // left/right modifiers
      0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xa6, 0xa7, 0xa8, 0xac, // media, browser
      0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf, 0xc0, 0xdb, 0xdc, 0xdd, 0xde, 0xe2, // OEM
      0x15, 0x19, 0x1c, 0x1d, 0xf3, 0xf4, // international
    ]
    expect(vks.filter((vk) => keyForVk(vk) === undefined).map((vk) => vk.toString(16))).toEqual([])
  })
})
