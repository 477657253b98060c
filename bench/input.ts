/**
 * Input latency and robustness: control packet in (the decrypted 0x0206 payload) → decoder →
 * router → one lumen_input_submit per service round → the shim's writer thread → the requests
 * written to the display server: XTEST on a private Xvfb (XFlush), or with --backend wlroots the
 * virtual pointer and keyboard on a private headless sway (wl_display_flush; root, as the tests).
 * Rounds of 1, 8 and 32 events: p50/p99 µs per round and the events each ffi call carries. Then
 * 10⁶ random/mutated packets through decoder and router (the suite runs 10⁴): packets/s,
 * accepted, dropped by reason, no throw.
 *
 *   npm run bench -- input [--backend xtest|wlroots] [--rounds N] [--fuzz N] [--json]
 */
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'

import {decodeInputPacket, type InputEvent} from '../src/host/input.js'
import type {InputCapabilities} from '../src/input/device.js'
import type {NativeInputDevice} from '../src/input/native-device.js'
import {RecordWriter} from '../src/input/records.js'
import {InputRouter} from '../src/input/router.js'
import {wlrootsBackend} from '../src/input/wlroots.js'
import {xtestBackend} from '../src/input/xtest.js'
import {startHeadlessSway} from '../test/helpers/sway.js'

export const summary = 'input: control packet → event written to the X server (XTEST on Xvfb), p50/p99 µs, events per ffi call; 10^6-packet decoder+router fuzz'

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : undefined
}

function packet(magic: number, body: Buffer): Buffer {
  const p = Buffer.alloc(8 + body.length)
  p.writeUInt32BE(4 + body.length, 0)
  p.writeUInt32LE(magic >>> 0, 4)
  body.copy(p, 8)
  return p
}

/** Relative moves of ±1 and key presses of A, as a client sends them (control-stream.md §5). */
function samplePackets(n: number): Buffer[] {
  const out: Buffer[] = []
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) {
      const b = Buffer.alloc(4)
      b.writeInt16BE(i % 4 === 0 ? 1 : -1, 0)
      b.writeInt16BE(0, 2)
      out.push(packet(0x07, b))
    } else {
      const b = Buffer.alloc(6)
      b.writeUInt16LE(0x8041, 1)
      out.push(packet(i % 4 === 1 ? 0x03 : 0x04, b))
    }
  }
  return out
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

async function startXvfb(): Promise<{display: string; stop(): void}> {
  const n = 400 + Math.floor(Math.random() * 100)
  const display = `:${n}`
  const child = spawn('Xvfb', [display, '-screen', '0', '1280x720x24', '-nolisten', 'tcp'], {stdio: 'ignore'})
  const t0 = Date.now()
  while (!existsSync(`/tmp/.X11-unix/X${n}`) && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 50))
  return {display, stop: () => child.kill('SIGTERM')}
}

interface RoundFigures {
  eventsPerRound: number
  rounds: number
  eventsPerFfiCall: number
  p50Us: number
  p99Us: number
}

function latency(dev: NativeInputDevice, perRound: number, rounds: number): RoundFigures {
  const packets = samplePackets(perRound)
  const samples: number[] = []
  const before = dev.stats()
  for (let r = 0; r < rounds + 50; r++) {
    const t0 = process.hrtime.bigint()
    const events = packets.map((p) => decodeInputPacket(p))
    dev.submit(events)
    // drain returns once the writer applied the records and flushed them to the X server
    dev.drain(1000)
    const us = Number(process.hrtime.bigint() - t0) / 1000
    if (r >= 50) samples.push(us)
  }
  const after = dev.stats()
  samples.sort((a, b) => a - b)
  const calls = after.batches - before.batches
  return {
    eventsPerRound: perRound,
    rounds,
    eventsPerFfiCall: +((after.accepted - before.accepted) / Math.max(1, calls)).toFixed(1),
    p50Us: +percentile(samples, 50).toFixed(1),
    p99Us: +percentile(samples, 99).toFixed(1),
  }
}

function fuzz(count: number): {packets: number; decoded: number; perSecond: number; accepted: number; dropped: Record<string, number>} {
  const caps: InputCapabilities = {keyboard: true, pointerRelative: true, pointerAbsolute: true, scroll: true, hscroll: true, text: true, touch: true, pen: true, gamepads: 16, rumble: true, motion: true}
  const magics = [0x03, 0x04, 0x05, 0x07, 0x08, 0x09, 0x0a, 0x0c, 0x0d, 0x17, 0x55000001, 0x55000002, 0x55000003, 0x55000004, 0x55000005, 0x55000006, 0x55000007, 0x99]
  let seed = 0x9e3779b9
  const rand = (): number => {
    seed ^= seed << 13
    seed ^= seed >>> 17
    seed ^= seed << 5
    return (seed >>> 0) / 0x100000000
  }
  const router = new InputRouter(caps)
  const w = new RecordWriter(16)
  const p = Buffer.alloc(48)
  let decoded = 0
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < count; i++) {
    const len = Math.floor(rand() * 48)
    for (let j = 0; j < len; j++) p[j] = Math.floor(rand() * 256)
    const view = p.subarray(0, len)
    if (len >= 8 && rand() < 0.9) {
      view.writeUInt32BE(len - 4, 0)
      view.writeUInt32LE(magics[Math.floor(rand() * magics.length)] >>> 0, 4)
    }
    let e: InputEvent
    try {
      e = decodeInputPacket(view)
    } catch {
      continue
    }
    decoded++
    w.clear()
    router.route([e], w)
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9
  return {packets: count, decoded, perSecond: Math.round(count / s), accepted: router.accepted, dropped: {...router.dropped}}
}

export async function run(args: string[]): Promise<void> {
  const rounds = Number(flag(args, '--rounds') ?? 2000)
  const fuzzCount = Number(flag(args, '--fuzz') ?? 1_000_000)
  const json = args.includes('--json')
  const backend = flag(args, '--backend') ?? 'xtest'
  if (backend !== 'xtest' && backend !== 'wlroots') throw new Error(`--backend ${backend}: xtest or wlroots`)
  const server = backend === 'xtest' ? await startXvfb() : await startHeadlessSway()
  let figures: RoundFigures[]
  try {
    const dev = (
      'display' in server ? xtestBackend.open({uinputPath: '', display: server.display}) : wlrootsBackend.open({uinputPath: '', waylandSocket: server.socket})
    ) as NativeInputDevice
    try {
      figures = [1, 8, 32].map((n) => latency(dev, n, rounds))
    } finally {
      dev.close()
    }
  } finally {
    await server.stop()
  }
  const f = fuzz(fuzzCount)
  if (json) {
    process.stdout.write(`${JSON.stringify({backend, latency: figures, fuzz: f})}\n`)
    return
  }
  const target = backend === 'xtest' ? 'XTEST written to Xvfb' : 'virtual pointer/keyboard requests written to headless sway'
  process.stdout.write(`control packet → decoder → router → one submit → writer thread → ${target} (µs per round)\n`)
  for (const r of figures)
    process.stdout.write(`  ${String(r.eventsPerRound).padStart(2)} events/round: p50 ${String(r.p50Us).padStart(7)}  p99 ${String(r.p99Us).padStart(7)}  events per ffi call ${r.eventsPerFfiCall}  (${r.rounds} rounds)\n`)
  const dropped = Object.entries(f.dropped).map(([k, v]) => `${k} ${v}`).join(', ')
  process.stdout.write(`fuzz: ${f.packets} packets (${f.decoded} decoded) at ${f.perSecond}/s through decoder + router; accepted ${f.accepted}; dropped ${dropped}\n`)
}
