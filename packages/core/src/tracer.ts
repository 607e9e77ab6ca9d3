/**
 * The hook a span exporter plugs into (`@polycloud/telemetry`, the OpenTelemetry opt-in). Without one installed,
 * nothing here runs beyond a check: outgoing calls carry the invocation's own span as their parent, and no span is
 * recorded. With one, every invocation (or message of a batch run in its own trace) ends as a span, each resource
 * call and `context.fetch` is a child span, and the exporter is flushed before the invocation returns.
 */
import type { Context, Ending, PortableContext } from './context.js'
import type { Sampler, TraceContext } from './trace.js'

export type SpanKind = 'server' | 'consumer' | 'client' | 'producer' | 'internal'

/** Attribute values of a span (OpenTelemetry's primitive attribute values). */
export type SpanAttributes = Readonly<Record<string, string | number | boolean>>

/** An outgoing call's span: its trace (the `traceparent` to send) and how to end it. */
export interface OutgoingSpan {
  readonly trace: TraceContext
  end(error?: unknown, attributes?: SpanAttributes): void
}

/**
 * A span exporter (`@polycloud/telemetry`). Core calls it at the end of each invocation and of each message of a
 * batch that ran in its own trace, and for each outgoing call; what it records and when it sends is its own.
 */
export interface Tracer {
  /** Decides whether a trace is sampled (ratio sampling); default: the incoming decision, else sampled. */
  readonly sampler?: Sampler
  /** Starts the span of an outgoing call, a child of the invocation's span. */
  outgoing(context: Context, kind: 'client' | 'producer', name: string, attributes?: SpanAttributes): OutgoingSpan
  /**
   * An invocation ended (`ending.eventId` undefined), or one message of a batch that ran in its own trace: record
   * its span (`context.trace`, `context.started` or `ending.started`, `now`). For an invocation, return the flush
   * that must settle before it returns (it must not reject); on Workers core hands it to `waitUntil`.
   */
  end(context: PortableContext, kind: string, failed: boolean, ending: Ending, now: number): Promise<void> | undefined
  /** Runs a handler with the invocation's span as the active one (OpenTelemetry's context), if the tracer keeps one. */
  activate?<T>(context: Context, run: () => T): T
}

let installed: Tracer | undefined

/** Installs the span exporter (one per process); returns the previous one. `undefined` removes it. */
export function setTracer(tracer: Tracer | undefined): Tracer | undefined {
  const previous = installed
  installed = tracer
  return previous
}

/** The installed tracer, if any. */
export function currentTracer(): Tracer | undefined {
  return installed
}

const noEnd = (): void => undefined

/**
 * The span of an outgoing call (a message sent, an object written, a request made) in the invocation `context`:
 * its trace gives the `traceparent` to send. Without a tracer it is the invocation's own span, and ending it does
 * nothing.
 */
export function outgoing(context: Context, kind: 'client' | 'producer', name: string, attributes?: SpanAttributes): OutgoingSpan {
  const tracer = installed
  if (tracer !== undefined) return tracer.outgoing(context, kind, name, attributes)
  return { trace: context.trace, end: noEnd }
}

/** The trace headers of a span: `traceparent`, and `tracestate` when the trace has one. */
export function traceHeaders(trace: TraceContext): { traceparent: string; tracestate?: string } {
  const headers: { traceparent: string; tracestate?: string } = { traceparent: trace.traceparent }
  if (trace.traceState !== undefined) headers.tracestate = trace.traceState
  return headers
}

/** What {@link traced} returns: `fetch`, within an invocation's trace. */
export type TracedFetch = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>

/**
 * `fetch` within an invocation's trace: each request carries the trace (`traceparent`, and `tracestate`) unless it
 * sets its own `traceparent`, and is a client span of the trace when the OpenTelemetry opt-in records spans.
 * `fetchImpl` defaults to the global `fetch` at call time.
 *
 * ```ts
 * const response = await traced(context)('https://api.example.com/orders', { method: 'POST', body })
 * ```
 */
export function traced(context: Context, fetchImpl?: typeof fetch): TracedFetch {
  return (input, init) => {
    const request = typeof Request !== 'undefined' && input instanceof Request ? input : undefined
    const method = (init?.method ?? request?.method ?? 'GET').toUpperCase()
    let span: OutgoingSpan
    let headers: Headers
    try {
      headers = new Headers(init?.headers ?? request?.headers)
      span = outgoing(context, 'client', method, { 'http.request.method': method, 'url.full': request?.url ?? String(input) })
    } catch (error) {
      return Promise.reject(error)
    }
    if (!headers.has('traceparent')) {
      headers.set('traceparent', span.trace.traceparent)
      const state = span.trace.traceState
      if (state !== undefined && !headers.has('tracestate')) headers.set('tracestate', state)
    }
    return (fetchImpl ?? globalThis.fetch)(input, { ...init, headers }).then(
      (response) => {
        span.end(response.status >= 500 ? new Error(`HTTP ${response.status}`) : undefined, { 'http.response.status_code': response.status })
        return response
      },
      (error: unknown) => {
        span.end(error)
        throw error
      },
    )
  }
}
