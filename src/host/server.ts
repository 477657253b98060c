/**
 * GameStreamHost: the whole control plane of a Moonlight-compatible host, wired together —
 * identity and pairing store, HTTP/HTTPS, mDNS, RTSP, the ENet control stream and the A/V ping
 * sockets — over the StartStream / InputSink interfaces. `lumen serve` is a thin command over it.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {EventEmitter} from 'node:events'
import {hostname as osHostname} from 'node:os'

import {ClientFeatureFlags, CodecModeSupport, EncryptionFlags, MAX_LUMA_PIXELS_HEVC, offeredCodecs} from '../protocol/flags.js'
import type {PeerAddress, StartStream, StreamPipeline} from '../protocol/pipeline.js'
import type {StreamConfig} from '../protocol/stream-config.js'
import {type ClientMessage, ControlType, type FecStatus, hdrModeOff, TERMINATION_CONVERSION_FAILED} from './control-codec.js'
import {trimNativeHeap} from '../native/core.js'
import {ControlServer, type ControlPeer} from './control-server.js'
import {LaunchRefused, NvHttpApi, type HttpApiHost, type LaunchRequest} from './http-api.js'
import {NvHttpServers} from './http-server.js'
import type {InputEvent, InputSink} from './input.js'
import type {ConnectionLimits} from './connection-guard.js'
import {DropCounters, type DropPort} from './drops.js'
import type {InputDevice, InputStats} from '../input/device.js'
import {encodeFeedback, FeedbackFilter} from './input-feedback.js'
import {MdnsAdvertiser} from './mdns.js'
import {PairingManager, type PairingOptions, type PairingStats, type PinSource} from './pairing.js'
import {MediaPingReceiver} from './pings.js'
import {RtspServer} from './rtsp-server.js'
import {createLaunchSession, type LaunchSession} from './session.js'
import {defaultConfigDir, HostStore, type AppEntry, type PairedClient} from './store.js'
import {prepareApp, type PreparedApp} from './app-prep.js'

export interface HostPorts {
  http: number
  https: number
  rtsp: number
  control: number
  video: number
  audio: number
}

/** The defaults of README §Ports; every one can be overridden (0 = an ephemeral port). */
export const DEFAULT_PORTS: HostPorts = {http: 47989, https: 47984, rtsp: 48010, control: 47999, video: 47998, audio: 48000}

export interface HostLogger {
  info(message: string): void
  warn(message: string): void
  debug?(message: string): void
}

export interface HostTimeouts {
  /** a launch session without RTSP/control activity is discarded after this (Sunshine: 10 s) */
  launchMs: number
  /** wait this long for the first video ping after the control stream connects (10 s) */
  pingMs: number
  /** end a stream after this long without control traffic (10 s) */
  controlIdleMs: number
  /** after the first video ping, wait at most this long for the first audio ping (1.5 s) */
  audioGraceMs: number
}

export interface GameStreamHostOptions {
  /** default $XDG_CONFIG_HOME/lumen */
  configDir?: string
  /** IPv4 address to listen on; default 0.0.0.0 */
  bindAddress?: string
  ports?: Partial<HostPorts>
  /** shown by clients; default the OS host name */
  hostname?: string
  pinSource: PinSource
  /** creates the media pipeline when a stream starts; absent = control plane only */
  startStream?: StartStream
  inputSink?: InputSink
  /** opens the input device for a stream's session (the one that launched it); undefined or a
   * throw: the stream is view-only. Closed when the stream ends. */
  openInput?: (sessionId: number) => InputDevice | undefined
  /** advertise _nvstream._tcp; default true */
  mdns?: boolean
  logger?: HostLogger
  /** ServerCodecModeSupport bits (CodecModeSupport); default H.264 only */
  codecModeSupport?: number
  /** offer rtspenc:// to clients that can do it; default true */
  rtspEncryption?: boolean
  /** x-ss-general.encryptionSupported offered in DESCRIBE (EncryptionFlags); default control V2 only */
  encryptionSupported?: number
  /** advertise reference-frame invalidation in DESCRIBE; default false */
  refPicInvalidation?: boolean
  timeouts?: Partial<HostTimeouts>
  /** run an app's `cmd` on launch (default true) */
  runAppCommands?: boolean
  /** streams at once (launches waiting for their control stream included); default no bound */
  maxSessions?: number
  /** PAIRING_LIMITS overrides and the clock (tests) */
  pairing?: Omit<PairingOptions, 'log'>
  /** CONNECTION_LIMITS overrides for HTTP, HTTPS and RTSP (tests) */
  connectionLimits?: Partial<ConnectionLimits>
  /** hand the free native heap back after a connection flood (default true; bench/flood.ts) */
  trimAfterFloods?: boolean
}

export interface ControlStats {
  idrRequests: number
  rfiRequests: number
  ltrAcks: number
  fecStatusReports: number
  /** sum of "missing packets before highest" over the FEC status reports */
  packetsReportedMissing: number
  lastFecStatus?: FecStatus
  pings: number
  inputEvents: number
  unknownMessages: number
}

export interface StreamInfo {
  sessionId: number
  appId: number
  client: string
  controlPeer: {address: string; port: number}
  video?: PeerAddress
  audio?: PeerAddress
  config?: StreamConfig
  startedAt: number
  control: ControlStats
  hasPipeline: boolean
  /** the stream's input device: accepted, applied, dropped by reason */
  input?: InputStats & {backend: string; feedbackSent: number}
  /** libenet's view of the control peer: round trip, loss */
  enet?: {roundTripMs: number; packetLoss: number; packetsSent: number; packetsLost: number}
}

export interface HostStats {
  malformed: Record<string, number>
  /** what was refused or dropped, per "port:kind" (drops.ts) */
  drops: Record<string, number>
  pairing: PairingStats
  httpRequests: number
  rtspRequests: number
  controlMessages: number
  pings: number
  streams: StreamInfo[]
}

interface ActiveStream {
  session: LaunchSession
  peer: ControlPeer
  pipeline?: StreamPipeline
  idrPending: boolean
  ended: boolean
  video?: PeerAddress
  audio?: PeerAddress
  startedAt: number
  control: ControlStats
  input?: StreamInput
}

interface StreamInput {
  device: InputDevice
  /** this service round's events, submitted together at its end */
  pending: InputEvent[]
  filter: FeedbackFilter
  feedbackSent: number
  final?: InputStats
}

/**
 * Events: 'listening' (ports), 'paired' (PairedClient), 'launch' (LaunchSession), 'announce'
 * (LaunchSession, StreamConfig), 'stream-start' (StreamInfo), 'stream-end' (StreamInfo, reason),
 * 'idr-request' (sessionId, reason), 'input' (InputEvent, sessionId), 'app-start' (AppEntry),
 * 'app-stop' (AppEntry), 'malformed' (what, detail).
 */
export class GameStreamHost extends EventEmitter {
  readonly store: HostStore
  private readonly options: GameStreamHostOptions
  private readonly log: HostLogger
  private readonly timeouts: HostTimeouts
  private readonly pairing: PairingManager
  private readonly api: NvHttpApi
  private readonly http: NvHttpServers
  private readonly rtsp: RtspServer
  private readonly control: ControlServer
  private readonly pings = new MediaPingReceiver()
  private readonly mdns = new MdnsAdvertiser()
  private readonly launches: LaunchSession[] = []
  private readonly streams = new Map<number, ActiveStream>()
  private readonly malformedCounts: Record<string, number> = {}
  private readonly drops: DropCounters
  private guardSeen = {unknown: 0, perSource: 0, entryFull: 0, malformed: 0, timedOut: 0}
  private pingMalformedSeen = 0
  private closedAtTrim = 0
  /** the certificate that launched the running app: it alone may quit it, and only its streams give input */
  private appOwner?: string
  private runningApp?: AppEntry
  private appProcess?: ChildProcess
  /** the undo half of the running app's prep steps */
  private appPrep?: PreparedApp
  /** undo steps still running after their app stopped; stop() waits for them */
  private undoing: Promise<void> = Promise.resolve()
  private boundPorts?: HostPorts
  private sweepTimer?: NodeJS.Timeout
  private mdnsOn = false
  readonly hostname: string

  private constructor(store: HostStore, options: GameStreamHostOptions) {
    super()
    this.store = store
    this.options = options
    this.hostname = options.hostname ?? osHostname()
    this.log = options.logger ?? {info() {}, warn() {}}
    this.timeouts = {launchMs: 10_000, pingMs: 10_000, controlIdleMs: 10_000, audioGraceMs: 1500, ...options.timeouts}
    for (const p of store.appProblems) this.log.warn(`apps.json: ${p}; this app is left out`)
    this.drops = new DropCounters((m) => this.log.warn(m))
    this.pairing = new PairingManager(
      store,
      options.pinSource,
      (pem) => {
        let client: PairedClient
        try {
          client = store.addClient(pem, `client ${store.clients().length + 1}`)
        } catch (error) {
          this.log.warn(`pairing a client failed: ${(error as Error).message}`)
          throw error
        }
        this.log.info(`paired client ${client.fingerprint.slice(0, 16)}`)
        this.emit('paired', client)
      },
      {...options.pairing, log: (m) => this.log.warn(m)},
    )
    this.api = new NvHttpApi(store, this.pairing, this.apiHost())
    this.http = new NvHttpServers(this.api, store, (e) => this.log.warn(`HTTP handler failed: ${e.message}`), this.drops, options.connectionLimits)
    this.rtsp = new RtspServer({
      pendingSessions: () => this.pendingLaunches(),
      ports: () => ({video: this.ports.video, audio: this.ports.audio, control: this.ports.control}),
      describe: () => {
        return {
          encryptionSupported: options.encryptionSupported ?? EncryptionFlags.controlV2,
          encryptionRequested: 0,
          featureFlags: 0,
          ...offeredCodecs(options.codecModeSupport ?? CodecModeSupport.h264),
          codecModeSupport: options.codecModeSupport ?? CodecModeSupport.h264,
          refPicInvalidation: options.refPicInvalidation ?? false,
        }
      },
      announced: (s, config) => {
        this.pings.expect({pingPayload: s.pingPayload, clientAddress: s.clientAddress, acceptLegacy: (config.clientFeatureFlags & ClientFeatureFlags.sessionIdV1) === 0})
        this.syncControlExpected()
        this.emit('announce', s, config)
      },
      played: () => {},
      malformed: (what, detail) => this.malformed(what, detail),
      log: (m) => this.log.info(m),
      drops: this.drops,
      limits: options.connectionLimits,
    })
    this.control = new ControlServer(
      {bindAddress: options.bindAddress ?? '0.0.0.0', port: options.ports?.control ?? DEFAULT_PORTS.control, idleTimeoutMs: this.timeouts.controlIdleMs},
      {
        connect: (data, address) => this.onControlConnect(data, address),
        connected: (peer) => this.onControlConnected(peer),
        message: (peer, m) => this.onControlMessage(peer, m),
        disconnected: (peer, reason) => void this.endStream(peer.peer, reason, false),
        malformed: (what, detail) => this.malformed(what, detail),
        roundEnd: () => this.flushInput(),
      },
    )
  }

  /** Opens (or creates) the identity store; throws StoreCorruptError for a damaged store. */
  static async create(options: GameStreamHostOptions): Promise<GameStreamHost> {
    const store = await HostStore.open(options.configDir ?? defaultConfigDir())
    return new GameStreamHost(store, options)
  }

  /** Binds every port (and advertises over mDNS unless disabled); resolves with the bound ports. */
  async start(): Promise<HostPorts> {
    const want = {...DEFAULT_PORTS, ...this.options.ports}
    const bind = this.options.bindAddress ?? '0.0.0.0'
    try {
      await this.http.listen(bind, want.http, want.https)
      const rtsp = await this.rtsp.listen(want.rtsp, bind)
      const control = this.control.listen()
      await this.pings.bind(bind, {video: want.video, audio: want.audio})
      this.boundPorts = {http: this.http.httpPort, https: this.http.httpsPort, rtsp, control, video: this.pings.port('video'), audio: this.pings.port('audio')}
    } catch (error) {
      await this.stop()
      throw error
    }
    this.sweepTimer = setInterval(() => this.sweepLaunches(), 1000)
    this.sweepTimer.unref?.()
    if (this.options.mdns ?? true) {
      try {
        await this.mdns.start(this.hostname, this.boundPorts.http)
        this.mdnsOn = true
      } catch (error) {
        this.log.warn(`mDNS advertisement failed (${(error as Error).message}); clients can still add this host by address`)
      }
    }
    this.emit('listening', this.boundPorts)
    return this.boundPorts
  }

  get ports(): HostPorts {
    if (this.boundPorts === undefined) throw new Error('the host is not started')
    return {...this.boundPorts}
  }

  get uniqueid(): string {
    return this.store.uniqueid
  }

  get certPem(): string {
    return this.store.certPem
  }

  pairedClients(): PairedClient[] {
    return this.store.clients()
  }

  /** Removes a paired client by certificate fingerprint (or a unique prefix). */
  unpair(fingerprintPrefix: string): boolean {
    return this.store.removeClient(fingerprintPrefix)
  }

  currentApp(): AppEntry | undefined {
    return this.runningApp
  }

  stats(): HostStats {
    return {
      malformed: {...this.malformedCounts},
      drops: (this.countGuardDrops(), this.drops.snapshot()),
      pairing: this.pairing.stats(),
      httpRequests: this.api.requests,
      rtspRequests: this.rtsp.requests,
      controlMessages: this.control.messages,
      pings: this.pings.pings,
      streams: [...this.streams.values()].map((s) => this.streamInfo(s)),
    }
  }

  /** Sends one encrypted host → client control message (rumble 0x010b, HDR 0x010e, …) to a stream. */
  sendControl(sessionId: number, type: number, payload: Buffer): boolean {
    const s = [...this.streams.values()].find((x) => x.session.id === sessionId)
    return s !== undefined && this.control.send(s.peer.peer, type, payload)
  }

  /** Ends one stream with termination 0x0109 (graceful by default; e.g. when its pipeline failed). */
  async endSession(sessionId: number, reason = 'host ended the stream', code?: number): Promise<boolean> {
    const s = [...this.streams.values()].find((x) => x.session.id === sessionId)
    if (s === undefined) return false
    await this.endStream(s.peer.peer, reason, true, code)
    return true
  }

  /** Ends every stream with termination 0x0109 (the app keeps running unless stopApp). */
  async endAllStreams(reason = 'host ended the stream', stopApp = false): Promise<void> {
    for (const s of [...this.streams.values()]) await this.endStream(s.peer.peer, reason, true)
    if (stopApp) this.stopApp()
  }

  /** Ends streams (with 0x0109), stops the app, closes every socket. */
  async stop(): Promise<void> {
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer)
    await this.endAllStreams('host shutting down', true)
    await this.undoing
    this.control.tick() // let the terminations leave
    this.pairing.dropAll()
    if (this.mdnsOn) await this.mdns.stop().catch(() => {})
    this.mdnsOn = false
    await this.control.close()
    await Promise.allSettled([this.http.close(), this.rtsp.close(), this.pings.close()])
  }

  private apiHost(): HttpApiHost {
    const codecs = this.options.codecModeSupport ?? CodecModeSupport.h264
    return {
      hostname: this.options.hostname ?? osHostname(),
      httpPort: () => this.ports.http,
      httpsPort: () => this.ports.https,
      rtspPort: () => this.ports.rtsp,
      codecModeSupport: codecs,
      maxLumaPixelsHevc: offeredCodecs(codecs).hevc ? MAX_LUMA_PIXELS_HEVC : 0,
      rtspEncryption: this.options.rtspEncryption ?? true,
      currentApp: () => this.runningApp,
      launch: (r) => this.launch(r),
      cancel: async (client) => {
        // only the client that launched the app may quit it (SECURITY.md §Sessions)
        if (this.appOwner !== undefined && client.fingerprint !== this.appOwner) {
          this.log.warn(`client ${client.fingerprint.slice(0, 16)} may not quit the app client ${this.appOwner.slice(0, 16)} launched`)
          throw new LaunchRefused(403, 'Another client launched the running app: only it can quit the app')
        }
        this.log.info(`client ${client.fingerprint.slice(0, 16)} quit the app`)
        await this.endAllStreams('app cancelled', true)
      },
      malformed: (what, detail) => this.malformed(what, detail),
      log: (m) => this.log.info(m),
    }
  }

  private async launch(r: LaunchRequest): Promise<LaunchSession> {
    if (!r.resume && this.runningApp !== undefined) throw new LaunchRefused(400, 'An app is already running on this host')
    if (r.resume && this.runningApp === undefined) throw new LaunchRefused(503, 'No running app to resume')
    const app = this.store.app(r.appId)
    if (app === undefined) throw new LaunchRefused(404, `no app with id ${r.appId}`)
    const max = this.options.maxSessions
    if (max !== undefined) {
      // the client's own pending launch is replaced below, so it does not count
      const others = this.launches.filter((l) => l.clientFingerprint !== r.client.fingerprint).length
      const busy = this.streams.size + this.connecting.size + others
      if (busy >= max) {
        this.drops.count('https', 'sessions-busy')
        throw new LaunchRefused(503, `The host is busy: ${busy} of its ${max} streams are in use (--max-sessions); try again when one ends`)
      }
    }
    if (!r.resume && app.prep !== undefined && (this.options.runAppCommands ?? true)) {
      // the host is this app's while its prep runs: a second launch meanwhile is refused
      this.runningApp = app
      try {
        // the last app's undo steps finish before this one's do steps start
        await this.undoing
        this.log.info(`app '${app.title}': ${app.prep.length} prep step(s)`)
        this.appPrep = await prepareApp(app.title, app.prep, app.workingDir, (m) => this.log.warn(m))
      } catch (error) {
        this.runningApp = undefined
        this.log.warn(`launch of '${app.title}' refused: ${(error as Error).message}`)
        throw new LaunchRefused(500, `The app could not be prepared: ${(error as Error).message}`)
      }
    }
    const session = createLaunchSession({
      appId: app.id,
      resume: r.resume,
      clientFingerprint: r.client.fingerprint,
      clientAddress: r.clientAddress,
      riKey: r.riKey,
      riKeyId: r.riKeyId,
      mode: r.mode,
      localAudioPlayMode: r.localAudioPlayMode,
      surroundAudioInfo: r.surroundAudioInfo,
      rtspEncrypted: (this.options.rtspEncryption ?? true) && r.corever >= 1,
    })
    // one pending launch per client certificate: a newer one replaces it
    for (let i = this.launches.length - 1; i >= 0; i--) {
      if (this.launches[i].clientFingerprint === r.client.fingerprint) this.launches.splice(i, 1)
    }
    this.launches.push(session)
    if (!r.resume) {
      this.appOwner = r.client.fingerprint
      this.startApp(app)
    }
    const join = r.resume && this.appOwner !== undefined && this.appOwner !== r.client.fingerprint
    this.log.info(
      `${r.resume ? 'resume' : 'launch'} of '${app.title}' by ${r.clientAddress} (client ${r.client.fingerprint.slice(0, 16)}): ${r.mode.width}x${r.mode.height}@${r.mode.fps}${join ? `; joins the app client ${this.appOwner!.slice(0, 16)} launched (view only: no input)` : ''}`,
    )
    this.emit('launch', session)
    return session
  }

  private startApp(app: AppEntry): void {
    this.runningApp = app
    if (app.cmd !== undefined && (this.options.runAppCommands ?? true)) {
      const child = spawn('/bin/sh', ['-c', app.cmd], {stdio: 'ignore', detached: true, cwd: app.workingDir})
      child.on('error', (e) => this.log.warn(`app '${app.title}' failed to start: ${e.message}`))
      child.on('exit', () => {
        if (this.appProcess !== child) return
        this.appProcess = undefined
        this.log.info(`app '${app.title}' exited`)
        void this.endAllStreams('app exited', true)
      })
      this.appProcess = child
    }
    this.emit('app-start', app)
  }

  private stopApp(): void {
    const app = this.runningApp
    if (app === undefined) return
    this.runningApp = undefined
    this.appOwner = undefined
    // launch sessions of a stopped app must not start streams any more
    for (const s of this.launches.splice(0)) this.pings.forget(s.pingPayload)
    const child = this.appProcess
    this.appProcess = undefined
    if (child?.pid !== undefined && child.exitCode === null) {
      try {
        process.kill(-child.pid, 'SIGTERM')
      } catch {}
    }
    const prep = this.appPrep
    this.appPrep = undefined
    if (prep !== undefined) this.undoing = this.undoing.then(() => prep.undo())
    this.emit('app-stop', app)
  }

  private pendingLaunches(): LaunchSession[] {
    return [...this.launches]
  }

  private sweepLaunches(): void {
    const now = Date.now()
    for (let i = this.launches.length - 1; i >= 0; i--) {
      const s = this.launches[i]
      if (now - s.lastActivity > this.timeouts.launchMs) {
        this.launches.splice(i, 1)
        this.pings.forget(s.pingPayload)
        this.log.info(`launch session ${s.id} expired: no RTSP or control connection within ${this.timeouts.launchMs} ms`)
      }
    }
    this.syncControlExpected()
    this.countGuardDrops()
    this.drops.maybeLog(now)
    this.trimAfterFlood()
  }

  /** After a flood (FLOOD_CLOSED connections closed since the last trim, and the ports quiet
   * again) the free heap OpenSSL and the sockets left behind goes back to the kernel: glibc keeps
   * it in its arenas otherwise, and RSS would only ever grow (bench/flood.ts). */
  private trimAfterFlood(): void {
    if (this.options.trimAfterFloods === false) return
    const closed = this.http.closedConnections() + this.rtsp.closedConnections()
    if (closed - this.closedAtTrim < FLOOD_CLOSED || this.http.openConnections() + this.rtsp.openConnections() > 8) return
    this.closedAtTrim = closed
    trimNativeHeap()
  }

  /** The control port lets in only the launches that reached ANNOUNCE (control-stream.md §1.5). */
  private syncControlExpected(): void {
    this.control.expect(this.launches.filter((s) => s.config !== undefined).map((s) => ({data: s.connectData, address: s.clientAddress})))
  }

  /** Moves the shim's ENet guard counters and the ping sockets' malformed count into the drops. */
  private countGuardDrops(): void {
    const g = this.control.guardStats()
    if (g !== undefined) {
      const kinds = {unknown: 'connect-unknown', perSource: 'connect-per-source', entryFull: 'connect-entry-full', malformed: 'connect-malformed', timedOut: 'handshake-timeout'} as const
      for (const k of Object.keys(kinds) as Array<keyof typeof kinds>) {
        this.drops.count('control', kinds[k], g[k] - this.guardSeen[k])
        this.guardSeen[k] = g[k]
      }
    }
    this.drops.count('media', 'malformed-ping', this.pings.malformed - this.pingMalformedSeen)
    this.pingMalformedSeen = this.pings.malformed
  }

  private readonly connecting = new Map<number, LaunchSession>()

  private onControlConnect(data: number, address: string): {sessionId: number; key: Buffer} | undefined {
    let i = this.launches.findIndex((s) => s.connectData === data >>> 0 && s.config !== undefined)
    // clients without connect data (session id v1) send 0: match the RTSP client's address
    if (i < 0 && data === 0) i = this.launches.findIndex((s) => s.clientAddress === address && s.config !== undefined)
    if (i < 0) return undefined
    const session = this.launches.splice(i, 1)[0]
    this.connecting.set(session.id, session)
    this.syncControlExpected()
    return {sessionId: session.id, key: session.riKey}
  }

  private onControlConnected(peer: ControlPeer): void {
    const session = this.connecting.get(peer.sessionId)
    this.connecting.delete(peer.sessionId)
    if (session === undefined) return
    const stream: ActiveStream = {
      session,
      peer,
      idrPending: false,
      ended: false,
      startedAt: Date.now(),
      control: {idrRequests: 0, rfiRequests: 0, ltrAcks: 0, fecStatusReports: 0, packetsReportedMissing: 0, pings: 0, inputEvents: 0, unknownMessages: 0},
    }
    this.streams.set(peer.peer, stream)
    this.log.info(`session ${session.id}: control stream connected from ${peer.address}:${peer.port}`)
    // every source here is SDR: a client that asked for 10-bit HDR hears that the picture is not HDR
    if (session.config?.video.dynamicRangeMode === 1) this.control.send(peer.peer, ControlType.hdrMode, hdrModeOff())
    stream.input = this.openInput(session.id)
    void this.startMedia(stream)
  }

  private async startMedia(stream: ActiveStream): Promise<void> {
    const s = stream.session
    this.pings.expect({pingPayload: s.pingPayload, clientAddress: s.clientAddress, acceptLegacy: ((s.config?.clientFeatureFlags ?? 0) & ClientFeatureFlags.sessionIdV1) === 0})
    const video = await this.pings.waitFor(s.pingPayload, 'video', this.timeouts.pingMs)
    if (stream.ended) return
    if (video === undefined) {
      this.log.warn(`session ${s.id}: no video ping within ${this.timeouts.pingMs} ms; ending the stream`)
      await this.endStream(stream.peer.peer, 'no video ping', true)
      return
    }
    stream.video = video
    // audio pings start at the audio SETUP on current clients, after the video stream on older
    // ones: give them a moment (they come every 500 ms), but never hold video back for long
    stream.audio = await this.pings.waitFor(s.pingPayload, 'audio', Math.min(this.timeouts.audioGraceMs, this.timeouts.pingMs))
    if (stream.ended) return
    this.emit('stream-start', this.streamInfo(stream))
    const start = this.options.startStream
    if (start === undefined || s.config === undefined) return
    try {
      const pipeline = await start({
        config: s.config,
        video: {peer: video, socket: this.pings.socket('video')},
        audio: stream.audio !== undefined ? {peer: stream.audio, socket: this.pings.socket('audio')} : undefined,
        sessionId: s.id,
      })
      if (stream.ended) {
        await pipeline.stop()
        return
      }
      stream.pipeline = pipeline
      void pipeline.failed?.then(async (reason) => {
        if (stream.pipeline !== pipeline || stream.ended) return
        this.log.warn(`session ${s.id}: the media pipeline failed: ${reason}; ending the stream`)
        await this.endStream(stream.peer.peer, `pipeline failed: ${reason}`, true, TERMINATION_CONVERSION_FAILED)
      })
      // an IDR request that came before the pipeline existed (the client's Start A) is the
      // stream's start: the pipeline's first frame answers it
      if (stream.idrPending) {
        stream.idrPending = false
        pipeline.requestIdr('start')
      }
    } catch (error) {
      this.log.warn(`session ${s.id}: the media pipeline failed to start: ${(error as Error).message}`)
      await this.endStream(stream.peer.peer, 'pipeline failed', true, TERMINATION_CONVERSION_FAILED)
    }
  }

  private onControlMessage(peer: ControlPeer, m: ClientMessage): void {
    const stream = this.streams.get(peer.peer)
    const c = stream?.control
    switch (m.kind) {
      case 'idr-request':
      case 'rfi': {
        if (c !== undefined) {
          if (m.kind === 'rfi') c.rfiRequests++
          else c.idrRequests++
        }
        const reason = m.kind === 'rfi' ? 'rfi' : 'client-request'
        this.emit('idr-request', peer.sessionId, reason)
        if (stream?.pipeline !== undefined) stream.pipeline.requestIdr(reason)
        else if (stream !== undefined) stream.idrPending = true
        return
      }
      case 'ltr-ack':
        if (c !== undefined) c.ltrAcks++
        return
      case 'fec-status':
        if (c !== undefined) {
          c.fecStatusReports++
          c.packetsReportedMissing += m.status.missingPacketsBeforeHighest
          c.lastFecStatus = m.status
        }
        return
      case 'ping':
      case 'start-b':
      case 'loss-stats':
        if (c !== undefined) c.pings++
        return
      case 'input':
        if (c !== undefined) c.inputEvents++
        // one desktop, one driver: only the streams of the client that launched the app give input
        if (stream !== undefined && this.appOwner !== undefined && stream.session.clientFingerprint !== this.appOwner) {
          this.drops.count('control', 'input-not-owner')
          return
        }
        // only the stream's own (authenticated, decrypted) control peer reaches its device
        stream?.input?.pending.push(m.event)
        this.deliverInput(m.event, peer.sessionId)
        return
      case 'unknown':
        if (c !== undefined) c.unknownMessages++
        return
    }
  }

  private deliverInput(event: InputEvent, sessionId: number): void {
    this.emit('input', event, sessionId)
    try {
      this.options.inputSink?.handle(event, {id: sessionId})
    } catch (error) {
      this.log.warn(`input sink failed: ${(error as Error).message}`)
    }
  }

  private openInput(sessionId: number): StreamInput | undefined {
    const open = this.options.openInput
    if (open === undefined) return undefined
    try {
      const device = open(sessionId)
      return device === undefined ? undefined : {device, pending: [], filter: new FeedbackFilter(), feedbackSent: 0}
    } catch (error) {
      this.log.warn(`session ${sessionId}: no input, the stream is view-only: ${(error as Error).message}`)
      return undefined
    }
  }

  /** The end of a control service round: each stream's events go to its device in one submit
   * (the device queues them for its writer thread and returns at once), and what the device
   * asks of the client (rumble, LED, motion) goes back as control messages. */
  private flushInput(): void {
    for (const stream of this.streams.values()) {
      const input = stream.input
      if (input === undefined || stream.ended) continue
      try {
        if (input.pending.length > 0) {
          const events = input.pending
          input.pending = []
          input.device.submit(events)
        }
        for (const f of input.device.feedback()) {
          if (!input.filter.pass(f)) continue
          const m = encodeFeedback(f)
          if (this.control.send(stream.peer.peer, m.type, m.payload)) input.feedbackSent++
        }
      } catch (error) {
        this.log.warn(`session ${stream.session.id}: input device failed: ${(error as Error).message}`)
      }
    }
  }

  /** Stream end or client gone: every key, button and pad input is released, then the device closes. */
  private closeInput(stream: ActiveStream): void {
    const input = stream.input
    if (input === undefined || input.final !== undefined) return
    try {
      input.device.releaseAll()
      input.device.close()
      input.final = input.device.stats()
    } catch (error) {
      this.log.warn(`session ${stream.session.id}: closing the input device failed: ${(error as Error).message}`)
      input.final = input.device.stats()
    }
  }

  /** Ends one stream: termination (when the host ends it), pipeline stop, bookkeeping. */
  private async endStream(peerId: number, reason: string, sendTermination: boolean, code?: number): Promise<void> {
    const stream = this.streams.get(peerId)
    if (stream === undefined || stream.ended) return
    stream.ended = true
    this.streams.delete(peerId)
    this.closeInput(stream)
    if (sendTermination) this.control.terminate(peerId, code)
    this.pings.forget(stream.session.pingPayload)
    const pipeline = stream.pipeline
    stream.pipeline = undefined
    if (pipeline !== undefined) {
      try {
        await pipeline.stop()
      } catch (error) {
        this.log.warn(`session ${stream.session.id}: pipeline stop failed: ${(error as Error).message}`)
      }
    }
    this.log.info(`session ${stream.session.id}: stream ended (${reason})`)
    this.emit('stream-end', this.streamInfo(stream), reason)
  }

  private streamInfo(s: ActiveStream): StreamInfo {
    return {
      sessionId: s.session.id,
      appId: s.session.appId,
      client: s.session.clientFingerprint,
      controlPeer: {address: s.peer.address, port: s.peer.port},
      video: s.video,
      audio: s.audio,
      config: s.session.config,
      startedAt: s.startedAt,
      control: {...s.control},
      hasPipeline: s.pipeline !== undefined,
      input:
        s.input !== undefined
          ? {...(s.input.final ?? s.input.device.stats()), backend: s.input.device.backend, feedbackSent: s.input.feedbackSent}
          : undefined,
      enet: s.ended ? undefined : this.control.peerStats(s.peer.peer),
    }
  }

  private malformed(what: string, detail: string): void {
    this.malformedCounts[what] = (this.malformedCounts[what] ?? 0) + 1
    this.drops.count(MALFORMED_PORT[what] ?? 'control', what)
    this.log.debug?.(`malformed ${what}: ${detail}`)
    this.emit('malformed', what, detail)
  }
}

/** Connections closed since the last heap trim that make a flood. */
const FLOOD_CLOSED = 256

/** The port each malformed kind arrives on, for the drop counters. */
const MALFORMED_PORT: Record<string, DropPort> = {
  'http-query': 'http',
  'pairing-wait': 'pairing',
  rtsp: 'rtsp',
  sdp: 'rtsp',
  control: 'control',
  'control-connect': 'control',
  enet: 'control',
}
