import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {Args, Flags} from '@oclif/core'

import {LumenCommand} from '../cli/command.js'
import {SESSION_ENV, UNIT_NAME, unitText, userUnitDir} from '../cli/systemd-unit.js'

export interface ServiceResult {
  action: 'install' | 'uninstall' | 'status'
  unit: string
  installed: boolean
  /** what systemctl --user said, or why it could not be asked */
  systemctl: {ran: boolean; ok: boolean; output: string}
}

function systemctl(args: string[]): {ran: boolean; ok: boolean; output: string} {
  const r = spawnSync('systemctl', ['--user', ...args], {encoding: 'utf8', timeout: 20_000})
  if (r.error !== undefined) return {ran: false, ok: false, output: `systemctl: ${r.error.message}`}
  return {ran: true, ok: r.status === 0, output: `${r.stdout}${r.stderr}`.trim()}
}

export default class Service extends LumenCommand {
  static override summary = 'Install, remove or show the systemd user unit that runs lumen serve at login'

  static override description = `install writes ${'$XDG_CONFIG_HOME'}/systemd/user/${UNIT_NAME} (ExecStart: this node and bin/run.js, serve and the arguments after --; Restart=on-failure; the session's ${SESSION_ENV.join(', ')} passed in; output to the journal), imports those variables into the user manager and enables and starts it (--no-enable: only write it). uninstall stops, disables and removes it. status shows systemctl --user status. serve's settings belong in its config file ($XDG_CONFIG_HOME/lumen/config.json).`

  static override examples = ['<%= config.bin %> <%= command.id %> install', '<%= config.bin %> <%= command.id %> install -- --source portal', '<%= config.bin %> <%= command.id %> status', 'journalctl --user -u lumen -f']

  static override strict = false

  static override args = {action: Args.string({description: 'install, uninstall or status', options: ['install', 'uninstall', 'status'], required: true})}

  static override flags = {enable: Flags.boolean({description: 'install: enable and start the unit through systemctl --user', default: true, allowNo: true})}

  async run(): Promise<ServiceResult> {
    const {args, flags, argv} = await this.parse(Service)
    const serveArgs = (argv as string[]).slice(1)
    if (args.action !== 'install' && serveArgs.length > 0) this.fail('unexpected_argument', `Unexpected argument: ${serveArgs[0]} (only install takes serve's arguments)`)
    const unit = join(userUnitDir(), UNIT_NAME)
    const action = args.action as ServiceResult['action']
    let result: ServiceResult
    if (action === 'install') {
      const runJs = resolve(fileURLToPath(new URL('../../../bin/run.js', import.meta.url)))
      mkdirSync(userUnitDir(), {recursive: true})
      writeFileSync(unit, unitText(process.execPath, runJs, serveArgs))
      let sc = {ran: false, ok: true, output: 'not enabled (--no-enable)'}
      if (flags.enable) {
        sc = systemctl(['import-environment', ...SESSION_ENV.filter((v) => process.env[v] !== undefined)])
        if (sc.ok) sc = systemctl(['daemon-reload'])
        if (sc.ok) sc = systemctl(['enable', '--now', UNIT_NAME])
      }
      result = {action, unit, installed: true, systemctl: sc}
    } else if (action === 'uninstall') {
      const sc = existsSync(unit) ? systemctl(['disable', '--now', UNIT_NAME]) : {ran: false, ok: true, output: 'no unit installed'}
      if (existsSync(unit)) unlinkSync(unit)
      if (sc.ran) systemctl(['daemon-reload'])
      result = {action, unit, installed: false, systemctl: sc}
    } else {
      result = {action, unit, installed: existsSync(unit), systemctl: systemctl(['status', '--no-pager', UNIT_NAME])}
    }
    if (!this.jsonEnabled()) {
      this.log(`${result.unit}: ${result.installed ? 'installed' : 'not installed'}`)
      if (action === 'install') this.log(readFileSync(unit, 'utf8').trimEnd())
      this.log(result.systemctl.output)
    }
    // uninstall: the file is gone; a user manager that cannot be reached runs nothing of it
    if (!result.systemctl.ok && action === 'uninstall') process.stderr.write(`lumen service: the unit is removed; systemctl --user did not answer (${result.systemctl.output.split('\n')[0]})\n`)
    if (!result.systemctl.ok && action === 'install') this.fail('unavailable', `${result.systemctl.output.split('\n')[0]}: the unit is ${result.installed ? `written to ${unit}; in your desktop session run \`systemctl --user enable --now ${UNIT_NAME}\`` : 'removed'}`)
    return result
  }
}
