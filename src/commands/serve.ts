import {Flags} from '@oclif/core'

import {LumenCommand} from '../cli/command.js'
import {causeCode} from '../cli/errors.js'
import {color} from '../cli/output.js'
import {configFileOf, readConfigFile, resolveSettings, type EffectiveSetting} from '../cli/config.js'
import {encoderTuning, streamTuningFlags} from '../cli/tuning-flags.js'
import {FixedPinSource, TerminalPinSource} from '../host/pairing.js'
import {ControlSocketBusy, defaultSocketPath, LocalControlServer, type StreamFigures} from '../host/local-control.js'
import {FirstPinSource, SocketPinSource} from '../host/pin-sources.js'
import {DEFAULT_PORTS, GameStreamHost, type HostPorts} from '../host/server.js'
import {StoreCorruptError} from '../host/store.js'
import {ENCODER_NAMES, type EncoderName} from '../native/codec.js'
import {createStartStream, type MediaOptions, type MediaStream} from '../media/stream/index.js'
import {detectSource} from '../media/stream/sources.js'
import {CodecModeSupport, EncryptionFlags} from '../protocol/flags.js'
import type {StreamStats} from '../protocol/pipeline.js'
import {MAX_STREAM_FPS} from '../protocol/stream-config.js'
import {type CodecCalibration, chooseCodecs, CODECS_SETTINGS, type CodecsSetting} from '../media/stream/codecs.js'
import {defaultEncoder} from '../media/encoder.js'
import {SEND_AT_MODES, type SendAt} from '../media/stream/video-loop.js'

export interface ServeResult {
  ports: HostPorts
  source: string
  pacing: string
  sendAt: string
  codecs: {offered: string[]; reason: string; calibration: CodecCalibration[]}
  streams: Array<StreamStats & {sessionId?: number}>
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
  LUMEN_CONVERT_THREADS    --convert-threads
  LUMEN_CACHE_DIR          where scripts/install.sh caches the FFmpeg 8 build (not read by serve)
  DISPLAY                  an X display: --source auto picks x11 when it names a live one`

export default class Serve extends LumenCommand {
  static override summary = 'Stream this desktop to Moonlight clients: pairing, app list, RTSP, control stream, video and audio, until Ctrl-C'

  static override description = `Starts a GameStream host a stock Moonlight client can pair with (type the PIN the client shows, or give --pin), launch "Desktop" on and watch.

Video: the capture source (--source) is encoded (libx265 for HEVC, libx264 for H.264, or --encoder), cut into Reed-Solomon protected RTP packets, and sent on one absolute grid of the monotonic clock, t0 + n/fps (fps = the client's request, or its display's exact rate such as 119.88 when that is within 1 % of it, capped at --max-fps). With --send-at ready (the default) frame n is captured at its grid point and its packets go out the moment it is encoded: host latency is what capture, encode and packetizing take, and the wire cadence carries the encoder's jitter. With --send-at deadline the frame is made ahead and the send thread holds it until its grid point: a fixed cadence on the wire, for up to one frame interval of added latency. Packets leave at line rate (--pacing line) or in bursts of at most --burst-packets packets spread over --burst-spread of the frame interval (--pacing burst, for shallow-buffered links). When nothing new was captured by a grid point the last picture is encoded again; a frame that overruns its slot goes out at once and the next one takes the next grid point (no drift, no catch-up burst). Every frame header carries the host processing latency that Moonlight's statistics overlay shows.

Audio: Opus 48 kHz CBR, stereo, 5.1 or 7.1 as the client asks (the layouts its DESCRIBE advertises), from the desktop's PipeWire monitor when PipeWire answers, else a tone per channel; AES-CBC and 4+2 FEC as the client expects.

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
      description: 'capture source: synthetic (moving test pattern with frame counter and clock), x11 (XShm grab of --display), pipewire (a PipeWire video node, --pipewire-node), portal (a monitor shared through the xdg-desktop-portal ScreenCast request); auto = portal when a Wayland/desktop session (WAYLAND_DISPLAY or XDG_CURRENT_DESKTOP) has a ScreenCast portal answering within 1 s, else x11 when $DISPLAY is live, else synthetic',
      options: ['auto', 'synthetic', 'x11', 'pipewire', 'portal'],
      default: 'auto',
      env: 'LUMEN_SOURCE',
    }),
    display: Flags.string({description: 'X display for --source x11 (default $DISPLAY)', env: 'LUMEN_DISPLAY'}),
    'pipewire-node': Flags.string({description: 'PipeWire video node id or name for --source pipewire (default: the first Video/Source node)', env: 'LUMEN_PIPEWIRE_NODE'}),
    encoder: Flags.string({description: 'video encoder (default libx265 for HEVC, libx264 for H.264)', options: [...ENCODER_NAMES], env: 'LUMEN_ENCODER'}),
    pacing: Flags.string({description: 'line: a frame leaves at its deadline at line rate; burst: in bursts of --burst-packets over --burst-spread of the frame interval', options: ['line', 'burst'], default: 'line', env: 'LUMEN_PACING'}),
    codecs: Flags.string({
      description:
        'video codecs to offer: auto (H.264, and HEVC when its encoder keeps up: a hardware encoder, or libx265 passing a 1-2 s calibration at 1280x720@60 and 1920x1080@60 at start), h264, or h264,hevc (no calibration)',
      options: [...CODECS_SETTINGS],
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
    pin: Flags.string({description: 'accept pairing with this 4-digit PIN (default: ask on the terminal when a client pairs)', env: 'LUMEN_PIN'}),
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
    }
    const base = flags['port-base']
    const ports: Partial<HostPorts> = base === undefined ? {} : {http: base, https: base - 5, video: base + 9, control: base + 10, audio: base + 11, rtsp: base + 21}
    const streams = new Map<MediaStream, number | undefined>()
    const tty = process.stderr.isTTY && !this.jsonEnabled()
    let statusShown = false
    const say = (m: string): void => {
      // a log line replaces the status line, which the next tick redraws
      process.stderr.write(`${statusShown ? '\r\x1b[2K' : ''}${m}\n`)
      statusShown = false
    }
    const encoder = flags.encoder as EncoderName | undefined
    const hevcEncoder: EncoderName = encoder === 'hevc_nvenc' || encoder === 'libx265' ? encoder : defaultEncoder('hevc')
    const codecs = chooseCodecs(flags.codecs as CodecsSetting, hevcEncoder, say)
    const socketPins = new SocketPinSource()
    let host: GameStreamHost
    try {
      host = await GameStreamHost.create({
        configDir: flags['config-dir'],
        bindAddress: flags.bind,
        ports,
        hostname: flags.name,
        pinSource: flags.pin !== undefined ? new FixedPinSource(flags.pin) : new FirstPinSource([socketPins, new TerminalPinSource()]),
        startStream: createStartStream(media, {onStream: (s) => streams.set(s, s.start.sessionId), onLog: (m) => say(m)}),
        mdns: flags.mdns,
        codecModeSupport: codecs.modeSupport,
        // control V2 and audio always; video only when asked for (media-encryption.md §2)
        encryptionSupported: EncryptionFlags.controlV2 | EncryptionFlags.audio | (flags['video-encryption'] ? EncryptionFlags.video : 0),
        logger: {info: say, warn: (m) => say(color.yellow(m))},
      })
    } catch (error) {
      this.fail(error instanceof StoreCorruptError ? 'malformed_input' : causeCode(error, 'unavailable'), `cannot open the host identity: ${(error as Error).message}`, {cause: error})
    }
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
      `lumen serve: HTTP ${bound.http}, HTTPS ${bound.https}, RTSP ${bound.rtsp}, control ${bound.control}, video ${bound.video}, audio ${bound.audio}; source ${source}, send at ${media.sendAt}, pacing ${media.pacing}${media.pacing === 'burst' ? ` (≤${media.burstPackets} packets over ${media.burstSpread} of a frame)` : ''}${media.perfPath ? `, perf log ${media.perfPath}` : ''}; codecs: ${codecs.reason}`,
    )
    if (flags.pin !== undefined) say(`pairing PIN: ${flags.pin}`)
    else say(`pairing: enter the PIN the client shows here when it pairs, or run \`lumen pair PIN\` (control socket ${socketPath})`)

    const status = setInterval(() => {
      if (!tty) return
      const live = figures()
      if (live.length === 0) {
        if (statusShown) process.stderr.write('\r\x1b[2K')
        statusShown = false
        return
      }
      const line = live.map((f) => `${f.fps.toFixed(0)} fps ${f.mbps.toFixed(1)} Mbit/s encode p99 ${f.encodeP99Ms.toFixed(1)} ms loss ${f.lostFrames} frames/${f.missingPackets} pkts`).join(' | ')
      process.stderr.write(`\r\x1b[2K${line}`)
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
    const summary = [...streams.entries()].map(([s, sessionId]) => ({sessionId, ...s.stats()}))
    await control?.close()
    await host.stop()
    await Promise.all([...streams.keys()].map((s) => s.stop()))
    say('lumen serve: stopped')
    return {ports: bound, source, pacing: media.pacing, sendAt: media.sendAt ?? 'ready', codecs: {offered: codecs.offered, reason: codecs.reason, calibration: codecs.calibration}, streams: summary}
  }
}
