/** The client side of the RTSP handshake (docs/protocol/rtsp.md §2, §4, §6): one request per TCP connection. */
import {connect} from 'node:net'

import {openRtsp, sealRtsp} from '../../src/host/rtsp-codec.js'

export interface RtspAnswer {
  status: number
  headers: Map<string, string>
  body: string
  raw: Buffer
}

/** Parses a response the way moonlight-common-c does: case-sensitive names, one space after ':'. */
export function parseRtspAnswer(raw: Buffer): RtspAnswer {
  const text = raw.toString('latin1')
  const end = text.indexOf('\r\n\r\n')
  if (end < 0) throw new Error('RTSP answer without the blank line')
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n')
  const m = /^RTSP\/1\.0 (\d{3}) /.exec(statusLine)
  if (m === null) throw new Error(`bad RTSP status line '${statusLine}'`)
  if (lines.length === 0) throw new Error('RTSP answer without headers')
  const headers = new Map<string, string>()
  for (const l of lines) {
    const c = l.indexOf(':')
    if (c < 0) throw new Error(`bad RTSP header '${l}'`)
    headers.set(l.slice(0, c), l.slice(c + 2))
  }
  return {status: Number(m[1]), headers, body: text.slice(end + 4), raw}
}

export interface RtspEncryption {
  key: Buffer
  /** the client's counter, incremented before each request and never reset */
  seq: number
}

/** Sends one request on a fresh connection and reads until the host closes. */
export function rtspTransact(host: string, port: number, request: string, enc?: RtspEncryption): Promise<RtspAnswer> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, host)
    const chunks: Buffer[] = []
    sock.setTimeout(15_000, () => sock.destroy(new Error('RTSP response timeout')))
    sock.on('error', reject)
    sock.on('connect', () => {
      const plain = Buffer.from(request, 'utf8')
      if (enc !== undefined) {
        enc.seq++
        sock.write(sealRtsp(enc.key, enc.seq, plain, 'client'))
      } else sock.write(plain)
    })
    sock.on('data', (c: Buffer) => chunks.push(c))
    sock.on('end', () => {
      try {
        const raw = Buffer.concat(chunks)
        if (enc === undefined) return resolve(parseRtspAnswer(raw))
        if (raw.length < 24 || (raw[0] & 0x80) === 0) throw new Error('plaintext answer on an encrypted RTSP session')
        const len = raw.readUInt32BE(0) & 0x7fffffff
        if (len + 24 !== raw.length) throw new Error('encrypted RTSP answer length mismatch')
        resolve(parseRtspAnswer(openRtsp(enc.key, raw, 'host').plain))
      } catch (error) {
        reject(error as Error)
      }
    })
  })
}

export interface AnnounceParams {
  width: number
  height: number
  fps: number
  packetSize: number
  configuredBitrateKbps: number
  codec: 0 | 1 | 2
  /** x-ss-video[0].chromaSamplingType: 1 asks for 4:4:4 (default 0, 4:2:0) */
  chromaSamplingType?: 0 | 1
  /** x-nv-video[0].dynamicRangeMode: 1 asks for a 10-bit format (default 0) */
  dynamicRangeMode?: 0 | 1
  encryptionEnabled: number
  audioChannels: number
  /** x-nv-audio.surround.AudioQuality: 1 asks for the high-quality layout (default 0) */
  audioQuality?: 0 | 1
  minRequiredFecPackets: number
  slices: number
  /** x-nv-video[0].clientRefreshRateX100: the display's exact rate × 100 (default 0 = not known) */
  refreshRateX100?: number
  hostAddress: string
  videoPort: number
}

/** The ANNOUNCE SDP a current client sends (docs/protocol/rtsp.md §3.4, §6), trailing spaces included. */
export function announceBody(p: AnnounceParams): string {
  const initial = Math.min(Math.trunc(p.configuredBitrateKbps * 0.8), 100_000)
  const attrs: Array<[string, string | number]> = [
    ['x-ml-general.featureFlags', 3],
    ['x-ss-general.encryptionEnabled', p.encryptionEnabled],
    ['x-ss-video[0].chromaSamplingType', p.chromaSamplingType ?? 0],
    ['x-nv-video[0].clientViewportWd', p.width],
    ['x-nv-video[0].clientViewportHt', p.height],
    ['x-nv-video[0].maxFPS', p.fps],
    ['x-nv-video[0].packetSize', p.packetSize],
    ['x-nv-video[0].rateControlMode', 4],
    ['x-nv-video[0].timeoutLengthMs', 7000],
    ['x-nv-video[0].framesWithInvalidRefThreshold', 0],
    ['x-nv-video[0].initialBitrateKbps', initial],
    ['x-nv-video[0].initialPeakBitrateKbps', initial],
    ['x-nv-vqos[0].bw.minimumBitrateKbps', initial],
    ['x-nv-vqos[0].bw.maximumBitrateKbps', initial],
    ['x-ml-video.configuredBitrateKbps', p.configuredBitrateKbps],
    ['x-nv-vqos[0].fec.enable', 1],
    ['x-nv-vqos[0].videoQualityScoreUpdateTime', 5000],
    ['x-nv-vqos[0].qosTrafficType', 5],
    ['x-nv-aqos.qosTrafficType', 4],
    ['x-nv-general.featureFlags', 167],
    ['x-nv-general.useReliableUdp', 13],
    ['x-nv-vqos[0].fec.minRequiredFecPackets', p.minRequiredFecPackets],
    ['x-nv-vqos[0].bllFec.enable', 0],
    ['x-nv-vqos[0].drc.enable', 0],
    ['x-nv-general.enableRecoveryMode', 0],
    ['x-nv-video[0].videoEncoderSlicesPerFrame', p.slices],
    ['x-nv-clientSupportHevc', p.codec === 1 ? 1 : 0],
    ['x-nv-vqos[0].bitStreamFormat', p.codec],
    ['x-nv-video[0].dynamicRangeMode', p.dynamicRangeMode ?? 0],
    ['x-nv-video[0].maxNumReferenceFrames', 1],
    ['x-nv-video[0].clientRefreshRateX100', p.refreshRateX100 ?? 0],
    ['x-nv-audio.surround.numChannels', p.audioChannels],
    ['x-nv-audio.surround.channelMask', p.audioChannels === 2 ? 3 : p.audioChannels === 6 ? 0x3f : 0x63f],
    ['x-nv-audio.surround.enable', p.audioChannels > 2 ? 1 : 0],
    ['x-nv-audio.surround.AudioQuality', p.audioQuality ?? 0],
    ['x-nv-aqos.packetDuration', 5],
    ['x-nv-video[0].encoderCscMode', 0],
  ]
  return [
    'v=0',
    `o=android 0 14 IN IPv4 ${p.hostAddress}`,
    's=NVIDIA Streaming Client',
    ...attrs.map(([k, v]) => `a=${k}:${v} `),
    't=0 0',
    `m=video ${p.videoPort}  `,
    '',
  ].join('\r\n')
}

export interface HandshakeResult {
  describe: string
  sessionId: string
  audioPort: number
  videoPort: number
  controlPort: number
  pingPayload: string
  connectData: number
  answers: RtspAnswer[]
}

/** OPTIONS, DESCRIBE, SETUP ×3, ANNOUNCE, PLAY; throws on any non-200 answer. */
export async function rtspHandshake(host: string, port: number, announce: Omit<AnnounceParams, 'hostAddress' | 'videoPort'>, enc?: RtspEncryption): Promise<HandshakeResult> {
  let cseq = 0
  const answers: RtspAnswer[] = []
  const base = (): string => `CSeq: ${++cseq}\r\nX-GS-ClientVersion: 14\r\nHost: 0.0.0.0\r\n`
  const go = async (req: string): Promise<RtspAnswer> => {
    const a = await rtspTransact(host, port, req, enc)
    answers.push(a)
    if (a.status !== 200) throw new Error(`RTSP ${req.split(' ')[0]} answered ${a.status}`)
    if (a.headers.get('CSeq') !== String(cseq)) throw new Error('RTSP answer does not echo CSeq')
    return a
  }
  const url = `rtsp://0.0.0.0:${port}`
  await go(`OPTIONS ${url} RTSP/1.0\r\n${base()}\r\n`)
  const describe = await go(`DESCRIBE ${url} RTSP/1.0\r\n${base()}Accept: application/sdp\r\nIf-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n\r\n`)
  if (describe.body.length === 0) throw new Error('empty DESCRIBE body')
  const transport = 'Transport: unicast;X-GS-ClientPort=50000-50001\r\nIf-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n'
  const audio = await go(`SETUP streamid=audio/0/0 RTSP/1.0\r\n${base()}${transport}\r\n`)
  const sessionId = (audio.headers.get('Session') ?? '').split(';')[0]
  if (sessionId === '') throw new Error('no Session on the audio SETUP')
  const sess = `Session: ${sessionId}\r\n`
  const video = await go(`SETUP streamid=video/0/0 RTSP/1.0\r\n${base()}${sess}${transport}\r\n`)
  const control = await go(`SETUP streamid=control/13/0 RTSP/1.0\r\n${base()}${sess}${transport}\r\n`)
  const portOf = (a: RtspAnswer): number => Number(/server_port=(\d+)/.exec(a.headers.get('Transport') ?? '')?.[1] ?? 0)
  const body = announceBody({...announce, hostAddress: host, videoPort: portOf(video)})
  await go(`ANNOUNCE streamid=control/13/0 RTSP/1.0\r\n${base()}${sess}Content-type: application/sdp\r\nContent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
  await go(`PLAY / RTSP/1.0\r\n${base()}${sess}\r\n`)
  return {
    describe: describe.body,
    sessionId,
    audioPort: portOf(audio),
    videoPort: portOf(video),
    controlPort: portOf(control),
    pingPayload: audio.headers.get('X-SS-Ping-Payload') ?? '',
    connectData: Number(control.headers.get('X-SS-Connect-Data') ?? 0),
    answers,
  }
}
