/**
 * Trace context: the W3C Trace Context of each invocation (trace id, span id, sampled flag, tracestate), continued
 * from what the input carries or started fresh, and written into what the invocation sends on. Parsing follows the
 * W3C Trace Context recommendation (https://www.w3.org/TR/trace-context/) strictly: a header that breaks a rule is
 * ignored, never an error. The platforms' own formats are read too: AWS X-Ray's `Root=1-...;Parent=...;Sampled=1`
 * and Google's `X-Cloud-Trace-Context: TRACE/SPAN;o=1`.
 *
 * Cost: nothing runs until something needs the trace (a log line, `context.trace`, a message sent). Span ids come from
 * a per-process random prefix and a counter (one number formatted per span); fresh trace ids from a pool of random
 * bytes refilled 256 bytes at a time.
 */

/** The trace an invocation runs in, as W3C Trace Context names it. */
export interface TraceContext {
  /** 32 lower-case hex digits, not all zero. */
  readonly traceId: string
  /** This invocation's own span: 16 lower-case hex digits. */
  readonly spanId: string
  /** The caller's span (the sender of a message, the client of a request), when the trace was continued. */
  readonly parentSpanId: string | undefined
  /** Whether the trace is sampled (the W3C `sampled` flag): tracers that honour it record it. */
  readonly sampled: boolean
  /** The W3C `tracestate` that came with the trace, passed on as it came (valid members only). */
  readonly traceState: string | undefined
  /** The `traceparent` header value for calls this invocation makes: `00-<traceId>-<spanId>-<flags>`. */
  readonly traceparent: string
}

/** Where a continued trace came from (a fresh one: `new`). */
export type TraceOrigin = 'traceparent' | 'xray' | 'cloud-trace' | 'host' | 'message' | 'new'

/** A trace read from an input: the caller's ids, before this invocation's span is made. */
export interface IncomingTrace {
  readonly traceId: string
  /** The caller's span id; undefined when the header names none (an X-Ray root without a parent). */
  readonly parentId: string | undefined
  /** Undefined when the header leaves the decision open (X-Ray `Sampled=?`, no `o=` in X-Cloud-Trace-Context). */
  readonly sampled: boolean | undefined
  readonly traceState: string | undefined
  readonly origin: TraceOrigin
}

/** The trace headers of a message, an object or a request, as text (read lazily by the sources). */
export interface TraceCarrier {
  readonly traceparent?: string | undefined
  readonly tracestate?: string | undefined
  /** An AWS X-Ray header (`AWSTraceHeader` of an SQS message), read when there is no valid traceparent. */
  readonly xray?: string | undefined
}

const ZERO_TRACE = '00000000000000000000000000000000'
const ZERO_SPAN = '0000000000000000'
// version 00: exactly these four fields; a later version: at least these, then the end or "-" and more fields.
const TRACEPARENT = /^[ \t]*([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[^]*)?[ \t]*$/

/**
 * A `traceparent` header (and its `tracestate`), or undefined when it breaks a rule of the W3C recommendation:
 * version 00 is exactly `00-<32 hex>-<16 hex>-<2 hex>` in lower case, ids not all zero; version ff is invalid; a
 * higher version is read by the version 00 rules from its first 55 characters, which must be followed by the end
 * or a `-` (its further fields are ignored). Surrounding spaces and tabs (HTTP's optional white space) are allowed.
 * The tracestate is kept only when it is valid itself (see {@link parseTracestate}).
 */
export function parseTraceparent(header: string | null | undefined, tracestate?: string | null, origin: TraceOrigin = 'traceparent'): IncomingTrace | undefined {
  const match = typeof header === 'string' ? TRACEPARENT.exec(header) : null
  if (match === null) return undefined
  const [, version, traceId, parentId, flags, rest] = match as unknown as [string, string, string, string, string, string | undefined]
  if (version === 'ff' || (version === '00' && rest !== undefined) || traceId === ZERO_TRACE || parentId === ZERO_SPAN) return undefined
  return { traceId, parentId, sampled: (parseInt(flags, 16) & 1) === 1, traceState: parseTracestate(tracestate), origin }
}

const STATE_MEMBER = /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/

/**
 * A `tracestate` header (several joined with `,`), normalised, or undefined when it is absent, empty or invalid: at
 * most 32 list members `key=value` (keys `[a-z][a-z0-9_-*\/]*` or `tenant@system`, values printable ASCII without
 * `,` and `=`, not ending with a space), no key twice. Beyond 512 characters (what the recommendation asks to pass
 * on at least), members are dropped from the end.
 */
export function parseTracestate(header: string | null | undefined): string | undefined {
  if (typeof header !== 'string' || header === '') return undefined
  const members: string[] = []
  const keys: string[] = []
  let length = -1
  for (const raw of header.split(',')) {
    const member = raw.trim()
    if (member === '') continue
    const key = member.slice(0, member.indexOf('='))
    if (!STATE_MEMBER.test(member) || keys.includes(key) || keys.push(key) > 32) return undefined
    if ((length += member.length + 1) <= 512) members.push(member)
  }
  return members.length === 0 ? undefined : members.join(',')
}

/**
 * Whether `text[from, to)` is hex digits only; -1 when not, else 1 when some are upper case (0 when none are).
 * Character codes instead of a regular expression and `toLowerCase`: the header is read on every traced invocation.
 */
function hexRun(text: string, from: number, to: number): number {
  let upper = 0
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i)
    if ((c >= 48 && c <= 57) || (c >= 97 && c <= 102)) continue
    if (c >= 65 && c <= 70) upper = 1
    else return -1
  }
  return upper
}

/** Whether a character code is white space as `String#trim` removes it (ASCII and the Unicode spaces alike). */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || (c > 127 && /\s/.test(String.fromCharCode(c)))
}

/**
 * An AWS X-Ray trace header (`Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1`, fields
 * in any order, `Self` and `Lineage` ignored), as the `_X_AMZN_TRACE_ID` variable, the `X-Amzn-Trace-Id` header and
 * the SQS `AWSTraceHeader` attribute carry it, or undefined without a valid `Root`. The W3C trace id is the root's
 * two hex parts (8 + 24 digits); `Parent` (16 hex digits) is the caller's span. A field is `key=value` at the start or
 * after a `;` (spaces and tabs before the key allowed), its value trimmed; the first of a key counts. One pass over
 * the header, no regular expression: it is read on every HTTP invocation API Gateway traces.
 */
export function parseXRay(header: string | null | undefined): IncomingTrace | undefined {
  if (typeof header !== 'string') return undefined
  const length = header.length
  let rootAt = -1
  let rootEnd = -1
  let parentAt = -1
  let parentEnd = -1
  let sampledAt = -1
  let sampledEnd = -1
  for (let at = 0; at <= length; ) {
    let end = header.indexOf(';', at)
    if (end === -1) end = length
    let key = at
    while (key < end && (header.charCodeAt(key) === 32 || header.charCodeAt(key) === 9)) key++
    const first = header.charCodeAt(key)
    if (first === 82 /* R */ && rootAt === -1 && header.startsWith('Root=', key)) {
      rootAt = trimStart(header, key + 5, end)
      rootEnd = trimEnd(header, rootAt, end)
    } else if (first === 80 /* P */ && parentAt === -1 && header.startsWith('Parent=', key)) {
      parentAt = trimStart(header, key + 7, end)
      parentEnd = trimEnd(header, parentAt, end)
    } else if (first === 83 /* S */ && sampledAt === -1 && header.startsWith('Sampled=', key)) {
      sampledAt = trimStart(header, key + 8, end)
      sampledEnd = trimEnd(header, sampledAt, end)
    }
    at = end + 1
  }
  // Root: 1-<8 hex>-<24 hex>.
  if (rootAt === -1 || rootEnd - rootAt !== 35 || header.charCodeAt(rootAt) !== 49 || header.charCodeAt(rootAt + 1) !== 45 || header.charCodeAt(rootAt + 10) !== 45) return undefined
  const high = hexRun(header, rootAt + 2, rootAt + 10)
  const low = hexRun(header, rootAt + 11, rootEnd)
  if (high === -1 || low === -1) return undefined
  let traceId = header.slice(rootAt + 2, rootAt + 10) + header.slice(rootAt + 11, rootEnd)
  if (high + low > 0) traceId = traceId.toLowerCase()
  if (traceId === ZERO_TRACE) return undefined
  let parentId: string | undefined
  if (parentAt !== -1 && parentEnd - parentAt === 16) {
    const upper = hexRun(header, parentAt, parentEnd)
    if (upper !== -1) {
      parentId = header.slice(parentAt, parentEnd)
      if (upper === 1) parentId = parentId.toLowerCase()
      if (parentId === ZERO_SPAN) parentId = undefined
    }
  }
  const sampled = sampledEnd - sampledAt === 1 ? header.charCodeAt(sampledAt) : -1
  return { traceId, parentId, sampled: sampled === 49 ? true : sampled === 48 ? false : undefined, traceState: undefined, origin: 'xray' }
}

/** Where `text[from, to)` starts without its leading white space (as `String#trim` removes it). */
function trimStart(text: string, from: number, to: number): number {
  while (from < to && isSpace(text.charCodeAt(from))) from++
  return from
}

/** Where `text[from, to)` ends without its trailing white space. */
function trimEnd(text: string, from: number, to: number): number {
  while (to > from && isSpace(text.charCodeAt(to - 1))) to--
  return to
}

const CLOUD_TRACE = /^[ \t]*([0-9a-fA-F]{32})(?:\/([0-9]{1,20}))?(?:;o=([0-9]+))?[ \t]*$/
const UINT64 = 18446744073709551615n

/**
 * Google's `X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=OPTIONS` (the span id in decimal, an unsigned 64-bit number;
 * `o=1` sampled), or undefined when it is malformed or its trace id is all zeros. The span becomes 16 hex digits.
 */
export function parseCloudTrace(header: string | null | undefined): IncomingTrace | undefined {
  const match = typeof header === 'string' ? CLOUD_TRACE.exec(header) : null
  if (match === null) return undefined
  const traceId = (match[1] as string).toLowerCase()
  if (traceId === ZERO_TRACE) return undefined
  let parentId: string | undefined
  if (match[2] !== undefined) {
    const span = BigInt(match[2])
    if (span > UINT64) return undefined
    if (span !== 0n) parentId = span.toString(16).padStart(16, '0')
  }
  const options = match[3]
  return { traceId, parentId, sampled: options === undefined ? undefined : (Number(options) & 1) === 1, traceState: undefined, origin: 'cloud-trace' }
}

/**
 * The trace carrier in a record of strings (an object's metadata, a CloudEvent's extensions): its `traceparent` and
 * `tracestate` members, when `traceparent` is a string.
 */
export function carrierOf(record: unknown): TraceCarrier | undefined {
  if (typeof record !== 'object' || record === null) return undefined
  const { traceparent, tracestate } = record as { traceparent?: unknown; tracestate?: unknown }
  return typeof traceparent === 'string' ? { traceparent, tracestate: typeof tracestate === 'string' ? tracestate : undefined } : undefined
}

/** The trace a carrier (message attributes, object metadata) holds: its valid traceparent, else its X-Ray header. */
export function carrierTrace(carrier: TraceCarrier | undefined, origin: TraceOrigin = 'message'): IncomingTrace | undefined {
  if (carrier === undefined) return undefined
  return parseTraceparent(carrier.traceparent, carrier.tracestate, origin) ?? (carrier.xray === undefined ? undefined : withOrigin(parseXRay(carrier.xray), origin))
}

function withOrigin(trace: IncomingTrace | undefined, origin: TraceOrigin): IncomingTrace | undefined {
  return trace === undefined || trace.origin === origin ? trace : { ...trace, origin }
}

// Ids, from Math.random (as OpenTelemetry's JavaScript SDK makes them): on Node 20 the first use of
// crypto.getRandomValues loads WebCrypto, 47.6 M instructions on a cold start, for ids that need to be unique, not
// secret. Span ids: a random 32-bit prefix per process and a 31-bit counter starting at a random value (one small
// number formatted per span). Trace ids: the time in seconds (8 hex digits: the form AWS X-Ray also accepts) and 24
// random hex digits.
let spanPrefix: string | undefined
let spanCounter = 0

// Two hex digits per byte value: an id is a few table reads, where Number#toString(16) costs a runtime call each.
// Made on the first id, not at load: a cold start that never needs an id does not pay for it.
let HEX: readonly string[] | undefined

function hex32(value: number): string {
  const hex = (HEX ??= Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0')))
  return (hex[value >>> 24] as string) + (hex[(value >>> 16) & 255] as string) + (hex[(value >>> 8) & 255] as string) + (hex[value & 255] as string)
}

function random32(): number {
  return (Math.random() * 0x100000000) >>> 0
}

/** A new span id: 16 lower-case hex digits, never all zeros. */
export function newSpanId(): string {
  if (spanPrefix === undefined) {
    spanPrefix = hex32(random32() || 1)
    spanCounter = (Math.random() * 0x40000000) | 0
  }
  spanCounter = (spanCounter + 1) & 0x7fffffff
  return spanPrefix + hex32(spanCounter)
}

/** A new trace id: the time in seconds, then 24 random hex digits. */
export function newTraceId(now = Date.now()): string {
  return hex32(Math.floor(now / 1000) >>> 0) + hex32(random32()) + hex32(random32()) + hex32(random32())
}

/** This invocation's trace: the incoming one continued with a new span, or a fresh trace. */
export class Trace implements TraceContext {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string | undefined
  readonly sampled: boolean
  readonly traceState: string | undefined
  /** Where the trace came from. */
  readonly origin: TraceOrigin

  constructor(traceId: string, spanId: string, parentSpanId: string | undefined, sampled: boolean, traceState: string | undefined, origin: TraceOrigin) {
    this.traceId = traceId
    this.spanId = spanId
    this.parentSpanId = parentSpanId
    this.sampled = sampled
    this.traceState = traceState
    this.origin = origin
  }

  get traceparent(): string {
    return `00-${this.traceId}-${this.spanId}-${this.sampled ? '01' : '00'}`
  }

}

/**
 * Decides whether a trace is sampled: by default the incoming decision, or `true` for a fresh trace or an undecided
 * one. The OpenTelemetry opt-in installs its sampler here (see `setTracer`).
 */
export type Sampler = (traceId: string, incoming: IncomingTrace | undefined) => boolean

const defaultSampler: Sampler = (_traceId, incoming) => incoming?.sampled ?? true

/**
 * The invocation's trace from what came in. `direct` is what the input itself carries (the request's or the
 * message's traceparent), `platform` the trace the platform started for the invocation (the X-Ray segment, the
 * Functions host's activity): the direct one wins, but the platform's is used when it continues the same trace
 * (its span is then the nearer parent). Neither: a fresh trace.
 */
export function startTrace(direct: IncomingTrace | undefined, platform: IncomingTrace | undefined, sampler: Sampler = defaultSampler): Trace {
  let incoming = direct ?? platform
  if (direct !== undefined && platform !== undefined && platform.traceId === direct.traceId && platform.parentId !== undefined) {
    incoming = platform.traceState === undefined && direct.traceState !== undefined ? { ...platform, traceState: direct.traceState } : platform
  }
  if (incoming === undefined) {
    const traceId = newTraceId()
    return new Trace(traceId, newSpanId(), undefined, sampler(traceId, undefined), undefined, 'new')
  }
  return new Trace(incoming.traceId, newSpanId(), incoming.parentId, sampler(incoming.traceId, incoming), incoming.traceState, incoming.origin)
}

/** The X-Ray form of a W3C trace id: `1-<first 8 hex digits>-<last 24>`. */
export function xrayTraceId(traceId: string): string {
  return `1-${traceId.slice(0, 8)}-${traceId.slice(8)}`
}

/** The X-Ray header for a span (`AWSTraceHeader` of an SQS message). */
export function xrayHeader(trace: TraceContext): string {
  return `Root=${xrayTraceId(trace.traceId)};Parent=${trace.spanId};Sampled=${trace.sampled ? 1 : 0}`
}

const TRACE_KEY: unique symbol = Symbol('polycloud.trace')

/**
 * Gives a translated event the trace its message or object carries (the sender's traceparent in its attributes or
 * metadata): the function continues it for that event. Not enumerable: handlers, spreads and JSON do not see it.
 * Nothing is parsed here: the carrier is read when the event runs.
 */
export function withTrace<E extends object>(event: E, carrier: TraceCarrier | undefined): E {
  if (carrier !== undefined && (carrier.traceparent !== undefined || carrier.xray !== undefined)) {
    Object.defineProperty(event, TRACE_KEY, { value: carrier, configurable: true })
  }
  return event
}

/**
 * The trace carrier a source gave an event, if any; for a CloudEvent, its `traceparent` extension (the distributed
 * tracing extension of CloudEvents) when the source gave none.
 */
export function eventTrace(event: object): TraceCarrier | undefined {
  const carrier = (event as { [TRACE_KEY]?: TraceCarrier })[TRACE_KEY]
  if (carrier !== undefined || (event as { kind?: unknown }).kind !== 'cloudEvent') return carrier
  return carrierOf((event as { extensions?: unknown }).extensions)
}
