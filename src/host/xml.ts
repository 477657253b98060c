/** The nvhttp XML answers (http-and-pairing.md §2): always HTTP 200, the outcome in root@status_code. */

export function xmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;')
}

export type XmlValue = string | number | XmlElement[]
export interface XmlElement {
  name: string
  value: XmlValue
}

export function el(name: string, value: XmlValue): XmlElement {
  return {name, value}
}

function render(elements: XmlElement[]): string {
  return elements
    .map((e) => `<${e.name}>${Array.isArray(e.value) ? render(e.value) : xmlEscape(String(e.value))}</${e.name}>`)
    .join('')
}

/** `<root status_code=…>` with the given children; a message for non-200 answers. */
export function xmlRoot(statusCode: number, children: XmlElement[] = [], statusMessage?: string): string {
  const msg = statusMessage === undefined ? '' : ` status_message="${xmlEscape(statusMessage)}"`
  return `<?xml version="1.0" encoding="utf-8"?>\n<root status_code="${statusCode}"${msg}>${render(children)}</root>\n`
}
