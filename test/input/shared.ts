/**
 * What the XTEST and wlroots tests share: the input each scenario sends (the same for every
 * backend; only what the recorder should see differs) and the line reader of their recorders.
 */
import type {Readable} from 'node:stream'

import type {InputEvent} from '../../src/host/input.js'
import type {InputDropReason, InputStats} from '../../src/input/device.js'
import {Channel, type ControlClient} from '../client/control.js'
import * as pkt from '../client/input.js'

/** Whole notches, two halves making one, both directions on both axes. */
export const SCROLLS: InputEvent[] = [
  {type: 'scroll', amount: 240}, // 2 up
  {type: 'scroll', amount: 60},
  {type: 'scroll', amount: 60}, // 1 up from two halves
  {type: 'scroll', amount: -120}, // 1 down
  {type: 'hscroll', amount: 120}, // 1 right
  {type: 'hscroll', amount: -360}, // 3 left
]

/** A touch (no keyboard-and-pointer backend has it), a VK code outside the table, a button past 5:
 * each dropped before the backend sees it, none applied. */
export const DROPPED: {events: InputEvent[]; expected: Partial<Record<InputDropReason | 'applied', number>>} = {
  events: [
    {type: 'touch', eventType: 1, rotation: 0, pointerId: 1, x: 0.5, y: 0.5, pressure: 1, contactMajor: 0, contactMinor: 0},
    {type: 'key', down: true, keyCode: 0x80ff, modifiers: 0, flags: 0},
    {type: 'mouse-button', down: true, button: 9},
  ],
  expected: {unsupported: 1, unmapped: 1, 'out-of-range': 1, applied: 0},
}

/** The drops by reason (those DROPPED.expected names) and the records applied between two stats. */
export function droppedSince(before: InputStats, after: InputStats): Partial<Record<InputDropReason | 'applied', number>> {
  const out: Partial<Record<InputDropReason | 'applied', number>> = {applied: after.applied - before.applied}
  for (const reason of Object.keys(DROPPED.expected) as Array<InputDropReason | 'applied'>) {
    if (reason !== 'applied') out[reason] = after.dropped[reason] - before.dropped[reason]
  }
  return out
}

/** The serve tests' keys as [down, VK code, modifier flags]: a letter, a shifted letter,
 * right Ctrl + letter, F1 and F12. */
export const SERVE_KEYS: Array<[boolean, number, number]> = [
  [true, 0x41, 0], [false, 0x41, 0],
  [true, 0xa0, 0x01], [true, 0x42, 0x01], [false, 0x42, 0x01], [false, 0xa0, 0],
  [true, 0xa3, 0x02], [true, 0x43, 0x02], [false, 0x43, 0x02], [false, 0xa3, 0],
  [true, 0x70, 0], [false, 0x70, 0], [true, 0x7b, 0], [false, 0x7b, 0],
]

/** The serve tests' clicks and scrolls through the control stream: buttons 1, 3, 2, 4, 5, then
 * one notch up, two down, one right, one left. */
export function sendButtonsAndScrolls(c: ControlClient): void {
  for (const b of [1, 3, 2, 4, 5]) {
    c.sendInput(pkt.mouseButton(true, b), Channel.mouse)
    c.sendInput(pkt.mouseButton(false, b), Channel.mouse)
  }
  c.sendInput(pkt.scroll(120), Channel.mouse)
  c.sendInput(pkt.scroll(-240), Channel.mouse)
  c.sendInput(pkt.hscroll(120), Channel.mouse)
  c.sendInput(pkt.hscroll(-120), Channel.mouse)
}

/** Calls `line` for every whole line the stream gives. */
export function onLines(stream: Readable | null, line: (text: string) => void): void {
  let buf = ''
  stream?.on('data', (d: Buffer) => {
    buf += d.toString()
    let nl: number
    while ((nl = buf.indexOf('\n')) >= 0) {
      line(buf.slice(0, nl))
      buf = buf.slice(nl + 1)
    }
  })
}
