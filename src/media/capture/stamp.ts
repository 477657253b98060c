/**
 * A machine-readable frame counter drawn into the top-right quarter of a BGRx frame: 32 bits of
 * the counter plus an 8-bit check, in four rows of 10 bits. At the top, because an encoder short
 * of bits under a one-frame VBV starves the last rows of a picture first (libx265 may then skip
 * them entirely); on the right, so the pattern's own counter and clock (top left) stay visible. Each bit is a pair of large blocks, the
 * bit's value then its complement (white/black or black/white), so reading it back compares the
 * two blocks' mean luma instead of trusting a threshold: it survives lossy, low-bitrate encoding.
 * The test client reads it from the decoded picture's luma plane.
 */
const BITS = 40
const PER_ROW = 10
const ROWS = 4

function check8(v: number): number {
  let x = (v ^ 0xa5) >>> 0
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b) >>> 0
  x = (x ^ (x >>> 13)) >>> 0
  return x & 0xff
}

/** The stamp's two numbers for a counter value: what a GPU-side drawer needs to draw it. */
export function stampBits(value: number): {value: number; check: number} {
  const v = value >>> 0
  return {value: v, check: check8(v)}
}

/** Block size (square) and the stamp's top-left corner for a picture size. */
function stampGeometry(width: number, height: number): {block: number; x0: number; y0: number} {
  const block = Math.floor(width / 2 / (2 * PER_ROW)) & ~1
  return {block, x0: width - 2 * PER_ROW * block, y0: ROWS * block <= height ? 0 : -1}
}

function bitOf(v: number, c: number, bit: number): number {
  return bit < 32 ? (v >>> (31 - bit)) & 1 : (c >>> (39 - bit)) & 1
}

/** Writes the counter into the frame's top-right corner. */
export function writeStamp(bgrx: Buffer, width: number, height: number, stride: number, value: number): void {
  const {block, x0, y0} = stampGeometry(width, height)
  if (block < 4 || y0 < 0) return
  const v = value >>> 0
  const c = check8(v)
  for (let r = 0; r < ROWS; r++) {
    const row = Buffer.alloc(2 * PER_ROW * block * 4)
    for (let k = 0; k < PER_ROW; k++) {
      const on = bitOf(v, c, r * PER_ROW + k)
      row.fill(on ? 0xff : 0x00, 2 * k * block * 4, (2 * k + 1) * block * 4)
      row.fill(on ? 0x00 : 0xff, (2 * k + 1) * block * 4, (2 * k + 2) * block * 4)
    }
    for (let y = y0 + r * block; y < y0 + (r + 1) * block; y++) row.copy(bgrx, y * stride + x0 * 4)
  }
}

/** Mean luma of a block's inner half. */
function mean(y: Buffer, width: number, x0: number, y0: number, block: number): number {
  const q = block >> 2
  let sum = 0
  let n = 0
  for (let yy = y0 + q; yy < y0 + block - q; yy++) {
    for (let xx = x0 + q; xx < x0 + block - q; xx++) {
      sum += y[yy * width + xx]
      n++
    }
  }
  return sum / n
}

/** Reads the counter from an I420 picture's Y plane; undefined when the check does not match. */
export function readStampI420(y: Buffer, width: number, height: number): number | undefined {
  const {block, x0, y0} = stampGeometry(width, height)
  if (block < 4 || y0 < 0) return undefined
  let v = 0
  let c = 0
  for (let bit = 0; bit < BITS; bit++) {
    const r = Math.floor(bit / PER_ROW)
    const k = bit % PER_ROW
    const top = y0 + r * block
    const on = mean(y, width, x0 + 2 * k * block, top, block) > mean(y, width, x0 + (2 * k + 1) * block, top, block) ? 1 : 0
    if (bit < 32) v = ((v << 1) | on) >>> 0
    else c = (c << 1) | on
  }
  return check8(v) === c ? v : undefined
}
