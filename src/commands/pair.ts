import {createInterface} from 'node:readline/promises'

import {Args, Flags} from '@oclif/core'

import {LumenCommand} from '../cli/command.js'
import {connectControl, receive, resultOf, send, socketFlag, socketPathOf} from '../cli/local-control-client.js'

export interface PairResult {
  paired: {name: string; fingerprint: string; address?: string}
}

export default class Pair extends LumenCommand {
  static override summary = 'Enter the PIN a Moonlight client shows into the running lumen serve'

  static override description = `Talks to the running \`lumen serve\` through its control socket. With a PIN, hands it to the pairing request waiting for one (or keeps it for the next request) and waits until the client has paired. Without one, waits for the next pairing request and asks for the PIN on the terminal.`

  static override examples = ['<%= config.bin %> <%= command.id %> 1234', '<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> 1234 --wait 30 --json']

  static override args = {pin: Args.string({description: 'the 4-digit PIN the client shows', required: false})}

  static override flags = {
    socket: socketFlag,
    wait: Flags.integer({description: 'seconds to wait for the client to finish pairing', min: 1, max: 600, default: 60}),
  }

  async run(): Promise<PairResult> {
    const {args, flags} = await this.parse(Pair)
    if (args.pin !== undefined && !/^\d{4}$/.test(args.pin)) this.fail('invalid_argument', `the PIN is the 4 digits the Moonlight client shows, got '${args.pin}'`)
    const path = socketPathOf(flags.socket)
    const socket = await connectControl(path)
    try {
      send(socket, {cmd: 'pair', pin: args.pin, waitMs: flags.wait * 1000})
      let answer = await receive(socket, path)
      if (answer.event === 'pairing-request') {
        if (!process.stdin.isTTY) this.fail('usage', 'a pairing request is waiting, but there is no terminal to type the PIN on: give it as `lumen pair PIN`')
        const rl = createInterface({input: process.stdin, output: process.stderr})
        let pin = ''
        while (!/^\d{4}$/.test(pin)) pin = (await rl.question(`Pairing request from ${String(answer.address)}: the 4-digit PIN the client shows: `)).trim()
        rl.close()
        send(socket, {pin})
        answer = await receive(socket, path)
      }
      const result = resultOf(answer) as PairResult
      if (!this.jsonEnabled()) this.log(`paired '${result.paired.name}' (${result.paired.fingerprint.slice(0, 16)})${result.paired.address === undefined ? '' : ` at ${result.paired.address}`}`)
      return result
    } finally {
      socket.destroy()
    }
  }
}
