/**
 * OTLP/HTTP with JSON: the `ExportTraceServiceRequest` of opentelemetry-proto (opentelemetry/proto/collector/trace/v1),
 * in the protobuf JSON mapping OTLP specifies: trace and span ids as lower-case hex (not base64), times as decimal
 * strings of nanoseconds since the epoch, enums as their numbers, attribute values as `AnyValue`
 * (`stringValue`, `boolValue`, `intValue`, `doubleValue`). POSTed to `<collector>/v1/traces` as `application/json`.
 * A few hundred bytes of code where the official exporter brings its SDK and its transports.
 */
import type { SpanAttributes, SpanKind } from '@polycloud/core/adapter'

/** One span as recorded, before encoding. */
export interface RecordedSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string | undefined
  readonly traceState: string | undefined
  readonly name: string
  readonly kind: SpanKind
  /** Milliseconds since the epoch. */
  readonly start: number
  readonly end: number
  readonly attributes: SpanAttributes
  /** Set when the span failed: the status message (the error's message). */
  readonly error?: { readonly type: string; readonly message: string } | undefined
  /** The resource the span belongs to (service.name, cloud.provider, faas.name...). */
  readonly resource: SpanAttributes
}

/** OTLP's `Span.SpanKind` numbers. */
const KINDS: Readonly<Record<SpanKind, number>> = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 }

/** OTLP's `Status.StatusCode`: unset and error (a span that went well keeps unset, as the SDKs leave it). */
const STATUS_ERROR = 2

/** Milliseconds since the epoch as OTLP's `fixed64` nanoseconds, a decimal string (past 2^53: not a JSON number). */
export function unixNano(ms: number): string {
  const whole = Math.floor(ms)
  const micros = Math.round((ms - whole) * 1000)
  return micros === 0 ? `${whole}000000` : `${whole}${String(micros).padStart(3, '0')}000`
}

type AnyValue = { stringValue: string } | { boolValue: boolean } | { intValue: number } | { doubleValue: number }

function anyValue(value: string | number | boolean): AnyValue {
  if (typeof value === 'string') return { stringValue: value }
  if (typeof value === 'boolean') return { boolValue: value }
  return Number.isSafeInteger(value) ? { intValue: value } : { doubleValue: value }
}

/** Attributes as OTLP's `KeyValue` list. */
export function keyValues(attributes: SpanAttributes): Array<{ key: string; value: AnyValue }> {
  const list: Array<{ key: string; value: AnyValue }> = []
  for (const key in attributes) list.push({ key, value: anyValue(attributes[key] as string | number | boolean) })
  return list
}

/** The instrumentation scope every span is reported under. */
export const SCOPE = { name: '@polycloud/telemetry', version: '0.1.0' } as const

function encodeSpan(span: RecordedSpan): Record<string, unknown> {
  const encoded: Record<string, unknown> = {
    traceId: span.traceId,
    spanId: span.spanId,
    name: span.name,
    kind: KINDS[span.kind],
    startTimeUnixNano: unixNano(span.start),
    endTimeUnixNano: unixNano(Math.max(span.start, span.end)),
    attributes: keyValues(span.attributes),
  }
  if (span.parentSpanId !== undefined) encoded.parentSpanId = span.parentSpanId
  if (span.traceState !== undefined) encoded.traceState = span.traceState
  if (span.error !== undefined) {
    encoded.status = { code: STATUS_ERROR, message: span.error.message }
    encoded.events = [
      {
        name: 'exception',
        timeUnixNano: unixNano(span.end),
        attributes: keyValues({ 'exception.type': span.error.type, 'exception.message': span.error.message }),
      },
    ]
  }
  return encoded
}

/**
 * The `ExportTraceServiceRequest` for a list of spans: one `ResourceSpans` per distinct resource (a function app on
 * Azure serves several functions from one process: each keeps its `faas.name`), in the order first seen.
 */
export function exportRequest(spans: readonly RecordedSpan[]): { resourceSpans: unknown[] } {
  const byResource = new Map<SpanAttributes, Array<Record<string, unknown>>>()
  for (const span of spans) {
    let list = byResource.get(span.resource)
    if (list === undefined) byResource.set(span.resource, (list = []))
    list.push(encodeSpan(span))
  }
  return {
    resourceSpans: [...byResource].map(([resource, encoded]) => ({
      resource: { attributes: keyValues(resource) },
      scopeSpans: [{ scope: SCOPE, spans: encoded }],
    })),
  }
}
