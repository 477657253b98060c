/** apps.json checked entry by entry: a bad entry is reported with its index and field and left out, the others load. */
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, describe, expect, it} from 'vitest'

import {HostStore, StoreCorruptError} from '../../src/host/store.js'

const root = mkdtempSync(join(tmpdir(), 'lumen-apps-check-'))
afterAll(() => rmSync(root, {recursive: true, force: true}))

function storeDir(name: string, apps: unknown): string {
  const dir = join(root, name)
  mkdirSync(dir)
  writeFileSync(join(dir, 'apps.json'), JSON.stringify(apps))
  return dir
}

describe('apps.json entries', () => {
  it('keeps the good entries and names each bad one by index and field', async () => {
    const art = join(root, 'art.png')
    writeFileSync(art, Buffer.from('89504e470d0a1a0a', 'hex'))
    const dir = storeDir('mixed', [
      {id: 1, title: 'Desktop', image: art},
      {id: 2, title: 'No art', image: join(root, 'missing.png')},
      {id: 3, title: 'Game', cmd: 'true', 'working-dir': root, hdr: false},
      {id: 4, title: 'Nowhere', cmd: 'true', 'working-dir': 'relative/dir'},
      {id: 5, title: 'Typo', comand: 'true'},
      {id: 3, title: 'Twin'},
      {title: 'No id'},
      'just a string',
    ])
    const store = await HostStore.open(dir)
    expect(store.apps().map((a) => a.id)).toEqual([1, 3])
    expect(store.app(3)).toMatchObject({cmd: 'true', workingDir: root})
    expect(store.appProblems).toEqual([
      `app 1 ("No art"): "image" is ${JSON.stringify(join(root, 'missing.png'))}; allowed: the absolute path of a PNG file`,
      'app 3 ("Nowhere"): "working-dir" is "relative/dir"; allowed: the absolute path of a folder',
      'app 4 ("Typo"): "comand" is not a field; the fields are id, title, cmd, working-dir, image, hdr, prep-cmd',
      'app 5 ("Twin"): "id" 3 appears twice',
      'app 6 ("No id"): "id" is missing; allowed: an integer from 1 to 2147483647, unique',
      'app 7: not an object',
    ])
  })

  it('prep-cmd: a list of {do, undo} steps; a step with another key, no command, or a list of 17 is named', async () => {
    const steps = (n: number) => Array.from({length: n}, (_, i) => ({do: `echo ${i}`}))
    const dir = storeDir('prep', [
      {id: 1, title: 'Desktop', 'prep-cmd': [{do: 'xrandr --output X --mode 1280x720', undo: 'xrandr --output X --auto'}, {undo: 'true'}]},
      {id: 2, title: 'Typo', 'prep-cmd': [{do: 'true', udno: 'true'}]},
      {id: 3, title: 'Empty', 'prep-cmd': [{}]},
      {id: 4, title: 'Long', 'prep-cmd': steps(17)},
      {id: 5, title: 'Not a list', 'prep-cmd': 'true'},
      {id: 6, title: 'Sixteen', 'prep-cmd': steps(16)},
    ])
    const store = await HostStore.open(dir)
    expect(store.apps().map((a) => a.id)).toEqual([1, 6])
    expect(store.app(1)?.prep).toEqual([{do: 'xrandr --output X --mode 1280x720', undo: 'xrandr --output X --auto'}, {undo: 'true'}])
    const allowed = 'allowed: a list of at most 16 steps {"do": command, "undo": command} (either may be left out, not both; commands of at most 4096 characters)'
    expect(store.appProblems).toEqual([
      `app 1 ("Typo"): "prep-cmd" is [{"do":"true","udno":"true"}]; ${allowed}`,
      `app 2 ("Empty"): "prep-cmd" is [{}]; ${allowed}`,
      `app 3 ("Long"): "prep-cmd" is ${JSON.stringify(steps(17))}; ${allowed}`,
      `app 4 ("Not a list"): "prep-cmd" is "true"; ${allowed}`,
    ])
  })

  it('a file with no usable app stops the host, naming the problems', async () => {
    const dir = storeDir('none', [{id: 0, title: 'Zero'}])
    await expect(HostStore.open(dir)).rejects.toThrow(StoreCorruptError)
    await expect(HostStore.open(dir)).rejects.toThrow(/no app in it can be used: app 0 \("Zero"\): "id" is 0/)
  })
})
