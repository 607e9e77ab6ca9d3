/**
 * Just enough XML for the providers' answers that are XML (S3 listings and errors, Blob Storage listings, Storage
 * queue replies, SNS replies): the elements of a tag, a tag's text, entity decoding and escaping. The documents are
 * the services' own, flat and well-formed; no DTDs, no namespaces that matter.
 */
const ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }

/** Decodes the five entities and numeric character references. */
export function xmlDecode(text: string): string {
  if (!text.includes('&')) return text
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(Number.parseInt(entity.slice(2), 16))
    if (entity.startsWith('#')) return String.fromCodePoint(Number.parseInt(entity.slice(1), 10))
    return ENTITIES[entity] ?? whole
  })
}

/** Escapes text for an element's content or an attribute value. */
export function xmlEscape(text: string): string {
  return text.replace(/[<>&"']/g, (char) => `&${({ '<': 'lt', '>': 'gt', '&': 'amp', '"': 'quot', "'": 'apos' } as Record<string, string>)[char]};`)
}

const patterns = new Map<string, RegExp>()

/** The raw contents of each `<tag>` element (an empty `<tag/>` gives ''), in document order. */
export function xmlElements(xml: string, tag: string): string[] {
  let pattern = patterns.get(tag)
  if (pattern === undefined) patterns.set(tag, (pattern = new RegExp(`<${tag}(?:\\s[^>]*)?(?:/>|>([\\s\\S]*?)</${tag}>)`, 'g')))
  const out: string[] = []
  for (const match of xml.matchAll(pattern)) out.push(match[1] ?? '')
  return out
}

/** The decoded text of the first `<tag>` element, or undefined when there is none. */
export function xmlValue(xml: string, tag: string): string | undefined {
  const [first] = xmlElements(xml, tag)
  return first === undefined ? undefined : xmlDecode(first)
}

/** Characters outside XML 1.0's Char production. */
// eslint-disable-next-line no-control-regex -- the control characters XML allows are the point.
const NOT_XML = /[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u

/** Whether text is XML 1.0 characters only (what SQS and SNS accept as a body or an attribute value). */
export function isXmlText(text: string): boolean {
  return !NOT_XML.test(text)
}
