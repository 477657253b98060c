/** Checks on the frame counter the synthetic source stamps into each picture (src/media/capture/stamp.ts). */
import {expect} from 'vitest'

import type {ReceivedFrame} from '../client/media-video.js'

/** The stamped counter reads back from more than `share` of the frames and advances by one a frame. */
export function expectStampsFollowFrames(frames: readonly ReceivedFrame[], share: number): void {
  const readable = frames.filter((f) => f.stamp !== undefined)
  expect(readable.length).toBeGreaterThan(frames.length * share)
  const offset = (readable[0].stamp as number) - readable[0].frameIndex
  expect(readable.filter((f) => (f.stamp as number) - f.frameIndex !== offset)).toEqual([])
}
