/**
 * A machine-readable frame counter drawn into the bottom rows of a BGRx frame: 32 bits of the
 * counter plus an 8-bit check, as large black/white blocks that survive lossy encoding. The test
 * client reads it back from the decoded picture's luma plane.
 */
const BITS = 40

function check8(v: number): number {
  let x = (v ^ 0xa5) >>> 0
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b) >>> 0
  x = (x ^ (x >>> 13)) >>> 0
  return x & 0xff
}

export function stampGeometry(width: number, height: number): {block: number; y0: number} {
  const block = Math.max(8, Math.floor(width / BITS / 2 / 2) * 2)
  return {block, y0: height - block}
}

/** Writes the counter into the frame's bottom `block` rows (left part). */
export function writeStamp(bgrx: Buffer, width: number, height: number, stride: number, value: number): void {
  const {block, y0} = stampGeometry(width, height)
  if (block * BITS > width || y0 < 0) return
  const v = value >>> 0
  const c = check8(v)
  const row = Buffer.alloc(block * BITS * 4)
  for (let bit = 0; bit < BITS; bit++) {
    const on = bit < 32 ? (v >>> (31 - bit)) & 1 : (c >>> (39 - bit)) & 1
    row.fill(on ? 0xff : 0x00, bit * block * 4, (bit + 1) * block * 4)
  }
  for (let y = y0; y < y0 + block; y++) row.copy(bgrx, y * stride)
}

/** Reads the counter from an I420 picture's Y plane; undefined when the check does not match. */
export function readStampI420(y: Buffer, width: number, height: number): number | undefined {
  const {block, y0} = stampGeometry(width, height)
  if (block * BITS > width || y0 < 0) return undefined
  let v = 0
  let c = 0
  const cy = y0 + (block >> 1)
  for (let bit = 0; bit < BITS; bit++) {
    const cx = bit * block + (block >> 1)
    let sum = 0
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) sum += y[(cy + dy) * width + cx + dx]
    const on = sum / 9 > 126 ? 1 : 0
    if (bit < 32) v = ((v << 1) | on) >>> 0
    else c = (c << 1) | on
  }
  return check8(v) === c ? v : undefined
}
