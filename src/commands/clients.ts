import {Args} from '@oclif/core'
import Table from 'cli-table3'

import {LumenCommand} from '../cli/command.js'
import {request, socketFlag, socketPathOf} from '../cli/local-control-client.js'
import type {ClientRow} from '../host/local-control.js'

export type ClientsResult = {clients: ClientRow[]} | {unpaired: {name: string; fingerprint: string}; endedStreams: number[]}

export default class Clients extends LumenCommand {
  static override summary = 'List the clients paired with the running lumen serve, or unpair one'

  static override description = `Talks to the running \`lumen serve\` through its control socket. \`lumen clients\` lists each paired client's name, fingerprint, when it paired and when it last made an HTTPS call in this run of serve. \`lumen clients unpair <name|fingerprint>\` revokes one: its next HTTPS call gets 401 and a stream it is watching ends.`

  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> unpair "client 1"', '<%= config.bin %> <%= command.id %> unpair 3f2a9c01 --json']

  static override args = {
    action: Args.string({description: 'list (the default) or unpair', options: ['list', 'unpair'], required: false}),
    client: Args.string({description: 'unpair: the client\'s name or fingerprint (8 or more hex digits of it)', required: false}),
  }

  static override flags = {socket: socketFlag}

  async run(): Promise<ClientsResult> {
    const {args, flags} = await this.parse(Clients)
    const path = socketPathOf(flags.socket)
    if (args.action === 'unpair') {
      if (args.client === undefined) this.fail('missing_argument', 'missing argument: client (its name or fingerprint, as `lumen clients` lists)')
      const r = (await request(path, {cmd: 'unpair', client: args.client})) as {unpaired: {name: string; fingerprint: string}; endedStreams: number[]}
      if (!this.jsonEnabled()) this.log(`unpaired '${r.unpaired.name}' (${r.unpaired.fingerprint.slice(0, 16)})${r.endedStreams.length > 0 ? `; ended its stream ${r.endedStreams.join(', ')}` : ''}`)
      return r
    }
    if (args.client !== undefined) this.fail('unexpected_argument', `Unexpected argument: ${args.client} (only \`lumen clients unpair\` takes a client)`)
    const r = (await request(path, {cmd: 'clients'})) as {clients: ClientRow[]}
    if (!this.jsonEnabled()) {
      if (r.clients.length === 0) this.log('no paired clients')
      else {
        const table = new Table({head: ['name', 'fingerprint', 'paired', 'last seen', 'streaming']})
        for (const c of r.clients) table.push([c.name, c.fingerprint.slice(0, 16), c.pairedAt, c.lastSeen ?? '-', c.streaming ? 'yes' : ''])
        this.log(table.toString())
      }
    }
    return r
  }
}
