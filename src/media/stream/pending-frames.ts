/**
 * What the frame loop remembers about a frame between handing it to the send thread and the
 * send thread's completion record, by frame id. The records are reused (a ring indexed by frame
 * id) so that a frame costs no allocation; the ring doubles when more frames are in flight than
 * it holds (a send thread far behind), so no frame's record is ever lost.
 */

export interface PendingFrame {
  /** 0 when the slot is free */
  frameId: number
  /** the frame's grid point */
  slotNs: number
  /** when packetizing started, and when the frame was ready (packetized and queued) */
  packetizeStartNs: number
  readyNs: number
  late: boolean
  captureStartNs: number
  captureUs: number
  convertUs: number
  encodeUs: number
  packetizeUs: number
  idr: boolean
  reencoded: boolean
  clientLost: number
}

function blank(): PendingFrame {
  return {frameId: 0, slotNs: 0, packetizeStartNs: 0, readyNs: 0, late: false, captureStartNs: 0, captureUs: 0, convertUs: 0, encodeUs: 0, packetizeUs: 0, idr: false, reencoded: false, clientLost: 0}
}

export class PendingFrames {
  private slots: PendingFrame[]

  constructor(capacity = 16) {
    this.slots = Array.from({length: capacity}, blank)
  }

  /** The record to fill for frame `frameId` (> 0), which must not be pending already. */
  add(frameId: number): PendingFrame {
    while (this.slots[frameId % this.slots.length].frameId !== 0) this.grow()
    const p = this.slots[frameId % this.slots.length]
    p.frameId = frameId
    return p
  }

  /** Frame `frameId`'s record, freed: valid until the next add(). Undefined when it was not pending. */
  take(frameId: number): PendingFrame | undefined {
    const p = this.slots[frameId % this.slots.length]
    if (p.frameId !== frameId) return undefined
    p.frameId = 0
    return p
  }

  private grow(): void {
    const old = this.slots
    this.slots = Array.from({length: old.length * 2}, blank)
    for (const p of old) if (p.frameId !== 0) this.slots[p.frameId % this.slots.length] = p
  }
}
