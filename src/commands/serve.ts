import {availableParallelism} from 'node:os'

import {Flags} from '@oclif/core'

import {LumenCommand} from '../cli/command.js'
import {causeCode} from '../cli/errors.js'
import {color} from '../cli/output.js'
import {configFileOf, readConfigFile, resolveSettings, type EffectiveSetting} from '../cli/config.js'
import {encoderTuning, streamTuningFlags} from '../cli/tuning-flags.js'
import {DEFAULT_PIN_MINUTES} from '../host/limits.js'
import {OneTimePinSource, TerminalPinSource} from '../host/pairing.js'
import {DEFAULT_PORTS, GameStreamHost, type HostPorts, type StreamInfo} from '../host/server.js'
import {ControlSocketBusy, defaultSocketPath, LocalControlServer, type StreamFigures} from '../host/local-control.js'
import {FirstPinSource, SocketPinSource} from '../host/pin-sources.js'
import {StoreCorruptError} from '../host/store.js'
import {ENCODER_NAMES, type EncoderName} from '../native/codec.js'
import {limitMallocArenas} from '../native/core.js'
import {createStartStream, type MediaOptions, type MediaStream} from '../media/stream/index.js'
import {detectSource} from '../media/stream/sources.js'
import {CAPTURE_PATHS, type CapturePathSetting, planCapturePath} from '../media/stream/capture-path.js'
import {CodecModeSupport, EncryptionFlags} from '../protocol/flags.js'
import type {StreamStats} from '../protocol/pipeline.js'
import {MAX_STREAM_FPS} from '../protocol/stream-config.js'
import {type CodecCalibration, chooseCodecs, parseCodecsSetting, VIDEO_FORMATS} from '../media/stream/codecs.js'
import {defaultEncoder, ENCODER_CODEC} from '../media/encoder.js'
import {SEND_AT_MODES, type SendAt} from '../media/stream/video-loop.js'
import type {InputSettings} from '../input/device.js'
import {INPUT_CHOICES, inputHelp, selectInput, type InputChoice} from '../input/select.js'

export interface ServeResult {
  ports: HostPorts
  source: string
  pacing: string
  sendAt: string
  /** the input backend streams get (none: view-only) */
  input: {backend: string; line: string}
  codecs: {offered: string[]; reason: string; calibration: CodecCalibration[]}
  /** the last MAX_SUMMARIES streams, oldest first */
  streams: StreamSummary[]
  streamsTotal: number
  maxSessions: number
  /** what the host refused or dropped, per "port:kind" */
  drops: Record<string, number>
}

/** What an ended stream leaves behind: its figures, its session and that session's input. */
type StreamSummary = StreamStats & {sessionId?: number; input?: StreamInfo['input']}

/** Ended streams keep one summary record each, the newest this many. */
const MAX_SUMMARIES = 100

/** The --max-sessions default: what one machine's encoder carries (SECURITY.md §Sessions). */
export function defaultMaxSessions(encoder: EncoderName | undefined, cores = availableParallelism()): number {
  if (encoder !== undefined && encoder.endsWith('_nvenc')) return 3
  return Math.max(1, Math.floor(cores / 8))
}

const share = Flags.custom<number>({
  parse: async (input) => {
    const v = Number(input)
    if (!Number.isFinite(v) || v <= 0 || v > 1) throw new Error(`expected a share of the frame interval in (0, 1], got "${input}"`)
    return v
  },
})

const ENV_HELP = `ENVIRONMENT
  LUMEN_PERF=FILE          write one binary record per video frame to FILE (capture, convert, encode, packetize+FEC, send µs; packets, bytes, burst; IDR / re-encoded; deadline slack; client-reported loss) — read it with \`lumen perf-report FILE\`
  LUMEN_SOURCE             --source
  LUMEN_INPUT              --input
  LUMEN_UINPUT_PATH        --uinput-path (default /dev/uinput)
  LUMEN_DISPLAY            --display (the x11 source; default $DISPLAY)
  LUMEN_PIPEWIRE_NODE      --pipewire-node
  LUMEN_PORTAL_TIMEOUT     --portal-timeout
  LUMEN_ENCODER            --encoder
  LUMEN_PACING             --pacing
  LUMEN_SEND_AT            --send-at
  LUMEN_CODECS             --codecs
  LUMEN_BURST_PACKETS      --burst-packets
  LUMEN_BURST_SPREAD       --burst-spread
  LUMEN_AUDIO              --audio
  LUMEN_PIN                --pin
  LUMEN_PIN_MINUTES        --pin-minutes
  LUMEN_MAX_SESSIONS       --max-sessions
  LUMEN_MALLOC_ARENAS      --malloc-arenas
  LUMEN_BIND               --bind
  LUMEN_PORT_BASE          --port-base
  LUMEN_MAX_FPS            --max-fps
  LUMEN_CONFIG             --config (default $XDG_CONFIG_HOME/lumen/config.json)
  LUMEN_SOCKET             --socket
  LUMEN_CONFIG_DIR         --config-dir (default $XDG_CONFIG_HOME/lumen)
  LUMEN_SHIM               path to liblumen.so instead of libs/build/liblumen.so
  LUMEN_FFMPEG_DEBUG=1     FFmpeg's own log at debug level on stderr
  LUMEN_UDP_GSO            --udp-gso
  LUMEN_REALTIME           --realtime
  LUMEN_SPIN_US            --spin-us
  LUMEN_RS_ISA             force the Reed-Solomon kernel (scalar, avx2, gfni-avx2, gfni-avx512)
  LUMEN_X264_PRESET        --x264-preset
  LUMEN_X265_PRESET        --x265-preset
  LUMEN_AOM_SPEED          --aom-speed
  LUMEN_CONVERT_THREADS    --convert-threads
  LUMEN_CACHE_DIR          where scripts/install.sh caches the FFmpeg 8 build (not read by serve)
  DISPLAY                  an X display: --source auto picks x11 when it names a live one`

export default class Serve extends LumenCommand {
  static override summary = 'Stream this desktop to Moonlight clients: pairing, app list, RTSP, control stream, video and audio, until Ctrl-C'

  static override description = `Starts a GameStream host a stock Moonlight client can pair with (type the PIN the client shows, or give --pin), launch "Desktop" on and watch.

Video: the capture source (--source) is encoded (libx265 for HEVC, libx264 for H.264, or --encoder), cut into Reed-Solomon protected RTP packets, and sent on one absolute grid of the monotonic clock, t0 + n/fps (fps = the client's request, or its display's exact rate such as 119.88 when that is within 1 % of it, capped at --max-fps). With --send-at ready (the default) frame n is captured at its grid point and its packets go out the moment it is encoded: host latency is what capture, encode and packetizing take, and the wire cadence carries the encoder's jitter. With --send-at deadline the frame is made ahead and the send thread holds it until its grid point: a fixed cadence on the wire, for up to one frame interval of added latency. Packets leave at line rate (--pacing line) or in bursts of at most --burst-packets packets spread over --burst-spread of the frame interval (--pacing burst, for shallow-buffered links). When nothing new was captured by a grid point the last picture is encoded again; a frame that overruns its slot goes out at once and the next one takes the next grid point (no drift, no catch-up burst). Every frame header carries the host processing latency that Moonlight's statistics overlay shows.

Audio: Opus 48 kHz CBR, stereo, 5.1 or 7.1 as the client asks (the layouts its DESCRIBE advertises), from the desktop's PipeWire monitor when PipeWire answers, else a tone per channel; AES-CBC and 4+2 FEC as the client expects.

Input: the keyboard, mouse, touch, pen and gamepads of the client that launched the stream reach the desktop through one backend (--input); every event is bounded before it is injected and the malformed ones are counted and dropped. What each backend needs:
${inputHelp()}
auto picks uinput when its node is writable, else wlroots, else XTEST, else none (view-only, with one line saying why).

On a terminal, one status line (stderr) shows per stream: fps, Mbit/s, p99 encode time, and the frames the client reported lost.

${ENV_HELP}`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --source x11 --display :1 --pin 1234',
    '<%= config.bin %> <%= command.id %> --pacing burst --burst-packets 32 --burst-spread 0.5',
    'LUMEN_PERF=/tmp/lumen.perf <%= config.bin %> <%= command.id %> --no-mdns && <%= config.bin %> perf-report /tmp/lumen.perf',
  ]

  static override enableJsonFlag = true

  static override flags = {
    source: Flags.string({
      description: 'capture source: synthetic (moving test pattern with frame counter and clock), x11 (XShm grab of --display), pipewire (a PipeWire video node, --pipewire-node), portal (a monitor shared through the xdg-desktop-portal ScreenCast request), gltest (the synthetic pattern in a GL texture standing in for a dma-buf: the test source of the GPU capture path); auto = portal when a Wayland/desktop session (WAYLAND_DISPLAY or XDG_CURRENT_DESKTOP) has a ScreenCast portal answering within 1 s, else x11 when $DISPLAY is live, else synthetic',
      options: ['auto', 'synthetic', 'x11', 'pipewire', 'portal', 'gltest'],
      default: 'auto',
      env: 'LUMEN_SOURCE',
    }),
    'capture-path': Flags.string({
      description:
        'how frames reach the encoder: cpu (host memory, converted on the CPU), gpu (the zero-copy chain: pooled CUDA frames into NVENC, or converted to I420 on the GPU for libx264/libx265), auto (gpu when the encoder takes CUDA frames and the source has a GPU image, else cpu); a GPU step that fails moves the stream to the CPU path with one log line',
      options: [...CAPTURE_PATHS],
      default: 'auto',
      env: 'LUMEN_CAPTURE_PATH',
    }),
    'debug-gpu-fail-at': Flags.integer({description: 'test hook: the GPU path\'s import fails on this frame of each stream', min: 0, hidden: true, env: 'LUMEN_DEBUG_GPU_FAIL_AT'}),
    display: Flags.string({description: 'X display for --source x11 and --input xtest (default $DISPLAY)', env: 'LUMEN_DISPLAY'}),
    input: Flags.string({
      description: 'input backend: uinput (virtual kernel devices: keyboard, mice, touch, pen, gamepads with rumble), xtest (the X display\'s keyboard and pointer), wlroots (virtual pointer and keyboard of a wlroots compositor), none (view-only); auto = the first of those that works here',
      options: [...INPUT_CHOICES],
      default: 'auto',
      env: 'LUMEN_INPUT',
    }),
    'uinput-path': Flags.string({description: 'uinput device node for --input uinput', default: '/dev/uinput', env: 'LUMEN_UINPUT_PATH'}),
    'pipewire-node': Flags.string({description: 'PipeWire video node id or name for --source pipewire (default: the first Video/Source node)', env: 'LUMEN_PIPEWIRE_NODE'}),
    encoder: Flags.string({description: 'video encoder (default libx265 for HEVC, libx264 for H.264)', options: [...ENCODER_NAMES], env: 'LUMEN_ENCODER'}),
    pacing: Flags.string({description: 'line: a frame leaves at its deadline at line rate; burst: in bursts of --burst-packets over --burst-spread of the frame interval', options: ['line', 'burst'], default: 'line', env: 'LUMEN_PACING'}),
    codecs: Flags.string({
      description:
        `video formats to offer: auto (H.264, and every other format whose encoder opens in it and keeps up: a hardware encoder, or a software one passing a 1-2 s calibration at 1280x720@60 and 1920x1080@60 at start), or a comma list of ${VIDEO_FORMATS.map((f) => f.name).join(', ')} (offered when they open, no calibration)`,
      parse: async (input) => (parseCodecsSetting(input), input),
      default: 'auto',
      env: 'LUMEN_CODECS',
    }),
    'send-at': Flags.string({
      description:
        'ready: capture on the frame grid and send each frame as soon as it is encoded (lowest latency; frame spacing on the wire follows the encoder); deadline: hold each frame until its grid point (even spacing on the wire, up to one frame interval more latency)',
      options: [...SEND_AT_MODES],
      default: 'ready',
      env: 'LUMEN_SEND_AT',
    }),
    'burst-packets': Flags.integer({description: 'burst pacing: at most this many packets back to back', min: 1, max: 1024, default: 32, env: 'LUMEN_BURST_PACKETS'}),
    'burst-spread': share({description: 'burst pacing: share of the frame interval (0-1] a frame is spread over', default: 0.5, env: 'LUMEN_BURST_SPREAD'}),
    audio: Flags.string({description: 'audio source: auto (PipeWire monitor, else a tone), pipewire, tone, off', options: ['auto', 'pipewire', 'tone', 'off'], default: 'auto', env: 'LUMEN_AUDIO'}),
    pin: Flags.string({
      description:
        'accept ONE pairing attempt with this 4-digit PIN within --pin-minutes (default: ask on the terminal when a client pairs). The first attempt spends it, paired or not: one wrong attempt is enough to find a 4-digit PIN offline, so the next pairing needs a new --pin (SECURITY.md)',
      env: 'LUMEN_PIN',
    }),
    'pin-minutes': Flags.integer({description: 'minutes the --pin stays good for its one attempt', min: 1, max: 24 * 60, default: DEFAULT_PIN_MINUTES, env: 'LUMEN_PIN_MINUTES'}),
    'max-sessions': Flags.integer({
      description: 'streams at once; past it a launch is answered "busy" (default: 3 with an NVENC --encoder, else one per 8 CPU cores, at least 1)',
      min: 1,
      max: 16,
      env: 'LUMEN_MAX_SESSIONS',
    }),
    'malloc-arenas': Flags.integer({
      description: "glibc malloc arenas the host may use (0: glibc's own limit, 8 per core); a few let the memory of ended streams and closed connections be reused, so resident memory stays flat over days of streams",
      min: 0,
      max: 64,
      default: 2,
      env: 'LUMEN_MALLOC_ARENAS',
    }),
    mdns: Flags.boolean({description: 'advertise the host over mDNS (_nvstream._tcp); --no-mdns to stay silent', default: true, allowNo: true}),
    bind: Flags.string({description: 'IPv4 address to listen on', default: '0.0.0.0', env: 'LUMEN_BIND'}),
    'port-base': Flags.integer({
      description: `base port P as Sunshine: HTTP P, HTTPS P-5, video P+9, control P+10, audio P+11, RTSP P+21 (default ${DEFAULT_PORTS.http})`,
      min: 6,
      max: 65514,
      env: 'LUMEN_PORT_BASE',
    }),
    'max-fps': Flags.integer({description: `cap on the client-requested frame rate (at most ${MAX_STREAM_FPS})`, min: 1, max: MAX_STREAM_FPS, default: MAX_STREAM_FPS, env: 'LUMEN_MAX_FPS'}),
    fec: Flags.integer({description: 'FEC percentage (parity per data packet) instead of the stream default (20)', min: 0, max: 255}),
    'video-encryption': Flags.boolean({description: 'offer AES-GCM video encryption to clients (audio is always encrypted when the client asks)', default: false}),
    name: Flags.string({description: 'host name shown by clients (default the OS host name)'}),
    'config-dir': Flags.string({description: 'where the host identity and paired clients live', env: 'LUMEN_CONFIG_DIR'}),
    perf: Flags.string({description: 'per-frame timing log (see LUMEN_PERF below)', env: 'LUMEN_PERF'}),
    duration: Flags.integer({description: 'stop after this many seconds (default: until Ctrl-C)', min: 1}),
    config: Flags.string({description: 'settings file (JSON, keys as the flags; README "Config file"); default $XDG_CONFIG_HOME/lumen/config.json when it exists', env: 'LUMEN_CONFIG'}),
    socket: Flags.string({description: 'the control socket `lumen pair`, `lumen clients` and `lumen status` talk to (default $XDG_RUNTIME_DIR/lumen/control.sock, else $XDG_CONFIG_HOME/lumen/control.sock)', env: 'LUMEN_SOCKET'}),
    'print-config': Flags.boolean({description: 'print the effective settings and where each came from (flag, env, file, default), then exit', default: false}),
    ...streamTuningFlags,
  }

  async run(): Promise<ServeResult | {settings: EffectiveSetting[]}> {
    const parsed = await this.parse(Serve)
    const argvFlags = new Set(parsed.raw.flatMap((r) => (r.type === 'flag' ? [r.flag] : [])))
    const configFile = configFileOf(argvFlags.has('config') ? parsed.flags.config : undefined)
    const resolved = await resolveSettings(Serve.flags as never, parsed.flags, argvFlags, {path: configFile.path, values: readConfigFile(configFile.path, configFile.required)})
    const flags = resolved.flags as typeof parsed.flags
    if (flags['print-config']) {
      if (!this.jsonEnabled()) for (const s of resolved.settings) this.log(`${s.key} = ${s.value === undefined ? '-' : JSON.stringify(s.value)}  (${s.source}${s.from === undefined ? '' : ` ${s.from}`})`)
      return {settings: resolved.settings}
    }
    // before any stream's threads exist: glibc gives each new thread an arena until the cap is set
    if (flags['malloc-arenas'] > 0 && !limitMallocArenas(flags['malloc-arenas'])) this.warn(`glibc refused --malloc-arenas ${flags['malloc-arenas']}; running with its default arenas`)
    if (flags.pin !== undefined && !/^\d{4}$/.test(flags.pin)) this.fail('invalid_flag_value', `--pin must be 4 digits, got '${flags.pin}'`)
    const source = flags.source === 'auto' ? detectSource() : (flags.source as MediaOptions['source'])
    const media: MediaOptions = {
      source,
      display: flags.display,
      pipewireTarget: flags['pipewire-node'],
      encoder: flags.encoder,
      pacing: flags.pacing as MediaOptions['pacing'],
      sendAt: flags['send-at'] as SendAt,
      burstPackets: flags['burst-packets'],
      burstSpread: flags['burst-spread'],
      perfPath: flags.perf,
      audio: flags.audio as MediaOptions['audio'],
      maxFps: flags['max-fps'],
      fecPercentage: flags.fec,
      realtime: flags.realtime,
      spinUs: flags['spin-us'],
      udpGso: flags['udp-gso'],
      ...encoderTuning(flags),
      portalTimeoutMs: Math.round(flags['portal-timeout'] * 1000),
      capturePath: flags['capture-path'] as CapturePathSetting,
      gpuFailAtFrame: flags['debug-gpu-fail-at'],
    }
    const inputSettings: InputSettings = {uinputPath: flags['uinput-path'], display: flags.display ?? process.env.DISPLAY, waylandSocket: waylandSocket(process.env)}
    const input = selectInput(flags.input as InputChoice, inputSettings)
    if (!input.ok) this.fail('unavailable', input.reason)
    const inputBackend = input.backend
    const base = flags['port-base']
    const ports: Partial<HostPorts> = base === undefined ? {} : {http: base, https: base - 5, video: base + 9, control: base + 10, audio: base + 11, rtsp: base + 21}
    const streams = new Map<MediaStream, number | undefined>()
    // ended streams leave only this record: the MediaStream and its workers are let go
    const summaries: StreamSummary[] = []
    // a session's input figures, from its stream-end until its streams are retired
    const inputBySession = new Map<number, StreamInfo['input']>()
    let streamsTotal = 0
    const retire = (s: MediaStream): void => {
      if (!streams.has(s)) return
      const sessionId = streams.get(s)
      summaries.push({sessionId, ...s.stats(), input: sessionId === undefined ? undefined : inputBySession.get(sessionId)})
      if (summaries.length > MAX_SUMMARIES) summaries.shift()
      streams.delete(s)
    }
    const tty = process.stderr.isTTY && !this.jsonEnabled()
    let statusShown = false
    const say = (m: string): void => {
      // a log line replaces the status line, which the next tick redraws
      process.stderr.write(`${statusShown ? '\r\x1b[2K' : ''}${m}\n`)
      statusShown = false
    }
    const encoder = flags.encoder as EncoderName | undefined
    const maxSessions = flags['max-sessions'] ?? defaultMaxSessions(encoder)
    const hevcEncoder: EncoderName = encoder === 'hevc_nvenc' || encoder === 'libx265' ? encoder : defaultEncoder('hevc')
    const av1Encoder: EncoderName = encoder !== undefined && ENCODER_CODEC[encoder] === 'av1' ? encoder : defaultEncoder('av1')
    const codecs = chooseCodecs(parseCodecsSetting(flags.codecs), hevcEncoder, {progress: say, av1Encoder})
    const socketPins = new SocketPinSource()
    let host: GameStreamHost
    try {
      host = await GameStreamHost.create({
        configDir: flags['config-dir'],
        bindAddress: flags.bind,
        ports,
        hostname: flags.name,
        pinSource:
          flags.pin !== undefined
            ? new OneTimePinSource(flags.pin, flags['pin-minutes'], (why) => say(color.yellow(`the --pin PIN was spent by ${why}: pairing another client needs a new --pin`)))
            : new FirstPinSource([socketPins, new TerminalPinSource()]),
        startStream: createStartStream(media, {
          onStream: (s) => {
            streamsTotal++
            streams.set(s, s.start.sessionId)
          },
          onLog: (m) => say(m),
        }),
        maxSessions,
        mdns: flags.mdns,
        openInput: inputBackend === undefined ? undefined : () => inputBackend.open(inputSettings),
        codecModeSupport: codecs.modeSupport,
        // control V2 and audio always; video only when asked for (media-encryption.md §2)
        encryptionSupported: EncryptionFlags.controlV2 | EncryptionFlags.audio | (flags['video-encryption'] ? EncryptionFlags.video : 0),
        logger: {info: say, warn: (m) => say(color.yellow(m))},
      })
    } catch (error) {
      this.fail(error instanceof StoreCorruptError ? 'malformed_input' : causeCode(error, 'unavailable'), `cannot open the host identity: ${(error as Error).message}`, {cause: error})
    }
    host.on('stream-end', (info: StreamInfo) => {
      const i = info.input
      inputBySession.set(info.sessionId, i)
      if (inputBySession.size > MAX_SUMMARIES) inputBySession.delete(inputBySession.keys().next().value!)
      if (i === undefined) return
      const dropped = Object.entries(i.dropped).filter(([, n]) => n > 0)
      say(
        `session ${info.sessionId}: input (${i.backend}) accepted ${i.accepted}, applied ${i.applied}, refused ${i.refused}, dropped ${dropped.length === 0 ? 0 : dropped.map(([r, n]) => `${n} ${r}`).join(', ')}`,
      )
    })
    let bound: HostPorts
    try {
      bound = await host.start()
    } catch (error) {
      // an address that is not this machine's is a wrong --bind; a port in use is the box's state
      const code = (error as NodeJS.ErrnoException).code === 'EADDRNOTAVAIL' ? 'invalid_flag_value' : 'unavailable'
      this.fail(code, `cannot start the host: ${(error as Error).message}`, {cause: error})
    }
    const figures = (): StreamFigures[] => {
      const hostStreams = host.stats().streams
      return [...streams.keys()]
        .filter((s) => s.active && s.stats().framesSent > 0)
        .map((s) => {
          const l = s.live()
          const info = hostStreams.find((h) => h.sessionId === s.start.sessionId)
          return {sessionId: s.start.sessionId, client: info?.client, fps: l.fps, mbps: l.mbps, encodeP99Ms: l.encodeP99Us / 1000, roundTripMs: info?.enet?.roundTripMs, lostFrames: l.clientLost, missingPackets: info?.control.packetsReportedMissing ?? 0}
        })
    }
    const socketPath = flags.socket ?? defaultSocketPath()
    let control: LocalControlServer | undefined
    try {
      control = await LocalControlServer.start({path: socketPath, host, pins: socketPins, streams: figures, log: say})
    } catch (error) {
      // a second serve (another --port-base) still streams; only the first answers lumen pair/clients/status
      if (error instanceof ControlSocketBusy) say(color.yellow(`control socket: ${error.message}; this serve has none (give it --socket PATH)`))
      else {
        await host.stop()
        this.fail(causeCode(error, 'unavailable'), `cannot open the control socket: ${(error as Error).message}`, {cause: error})
      }
    }
    say(
      `lumen serve: HTTP ${bound.http}, HTTPS ${bound.https}, RTSP ${bound.rtsp}, control ${bound.control}, video ${bound.video}, audio ${bound.audio}; source ${source}, capture path ${capturePathLine(media.capturePath ?? 'auto', (flags.encoder as EncoderName | undefined) ?? defaultEncoder('h264'), source)}, send at ${media.sendAt}, pacing ${media.pacing}${media.pacing === 'burst' ? ` (≤${media.burstPackets} packets over ${media.burstSpread} of a frame)` : ''}${media.perfPath ? `, perf log ${media.perfPath}` : ''}; codecs: ${codecs.reason}`,
    )
    say(input.line)
    if (flags.pin !== undefined) say(`pairing PIN: ${flags.pin} (good for one pairing attempt within ${flags['pin-minutes']} min)`)
    else say(`pairing: enter the PIN the client shows here when it pairs, or run \`lumen pair PIN\` (control socket ${socketPath})`)

    host.on('stream-end', (info: {sessionId: number}) => {
      for (const [s, id] of streams) if (id === info.sessionId && !s.active) retire(s)
    })
    const status = setInterval(() => {
      for (const s of streams.keys()) if (!s.active) retire(s)
      if (!tty) return
      const live = figures()
      if (live.length === 0) {
        if (statusShown) process.stderr.write('\r\x1b[2K')
        statusShown = false
        return
      }
      const line = live.map((f) => `${f.fps.toFixed(0)} fps ${f.mbps.toFixed(1)} Mbit/s encode p99 ${f.encodeP99Ms.toFixed(1)} ms loss ${f.lostFrames} frames/${f.missingPackets} pkts`).join(' | ')
      const dropped = Object.values(host.stats().drops).reduce((a, b) => a + b, 0)
      process.stderr.write(`\r\x1b[2K${line}${dropped > 0 ? ` | dropped ${dropped}` : ''}`)
      statusShown = true
    }, 1000)

    await new Promise<void>((resolve) => {
      const done = (): void => resolve()
      process.once('SIGINT', done)
      process.once('SIGTERM', done)
      if (flags.duration !== undefined) setTimeout(done, flags.duration * 1000)
    })
    clearInterval(status)
    if (statusShown) process.stderr.write('\r\x1b[2K')
    statusShown = false
    const remaining = [...streams.keys()]
    for (const s of remaining) retire(s)
    const drops = host.stats().drops
    await control?.close()
    await host.stop()
    await Promise.all(remaining.map((s) => s.stop()))
    say('lumen serve: stopped')
    return {ports: bound, source, input: {backend: inputBackend?.name ?? 'none', line: input.line}, pacing: media.pacing, sendAt: media.sendAt ?? 'ready', codecs: {offered: codecs.offered, reason: codecs.reason, calibration: codecs.calibration}, streams: summaries, streamsTotal, maxSessions, drops}
  }
}

/** The Wayland display socket the session names: $WAYLAND_DISPLAY, relative to $XDG_RUNTIME_DIR. */
function waylandSocket(env: NodeJS.ProcessEnv): string | undefined {
  const name = env.WAYLAND_DISPLAY
  if (name === undefined || name === '') return undefined
  if (name.startsWith('/')) return name
  const dir = env.XDG_RUNTIME_DIR
  return dir === undefined || dir === '' ? undefined : `${dir}/${name}`
}

/** The start line's capture path: what runs and why (a stream's own start line says whether the GPU path opened). */
function capturePathLine(setting: CapturePathSetting, encoder: EncoderName, source: MediaOptions['source']): string {
  const plan = planCapturePath(setting, encoder, source)
  return plan.tryGpu ? `gpu when the chain opens (${plan.reason}; each stream's start line says)` : `cpu (${plan.reason})`
}
