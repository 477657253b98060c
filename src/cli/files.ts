/**
 * Files named on a command line, read and written with the CLI contract's codes: a missing,
 * unreadable or unwritable file stops the command with exit 2 and a sentence that names it.
 */
import {accessSync, constants, readFileSync, statSync, writeFileSync} from 'node:fs'

import {CliFailure, fileFailureOf} from './errors.js'

type ErrnoError = Error & {code: string; syscall: string}

function failureFor(error: unknown, verb: string, what: string, path: string, code?: 'file_unwritable'): CliFailure {
  const e = error as ErrnoError
  const {code: fileCode, reason: why} = typeof e.code === 'string' ? fileFailureOf(e) : {code: 'file_unreadable' as const, reason: (error as Error).message}
  const reason = code === 'file_unwritable' && e.code === 'ENOENT' ? 'its folder does not exist' : why
  // a missing folder on the path of an output file is still a file that cannot be written
  return new CliFailure(code ?? fileCode, `cannot ${verb} ${what} ${path}: ${reason}`, {cause: error})
}

/** Checks that `path` is a regular file this process can read; `what` names it in the sentence ("the trace"). */
export function checkInputFile(path: string, what: string): void {
  try {
    accessSync(path, constants.R_OK)
    if (statSync(path).isDirectory()) throw Object.assign(new Error('is a folder'), {code: 'EISDIR', syscall: 'open'})
  } catch (error) {
    throw failureFor(error, 'read', what, path)
  }
}

/** The text of an input file, or a CliFailure (file_not_found, file_unreadable) naming it. */
export function readInputFile(path: string, what: string): string {
  checkInputFile(path, what)
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    throw failureFor(error, 'read', what, path)
  }
}

/** Writes an output file, or throws a CliFailure (file_unwritable) naming it. */
export function writeOutputFile(path: string, data: string | Uint8Array, what: string): void {
  try {
    writeFileSync(path, data)
  } catch (error) {
    throw outputFileFailure(error, what, path)
  }
}

/** The CliFailure (file_unwritable) for an error opening or writing an output file elsewhere. */
export function outputFileFailure(error: unknown, what: string, path: string): CliFailure {
  return failureFor(error, 'write', what, path, 'file_unwritable')
}
