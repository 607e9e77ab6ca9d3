/**
 * The Cloudflare driver of @polycloud/resources: R2 buckets and Queues through the Worker's bindings (no HTTP, no
 * credentials: a binding is the grant). Cloudflare has no topics. The Worker entry wires it for the functions that
 * declare resources: `withResources(handler, cloudflareResources(), ['uploads'])`; the bindings come from the
 * invocation's `env`.
 *
 * Addressing (`POLYCLOUD_RESOURCES`, a Worker var): `{ kind: 'bucket' | 'queue', binding: '<BINDING>' }`,
 * `{ kind: 'store', binding: '<D1 BINDING>', table? }` (a table of a D1 database).
 * A queue message with attributes goes in Polycloud's envelope (Queues have no attributes); the Queues source of
 * this package opens it. Bodies otherwise go as Queues carry them: text as `text`, bytes as `bytes`, other JSON
 * values as `json`.
 */
import { ENVELOPE_MARKER, bytesToBase64, messageEnvelope } from '@polycloud/core/adapter'
import {
  DriverError,
  field,
  isoTime,
  objectList,
  storedObject,
  type BucketBackend,
  type Call,
  type MessageBackend,
  type MessageLimits,
  type ObjectLimits,
  type OpenContext,
  type OutgoingMessage,
  type ResourceAddress,
  type ResourceDriver,
  type StoreBackend,
  utf8Length,
} from '@polycloud/resources/driver'
import { DEFAULT_TABLE, checkTable, d1Store, type D1DatabaseLike } from './store.js'
import type { ObjectInfo, ObjectList, PutResult, StoredObject } from '@polycloud/resources'

/** The members of an R2 bucket binding used here (workers-types' `R2Bucket`). */
export interface R2BucketLike {
  put(key: string, value: Uint8Array, options?: { httpMetadata?: { contentType?: string }; customMetadata?: Record<string, string> }): Promise<R2ObjectLike | null>
  get(key: string): Promise<(R2ObjectLike & { body: ReadableStream<Uint8Array>; arrayBuffer(): Promise<ArrayBuffer> }) | null>
  head(key: string): Promise<R2ObjectLike | null>
  delete(key: string): Promise<void>
  list(options?: { prefix?: string; cursor?: string; limit?: number }): Promise<{ objects: R2ObjectLike[]; truncated: boolean; cursor?: string }>
}

export interface R2ObjectLike {
  readonly key: string
  readonly size: number
  readonly etag: string
  readonly uploaded: Date
  readonly httpMetadata?: { contentType?: string }
  readonly customMetadata?: Record<string, string>
}

/** The members of a Queue producer binding used here (workers-types' `Queue`). */
export interface QueueLike {
  send(body: unknown, options?: { contentType?: QueueContentType; delaySeconds?: number }): Promise<unknown>
  sendBatch(messages: Iterable<{ body: unknown; contentType?: QueueContentType; delaySeconds?: number }>): Promise<unknown>
}

type QueueContentType = 'text' | 'bytes' | 'json' | 'v8'

/** The limits checked before each call (and named in the errors), with where they come from. */
export const CLOUDFLARE_LIMITS: { readonly r2: ObjectLimits; readonly queues: MessageLimits } = {
  r2: {
    service: 'R2',
    maxObjectBytes: 5 * 1024 ** 3 - 5 * 1024 ** 2,
    maxMetadataBytes: 8192,
    source: 'https://developers.cloudflare.com/r2/platform/limits/ (4.995 GiB in one upload, 8,192 bytes of metadata)',
  },
  queues: {
    service: 'Cloudflare Queues',
    maxMessageBytes: 128_000,
    maxBatchMessages: 100,
    maxBatchBytes: 256_000,
    maxDelaySeconds: 86_400,
    sizeRule: 'the body (JSON text for a JSON value or Polycloud\'s envelope) plus about 100 bytes of metadata Queues counts; 1 KB = 1000 bytes',
    source: 'https://developers.cloudflare.com/queues/platform/limits/ (128 KB per message, 100 messages or 256 KB per sendBatch, 24 hours of delay)',
  },
}

/** Bytes Queues adds to each message's size (the limits page: "up to ~100 bytes of internal metadata"). */
const QUEUE_METADATA_BYTES = 100
const EAGER_BYTES = 1024 * 1024

export interface CloudflareResourcesOptions {
  /** Bindings for calls made outside an invocation (tests); an invocation's own `env` comes first. */
  readonly env?: Readonly<Record<string, unknown>>
}

export function cloudflareResources(options: CloudflareResourcesOptions = {}): ResourceDriver {
  const binding = <T>(call: Call, name: string, what: string): T => {
    const value = call.bindings?.[name] ?? options.env?.[name]
    if (value === undefined || value === null) throw new DriverError('NotDeclared', `the Worker has no ${what} binding ${name} (the plugin adds it for the functions that declare the resource)`)
    return value as T
  }
  return {
    provider: 'cloudflare',
    bucket(name: string, address: ResourceAddress): BucketBackend {
      return r2Backend(field(address, 'binding', name, 'the R2 bucket binding'), binding)
    },
    queue(name: string, address: ResourceAddress): MessageBackend {
      return queueBackend(field(address, 'binding', name, 'the Queue producer binding'), binding)
    },
    topic(name: string, _address: ResourceAddress, _context: OpenContext): MessageBackend {
      throw new DriverError('Invalid', `Cloudflare has no topics: ${JSON.stringify(name)} cannot be published to on Workers (use a queue)`)
    },
    store(name: string, address: ResourceAddress): StoreBackend {
      const d1 = field(address, 'binding', name, 'the D1 database binding')
      const given = (address as { table?: unknown }).table
      const table = checkTable(typeof given === 'string' && given !== '' ? given : DEFAULT_TABLE, name)
      return d1Store(table, (call) => binding<D1DatabaseLike>(call, d1, 'D1 database'), bounded)
    },
  }
}

type Binding = <T>(call: Call, name: string, what: string) => T

/** The calls in flight per signal: one `abort` listener per signal (the invocation's deadline) rejects them all. */
const inFlight = new WeakMap<AbortSignal, Set<(reason: unknown) => void>>()

function callsOf(signal: AbortSignal): Set<(reason: unknown) => void> {
  let calls = inFlight.get(signal)
  if (calls === undefined) {
    const pending = new Set<(reason: unknown) => void>()
    inFlight.set(signal, (calls = pending))
    signal.addEventListener(
      'abort',
      () => {
        for (const reject of pending) reject(signal.reason)
        pending.clear()
      },
      { once: true },
    )
  }
  return calls
}

/**
 * A binding call bounded by the call's signal (bindings take none): an abort rejects at once, and a binding's
 * exception becomes a DriverError. The calls of an invocation share one listener on its signal, not one each.
 */
function bounded<T>(call: Call, promise: Promise<T>): Promise<T> {
  const signal = call.signal
  if (signal === undefined) return promise
  if (signal.aborted) return Promise.reject(signal.reason)
  const calls = callsOf(signal)
  return new Promise<T>((resolve, reject) => {
    calls.add(reject)
    promise.then(
      (value) => {
        calls.delete(reject)
        resolve(value)
      },
      (error: unknown) => {
        calls.delete(reject)
        reject(bindingError(error))
      },
    )
  })
}

/**
 * A binding's exception as a DriverError. R2 and Queues put their error code at the end of the message; D1 names its
 * errors in the message (https://developers.cloudflare.com/d1/observability/debug-d1/#error-list): "D1 DB is
 * overloaded. Too many requests queued." (or "Requests queued for too long.") is Throttled, "string or blob too big"
 * (SQLITE_TOOBIG) TooLarge, the rest (a lost connection, a reset database) Unavailable.
 */
function bindingError(error: unknown): unknown {
  if (!(error instanceof Error) || error instanceof DriverError) return error
  const message = error.message
  const code = /too many requests|rate limit|overloaded|\(10058\)|\(429\)/i.test(message)
    ? 'Throttled'
    : /too large|entitytoolarge|too big|SQLITE_TOOBIG|\(413\)/i.test(message)
      ? 'TooLarge'
      : /unauthorized|forbidden|\(10106\)/i.test(message)
        ? 'Denied'
        : 'Unavailable'
  return new DriverError(code, message, { cause: error })
}

function r2Info(object: R2ObjectLike): ObjectInfo {
  return {
    key: object.key,
    size: object.size,
    etag: object.etag,
    contentType: object.httpMetadata?.contentType,
    metadata: { ...object.customMetadata },
    uploaded: isoTime(object.uploaded),
  }
}

function r2Backend(name: string, binding: Binding): BucketBackend {
  const bucket = (call: Call): R2BucketLike => binding<R2BucketLike>(call, name, 'R2 bucket')
  return {
    limits: CLOUDFLARE_LIMITS.r2,
    async put(key: string, body: Uint8Array, contentType: string, metadata: Readonly<Record<string, string>>, call: Call): Promise<PutResult> {
      // A plain Uint8Array: a Buffer (nodejs_compat, or miniflare's bindings used from Node) is copied into one.
      const bytes = Object.getPrototypeOf(body) === Uint8Array.prototype ? body : new Uint8Array(body)
      const object = await bounded(call, bucket(call).put(key, bytes, { httpMetadata: { contentType }, customMetadata: metadata }))
      if (object === null) throw new DriverError('Unavailable', 'R2 did not store the object (a condition failed)')
      return { key, size: object.size, etag: object.etag }
    },
    async get(key: string, call: Call): Promise<StoredObject | null> {
      const object = await bounded(call, bucket(call).get(key))
      if (object === null) return null
      const info = r2Info(object)
      if (object.size <= EAGER_BYTES) return storedObject(info, { bytes: new Uint8Array(await bounded(call, object.arrayBuffer())) })
      return storedObject(info, { stream: () => object.body, read: async () => new Uint8Array(await object.arrayBuffer()) })
    },
    async head(key: string, call: Call): Promise<ObjectInfo | null> {
      const object = await bounded(call, bucket(call).head(key))
      return object === null ? null : r2Info(object)
    },
    async delete(key: string, call: Call): Promise<void> {
      await bounded(call, bucket(call).delete(key))
    },
    async list(prefix: string, cursor: string | undefined, limit: number, call: Call): Promise<ObjectList> {
      const page = await bounded(call, bucket(call).list({ limit, ...(prefix === '' ? {} : { prefix }), ...(cursor === undefined ? {} : { cursor }) }))
      const objects = page.objects.map((object) => ({ key: object.key, size: object.size, etag: object.etag, uploaded: isoTime(object.uploaded) }))
      return objectList(objects, page.truncated ? page.cursor : undefined)
    },
  }
}

/** UTF-8 bytes of `JSON.stringify` of attributes, per attributes object (an invocation's trace is one object). */
const attributesJsonBytes = new WeakMap<object, number>()

/**
 * The UTF-8 length of the envelope's JSON text as Queues will count it (`{"polycloud.message":1,"body":...,
 * "attributes":{...}}`, the keys in messageEnvelope's order), from the body's JSON and the attributes' length.
 */
function envelopeBytes(body: { readonly text: string } | { readonly base64: string }, attributes: Readonly<Record<string, string>>): number {
  let attributesBytes = attributesJsonBytes.get(attributes)
  if (attributesBytes === undefined) attributesJsonBytes.set(attributes, (attributesBytes = utf8Length(JSON.stringify(attributes))))
  const value = 'text' in body ? utf8Length(JSON.stringify(body.text)) + ENVELOPE_BODY_BYTES : body.base64.length + 2 + ENVELOPE_BASE64_BYTES
  return value + ENVELOPE_ATTRIBUTES_BYTES + attributesBytes + 1
}

const ENVELOPE_BODY_BYTES = `{${JSON.stringify(ENVELOPE_MARKER)}:1,"body":`.length
const ENVELOPE_BASE64_BYTES = `{${JSON.stringify(ENVELOPE_MARKER)}:1,"base64":`.length
const ENVELOPE_ATTRIBUTES_BYTES = ',"attributes":'.length

interface QueueMessage {
  readonly size: number
  readonly body: unknown
  readonly contentType: QueueContentType
  readonly delaySeconds: number
}

function queueBackend(name: string, binding: Binding): MessageBackend<QueueMessage> {
  const producer = (call: Call): QueueLike => binding<QueueLike>(call, name, 'Queue producer')
  return {
    limits: CLOUDFLARE_LIMITS.queues,
    encode(message: OutgoingMessage): QueueMessage {
      const delaySeconds = message.delaySeconds
      for (const _name in message.attributes) {
        const body = message.text !== undefined ? { text: message.text } : { base64: bytesToBase64(message.bytes) }
        const envelope = messageEnvelope(body, message.attributes)
        return { body: envelope, contentType: 'json', delaySeconds, size: envelopeBytes(body, message.attributes) + QUEUE_METADATA_BYTES }
      }
      const size = message.byteLength + QUEUE_METADATA_BYTES
      if (message.source === 'json') return { body: message.value, contentType: 'json', delaySeconds, size }
      if (message.source === 'text') return { body: message.text, contentType: 'text', delaySeconds, size }
      return { body: message.bytes, contentType: 'bytes', delaySeconds, size }
    },
    async send(messages: readonly QueueMessage[], batch: boolean, call: Call): Promise<void> {
      const queue = producer(call)
      if (!batch) {
        const message = messages[0] as QueueMessage
        const options = message.delaySeconds > 0 ? { contentType: message.contentType, delaySeconds: message.delaySeconds } : { contentType: message.contentType }
        await bounded(call, queue.send(message.body, options))
        return
      }
      await bounded(call, queue.sendBatch(messages.map((message) => (message.delaySeconds > 0 ? { body: message.body, contentType: message.contentType, delaySeconds: message.delaySeconds } : { body: message.body, contentType: message.contentType }))))
    },
  }
}
