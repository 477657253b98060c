/** The pure protocol pieces against the worked examples of docs/protocol/. */
import {describe, expect, it} from 'vitest'

import {ControlType, decodeClientMessage, openControl, sealControl, terminationPayload} from '../../src/host/control-codec.js'
import {decodeInputPacket} from '../../src/host/input.js'
import {pairingKey} from '../../src/host/pairing.js'
import {parseHex, parseTarget, QueryError} from '../../src/host/query.js'
import {openRtsp, parseRtspRequest, RtspParseError, sealRtsp, serializeRtspResponse} from '../../src/host/rtsp-codec.js'
import {deriveBitrateKbps, describeBody, parseAnnounce, SdpError} from '../../src/host/sdp.js'
import {xmlRoot} from '../../src/host/xml.js'
import {announceBody} from '../client/rtsp.js'

const KEY = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex')
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

describe('pairing key', () => {
  it('matches the test vector of docs/protocol/http-and-pairing.md §6.4', () => {
    expect(pairingKey(hex('00112233445566778899aabbccddeeff'), '1234').toString('hex')).toBe('8c8fb15e510c23192b9ecceb9cc163a6')
  })
})

describe('control envelope (docs/protocol/control-stream.md §6)', () => {
  it('seals Start B, Start A and a ping exactly as the client does', () => {
    expect(sealControl(KEY, 1, 0x0307, Buffer.from([0]), 'client')).toEqual(hex('0100 1900 01000000 66393527e11b8c76341d912f5ee3ca51 2427044103'))
    expect(sealControl(KEY, 0, 0x0302, Buffer.from([0, 0]), 'client')).toEqual(
      hex('01 00 1a 00 00 00 00 00 22 30 27 23 53 78 11 16 6c b9 bf ea d7 da d4 57 5c d6 29 f5 ca fe'),
    )
    expect(sealControl(KEY, 2, 0x0200, Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), 'client')).toEqual(
      hex('01 00 20 00 02 00 00 00 cb a7 57 89 64 fa 4f a8 e7 18 54 16 b3 3e 29 f8 a5 4e 75 96 4d df 1a bd 01 72 cd fb'),
    )
  })

  it('seals the host termination of §6.4', () => {
    expect(sealControl(KEY, 0, ControlType.termination, terminationPayload(), 'host')).toEqual(
      hex('0100 1c00 00000000 b835a2b8ace857ddcbad385dce166aa9 f2dd4edacf3be801'),
    )
  })

  it('opens client messages and decodes them', () => {
    const m = openControl(KEY, hex('0100 1900 01000000 66393527e11b8c76341d912f5ee3ca51 2427044103'), 'client')
    expect(m).toMatchObject({seq: 1, type: 0x0307})
    expect(decodeClientMessage(m.type, m.payload)).toEqual({kind: 'start-b'})
    const rfi = Buffer.alloc(24)
    rfi.writeUInt32LE(10, 0)
    rfi.writeUInt32LE(12, 8)
    expect(decodeClientMessage(0x0301, rfi)).toEqual({kind: 'rfi', firstFrame: 10, lastFrame: 12})
  })

  it('refuses a wrong direction, a flipped bit, a bad length and plaintext', () => {
    const good = sealControl(KEY, 5, 0x0302, Buffer.from([0, 0]), 'client')
    expect(() => openControl(KEY, good, 'host')).toThrow(/authentication/)
    const flipped = Buffer.from(good)
    flipped[good.length - 1] ^= 1
    expect(() => openControl(KEY, flipped, 'client')).toThrow(/authentication/)
    expect(() => openControl(KEY, Buffer.concat([good, Buffer.from([0])]), 'client')).toThrow(/length/)
    expect(() => openControl(KEY, hex('0203 0200 0000 0000 0000 0000 0000 0000 0000 0000 0000 0000 0000 0000'), 'client')).toThrow(/unencrypted/)
  })
})

describe('input packets (docs/protocol/control-stream.md §5, §6.5)', () => {
  it('decodes the haptics-enable and relative-move packets a client sends first', () => {
    expect(decodeInputPacket(hex('00000006 0d000000 0100'))).toEqual({type: 'haptics-enable'})
    expect(decodeInputPacket(hex('00000008 07000000 0001 0001'))).toEqual({type: 'mouse-move-relative', dx: 1, dy: 1})
    expect(decodeInputPacket(hex('00000008 07000000 ffff ffff'))).toEqual({type: 'mouse-move-relative', dx: -1, dy: -1})
  })

  it('decodes an absolute move against its reference size, and a gamepad state with the high button word', () => {
    expect(decodeInputPacket(hex('0000000e 05000000 0064 00c8 0000 077f 0437'))).toEqual({type: 'mouse-move-absolute', x: 100, y: 200, width: 1920, height: 1080})
    const g = hex('0000001e 0c000000 1a00 0100 0200 1400 0110 ff00 0080 ff7f 0000 0100 9c00 1000 5500')
    expect(decodeInputPacket(g)).toEqual({
      type: 'gamepad',
      controller: 1,
      activeMask: 2,
      buttons: 0x00101001,
      leftTrigger: 255,
      rightTrigger: 0,
      leftStickX: -32768,
      leftStickY: 32767,
      rightStickX: 0,
      rightStickY: 1,
    })
  })

  it('refuses packets whose size field overruns or whose body is short', () => {
    expect(() => decodeInputPacket(hex('000000ff 07000000 0001 0001'))).toThrow(/does not fit/)
    expect(() => decodeInputPacket(hex('00000006 07000000 0001'))).toThrow(/needs/)
    expect(() => decodeInputPacket(hex('0000'))).toThrow(/shorter/)
  })
})

describe('RTSP', () => {
  it('encrypts the client OPTIONS of docs/protocol/rtsp.md §4 exactly', () => {
    const plain = Buffer.from('OPTIONS rtsp://0.0.0.0:48010 RTSP/1.0\r\nCSeq: 1\r\nX-GS-ClientVersion: 14\r\nHost: 0.0.0.0\r\n\r\n')
    expect(plain.length).toBe(89)
    const frame = sealRtsp(KEY, 1, plain, 'client')
    expect(frame.subarray(0, 8)).toEqual(hex('80000059 00000001'))
    expect(frame.subarray(8, 24)).toEqual(hex('d2 77 83 ac e3 f0 6b 5a a1 84 12 fb 3a 44 49 f5'))
    expect(frame.subarray(24, 40)).toEqual(hex('9f e4 52 00 3a 42 12 66 29 e9 a3 8d ac a4 f6 63'))
    expect(openRtsp(KEY, frame, 'client').plain).toEqual(plain)
    expect(() => openRtsp(KEY, frame, 'host')).toThrow(RtspParseError)
  })

  it('parses a request split anywhere, with the body of Content-length', () => {
    const body = 'v=0\r\na=x:1 \r\n'
    const req = Buffer.from(`ANNOUNCE streamid=control/13/0 RTSP/1.0\r\nCSeq: 6\r\nContent-type: application/sdp\r\nContent-length: ${body.length}\r\n\r\n${body}`)
    for (let cut = 0; cut < req.length; cut++) expect(parseRtspRequest(req.subarray(0, cut)).complete).toBe(false)
    const r = parseRtspRequest(req)
    expect(r.complete && r.request.method).toBe('ANNOUNCE')
    expect(r.complete && r.request.body.toString()).toBe(body)
    expect(r.complete && r.request.cseq).toBe('6')
  })

  it('refuses oversized bodies and garbage request lines', () => {
    expect(() => parseRtspRequest(Buffer.from('ANNOUNCE x RTSP/1.0\r\nContent-length: 99999999\r\n\r\n'))).toThrow(RtspParseError)
    expect(() => parseRtspRequest(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))).toThrow(RtspParseError)
    expect(() => parseRtspRequest(Buffer.alloc(20_000, 0x41))).toThrow(RtspParseError)
  })

  it('writes "Name: value" headers and CRLF CRLF', () => {
    expect(serializeRtspResponse({status: 200, reason: 'OK', headers: [['CSeq', '3'], ['Session', 'AB;timeout = 90']]}).toString()).toBe(
      'RTSP/1.0 200 OK\r\nCSeq: 3\r\nSession: AB;timeout = 90\r\n\r\n',
    )
  })

  it('offers HEVC/AV1 only when asked, with the surround layouts', () => {
    const plain = describeBody({encryptionSupported: 1, encryptionRequested: 0, featureFlags: 0, hevc: false, av1: false, refPicInvalidation: false})
    expect(plain).toContain('a=x-ss-general.encryptionSupported:1')
    expect(plain).not.toContain('sprop-parameter-sets=AAAAAU')
    expect(plain).toContain('a=fmtp:97 surround-params=642012453')
    const all = describeBody({encryptionSupported: 5, encryptionRequested: 0, featureFlags: 0, hevc: true, av1: true, refPicInvalidation: true})
    expect(all).toContain('sprop-parameter-sets=AAAAAU')
    expect(all).toContain('AV1/90000')
    expect(all).toContain('a=x-nv-video[0].refPicInvalidation:1')
  })
})

describe('ANNOUNCE → StreamConfig (docs/protocol/rtsp.md §3.4, §6)', () => {
  const ctx = {riKey: KEY, riKeyId: -1902135159}
  const body = announceBody({
    width: 1280,
    height: 720,
    fps: 60,
    packetSize: 1392,
    configuredBitrateKbps: 10000,
    codec: 0,
    encryptionEnabled: 5,
    audioChannels: 2,
    minRequiredFecPackets: 2,
    slices: 1,
    hostAddress: '192.168.1.10',
    videoPort: 47998,
  })

  it('reads the worked example of §6 (1492 bytes)', () => {
    expect(Buffer.byteLength(body)).toBe(1492)
    const c = parseAnnounce(body, {...ctx, highQualityAudioAllowed: false})
    expect(c.video).toEqual({
      width: 1280,
      height: 720,
      fps: 60,
      clientRefreshRateX100: 0,
      packetSize: 1392,
      bitrateKbps: 7308,
      codec: 'h264',
      slicesPerFrame: 1,
      minRequiredFecPackets: 2,
      fecPercentage: 20,
      chromaSamplingType: 0,
      dynamicRangeMode: 0,
      maxNumReferenceFrames: 1,
      encoderCscMode: 0,
      qosTrafficType: 5,
    })
    expect(c.audio).toEqual({channels: 2, channelMask: 3, packetDurationMs: 5, highQuality: false})
    expect(c.encryptionFlags).toBe(5)
    expect(c.clientFeatureFlags).toBe(3)
    expect(c.riKeyId).toBe(-1902135159)
  })

  it('derives the bitrate as Sunshine does', () => {
    // 10000 → 8000 (FEC 20 %) → 8000 − 512 (HQ stereo) = 7488 → 7488 − 500 = 6988
    expect(parseAnnounce(body, {...ctx, highQualityAudioAllowed: true}).video.bitrateKbps).toBe(6988)
    // without configuredBitrateKbps: maximumBitrateKbps
    expect(deriveBitrateKbps({configuredBitrateKbps: 0, maximumBitrateKbps: 8000, fecPercentage: 20, highQualityAudio: false, audioChannels: 2})).toBe(8000)
    // tiny bitrates: audio capped at a fifth, overhead at a tenth
    expect(deriveBitrateKbps({configuredBitrateKbps: 500, maximumBitrateKbps: 0, fecPercentage: 20, highQualityAudio: true, audioChannels: 2})).toBe(288)
  })

  it('maps bitStreamFormat to the codec and reads surround audio', () => {
    const hevc = body.replace('bitStreamFormat:0', 'bitStreamFormat:1').replace('numChannels:2', 'numChannels:6').replace('channelMask:3', 'channelMask:63')
    const c = parseAnnounce(hevc.replace('AudioQuality:0', 'AudioQuality:1'), ctx)
    expect(c.video.codec).toBe('hevc')
    expect(c.audio).toEqual({channels: 6, channelMask: 63, packetDurationMs: 5, highQuality: true})
    // 10000 → 8000 → 8000 − min(256·6, 1600) = 6464 → 6464 − 500 = 5964
    expect(c.video.bitrateKbps).toBe(5964)
    expect(parseAnnounce(body.replace('bitStreamFormat:0', 'bitStreamFormat:2'), ctx).video.codec).toBe('av1')
    // audio encryption from the legacy NV feature flag alone (0x20)
    expect(parseAnnounce(body.replace('encryptionEnabled:5', 'encryptionEnabled:1'), ctx).encryptionFlags).toBe(5)
    expect(parseAnnounce(body.replace('encryptionEnabled:5', 'encryptionEnabled:1').replace('featureFlags:167', 'featureFlags:135'), ctx).encryptionFlags).toBe(1)
  })

  it('defaults missing attributes and refuses malformed ones', () => {
    const c = parseAnnounce('a=x-nv-video[0].clientViewportWd:640\r\na=x-nv-video[0].clientViewportHt:480\r\na=x-nv-video[0].maxFPS:30\r\n', ctx)
    expect(c.video).toMatchObject({width: 640, height: 480, fps: 30, codec: 'h264', packetSize: 1024})
    expect(() => parseAnnounce(body.replace('maxFPS:60', 'maxFPS:6x0'), ctx)).toThrow(SdpError)
    expect(() => parseAnnounce(body.replace('bitStreamFormat:0', 'bitStreamFormat:7'), ctx)).toThrow(SdpError)
    expect(() => parseAnnounce('v=0\r\n', ctx)).toThrow(SdpError)
  })
})

describe('HTTP query and XML', () => {
  it('parses targets and decodes hex with exact sizes', () => {
    const t = parseTarget('/pair?uniqueid=0123456789ABCDEF&salt=00ff&phrase=getservercert&x=%41')
    expect(t.path).toBe('/pair')
    expect(t.params.get('x')).toBe('A')
    expect(parseHex('00ff', 'salt', {bytes: 2})).toEqual(Buffer.from([0, 255]))
    expect(() => parseHex('00f', 'salt', {bytes: 2})).toThrow(QueryError)
    expect(() => parseHex('zz', 'salt', {bytes: 1})).toThrow(QueryError)
    expect(() => parseTarget(`/x?${'a=1&'.repeat(100)}`)).toThrow(QueryError)
    expect(() => parseTarget('/x?a=%E0%A4%A')).toThrow(QueryError)
  })

  it('escapes names and keeps status in root@status_code', () => {
    expect(xmlRoot(400, [{name: 'AppTitle', value: 'A&B <x>'}], 'bad "thing"')).toContain(
      '<root status_code="400" status_message="bad &quot;thing&quot;"><AppTitle>A&amp;B &lt;x&gt;</AppTitle></root>',
    )
  })
})
