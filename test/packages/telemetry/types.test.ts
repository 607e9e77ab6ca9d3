/** Type tests: `tsc -p test` checks each @ts-expect-error is an error. */
import { expect } from 'chai'
import type { Tracer } from '@polycloud/core/adapter'
import { OtlpTracer, installTelemetry, type TelemetryOptions } from '@polycloud/telemetry'

export const options: TelemetryOptions[] = [
  {},
  { endpoint: 'https://collector.example.com/v1/traces', headers: { 'x-api-key': 'k' }, sampleRatio: 0.5 },
  { resource: { 'service.version': '1.2.0', 'deployment.environment.name': 'prod', replicas: 3, canary: false } },
  // @ts-expect-error headers are text values
  { headers: { 'x-api-key': 1 } },
  // @ts-expect-error resource attribute values are primitives
  { resource: { tags: ['a'] } },
  // @ts-expect-error the ratio is a number
  { sampleRatio: '0.5' },
]

export const tracer: Tracer = new OtlpTracer()
// @ts-expect-error installTelemetry takes options, not an endpoint string
export const wrong = () => installTelemetry('https://collector.example.com')

describe('telemetry/types', () => {
  it('type-checks', () => expect(options.length).to.equal(6))
})
