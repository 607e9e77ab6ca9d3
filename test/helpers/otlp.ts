/** OTLP/HTTP JSON as the tests read it: the span shape of an `ExportTraceServiceRequest`, and an attribute's value. */

export interface OtlpAttribute {
  key: string
  value: Record<string, unknown>
}

export interface OtlpSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: number
  startTimeUnixNano: string
  endTimeUnixNano: string
  attributes: OtlpAttribute[]
  status?: { code: number; message: string }
  traceState?: string
}

/** OTLP's span kinds by number. */
export const SPAN_KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const

/** The value of attribute `key` (whichever of `stringValue`, `intValue`, ... it is), or undefined. */
export function attributeOf(holder: { attributes: readonly OtlpAttribute[] }, key: string): unknown {
  const value = holder.attributes.find((candidate) => candidate.key === key)?.value
  return value === undefined ? undefined : Object.values(value)[0]
}
