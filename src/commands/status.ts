import Table from 'cli-table3'

import {LumenCommand} from '../cli/command.js'
import {request, socketFlag, socketPathOf} from '../cli/local-control-client.js'
import type {StreamFigures} from '../host/local-control.js'

export interface StatusResult {
  streams: StreamFigures[]
}

export default class Status extends LumenCommand {
  static override summary = "The running lumen serve's streams: fps, bitrate, encode p99, round trip, loss"

  static override description = `Talks to the running \`lumen serve\` through its control socket and prints, per running stream, the figures its terminal status line shows: frames per second and Mbit/s sent over the last second, the p99 encode time, the control stream's round trip, and the frames and packets the client reported lost.`

  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']

  static override flags = {socket: socketFlag}

  async run(): Promise<StatusResult> {
    const {flags} = await this.parse(Status)
    const r = (await request(socketPathOf(flags.socket), {cmd: 'status'})) as StatusResult
    if (!this.jsonEnabled()) {
      if (r.streams.length === 0) this.log('serve is running; no streams')
      else {
        const table = new Table({head: ['session', 'client', 'fps', 'Mbit/s', 'encode p99 ms', 'round trip ms', 'lost frames', 'missing packets']})
        for (const s of r.streams) table.push([s.sessionId ?? '-', (s.client ?? '-').slice(0, 16), s.fps.toFixed(0), s.mbps.toFixed(1), s.encodeP99Ms.toFixed(1), s.roundTripMs?.toFixed(1) ?? '-', s.lostFrames, s.missingPackets])
        this.log(table.toString())
      }
    }
    return r
  }
}
