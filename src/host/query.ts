/**
 * Bounded parsing of nvhttp request targets: every length and count is checked before
 * anything is allocated for it. Clients put every argument in the query string.
 */

export const QUERY_LIMITS = {
  /** the whole request target, path and query */
  maxTargetLength: 8192,
  maxParams: 64,
  maxKeyLength: 64,
  /** the longest value a client sends is clientcert: hex of a PEM (~2.2 KB → ~4.4 KB hex) */
  maxValueLength: 16384,
} as const

export class QueryError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'QueryError'
  }
}

export interface ParsedTarget {
  path: string
  params: Map<string, string>
}

function decode(component: string): string {
  try {
    return decodeURIComponent(component.replace(/\+/g, ' '))
  } catch {
    throw new QueryError('the query string has a malformed percent escape')
  }
}

/** Splits "/path?a=1&b=2" into a path and its parameters (first value of a repeated key wins). */
export function parseTarget(target: string): ParsedTarget {
  if (target.length > QUERY_LIMITS.maxTargetLength) throw new QueryError(`request target longer than ${QUERY_LIMITS.maxTargetLength} characters`)
  const q = target.indexOf('?')
  const rawPath = q < 0 ? target : target.slice(0, q)
  const path = decode(rawPath)
  const params = new Map<string, string>()
  if (q < 0) return {path, params}
  let count = 0
  for (const part of target.slice(q + 1).split('&', QUERY_LIMITS.maxParams + 1)) {
    if (part === '') continue
    if (++count > QUERY_LIMITS.maxParams) throw new QueryError(`more than ${QUERY_LIMITS.maxParams} query parameters`)
    const eq = part.indexOf('=')
    const rawKey = eq < 0 ? part : part.slice(0, eq)
    const rawValue = eq < 0 ? '' : part.slice(eq + 1)
    if (rawKey.length > QUERY_LIMITS.maxKeyLength * 3) throw new QueryError('a query parameter name is too long')
    if (rawValue.length > QUERY_LIMITS.maxValueLength * 3) throw new QueryError('a query parameter value is too long')
    const key = decode(rawKey)
    const value = decode(rawValue)
    if (key.length > QUERY_LIMITS.maxKeyLength) throw new QueryError('a query parameter name is too long')
    if (value.length > QUERY_LIMITS.maxValueLength) throw new QueryError('a query parameter value is too long')
    if (!params.has(key)) params.set(key, value)
  }
  return {path, params}
}

/** Decodes hex of exactly `bytes` bytes (or at most `max` bytes when `bytes` is undefined). */
export function parseHex(text: string | undefined, what: string, limits: {bytes?: number; max?: number}): Buffer {
  if (text === undefined) throw new QueryError(`missing ${what}`)
  if (text.length % 2 !== 0) throw new QueryError(`${what} has an odd number of hex digits`)
  const n = text.length / 2
  if (limits.bytes !== undefined && n !== limits.bytes) throw new QueryError(`${what} must be ${limits.bytes} bytes, got ${n}`)
  if (limits.max !== undefined && n > limits.max) throw new QueryError(`${what} is longer than ${limits.max} bytes`)
  if (!/^[0-9a-fA-F]*$/.test(text)) throw new QueryError(`${what} is not hexadecimal`)
  return Buffer.from(text, 'hex')
}

/** A decimal integer within [min, max]. */
export function parseIntParam(text: string | undefined, what: string, min: number, max: number): number {
  if (text === undefined) throw new QueryError(`missing ${what}`)
  if (!/^-?\d{1,12}$/.test(text)) throw new QueryError(`${what} is not a decimal integer`)
  const v = Number(text)
  if (v < min || v > max) throw new QueryError(`${what} ${v} is outside ${min}..${max}`)
  return v
}
