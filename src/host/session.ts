/** Launch sessions (README §Session lifecycle): what /launch or /resume records for RTSP and control. */
import {randomBytes} from 'node:crypto'

import type {StreamConfig} from '../protocol/stream-config.js'

export interface LaunchSession {
  /** host-local id, also the InputSink's session id */
  id: number
  appId: number
  resume: boolean
  /** SHA-256 of the client certificate that launched it */
  clientFingerprint: string
  /** the client's IP as the HTTPS server saw it */
  clientAddress: string
  riKey: Buffer
  riKeyId: number
  mode: {width: number; height: number; fps: number}
  localAudioPlayMode: number
  surroundAudioInfo: number
  /** the /launch reply said rtspenc:// */
  rtspEncrypted: boolean
  /** X-SS-Ping-Payload: 8 random bytes as 16 upper-case hex characters */
  pingPayload: string
  /** X-SS-Connect-Data: the ENet CONNECT data that identifies this session */
  connectData: number
  /** the RTSP Session token */
  rtspSessionId: string
  /** the host's counter for encrypted RTSP responses */
  rtspHostSeq: number
  createdAt: number
  lastActivity: number
  /** filled by ANNOUNCE */
  config?: StreamConfig
  played: boolean
}

let nextId = 1

export function createLaunchSession(fields: Omit<LaunchSession, 'id' | 'pingPayload' | 'connectData' | 'rtspSessionId' | 'rtspHostSeq' | 'createdAt' | 'lastActivity' | 'played'>): LaunchSession {
  const now = Date.now()
  return {
    ...fields,
    id: nextId++,
    pingPayload: randomBytes(8).toString('hex').toUpperCase(),
    connectData: randomBytes(4).readUInt32BE(0),
    rtspSessionId: randomBytes(6).toString('hex').toUpperCase(),
    rtspHostSeq: 1,
    createdAt: now,
    lastActivity: now,
    played: false,
  }
}

/** `mode=WIDTHxHEIGHTxFPS` */
export function parseMode(text: string | undefined): {width: number; height: number; fps: number} | undefined {
  if (text === undefined) return undefined
  const m = /^(\d{1,5})x(\d{1,5})x(\d{1,4})$/.exec(text)
  if (m === null) return undefined
  return {width: Number(m[1]), height: Number(m[2]), fps: Number(m[3])}
}
