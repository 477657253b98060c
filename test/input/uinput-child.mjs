// The process the uinput tests run under LD_PRELOAD=uinput-standin.so: it opens the uinput
// backend through the built TypeScript (dist/, built by vitest's global setup) and the shim, and
// takes one JSON command a line on stdin, answering each with one JSON line on stdout.
import {openSync} from 'node:fs'
import {createInterface} from 'node:readline'

const {uinputBackend} = await import('../../dist/src/input/uinput.js')

let device
let path
const reply = (o) => process.stdout.write(`${JSON.stringify(o)}\n`)

for await (const line of createInterface({input: process.stdin})) {
  const c = JSON.parse(line)
  try {
    switch (c.op) {
      case 'open':
        path = c.path
        device = uinputBackend.open({uinputPath: c.path})
        reply({ok: true})
        break
      case 'events':
        device.submit(c.events)
        device.drain(2000)
        reply({ok: true})
        break
      case 'records': {
        const r = device.handle.submit(Buffer.from(c.hex, 'hex'), c.count)
        device.drain(2000)
        reply({ok: r.ok})
        break
      }
      case 'release':
        device.releaseAll()
        device.drain(2000)
        reply({ok: true})
        break
      case 'mark':
        device?.drain(2000)
        try {
          openSync(`${path}.mark/${c.text}`, 'r')
        } catch {
          // the stand-in logs the marker and fails the open (ENOENT)
        }
        reply({ok: true})
        break
      case 'feedback':
        reply({feedback: device.feedback()})
        break
      case 'stats':
        reply({stats: device.stats()})
        break
      case 'close':
        device?.close()
        reply({ok: true})
        process.exit(0)
        break
      default:
        reply({error: `unknown op ${c.op}`})
    }
  } catch (error) {
    reply({ok: false, error: String(error?.message ?? error)})
  }
}
