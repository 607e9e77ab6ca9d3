/**
 * `@polycloud/telemetry`: the OpenTelemetry opt-in. Installed once per process (`installTelemetry`, which the plugin's
 * generated entry calls when serverless.yml sets `custom.polycloud.telemetry`), it records each invocation as a span
 * (server for HTTP and schedules, consumer for messages and storage events), each resource call and `context.fetch`
 * as a child span (producer for sends and publishes, client otherwise), and exports them over OTLP/HTTP (JSON) to the
 * collector the function's environment names, before the invocation returns (on Workers, in `waitUntil`). An export
 * that fails or takes longer than its timeout drops those spans, logs one warning line, and never fails the
 * invocation.
 *
 * The invocation's span is OpenTelemetry's active span while the handler runs (where the runtime has
 * AsyncLocalStorage): `trace.getActiveSpan()` of `@opentelemetry/api` sees it, and spans the handler starts with an
 * OpenTelemetry SDK of its own are its children.
 */
import { context as otelContext, ROOT_CONTEXT, trace as otelTrace, TraceFlags, type Context as OtelContext, type ContextManager } from '@opentelemetry/api'
import type { Context } from '@polycloud/core'
import {
  newSpanId,
  setTracer,
  type Ending,
  type IncomingTrace,
  type OutgoingSpan,
  type PortableContext,
  type Sampler,
  type SpanAttributes,
  type SpanKind,
  type TraceContext,
  type Tracer,
} from '@polycloud/core/adapter'
import { exportRequest, type RecordedSpan } from './otlp.js'
import { fetchPost, nodePost, type Post } from './transport.js'

export { exportRequest, unixNano, type RecordedSpan } from './otlp.js'

/** The variables the opt-in reads (OpenTelemetry's own names): the plugin sets them from serverless.yml. */
export const ENDPOINT_VARIABLE = 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'
export const BASE_ENDPOINT_VARIABLE = 'OTEL_EXPORTER_OTLP_ENDPOINT'
export const HEADERS_VARIABLE = 'OTEL_EXPORTER_OTLP_HEADERS'
export const SERVICE_NAME_VARIABLE = 'OTEL_SERVICE_NAME'

export interface TelemetryOptions {
  /**
   * The OTLP/HTTP traces URL (`https://collector.example.com:4318/v1/traces`). Default: the invocation's
   * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT` with `/v1/traces` added. Neither: spans
   * are dropped (one warning line).
   */
  readonly endpoint?: string
  /** Headers of each export (an API key). Default: `OTEL_EXPORTER_OTLP_HEADERS` (`key=value,key2=value2`, values URL-encoded). */
  readonly headers?: Readonly<Record<string, string>>
  /**
   * The share of fresh traces recorded, from 0 to 1 (default 1). A trace continued from a W3C `traceparent` (a
   * request's, a message's) keeps its caller's decision; one continued from a platform header (X-Ray,
   * X-Cloud-Trace-Context, the Functions host) is sampled by the ratio, since those platforms mark traces unsampled
   * when their own tracing is off.
   */
  readonly sampleRatio?: number
  /** `service.name` of the resource. Default: `OTEL_SERVICE_NAME`, else the function's name. */
  readonly serviceName?: string
  /** More resource attributes (`deployment.environment.name`, `service.version`). */
  readonly resource?: SpanAttributes
  /** Milliseconds an export may take before it is abandoned (default 2000). */
  readonly timeoutMs?: number
  /** Spans kept waiting for an export at most (default 2048); beyond, new spans are dropped and counted. */
  readonly maxQueue?: number
  /** The fetch exports go through. Default: node:http/node:https on Node (no fetch: its first use costs more than a cold start), the global fetch elsewhere. */
  readonly fetch?: typeof fetch
}

/** OpenTelemetry's `cloud.provider` values (Cloudflare has none of its own in the conventions yet). */
const CLOUD_PROVIDERS: Readonly<Record<string, string>> = { aws: 'aws', azure: 'azure', gcp: 'gcp', cloudflare: 'cloudflare' }

/** OpenTelemetry's `faas.trigger` for each kind of invocation core reports. */
const TRIGGERS: Readonly<Record<string, string>> = { http: 'http', queue: 'pubsub', topic: 'pubsub', storage: 'datasource', changes: 'datasource', schedule: 'timer' }

/** The span kind of an invocation: server for requests and schedules, consumer for what a message or event delivers. */
function invocationKind(kind: string): SpanKind {
  return kind === 'http' || kind === 'schedule' ? 'server' : 'consumer'
}

/** The sampler of a ratio: parent-based on W3C trace context, by trace id otherwise. */
export function ratioSampler(ratio: number): Sampler {
  if (!(ratio >= 0 && ratio <= 1)) throw new RangeError(`sampleRatio must be a number from 0 to 1, got ${String(ratio)}`)
  // The last 16 hex digits of the trace id (random in W3C ids) as a fraction of 2^64.
  const bound = ratio * 2 ** 64
  return (traceId: string, incoming: IncomingTrace | undefined): boolean => {
    if (incoming?.sampled !== undefined && (incoming.origin === 'traceparent' || incoming.origin === 'message')) return incoming.sampled
    if (ratio === 1) return true
    if (ratio === 0) return false
    return parseInt(traceId.slice(16), 16) < bound
  }
}

/** `OTEL_EXPORTER_OTLP_HEADERS` (`key=value,key2=value2`, values URL-encoded) read; malformed members skipped. */
export function parseHeaders(text: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {}
  if (text === undefined) return headers
  for (const member of text.split(',')) {
    const at = member.indexOf('=')
    if (at <= 0) continue
    const key = member.slice(0, at).trim()
    try {
      headers[key] = decodeURIComponent(member.slice(at + 1).trim())
    } catch {
      // A value that is not valid URL encoding: that header is left out.
    }
  }
  return headers
}

interface Destination {
  readonly url: string
  readonly headers: Record<string, string>
}

function errorOf(error: unknown): { type: string; message: string } {
  if (error instanceof Error) return { type: error.name, message: error.message }
  return { type: typeof error, message: String(error) }
}

/** A child span's trace: the parent's trace id and flags, a span id of its own. */
class ChildTrace implements TraceContext {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string
  readonly sampled = true
  readonly traceState: string | undefined

  constructor(parent: TraceContext) {
    this.traceId = parent.traceId
    this.spanId = newSpanId()
    this.parentSpanId = parent.spanId
    this.traceState = parent.traceState
  }

  get traceparent(): string {
    return `00-${this.traceId}-${this.spanId}-01`
  }
}

const WARN_EVERY_MS = 60_000
const noEnd = (): void => undefined

/** The span exporter behind the opt-in; {@link installTelemetry} installs one. */
export class OtlpTracer implements Tracer {
  readonly sampler: Sampler
  readonly #options: TelemetryOptions
  readonly #resources = new Map<string, SpanAttributes>()
  #queue: RecordedSpan[] = []
  #dropped = 0
  #warned = -Infinity
  #destination: Destination | undefined
  #destinationEnv: unknown
  #post: Post | undefined

  constructor(options: TelemetryOptions = {}) {
    this.#options = options
    this.sampler = ratioSampler(options.sampleRatio ?? 1)
    if (options.timeoutMs !== undefined && !(options.timeoutMs > 0)) throw new RangeError(`timeoutMs must be a positive number, got ${String(options.timeoutMs)}`)
  }

  /** Spans recorded and not exported yet. */
  get queued(): number {
    return this.#queue.length
  }

  outgoing(context: Context, kind: 'client' | 'producer', name: string, attributes?: SpanAttributes): OutgoingSpan {
    const parent = context.trace
    if (!parent.sampled) return { trace: parent, end: noEnd }
    const trace = new ChildTrace(parent)
    const start = Date.now()
    let ended = false
    return {
      trace,
      end: (error?: unknown, more?: SpanAttributes) => {
        if (ended) return
        ended = true
        this.#record({
          traceId: trace.traceId,
          spanId: trace.spanId,
          parentSpanId: trace.parentSpanId,
          traceState: trace.traceState,
          name,
          kind,
          start,
          end: Date.now(),
          attributes: more === undefined ? (attributes ?? {}) : { ...attributes, ...more },
          error: error === undefined ? undefined : errorOf(error),
          resource: this.#resource(context),
        })
      },
    }
  }

  end(context: PortableContext, kind: string, failed: boolean, ending: Ending, now: number): Promise<void> | undefined {
    const trace = context.trace
    if (trace.sampled) {
      const attributes: Record<string, string | number | boolean> = {
        'faas.trigger': TRIGGERS[kind] ?? 'other',
        'faas.invocation_id': context.requestId,
        'faas.coldstart': context.coldStart,
      }
      if (ending.status !== undefined) attributes['http.response.status_code'] = ending.status
      if (ending.eventId !== undefined) attributes['messaging.message.id'] = ending.eventId
      this.#record({
        traceId: trace.traceId,
        spanId: trace.spanId,
        parentSpanId: trace.parentSpanId,
        traceState: trace.traceState,
        name: context.functionName,
        kind: invocationKind(kind),
        start: ending.started ?? context.started,
        end: now,
        attributes,
        error: failed ? errorOf(ending.error ?? (ending.status !== undefined ? new Error(`HTTP ${ending.status}`) : new Error('failed'))) : undefined,
        resource: this.#resource(context),
      })
    }
    // A message of a batch: its span waits for the invocation's export.
    if (ending.eventId !== undefined || this.#queue.length === 0) return undefined
    return this.flush(context)
  }

  activate<T>(context: Context, run: () => T): T {
    const trace = context.trace
    const active = otelTrace.setSpanContext(otelContext.active(), {
      traceId: trace.traceId,
      spanId: trace.spanId,
      traceFlags: trace.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
      isRemote: false,
    })
    return otelContext.with(active, run)
  }

  /**
   * Exports every span waiting, to the collector `context.env` names (or the options'): resolves when the collector
   * answered, the timeout passed, or the export failed (a warning line, at most one a minute). Never rejects.
   */
  flush(context: Pick<Context, 'env' | 'log'>): Promise<void> {
    const spans = this.#queue
    if (spans.length === 0) return Promise.resolve()
    this.#queue = []
    const dropped = this.#dropped
    this.#dropped = 0
    const destination = this.#destinationOf(context.env)
    if (destination === undefined) {
      this.#warn(context, 'telemetry: no OTLP endpoint (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT): spans dropped', { spans: spans.length })
      return Promise.resolve()
    }
    let body: string
    try {
      body = JSON.stringify(exportRequest(spans))
    } catch (error) {
      this.#warn(context, 'telemetry: spans could not be encoded', { error: errorOf(error).message })
      return Promise.resolve()
    }
    if (dropped > 0) this.#warn(context, 'telemetry: the span queue was full: spans dropped', { dropped })
    const post = (this.#post ??= this.#options.fetch !== undefined ? fetchPost(this.#options.fetch) : (nodePost() ?? fetchPost()))
    let request: Promise<number>
    try {
      request = post(destination.url, { ...destination.headers, 'content-type': 'application/json' }, body, this.#options.timeoutMs ?? 2000)
    } catch (error) {
      request = Promise.reject(error)
    }
    return request.then(
      (status) => {
        if (status < 200 || status > 299) this.#warn(context, 'telemetry: the collector refused the spans', { status, spans: spans.length })
      },
      (error: unknown) => {
        this.#warn(context, 'telemetry: the spans could not be exported', { error: errorOf(error).message, spans: spans.length })
      },
    )
  }

  #record(span: RecordedSpan): void {
    if (this.#queue.length >= (this.#options.maxQueue ?? 2048)) this.#dropped++
    else this.#queue.push(span)
  }

  #resource(context: Context): SpanAttributes {
    let resource = this.#resources.get(context.functionName)
    if (resource === undefined) {
      resource = {
        'service.name': this.#options.serviceName ?? context.env[SERVICE_NAME_VARIABLE] ?? context.functionName,
        'cloud.provider': CLOUD_PROVIDERS[context.provider] ?? context.provider,
        'faas.name': context.functionName,
        'telemetry.sdk.name': '@polycloud/telemetry',
        'telemetry.sdk.language': 'nodejs',
        ...this.#options.resource,
      }
      this.#resources.set(context.functionName, resource)
    }
    return resource
  }

  #destinationOf(env: Readonly<Record<string, string | undefined>>): Destination | undefined {
    if (this.#destination !== undefined && this.#destinationEnv === env) return this.#destination
    const options = this.#options
    const base = env[BASE_ENDPOINT_VARIABLE]
    const url = options.endpoint ?? env[ENDPOINT_VARIABLE] ?? (base === undefined || base === '' ? undefined : `${base.replace(/\/+$/, '')}/v1/traces`)
    if (url === undefined || url === '') return undefined
    this.#destinationEnv = env
    return (this.#destination = { url, headers: options.headers === undefined ? parseHeaders(env[HEADERS_VARIABLE]) : { ...options.headers } })
  }

  #warn(context: Pick<Context, 'log'>, message: string, fields: Record<string, unknown>): void {
    const now = Date.now()
    if (now - this.#warned < WARN_EVERY_MS) return
    this.#warned = now
    context.log.warn(message, fields)
  }
}

/**
 * OpenTelemetry's context on AsyncLocalStorage, where the runtime has it (Node; Workers with `nodejs_compat`),
 * reached through `process.getBuiltinModule` so that no `node:` import is in the bundle. Undefined elsewhere.
 */
export function asyncContextManager(): ContextManager | undefined {
  type Storage = { getStore(): OtelContext | undefined; run<R>(store: OtelContext, fn: () => R): R; disable(): void }
  type Hooks = { AsyncLocalStorage: new () => Storage }
  const getBuiltin = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule
  let hooks: Hooks | undefined
  try {
    hooks = typeof getBuiltin === 'function' ? (getBuiltin('node:async_hooks') as Hooks | undefined) : undefined
  } catch {
    hooks = undefined
  }
  if (hooks?.AsyncLocalStorage === undefined) return undefined
  const storage = new hooks.AsyncLocalStorage()
  const manager: ContextManager = {
    active: () => storage.getStore() ?? ROOT_CONTEXT,
    with: (active, fn, thisArg, ...args) => storage.run(active, () => fn.apply(thisArg, args)),
    bind: (active, target) => {
      if (typeof target !== 'function') return target
      const fn = target as (...args: unknown[]) => unknown
      return function (this: unknown, ...args: unknown[]) {
        return storage.run(active, () => fn.apply(this, args))
      } as typeof target
    },
    enable: () => manager,
    disable: () => {
      storage.disable()
      return manager
    },
  }
  return manager
}

/**
 * Installs the opt-in for this process: an {@link OtlpTracer} as core's tracer, and OpenTelemetry's context manager
 * on AsyncLocalStorage unless one is registered already. Returns the tracer (its `flush` exports what waits).
 */
export function installTelemetry(options: TelemetryOptions = {}): OtlpTracer {
  const tracer = new OtlpTracer(options)
  const manager = asyncContextManager()
  if (manager !== undefined) otelContext.setGlobalContextManager(manager)
  setTracer(tracer)
  return tracer
}
