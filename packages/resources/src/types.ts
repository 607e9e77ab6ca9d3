/** The neutral API's types: what a handler passes and gets back, on every provider the same. */
import type { JsonValue } from '@polycloud/core'

/** Options every call takes. */
export interface CallOptions {
  /**
   * Aborts the call (a `Timeout` ResourceError). Without one, a call made during an invocation is bounded by the
   * invocation's deadline anyway (see the README's "Deadlines").
   */
  readonly signal?: AbortSignal
}

/** An object's body when it is stored: bytes, text (stored as UTF-8) or a stream of bytes (read to the end first). */
export type ObjectBody = string | Uint8Array | ArrayBuffer | ArrayBufferView | Blob | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>

export interface PutOptions extends CallOptions {
  /** Default: `text/plain; charset=utf-8` for a string, the Blob's type for a Blob, else `application/octet-stream`. */
  readonly contentType?: string
  /**
   * User metadata, kept with the object and returned by `get`/`head`. Names: lower-case letters, digits and `_`,
   * starting with a letter (the names every provider keeps as given); values: printable ASCII without leading or
   * trailing spaces (what HTTP headers carry unchanged).
   */
  readonly metadata?: Readonly<Record<string, string>>
}

/** What `put` stored. */
export interface PutResult {
  readonly key: string
  readonly size: number
  /** The provider's entity tag, without quotes. */
  readonly etag: string
}

/** An object as `head` and `get` describe it. */
export interface ObjectInfo {
  readonly key: string
  readonly size: number
  /** The provider's entity tag, without quotes. */
  readonly etag: string
  readonly contentType: string | undefined
  readonly metadata: Readonly<Record<string, string>>
  /** When it was last written (ISO 8601, UTC). */
  readonly uploaded: string
}

/**
 * An object and its body. The body is read once from the provider and kept: `bytes()`, `text()` and `json()` can
 * each be called any number of times; `body` is a stream of it (after which the other readers fail, as a Fetch body).
 */
export interface StoredObject extends ObjectInfo {
  readonly body: ReadableStream<Uint8Array>
  bytes(): Promise<Uint8Array>
  /** The body decoded as UTF-8. */
  text(): Promise<string>
  /** The body parsed as JSON; rejects with a SyntaxError naming the key when it is not JSON. */
  json<T = unknown>(): Promise<T>
}

/** One object of a listing (list responses carry no content type or metadata on every provider: use `head`). */
export interface ListedObject {
  readonly key: string
  readonly size: number
  readonly etag: string
  readonly uploaded: string
}

export interface ListOptions extends CallOptions {
  /** Only keys starting with it. */
  readonly prefix?: string
  /** The `cursor` of the previous page. */
  readonly cursor?: string
  /** At most this many objects (1-1000, default 1000). A page may hold fewer, even with more to come. */
  readonly limit?: number
}

/** A page of a listing, in key order. */
export interface ObjectList {
  readonly objects: readonly ListedObject[]
  /** Pass it as `cursor` for the next page; undefined on the last one. */
  readonly cursor: string | undefined
}

/**
 * A message body: a string (sent as its UTF-8 bytes), bytes (sent as they are), or any other JSON value (sent as its
 * `JSON.stringify` text). The receiver's `body`, `bytes()` and `json()` give back exactly this.
 */
export type MessageContent = string | Uint8Array | ArrayBuffer | ArrayBufferView | Exclude<JsonValue, string>

export interface MessageOptions {
  /**
   * Message attributes (SQS and SNS message attributes, Service Bus application properties, Pub/Sub attributes; an
   * envelope where the service has none). Names: letters, digits, `_`, `-` and `.`, at most 256 characters, not
   * starting with a dot, `aws.`, `amazon.`, `goog` or `polycloud.`; values: non-empty strings.
   */
  readonly attributes?: Readonly<Record<string, string>>
}

export interface SendOptions extends CallOptions, MessageOptions {
  /** Seconds before the message can be received (0 by default; the provider's maximum is checked). */
  readonly delaySeconds?: number
}

/** One message of a `sendBatch`. */
export interface BatchMessage extends MessageOptions {
  readonly body: MessageContent
  readonly delaySeconds?: number
}

export interface PublishOptions extends CallOptions, MessageOptions {
  /** 1-100 printable ASCII characters (SNS's rule, the strictest). */
  readonly subject?: string
}

/** What every handle answers besides its calls. */
export interface Declared {
  /**
   * Whether calls can reach the resource here: a driver is installed, the function running declares it (`uses` in
   * serverless.yml) and its addressing names it, of this kind. False where the service keeps the resource off the
   * provider (`excludeFrom`, as topics on Cloudflare), so the code can do something else instead of failing with
   * `NotDeclared`.
   */
  declared(): boolean
}

/** Objects: S3, Azure Blob Storage, Cloud Storage, R2. */
export interface Bucket extends Declared {
  /** The logical name. */
  readonly name: string
  put(key: string, body: ObjectBody, options?: PutOptions): Promise<PutResult>
  /** The object, or null when there is no object under the key. */
  get(key: string, options?: CallOptions): Promise<StoredObject | null>
  /** The object's description without its body, or null when there is no object under the key. */
  head(key: string, options?: CallOptions): Promise<ObjectInfo | null>
  /** Deletes the object; deleting a key that holds nothing succeeds. */
  delete(key: string, options?: CallOptions): Promise<void>
  list(options?: ListOptions): Promise<ObjectList>
}

/** Queues: SQS, Azure Storage queues and Service Bus queues, Pub/Sub, Cloudflare Queues. */
export interface Queue extends Declared {
  readonly name: string
  send(body: MessageContent, options?: SendOptions): Promise<void>
  /**
   * Sends the messages in as few requests as the provider allows. When some are refused, rejects with a ResourceError
   * whose `failed` lists their indexes (the others were sent).
   */
  sendBatch(messages: readonly BatchMessage[], options?: CallOptions): Promise<void>
}

/** Topics: SNS, Service Bus topics, Pub/Sub (Cloudflare has none). */
export interface Topic extends Declared {
  readonly name: string
  publish(body: MessageContent, options?: PublishOptions): Promise<void>
}
