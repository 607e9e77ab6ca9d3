/**
 * The checks every provider gets the same: keys, metadata, content types, message bodies, attributes and subjects
 * that some provider would refuse or change are refused everywhere, before any call, with the rule named, so the
 * same call gives the same result on every cloud. Sizes are checked per provider (its limits table).
 */
import { isMediaType, jsonText, utf8DecodeStrict, utf8Encode } from '@polycloud/core/adapter'
import { DriverError } from './errors.js'
import { utf8Length, type OutgoingMessage } from './driver.js'
import { isXmlText } from './xml.js'
import type { MessageContent, ObjectBody } from './types.js'

const MAX_KEY_BYTES = 1024
const NONE: Readonly<Record<string, string>> = Object.freeze({})
// eslint-disable-next-line no-control-regex -- control characters are what it finds.
const CONTROL = /[\u0000-\u001f\u007f]/
const METADATA_NAME = /^[a-z][a-z0-9_]*$/
const METADATA_VALUE = /^(?:[\u0021-\u007e](?:[\u0020-\u007e]*[\u0021-\u007e])?)?$/
const ATTRIBUTE_NAME = /^[A-Za-z0-9_-](?:[A-Za-z0-9_.-]{0,254}[A-Za-z0-9_-])?$/
const RESERVED_ATTRIBUTE = /^(?:aws\.|amazon\.|goog|polycloud\.)/i
const SUBJECT = /^[\u0020-\u007e]{1,100}$/
const LONE_SURROGATE = /\p{Surrogate}/u

const isWellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed

/** Whether a string is valid Unicode (no lone surrogate): what UTF-8 can carry unchanged. */
function wellFormed(text: string): boolean {
  return isWellFormed !== undefined ? isWellFormed.call(text) : !LONE_SURROGATE.test(text)
}

const SEGMENT_ENDS_WITH_DOT = /\.(?:\/|$)/

/** An object key every provider stores and lists unchanged, or the Invalid error naming the rule. */
export function checkKey(key: unknown): string {
  if (typeof key !== 'string' || key === '') throw new DriverError('Invalid', 'the key must be a non-empty string')
  const quoted = (): string => JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}...` : key)
  if (!wellFormed(key)) throw new DriverError('Invalid', `key ${quoted()} has a lone surrogate (not UTF-8)`)
  // A UTF-16 unit is at most 3 bytes of UTF-8: a short key needs no count.
  if (key.length * 3 > MAX_KEY_BYTES && utf8Length(key) > MAX_KEY_BYTES) {
    throw new DriverError('Invalid', `key ${quoted()} is longer than ${MAX_KEY_BYTES} bytes of UTF-8 (the limit of S3, Blob Storage, Cloud Storage and R2)`)
  }
  if (CONTROL.test(key)) throw new DriverError('Invalid', `key ${quoted()} has a control character (Cloud Storage refuses carriage returns and line feeds; list responses cannot carry the others)`)
  // A segment ending with ".": a "." before a "/" or at the end.
  if (key.endsWith('/') || SEGMENT_ENDS_WITH_DOT.test(key)) {
    throw new DriverError('Invalid', `key ${quoted()} ends with "/" or has a path segment ending with "." (Blob Storage's naming rules; Cloud Storage refuses "." and "..")`)
  }
  if (key.startsWith('.well-known/acme-challenge/')) throw new DriverError('Invalid', `key ${quoted()} starts with .well-known/acme-challenge/ (refused by Cloud Storage)`)
  return key
}

/** Metadata every provider returns as given, or the Invalid error naming the rule. */
export function checkMetadata(metadata: unknown): Readonly<Record<string, string>> {
  if (metadata === undefined) return NONE
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw new DriverError('Invalid', 'metadata must be an object of strings')
  const record = metadata as Record<string, unknown>
  for (const name of Object.keys(record)) {
    if (!METADATA_NAME.test(name)) {
      throw new DriverError('Invalid', `metadata name ${JSON.stringify(name)}: use lower-case letters, digits and "_", starting with a letter (S3 lower-cases names; Blob Storage takes C# identifiers)`)
    }
    const value = record[name]
    if (typeof value !== 'string') throw new DriverError('Invalid', `metadata ${name} must be a string`)
    if (!METADATA_VALUE.test(value)) {
      throw new DriverError('Invalid', `metadata ${name}: values are printable ASCII without leading or trailing spaces (S3 and Blob Storage carry them in HTTP headers); encode others, e.g. with encodeURIComponent`)
    }
  }
  return record as Record<string, string>
}

/** The content type to store, or the Invalid error. */
export function checkContentType(contentType: unknown, fallback: string): string {
  if (contentType === undefined) return fallback
  if (typeof contentType !== 'string' || !isMediaType(contentType)) throw new DriverError('Invalid', `contentType ${JSON.stringify(contentType)} is not a media type (type/subtype; parameters)`)
  return contentType
}

/** An object body as bytes, a stream read to the end (refused as TooLarge past `max` bytes, before any upload). */
export async function objectBytes(body: ObjectBody, max: number, service: string, signal: AbortSignal | undefined): Promise<{ bytes: Uint8Array; type: string }> {
  let bytes: Uint8Array
  let type = 'application/octet-stream'
  if (typeof body === 'string') {
    if (!wellFormed(body)) throw new DriverError('Invalid', 'the body has a lone surrogate (not UTF-8): pass bytes')
    bytes = utf8Encode(body)
    type = 'text/plain; charset=utf-8'
  } else if (body instanceof Uint8Array) bytes = body
  else if (body instanceof ArrayBuffer) bytes = new Uint8Array(body)
  else if (ArrayBuffer.isView(body)) bytes = new Uint8Array(body.buffer, body.byteOffset, body.byteLength)
  else if (typeof Blob !== 'undefined' && body instanceof Blob) {
    if (body.size > max) throw tooLarge(body.size, max, service)
    bytes = new Uint8Array(await body.arrayBuffer())
    if (body.type !== '') type = body.type
  } else if (isReadableStream(body)) bytes = await readAll(iterateStream(body), max, service, signal)
  else if (isAsyncIterable(body)) bytes = await readAll(body, max, service, signal)
  else throw new DriverError('Invalid', 'the body must be a string, bytes, a Blob or a stream of bytes (JSON.stringify an object first)')
  if (bytes.length > max) throw tooLarge(bytes.length, max, service)
  return { bytes, type }
}

function tooLarge(size: number, max: number, service: string): DriverError {
  return new DriverError('TooLarge', `the object is ${size > max ? `${size} bytes` : `over ${max} bytes`}, more than ${service}'s limit of ${max} bytes for one upload`)
}

function isReadableStream(value: unknown): value is ReadableStream<Uint8Array> {
  return typeof ReadableStream !== 'undefined' && value instanceof ReadableStream
}

function isAsyncIterable(value: unknown): value is AsyncIterable<Uint8Array> {
  return typeof value === 'object' && value !== null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
}

async function* iterateStream(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return
      yield value
    }
  } finally {
    reader.releaseLock()
  }
}

async function readAll(chunks: AsyncIterable<Uint8Array>, max: number, service: string, signal: AbortSignal | undefined): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  let size = 0
  const iterator = chunks[Symbol.asyncIterator]()
  try {
    for (;;) {
      signal?.throwIfAborted()
      const { done, value } = await iterator.next()
      if (done) break
      if (!(value instanceof Uint8Array)) throw new DriverError('Invalid', 'the body stream must yield bytes (Uint8Array chunks)')
      size += value.length
      if (size > max) throw tooLarge(size, max, service)
      parts.push(value)
    }
  } catch (error) {
    await iterator.return?.()
    throw error
  }
  if (parts.length === 1) return parts[0] as Uint8Array
  const out = new Uint8Array(size)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

/** A message checked and normalised (see {@link OutgoingMessage}): text is encoded to bytes only when a driver asks. */
class Outgoing implements OutgoingMessage {
  readonly text: string | undefined
  readonly source: OutgoingMessage['source']
  readonly value: unknown
  readonly byteLength: number
  readonly attributes: Readonly<Record<string, string>>
  readonly delaySeconds: number
  readonly subject: string | undefined
  #bytes: Uint8Array | undefined

  constructor(
    source: OutgoingMessage['source'],
    text: string | undefined,
    bytes: Uint8Array | undefined,
    byteLength: number,
    value: unknown,
    attributes: Readonly<Record<string, string>>,
    delaySeconds: number,
    subject: string | undefined,
  ) {
    this.source = source
    this.text = text
    this.#bytes = bytes
    this.byteLength = byteLength
    this.value = value
    this.attributes = attributes
    this.delaySeconds = delaySeconds
    this.subject = subject
  }

  get bytes(): Uint8Array {
    return (this.#bytes ??= utf8Encode(this.text as string))
  }
}

/**
 * A message checked and normalised: its body, attributes (checked, then given to `traced`, which adds the
 * invocation's trace), delay and subject.
 */
export function outgoingMessage(
  content: MessageContent,
  attributes: unknown,
  delaySeconds: unknown,
  subject: unknown,
  maxDelaySeconds: number,
  service: string,
  traced: (checked: Readonly<Record<string, string>> | undefined) => Readonly<Record<string, string>> = (checked) => checked ?? NONE,
): OutgoingMessage {
  let bytes: Uint8Array | undefined
  let text: string | undefined
  let source: OutgoingMessage['source'] = 'text'
  let value: unknown
  let byteLength: number
  if (typeof content === 'string') {
    if (!wellFormed(content)) throw new DriverError('Invalid', 'the message has a lone surrogate (not UTF-8): pass bytes')
    text = content
    byteLength = utf8Length(content)
  } else if (content instanceof Uint8Array || content instanceof ArrayBuffer || ArrayBuffer.isView(content)) {
    bytes = content instanceof Uint8Array ? content : content instanceof ArrayBuffer ? new Uint8Array(content) : new Uint8Array(content.buffer, content.byteOffset, content.byteLength)
    text = utf8DecodeStrict(bytes)
    source = 'bytes'
    byteLength = bytes.length
  } else {
    if (typeof content === 'number' && !Number.isFinite(content)) throw new DriverError('Invalid', `the message ${String(content)} is not a JSON value`)
    let json: string | undefined
    try {
      json = jsonText(content)
    } catch (error) {
      throw new DriverError('Invalid', `the message is not JSON-serialisable (${(error as Error).message})`, { cause: error })
    }
    if (json === undefined) throw new DriverError('Invalid', `a message is a string, bytes or a JSON value, not ${typeof content}`)
    text = json
    source = 'json'
    value = content
    byteLength = utf8Length(json)
  }
  if (byteLength === 0) throw new DriverError('Invalid', 'the message is empty (SQS and SNS refuse empty messages)')
  const checked = traced(checkAttributes(attributes))
  return new Outgoing(source, text, bytes, byteLength, value, checked, checkDelay(delaySeconds, maxDelaySeconds, service), checkSubject(subject))
}

/** Message attributes every provider carries unchanged (undefined when none were given), or the Invalid error. */
export function checkAttributes(attributes: unknown): Readonly<Record<string, string>> | undefined {
  if (attributes === undefined) return undefined
  if (typeof attributes !== 'object' || attributes === null || Array.isArray(attributes)) throw new DriverError('Invalid', 'attributes must be an object of strings')
  const record = attributes as Record<string, unknown>
  for (const name of Object.keys(record)) {
    if (!ATTRIBUTE_NAME.test(name) || name.includes('..') || RESERVED_ATTRIBUTE.test(name)) {
      throw new DriverError(
        'Invalid',
        `attribute name ${JSON.stringify(name)}: use letters, digits, "_", "-" and "." (not first or last, never two in a row), at most 256 characters, not starting with aws., amazon., goog or polycloud. (SQS's and Pub/Sub's rules)`,
      )
    }
    const value = record[name]
    if (typeof value !== 'string' || value === '') throw new DriverError('Invalid', `attribute ${name} must be a non-empty string (SQS and SNS refuse empty values)`)
    if (!isXmlText(value)) throw new DriverError('Invalid', `attribute ${name} has a character SQS and SNS refuse (a control character, a lone surrogate, U+FFFE or U+FFFF)`)
  }
  return record as Record<string, string>
}

function checkDelay(delaySeconds: unknown, max: number, service: string): number {
  if (delaySeconds === undefined || delaySeconds === 0) return 0
  if (typeof delaySeconds !== 'number' || !Number.isInteger(delaySeconds) || delaySeconds < 0) throw new DriverError('Invalid', `delaySeconds must be a whole number of seconds, got ${String(delaySeconds)}`)
  if (max === 0) throw new DriverError('Invalid', `${service} has no per-message delay: delaySeconds must be 0`)
  if (delaySeconds > max) throw new DriverError('Invalid', `delaySeconds ${delaySeconds} is more than ${service}'s maximum of ${max} seconds`)
  return delaySeconds
}

function checkSubject(subject: unknown): string | undefined {
  if (subject === undefined) return undefined
  if (typeof subject !== 'string' || !SUBJECT.test(subject)) throw new DriverError('Invalid', 'subject must be 1-100 printable ASCII characters (SNS\'s rule)')
  return subject
}
