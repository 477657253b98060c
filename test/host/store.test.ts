/** The identity store: persistent, atomic, and never overwriting what it cannot read. */
import {X509Certificate} from 'node:crypto'
import {mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterEach, describe, expect, it} from 'vitest'

import {atomicWrite, HostStore, StoreCorruptError} from '../../src/host/store.js'
import {createClientIdentity} from '../client/client.js'

const dirs: string[] = []
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'lumen-store-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, {recursive: true, force: true})
})

describe('HostStore', () => {
  it('creates an RSA-2048 SHA-256 self-signed certificate, a uniqueid and the Desktop app, and keeps them', async () => {
    const dir = tmp()
    const a = await HostStore.open(dir)
    const cert = new X509Certificate(a.certPem)
    expect(cert.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048)
    expect(cert.verify(cert.publicKey)).toBe(true)
    expect(cert.subject).toBe(cert.issuer)
    expect(a.apps()).toEqual([{id: 1, title: 'Desktop'}])
    expect(statSync(join(dir, 'host-key.pem')).mode & 0o077).toBe(0)
    const b = await HostStore.open(dir)
    expect(b.certPem).toBe(a.certPem)
    expect(b.uniqueid).toBe(a.uniqueid)
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([])
  })

  it('remembers paired clients across restarts and removes them by fingerprint', async () => {
    const dir = tmp()
    const id = await createClientIdentity()
    const a = await HostStore.open(dir)
    const c = a.addClient(id.certPem, 'phone')
    const der = new X509Certificate(id.certPem).raw
    expect((await HostStore.open(dir)).findClient(der)?.fingerprint).toBe(c.fingerprint)
    expect(a.removeClient(c.fingerprint.slice(0, 12))).toBe(true)
    expect((await HostStore.open(dir)).findClient(der)).toBeUndefined()
  })

  it('reports a corrupt state file with its path and leaves it as it was', async () => {
    const dir = tmp()
    await HostStore.open(dir)
    const state = join(dir, 'state.json')
    writeFileSync(state, '{"version": 1, "uniqueid": "X", "clients": [')
    await expect(HostStore.open(dir)).rejects.toThrow(StoreCorruptError)
    await expect(HostStore.open(dir)).rejects.toThrow(state)
    expect(readFileSync(state, 'utf8')).toBe('{"version": 1, "uniqueid": "X", "clients": [')
  })

  it('reports a bad apps.json, a lone certificate, or a key that does not match', async () => {
    const dir = tmp()
    await HostStore.open(dir)
    writeFileSync(join(dir, 'apps.json'), '[{"id": 0, "title": "x"}]')
    await expect(HostStore.open(dir)).rejects.toThrow(/apps.json.*"id" is 0; allowed: an integer from 1 to 2147483647/)

    const dir2 = tmp()
    await HostStore.open(dir2)
    rmSync(join(dir2, 'host-key.pem'))
    await expect(HostStore.open(dir2)).rejects.toThrow(/host-key.pem/)

    const dir3 = tmp()
    await HostStore.open(dir3)
    const other = await createClientIdentity()
    writeFileSync(join(dir3, 'host-key.pem'), other.keyPem)
    await expect(HostStore.open(dir3)).rejects.toThrow(/does not match/)
  })

  it('writes atomically: the old content or the new, never a mix; no temporary file left', () => {
    const dir = tmp()
    const p = join(dir, 'f.json')
    atomicWrite(p, 'old')
    atomicWrite(p, 'new content')
    expect(readFileSync(p, 'utf8')).toBe('new content')
    expect(readdirSync(dir)).toEqual(['f.json'])
  })
})
