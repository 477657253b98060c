/**
 * The CLI contract's error half: exit statuses, the stable error codes a script can match, and
 * the one function that turns whatever a command threw into a {code, message, exit} failure.
 * src/cli/command.ts reports that failure; the README's "CLI contract" section lists this table.
 */
import {inspect} from 'node:util'

/** 0: done and every check passed; 1: ran, but a check failed or something it needs is not there; 2: fix the command line or the input. */
export const EXIT = {ok: 0, failed: 1, usage: 2} as const
export type ExitStatus = (typeof EXIT)[keyof typeof EXIT]

/** Every code a `--json` error may carry, with its exit status; codes are stable, add new ones at the end of their group. */
export const ERROR_CODES = {
  // exit 2: the command line is wrong
  unknown_flag: {exit: EXIT.usage, meaning: 'a flag the command does not have'},
  unexpected_argument: {exit: EXIT.usage, meaning: 'more arguments than the command takes'},
  missing_argument: {exit: EXIT.usage, meaning: 'a required argument is missing'},
  missing_flag: {exit: EXIT.usage, meaning: 'a required flag is missing'},
  invalid_flag_value: {exit: EXIT.usage, meaning: 'a flag value is malformed, not one of its options, or out of range'},
  invalid_argument: {exit: EXIT.usage, meaning: 'an argument is malformed or not one of its options'},
  conflicting_flags: {exit: EXIT.usage, meaning: 'flags that cannot go together, or a flag that needs another'},
  usage: {exit: EXIT.usage, meaning: 'any other command-line mistake'},
  unknown_command: {exit: EXIT.usage, meaning: 'no lumen command has this name'},
  // exit 2: an input or output file is wrong
  file_not_found: {exit: EXIT.usage, meaning: 'a file named on the command line does not exist (or its folder does not)'},
  file_unreadable: {exit: EXIT.usage, meaning: 'an input file exists but cannot be read (permissions, a directory)'},
  file_unwritable: {exit: EXIT.usage, meaning: 'an output file cannot be written'},
  malformed_input: {exit: EXIT.usage, meaning: 'an input file is not in the expected format (a malformed trace, a foreign or incomplete log)'},
  // exit 1: the command ran and could not finish
  unavailable: {exit: EXIT.failed, meaning: 'something the command needs is missing or not working on this box (GPU, encoder, display, the shim, a port)'},
  failed: {exit: EXIT.failed, meaning: 'the command ran and failed for the reason the message gives'},
  internal: {exit: EXIT.failed, meaning: 'an unexpected error, a bug in Lumen: the message names it and stderr carries the stack'},
} as const satisfies Record<string, {exit: ExitStatus; meaning: string}>

export type ErrorCode = keyof typeof ERROR_CODES

/** An expected failure: a code from ERROR_CODES and a sentence a person can act on. */
export class CliFailure extends Error {
  override readonly name = 'CliFailure'

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: {cause?: unknown},
  ) {
    // one line on stderr and in the JSON, whatever a cause's text held
    super(message.replace(/\s*\n\s*/g, ' ').trim(), options)
  }

  get exit(): ExitStatus {
    return ERROR_CODES[this.code].exit
  }
}

/** The `--json` document of a failure, the only thing on stdout when a command fails. */
export interface ErrorDocument {
  error: {code: ErrorCode; message: string; exit: ExitStatus}
}

export function errorDocument(f: CliFailure): ErrorDocument {
  return {error: {code: f.code, message: f.message, exit: f.exit}}
}

/** A domain error class and the code it stands for in one command (LumenCommand.errorCodes). */
export type ErrorMapping = readonly [new (...args: never[]) => Error, ErrorCode]

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g
const SEE_HELP = /\s*See more help with --help\s*$/

/** oclif's wording made one line: colour, its "See more help" tail and layout newlines gone. */
function oneLine(text: string): string {
  return text.replace(ANSI, '').replace(SEE_HELP, '').replace(/\s*\n\s*/g, '; ').trim()
}

/** Parser error classes of @oclif/core (not exported by name), by constructor name. */
const OCLIF_PARSE_CODES: Record<string, ErrorCode> = {
  NonExistentFlagsError: 'unknown_flag',
  UnexpectedArgsError: 'unexpected_argument',
  RequiredArgsError: 'missing_argument',
  FlagInvalidOptionError: 'invalid_flag_value',
  ArgInvalidOptionError: 'invalid_argument',
  FailedFlagValidationError: 'conflicting_flags',
  ViolatedFlagConstraintError: 'conflicting_flags',
}

type OclifError = Error & {oclif?: {exit?: number}; args?: Array<{name?: string; description?: string}>; code?: unknown}
type ErrnoError = Error & {code: string; syscall?: string; path?: string}

function isErrno(error: Error): error is ErrnoError {
  const e = error as Partial<ErrnoError>
  return typeof e.code === 'string' && /^E[A-Z0-9]+$/.test(e.code) && typeof e.syscall === 'string'
}

const FILE_ONLY_ERRNOS = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'EEXIST', 'EROFS', 'ENOSPC', 'EDQUOT'])

/** A Node file-system error as the code and the reason in words. */
export function fileFailureOf(error: ErrnoError): {code: ErrorCode; reason: string} {
  switch (error.code) {
    case 'ENOENT':
      return {code: 'file_not_found', reason: 'no such file'}
    case 'ENOTDIR':
      return {code: 'file_not_found', reason: 'a folder on its path is not a folder'}
    case 'EACCES':
    case 'EPERM':
      return {code: 'file_unreadable', reason: 'permission denied'}
    case 'EISDIR':
      return {code: 'file_unreadable', reason: 'it is a folder, not a file'}
    case 'EEXIST':
      return {code: 'file_unwritable', reason: 'a file is in the way'}
    case 'EROFS':
      return {code: 'file_unwritable', reason: 'the file system is read-only'}
    case 'ENOSPC':
    case 'EDQUOT':
      return {code: 'file_unwritable', reason: 'no space left'}
    default:
      return {code: 'file_unreadable', reason: `${error.code} (${error.syscall})`}
  }
}

/** The code for a failure caused by `error`: a file code when it is a Node error on a path, else `fallback`. */
export function causeCode(error: unknown, fallback: ErrorCode): ErrorCode {
  if (error instanceof CliFailure) return error.code
  return error instanceof Error && isErrno(error) && error.path !== undefined ? fileFailureOf(error).code : fallback
}

/**
 * Whatever a command threw, as a failure: CliFailure as it is; a mapped domain error with its
 * code; oclif's parse errors (unknown flag, bad option, missing argument, a custom flag parser
 * that threw) as usage codes; `this.error(msg, {exit})` by its exit; a Node file error on a
 * path as a file code; anything else as `internal`.
 */
export function toFailure(error: unknown, commandId: string, mappings: readonly ErrorMapping[] = []): CliFailure {
  if (error instanceof CliFailure) return error
  if (!(error instanceof Error)) return new CliFailure('internal', `lumen ${commandId} stopped on a thrown ${inspect(error)}`, {cause: error})
  for (const [type, code] of mappings) if (error instanceof type) return new CliFailure(code, oneLine(error.message), {cause: error})

  const e = error as OclifError
  const help = `see \`lumen ${commandId} --help\``
  const parseCode = OCLIF_PARSE_CODES[e.constructor.name]
  if (parseCode !== undefined) {
    if (e.constructor.name === 'RequiredArgsError' && Array.isArray(e.args)) {
      const names = e.args.map((a) => (a.description === undefined ? `${a.name}` : `${a.name} (${a.description})`))
      return new CliFailure(parseCode, `missing argument: ${names.join(', ')}; ${help}`, {cause: error})
    }
    const message = oneLine(e.message).replace(/^The following errors? occurred:;?\s*/, '')
    const code = parseCode === 'conflicting_flags' && /^Missing required flag/.test(message) ? 'missing_flag' : parseCode
    return new CliFailure(code, `${message}; ${help}`, {cause: error})
  }
  // a flag's own parse function threw: oclif rewrites the message to "Parsing --flag \n\t<why>\nSee more help…"
  const parsing = /^Parsing (--[\w-]+)\s*\n\t([\s\S]*)$/.exec(e.message)
  if (parsing !== null) return new CliFailure('invalid_flag_value', `${parsing[1]}: ${oneLine(parsing[2])}; ${help}`, {cause: error})
  if (e.oclif?.exit !== undefined && !isErrno(e)) {
    // oclif's own CLIErrors from the parser ("Flag --x expects a value") and this.error(message, {exit: 2})
    if (e.oclif.exit === EXIT.usage) return new CliFailure('usage', /^(Flag|Unexpected flag)\b/.test(e.message) ? `${oneLine(e.message)}; ${help}` : oneLine(e.message), {cause: error})
    return new CliFailure('failed', oneLine(e.message), {cause: error})
  }
  if (isErrno(e)) {
    if (e.path !== undefined) {
      const {code, reason} = fileFailureOf(e)
      return new CliFailure(code, `cannot ${e.syscall} ${e.path}: ${reason}`, {cause: error})
    }
    // some file errors carry no path (a read of a folder); a socket's EACCES or EADDRINUSE is the box's state
    if (FILE_ONLY_ERRNOS.has(e.code)) return new CliFailure(fileFailureOf(e).code, oneLine(e.message), {cause: error})
    return new CliFailure('unavailable', oneLine(e.message), {cause: error})
  }
  return new CliFailure('internal', `unexpected ${e.name}: ${oneLine(e.message)} (a bug in lumen ${commandId}; the stack follows on stderr)`, {cause: error})
}
