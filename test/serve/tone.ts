/** Tone detection for the audio checks. */
/** Power of `freq` in s16 mono samples (Goertzel), normalised by length. */
export function tonePower(samples: Int16Array, freq: number, rate = 48000): number {
  const w = (2 * Math.PI * freq) / rate
  const c = 2 * Math.cos(w)
  let s1 = 0
  let s2 = 0
  for (const x of samples) {
    const s0 = x / 32768 + c * s1 - s2
    s2 = s1
    s1 = s0
  }
  return (s1 * s1 + s2 * s2 - c * s1 * s2) / samples.length
}
