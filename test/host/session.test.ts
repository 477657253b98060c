/**
 * The whole control plane over loopback with the test client: pair → applist → launch → RTSP →
 * control connect → IDR request reaches the pipeline interface → input → cancel; resume,
 * relaunch, unpair, two clients.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {createClientIdentity, MoonlightTestClient, type ClientIdentity} from '../client/client.js'
import {hapticsEnable, key, mouseMoveRelative} from '../client/input.js'
import {startTestHost, waitUntil, type TestHost} from './helpers.js'

let identityA: ClientIdentity
let identityB: ClientIdentity

beforeAll(async () => {
  ;[identityA, identityB] = await Promise.all([createClientIdentity(), createClientIdentity()])
})

describe('GameStreamHost session flow', () => {
  let t: TestHost
  beforeAll(async () => {
    t = await startTestHost()
  })
  afterAll(async () => {
    await t.close()
  })

  const clientA = (): MoonlightTestClient => new MoonlightTestClient({host: '127.0.0.1', httpPort: t.host.ports.http, identity: identityA, uniqueid: '0123456789ABCDEF'})

  it('serves serverinfo over HTTP with the documented fields', async () => {
    const c = clientA()
    const x = await c.serverInfo()
    expect(x.statusCode).toBe(200)
    expect(x.get('appversion')).toBe('7.1.431.-1')
    expect(x.get('GfeVersion')).toBe('3.23.0.74')
    expect(x.get('HttpsPort')).toBe(String(t.host.ports.https))
    expect(x.get('PairStatus')).toBe('0')
    expect(x.get('currentgame')).toBe('0')
    expect(x.get('state')).toBe('SUNSHINE_SERVER_FREE')
    expect(x.get('hostname')).toBe('lumen-test')
    expect(x.get('uniqueid')).toBe(t.host.uniqueid)
    expect(Number(x.get('ServerCodecModeSupport'))).toBeGreaterThanOrEqual(1)
  })

  it('pairs, launches, runs RTSP (encrypted) and the control stream; IDR requests and input reach the interfaces; cancel terminates', async () => {
    const c = clientA()
    const paired = await c.pair('1234')
    expect(paired.outcome).toBe('paired')
    expect(paired.serverCertPem).toBe(t.host.certPem)
    expect((await c.serverInfo(true)).get('PairStatus')).toBe('1')
    expect(await c.appList()).toEqual([{id: 1, title: 'Desktop', hdr: false}])

    const launch = await c.launch({appId: 1, corever: true})
    expect(launch.xml.statusCode).toBe(200)
    expect(launch.xml.get('gamesession')).toBe('1')
    expect(launch.sessionUrl).toBe(`rtspenc://127.0.0.1:${t.host.ports.rtsp}`)
    const busy = await c.serverInfo(true)
    expect(busy.get('currentgame')).toBe('1')
    expect(busy.get('state')).toBe('SUNSHINE_SERVER_BUSY')

    const hs = await c.rtsp(launch)
    expect(hs.describe).toContain('a=x-ss-general.encryptionSupported:1')
    expect(hs.audioPort).toBe(t.host.ports.audio)
    expect(hs.videoPort).toBe(t.host.ports.video)
    expect(hs.controlPort).toBe(t.host.ports.control)
    expect(hs.pingPayload).toMatch(/^[0-9A-F]{16}$/)
    const audioPing = await c.pingSocket(hs.audioPort, hs.pingPayload)
    const control = await c.connectControl(launch, hs)
    const videoPing = await c.pingSocket(hs.videoPort, hs.pingPayload)
    try {
      await waitUntil(() => t.pipelines.length === 1, 5000, 'the pipeline to start')
      const p = t.pipelines[0]
      expect(p.options.config.video).toMatchObject({width: 1280, height: 720, fps: 60, packetSize: 1392, codec: 'h264', minRequiredFecPackets: 2, slicesPerFrame: 1})
      // 10000 kbps − 20 % FEC = 8000; − min(96·2, 1600) = 7808; − min(500, 780) = 7308
      expect(p.options.config.video.bitrateKbps).toBe(7308)
      expect(p.options.config.riKey.equals(launch.riKey)).toBe(true)
      expect(p.options.video.peer).toEqual({address: '127.0.0.1', port: videoPing.socket.address().port})
      expect(p.options.audio?.peer).toEqual({address: '127.0.0.1', port: audioPing.socket.address().port})
      expect(p.options.video.socket?.port).toBe(t.host.ports.video)
      expect(p.options.video.socket?.fd).toBeGreaterThan(2)
      // Start A arrived before the pipeline existed: delivered once it started
      await waitUntil(() => p.idrRequests.length >= 1, 5000, 'Start A to reach the pipeline')
      const before = p.idrRequests.length
      control.requestIdr()
      await waitUntil(() => p.idrRequests.length === before + 1, 5000, 'the IDR request')
      // Start A (before the pipeline existed) arrives as the start; the later request as a client request
      expect(p.idrRequests[0]).toBe('start')
      expect(p.idrRequests.at(-1)).toBe('client-request')

      control.sendInput(hapticsEnable(), 0)
      control.sendInput(mouseMoveRelative(1, 1))
      control.sendInput(mouseMoveRelative(-1, -1))
      control.sendInput(key(true, 0x41, 0x01), 2)
      await waitUntil(() => t.input.events.length >= 4, 5000, 'input events')
      expect(t.input.events.map((e) => e.event)).toEqual([
        {type: 'haptics-enable'},
        {type: 'mouse-move-relative', dx: 1, dy: 1},
        {type: 'mouse-move-relative', dx: -1, dy: -1},
        {type: 'key', down: true, keyCode: 0x8041, modifiers: 1, flags: 0},
      ])
      const info = t.host.stats().streams[0]
      expect(info.control.idrRequests).toBeGreaterThanOrEqual(2)
      expect(info.control.inputEvents).toBe(4)
      expect(info.enet?.packetsSent).toBeGreaterThanOrEqual(0)

      // host → client feedback: a rumble message arrives decrypted with the host's IV
      const rumble = Buffer.from('eeffc000 0000 ff00 0080'.replace(/ /g, ''), 'hex')
      expect(t.host.sendControl(info.sessionId, 0x010b, rumble)).toBe(true)
      expect((await control.waitForMessage(0x010b, 5000))?.payload).toEqual(rumble)

      const cancel = await c.cancel()
      expect(cancel.get('cancel')).toBe('1')
      const term = await control.waitForMessage(0x0109, 5000)
      expect(term?.payload.toString('hex')).toBe('80030023')
      expect(p.stopped).toBe(true)
      const free = await c.serverInfo(true)
      expect(free.get('currentgame')).toBe('0')
      expect(free.get('state')).toBe('SUNSHINE_SERVER_FREE')
    } finally {
      audioPing.stop()
      videoPing.stop()
      await control.close(false)
    }
  })

  it('relaunches with plain RTSP, keeps the app across a client disconnect, and resumes', async () => {
    const c = clientA()
    await c.serverInfo()
    c.serverCertPem = t.host.certPem
    const launch = await c.launch({appId: 1, corever: false})
    expect(launch.sessionUrl).toBe(`rtsp://127.0.0.1:${t.host.ports.rtsp}`)
    const hs = await c.rtsp(launch, {width: 1920, height: 1080, fps: 120, configuredBitrateKbps: 20_000})
    const control = await c.connectControl(launch, hs)
    const ping = await c.pingSocket(hs.videoPort, hs.pingPayload)
    const n = t.pipelines.length
    await waitUntil(() => t.pipelines.length === n + 1, 5000, 'a second pipeline')
    const p = t.pipelines[n]
    expect(p.options.config.video).toMatchObject({width: 1920, height: 1080, fps: 120})
    ping.stop()
    await control.close(true) // the user stops streaming: ENet disconnect
    await waitUntil(() => p.stopped, 5000, 'the pipeline to stop')
    expect((await c.serverInfo(true)).get('currentgame')).toBe('1') // the app keeps running

    const resumed = await c.launch({resume: true, corever: true})
    expect(resumed.xml.get('resume')).toBe('1')
    const hs2 = await c.rtsp(resumed)
    const control2 = await c.connectControl(resumed, hs2)
    const ping2 = await c.pingSocket(hs2.videoPort, hs2.pingPayload)
    try {
      await waitUntil(() => t.pipelines.length === n + 2, 5000, 'the resumed pipeline')
      expect(t.pipelines[n + 1].options.config.riKey.equals(resumed.riKey)).toBe(true)
      expect(hs2.connectData).not.toBe(hs.connectData)
    } finally {
      ping2.stop()
      await c.cancel()
      await control2.close(false)
    }
  })

  it('tells two clients apart by certificate, though both send the same uniqueid; unpair revokes one', async () => {
    const a = clientA()
    const b = new MoonlightTestClient({host: '127.0.0.1', httpPort: t.host.ports.http, identity: identityB, uniqueid: '0123456789ABCDEF'})
    await a.serverInfo()
    a.serverCertPem = t.host.certPem
    // b is not paired yet
    await b.serverInfo()
    expect((await b.httpsGet('/applist')).statusCode).toBe(401)
    expect((await b.httpsGet('/serverinfo')).get('PairStatus')).toBe('0')
    expect((await b.pair('1234')).outcome).toBe('paired')
    expect(t.host.pairedClients()).toHaveLength(2)
    expect((await a.appList()).length).toBe(1)
    expect((await b.appList()).length).toBe(1)

    const fpB = t.host.pairedClients().find((x) => x.certPem === identityB.certPem)?.fingerprint
    expect(fpB).toBeDefined()
    expect(t.host.unpair(fpB!)).toBe(true)
    expect((await b.httpsGet('/applist')).statusCode).toBe(401)
    expect((await b.httpsGet('/launch', {appid: '1', rikey: '00'.repeat(16), rikeyid: '1', localAudioPlayMode: '0'})).statusCode).toBe(401)
    expect((await a.appList()).length).toBe(1)
  })

  it('refuses a launch while an app runs and a resume when none does', async () => {
    const a = clientA()
    await a.serverInfo()
    a.serverCertPem = t.host.certPem
    const resume = await a.launch({resume: true})
    expect(resume.xml.statusCode).toBe(503)
    expect(resume.xml.get('resume')).toBe('0')
    expect((await a.launch({appId: 1})).xml.statusCode).toBe(200)
    const again = await a.launch({appId: 1})
    expect(again.xml.statusCode).toBe(400)
    expect(again.xml.get('gamesession')).toBe('0')
    expect((await a.launch({appId: 99})).xml.statusCode).toBe(400)
    await a.cancel()
    expect((await a.launch({appId: 99})).xml.statusCode).toBe(404)
  })
})
