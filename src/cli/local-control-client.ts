/**
 * The client half of the control socket (src/host/local-control.ts) for `lumen pair`,
 * `lumen clients` and `lumen status`: one request per connection, answers as values, and the
 * socket's absence or refusal as a CliFailure a person can act on.
 */
import {createConnection, type Socket} from 'node:net'

import {Flags} from '@oclif/core'

import {CliFailure} from './errors.js'
import {defaultSocketPath, MAX_CONTROL_LINE, readLine} from '../host/local-control.js'

export const socketFlag = Flags.string({description: "the running serve's control socket (default $XDG_RUNTIME_DIR/lumen/control.sock, else $XDG_CONFIG_HOME/lumen/control.sock)", env: 'LUMEN_SOCKET'})

export function socketPathOf(flag: string | undefined): string {
  return flag ?? defaultSocketPath()
}

/** An open connection to the running serve. */
export async function connectControl(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path)
    s.once('connect', () => resolve(s))
    s.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') reject(new CliFailure('unavailable', `no lumen serve is running (no control socket answers at ${path}): start \`lumen serve\`, or give its --socket`))
      else if (e.code === 'EACCES') reject(new CliFailure('unavailable', `the control socket ${path} belongs to another user: run this as the user running lumen serve`))
      else reject(new CliFailure('unavailable', `cannot reach the control socket ${path}: ${e.message}`))
    })
  })
}

export function send(socket: Socket, message: Record<string, unknown>): void {
  const line = JSON.stringify(message)
  if (Buffer.byteLength(line) >= MAX_CONTROL_LINE) throw new CliFailure('invalid_argument', `the request is over ${MAX_CONTROL_LINE} bytes`)
  socket.write(`${line}\n`)
}

/** The next line from serve as an object; the host closing without one is a refusal. */
export async function receive(socket: Socket, path: string): Promise<Record<string, unknown>> {
  let line: string
  try {
    line = await readLine(socket)
  } catch {
    throw new CliFailure('unavailable', `lumen serve closed the control socket ${path} without an answer (it serves only the user running it)`)
  }
  try {
    return JSON.parse(line) as Record<string, unknown>
  } catch {
    throw new CliFailure('failed', `the control socket ${path} answered something that is not JSON`)
  }
}

/** The answer's result, or its error as a CliFailure. */
export function resultOf(answer: Record<string, unknown>): unknown {
  if (answer.ok === true) return answer.result
  const e = (answer.error ?? {}) as {code?: string; message?: string}
  const code = e.code === 'invalid_argument' || e.code === 'usage' ? e.code : 'failed'
  throw new CliFailure(code, e.message ?? 'lumen serve refused the request')
}

/** One request, one answer. */
export async function request(path: string, message: Record<string, unknown>): Promise<unknown> {
  const socket = await connectControl(path)
  try {
    send(socket, message)
    return resultOf(await receive(socket, path))
  } finally {
    socket.destroy()
  }
}
