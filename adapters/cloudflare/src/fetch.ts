import {
  BaseRequest,
  PortableHeaders,
  PortableQuery,
  type BodySource,
  type HttpSource,
  type OutgoingResponse,
} from '@polycloud/core/adapter'

/**
 * A Workers request as a portable one, read in place: the method, URL and headers come from the Fetch `Request`
 * when the handler asks for them, and the body is the Request's own stream (nothing is copied up front).
 */
export class WorkersRequest extends BaseRequest<Request> {
  readonly method: string
  #bytes: Uint8Array | undefined
  #copy: Request | undefined

  constructor(request: Request) {
    super(request)
    this.method = request.method
  }

  /** The client address Cloudflare puts in `CF-Connecting-IP` (absent when another Worker is the caller). */
  override get ip(): string | undefined {
    return this.native.headers.get('cf-connecting-ip') ?? undefined
  }

  protected readUrl(): string {
    return this.native.url
  }

  protected readHeaders(): PortableHeaders {
    return PortableHeaders.fromEntries(this.native.headers)
  }

  /** One header from the Fetch Headers themselves (case-insensitive, repeats joined, as `headers.get` gives it). */
  protected override readHeader(name: string): string | null {
    return this.native.headers.get(name)
  }

  protected readQuery(): PortableQuery {
    // A Fetch Request's URL is serialised without a fragment, so everything after '?' is the query.
    const url = this.url
    const start = url.indexOf('?')
    return PortableQuery.parse(start === -1 ? '' : url.slice(start + 1))
  }

  protected readBody(): BodySource {
    return this.native.body
  }

  override async bytes(): Promise<Uint8Array> {
    return (this.#bytes = await super.bytes())
  }

  /**
   * The original Request while its body has not been read (so Hono and other Fetch apps get the platform's own
   * object, `cf` properties included); after `text()`/`json()`/`bytes()` a copy carrying the bytes read. A body
   * taken as a stream (`body`) and consumed cannot be handed on: that throws a TypeError.
   */
  override toRequest(): Request {
    const native = this.native
    const body = native.body
    if (body === null || (!native.bodyUsed && !body.locked)) return native
    if (this.#copy !== undefined) return this.#copy
    if (this.#bytes === undefined) {
      throw new TypeError('cloudflare:fetch: the request body was consumed as a stream; toRequest() cannot copy it')
    }
    return (this.#copy = new Request(native, { body: this.#bytes as Uint8Array<ArrayBuffer> }))
  }
}

/**
 * The Fetch `Response` for a portable one: repeated Set-Cookie values stay separate header lines, bytes go as they
 * are and a stream body streams (core has already dropped the body of a 204, 205 or 304). A Fetch Response the
 * handler returned goes back untouched: no copy, and its webSocket (101), `cf` and `encodeBody` options survive.
 */
export function toResponse(response: OutgoingResponse): Response {
  if (response.fetchResponse !== undefined) return response.fetchResponse
  // Without cookies the record goes as it is (the Response reads its own keys as a Headers would): one object less.
  let headers: HeadersInit = response.headers
  if (response.cookies.length > 0) {
    headers = new Headers(response.headers)
    for (const cookie of response.cookies) headers.append('set-cookie', cookie)
  }
  return new Response(response.body as BodyInit | null, { status: response.status, headers })
}

/** Whether a value is a Fetch `Request` (by tag: on Node, touching the global `Request` would load undici). */
export function isFetchRequest(input: unknown): input is Request {
  return Object.prototype.toString.call(input) === '[object Request]'
}

/** The Request a module Worker's `fetch` receives, and the Response it returns. */
export const workersFetch: HttpSource<Request, Response> = {
  name: 'cloudflare:fetch',
  kind: 'http',
  canHandle: isFetchRequest,
  getRequest: (request) => new WorkersRequest(request),
  getResponse: (response) => toResponse(response),
}
