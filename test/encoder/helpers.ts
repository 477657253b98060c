/** Shared by the encoder tests: an Annex B reader written here (not the one in
 * src/media/decoder.ts) so the tests check the bitstream independently. */

/** NAL unit types of an Annex B access unit, in order. */
export function nalTypes(codec: 'h264' | 'hevc', au: Uint8Array): number[] {
  const types: number[] = []
  let i = 0
  while (i + 3 < au.length) {
    let header = -1
    if (au[i] === 0 && au[i + 1] === 0 && au[i + 2] === 1) header = i + 3
    else if (au[i] === 0 && au[i + 1] === 0 && au[i + 2] === 0 && au[i + 3] === 1) header = i + 4
    if (header < 0) {
      i++
      continue
    }
    types.push(codec === 'h264' ? au[header] & 0x1f : (au[header] >> 1) & 0x3f)
    i = header + 1
  }
  return types
}
