/** Closed-form frame loss under independent (uniform) packet loss, to check the simulator against. */

/** P(X <= t) for X ~ Binomial(n, p). */
export function binomialCdf(n: number, p: number, t: number): number {
  if (t < 0) return 0
  if (t >= n) return 1
  if (p <= 0) return 1
  if (p >= 1) return 0
  // sum the pmf terms in log space for stability
  const lq = Math.log1p(-p)
  const lp = Math.log(p)
  let logC = 0 // log C(n, 0)
  let sum = 0
  for (let i = 0; i <= t; i++) {
    if (i > 0) logC += Math.log(n - i + 1) - Math.log(i)
    sum += Math.exp(logC + i * lp + (n - i) * lq)
  }
  return Math.min(1, sum)
}

/** Probability that a frame made of these blocks (k data + m parity each) survives loss p:
 * every block must lose at most m of its k + m packets. */
export function frameSurvival(blocks: readonly {k: number; m: number}[], p: number): number {
  let s = 1
  for (const b of blocks) s *= binomialCdf(b.k + b.m, p, b.m)
  return s
}
