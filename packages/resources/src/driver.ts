/**
 * What a cloud driver implements (`@polycloud/<cloud>/resources`), and the helpers drivers share. The neutral client
 * (index.ts) checks every argument and the provider's limits before it calls a driver, maps what a driver throws to a
 * ResourceError naming the resource and operation, retries what is retryable, and bounds each call by its signal and
 * the invocation's deadline: a driver does one provider call per method.
 */
import { utf8Decode } from '@polycloud/core/adapter'
import type { ResourceAddress } from './addressing.js'
import { DriverError, type ResourceErrorCode, type ResourceKind } from './errors.js'
import type { ListedObject, ObjectInfo, ObjectList, PutResult, StoredObject } from './types.js'
import type { StoreBackend } from './store-driver.js'

export { DriverError } from './errors.js'
export type { ResourceErrorCode, ResourceKind } from './errors.js'
export { field, parseAddressing, RESOURCES_VARIABLE } from './addressing.js'
export type { ResourceAddress, ResourceAddressing, AwsAddress, AzureAddress, GoogleAddress, CloudflareAddress } from './addressing.js'

/** What one call of a driver method gets beside its arguments. */
export interface Call {
  /** Aborts the provider call (the caller's signal and the invocation's deadline, combined). */
  readonly signal: AbortSignal | undefined
  /** The Workers `env` of the invocation (bindings); undefined elsewhere. */
  readonly bindings: Readonly<Record<string, unknown>> | undefined
}

/** An object store's limits, checked before the call. `service` names the provider's service in errors. */
export interface ObjectLimits {
  readonly service: string
  /** The largest object one `put` request stores. */
  readonly maxObjectBytes: number
  /** User metadata, names and values, in bytes (as the provider counts them). */
  readonly maxMetadataBytes: number
  /** Where the figures come from. */
  readonly source: string
}

/** A queue's or topic's limits, checked before the call. */
export interface MessageLimits {
  readonly service: string
  /** One message as the provider counts it (the `size` of an encoded message). */
  readonly maxMessageBytes: number
  /** Messages per batch request (for a topic: 1). */
  readonly maxBatchMessages: number
  /** All the messages of a batch request. */
  readonly maxBatchBytes: number
  /** 0 when the service has no per-message delay. */
  readonly maxDelaySeconds: number
  /** How `size` is counted, for the error message. */
  readonly sizeRule: string
  readonly source: string
}

/** A message as the neutral client hands it to a driver: checked, with its body as bytes and, when it is UTF-8, text. */
export interface OutgoingMessage {
  /** The body's bytes (for text, encoded when first read: a driver that sends text need not ask). */
  readonly bytes: Uint8Array
  /** The length of `bytes`, known without encoding. */
  readonly byteLength: number
  /** The body as text when the bytes are valid UTF-8 (always for a string or a JSON value). */
  readonly text: string | undefined
  /** What the content was: a string, bytes, or another JSON value (`text` is then its JSON). */
  readonly source: 'text' | 'bytes' | 'json'
  /** The JSON value itself when `source` is `json`. */
  readonly value: unknown
  readonly attributes: Readonly<Record<string, string>>
  readonly delaySeconds: number
  readonly subject: string | undefined
}

/** A message encoded for the wire by a driver; `size` is what counts against {@link MessageLimits}. */
export interface EncodedMessage {
  readonly size: number
}

export interface BucketBackend {
  readonly limits: ObjectLimits
  put(key: string, body: Uint8Array, contentType: string, metadata: Readonly<Record<string, string>>, call: Call): Promise<PutResult>
  get(key: string, call: Call): Promise<StoredObject | null>
  head(key: string, call: Call): Promise<ObjectInfo | null>
  /** Succeeds when the key holds nothing. */
  delete(key: string, call: Call): Promise<void>
  list(prefix: string, cursor: string | undefined, limit: number, call: Call): Promise<ObjectList>
}

export interface MessageBackend<E extends EncodedMessage = EncodedMessage> {
  readonly limits: MessageLimits
  /** Encodes a message for the wire (an envelope, base64, ...); throws a DriverError for a rule of this provider. */
  encode(message: OutgoingMessage): E
  /**
   * Sends encoded messages: one (`batch` false: `send`, `publish`) or several in one request (`sendBatch`). A partial
   * failure throws a DriverError whose `failed` lists the indexes not sent.
   */
  send(messages: readonly E[], batch: boolean, call: Call): Promise<void>
}

/** Where a driver opens a resource: the environment of the invocation (process.env, or a Worker's vars). */
export interface OpenContext {
  readonly env: Readonly<Record<string, string | undefined>>
}

/** A cloud's driver: opens a resource from its addressing entry. Opening happens once per resource and process. */
export interface ResourceDriver {
  /** `aws`, `azure`, `gcp`, `cloudflare`, `memory`. */
  readonly provider: string
  bucket(name: string, address: ResourceAddress, context: OpenContext): BucketBackend | Promise<BucketBackend>
  queue(name: string, address: ResourceAddress, context: OpenContext): MessageBackend | Promise<MessageBackend>
  topic(name: string, address: ResourceAddress, context: OpenContext): MessageBackend | Promise<MessageBackend>
  /** A key-value store (absent from a driver that has none: the client then says so). */
  store?(name: string, address: ResourceAddress, context: OpenContext): StoreBackend | Promise<StoreBackend>
  /** An addressing entry from elsewhere than `POLYCLOUD_RESOURCES` (the in-memory driver makes one for any name). */
  locate?(kind: ResourceKind, name: string): ResourceAddress | undefined
  /**
   * True when the platform runs one invocation at a time in a process (AWS Lambda): the invocation in flight is then
   * found without AsyncLocalStorage, which costs about 3.7 M instructions to load on Node 20 and a little per promise.
   */
  readonly serial?: boolean
}

/** The cloud's own error, kept as a ResourceError's `cause`: the service, its error code, message and HTTP status. */
export class CloudError extends Error {
  override readonly name = 'CloudError'
  readonly service: string
  readonly code: string
  readonly status: number

  constructor(service: string, code: string, message: string, status: number) {
    super(`${service} ${status}${code === '' ? '' : ` ${code}`}: ${message}`)
    this.service = service
    this.code = code
    this.status = status
  }
}

/** The error for a provider answer: a code from the status, unless the provider's code says better. */
export function statusCode(status: number): ResourceErrorCode {
  if (status === 404 || status === 410) return 'NotFound'
  if (status === 401 || status === 403) return 'Denied'
  if (status === 413) return 'TooLarge'
  if (status === 429 || status === 503) return status === 429 ? 'Throttled' : 'Unavailable'
  if (status === 408 || status === 504) return 'Timeout'
  if (status >= 500) return 'Unavailable'
  return 'Invalid'
}

/** `"abc"` -> `abc`; a weak `W/"abc"` -> `abc`. */
export function bareEtag(etag: string | undefined): string {
  if (etag === undefined) return ''
  return etag.replace(/^W\//, '').replace(/^"(.*)"$/, '$1')
}

/** An HTTP date or ISO time as ISO 8601 UTC ('' when absent or not a date). */
export function isoTime(value: string | number | Date | undefined): string {
  if (value === undefined || value === '') return ''
  const date = value instanceof Date ? value : new Date(value)
  return Number.isNaN(date.getTime()) ? '' : date.toISOString()
}

/** Where a stored object's body comes from: bytes already read, or a stream read on demand. */
export type BodySource =
  | { readonly bytes: Uint8Array }
  | { readonly stream: () => ReadableStream<Uint8Array>; readonly read: () => Promise<Uint8Array> }

/**
 * An object's metadata as its reader sees it: without the trace the writer's invocation put there (`traceparent`,
 * `tracestate`: for the storage event's function), as message attributes arrive without it.
 */
export function userMetadata(metadata: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  if (!Object.hasOwn(metadata, 'traceparent') && !Object.hasOwn(metadata, 'tracestate')) return metadata
  const { traceparent: _parent, tracestate: _state, ...rest } = metadata
  return rest
}

/** A {@link StoredObject} from a description and its body. */
export function storedObject(info: ObjectInfo, source: BodySource): StoredObject {
  return new Stored(info, source)
}

class Stored implements StoredObject {
  readonly key: string
  readonly size: number
  readonly etag: string
  readonly contentType: string | undefined
  readonly metadata: Readonly<Record<string, string>>
  readonly uploaded: string
  #source: BodySource
  #bytes: Promise<Uint8Array> | undefined
  #streamed = false

  constructor(info: ObjectInfo, source: BodySource) {
    this.key = info.key
    this.size = info.size
    this.etag = info.etag
    this.contentType = info.contentType
    this.metadata = userMetadata(info.metadata)
    this.uploaded = info.uploaded
    this.#source = source
  }

  get body(): ReadableStream<Uint8Array> {
    if (this.#streamed) throw new TypeError(`object ${JSON.stringify(this.key)}: the body stream was already taken`)
    this.#streamed = true
    const source = this.#source
    if (this.#bytes !== undefined) {
      const bytes = this.#bytes
      return new ReadableStream({ async start(controller) { controller.enqueue(await bytes); controller.close() } })
    }
    if ('bytes' in source) {
      return new ReadableStream({ start(controller) { if (source.bytes.length > 0) controller.enqueue(source.bytes); controller.close() } })
    }
    return source.stream()
  }

  bytes(): Promise<Uint8Array> {
    if (this.#bytes !== undefined) return this.#bytes
    if (this.#streamed) return Promise.reject(new TypeError(`object ${JSON.stringify(this.key)}: the body was read as a stream`))
    const source = this.#source
    return (this.#bytes = 'bytes' in source ? Promise.resolve(source.bytes) : source.read())
  }

  async text(): Promise<string> {
    return utf8Decode(await this.bytes())
  }

  async json<T = unknown>(): Promise<T> {
    const text = await this.text()
    try {
      return JSON.parse(text) as T
    } catch (error) {
      throw new SyntaxError(`object ${JSON.stringify(this.key)} is not JSON (${(error as Error).message})`, { cause: error })
    }
  }
}

/** A listing page from the provider's items. */
export function objectList(objects: readonly ListedObject[], cursor: string | undefined): ObjectList {
  return { objects, cursor: cursor === undefined || cursor === '' ? undefined : cursor }
}

/** The bytes of a metadata record as S3, Blob Storage, Cloud Storage and R2 count them: names plus values, UTF-8. */
export function metadataBytes(metadata: Readonly<Record<string, string>>): number {
  let size = 0
  for (const name of Object.keys(metadata)) size += utf8Length(name) + utf8Length(metadata[name] as string)
  return size
}

/** UTF-8 length of a string without encoding it. */
export function utf8Length(text: string): number {
  let size = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code < 0x80) size += 1
    else if (code < 0x800) size += 2
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      size += 4
      i++
    } else size += 3
  }
  return size
}

/** Base64 length of n bytes. */
export function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4
}

/** `kind` of the entry, checked against the handle's. */
export function checkKind(address: ResourceAddress, kind: ResourceKind, name: string): void {
  if (address.kind !== kind) throw new DriverError('Invalid', `${JSON.stringify(name)} is declared as a ${address.kind}, not a ${kind}`)
}

export { xmlDecode, xmlElements, xmlEscape, xmlValue, isXmlText } from './xml.js'
export { STORE_LIMITS, expired, prefixSuccessor } from './store-driver.js'
export type { StoreBackend, StoreRecord, StoreWrite, StoreCondition, ListedRecord } from './store-driver.js'
