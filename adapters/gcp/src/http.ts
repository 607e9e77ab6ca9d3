import type { ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import {
  BaseRequest,
  HttpError,
  PortableHeaders,
  lastForwardedFor,
  httpFailure,
  PortableQuery,
  isRecord,
  normalizePath,
  quote,
  type BodySource,
  type HttpSource,
  type OutgoingResponse,
  type PortableContext,
} from '@polycloud/core/adapter'

/**
 * The members of the Functions Framework's request (an Express request: a Node IncomingMessage plus `originalUrl`,
 * the parsed `body`, FF's `rawBody` bytes and `executionId`) that Polycloud reads. A plain object of this shape (a
 * recorded request for `polycloud inspect`) works too.
 */
export interface FrameworkRequest {
  method: string
  /** Path and query as sent (Express keeps it when routing rewrites `url`). */
  originalUrl?: string
  url?: string
  headers: Record<string, string | string[] | undefined>
  /** What FF's body parsers made of the body: an object (JSON, form), a string (text/plain) or a Buffer. */
  body?: unknown
  /** The body's bytes as received (inflated when Content-Encoding was gzip, deflate or br), set by FF's parsers. */
  rawBody?: Uint8Array
  /** Client address as Express computes it (FF trusts proxies: the first X-Forwarded-For entry, the client's choice). */
  ip?: string
  /** The headers as received, name and value in turn (Node's IncomingMessage; names as sent). */
  rawHeaders?: string[]
  /** FF's execution id: the `function-execution-id` header, or one it made up. */
  executionId?: string
  socket?: { remoteAddress?: string; encrypted?: boolean } | null
  readable?: boolean
  readableEnded?: boolean
}

/** A response as plain data, what `gcp:http` makes of a portable one: Set-Cookie values as a list. */
export interface FrameworkResult {
  status: number
  headers: Record<string, string | string[]>
  body: string | Uint8Array | null
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const JSON_TYPE = /^application\/(?:[^;\s]+\+)?json\s*(?:;|$)/i

/** The first value of a header as Node gives it (a string, or a list for Set-Cookie); never anything else. */
export function first(value: string | string[] | undefined): string | undefined {
  const item: unknown = Array.isArray(value) ? value[0] : value
  return typeof item === 'string' ? item : undefined
}

/**
 * A Functions Framework request. The URL is rebuilt from X-Forwarded-Proto, Host and `originalUrl`; the query is
 * the raw query string (repeated keys kept, unlike Express's parsed `req.query`); the body is FF's `rawBody`, the
 * bytes byte for byte. FF reads no body without a Content-Type: then the request stream itself is read, lazily.
 */
export class FrameworkHttpRequest extends BaseRequest<FrameworkRequest> {
  readonly method: string

  constructor(request: FrameworkRequest) {
    super(request)
    const method = request.method
    if (typeof method !== 'string' || !TOKEN.test(method)) {
      throw new HttpError(400, `Invalid HTTP method: ${quote(method)}`)
    }
    this.method = method.toUpperCase()
  }

  /**
   * The address Google's front end saw: the last X-Forwarded-For entry, the one it appended (the entries before it
   * are whatever the client sent; Express's `req.ip`, the first one, is the client's to choose). Without the header
   * (the Functions Framework run locally), the socket's peer address.
   */
  override get ip(): string | undefined {
    const request = this.native
    const last = lastForwardedFor(first(request.headers['x-forwarded-for']) ?? null)
    if (last !== undefined) return last
    const peer = request.socket?.remoteAddress
    return typeof peer === 'string' && peer !== '' ? peer : undefined
  }

  protected readUrl(): string {
    const request = this.native
    const headers = request.headers
    const forwarded = first(headers['x-forwarded-proto'])
    const proto = forwarded ? forwarded.split(',', 1)[0]!.trim() : request.socket?.encrypted ? 'https' : 'http'
    let target = request.originalUrl ?? request.url ?? '/'
    if (/^https?:\/\//i.test(target)) return target
    const mark = target.indexOf('?')
    target = mark === -1 ? normalizePath(target) : `${normalizePath(target.slice(0, mark))}${target.slice(mark)}`
    return `${proto}://${first(headers.host) || 'localhost'}${target}`
  }

  /**
   * The headers as received. From `rawHeaders` where Node keeps them: its `headers` record drops a header named
   * `__proto__` (an own key on every other provider).
   */
  protected readHeaders(): PortableHeaders {
    const request = this.native
    const encoding = first(request.headers['content-encoding'])
    // body-parser inflated the body: the headers must not describe the compressed bytes any more.
    const inflated = request.rawBody !== undefined && encoding !== undefined && encoding.toLowerCase() !== 'identity'
    const raw = request.rawHeaders
    if (Array.isArray(raw)) {
      const pairs: Array<[string, string]> = []
      for (let i = 0; i + 1 < raw.length; i += 2) {
        const name = String(raw[i]).toLowerCase()
        if (!inflated || (name !== 'content-encoding' && name !== 'content-length')) pairs.push([name, String(raw[i + 1])])
      }
      return PortableHeaders.fromEntries(pairs)
    }
    if (inflated) {
      const headers = { ...request.headers }
      delete headers['content-encoding']
      delete headers['content-length']
      return PortableHeaders.from(headers)
    }
    return PortableHeaders.from(request.headers)
  }

  protected readQuery(): PortableQuery {
    const target = this.native.originalUrl ?? this.native.url ?? ''
    const mark = target.indexOf('?')
    return PortableQuery.parse(mark === -1 ? '' : target.slice(mark + 1))
  }

  protected readBody(): BodySource {
    const request = this.native
    if (request.rawBody instanceof Uint8Array) return request.rawBody
    const body = request.body
    if (body instanceof Uint8Array || typeof body === 'string') return body
    if (body !== undefined && body !== null) {
      const type = first(request.headers['content-type'])
      if (type === undefined || JSON_TYPE.test(type)) return JSON.stringify(body)
      throw new Error(
        `gcp:http: the ${type} body was parsed by a body parser that kept no raw bytes (req.rawBody); ` +
          'it cannot be read as sent',
      )
    }
    if (!hasBody(request.headers)) return null
    // No Content-Type: FF's parsers skipped the body and the stream is still unread.
    if (typeof (request as Partial<Readable>).pipe === 'function' && request.readable && !request.readableEnded) {
      return Readable.toWeb(request as unknown as Readable) as ReadableStream<Uint8Array>
    }
    return null
  }
}

function hasBody(headers: FrameworkRequest['headers']): boolean {
  if (headers['transfer-encoding'] !== undefined) return true
  const length = first(headers['content-length'])
  return length !== undefined && length !== '0'
}

/** Whether an input is a Functions Framework (Express) request, or a recorded one of the same shape. */
export function isFrameworkRequest(input: unknown): input is FrameworkRequest {
  return (
    isRecord(input) &&
    typeof input.method === 'string' &&
    isRecord(input.headers) &&
    (typeof input.originalUrl === 'string' || typeof input.url === 'string')
  )
}

/** A buffered response as the framework result: headers as set, every Set-Cookie value apart. */
export function frameworkResult(response: OutgoingResponse): FrameworkResult {
  const headers: Record<string, string | string[]> = { ...response.headers }
  if (response.cookies.length > 0) headers['set-cookie'] = response.cookies
  if (response.body !== null && typeof response.body !== 'string' && !(response.body instanceof Uint8Array)) {
    throw new TypeError('gcp:http: response body must be buffered before it becomes a result')
  }
  return { status: response.status, headers, body: response.body }
}

/** HTTP functions on the Functions Framework: an Express request in, the response written to Express's `res`. */
export const gcpHttp: HttpSource<FrameworkRequest, FrameworkResult> = {
  name: 'gcp:http',
  kind: 'http',
  canHandle: isFrameworkRequest,
  getRequest: (request) => new FrameworkHttpRequest(request),
  getResponse: (response) => frameworkResult(response),
}

/**
 * Writes a response to the Express/Node response: status, headers, each Set-Cookie as its own header line, and the
 * body byte for byte. A stream body is sent as it is produced (chunked), honouring backpressure. A failure is
 * logged on the invocation's context: a stream that fails before its first chunk, or a header Node refuses, turns
 * into the generic 500; a stream that fails later cuts the connection (the status is already sent), so the client
 * sees a truncated response, never a hang.
 */
export async function writeResponse(res: ServerResponse, response: OutgoingResponse, context: PortableContext): Promise<void> {
  const body = response.body
  if (body === null || typeof body === 'string' || body instanceof Uint8Array) {
    if (writeHead(res, response, context)) res.end(body ?? undefined)
    return
  }
  const reader = body.getReader()
  let chunk: ReadableStreamReadResult<Uint8Array>
  try {
    chunk = await reader.read()
  } catch (error) {
    const failure = httpFailure(error, context)
    if (writeHead(res, failure, context)) res.end(failure.body as string)
    return
  }
  if (!writeHead(res, response, context)) {
    // The head could not be written as given and became an error response.
    await reader.cancel().catch(() => {})
    return
  }
  let closed = false
  const onClose = (): void => {
    closed = true
    reader.cancel().catch(() => {})
  }
  res.once('close', onClose)
  try {
    while (!chunk.done) {
      if (closed) return
      if (!res.write(chunk.value)) await drained(res)
      chunk = await reader.read()
    }
    res.end()
  } catch (error) {
    context.log.error('response stream failed', { error })
    res.destroy(error instanceof Error ? error : new Error(String(error)))
  } finally {
    res.off('close', onClose)
  }
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })
}

/**
 * Sets status and headers, true when done. A header Node refuses (a newline in a value, say) turns the response
 * into the error one, which is then sent whole (false).
 */
function writeHead(res: ServerResponse, response: OutgoingResponse, context: PortableContext): boolean {
  try {
    setHead(res, response)
    return true
  } catch (error) {
    for (const name of res.getHeaderNames()) res.removeHeader(name)
    const failure = httpFailure(error, context)
    setHead(res, failure)
    res.end(failure.body as string)
    return false
  }
}

function setHead(res: ServerResponse, response: OutgoingResponse): void {
  res.statusCode = response.status
  const headers = response.headers
  for (const name in headers) res.setHeader(name, headers[name] as string)
  if (response.cookies.length > 0) res.setHeader('set-cookie', response.cookies)
}
