/** The PIN sources behind `lumen serve` (terminal prompt) and `lumen serve --pin NNNN`. */
import {PassThrough} from 'node:stream'

import {describe, expect, it} from 'vitest'

import {FixedPinSource, TerminalPinSource} from '../../src/host/pairing.js'

describe('PIN sources', () => {
  it('a fixed PIN must be 4 digits', async () => {
    expect(() => new FixedPinSource('12345')).toThrow(/4 digits/)
    expect(() => new FixedPinSource('12a4')).toThrow(/4 digits/)
    expect(await new FixedPinSource('0042').getPin()).toBe('0042')
  })

  it('the terminal prompt names the client, re-asks until it gets 4 digits', async () => {
    const input = new PassThrough()
    const output = new PassThrough()
    let shown = ''
    output.on('data', (c: Buffer) => (shown += c.toString()))
    const pin = new TerminalPinSource(input, output).getPin({uniqueid: 'X', address: '192.0.2.9', signal: new AbortController().signal})
    input.write('12\n')
    input.write('98a7\n')
    input.write(' 5678 \n')
    expect(await pin).toBe('5678')
    expect(shown).toContain('192.0.2.9')
    expect(shown.match(/The PIN is 4 digits/g)).toHaveLength(2)
  })

  it('the terminal prompt gives up when the attempt is aborted', async () => {
    const ac = new AbortController()
    const pin = new TerminalPinSource(new PassThrough(), new PassThrough()).getPin({uniqueid: 'X', address: 'a', signal: ac.signal})
    ac.abort()
    await expect(pin).rejects.toThrow(/cancelled/)
  })
})
