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

/**
 * The frequency with the most power in `samples` between lo and hi Hz, scanned in `step` Hz
 * steps with tonePower (a coarse spectrum: 200 ms of audio resolves 5 Hz).
 */
export function dominantFrequency(samples: Int16Array, lo = 100, hi = 6000, step = 5, rate = 48000): {hz: number; power: number; ratio: number} {
  let best = {hz: 0, power: -1}
  const powers: Array<[number, number]> = []
  for (let f = lo; f <= hi; f += step) {
    const p = tonePower(samples, f, rate)
    powers.push([f, p])
    if (p > best.power) best = {hz: f, power: p}
  }
  // the strongest power more than 60 Hz away from the peak: how much the peak stands out
  let rest = 0
  for (const [f, p] of powers) if (Math.abs(f - best.hz) > 60 && p > rest) rest = p
  return {...best, ratio: rest > 0 ? best.power / rest : Infinity}
}
