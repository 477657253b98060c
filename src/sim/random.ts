/**
 * Seeded pseudo-random numbers for the simulator and for test-vector generators.
 *
 * xorshift32 is the generator the FEC vectors are defined with (docs/protocol/fec.md §8.1):
 * `x ^= x << 13; x ^= x >> 17; x ^= x << 5`, one step per byte, byte = top 8 bits.
 * {@link Rng} (for loss draws) is xoshiro128** seeded through splitmix32, which has none of
 * xorshift32's low-bit weaknesses.
 */

export class XorShift32 {
  private state: number

  constructor(seed: number) {
    if ((seed >>> 0) === 0) throw new RangeError('xorshift32 needs a non-zero seed')
    this.state = seed >>> 0
  }

  /** One step; returns the new 32-bit state. */
  next(): number {
    let x = this.state
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    this.state = x
    return x
  }

  /** Fills `out` with one byte per step: the top 8 bits of the state (fec.md §8.1). */
  fill(out: Uint8Array): Uint8Array {
    for (let i = 0; i < out.length; i++) out[i] = this.next() >>> 24
    return out
  }

  /** Bytes never zero: ((state >> 24) mod 255) + 1 (the video frame generator of the vectors). */
  fillNonZero(out: Uint8Array): Uint8Array {
    for (let i = 0; i < out.length; i++) out[i] = ((this.next() >>> 24) % 255) + 1
    return out
  }
}

/** xoshiro128** with splitmix32 seeding: uniform doubles in [0, 1) for loss models. */
export class Rng {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor(seed: number) {
    let s = seed >>> 0
    const split = (): number => {
      s = (s + 0x9e3779b9) >>> 0
      let z = s
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
      return (z ^ (z >>> 16)) >>> 0
    }
    this.a = split()
    this.b = split()
    this.c = split()
    this.d = split()
  }

  /** A uniform 32-bit unsigned integer. */
  nextU32(): number {
    const r = Math.imul(rotl(Math.imul(this.b, 5) >>> 0, 7), 9) >>> 0
    const t = (this.b << 9) >>> 0
    this.c ^= this.a
    this.d ^= this.b
    this.b ^= this.c
    this.a ^= this.d
    this.c ^= t
    this.d = rotl(this.d >>> 0, 11)
    this.a >>>= 0
    this.b >>>= 0
    this.c >>>= 0
    return r
  }

  /** A uniform double in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1))
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0
}
