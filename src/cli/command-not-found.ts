/**
 * oclif's command_not_found hook (package.json oclif.hooks): a word after a command that takes
 * no arguments ("lumen zerocopy-probe extra") reaches oclif as the unknown command
 * "zerocopy-probe:extra", and a mistyped command name never reaches a command at all. Both get
 * the CLI contract here: exit 2, one sentence on stderr, the error document with --json.
 */
import type {Hook} from '@oclif/core'

import {reportFailure} from './command.js'
import {CliFailure} from './errors.js'

const hook: Hook<'command_not_found'> = async function ({argv, config, id}) {
  const words = id.split(':')
  const json = (argv ?? []).includes('--json') || words.includes('--json')
  for (let n = words.length - 1; n > 0; n--) {
    const command = words.slice(0, n).join(':')
    if (config.findCommand(command) !== undefined) {
      const extra = words.slice(n).join(' ')
      reportFailure(new CliFailure('unexpected_argument', `Unexpected argument: ${extra} (lumen ${command} takes none); see \`lumen ${command} --help\``), command, json)
    }
  }
  const known = config.commands.filter((c) => !c.hidden).map((c) => c.id.replaceAll(':', ' ')).sort()
  reportFailure(new CliFailure('unknown_command', `no command "${words.join(' ')}"; the commands are: ${known.join(', ')}`), words[0], json)
}

export default hook
