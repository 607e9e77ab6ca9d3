/**
 * serverless-offline (14.8.2) made to answer as API Gateway and Lambda do, from the plugin's side: it serves its
 * routes with hapi, and each route's handler is wrapped here (through hapi's `route`, before serverless-offline
 * registers them) to correct what it gets wrong.
 *
 * - Binary request bodies. serverless-offline decodes every request body with `toString('utf8')` unless its
 *   content type contains `application/octet-stream` or `multipart/form-data` (`detectEncoding` in its
 *   `src/utils/index.js`), so an `image/png` upload reaches the function with each invalid UTF-8 sequence replaced
 *   by U+FFFD (0x89 becomes EF BF BD). API Gateway passes such bodies base64-encoded with `isBase64Encoded: true`.
 *   A body that is not valid UTF-8, or whose content type is not text, is marked for serverless-offline as
 *   `application/octet-stream` in the parsed headers its `detectEncoding` reads; the event's headers come from the
 *   raw headers, so the function still sees the content type the client sent, and the body byte for byte.
 * - Function errors. A function that fails (its module does not load, its handler is of the wrong kind, it
 *   throws past the adapter) is answered with the Lambda error itself: HTTP 200 with `errorMessage` and
 *   `stackTrace` for HTTP APIs (payload 2.0 reads the error object as a body), 502 with the error for REST APIs.
 *   API Gateway answers 500 `{"message":"Internal Server Error"}` (HTTP API) and 502
 *   `{"message": "Internal server error"}` (REST API), never the stack; serverless-offline has already logged the
 *   cause in the terminal.
 * - Payload limits. A synchronous Lambda invocation takes at most 6,291,456 bytes of event and returns at most
 *   6,291,556 bytes of response (AWS Lambda quotas, "Invocation payload (request and response): 6 MB each for
 *   synchronous"; exact byte counts measured by Zac Charles, "Deep Dive: Lambda's Request Payload Size Limit").
 *   API Gateway answers a larger request with 413 and a larger response as a failed invocation (500 on HTTP APIs,
 *   502 on REST APIs). Offline enforced only hapi's 10 MB on requests.
 * - JSON scalars. serverless-offline parses a JSON body (`application/json`, `application/vnd.api+json`) and then
 *   puts the parsed value in the event when it is a string or falsy (its `LambdaProxyIntegrationEvent*.js`): `null`
 *   reached the function as no body, `false` and `0` as JSON values in place of text, `"x"` as the text `x`. API
 *   Gateway passes the body as sent. For such a body the route's handler is told another media type, so
 *   serverless-offline leaves the text alone (its request schemas, looked up by media type, are then not applied to
 *   that body: API Gateway's REST request validators would check it).
 * - CORS. serverless-offline adds `Access-Control-Allow-Origin` (the request's origin) and
 *   `Access-Control-Allow-Credentials: true` to every response of a request with an `Origin` header, and turns a
 *   preflight's 204 into a 200 with headers of its own (an `onPreResponse` extension in its `HttpServer.js`), so
 *   every route looks open to every origin locally. API Gateway adds none without a CORS configuration, and
 *   Polycloud answers CORS in the generated entries under offline (`cors` on a route): that extension is not
 *   registered.
 */
import { isUtf8 } from 'node:buffer'
import { createRequire } from 'node:module'
import type { Logger } from '../../provider.js'

/** Lambda's synchronous invocation limits, in bytes of JSON. */
export const LAMBDA_REQUEST_LIMIT = 6 * 1024 * 1024
export const LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024 + 100

/**
 * What an API Gateway event holds besides the body, headers and URL (requestContext, route key, stage, flags):
 * about 900 bytes measured on serverless-offline's payload 2.0 events, counted so a request just under the limit
 * by its body alone is refused as Lambda would refuse its event.
 */
const EVENT_OVERHEAD = 1024

/** Content types API Gateway passes as text (others arrive base64-encoded). */
const TEXT = /^\s*(text\/|application\/(json|xml|javascript|x-www-form-urlencoded|graphql)\b|[^;\s]+\+(json|xml)\b)/i

interface HapiRequest {
  readonly payload?: unknown
  /** The media type of the body, which serverless-offline reads to decide whether to parse it as JSON. */
  mime?: string | null
  readonly headers: Record<string, string | undefined>
  readonly url: { readonly href: string }
  readonly raw: { readonly req: { readonly rawHeaders?: readonly string[] } }
}

interface HapiResponse {
  statusCode?: number | string
  source?: unknown
  variety?: string
  headers?: Record<string, unknown>
  code?(status: number): HapiResponse
  header?(name: string, value: string): HapiResponse
}

interface HapiToolkit {
  response(value?: unknown): HapiResponse
}

type Handler = (request: HapiRequest, h: HapiToolkit) => unknown

interface RouteConfig {
  path?: string
  handler?: unknown
}

interface HapiServerPrototype {
  route(routes: RouteConfig | RouteConfig[]): unknown
  ext(event: unknown, method?: unknown, options?: unknown): unknown
  [WRAPPED]?: boolean
}

/** serverless-offline's CORS extension (`onPreResponse`, writing Access-Control-Allow-Origin), recognised by its code. */
function isOfflineCors(event: unknown, method: unknown): boolean {
  return event === 'onPreResponse' && typeof method === 'function' && method.toString().includes('access-control-allow-origin')
}

const WRAPPED = Symbol.for('serverless-polycloud.offline')

/** Whether a request body must reach the function base64-encoded to arrive byte for byte. */
export function keepsBytes(contentType: string | undefined, body: Uint8Array): boolean {
  if (body.byteLength === 0) return false
  return !isUtf8(body) || contentType === undefined || !TEXT.test(contentType)
}

/** The media types serverless-offline parses as JSON (`contentTypesThatRequirePayloadParsing` in its HttpServer.js). */
const PARSED = new Set(['application/json', 'application/vnd.api+json'])

/** A media type serverless-offline does not parse: the body reaches the function as the text sent. */
const UNPARSED = 'application/x-polycloud-json-text'

/**
 * Whether serverless-offline would put a JSON body in the event as something other than its text: when the body
 * parses to a string or a falsy value (`null`, `false`, `0`, `""`). An object or a list (`{`, `[`) never does.
 */
export function losesJson(mime: string | null | undefined, body: Uint8Array): boolean {
  if (!PARSED.has(mime ?? 'application/json')) return false
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8').trim()
  if (text.startsWith('{') || text.startsWith('[')) return false
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === 'string' || !value
  } catch {
    // Not JSON: serverless-offline keeps the text too.
    return false
  }
}

/** The bytes of the event Lambda would receive for this request, estimated (body as carried, headers, URL). */
export function eventBytes(request: HapiRequest, body: Uint8Array | undefined, binary: boolean): number {
  const carried = body === undefined ? 0 : binary ? Math.ceil(body.byteLength / 3) * 4 : body.byteLength
  const headers = (request.raw.req.rawHeaders ?? []).reduce((sum, part) => sum + Buffer.byteLength(part) + 4, 0)
  return carried + headers + Buffer.byteLength(request.url.href) * 2 + EVENT_OVERHEAD
}

/** serverless-offline's answer for a failed invocation on an HTTP API route (the Lambda error object, as a body). */
function isLambdaError(source: unknown): boolean {
  if (typeof source !== 'string' || !source.includes('"errorMessage"')) return false
  try {
    const parsed = JSON.parse(source) as Record<string, unknown>
    return typeof parsed.errorMessage === 'string' && 'errorType' in parsed && Array.isArray(parsed.stackTrace)
  } catch {
    return false
  }
}

/** The bytes of the function's response as Lambda would count them (the body as the function returned it). */
function responseBytes(response: HapiResponse): number {
  const source = response.source
  const body = Buffer.isBuffer(source) ? Math.ceil(source.byteLength / 3) * 4 : typeof source === 'string' ? Buffer.byteLength(source) : 0
  return body + Buffer.byteLength(JSON.stringify(response.headers ?? {})) + 64
}

function gatewayAnswer(h: HapiToolkit, status: number, message: string): HapiResponse {
  const response = h.response(JSON.stringify({ message }))
  response.code?.(status)
  response.header?.('content-type', 'application/json')
  return response
}

function wrap(handler: Handler, rest: boolean, log: Logger): Handler {
  return async (request, h) => {
    const failed = (): HapiResponse => (rest ? gatewayAnswer(h, 502, 'Internal server error') : gatewayAnswer(h, 500, 'Internal Server Error'))
    const body = Buffer.isBuffer(request.payload) ? (request.payload as Buffer) : undefined
    const binary = body !== undefined && keepsBytes(request.headers['content-type'], body)
    const size = eventBytes(request, body, binary)
    if (size > LAMBDA_REQUEST_LIMIT) {
      log.error(`serverless-polycloud: ${request.url.href}: the request's event would be about ${size} bytes; Lambda takes at most ${LAMBDA_REQUEST_LIMIT} (6 MB) per synchronous invocation, so API Gateway answers 413`)
      return gatewayAnswer(h, 413, 'Request Entity Too Large')
    }
    if (binary) request.headers['content-type'] = 'application/octet-stream'
    if (body !== undefined && losesJson(request.mime, body)) request.mime = UNPARSED
    const response = (await handler(request, h)) as HapiResponse
    if (typeof response !== 'object' || response === null) return response
    // serverless-offline sets the status of a failed invocation as a string ("502").
    const status = Number(response.statusCode ?? 200)
    // HTTP API: the error object as a 200 body. REST API: a 502 without a body (an adapter's answer always has one).
    if ((status === 200 && !rest && isLambdaError(response.source)) || (status === 502 && rest && response.source == null)) return failed()
    const bytes = responseBytes(response)
    if (bytes > LAMBDA_RESPONSE_LIMIT) {
      log.error(
        `serverless-polycloud: ${request.url.href}: the function's response is about ${bytes} bytes; Lambda returns at most ${LAMBDA_RESPONSE_LIMIT} ("Response payload size exceeded maximum allowed payload size"), so API Gateway fails the request`,
      )
      return failed()
    }
    return response
  }
}

/**
 * Wraps the handlers of the routes serverless-offline registers from now on (the hapi it loads, resolved from the
 * service folder as Node resolves it for serverless-offline). Returns false when serverless-offline is not there.
 */
export function truthfulOffline(servicePath: string, log: Logger, stage: string, rest: boolean): boolean {
  let hapi: { server(options?: object): object }
  try {
    const require = createRequire(import.meta.url)
    const offline = require.resolve('serverless-offline', { paths: [servicePath] })
    hapi = createRequire(offline)('@hapi/hapi') as typeof hapi
  } catch {
    return false
  }
  const prototype = Object.getPrototypeOf(hapi.server()) as HapiServerPrototype
  if (prototype[WRAPPED]) return true
  prototype[WRAPPED] = true
  const route = prototype.route
  prototype.route = function (routes) {
    const wrapped = (Array.isArray(routes) ? routes : [routes]).map((config) => {
      const path = config.path ?? ''
      // The Lambda invoke API (port 3002) and routes without a handler function are left alone.
      if (path.startsWith('/2015-03-31/') || typeof config.handler !== 'function') return config
      // serverless-offline serves REST API routes under the stage, HTTP API routes without it.
      const restRoute = rest && (path === `/${stage}` || path.startsWith(`/${stage}/`))
      return { ...config, handler: wrap(config.handler as Handler, restRoute, log) }
    })
    return route.call(this, wrapped)
  }
  const ext = prototype.ext
  prototype.ext = function (event, method, options) {
    if (isOfflineCors(event, method)) return undefined
    return ext.call(this, event, method, options)
  }
  return true
}
