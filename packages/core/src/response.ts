import { HttpError } from './errors.js'
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
  let headers: ResponseHeaders = { 'content-type': type }
  if (options?.headers) {
    const pairs: Array<[string, string]> = [['content-type', type]]
    eachHeader(options.headers, (name, value) => {
      if (name === 'content-type') pairs[0] = [name, value]
      else pairs.push([name, value])
    })
    headers = pairs
  }
  return { status: options?.status ?? 200, headers, body }
}

/** Calls `fn` with each header value: lower-case name, string value (lists give one call per item). */
function eachHeader(headers: ResponseHeaders, fn: (name: string, value: string) => void): void {
  if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const [name, value] of headers as Iterable<readonly [string, string]>) fn(name.toLowerCase(), value)
    return
  }
  const record = headers as Exclude<ResponseHeaders, Iterable<readonly [string, string]>>
  for (const name in record) {
    const value = record[name]
    if (value === undefined) continue
    const lower = name.toLowerCase()
    if (typeof value === 'object') for (const item of value) fn(lower, item)
    else fn(lower, String(value))
  }
}

/** Whether a value is a Fetch `Response` (checked by tag: reading the global `Response` would load undici). */
export function isFetchResponse(value: unknown): value is Response {
  return Object.prototype.toString.call(value) === '[object Response]'
}

/**
 * Brings whatever a handler returned to an {@link OutgoingResponse}. Throws a TypeError naming the problem when the
 * result is not a response (the caller turns it into a logged 500). Stream bodies stay streams here.
 */
export function toOutgoing(result: HttpResult): OutgoingResponse {
  const out: OutgoingResponse = { status: 200, headers: {}, cookies: [], body: null }
  if (result == null) {
    out.status = 204
    return out
  }
  if (typeof result !== 'object') {
    throw new TypeError(`handler returned ${typeof result}; expected a Response or { status, headers, body }`)
  }
  const add = (name: string, value: string): void => {
    if (name === 'set-cookie') out.cookies.push(value)
    else out.headers[name] = Object.hasOwn(out.headers, name) ? `${out.headers[name]}, ${value}` : value
  }
  let body: unknown
  if (isFetchResponse(result)) {
    result.headers.forEach((value, name) => name !== 'set-cookie' && add(name, value))
    out.cookies = result.headers.getSetCookie()
    body = result.body
  } else {
    if (result.headers) eachHeader(result.headers, add)
    body = result.body
    if (body == null && result.status === undefined) out.status = 204
  }
  if (result.status !== undefined) {
    const status = result.status
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw new TypeError(`handler returned status ${String(status)}; expected an integer from 200 to 599`)
    }
    out.status = status
  }
  if (body == null) return out
  if (typeof body === 'string' || isStream(body)) out.body = body
  else if (body instanceof ArrayBuffer) out.body = new Uint8Array(body)
  else if (ArrayBuffer.isView(body)) out.body = new Uint8Array(body.buffer, body.byteOffset, body.byteLength)
  else {
    // A JavaScript handler returned an object body: send it as JSON rather than "[object Object]".
    out.body = JSON.stringify(body)
    out.headers['content-type'] ??= 'application/json'
  }
  if (typeof out.body === 'string') out.headers['content-type'] ??= 'text/plain; charset=utf-8'
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
 * message reaches the client.
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
    if (error.headers) for (const name in error.headers) out.headers[name.toLowerCase()] = error.headers[name] as string
    return out
  }
  return {
    status: 500,
    headers: { 'content-type': 'application/json' },
    cookies: [],
    body: JSON.stringify({ error: 'Internal Server Error', requestId }),
  }
}
