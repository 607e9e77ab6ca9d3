/**
 * The shapes the Functions host and the Node worker exchange (the gRPC messages of azure-functions-language-worker-
 * protobuf, as the worker's `@azure/functions-core` types name them), and the conversions the local host makes:
 * HTTP requests in, HTTP responses out (several Set-Cookie, bytes as they are), trigger payloads as the host
 * builds them for each trigger.
 */

/** RpcTypedData: one of its fields is set. */
export type RpcTypedDataShape =
  | { string: string }
  | { json: string }
  | { bytes: Uint8Array }
  | { int: number }
  | { double: number }
  | { http: RpcHttpShape }

export interface RpcNullable<T> {
  value?: T | null
}

export interface RpcCookieShape {
  name?: string | null
  value?: string | null
  domain?: RpcNullable<string> | null
  path?: RpcNullable<string> | null
  expires?: RpcNullable<{ seconds?: number | null; nanos?: number | null }> | null
  secure?: RpcNullable<boolean> | null
  httpOnly?: RpcNullable<boolean> | null
  sameSite?: 'none' | 'lax' | 'strict' | 'explicitNone' | null
  maxAge?: RpcNullable<number> | null
}

export interface RpcHttpShape {
  method?: string | null
  url?: string | null
  headers?: Record<string, string> | null
  body?: RpcTypedDataShape | null
  params?: Record<string, string> | null
  query?: Record<string, string> | null
  statusCode?: string | null
  cookies?: RpcCookieShape[] | null
}

export interface RpcResponseShape {
  invocationId?: string | null
  outputData?: Array<{ name?: string | null; data?: RpcTypedDataShape | null }> | null
  returnValue?: RpcTypedDataShape | null
}

export interface BindingInfo {
  type: string
  direction?: string
  [option: string]: unknown
}

/** A function as @azure/functions registers it: name, bindings (the trigger's options among them), retry policy. */
export interface RegisteredFunction {
  name: string
  bindings: Record<string, BindingInfo>
  retryOptions?: unknown
}

/** Host -> worker. */
export type HostMessage =
  | {
      type: 'invoke'
      invocationId: string
      functionName: string
      inputData: Array<{ name: string; data: RpcTypedDataShape }>
      triggerMetadata: Record<string, RpcTypedDataShape>
      retryContext?: { retryCount: number; maxRetryCount: number }
    }
  | { type: 'stop' }

/** Worker -> host. */
export type WorkerMessage =
  | { type: 'ready'; functions: RegisteredFunction[]; capabilities: Record<string, string> }
  | { type: 'failed'; message: string }
  | { type: 'log'; level: string; category: string; message: string; invocationId?: string }
  | { type: 'result'; invocationId: string; response?: RpcResponseShape; error?: { message: string; stack: string } }

/** The trigger binding of a registered function (its name and options). */
export function triggerOf(fn: RegisteredFunction): BindingInfo & { name: string } {
  for (const [name, binding] of Object.entries(fn.bindings)) {
    if (/trigger$/i.test(binding.type) && binding.direction !== 'out') return { ...binding, name }
  }
  throw new Error(`function ${fn.name} has no trigger binding`)
}

/** A JSON value as the host types trigger metadata: strings, integers, doubles, JSON for the rest. */
export function typed(value: unknown): RpcTypedDataShape {
  if (typeof value === 'string') return { string: value }
  if (typeof value === 'number') return Number.isInteger(value) ? { int: value } : { double: value }
  if (value instanceof Uint8Array) return { bytes: value }
  return { json: JSON.stringify(value ?? null) }
}

export function typedMetadata(metadata: Readonly<Record<string, unknown>>): Record<string, RpcTypedDataShape> {
  return Object.fromEntries(Object.entries(metadata).map(([key, value]) => [key, typed(value)]))
}

/** The bytes of a typed value (a response body). */
export function bytesOf(data: RpcTypedDataShape | null | undefined): Buffer {
  if (!data) return Buffer.alloc(0)
  if ('bytes' in data) return Buffer.from(data.bytes.buffer, data.bytes.byteOffset, data.bytes.byteLength)
  if ('string' in data) return Buffer.from(data.string)
  if ('json' in data) return Buffer.from(data.json)
  if ('int' in data) return Buffer.from(String(data.int))
  if ('double' in data) return Buffer.from(String(data.double))
  return Buffer.alloc(0)
}

/**
 * Percent-encodes a cookie name or value the way the host's serialiser (ASP.NET Core's `Uri.EscapeDataString`)
 * does: everything but RFC 3986's unreserved characters.
 */
function escapeData(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`)
}

/** One Set-Cookie header of an RPC cookie, written as ASP.NET Core writes it (the host's own serialiser). */
export function setCookieHeader(cookie: RpcCookieShape): string {
  const parts = [`${escapeData(cookie.name ?? '')}=${escapeData(cookie.value ?? '')}`]
  const seconds = cookie.expires?.value?.seconds
  if (typeof seconds === 'number') parts.push(`expires=${new Date(seconds * 1000).toUTCString()}`)
  const maxAge = cookie.maxAge?.value
  if (typeof maxAge === 'number') parts.push(`max-age=${Math.trunc(maxAge)}`)
  if (cookie.domain?.value) parts.push(`domain=${cookie.domain.value}`)
  parts.push(`path=${cookie.path?.value || '/'}`)
  if (cookie.secure?.value) parts.push('secure')
  const sameSite = cookie.sameSite === 'explicitNone' ? 'none' : cookie.sameSite === 'lax' || cookie.sameSite === 'strict' ? cookie.sameSite : undefined
  if (sameSite) parts.push(`samesite=${sameSite}`)
  if (cookie.httpOnly?.value) parts.push('httponly')
  return parts.join('; ')
}

/** A status, headers (one value each, Set-Cookie as a list) and body to write to a Node response. */
export interface HttpReply {
  readonly status: number
  readonly headers: Record<string, string | string[]>
  readonly body: Buffer
}

/** The HTTP reply of an RPC HTTP response; Content-Length is the body's, Set-Cookie one header per cookie. */
export function fromRpcHttp(http: RpcHttpShape | undefined): HttpReply {
  const status = Number(http?.statusCode ?? 200)
  const headers: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(http?.headers ?? {})) {
    const lower = name.toLowerCase()
    if (lower === 'content-length' || lower === 'transfer-encoding' || lower === 'connection') continue
    headers[lower] = value
  }
  const cookies = (http?.cookies ?? []).map(setCookieHeader)
  if (cookies.length > 0) headers['set-cookie'] = cookies
  return { status: Number.isInteger(status) && status >= 100 && status <= 599 ? status : 500, headers, body: bytesOf(http?.body) }
}

/** An incoming request as the host hands it to the worker: headers joined, query (last value per key), route params. */
export function toRpcHttp(request: {
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
  readonly body: Uint8Array
  readonly params: Readonly<Record<string, string>>
}): RpcHttpShape {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value
  }
  const query = Object.fromEntries(new URL(request.url).searchParams)
  return { method: request.method, url: request.url, headers, query, params: { ...request.params }, body: { bytes: request.body } }
}

/** The input and metadata the host sends for an HTTP request (the route parameters are metadata too). */
export function httpInvocation(http: RpcHttpShape): { data: RpcTypedDataShape; metadata: Record<string, RpcTypedDataShape> } {
  const metadata: Record<string, RpcTypedDataShape> = {
    Headers: { json: JSON.stringify(http.headers ?? {}) },
    Query: { json: JSON.stringify(http.query ?? {}) },
  }
  for (const [name, value] of Object.entries(http.params ?? {})) metadata[name] = { string: value }
  return { data: { http }, metadata }
}

/** The TimerInfo of a tick that fired for `at` (the schedule monitor's status: the previous and this occurrence). */
export function timerInfo(at: Date, last: Date | undefined, isPastDue = false): RpcTypedDataShape {
  const next = at.toISOString()
  return {
    json: JSON.stringify({
      Schedule: { AdjustForDST: true },
      ScheduleStatus: { Last: (last ?? new Date(0)).toISOString(), Next: next, LastUpdated: (last ?? at).toISOString() },
      IsPastDue: isPastDue,
    }),
  }
}

/**
 * The trigger metadata of a Service Bus message, named as the host's Service Bus extension names it (`MessageId`,
 * `DeliveryCount`, `EnqueuedTimeUtc`, `ApplicationProperties` and, mirrored, `UserProperties`, `Subject`, ...);
 * `extra` sets or overrides any of them (the admin API's `triggerMetadata`).
 */
export function serviceBusMetadata(message: {
  readonly messageId: string
  readonly deliveryCount: number
  readonly enqueuedTimeUtc: Date
  readonly applicationProperties?: Readonly<Record<string, unknown>>
  readonly sequenceNumber?: number
  readonly contentType?: string | undefined
  readonly subject?: string | undefined
  readonly correlationId?: string | undefined
  readonly sessionId?: string | undefined
}, extra: Readonly<Record<string, unknown>> = {}): Record<string, RpcTypedDataShape> {
  const properties = extra.ApplicationProperties ?? message.applicationProperties ?? {}
  const optional = { ContentType: message.contentType, Subject: message.subject, CorrelationId: message.correlationId, SessionId: message.sessionId, SequenceNumber: message.sequenceNumber }
  return typedMetadata({
    MessageId: message.messageId,
    DeliveryCount: message.deliveryCount,
    EnqueuedTimeUtc: message.enqueuedTimeUtc.toISOString(),
    ApplicationProperties: properties,
    UserProperties: properties,
    ...Object.fromEntries(Object.entries(optional).filter(([, value]) => value !== undefined)),
    ...extra,
  })
}

/** The metadata of a Storage queue message, as the host sends it with the message text. */
export function queueMetadata(message: {
  readonly messageId: string
  readonly dequeueCount: number
  readonly popReceipt: string
  readonly insertedOn: Date
  readonly expiresOn: Date
  readonly nextVisibleOn: Date
  readonly text: string
}): Record<string, RpcTypedDataShape> {
  return {
    Id: { string: message.messageId },
    DequeueCount: { int: message.dequeueCount },
    PopReceipt: { string: message.popReceipt },
    InsertionTime: { json: JSON.stringify(message.insertedOn.toISOString()) },
    ExpirationTime: { json: JSON.stringify(message.expiresOn.toISOString()) },
    NextVisibleTime: { json: JSON.stringify(message.nextVisibleOn.toISOString()) },
    QueueTrigger: { string: message.text },
  }
}
