/**
 * Interop with the real moonlight-embedded client (libgamestream + moonlight-common-c + the
 * moonlight ENet fork): pair with the PIN it prints, list apps, stream on its "fake" platform
 * (launch, RTSP encrypted and plain, control stream, IDR request, input), resume, quit.
 *
 * Runs when LUMEN_MOONLIGHT_EMBEDDED names a built `moonlight` binary (build it from
 * moonlight-stream/moonlight-embedded with its submodules: cmake, then make; the "fake" platform
 * needs no decoder), and skips with that reason otherwise. Nothing of it is in this repository.
 */
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {PinSource} from '../../src/host/pairing.js'
import {startTestHost, waitUntil, type TestHost} from './helpers.js'

const BINARY = process.env.LUMEN_MOONLIGHT_EMBEDDED ?? ''
const available = BINARY !== '' && existsSync(BINARY)

describe.skipIf(!available)('moonlight-embedded interop (skipped unless LUMEN_MOONLIGHT_EMBEDDED names a built moonlight binary)', () => {
  let home: string
  let mapping: string

  function moonlight(args: string[], onLine?: (line: string) => void, timeoutMs = 40_000): Promise<{code: number | null; out: string}> {
    return new Promise((resolve) => {
      // stdbuf: the PIN line must arrive while `pair` still waits
      const p = spawn('stdbuf', ['-oL', '-eL', BINARY, ...args], {env: {...process.env, HOME: home, XDG_CACHE_HOME: join(home, '.cache')}})
      let out = ''
      const feed = (d: Buffer): void => {
        out += d.toString()
        for (const l of d.toString().split('\n')) onLine?.(l)
      }
      p.stdout.on('data', feed)
      p.stderr.on('data', feed)
      const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs)
      p.on('exit', (code) => {
        clearTimeout(timer)
        resolve({code, out})
      })
    })
  }

  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'lumen-moonlight-'))
    mapping = join(home, 'mapping.txt')
    writeFileSync(mapping, '')
  })
  afterAll(() => {
    rmSync(home, {recursive: true, force: true})
  })

  for (const rtspEncryption of [true, false]) {
    describe(rtspEncryption ? 'rtspenc://' : 'rtsp://', () => {
      let t: TestHost
      let pin: string | undefined
      const pins: PinSource = {
        getPin: async () => {
          await waitUntil(() => pin !== undefined, 20_000, 'the PIN moonlight prints')
          return pin!
        },
      }
      beforeAll(async () => {
        rmSync(join(home, '.cache'), {recursive: true, force: true})
        t = await startTestHost({pinSource: pins, rtspEncryption})
      })
      afterAll(async () => {
        await t.close()
      })

      it('pairs, lists, streams, resumes and quits', async () => {
        const port = String(t.host.ports.http)
        const launches: boolean[] = []
        t.host.on('launch', (session: {resume: boolean}) => launches.push(session.resume))
        const pair = await moonlight(['pair', '-port', port, '127.0.0.1'], (l) => {
          pin ??= /PIN on the target PC: (\d{4})/.exec(l)?.[1]
        })
        expect(pair.out).toContain('Succesfully paired')
        expect(t.host.pairedClients()).toHaveLength(1)
        expect((await moonlight(['list', '-port', port, '127.0.0.1'])).out).toContain('1. Desktop')

        const streamArgs = ['stream', '-platform', 'fake', '-mapping', mapping, '-app', 'Desktop', '-port', port, '-width', '1280', '-height', '720', '-fps', '60', '-bitrate', '10000', '127.0.0.1']
        for (const round of [0, 1]) {
          const running = moonlight(streamArgs)
          await waitUntil(() => t.pipelines.length === round + 1 && t.pipelines[round].idrRequests.length >= 1, 30_000, 'the IDR request from moonlight')
          const p = t.pipelines[round]
          expect(p.options.config.video).toMatchObject({width: 1280, height: 720, fps: 60, codec: 'h264'})
          expect(p.options.audio?.peer.address).toBe('127.0.0.1')
          await waitUntil(() => t.input.events.length >= 2 * (round + 1), 5000, 'the wake-up input')
          await t.host.endAllStreams('test round over') // 0x0109; the app keeps running → the next round resumes
          const out = (await running).out
          expect(out).toContain('termination reason: 0x80030023')
        }
        expect(launches).toEqual([false, true]) // /launch, then /resume
        expect(t.host.currentApp()?.id).toBe(1)
        await moonlight(['quit', '-port', port, '127.0.0.1'])
        expect(t.host.currentApp()).toBeUndefined()
        expect(t.host.stats().malformed).toEqual({})
      }, 120_000)
    })
  }
})
