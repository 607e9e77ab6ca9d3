import type { Cookie, HttpRequest } from '@azure/functions'
import {
  BaseRequest,
  PortableHeaders,
  lastForwardedFor,
  PortableQuery,
  isRecord,
  type BodySource,
  type HttpSource,
  type OutgoingResponse,
} from '@polycloud/core/adapter'
import { isTrigger, type AzureInput } from './input.js'

/** An HTTP trigger invocation: the library's `HttpRequest` and its context. */
export type AzureHttpInput = AzureInput<HttpRequest>

/**
 * The portable view of an Azure `HttpRequest` (the v4 library's wrapper around a Fetch `Request`). The body is
 * read from the request's stream, so it works the same with and without HTTP streaming.
 */
export class AzureHttpRequest extends BaseRequest<HttpRequest> {
  readonly method: string

  constructor(request: HttpRequest) {
    super(request)
    this.method = request.method
  }

  override get params(): Readonly<Record<string, string>> {
    return this.native.params
  }

  /**
   * The address Azure's front end saw: the last X-Forwarded-For entry, the one the front end appended as `ip:port`
   * (the port is dropped); the entries before it are whatever the client sent. Undefined without the header (the
   * local Functions host has no front end).
   */
  override get ip(): string | undefined {
    const last = lastForwardedFor(this.headers.get('x-forwarded-for'))
    return last === undefined ? undefined : stripPort(last) || undefined
  }

  protected readUrl(): string {
    return this.native.url
  }

  protected readHeaders(): PortableHeaders {
    return PortableHeaders.fromEntries(this.native.headers)
  }

  /**
   * The query from the URL, which keeps repeated keys and their order (the host's query record keeps one value
   * per key, and the streaming path ignores it). A request built without a query in its URL (tests) falls back to
   * `request.query`.
   */
  protected readQuery(): PortableQuery {
    const url = this.native.url
    const start = url.indexOf('?')
    if (start !== -1) {
      const end = url.indexOf('#', start)
      return PortableQuery.parse(end === -1 ? url.slice(start + 1) : url.slice(start + 1, end))
    }
    return PortableQuery.fromPairs(this.native.query)
  }

  protected readBody(): BodySource {
    return this.native.body as ReadableStream<Uint8Array> | null
  }
}

function stripPort(address: string): string {
  if (address.startsWith('[')) {
    const close = address.indexOf(']')
    return close === -1 ? address : address.slice(1, close)
  }
  const colon = address.indexOf(':')
  // One colon: IPv4 with a port. Several: a bare IPv6 address, kept whole.
  return colon !== -1 && colon === address.lastIndexOf(':') ? address.slice(0, colon) : address
}

/** Whether a value looks like the library's `HttpRequest` (or a Fetch `Request`): checked by shape, not class. */
export function isHttpRequestLike(value: unknown): value is HttpRequest {
  if (!isRecord(value)) return false
  const request = value as Partial<HttpRequest>
  return (
    typeof request.method === 'string' &&
    typeof request.url === 'string' &&
    typeof request.arrayBuffer === 'function' &&
    typeof (request.headers as Headers | undefined)?.get === 'function'
  )
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
// The domain and path rules of the `cookie` serialiser the library uses when it streams.
const DOMAIN = /^([.]?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)([.][a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i
const PATH = /^[\u0020-\u003A\u003D-\u007E]*$/
const INTEGER = /^-?\d+$/

/**
 * A Set-Cookie header value as the library's `Cookie`, or a string saying why it cannot be one. Azure builds each
 * Set-Cookie header from these fields and percent-encodes the value, so the value is percent-decoded here: an
 * encoded value comes out exactly as written, any other the same once the client decodes it. Attributes `Cookie`
 * has no field for (Partitioned, Priority, extensions) are dropped.
 */
export function parseSetCookie(header: string): Cookie | string {
  const parts = header.split(';')
  const pair = parts[0] as string
  const eq = pair.indexOf('=')
  if (eq === -1) return 'no name=value pair'
  const name = pair.slice(0, eq).trim()
  if (!TOKEN.test(name)) return `invalid cookie name ${JSON.stringify(name)}`
  let value = pair.slice(eq + 1).trim()
  if (value.length > 1 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1)
  if (value.includes('%')) {
    try {
      value = decodeURIComponent(value)
    } catch {
      // Not percent-encoding after all: sent as written (its '%' encoded).
    }
  }
  const cookie: Cookie = { name, value }
  for (let i = 1; i < parts.length; i++) {
    const attribute = parts[i] as string
    const split = attribute.indexOf('=')
    const key = (split === -1 ? attribute : attribute.slice(0, split)).trim().toLowerCase()
    const raw = split === -1 ? '' : attribute.slice(split + 1).trim()
    switch (key) {
      case 'domain':
        if (raw === '') break
        if (!DOMAIN.test(raw)) return `invalid Domain ${JSON.stringify(raw)}`
        cookie.domain = raw
        break
      case 'path':
        if (!PATH.test(raw)) return `invalid Path ${JSON.stringify(raw)}`
        if (raw !== '') cookie.path = raw
        break
      case 'expires': {
        const date = new Date(raw)
        if (!Number.isNaN(date.getTime())) cookie.expires = date
        break
      }
      case 'max-age':
        if (INTEGER.test(raw)) cookie.maxAge = Number(raw)
        break
      case 'secure':
        cookie.secure = true
        break
      case 'httponly':
        cookie.httpOnly = true
        break
      case 'samesite': {
        const sameSite = SAME_SITE[raw.toLowerCase()]
        if (sameSite) cookie.sameSite = sameSite
        break
      }
      default:
        break
    }
  }
  return cookie
}

const SAME_SITE: Record<string, Cookie['sameSite']> = { lax: 'Lax', strict: 'Strict', none: 'None' }

/**
 * What an HTTP function returns: an `HttpResponseInit` of the library (which the worker wraps in an `HttpResponse`)
 * with only the fields Polycloud sets.
 */
export interface AzureHttpResult {
  status: number
  headers: Record<string, string>
  cookies?: Cookie[]
  body?: string | Uint8Array | ReadableStream<Uint8Array>
}

/**
 * The `HttpResponseInit` for a portable response. Set-Cookie never travels as a header (the library keeps only
 * the last of several): every value becomes a `Cookie`, which the host writes as its own Set-Cookie header. A
 * value that cannot be one is dropped and logged on the invocation. Bytes and streams are passed as they are.
 */
export function toHttpResponseInit(response: OutgoingResponse, input?: AzureHttpInput): AzureHttpResult {
  const init: AzureHttpResult = { status: response.status, headers: response.headers }
  if (response.cookies.length > 0) {
    const cookies: Cookie[] = []
    for (const header of response.cookies) {
      const cookie = parseSetCookie(header)
      if (typeof cookie !== 'string') cookies.push(cookie)
      else warn(input, `azure:http: dropped a Set-Cookie header the host cannot send: ${cookie}`)
    }
    init.cookies = cookies
  }
  if (response.body !== null) init.body = response.body
  return init
}

function warn(input: AzureHttpInput | undefined, message: string): void {
  const context = input?.context as { warn?: (message: string) => void } | undefined
  if (typeof context?.warn === 'function') context.warn(message)
}

export const azureHttp: HttpSource<AzureHttpInput, AzureHttpResult> = {
  name: 'azure:http',
  kind: 'http',
  canHandle: (input): input is AzureHttpInput => isTrigger(input, 'httptrigger', (value) => isHttpRequestLike(value.input)),
  getRequest: (input) => new AzureHttpRequest(input.input),
  getResponse: toHttpResponseInit,
}
