/**
 * `custom.polycloud.telemetry`, the OpenTelemetry opt-in: read and checked with errors naming the key; when on, every
 * provider's entry installs @polycloud/telemetry and every function's environment names the collector; when off,
 * the entries are exactly what they are without the key (so are their bundles).
 */
import { expect } from 'chai'
import { ConfigError } from 'serverless-polycloud/errors'
import type { EntryFile, FunctionConfig, ProviderPlan } from 'serverless-polycloud/provider'
import { PROVIDERS } from 'serverless-polycloud/providers/index'
import { readTelemetry, telemetryEnvironment, tracesUrl } from 'serverless-polycloud/telemetry'
import { ROOT } from '../../helpers/serverless.ts'
import { planFor } from './support.ts'

const FUNCTIONS: Record<string, FunctionConfig> = {
  hello: { handler: 'handlers/hello.default', events: [{ route: 'GET /hello' }] },
  orders: { handler: 'handlers/orders.default', events: [{ fromQueue: 'orders' }] },
}
const ON = { endpoint: 'http://127.0.0.1:4318', headers: { 'X-Api-Key': 'a b,c' }, sampleRatio: 0.5 }

describe('serverless/telemetry', () => {
  it('reads the opt-in: the traces URL, headers, ratio, service name, timeout; off when absent or enabled: false', () => {
    expect(readTelemetry(undefined, 'shop')).to.equal(undefined)
    expect(readTelemetry({ enabled: false, endpoint: 'not checked when off' }, 'shop')).to.equal(undefined)
    expect(readTelemetry({ enabled: 'false' }, 'shop')).to.equal(undefined)
    expect(readTelemetry({ ...ON, enabled: 'true' }, 'shop')).to.deep.equal({
      endpoint: 'http://127.0.0.1:4318/v1/traces',
      headers: { 'x-api-key': 'a b,c' },
      sampleRatio: 0.5,
      serviceName: 'shop',
      timeoutMs: 2000,
    })
    expect(readTelemetry({ endpoint: 'https://otlp.example.com/otlp/', serviceName: 'api', timeoutMs: 500, sampleRatio: '0' }, 'shop')).to.deep.include({ endpoint: 'https://otlp.example.com/otlp/v1/traces', serviceName: 'api', timeoutMs: 500, sampleRatio: 0 })
    expect(tracesUrl('https://otlp.example.com/v1/traces/')).to.equal('https://otlp.example.com/v1/traces')
    expect(telemetryEnvironment(readTelemetry(ON, 'shop'))).to.deep.equal({
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces',
      OTEL_SERVICE_NAME: 'shop',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=a%20b%2Cc',
    })
  })

  it('refuses a bad value with an error naming its key', () => {
    const refused: Array<[unknown, string]> = [
      ['yes', 'custom.polycloud.telemetry: must be an object'],
      [{}, 'custom.polycloud.telemetry.endpoint: must be the collector\'s OTLP/HTTP URL'],
      [{ endpoint: 'collector:4318' }, 'custom.polycloud.telemetry.endpoint: must be an http or https URL'],
      [{ endpoint: 'not a url' }, 'custom.polycloud.telemetry.endpoint: "not a url" is not a URL'],
      [{ endpoint: 'https://user:pw@otlp.example.com' }, 'custom.polycloud.telemetry.endpoint: must not carry credentials'],
      [{ endpoint: 'https://otlp.example.com?x=1' }, 'custom.polycloud.telemetry.endpoint: must have no query or fragment'],
      [{ endpoint: 'https://otlp.example.com', sampleRatio: 2 }, 'custom.polycloud.telemetry.sampleRatio: must be a number from 0 to 1, got 2'],
      [{ endpoint: 'https://otlp.example.com', sampleRatio: true }, 'custom.polycloud.telemetry.sampleRatio: must be a number from 0 to 1, got true'],
      [{ endpoint: 'https://otlp.example.com', sampleRatio: 'half' }, 'custom.polycloud.telemetry.sampleRatio: must be a number from 0 to 1, got "half"'],
      [{ endpoint: 'https://otlp.example.com', headers: ['x'] }, 'custom.polycloud.telemetry.headers: must be an object'],
      [{ endpoint: 'https://otlp.example.com', headers: { 'bad name': 'x' } }, 'custom.polycloud.telemetry.headers: "bad name" is not an HTTP header name'],
      [{ endpoint: 'https://otlp.example.com', headers: { key: { a: 1 } } }, 'custom.polycloud.telemetry.headers.key: must be text'],
      [{ endpoint: 'https://otlp.example.com', timeoutMs: 0 }, 'custom.polycloud.telemetry.timeoutMs: must be a whole number of milliseconds from 1 to 60000, got 0'],
      [{ endpoint: 'https://otlp.example.com', serviceName: '' }, 'custom.polycloud.telemetry.serviceName: must be a non-empty text'],
      [{ endpoint: 'https://otlp.example.com', enabled: 'maybe' }, 'custom.polycloud.telemetry.enabled: must be true or false, got "maybe"'],
      [{ endpoint: 'https://otlp.example.com', sampler: 'always' }, 'custom.polycloud.telemetry.sampler: is not a telemetry setting'],
    ]
    for (const [value, message] of refused) {
      expect(() => readTelemetry(value, 'shop'), JSON.stringify(value)).to.throw(ConfigError).with.property('message').that.satisfies((text: string) => text.startsWith(message))
    }
  })

  for (const definition of PROVIDERS) {
    describe(definition.name, () => {
      const entries = (telemetry?: Record<string, unknown>): { plan: ProviderPlan; files: EntryFile[] } => {
        const plan = planFor(definition, FUNCTIONS, { service: 'shop', stage: 'prod', provider: { environment: { A: '1' } }, ...(telemetry ? { telemetry } : {}) })
        return { plan, files: definition.entries(plan, { workDir: `${ROOT}.polycloud/${definition.name}`, servicePath: ROOT }) }
      }

      it('without the opt-in (absent or enabled: false), the entries and environments are the same, with nothing of telemetry', () => {
        const absent = entries()
        const off = entries({ ...ON, enabled: false })
        expect(off.files).to.deep.equal(absent.files)
        expect(off.plan.functions.map((fn) => fn.environment)).to.deep.equal(absent.plan.functions.map((fn) => fn.environment))
        for (const file of absent.files) expect(file.source).to.not.match(/telemetry|OTEL_/i)
      })

      it('with it, each entry installs @polycloud/telemetry with the ratio, and every function\'s environment names the collector', () => {
        const absent = entries()
        const on = entries(ON)
        expect(on.files.map((file) => file.file)).to.deep.equal(absent.files.map((file) => file.file))
        for (const file of on.files) {
          // A shared module beside the entries (AWS's stack mapper) serves no function: unchanged.
          if (file.functions.length === 0) {
            expect(file.source).to.equal(absent.files.find((one) => one.file === file.file)?.source)
            continue
          }
          expect(file.source).to.include("import { installTelemetry } from '@polycloud/telemetry'")
          expect(file.source).to.include('installTelemetry({"sampleRatio":0.5,"timeoutMs":2000})')
          // Only those two lines are added.
          expect(file.source.split('\n').filter((line) => !line.includes('installTelemetry')).join('\n')).to.equal(absent.files.find((one) => one.file === file.file)?.source)
        }
        for (const fn of on.plan.functions) {
          expect(fn.environment).to.include({ A: '1', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces', OTEL_SERVICE_NAME: 'shop', OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=a%20b%2Cc' })
        }
        expect(on.plan.model.environment).to.include({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' })
      })
    })
  }
})
