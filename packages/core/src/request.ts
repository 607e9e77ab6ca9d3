import { base64ToBytes, isBase64, toArrayBuffer, utf8Decode, utf8Encode } from '#encoding'
import { HttpError } from './errors.js'
import type { PortableHeaders } from './headers.js'
import { PortableQuery, decodeFormComponent } from './query.js'

/**
 * The request a portable HTTP handler receives: the members of a Fetch `Request` that handlers use, plus path
 * params, parsed query and cookies. Fields are computed on first use, so a handler pays only for what it reads.
 * A real Fetch `Request` is available from {@link PortableRequest.toRequest}.
 */
export interface PortableRequest {
  /** Upper-case HTTP method, e.g. `GET`. */
  readonly method: string
  /** Absolute URL as the client sent it (scheme from X-Forwarded-Proto where the provider strips it). */
  readonly url: string
  /**
   * Path of the URL without the query, percent-encoded, as the WHATWG URL parser makes it on every provider: dot
   * segments (`/a/../b`, `/a/%2e%2e/b`) resolved, backslashes read as slashes, characters a URL path cannot
   * hold percent-encoded (see {@link normalizePath}).
   */
  readonly path: string
  readonly headers: PortableHeaders
  /** Query parameters in order, repeated keys kept (`getAll`): the reading half of `URLSearchParams`. */
  readonly query: PortableQuery
  /** Path parameters matched by the route, e.g. `{ id: '42' }` for `/notes/{id}`. */
  readonly params: Readonly<Record<string, string>>
  /** Request cookies by name (first occurrence wins; pairs without `=` are skipped, the header keeps them). */
  readonly cookies: ReadonlyMap<string, string>
  /** Client address as the provider reports it, if it does. */
  readonly ip: string | undefined
  /**
   * Who called, once a route's `auth` verified it (`@polycloud/auth`, or the provider's own authorizer): the
   * token's claims or the API key's name. Undefined on a route without auth.
   */
  readonly auth: Caller | undefined
  /** The body as a stream, or null when there is none. Reading it marks the body used. */
  readonly body: ReadableStream<Uint8Array> | null
  readonly bodyUsed: boolean
  text(): Promise<string>
  /** Parses the body as JSON; an empty or malformed body rejects with an {@link HttpError} 400. */
  json<T = unknown>(): Promise<T>
  arrayBuffer(): Promise<ArrayBuffer>
  bytes(): Promise<Uint8Array>
  blob(): Promise<Blob>
  formData(): Promise<FormData>
  /**
   * A real Fetch `Request` for this request, created on first call. On Node 20 the first call loads Node's bundled
   * undici (tens of milliseconds once) and each call costs microseconds, so portable code reads fields directly.
   * Fetch forbids a body on GET and HEAD: such a request's body stays readable here but is not copied over.
   */
  toRequest(): Request
  /** The provider's own request or event, untouched. */
  readonly native: unknown
}

/** A caller a route's auth verified. */
export type Caller = JwtCaller | KeyCaller

/** A caller with a verified JSON Web Token. */
export interface JwtCaller {
  readonly kind: 'jwt'
  /** The token's `sub`. */
  readonly subject: string | undefined
  /** The token's `iss`. */
  readonly issuer: string
  /** The scopes the token grants (`scope`, space-separated, or `scp`). */
  readonly scopes: readonly string[]
  /** Every claim of the verified token. */
  readonly claims: Readonly<Record<string, unknown>>
}

/** A caller with a valid API key, by the name the key has in the configuration (never the key itself). */
export interface KeyCaller {
  readonly kind: 'key'
  readonly name: string
}

/** A request body as an adapter finds it. Base64 is decoded, and validated, only when the body is read. */
export type BodySource = null | string | Uint8Array | { readonly base64: string } | ReadableStream<Uint8Array>

const EMPTY_PARAMS: Readonly<Record<string, string>> = Object.freeze(Object.create(null) as Record<string, string>)
const PATH = /^[^:]*:\/\/[^/?#]*([^?#]*)/
// What the URL parser would change in a path: a dot segment (also percent-encoded), a backslash, or a character
// outside the printable ASCII a path keeps as it is.
const UNNORMAL = /\/\.|\/%2e|\\|[^\x21-\x7e]|["<>`{}]/i

/**
 * A request path as the WHATWG URL parser makes it, the one rule `request.path` follows on every provider (Azure
 * and Workers hand over URLs already parsed so; API Gateway, ALB and the Functions Framework hand over the path as
 * the client sent it): dot segments resolved, `\` read as `/`, spaces and other characters a path cannot hold
 * percent-encoded. A path without any of those (the common case) is returned as it is.
 */
export function normalizePath(path: string): string {
  const rooted = path.startsWith('/') ? path : `/${path}`
  if (!UNNORMAL.test(rooted)) return rooted
  // Appended to an origin, never resolved against one: `//host/x` stays a path.
  return new URL(`http://localhost${rooted.replace(/[?#]/g, (char) => (char === '?' ? '%3F' : '%23'))}`).pathname
}

/**
 * Base for an adapter's request class: one subclass per native payload version. Subclasses say where the method,
 * URL, headers, query, params and body are; this class does the lazy parsing, body decoding and Fetch conversion.
 * Buffered bodies can be read any number of times; a stream body once.
 */
export abstract class BaseRequest<Native = unknown> implements PortableRequest {
  readonly native: Native
  #headers: PortableHeaders | undefined
  #query: PortableQuery | undefined
  #cookies: ReadonlyMap<string, string> | undefined
  #url: string | undefined
  #source: BodySource | undefined
  #bytes: Promise<Uint8Array> | undefined
  #read: Uint8Array | undefined
  #used = false
  #request: Request | undefined
  #params: Readonly<Record<string, string>> = EMPTY_PARAMS
  #auth: Caller | undefined

  constructor(native: Native) {
    this.native = native
  }

  abstract readonly method: string
  protected abstract readUrl(): string
  protected abstract readHeaders(): PortableHeaders
  protected abstract readQuery(): PortableQuery
  protected abstract readBody(): BodySource

  get params(): Readonly<Record<string, string>> {
    return this.#params
  }

  /**
   * Sets the path parameters a router in front of the handler matched, where the platform routes no paths itself
   * (one Google Cloud Functions function or one Workers script serving many routes).
   */
  setParams(params: Readonly<Record<string, string>>): void {
    this.#params = params
  }

  get ip(): string | undefined {
    return undefined
  }

  get auth(): Caller | undefined {
    return this.#auth ?? this.readAuth()
  }

  /** Records the caller that a route's auth verified in front of the handler. */
  setAuth(caller: Caller): void {
    this.#auth = caller
  }

  /** The caller a provider's own authorizer verified (an API Gateway JWT authorizer's claims), if any. */
  protected readAuth(): Caller | undefined {
    return undefined
  }

  get url(): string {
    return (this.#url ??= this.readUrl())
  }

  get path(): string {
    return normalizePath(PATH.exec(this.url)?.[1] || '/')
  }

  get headers(): PortableHeaders {
    return (this.#headers ??= this.readHeaders())
  }

  /**
   * One header by its lower-case name, as `headers.get(name)` gives it, without building `headers` when the
   * handler has not read them: what the trace reads (`traceparent`, the platform's trace header) on every
   * invocation that logs.
   */
  header(name: string): string | null {
    return this.#headers === undefined ? this.readHeader(name) : this.#headers.get(name)
  }

  /** {@link header} before `headers` are built: a subclass that can read one header in place says how. */
  protected readHeader(name: string): string | null {
    return this.headers.get(name)
  }

  get query(): PortableQuery {
    return (this.#query ??= this.readQuery())
  }

  get cookies(): ReadonlyMap<string, string> {
    return (this.#cookies ??= parseCookies(this.headers.get('cookie')))
  }

  get bodyUsed(): boolean {
    return this.#used
  }

  get body(): ReadableStream<Uint8Array> | null {
    const source = this.#body()
    if (source === null) return null
    this.#used = true
    return isStream(source) ? source : (new Blob([this.#decode(source) as Uint8Array<ArrayBuffer>]).stream() as ReadableStream<Uint8Array>)
  }

  async text(): Promise<string> {
    const source = this.#body()
    if (typeof source !== 'string') return utf8Decode(await this.bytes())
    this.#used = true
    return source
  }

  async json<T = unknown>(): Promise<T> {
    const text = await this.text()
    try {
      return JSON.parse(text) as T
    } catch (error) {
      throw new HttpError(400, text ? `Invalid JSON in request body: ${(error as Error).message}` : 'Request body is empty; expected JSON')
    }
  }

  bytes(): Promise<Uint8Array> {
    this.#used = true
    return (this.#bytes ??= this.#load().catch((error: unknown) => {
      // A body that cannot be read or decoded is the client's: a 400 naming why.
      throw error instanceof HttpError ? error : new HttpError(400, `Request body could not be read: ${error instanceof Error ? error.message : String(error)}`)
    }))
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    return toArrayBuffer(await this.bytes())
  }

  async blob(): Promise<Blob> {
    return new Blob([await this.arrayBuffer()], { type: this.headers.get('content-type') ?? '' })
  }

  async formData(): Promise<FormData> {
    return this.toRequest().formData()
  }

  toRequest(): Request {
    if (this.#request) return this.#request
    const source = this.#body()
    let body: BodyInit | undefined
    // Fetch forbids a body on GET and HEAD.
    if (source !== null && this.method !== 'GET' && this.method !== 'HEAD') {
      if (!isStream(source)) body = typeof source === 'string' ? source : this.#decodeLazily(source)
      else if (this.#read) body = this.#read as Uint8Array<ArrayBuffer>
      else if (this.#bytes || source.locked) throw new TypeError('the request body is being read; read it to the end before toRequest()')
      else {
        body = source
        this.#used = true
      }
    }
    try {
      return (this.#request = new Request(this.url, { method: this.method, headers: [...this.headers], body, duplex: 'half' } as RequestInit))
    } catch (error) {
      throw new HttpError(400, `Request cannot be represented as a Fetch Request: ${(error as Error).message}`)
    }
  }

  get [Symbol.toStringTag](): string {
    return 'PortableRequest'
  }

  #body(): BodySource {
    return this.#source === undefined ? (this.#source = this.readBody()) : this.#source
  }

  async #load(): Promise<Uint8Array> {
    const source = this.#body()
    return (this.#read = source === null ? new Uint8Array(0) : isStream(source) ? await readAll(source) : this.#decode(source))
  }

  /**
   * The body for a Fetch Request: the decoded bytes, or, when they cannot be decoded, a stream that fails with the
   * 400 when read, so an app that never reads the body still runs.
   */
  #decodeLazily(source: Exclude<BodySource, null | string | ReadableStream<Uint8Array>>): BodyInit {
    try {
      return this.#decode(source) as Uint8Array<ArrayBuffer>
    } catch (error) {
      return new ReadableStream({ start: (controller) => controller.error(error) })
    }
  }

  #decode(source: Exclude<BodySource, null | ReadableStream<Uint8Array>>): Uint8Array {
    if (typeof source === 'string') return utf8Encode(source)
    if (source instanceof Uint8Array) return source
    if (!isBase64(source.base64)) throw new HttpError(400, 'Request body is marked base64-encoded but is not valid base64')
    return base64ToBytes(source.base64)
  }
}

/**
 * Whether a value is a web ReadableStream. Duck-typed: touching the global `ReadableStream` on Node 20 loads the
 * web streams implementation, which a request that never streams should not pay for.
 */
export function isStream(value: unknown): value is ReadableStream<Uint8Array> {
  return typeof value === 'object' && value !== null && typeof (value as ReadableStream).getReader === 'function'
}

/** Reads a byte stream to the end. */
export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  let size = 0
  const reader = stream.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
    size += value.byteLength
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array
  const out = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.byteLength
  }
  return out
}

/** Parses a Cookie header: `a=1; b="2"` to a map; values are percent-decoded where valid. */
export function parseCookies(header: string | null): ReadonlyMap<string, string> {
  const cookies = new Map<string, string>()
  for (const pair of header ? header.split(';') : []) {
    const eq = pair.indexOf('=')
    const name = pair.slice(0, eq).trim()
    if (eq === -1 || name === '' || cookies.has(name)) continue
    let value = pair.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1')
    try {
      value = decodeURIComponent(value)
    } catch {
      // Not percent-encoding after all: keep the value as sent.
    }
    cookies.set(name, value)
  }
  return cookies
}

/**
 * Query parameters from a record of single or repeated values, in record order. With `decode`, keys and values
 * are form-decoded first (ALB passes them as sent).
 */
export function queryFromRecord(
  record: Readonly<Record<string, string | readonly string[] | null | undefined>> | null | undefined,
  decode = false,
): PortableQuery {
  const pairs: Array<[string, string]> = []
  if (typeof record === 'object' && record !== null && !Array.isArray(record)) {
    for (const key in record) {
      const value = record[key]
      // Values that are neither strings nor lists of strings (no provider sends them) are left out.
      const name = decode ? decodeFormComponent(key) : key
      if (typeof value === 'string') pairs.push([name, decode ? decodeFormComponent(value) : value])
      else if (Array.isArray(value)) {
        for (const item of value as readonly unknown[]) if (typeof item === 'string') pairs.push([name, decode ? decodeFormComponent(item) : item])
      }
    }
  }
  return PortableQuery.fromPairs(pairs)
}

/** Serialises query parameters for a URL (`?a=1&a=2`), or '' when there are none. */
export function queryString(query: PortableQuery): string {
  const text = query.toString()
  return text === '' ? '' : `?${text}`
}
