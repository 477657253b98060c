/**
 * Shim handles carry a generation: a handle kept after its close is refused even when a new
 * object reuses the slot, so a stale socket or send-thread handle can never reach another
 * stream's socket.
 */
import {describe, expect, it} from 'vitest'

import {ErrorBuffer} from '../../src/native/call.js'
import {shim} from '../../src/native/library.js'
import {PacketBatch, Pacer, UdpSocket} from '../../src/native/net.js'

const E_INVALID = -1
const INDEX_BITS = 12 // LUMEN_HANDLE_INDEX_BITS in libs/src/internal.h
const slot = (h: number): number => h & ((1 << INDEX_BITS) - 1)
const lib = () => shim() as unknown as Record<string, (args: unknown[]) => number>

describe('generation-tagged handles', () => {
  it('a closed socket handle is refused after a new socket takes its slot', () => {
    const first = UdpSocket.open('127.0.0.1', 0)
    const stale = first.handle
    first.close()
    const second = UdpSocket.open('127.0.0.1', 0)
    try {
      expect(second.handle).toBeGreaterThan(0)
      expect(slot(second.handle)).toBe(slot(stale)) // the lowest free slot: the one just closed
      expect(second.handle).not.toBe(stale)
      const err = new ErrorBuffer()
      expect(lib().lumen_udp_port([stale, ...err.args()])).toBe(E_INVALID)
      expect(err.text()).toMatch(new RegExp(`no media socket ${stale} \\(closed, or never opened\\)`))
      expect(lib().lumen_udp_set_peer([stale, '127.0.0.1', 9, ...new ErrorBuffer().args()])).toBe(E_INVALID)
      expect(lib().lumen_udp_send([stale, Buffer.from('x'), 1, ...new ErrorBuffer().args()])).toBe(E_INVALID)
      expect(lib().lumen_udp_close([stale])).toBe(E_INVALID)
      // the new socket is untouched by the stale handle's calls
      expect(second.port).toBeGreaterThan(0)
    } finally {
      second.close()
    }
  })

  it('a closed send-thread handle is refused after a new pacer takes its slot, and never sends on the new socket', () => {
    const rx = UdpSocket.open('127.0.0.1', 0)
    const tx = UdpSocket.open('127.0.0.1', 0)
    tx.setPeer('127.0.0.1', rx.port)
    const first = new Pacer(tx, {mode: 'line', spinUs: 0})
    const stale = first.handle
    first.close()
    const second = new Pacer(tx, {mode: 'line', spinUs: 0})
    try {
      expect(slot(second.handle)).toBe(slot(stale))
      expect(second.handle).not.toBe(stale)
      const data = Buffer.alloc(100, 7)
      const lens = Buffer.alloc(4)
      lens.writeInt32LE(100, 0)
      const err = new ErrorBuffer()
      expect(lib().lumen_pacer_submit([stale, 1, 0, 0, data, data.length, lens, lens.length, 1, 100, ...err.args()])).toBe(E_INVALID)
      expect(err.text()).toMatch(/no send thread .* \(closed, or never opened\)/)
      expect(lib().lumen_pacer_close([stale])).toBe(E_INVALID)
      expect(second.drain(1000)).toBe(0)
      expect(second.poll()).toHaveLength(0) // nothing the stale handle queued went out
      expect(tx.stats().sent).toBe(0)
      // the live pacer still sends
      const batch = new PacketBatch(100, 1)
      batch.push(data)
      expect(second.submit(2, 0, 0, batch)).toBe(true)
      expect(second.drain(2000)).toBe(0)
      expect(second.poll().map((r) => r.frameId)).toEqual([2])
    } finally {
      second.close()
      tx.close()
      rx.close()
    }
  })

  it("a send thread whose socket was closed under it reaches no other stream's socket", () => {
    const rx = UdpSocket.open('127.0.0.1', 0)
    const tx = UdpSocket.open('127.0.0.1', 0)
    tx.setPeer('127.0.0.1', rx.port)
    const pacer = new Pacer(tx, {mode: 'line', spinUs: 0})
    tx.close()
    // another stream's socket takes the closed socket's slot
    const other = UdpSocket.open('127.0.0.1', 0)
    other.setPeer('127.0.0.1', rx.port)
    try {
      const batch = new PacketBatch(100, 1)
      batch.push(Buffer.alloc(100, 1))
      expect(pacer.submit(1, 0, 0, batch)).toBe(true)
      expect(pacer.drain(2000)).toBe(0)
      const [record] = pacer.poll()
      expect(record.frameId).toBe(1)
      expect(record.sendCalls).toBe(0)
      expect(other.stats().sent).toBe(0)
    } finally {
      pacer.close()
      other.close()
      rx.close()
    }
  })

  it('handles are never 0 or negative, whatever the slot', () => {
    const socks = Array.from({length: 5}, () => UdpSocket.open('127.0.0.1', 0))
    try {
      for (const s of socks) expect(s.handle).toBeGreaterThan(0)
      expect(lib().lumen_udp_close([0])).toBe(E_INVALID)
      expect(lib().lumen_udp_close([-1])).toBe(E_INVALID)
    } finally {
      for (const s of socks) s.close()
    }
  })
})
