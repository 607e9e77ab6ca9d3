/**
 * The HTTP client of the Node drivers (AWS, Azure, Google): node:http and node:https with keep-alive agents, the
 * request body as bytes, the response body read on demand. On Node 20/22 it is cheaper than `fetch`, which loads
 * undici on first use (about 25 ms) and costs more per call. Loaded by a driver on its first call only.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { Readable } from 'node:stream'
import { DriverError } from './errors.js'

const agents = {
  http: new HttpAgent({ keepAlive: true, maxSockets: 64 }),
  https: new HttpsAgent({ keepAlive: true, maxSockets: 64 }),
}

export interface HttpRequestInit {
  readonly method: string
  readonly url: URL
  readonly headers: Readonly<Record<string, string>>
  readonly body?: Uint8Array | string | undefined
  readonly signal?: AbortSignal | undefined
}

/** A response whose body has not been read yet: read it (`bytes`, `text`, `stream`) or `discard` it. */
export interface HttpResponse {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  /** A header's value (lower-case name; repeated values joined with ", "). */
  header(name: string): string | undefined
  bytes(): Promise<Uint8Array>
  text(): Promise<string>
  stream(): ReadableStream<Uint8Array>
  /** Reads the body away so the connection can be reused. */
  discard(): void
}

/** Sends a request; resolves once the response headers arrive. A network failure is an `Unavailable` DriverError. */
export function request(init: HttpRequestInit): Promise<HttpResponse> {
  const { url } = init
  const secure = url.protocol === 'https:'
  return new Promise((resolve, reject) => {
    const req = (secure ? httpsRequest : httpRequest)(
      url,
      { method: init.method, headers: init.headers, agent: secure ? agents.https : agents.http, signal: init.signal },
      (res) => resolve(new Response(res)),
    )
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.name === 'AbortError') return reject(error)
      reject(new DriverError('Unavailable', `${init.method} ${url.host} failed: ${error.code ?? error.message}`, { cause: error }))
    })
    req.end(init.body)
  })
}

class Response implements HttpResponse {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly #res: IncomingMessage
  #taken = false

  constructor(res: IncomingMessage) {
    this.#res = res
    this.status = res.statusCode ?? 0
    this.headers = res.headers
  }

  header(name: string): string | undefined {
    const value = this.headers[name]
    return Array.isArray(value) ? value.join(', ') : value
  }

  #take(): IncomingMessage {
    if (this.#taken) throw new TypeError('the response body was already read')
    this.#taken = true
    return this.#res
  }

  bytes(): Promise<Uint8Array> {
    let res: IncomingMessage
    try {
      res = this.#take()
    } catch (error) {
      return Promise.reject(error)
    }
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.once('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)))
      res.once('error', (error) => reject(error.name === 'AbortError' ? error : new DriverError('Unavailable', `the response was cut short: ${error.message}`, { cause: error })))
    })
  }

  async text(): Promise<string> {
    const bytes = await this.bytes()
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')
  }

  stream(): ReadableStream<Uint8Array> {
    return Readable.toWeb(this.#take()) as ReadableStream<Uint8Array>
  }

  discard(): void {
    if (this.#taken) return
    this.#take().resume()
  }
}

/** The header value of an ISO-8859-1-unsafe string, percent-encoded (what S3 and Azure do for non-ASCII). */
export function headerSafe(value: string): boolean {
  return /^[\u0020-\u007e]*$/.test(value)
}
