/**
 * Host → client input feedback (control-stream.md §4): a device's InputFeedback becomes the
 * control message the client acts on. Rumble the client already has is not sent again.
 */
import type {InputFeedback} from '../input/device.js'

export const FeedbackMessage = {rumble: 0x010b, triggerRumble: 0x5500, motionEnable: 0x5501, led: 0x5502} as const

/** Sunshine's value for the rumble message's unused first word. */
const RUMBLE_UNUSED = 0x00c0ffee

export function encodeFeedback(f: InputFeedback): {type: number; payload: Buffer} {
  switch (f.type) {
    case 'rumble': {
      const p = Buffer.alloc(10)
      p.writeUInt32LE(RUMBLE_UNUSED, 0)
      p.writeUInt16LE(f.controller & 0xffff, 4)
      p.writeUInt16LE(f.lowFreq & 0xffff, 6)
      p.writeUInt16LE(f.highFreq & 0xffff, 8)
      return {type: FeedbackMessage.rumble, payload: p}
    }
    case 'trigger-rumble': {
      const p = Buffer.alloc(6)
      p.writeUInt16LE(f.controller & 0xffff, 0)
      p.writeUInt16LE(f.left & 0xffff, 2)
      p.writeUInt16LE(f.right & 0xffff, 4)
      return {type: FeedbackMessage.triggerRumble, payload: p}
    }
    case 'motion-enable': {
      const p = Buffer.alloc(5)
      p.writeUInt16LE(f.controller & 0xffff, 0)
      p.writeUInt16LE(f.reportRateHz & 0xffff, 2)
      p[4] = f.sensor & 0xff
      return {type: FeedbackMessage.motionEnable, payload: p}
    }
    case 'led': {
      const p = Buffer.alloc(5)
      p.writeUInt16LE(f.controller & 0xffff, 0)
      p[2] = f.r & 0xff
      p[3] = f.g & 0xff
      p[4] = f.b & 0xff
      return {type: FeedbackMessage.led, payload: p}
    }
  }
}

/** Per stream: which feedback is worth sending (a rumble or trigger rumble equal to the last one
 * of that controller is not). */
export class FeedbackFilter {
  private readonly last = new Map<string, string>()
  suppressed = 0

  pass(f: InputFeedback): boolean {
    if (f.type !== 'rumble' && f.type !== 'trigger-rumble') return true
    const key = `${f.type}:${f.controller}`
    const value = f.type === 'rumble' ? `${f.lowFreq},${f.highFreq}` : `${f.left},${f.right}`
    if (this.last.get(key) === value) {
      this.suppressed++
      return false
    }
    this.last.set(key, value)
    return true
  }
}
