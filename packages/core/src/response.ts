import { HttpError } from './errors.js'
import { setOwn } from './own.js'
import { isStream, readAll } from './request.js'

/** Header values a handler may return: a record (arrays for repeated headers such as Set-Cookie) or pairs. */
export type ResponseHeaders =
  | Readonly<Record<string, string | number | readonly string[] | undefined>>
  | Iterable<readonly [string, string]>

export type ResponseBody = string | Uint8Array | ArrayBuffer | ReadableStream<Uint8Array> | null

/** A response as plain data: what the helpers (`json`, `text`, ...) build, and what a handler may return itself. */
export interface PlainResponse {
  /** Defaults to 200 (204 when there is no body and no status). */
  readonly status?: number
  readonly headers?: ResponseHeaders
  readonly body?: ResponseBody
}

/** What a portable HTTP handler may return: a Fetch `Response`, a plain response, or nothing (204). */
export type HttpResult = Response | PlainResponse | null | undefined | void

export interface ResponseOptions {
  readonly status?: number
  readonly headers?: ResponseHeaders
}

/**
 * A handler's response in the one form every adapter reads: lower-case header names with repeated values joined,
 * Set-Cookie values kept apart (providers carry them differently), body as text, bytes, a stream, or nothing.
 */
export interface OutgoingResponse {
  status: number
  headers: Record<string, string>
  cookies: string[]
  body: string | Uint8Array | ReadableStream<Uint8Array> | null
  /**
   * The handler's own Fetch `Response`, when the provider asked to send one as it is (Workers: a WebSocket upgrade,
   * `cf` options); the other fields are then unused.
   */
  fetchResponse?: Response
}

export function json(data: unknown, options?: ResponseOptions): PlainResponse {
  return respond('application/json', JSON.stringify(data) ?? 'null', options)
}

export function text(body: string, options?: ResponseOptions): PlainResponse {
  return respond('text/plain; charset=utf-8', body, options)
}

export function html(body: string, options?: ResponseOptions): PlainResponse {
  return respond('text/html; charset=utf-8', body, options)
}

/** Bytes with their content type (default application/octet-stream); delivered byte for byte on every provider. */
export function binary(
  body: Uint8Array | ArrayBuffer,
  options?: ResponseOptions & { readonly contentType?: string },
): PlainResponse {
  return respond(options?.contentType ?? 'application/octet-stream', body, options)
}

/** A streamed body: sent as it is produced where the provider streams, buffered where it cannot. */
export function stream(
  body: ReadableStream<Uint8Array>,
  options?: ResponseOptions & { readonly contentType?: string },
): PlainResponse {
  return respond(options?.contentType ?? 'application/octet-stream', body, options)
}

export function redirect(location: string, status: 301 | 302 | 303 | 307 | 308 = 302): PlainResponse {
  return { status, headers: { location }, body: null }
}

/** A response with a default content type, which a content type among `options.headers` replaces. */
function respond(type: string, body: ResponseBody, options?: ResponseOptions): PlainResponse {
  const headers: ResponseHeaders = options?.headers ? [['content-type', type], ...headerPairs(options.headers)] : { 'content-type': type }
  return { status: options?.status ?? 200, headers, body }
}

function isPairs(headers: ResponseHeaders): headers is Iterable<readonly [string, string]> {
  return typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function'
}

/** Header values as name/value pairs (lists give one pair per item). */
function headerPairs(headers: ResponseHeaders): Array<readonly [string, string]> {
  if (isPairs(headers)) return [...headers]
  const pairs: Array<readonly [string, string]> = []
  for (const name in headers) {
    const value = headers[name]
    if (typeof value === 'object') for (const item of value) pairs.push([name, item])
    else if (value !== undefined) pairs.push([name, String(value)])
  }
  return pairs
}

/**
 * Adds a header to a response: Set-Cookie values are kept apart, a repeated Content-Type replaces the earlier one
 * (it is a single-valued field: a helper's default gives way to the handler's own), other repeats are joined.
 */
function addHeader(out: OutgoingResponse, name: string, value: string): void {
  const lower = checkHeader(name, value)
  if (lower === 'set-cookie') out.cookies.push(value)
  else if (lower !== 'content-type' && Object.hasOwn(out.headers, lower)) out.headers[lower] = `${out.headers[lower]}, ${value}`
  else setOwn(out.headers, lower, value)
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
// RFC 9110 field-value: HTAB, SP, visible ASCII and obs-text. Node refuses the rest; Fetch refuses CR, LF, NUL.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/

/** A header name already checked: its lower case, and the last value checked under it. */
interface CheckedName {
  readonly lower: string
  value: string | undefined
}

/** Names already checked: a handler writes the same few, most often with the same values, on every response. */
const CHECKED = new Map<string, CheckedName>()
// Bounded: names a handler builds from input must not grow it without end.
const MAX_CHECKED = 256

/**
 * Refuses a response header that HTTP cannot carry: a name that is not a token, a value with CR, LF, NUL or another
 * control character (a header injection, or a value no provider sends alike). The same TypeError on every provider,
 * which the runner turns into the logged 500. Returns the name in lower case.
 */
function checkHeader(name: string, value: string): string {
  let checked = CHECKED.get(name)
  if (checked === undefined) {
    if (!TOKEN.test(name)) {
      throw new TypeError(`handler returned an invalid response header name ${JSON.stringify(name.slice(0, 100))}: header names are HTTP tokens`)
    }
    checked = { lower: name.toLowerCase(), value: undefined }
    if (CHECKED.size < MAX_CHECKED) CHECKED.set(name, checked)
  }
  if (value !== checked.value) {
    if (!FIELD_VALUE.test(value)) {
      throw new TypeError(
        `handler returned response header ${JSON.stringify(name)} with a value HTTP cannot carry (CR, LF, NUL or another control character)`,
      )
    }
    checked.value = value
  }
  return checked.lower
}

/** Statuses whose responses carry no body (RFC 9110 15.3.5, 15.3.6, 15.4.5; Fetch's null body statuses). */
function isNullBodyStatus(status: number): boolean {
  return status === 204 || status === 205 || status === 304
}

/**
 * The same framing on every provider: a 204, 205 or 304 carries no body (a stream one is cancelled), and a
 * handler's own Content-Length is dropped: each provider sends the length of the body it really sends, so a wrong
 * value never makes a client wait for bytes that will not come (or cut a response short).
 */
function frame(out: OutgoingResponse): OutgoingResponse {
  const headers = out.headers
  if (headers['content-length'] !== undefined) delete headers['content-length']
  if (out.body !== null && isNullBodyStatus(out.status)) {
    const body = out.body
    if (isStream(body)) void body.cancel().catch(() => {})
    out.body = null
  }
  return out
}

/** Whether a value is a Fetch `Response` (checked by tag: reading the global `Response` would load undici). */
export function isFetchResponse(value: unknown): value is Response {
  // Only an object that reads like one (the response helpers' plain objects do not) has its tag read.
  return typeof (value as Response | null)?.arrayBuffer === 'function' && Object.prototype.toString.call(value) === '[object Response]'
}

/**
 * Brings whatever a handler returned to an {@link OutgoingResponse}. Throws a TypeError naming the problem when the
 * result is not a response (the caller turns it into a logged 500). Stream bodies stay streams here.
 */
export function toOutgoing(result: HttpResult, keepFetchResponse = false): OutgoingResponse {
  if (result == null) return { status: 204, headers: {}, cookies: [], body: null }
  if (typeof result !== 'object') {
    throw new TypeError(`handler returned ${typeof result}; expected a Response or { status, headers, body }`)
  }
  if (isFetchResponse(result)) {
    if (keepFetchResponse) return { status: result.status, headers: {}, cookies: [], body: null, fetchResponse: result }
    return frame(fromFetchResponse(result))
  }
  const out: OutgoingResponse = { status: 200, headers: {}, cookies: [], body: null }
  const headers = result.headers
  if (headers !== undefined) {
    if (isPairs(headers)) {
      for (const [name, value] of headers) addHeader(out, name, value)
    } else {
      for (const name in headers) {
        const value = headers[name]
        if (typeof value === 'string') addHeader(out, name, value)
        else if (typeof value === 'object') for (const item of value) addHeader(out, name, item)
        else if (value !== undefined) addHeader(out, name, String(value))
      }
    }
  }
  const status = result.status
  if (status !== undefined) out.status = checkStatus(status)
  const body = result.body
  if (typeof body === 'string') {
    out.body = body
    out.headers['content-type'] ??= 'text/plain; charset=utf-8'
  } else if (body != null) {
    setBody(out, body)
  } else if (status === undefined) {
    out.status = 204
  }
  return frame(out)
}

function checkStatus(status: unknown): number {
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) {
    throw new TypeError(`handler returned status ${String(status)}; expected an integer from 200 to 599`)
  }
  return status
}

function setBody(out: OutgoingResponse, body: unknown): void {
  if (isStream(body)) out.body = body
  else if (body instanceof ArrayBuffer) out.body = new Uint8Array(body)
  else if (ArrayBuffer.isView(body)) out.body = new Uint8Array(body.buffer, body.byteOffset, body.byteLength)
  else {
    // A JavaScript handler returned an object body: send it as JSON rather than "[object Object]".
    out.body = JSON.stringify(body)
    out.headers['content-type'] ??= 'application/json'
  }
}

function fromFetchResponse(response: Response): OutgoingResponse {
  const out: OutgoingResponse = { status: checkStatus(response.status), headers: {}, cookies: response.headers.getSetCookie(), body: response.body }
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') setOwn(out.headers, name, value)
  })
  return out
}

/** Replaces a stream body with its bytes, for providers that cannot stream a response. */
export async function bufferBody(out: OutgoingResponse): Promise<OutgoingResponse> {
  if (isStream(out.body)) out.body = await readAll(out.body)
  return out
}

/**
 * The response for an error thrown by a handler: an {@link HttpError} keeps its status, message and headers; any
 * other error becomes a 500 with a generic body. The caller logs the error; nothing of it but an HttpError's
 * message reaches the client. Throws a TypeError for an HttpError whose headers HTTP cannot carry.
 */
export function errorResponse(error: unknown, requestId: string): OutgoingResponse {
  if (error instanceof HttpError) {
    const body: Record<string, unknown> = { error: error.message }
    if (error.details !== undefined) body.details = error.details
    const out: OutgoingResponse = {
      status: error.status,
      headers: { 'content-type': 'application/json' },
      cookies: [],
      body: JSON.stringify(body),
    }
    if (error.headers) {
      for (const name in error.headers) {
        const value = error.headers[name] as string
        setOwn(out.headers, checkHeader(name, value), value)
      }
    }
    return out
  }
  return {
    status: 500,
    headers: { 'content-type': 'application/json' },
    cookies: [],
    body: JSON.stringify({ error: 'Internal Server Error', requestId }),
  }
}
