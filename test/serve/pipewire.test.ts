/**
 * The pipewire capture source against a real PipeWire graph: a private D-Bus session, pipewire
 * and wireplumber, and GStreamer's pipewiresink providing a 640x360 BGRx Video/Source node at
 * 30 fps (shared-memory buffers). Skips with the reason when those programs are missing.
 */
import {type ChildProcess, execFileSync, spawn} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {PipeWireSource} from '../../src/media/capture/pipewire.js'
import {AudioCapture} from '../../src/native/audio.js'
import {missing, sleep, waitUntil} from '../helpers/index.js'
import {startServeSession} from './helpers.js'
import {tonePower} from './tone.js'

const NODE = 'lumen-test-src'
const gone = missing('dbus-daemon', 'pipewire', 'wireplumber', 'gst-launch-1.0', 'pw-cli')

describe.skipIf(gone !== undefined)(`pipewire capture${gone !== undefined ? ` (skipped: ${gone} is not installed)` : ''}`, () => {
  let dir: string
  const children: ChildProcess[] = []
  const saved = {XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR, DBUS_SESSION_BUS_ADDRESS: process.env.DBUS_SESSION_BUS_ADDRESS}

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lumen-pw-'))
    process.env.XDG_RUNTIME_DIR = dir
    process.env.DBUS_SESSION_BUS_ADDRESS = `unix:path=${join(dir, 'bus')}`
    const env = {...process.env}
    children.push(spawn('dbus-daemon', ['--session', `--address=unix:path=${join(dir, 'bus')}`, '--nofork'], {env, stdio: 'ignore'}))
    await sleep(300)
    children.push(spawn('pipewire', [], {env, stdio: 'ignore'}))
    await sleep(800)
    children.push(spawn('wireplumber', [], {env, stdio: 'ignore'}))
    await sleep(1500)
  }, 20_000)

  // GStreamer's pipewiresink (PipeWire 0.3.65) stops producing once its first consumer leaves:
  // each test gets its own node
  async function node(name: string): Promise<ChildProcess> {
    const c = spawn(
      'gst-launch-1.0',
      ['videotestsrc', 'is-live=true', 'pattern=ball', '!', 'video/x-raw,format=BGRx,width=640,height=360,framerate=30/1', '!', 'pipewiresink', 'mode=provide', `stream-properties=props,media.class=Video/Source,node.name=${name}`],
      {env: {...process.env}, stdio: 'ignore'},
    )
    children.push(c)
    await sleep(1500)
    return c
  }

  afterAll(() => {
    for (const c of children.reverse()) c.kill('SIGTERM')
    process.env.XDG_RUNTIME_DIR = saved.XDG_RUNTIME_DIR
    process.env.DBUS_SESSION_BUS_ADDRESS = saved.DBUS_SESSION_BUS_ADDRESS
    rmSync(dir, {recursive: true, force: true})
  })

  it('consumes the node by name: its size, its 30 fps, its pixels', async () => {
    await node(NODE)
    const src = PipeWireSource.open(NODE)
    try {
      expect([src.width, src.height]).toEqual([640, 360])
      // grab until 30 new frames came (a second of the node), counting the repeats in between
      let fresh = 0
      let repeats = 0
      const t0 = Date.now()
      let last: Buffer | undefined
      let changed = 0
      while (fresh < 30 && Date.now() - t0 < 20_000) {
        const f = src.grab()
        if (f.fresh) {
          fresh++
          if (f.payload.kind === 'cpu') {
            if (last !== undefined && !last.equals(f.payload.data)) changed++
            last = Buffer.from(f.payload.data)
          }
        } else repeats++
        await sleep(4)
      }
      // 30 new frames, nothing new in between (re-encode territory), moving pixels; and no faster
      // than the node's 30 fps (a busy box only makes the grab loop slower)
      const seconds = (Date.now() - t0) / 1000
      console.log(`pipewire node: ${fresh} new frames in ${seconds.toFixed(2)} s = ${(fresh / seconds).toFixed(1)} fps, ${repeats} repeats`)
      expect(fresh).toBe(30)
      expect(fresh / seconds).toBeLessThan(40)
      expect(repeats).toBeGreaterThan(fresh)
      expect(changed).toBeGreaterThan(15)
      const info = src.info()
      expect(info.state).toBe('streaming')
      expect(['memfd', 'memptr']).toContain(info.buffers)
    } finally {
      src.close()
    }
  })

  it('says in a sentence when no PipeWire daemon answers', () => {
    const empty = mkdtempSync(join(tmpdir(), 'lumen-nopw-'))
    process.env.XDG_RUNTIME_DIR = empty
    try {
      expect(() => PipeWireSource.open(NODE, {firstFrameMs: 500})).toThrow(/no PipeWire daemon answers/)
    } finally {
      process.env.XDG_RUNTIME_DIR = dir
      rmSync(empty, {recursive: true, force: true})
    }
  })

  it('streams it: a 60 fps stream from a 30 fps node re-encodes the repeats and every frame decodes', async () => {
    await node(`${NODE}-2`)
    const s = await startServeSession({media: {source: 'pipewire', pipewireTarget: `${NODE}-2`}, announce: {width: 640, height: 360, fps: 60, codec: 0, encryptionEnabled: 5}})
    try {
      const t0 = Date.now()
      while (s.video.frames.length === 0 && Date.now() - t0 < 10_000) await sleep(50)
      await sleep(3000)
      await waitUntil(() => s.video.frames.length > 60 && s.streams[0].stats().uniqueFrames > 30 && s.streams[0].stats().reencodedFrames > 30, 30_000, '60 frames, 30 of them new and 30 re-encoded')
      const st = s.streams[0].stats()
      expect(s.video.frames.length).toBeGreaterThan(60)
      expect(s.video.decodeErrors).toEqual([])
      expect(s.video.frames.every((f) => f.decoded)).toBe(true)
      expect(s.video.frames[0].width).toBe(640)
      expect(st.uniqueFrames).toBeGreaterThan(30)
      expect(st.reencodedFrames).toBeGreaterThan(30)
    } finally {
      await s.close()
    }
  }, 30_000)

  it('audio capture hears what the desktop plays: the default sink monitor carries a 1 kHz tone', async () => {
    // a null sink as the desktop's output, and a tone played into it
    execFileSync('pw-cli', ['create-node', 'adapter', '{ factory.name=support.null-audio-sink node.name=lumen-null media.class=Audio/Sink object.linger=true audio.position=[FL FR] }'], {env: {...process.env}})
    await sleep(500)
    children.push(spawn('gst-launch-1.0', ['audiotestsrc', 'freq=1000', 'is-live=true', '!', 'audio/x-raw,rate=48000,channels=2', '!', 'pipewiresink', 'target-object=lumen-null'], {env: {...process.env}, stdio: 'ignore'}))
    await sleep(1500)
    const cap = new AudioCapture('auto', 2)
    try {
      expect(cap.kind).toBe('pipewire')
      const pcm = Buffer.alloc(240 * 4)
      const left: number[] = []
      for (let i = 0; i < 200; i++) {
        expect(cap.read(pcm, 240)).toBe(240)
        for (let k = 0; k < 240; k++) left.push(pcm.readInt16LE(k * 4))
      }
      const tail = Int16Array.from(left.slice(-9600))
      expect(tonePower(tail, 1000)).toBeGreaterThan(1000 * tonePower(tail, 1300))
      expect(cap.stats().delivered).toBeGreaterThan(40_000)
    } finally {
      cap.close()
    }
  }, 20_000)
})
