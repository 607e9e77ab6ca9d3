import { base64ToBytes, isBase64, utf8Decode, utf8Encode } from '#encoding'
import { jsonText } from './json-text.js'

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }
export type JsonObject = { [key: string]: JsonValue }

/** What every neutral event carries. */
export interface EventBase {
  /** The provider's id for this event or message (unique per delivery source; retries keep it). */
  readonly id: string
  /** When it happened (ISO 8601, UTC). For a schedule, the time it was scheduled for. */
  readonly time: string
  /** Where it came from: the queue, topic, bucket, table or rule, as the provider names it (ARN, resource path). */
  readonly source: string
  /** The native record or event this was translated from, untouched: the escape hatch. */
  readonly native: unknown
}

/** A cron or rate tick. */
export interface ScheduleEvent extends EventBase {
  readonly kind: 'schedule'
  /**
   * The schedule as serverless.yml declares it (`0 3 * * *`, `@daily`, `rate(5 minutes)`), the same on every
   * provider. Where no declaration reaches the source (a native event, `polycloud inspect`), the expression the
   * platform reports, in its own terms (a Workers cron, an Azure NCRONTAB), else undefined.
   */
  readonly schedule: string | undefined
  /**
   * The function's name as serverless.yml declares it (`report`), the same on every provider. Without a declaration,
   * the rule, job or function the platform names as what fired, when it does.
   */
  readonly name: string | undefined
}

/** The body of a message: text, JSON or bytes, decoded on first use. */
export interface MessageBody {
  /** The body as text (bytes decoded as UTF-8). */
  readonly body: string
  /** Parses the body as JSON; throws an Error naming the message when it is not JSON. */
  json<T = unknown>(): T
  /** The body's bytes, exactly as published. */
  bytes(): Uint8Array
}

/** One message of a queue batch. Each message fails on its own: a throw redelivers only this message. */
export interface QueueMessage extends EventBase, MessageBody {
  readonly kind: 'queue'
  /** Queue name. */
  readonly queue: string
  /** Message attributes / application properties, as strings (binary values in base64). */
  readonly attributes: Readonly<Record<string, string>>
  /** Delivery attempt, 1 on the first delivery. */
  readonly attempt: number
  /** FIFO group or session id, when the queue has one. */
  readonly groupId: string | undefined
}

/** A message published to a pub/sub topic. */
export interface TopicMessage extends EventBase, MessageBody {
  readonly kind: 'topic'
  /** Topic name. */
  readonly topic: string
  readonly subject: string | undefined
  readonly attributes: Readonly<Record<string, string>>
}

/** An object created in or deleted from a bucket. */
export interface StorageEvent extends EventBase {
  readonly kind: 'storage'
  /** `other` covers restores, replication, tier changes and the like; `action` says which. */
  readonly type: 'created' | 'deleted' | 'other'
  /** The provider's own name for what happened, e.g. `ObjectCreated:Put`, `Microsoft.Storage.BlobDeleted`. */
  readonly action: string
  readonly bucket: string
  /** Object key, decoded (S3 sends it URL-encoded). */
  readonly key: string
  readonly size: number | undefined
  readonly etag: string | undefined
  readonly contentType: string | undefined
  readonly versionId: string | undefined
}

/** One change from a database change stream, with images as plain JSON. */
export interface ChangeEvent extends EventBase {
  readonly kind: 'changes'
  /** `upsert` when the source cannot tell an insert from a modification (Cosmos DB latest-version change feed). */
  readonly type: 'insert' | 'modify' | 'remove' | 'upsert'
  /** Table, container or collection name. */
  readonly table: string
  /** Key attributes of the changed item. */
  readonly keys: JsonObject
  readonly newImage: JsonObject | undefined
  readonly oldImage: JsonObject | undefined
}

/**
 * A CloudEvents 1.0 event, valid by the specification's rules (an invalid one fails as a malformed record and never
 * reaches a handler). `time` is the event's RFC 3339 timestamp as given (any offset), '' when it has none.
 */
export interface CloudEvent extends EventBase {
  readonly kind: 'cloudEvent'
  readonly specversion: string
  readonly type: string
  readonly subject: string | undefined
  readonly datacontenttype: string | undefined
  readonly dataschema: string | undefined
  /** JSON data as parsed values; `data_base64` or binary data as bytes. */
  readonly data: unknown
  /** Extension attributes: lower-case names, boolean, integer or string values. */
  readonly extensions: Readonly<Record<string, unknown>>
}

export type NeutralEvent = ScheduleEvent | QueueMessage | TopicMessage | StorageEvent | ChangeEvent | CloudEvent
export type EventKind = NeutralEvent['kind']

/** A message payload as an adapter finds it; decoded on first use. */
export type Payload =
  | { readonly text: string }
  | { readonly base64: string }
  | { readonly bytes: Uint8Array }
  /** An already-decoded value (Workers queue bodies, Azure's parsed JSON): JSON-serialised for `body`. */
  | { readonly value: unknown }

const EMPTY: Readonly<Record<string, string>> = Object.freeze({})

/** Shared implementation of {@link MessageBody}, for adapters. */
abstract class PayloadMessage implements MessageBody {
  readonly id: string
  readonly time: string
  readonly source: string
  readonly native: unknown
  readonly attributes: Readonly<Record<string, string>>
  readonly #payload: Payload
  #text: string | undefined
  #bytes: Uint8Array | undefined

  constructor(init: MessageInit) {
    this.id = init.id
    this.time = init.time
    this.source = init.source
    this.native = init.native
    this.attributes = init.attributes ?? EMPTY
    this.#payload = init.payload
  }

  get body(): string {
    if (this.#text !== undefined) return this.#text
    const payload = this.#payload
    if ('text' in payload) return (this.#text = payload.text)
    if ('value' in payload) {
      const value = payload.value
      if (typeof value === 'string') return (this.#text = value)
      if (!(value instanceof Uint8Array) && !(value instanceof ArrayBuffer)) {
        // Nested thousands of levels deep, the same text JSON.stringify would write (AWS and GCP hand over text).
        return (this.#text = jsonText(value) ?? '')
      }
    }
    return (this.#text = utf8Decode(this.bytes()))
  }

  json<T = unknown>(): T {
    const payload = this.#payload
    if ('value' in payload && typeof payload.value !== 'string' && !isBinary(payload.value)) return payload.value as T
    try {
      return JSON.parse(this.body) as T
    } catch (error) {
      throw new SyntaxError(`message ${this.id}: body is not valid JSON (${(error as Error).message})`, { cause: error })
    }
  }

  bytes(): Uint8Array {
    if (this.#bytes !== undefined) return this.#bytes
    const payload = this.#payload
    if ('bytes' in payload) return (this.#bytes = payload.bytes)
    if ('base64' in payload) {
      if (!isBase64(payload.base64)) throw new SyntaxError(`message ${this.id}: data is not valid base64`)
      return (this.#bytes = base64ToBytes(payload.base64))
    }
    if ('value' in payload) {
      const value = payload.value
      if (value instanceof Uint8Array) return (this.#bytes = value)
      if (value instanceof ArrayBuffer) return (this.#bytes = new Uint8Array(value))
    }
    return (this.#bytes = utf8Encode(this.body))
  }
}

function isBinary(value: unknown): boolean {
  return value instanceof Uint8Array || value instanceof ArrayBuffer
}

interface MessageInit {
  readonly id: string
  readonly time: string
  readonly source: string
  readonly native: unknown
  readonly payload: Payload
  readonly attributes?: Readonly<Record<string, string>>
}

export class PortableQueueMessage extends PayloadMessage implements QueueMessage {
  readonly kind = 'queue' as const
  readonly queue: string
  readonly attempt: number
  readonly groupId: string | undefined

  constructor(init: MessageInit & { readonly queue: string; readonly attempt: number; readonly groupId?: string }) {
    super(init)
    this.queue = init.queue
    this.attempt = init.attempt
    this.groupId = init.groupId
  }
}

export class PortableTopicMessage extends PayloadMessage implements TopicMessage {
  readonly kind = 'topic' as const
  readonly topic: string
  readonly subject: string | undefined

  constructor(init: MessageInit & { readonly topic: string; readonly subject?: string }) {
    super(init)
    this.topic = init.topic
    this.subject = init.subject
  }
}
