/**
 * LumenCommand: the base every `lumen` command extends, and the one place the CLI contract
 * (README, "CLI contract") is enforced.
 *
 *   exit 0  done, and every check passed
 *   exit 1  ran, but a check failed or something it needs is not there (a GPU, a port, …)
 *   exit 2  usage or input error: a bad flag value, a missing or unreadable file, a malformed trace
 *
 * The same with and without --json. A failure prints one sentence on stderr; with --json, stdout
 * holds exactly one JSON document: the command's result, or {"error": {"code", "message",
 * "exit"}} with a code from ERROR_CODES (src/cli/errors.ts). Progress and logs go to stderr.
 *
 * A new command follows the contract by extending this class and nothing else:
 *
 *   import {LumenCommand} from '../cli/command.js'
 *
 *   export default class Pair extends LumenCommand {
 *     static override summary = 'Pair a Moonlight client'
 *     static override flags = {pin: Flags.string({description: '…'})}      // --json comes with the base
 *     // domain errors the body may throw, and the code each stands for (no try/catch needed):
 *     static override errorCodes = [[PairingTimeout, 'failed'], [StoreFormatError, 'malformed_input']] as const
 *
 *     async run(): Promise<PairResult> {
 *       const {flags} = await this.parse(Pair)                       // oclif's parse errors become exit 2
 *       if (!/^\d{4}$/.test(flags.pin)) this.fail('invalid_flag_value', `--pin must be 4 digits, got '${flags.pin}'`)
 *       const store = readInputFile(flags.store, 'the client store')  // src/cli/files.ts: file_not_found …
 *       const result = await pair(…)
 *       if (!this.jsonEnabled()) this.log(render(result))              // data on stdout, only without --json
 *       this.verdict(result.ok)                                        // exit 1 when a check failed
 *       return result                                                  // the --json document
 *     }
 *   }
 *
 * Rules: throw through this.fail(code, sentence) (or CliFailure) for every expected failure,
 * the sentence saying what is wrong and what to do; write progress and logs to stderr
 * (process.stderr.write, also with --json; Progress; this.logToStderr, which --json silences);
 * never process.exit() and never set process.exitCode yourself: verdict() and the base do.
 * `this.error(message, {exit: 2})` still works (code `usage`, or `failed` for exit 1), but a
 * code says more. Anything else thrown becomes `internal` (exit 1, its stack on stderr): a bug.
 * A new code goes into ERROR_CODES and the README's table together (a test compares them); a new
 * command adds its rows to test/cli/contract.test.ts (the test fails until it does).
 */
import {Command, Errors, ux} from '@oclif/core'

import {CliFailure, type ErrorCode, type ErrorMapping, errorDocument, EXIT, toFailure} from './errors.js'

/**
 * Reports a failure the contract's way and stops: one sentence on stderr (an internal error's
 * stack after it), the error document alone on stdout with --json, exit status by code.
 */
export function reportFailure(failure: CliFailure, commandId: string, json: boolean): never {
  process.stderr.write(`lumen ${commandId}: ${failure.message}\n`)
  if (failure.code === 'internal' && failure.cause instanceof Error && failure.cause.stack !== undefined) process.stderr.write(`${failure.cause.stack}\n`)
  if (json) process.stdout.write(`${JSON.stringify(errorDocument(failure), null, 2)}\n`)
  // ExitError: oclif's handler exits with this status and prints nothing more
  throw new Errors.ExitError(failure.exit)
}

export abstract class LumenCommand extends Command {
  static override enableJsonFlag = true

  /** Domain error classes this command's body may throw and the code each maps to (first match wins). */
  static errorCodes: readonly ErrorMapping[] = []

  /** Stops the command with an expected failure; the exit status follows from the code. */
  protected fail(code: ErrorCode, message: string, options?: {cause?: unknown}): never {
    throw new CliFailure(code, message, options)
  }

  /** The command ran: exit 1 unless every check passed (its data is still printed). */
  protected verdict(ok: boolean): void {
    process.exitCode = ok ? (process.exitCode ?? EXIT.ok) : EXIT.failed
  }

  override async init(): Promise<void> {
    await super.init()
    // with --json stdout carries one JSON document (logJson below writes it past console.log):
    // a stray console.log from a library goes to stderr
    if (this.jsonEnabled()) {
      const toStderr = (...args: unknown[]): void => console.error(...args)
      console.log = toStderr
      console.info = toStderr
      console.debug = toStderr
    }
  }

  /** The --json document, uncoloured, straight to stdout. */
  override logJson(json: unknown): void {
    process.stdout.write(`${ux.colorizeJson(json, {pretty: true})}\n`)
  }

  /** The one error path of every command: one sentence on stderr, the error document on stdout with --json, exit by code. */
  protected override async catch(error: Error): Promise<never> {
    if (error instanceof Errors.ExitError) throw error
    const id = this.id ?? (this.constructor as typeof Command).id ?? 'command'
    reportFailure(toFailure(error, id, (this.constructor as typeof LumenCommand).errorCodes), id, this.jsonEnabled())
  }
}
