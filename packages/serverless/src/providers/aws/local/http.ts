/**
 * What the local AWS services share on the wire: request bodies read with a limit, AWS-style ids, XML written and
 * (the small subset S3 request bodies use) read, and the error every service turns into its own error format.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/** An error an AWS API answers with: its code (as the Query API names it), HTTP status and message. */
export class AwsError extends Error {
  override readonly name = 'AwsError'
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    /** Extra elements of an S3 error (`Key`, `BucketName`, ...). */
    readonly extra: Readonly<Record<string, string>> = {},
  ) {
    super(message)
  }
}

/** Reads a request body; more than `limit` bytes is an AwsError with `tooLarge`'s code (the rest is drained). */
export function readBody(req: IncomingMessage, limit: number, tooLarge: () => AwsError): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let failed = false
    req.on('data', (chunk: Buffer) => {
      if (failed) return
      size += chunk.length
      if (size > limit) {
        failed = true
        chunks.length = 0
        reject(tooLarge())
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks))
    })
    req.on('error', (error) => {
      if (!failed) reject(error)
    })
  })
}

/** A request id as SQS and SNS write them (a UUID). */
export const uuid = (): string => randomUUID()

/** A request id as S3 writes them: 16 upper-case hex digits. */
export const s3RequestId = (): string => randomBytes(8).toString('hex').toUpperCase()

/** `x-amz-id-2` as S3 writes it (base64). */
export const s3HostId = (): string => randomBytes(48).toString('base64')

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\r': '&#13;' }

export function xmlEscape(text: string): string {
  return text.replace(/[&<>"'\r]/g, (char) => XML_ESCAPES[char] as string)
}

/** An XML element: text content is escaped, an array of elements is written as is; undefined leaves it out. */
export function el(name: string, content: string | number | boolean | readonly string[] | undefined): string {
  if (content === undefined) return ''
  const inner = Array.isArray(content) ? content.join('') : xmlEscape(String(content))
  return `<${name}>${inner}</${name}>`
}

export const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'

/** A parsed XML element: its local name (no prefix), child elements and text. */
export interface XmlNode {
  readonly name: string
  readonly children: XmlNode[]
  text: string
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (whole, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(Number.parseInt(entity.slice(2), 16))
    if (entity.startsWith('#')) return String.fromCodePoint(Number.parseInt(entity.slice(1), 10))
    return ENTITIES[entity] ?? whole
  })
}

/**
 * Parses the XML of an S3 request body (DeleteObjects, CompleteMultipartUpload, a notification configuration):
 * elements, text and CDATA; attributes, comments, processing instructions and DOCTYPE are skipped (no entity
 * expansion). Malformed XML is an AwsError `MalformedXML`.
 */
export function parseXml(text: string, maxDepth = 32): XmlNode {
  const malformed = (): AwsError => new AwsError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.')
  const root: XmlNode = { name: '#document', children: [], text: '' }
  const stack: XmlNode[] = [root]
  let i = 0
  while (i < text.length) {
    const open = text.indexOf('<', i)
    const top = stack[stack.length - 1] as XmlNode
    if (open === -1) {
      if (text.slice(i).trim() !== '') throw malformed()
      break
    }
    if (open > i) top.text += decodeEntities(text.slice(i, open))
    if (text.startsWith('<![CDATA[', open)) {
      const end = text.indexOf(']]>', open)
      if (end === -1) throw malformed()
      top.text += text.slice(open + 9, end)
      i = end + 3
      continue
    }
    if (text.startsWith('<?', open) || text.startsWith('<!', open)) {
      const end = text.startsWith('<!--', open) ? text.indexOf('-->', open) + 2 : text.indexOf('>', open)
      if (end < open + 1) throw malformed()
      i = end + 1
      continue
    }
    const close = text.indexOf('>', open)
    if (close === -1) throw malformed()
    const tag = text.slice(open + 1, close)
    i = close + 1
    if (tag.startsWith('/')) {
      const name = localName(tag.slice(1).trim())
      const node = stack.pop()
      if (node === undefined || node === root || node.name !== name) throw malformed()
      continue
    }
    const selfClosing = tag.endsWith('/')
    const name = localName((selfClosing ? tag.slice(0, -1) : tag).trim().split(/\s/)[0] ?? '')
    if (name === '') throw malformed()
    const node: XmlNode = { name, children: [], text: '' }
    top.children.push(node)
    if (!selfClosing) {
      stack.push(node)
      if (stack.length > maxDepth) throw malformed()
    }
  }
  if (stack.length !== 1 || root.children.length !== 1) throw malformed()
  return root.children[0] as XmlNode
}

function localName(name: string): string {
  const colon = name.indexOf(':')
  return colon === -1 ? name : name.slice(colon + 1)
}

/** The child elements of a node with this name. */
export function childrenNamed(node: XmlNode, name: string): XmlNode[] {
  return node.children.filter((child) => child.name === name)
}

/** The text of the first child element with this name, or undefined. */
export function childText(node: XmlNode, name: string): string | undefined {
  return node.children.find((child) => child.name === name)?.text
}

/** The AWS service a request was signed for (the SigV4 credential scope), when it was signed. */
export function signedService(authorization: string | undefined): string | undefined {
  const match = /Credential=[^/,\s]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(authorization ?? '')
  return match?.[1]
}
