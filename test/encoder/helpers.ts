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

/** The profile the SPS of an access unit declares, read by hand: H.264 profile_idc (the byte after
 * the NAL header: 100 High, 244 High 4:4:4 Predictive); HEVC general_profile_idc (the low 5 bits
 * of the byte after sps_video_parameter_set_id/max_sub_layers/temporal_id_nesting: 1 Main,
 * 2 Main10, 4 RExt). Undefined without an SPS. */
export function spsProfile(codec: 'h264' | 'hevc', au: Uint8Array): number | undefined {
  for (let i = 0; i + 6 < au.length; i++) {
    if (au[i] !== 0 || au[i + 1] !== 0 || au[i + 2] !== 1) continue
    const h = i + 3
    if (codec === 'h264' && (au[h] & 0x1f) === 7) return au[h + 1]
    if (codec === 'hevc' && ((au[h] >> 1) & 0x3f) === 33) return au[h + 3] & 0x1f
  }
  return undefined
}
