/**
 * toFailure (src/cli/errors.ts), the one classifier behind every command's error path, fed the
 * errors the real oclif parser and the real file system throw, and the errors nobody expected.
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {Args, Errors, Flags, Parser} from '@oclif/core'
import {describe, expect, it} from 'vitest'

import {CliFailure, ERROR_CODES, toFailure} from '../../src/cli/errors.js'

const flags = {
  size: Flags.integer({min: 1, max: 10}),
  mode: Flags.string({options: ['a', 'b']}),
  share: Flags.custom<number>({
    parse: async (input) => {
      if (input !== '0.5') throw new Error(`expected 0.5, got "${input}"`)
      return 0.5
    },
  })(),
  left: Flags.boolean({exclusive: ['right']}),
  right: Flags.boolean(),
}
const args = {file: Args.string({description: 'the log', required: true})}

async function parseError(argv: string[]): Promise<unknown> {
  try {
    await Parser.parse(argv, {flags, args, strict: true})
  } catch (error) {
    return error
  }
  throw new Error(`${argv.join(' ')} parsed`)
}

describe('toFailure', () => {
  const cases: Array<[string, string[], keyof typeof ERROR_CODES, RegExp]> = [
    ['unknown flag', ['f', '--nope'], 'unknown_flag', /^Nonexistent flag: --nope; see `lumen cmd --help`$/],
    ['extra argument', ['f', 'g'], 'unexpected_argument', /^Unexpected argument: g; see/],
    ['missing argument', [], 'missing_argument', /^missing argument: file \(the log\); see/],
    ['not an option', ['f', '--mode', 'c'], 'invalid_flag_value', /^Expected --mode=c to be one of: a, b; see/],
    ['integer out of range', ['f', '--size', '11'], 'invalid_flag_value', /^--size: Expected an integer less than or equal to 10 but received: 11; see/],
    ['custom parser threw', ['f', '--share', '2'], 'invalid_flag_value', /^--share: expected 0\.5, got "2"; see/],
    ['exclusive flags', ['f', '--left', '--right'], 'conflicting_flags', /--right=true cannot also be provided when using --left/],
    ['flag without value', ['f', '--mode'], 'usage', /^Flag --mode expects one of these values: a, b; see/],
  ]
  for (const [name, argv, code, message] of cases) {
    it(`oclif's parser: ${name} → ${code}, exit 2, one line`, async () => {
      const f = toFailure(await parseError(argv), 'cmd')
      expect(f.code).toBe(code)
      expect(f.exit).toBe(2)
      expect(f.message).toMatch(message)
      expect(f.message).not.toMatch(/\n|\x1b\[|See more help/)
    })
  }

  it('file-system errors on a path: the file codes, exit 2', () => {
    const read = (path: string): unknown => {
      try {
        readFileSync(path)
      } catch (error) {
        return error
      }
    }
    expect(toFailure(read(join(tmpdir(), 'lumen-no-such-file')), 'cmd')).toMatchObject({code: 'file_not_found', exit: 2})
    expect(toFailure(read(tmpdir()), 'cmd')).toMatchObject({code: 'file_unreadable', exit: 2})
    let write: unknown
    try {
      writeFileSync(join(tmpdir(), 'lumen-no-such-dir', 'x'), '')
    } catch (error) {
      write = error
    }
    expect(toFailure(write, 'cmd')).toMatchObject({code: 'file_not_found', exit: 2})
  })

  it('this.error(message, {exit}) keeps its exit; a mapped domain error takes its code; a CliFailure passes through', () => {
    expect(toFailure(new Errors.CLIError('bad --x', {exit: 2}), 'cmd')).toMatchObject({code: 'usage', exit: 2, message: 'bad --x'})
    expect(toFailure(new Errors.CLIError('no GPU', {exit: 1}), 'cmd')).toMatchObject({code: 'failed', exit: 1})
    class TraceBroken extends Error {}
    expect(toFailure(new TraceBroken('line 2'), 'cmd', [[TraceBroken, 'malformed_input']])).toMatchObject({code: 'malformed_input', exit: 2, message: 'line 2'})
    const f = new CliFailure('unavailable', 'no display')
    expect(toFailure(f, 'cmd')).toBe(f)
  })

  it('anything else is internal (exit 1), named as a bug', () => {
    const f = toFailure(new TypeError("cannot read properties of undefined (reading 'x')"), 'cmd')
    expect(f).toMatchObject({code: 'internal', exit: 1})
    expect(f.message).toMatch(/^unexpected TypeError: cannot read properties .* \(a bug in lumen cmd/)
    expect(toFailure('a string', 'cmd')).toMatchObject({code: 'internal', exit: 1})
  })
})
