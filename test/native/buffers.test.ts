/**
 * Every shim call that reads or writes a caller's buffer is given one that is too short: it must
 * fail with LUMEN_E_BUFFER (or LUMEN_E_INVALID) and a sentence, and write nothing past the end of
 * the buffer it was given. Each short buffer is a view at the start of a larger one whose tail is
 * filled with guard bytes; the guard must come back intact. (scripts/asan.sh runs this file under
 * AddressSanitizer too, which also catches reads past the end.)
 */
import {afterAll, describe, expect, it} from 'vitest'

import {hasEncoder} from '../../src/native/core.js'
import {ErrorBuffer} from '../../src/native/call.js'
import {shim} from '../../src/native/library.js'

const E_INVALID = -1
const E_BUFFER = -7
const E_UNAVAILABLE = -2
const GUARD = 0xa5
const GUARD_BYTES = 64

/** A view of `len` bytes followed by GUARD_BYTES guard bytes in the same allocation. */
function guarded(len: number, fill = 0): {view: Buffer; intact: () => boolean} {
  const whole = Buffer.alloc(len + GUARD_BYTES, GUARD)
  whole.fill(fill, 0, len)
  return {view: whole.subarray(0, len), intact: () => whole.subarray(len).every((b) => b === GUARD)}
}

const lib = () => shim() as unknown as Record<string, (args: unknown[]) => number>
const closers: Array<() => void> = []
afterAll(() => {
  for (const c of closers.reverse()) c()
})

/** Calls fn with a fresh error buffer; returns the status and the sentence. */
function call(name: string, args: unknown[]): {status: number; message: string} {
  const err = new ErrorBuffer()
  const status = lib()[name]([...args, ...err.args()])
  return {status, message: err.text()}
}

function expectRefused(r: {status: number; message: string}, status: number, sentence: RegExp): void {
  expect(r.status).toBe(status)
  expect(r.message).toMatch(sentence)
}

describe('media sockets and the send thread', () => {
  const udp = (): number => {
    const h = call('lumen_udp_open', ['127.0.0.1', 0, 0]).status
    expect(h).toBeGreaterThan(0)
    closers.push(() => lib().lumen_udp_close([h]))
    return h
  }
  const sock = udp()
  const rx = udp()
  expect(call('lumen_udp_set_peer', [sock, '127.0.0.1', lib().lumen_udp_port([rx, ...new ErrorBuffer().args()])]).status).toBe(0)

  it('lumen_udp_send refuses a length outside a datagram', () => {
    const d = guarded(16)
    expectRefused(call('lumen_udp_send', [sock, d.view, -1]), E_INVALID, /-1-byte datagram/)
    expectRefused(call('lumen_udp_send', [sock, d.view, 70000]), E_INVALID, /70000-byte datagram/)
  })

  it('lumen_udp_send_batch: packet slots or lengths shorter than count says', () => {
    const lens = Buffer.alloc(16)
    for (let i = 0; i < 4; i++) lens.writeInt32LE(100, 4 * i)
    const data = guarded(3 * 100)
    expectRefused(call('lumen_udp_send_batch', [sock, data.view, data.view.length, lens, lens.length, 4, 100, Buffer.alloc(16), 16]), E_BUFFER, /packet buffer has 300 bytes, 400/)
    const shortLens = guarded(12)
    expectRefused(call('lumen_udp_send_batch', [sock, Buffer.alloc(400), 400, shortLens.view, shortLens.view.length, 4, 100, Buffer.alloc(16), 16]), E_BUFFER, /packet length buffer has 12 bytes, 16/)
    const info = guarded(8)
    expectRefused(call('lumen_udp_send_batch', [sock, Buffer.alloc(400), 400, lens, 16, 4, 100, info.view, info.view.length]), E_BUFFER, /send info buffer has 8 bytes, 16/)
    expect(data.intact() && shortLens.intact() && info.intact()).toBe(true)
  })

  it('lumen_udp_recv_batch: receive slots, lengths and the source text are bounded', () => {
    const data = guarded(2 * 64)
    const lens = guarded(4)
    expectRefused(call('lumen_udp_recv_batch', [rx, data.view, data.view.length, 64, 4, Buffer.alloc(16), 16, 0, Buffer.alloc(64), 64]), E_BUFFER, /receive buffer has 128 bytes, 256/)
    expectRefused(call('lumen_udp_recv_batch', [rx, Buffer.alloc(256), 256, 64, 4, lens.view, lens.view.length, 0, Buffer.alloc(64), 64]), E_BUFFER, /packet length buffer has 4 bytes, 16/)
    const from = guarded(8)
    expectRefused(call('lumen_udp_recv_batch', [rx, Buffer.alloc(256), 256, 64, 4, Buffer.alloc(16), 16, 0, from.view, from.view.length]), E_BUFFER, /source address buffer has 8 bytes, 64/)
    expect(data.intact() && lens.intact() && from.intact()).toBe(true)
  })

  it('lumen_udp_stats needs the whole record', () => {
    const out = guarded(79)
    expect(lib().lumen_udp_stats([sock, out.view, out.view.length])).toBe(E_BUFFER)
    expect(out.intact()).toBe(true)
    expect(out.view.every((b) => b === 0)).toBe(true)
  })

  it('lumen_pacer_submit, _poll and _set_gcm: short packets, lengths, records and keys', () => {
    const pacer = call('lumen_pacer_open', [sock, 0, 32, 500, 1 << 20, 0]).status
    expect(pacer).toBeGreaterThan(0)
    closers.push(() => lib().lumen_pacer_close([pacer]))
    const lens = Buffer.alloc(8)
    lens.writeInt32LE(100, 0)
    lens.writeInt32LE(100, 4)
    const data = guarded(150)
    expectRefused(call('lumen_pacer_submit', [pacer, 1, 0, 0, data.view, data.view.length, lens, lens.length, 2, 100]), E_BUFFER, /packet buffer has 150 bytes, 200/)
    const shortLens = guarded(4)
    expectRefused(call('lumen_pacer_submit', [pacer, 1, 0, 0, Buffer.alloc(200), 200, shortLens.view, shortLens.view.length, 2, 100]), E_BUFFER, /packet length buffer has 4 bytes, 8/)
    const poll = guarded(63)
    expect(lib().lumen_pacer_poll([pacer, poll.view, poll.view.length])).toBe(0)
    expectRefused(call('lumen_pacer_set_gcm', [pacer, Buffer.alloc(15), 15, 0]), E_INVALID, /16 bytes, got 15/)
    expect(data.intact() && shortLens.intact() && poll.intact()).toBe(true)
  })
})

describe('audio', () => {
  const stereo = Buffer.from([0, 1])

  it('lumen_opus_encoder_open and _decoder_open: a mapping shorter than the channel count', () => {
    expectRefused(call('lumen_opus_encoder_open', [2, 1, 1, Buffer.from([0]), 1, 96000, 5000]), E_BUFFER, /channel mapping buffer has 1 bytes, 2/)
    expectRefused(call('lumen_opus_decoder_open', [6, 4, 2, Buffer.from([0, 1, 2, 3, 4]), 5]), E_BUFFER, /channel mapping buffer has 5 bytes, 6/)
  })

  it('lumen_opus_encode: PCM shorter than a frame, a packet buffer too small', () => {
    const enc = call('lumen_opus_encoder_open', [2, 1, 1, stereo, 2, 96000, 5000]).status
    expect(enc).toBeGreaterThan(0)
    closers.push(() => lib().lumen_opus_encoder_close([enc]))
    const pcm = guarded(240 * 2 * 2 - 2)
    const out = Buffer.alloc(1500)
    expectRefused(call('lumen_opus_encode', [enc, pcm.view, pcm.view.length, 240, out, out.length]), E_BUFFER, /PCM buffer has 958 bytes, 960/)
    const none = guarded(0)
    expectRefused(call('lumen_opus_encode', [enc, Buffer.alloc(960), 960, 240, none.view, 0]), E_BUFFER, /Opus packet buffer has 0 bytes, 1/)
    // libopus fits the packet into a small buffer (a shorter packet), never past it
    const tiny = guarded(4)
    const n = call('lumen_opus_encode', [enc, Buffer.alloc(960), 960, 240, tiny.view, tiny.view.length]).status
    expect(n === E_BUFFER || (n > 0 && n <= 4)).toBe(true)
    expect(pcm.intact() && none.intact() && tiny.intact()).toBe(true)
  })

  it('lumen_opus_decode: decoded audio larger than the PCM buffer', () => {
    const enc = call('lumen_opus_encoder_open', [2, 1, 1, stereo, 2, 96000, 5000]).status
    const dec = call('lumen_opus_decoder_open', [2, 1, 1, stereo, 2]).status
    closers.push(() => lib().lumen_opus_encoder_close([enc]), () => lib().lumen_opus_decoder_close([dec]))
    const packet = Buffer.alloc(1500)
    const n = call('lumen_opus_encode', [enc, Buffer.alloc(960), 960, 240, packet, packet.length]).status
    expect(n).toBeGreaterThan(0)
    const pcm = guarded(100)
    expectRefused(call('lumen_opus_decode', [dec, packet, n, pcm.view, pcm.view.length]), E_BUFFER, /does not fit a 100-byte buffer/)
    expect(pcm.intact()).toBe(true)
  })

  it('lumen_audio_capture_read: PCM shorter than samples x channels x 2; _stats shorter than its record', () => {
    const cap = call('lumen_audio_capture_open', [2, '', 2, 440]).status // LUMEN_AUDIO_SOURCE_TONE
    expect(cap).toBeGreaterThan(0)
    closers.push(() => lib().lumen_audio_capture_close([cap]))
    const pcm = guarded(240 * 2 * 2 - 1)
    expectRefused(call('lumen_audio_capture_read', [cap, pcm.view, pcm.view.length, 240]), E_BUFFER, /PCM buffer has 959 bytes, 960/)
    expect(pcm.view.every((b) => b === 0)).toBe(true)
    const stats = guarded(23)
    expect(lib().lumen_audio_capture_stats([cap, stats.view, stats.view.length])).toBe(E_BUFFER)
    expect(pcm.intact() && stats.intact()).toBe(true)
  })
})

describe('video', () => {
  const W = 64
  const H = 48

  it('lumen_pattern_draw: a frame buffer shorter than stride x height', () => {
    const b = guarded(W * 4 * H - 1)
    expect(lib().lumen_pattern_draw([b.view, b.view.length, W, H, W * 4, 0, 0])).toBe(E_BUFFER)
    expect(b.intact()).toBe(true)
  })

  it('lumen_encoder_encode: a BGRx frame shorter than its geometry, an info buffer shorter than its record', () => {
    const enc = call('lumen_encoder_open', ['libx264', W, H, 30, 1000, 1, -1, '', 1, 0]).status
    expect(enc).toBeGreaterThan(0)
    closers.push(() => lib().lumen_encoder_close([enc]))
    const out = Buffer.alloc(W * H * 4)
    const info = Buffer.alloc(64)
    const frame = guarded(W * 4 * H - 4)
    expectRefused(call('lumen_encoder_encode', [enc, frame.view, frame.view.length, W, H, W * 4, 0, out, out.length, info, info.length]), E_BUFFER, /BGRx frame buffer has 12284 bytes, 12288/)
    const shortInfo = guarded(40)
    expectRefused(call('lumen_encoder_encode', [enc, Buffer.alloc(W * H * 4), W * H * 4, W, H, W * 4, 0, out, out.length, shortInfo.view, shortInfo.view.length]), E_BUFFER, /encode info buffer has 40 bytes, 64/)
    const describe = guarded(8)
    const n = lib().lumen_encoder_describe([enc, describe.view, describe.view.length])
    expect(n).toBe(7)
    expect(describe.view[7]).toBe(0)
    expect(frame.intact() && shortInfo.intact() && describe.intact()).toBe(true)
  })

  it('lumen_encoder_open: a preset longer than the encoder keeps, conversion threads other than 1 or 2', () => {
    expectRefused(call('lumen_encoder_open', ['libx264', W, H, 30, 1000, 1, -1, 'x'.repeat(40), 1, 0]), E_INVALID, /preset .* too long/)
    expectRefused(call('lumen_encoder_open', ['libx264', W, H, 30, 1000, 1, -1, '', 3, 0]), E_INVALID, /conversion threads 3/)
  })

  it('lumen_decoder_decode: an info buffer shorter than its record', () => {
    const dec = call('lumen_decoder_open', ['h264']).status
    expect(dec).toBeGreaterThan(0)
    closers.push(() => lib().lumen_decoder_close([dec]))
    const info = guarded(16)
    expectRefused(call('lumen_decoder_decode', [dec, Buffer.alloc(8), 8, 1, Buffer.alloc(W * H * 2), W * H * 2, info.view, info.view.length]), E_BUFFER, /decode info buffer has 16 bytes, 32/)
    expect(info.intact()).toBe(true)
  })

  it('lumen_psnr_bgrx_i420: BGRx, I420 and result buffers each shorter than the geometry needs', () => {
    const bgrx = Buffer.alloc(W * H * 4)
    const i420 = Buffer.alloc((W * H * 3) / 2)
    const out = Buffer.alloc(32)
    const shortBgrx = guarded(W * H * 4 - 1)
    expectRefused(call('lumen_psnr_bgrx_i420', [shortBgrx.view, shortBgrx.view.length, W * 4, i420, i420.length, W, H, out, 32]), E_BUFFER, /PSNR BGRx buffer has 12287 bytes, 12288/)
    const shortI420 = guarded(W * H)
    expectRefused(call('lumen_psnr_bgrx_i420', [bgrx, bgrx.length, W * 4, shortI420.view, shortI420.view.length, W, H, out, 32]), E_BUFFER, /PSNR I420 buffer has 3072 bytes, 4608/)
    const shortOut = guarded(24)
    expectRefused(call('lumen_psnr_bgrx_i420', [bgrx, bgrx.length, W * 4, i420, i420.length, W, H, shortOut.view, shortOut.view.length]), E_BUFFER, /PSNR result buffer has 24 bytes, 32/)
    expect(shortBgrx.intact() && shortI420.intact() && shortOut.intact()).toBe(true)
  })

  it('lumen_psnr_bgrx_planar: a 4:4:4 10-bit picture shorter than its three full planes of two bytes a sample; unknown format bits', () => {
    const bgrx = Buffer.alloc(W * H * 4)
    const out = Buffer.alloc(32)
    // LUMEN_FMT_444 | LUMEN_FMT_10BIT: three W x H planes, 2 bytes a sample
    const short = guarded(W * H * 3 * 2 - 2)
    expectRefused(call('lumen_psnr_bgrx_planar', [bgrx, bgrx.length, W * 4, short.view, short.view.length, W, H, 3, out, 32]), E_BUFFER, /PSNR planar picture buffer has 18430 bytes, 18432/)
    expectRefused(call('lumen_psnr_bgrx_planar', [bgrx, bgrx.length, W * 4, Buffer.alloc(W * H * 6), W * H * 6, W, H, 4, out, 32]), E_INVALID, /unknown format bits 0x4/)
    expect(short.intact()).toBe(true)
  })

  it('lumen_encoder_open: unknown picture format bits, 10-bit H.264, 4:4:4 on NVENC, 10-bit libaom-av1', () => {
    expectRefused(call('lumen_encoder_open', ['libx264', W, H, 30, 1000, 1, -1, '', 1, 8]), E_INVALID, /unknown picture format bits 0x8/)
    expectRefused(call('lumen_encoder_open', ['libx264', W, H, 30, 1000, 1, -1, '', 1, 2]), E_INVALID, /no 10-bit H.264/)
    expectRefused(call('lumen_encoder_open', ['hevc_nvenc', W, H, 30, 1000, 1, -1, '', 1, 1]), E_UNAVAILABLE, /4:4:4 and 10-bit are encoded by the software encoders only here/)
    if (hasEncoder('libaom-av1')) expectRefused(call('lumen_encoder_open', ['libaom-av1', W, H, 30, 1000, 1, -1, '', 1, 2]), E_UNAVAILABLE, /libaom-av1: 10-bit is not offered/)
  })
})

describe('Reed-Solomon', () => {
  it('lumen_rs_decode: present flags fewer than k+m, a negative or overlapping stride', () => {
    const buf = guarded(6 * 100)
    const present = Buffer.alloc(6, 1)
    expectRefused(call('lumen_rs_decode', [buf.view, buf.view.length, 0, 100, 100, 4, 2, 0, 1, present.subarray(0, 5), 5]), E_BUFFER, /present-shard buffer has 5 bytes, 6/)
    // a negative stride from the end: the last shard's bound passes, the first lies past the buffer
    expectRefused(call('lumen_rs_decode', [buf.view, buf.view.length, 550, -100, 100, 4, 2, 0, 1, present, 6]), E_BUFFER, /does not fit/)
    expectRefused(call('lumen_rs_decode', [buf.view, buf.view.length, 0, 50, 100, 4, 2, 0, 1, present, 6]), E_BUFFER, /does not fit/)
    expect(buf.intact()).toBe(true)
  })

  it('lumen_rs_encode: descriptors shorter than nblocks, a negative parity stride', () => {
    const buf = guarded(6 * 100)
    const blocks = Buffer.alloc(24)
    for (const [i, v] of [0, 100, 400, 100, 4, 2].entries()) blocks.writeInt32LE(v, 4 * i)
    expectRefused(call('lumen_rs_encode', [buf.view, buf.view.length, 100, 0, blocks.subarray(0, 20), 20, 1]), E_BUFFER, /need 24 bytes, the buffer has 20/)
    blocks.writeInt32LE(590, 8) // parity from 590 going down: the last shard fits, the first runs past the end
    blocks.writeInt32LE(-100, 12)
    expectRefused(call('lumen_rs_encode', [buf.view, buf.view.length, 100, 0, blocks, 24, 1]), E_BUFFER, /does not fit/)
    expect(buf.intact()).toBe(true)
  })

  it('lumen_rs_matrix: an output shorter than k x m', () => {
    const out = guarded(7)
    expect(call('lumen_rs_matrix', [4, 2, 0, out.view, out.view.length]).status).toBe(E_BUFFER)
    expect(out.intact()).toBe(true)
  })
})

describe('ENet and core', () => {
  it('lumen_enet_service and _peer_stats: buffers shorter than an event header or the stats record', () => {
    const host = call('lumen_enet_host_create', ['127.0.0.1', 0, 1, 2]).status
    expect(host).toBeGreaterThan(0)
    closers.push(() => lib().lumen_enet_host_destroy([host]))
    const out = guarded(23)
    expectRefused(call('lumen_enet_service', [host, 0, out.view, out.view.length]), E_BUFFER, /at least 24 bytes/)
    expect(out.intact()).toBe(true)
  })

  it('lumen_avcodec_version_string and lumen_rs_isa_list: output shorter than the text', () => {
    const v = guarded(3)
    expect(lib().lumen_avcodec_version_string([v.view, v.view.length])).toBe(E_BUFFER)
    expect(v.intact()).toBe(true)
    const isa = guarded(3)
    lib().lumen_rs_isa_list([isa.view, isa.view.length])
    expect(isa.intact()).toBe(true)
  })
})
