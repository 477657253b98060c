/** Shared set-up for the host tests: a GameStreamHost on loopback with ephemeral ports. */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import type {StartStream, StreamPipeline, StreamStartOptions, StreamStats} from '../../src/protocol/pipeline.js'
import type {InputEvent, InputSink} from '../../src/host/input.js'
import {FixedPinSource, type PinSource} from '../../src/host/pairing.js'
import {GameStreamHost, type GameStreamHostOptions} from '../../src/host/server.js'
import {createClientIdentity, MoonlightTestClient} from '../client/client.js'

/** A StreamPipeline that records what the control plane asks of it. */
export class RecordingPipeline implements StreamPipeline {
  readonly idrRequests: string[] = []
  stopped = false
  constructor(readonly options: StreamStartOptions) {}
  requestIdr(reason: 'client-request' | 'rfi' | 'start'): void {
    this.idrRequests.push(reason)
  }
  async stop(): Promise<void> {
    this.stopped = true
  }
  stats(): StreamStats {
    return {framesSent: 0, uniqueFrames: 0, reencodedFrames: 0, idrFrames: 0, lateFrames: 0, packetsSent: 0, bytesSent: 0, idrRequests: this.idrRequests.length}
  }
}

export class RecordingInputSink implements InputSink {
  readonly events: Array<{event: InputEvent; session: number}> = []
  handle(event: InputEvent, session: {id: number}): void {
    this.events.push({event, session: session.id})
  }
}

export interface TestHost {
  host: GameStreamHost
  dir: string
  pipelines: RecordingPipeline[]
  input: RecordingInputSink
  close(): Promise<void>
}

export async function startTestHost(overrides: Partial<GameStreamHostOptions> & {pin?: string; pinSource?: PinSource; dir?: string} = {}): Promise<TestHost> {
  const dir = overrides.dir ?? mkdtempSync(join(tmpdir(), 'lumen-host-'))
  const pipelines: RecordingPipeline[] = []
  const input = new RecordingInputSink()
  const startStream: StartStream = async (options) => {
    const p = new RecordingPipeline(options)
    pipelines.push(p)
    return p
  }
  const host = await GameStreamHost.create({
    configDir: dir,
    bindAddress: '127.0.0.1',
    ports: {http: 0, https: 0, rtsp: 0, control: 0, video: 0, audio: 0},
    hostname: 'lumen-test',
    pinSource: overrides.pinSource ?? new FixedPinSource(overrides.pin ?? '1234'),
    startStream,
    inputSink: input,
    mdns: false,
    ...overrides,
  })
  await host.start()
  return {
    host,
    dir,
    pipelines,
    input,
    close: async () => {
      await host.stop()
      if (overrides.dir === undefined) rmSync(dir, {recursive: true, force: true})
    },
  }
}

export {waitUntil} from '../helpers/index.js'

/** A new client identity paired with the test host's PIN (1234); throws when pairing does not succeed. */
export async function pairedClient(t: TestHost): Promise<MoonlightTestClient> {
  const c = new MoonlightTestClient({host: '127.0.0.1', httpPort: t.host.ports.http, identity: await createClientIdentity()})
  const r = await c.pair('1234')
  if (r.outcome !== 'paired') throw new Error(`pairing with the test host: ${r.outcome}`)
  return c
}
