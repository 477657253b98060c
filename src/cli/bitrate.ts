/**
 * The one bitrate syntax of every command: a number, then optionally a prefix — k (kilo), M (mega),
 * G (giga), either case — and optionally `bps`, `bit/s` or `b` (lower case): "20M", "20000k", "20Mbps",
 * "2.5 Mbit/s". A bare number is kbit/s, Moonlight's own unit (its bitrate setting, and the
 * ANNOUNCE's x-ml-video.configuredBitrateKbps).
 */

/** The syntax in words, for --help texts and error messages. */
export const BITRATE_SYNTAX = '20M, 20000k, 20Mbps, or a bare number in kbit/s (20000)'

const PREFIX_KBPS: Readonly<Record<string, number>> = {'': 1, k: 1, m: 1000, g: 1_000_000}
// the suffix is lower case: "MB" would read as megabytes
const PATTERN = /^(\d+(?:\.\d+)?|\.\d+)\s*([kKmMgG]?)(bps|bit\/s|b)?$/

/** kbit/s from a bitrate in that syntax, or undefined when the text is not one. */
export function parseBitrateKbps(text: string): number | undefined {
  const m = PATTERN.exec(text.trim())
  if (m === null) return undefined
  // a suffix without a prefix ("20bps") would be bit/s, not the bare number's kbit/s: refuse it
  if (m[2] === '' && m[3] !== undefined) return undefined
  const v = Number(m[1]) * PREFIX_KBPS[m[2].toLowerCase()]
  return Number.isFinite(v) ? v : undefined
}
