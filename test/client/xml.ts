/** Just enough XML reading for nvhttp answers (flat elements, one root). */

function unescape(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&')
}

export interface NvXml {
  statusCode: number
  statusMessage?: string
  body: string
  /** text of the first element of that name */
  get(name: string): string | undefined
  /** text of every element of that name */
  all(name: string): string[]
}

export function parseNvXml(body: string): NvXml {
  const root = /<root\b([^>]*)>|<root\b([^>]*)\/>/.exec(body)
  if (root === null) throw new Error(`not an nvhttp answer: ${body.slice(0, 200)}`)
  const attrs = root[1] ?? root[2] ?? ''
  const code = /status_code="(\d+)"/.exec(attrs)
  const msg = /status_message="([^"]*)"/.exec(attrs)
  const all = (name: string): string[] => [...body.matchAll(new RegExp(`<${name}>([\\s\\S]*?)</${name}>`, 'g'))].map((m) => unescape(m[1]))
  return {
    statusCode: code === null ? -1 : Number(code[1]),
    statusMessage: msg === null ? undefined : unescape(msg[1]),
    body,
    get: (name) => all(name)[0],
    all,
  }
}
