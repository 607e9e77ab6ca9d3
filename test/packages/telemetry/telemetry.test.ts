// @polycloud/telemetry: the OTLP/HTTP JSON encoding, the spans of an invocation and of its resource calls with their
// parents, sampling, the export's failures (never the invocation's), and OpenTelemetry's active span in a handler.
import { expect } from 'chai'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { trace as otelTrace } from '@opentelemetry/api'
import { http, queue as queueHandler, type Context } from '@polycloud/core'
import { PortableContext, outgoing, runHttp, setTracer, parseXRay, parseTraceparent, type Tracer } from '@polycloud/core/adapter'
import { queue, withResources } from '@polycloud/resources'
import { memoryResources, send } from '@polycloud/testing'
import { OtlpTracer, exportRequest, installTelemetry, parseHeaders, ratioSampler, unixNano, type RecordedSpan } from '@polycloud/telemetry'
import { TestRequest } from '../core/support.ts'
import { attributeOf, type OtlpSpan } from '../../helpers/otlp.ts'

interface Exported {
  url: string
  headers: Record<string, string>
  body: {
    resourceSpans: Array<{
      resource: { attributes: Array<{ key: string; value: Record<string, unknown> }> }
      scopeSpans: Array<{ scope: { name: string }; spans: OtlpSpan[] }>
    }>
  }
}

/** A fetch that records each export and answers `status`. */
function collector(status = 200): { fetch: typeof fetch; exports: Exported[] } {
  const exports: Exported[] = []
  const fake = (async (input: RequestInfo | URL, init?: RequestInit) => {
    exports.push({ url: String(input), headers: Object.fromEntries(new Headers(init?.headers).entries()), body: JSON.parse(String(init?.body)) as Exported['body'] })
    return new Response('{}', { status })
  }) as typeof fetch
  return { fetch: fake, exports }
}

const spansOf = (exports: readonly Exported[]): OtlpSpan[] => exports.flatMap((one) => one.body.resourceSpans.flatMap((resource) => resource.scopeSpans.flatMap((scope) => scope.spans)))
const attribute = attributeOf

function context(init: { functionName?: string; env?: Record<string, string>; lines?: string[]; provider?: 'aws' | 'gcp' } = {}): PortableContext {
  return new PortableContext({
    provider: init.provider ?? 'aws',
    requestId: 'req-1',
    functionName: init.functionName ?? 'orders',
    deadline: Date.now() + 10_000,
    env: init.env ?? {},
    native: { provider: init.provider ?? 'aws', event: {}, context: {} },
    sink: (_level, line) => void init.lines?.push(line),
  })
}

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const CALLER = '00f067aa0ba902b7'

describe('telemetry', () => {
  let previous: Tracer | undefined
  beforeEach(() => {
    previous = setTracer(undefined)
  })
  afterEach(() => {
    setTracer(previous)
  })

  describe('OTLP/HTTP JSON', () => {
    it('encodes spans as ExportTraceServiceRequest: hex ids, nanosecond strings, kinds and status as numbers, typed attribute values', () => {
      const resource = { 'service.name': 'shop', 'cloud.provider': 'aws', 'faas.name': 'orders' }
      const span: RecordedSpan = {
        traceId: TRACE,
        spanId: 'b7ad6b7169203331',
        parentSpanId: CALLER,
        traceState: 'congo=t61rcWkgMzE',
        name: 'orders',
        kind: 'consumer',
        start: 1_700_000_000_123,
        end: 1_700_000_000_456.5,
        attributes: { text: 'a', yes: true, count: 3, ratio: 0.5 },
        error: { type: 'TypeError', message: 'bad' },
        resource,
      }
      const other: RecordedSpan = { ...span, spanId: '0000000000000001', parentSpanId: undefined, traceState: undefined, error: undefined, kind: 'producer', resource: { ...resource, 'faas.name': 'alerts' } }
      const request = exportRequest([span, other, { ...span, spanId: '0000000000000002', error: undefined }]) as unknown as Exported['body']
      expect(request.resourceSpans).to.have.length(2)
      const [first, second] = request.resourceSpans
      expect(first?.resource.attributes).to.deep.equal([
        { key: 'service.name', value: { stringValue: 'shop' } },
        { key: 'cloud.provider', value: { stringValue: 'aws' } },
        { key: 'faas.name', value: { stringValue: 'orders' } },
      ])
      expect(first?.scopeSpans[0]?.scope.name).to.equal('@polycloud/telemetry')
      expect(first?.scopeSpans[0]?.spans.map((one) => one.spanId)).to.deep.equal(['b7ad6b7169203331', '0000000000000002'])
      expect(first?.scopeSpans[0]?.spans[0]).to.deep.equal({
        traceId: TRACE,
        spanId: 'b7ad6b7169203331',
        parentSpanId: CALLER,
        traceState: 'congo=t61rcWkgMzE',
        name: 'orders',
        kind: 5,
        startTimeUnixNano: '1700000000123000000',
        endTimeUnixNano: '1700000000456500000',
        attributes: [
          { key: 'text', value: { stringValue: 'a' } },
          { key: 'yes', value: { boolValue: true } },
          { key: 'count', value: { intValue: 3 } },
          { key: 'ratio', value: { doubleValue: 0.5 } },
        ],
        status: { code: 2, message: 'bad' },
        events: [
          {
            name: 'exception',
            timeUnixNano: '1700000000456500000',
            attributes: [
              { key: 'exception.type', value: { stringValue: 'TypeError' } },
              { key: 'exception.message', value: { stringValue: 'bad' } },
            ],
          },
        ],
      })
      const producer = second?.scopeSpans[0]?.spans[0] as OtlpSpan
      expect(producer.kind).to.equal(4)
      expect(producer).to.not.have.property('parentSpanId')
      expect(producer).to.not.have.property('status')
    })

    it('writes times as nanoseconds without losing digits past 2^53', () => {
      expect(unixNano(1_765_152_000_000)).to.equal('1765152000000000000')
      expect(unixNano(1.25)).to.equal('1250000')
      expect(BigInt(unixNano(Date.now())) > 2n ** 53n).to.equal(true)
    })

    it('reads OTEL_EXPORTER_OTLP_HEADERS: key=value pairs, values URL-decoded, malformed members left out', () => {
      expect(parseHeaders('x-api-key=a%20b, authorization=Bearer%20t,=x,broken,bad=%E0%A4%A')).to.deep.equal({ 'x-api-key': 'a b', authorization: 'Bearer t' })
      expect(parseHeaders(undefined)).to.deep.equal({})
    })
  })

  describe('sampling', () => {
    it('keeps a W3C caller\'s decision, samples fresh and platform traces by the ratio', () => {
      const none = ratioSampler(0)
      const all = ratioSampler(1)
      const sampledCaller = parseTraceparent(`00-${TRACE}-${CALLER}-01`)
      const unsampledCaller = parseTraceparent(`00-${TRACE}-${CALLER}-00`)
      expect(none(TRACE, sampledCaller)).to.equal(true)
      expect(all(TRACE, unsampledCaller)).to.equal(false)
      // X-Ray marks a trace unsampled when Lambda's own tracing is off: the ratio decides.
      const xray = parseXRay('Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0')
      expect(all('5759e988bd862e3fe1be46a994272793', xray)).to.equal(true)
      expect(none(TRACE, undefined)).to.equal(false)
      // By the trace id's last 16 hex digits: about the ratio of many ids.
      const quarter = ratioSampler(0.25)
      expect(quarter('00000000000000000000000000000000'.slice(0, 16) + '1000000000000000', undefined)).to.equal(true)
      expect(quarter('0000000000000000' + 'c000000000000000', undefined)).to.equal(false)
      let kept = 0
      for (let i = 0; i < 4000; i++) {
        const random8 = (): string => Math.floor(Math.random() * 2 ** 32).toString(16).padStart(8, '0')
        if (quarter(random8() + random8() + random8() + random8(), undefined)) kept++
      }
      expect(kept).to.be.within(700, 1300)
    })

    it('refuses a ratio outside 0..1', () => {
      expect(() => ratioSampler(1.5)).to.throw(RangeError, /from 0 to 1/)
      expect(() => new OtlpTracer({ sampleRatio: Number.NaN })).to.throw(RangeError)
      expect(() => new OtlpTracer({ timeoutMs: 0 })).to.throw(RangeError)
    })

    it('records nothing of an unsampled trace, and its outgoing calls carry the unsampled flag', async () => {
      const { fetch, exports } = collector()
      setTracer(new OtlpTracer({ endpoint: 'http://127.0.0.1:4318/v1/traces', fetch }))
      const ctx = context()
      ctx.useRequest({ headers: new Headers({ traceparent: `00-${TRACE}-${CALLER}-00` }) })
      const span = outgoing(ctx, 'producer', 'send orders')
      expect(span.trace.traceparent).to.equal(`00-${TRACE}-${ctx.trace.spanId}-00`)
      span.end()
      expect(ctx.end('http', { status: 200 })).to.equal(undefined)
      expect(exports).to.deep.equal([])
    })
  })

  describe('spans of a chain', () => {
    it('an HTTP invocation, its send (producer), and the worker that receives it (consumer) form one trace with the right parents', async () => {
      const { fetch, exports } = collector()
      const tracer = new OtlpTracer({ fetch, serviceName: 'shop', resource: { 'deployment.environment.name': 'test' } })
      setTracer(tracer)
      const resources = memoryResources()
      const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318/', OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=secret' }
      const producer = context({ functionName: 'checkout', env })
      const request = new TestRequest({ method: 'POST', headers: { traceparent: `00-${TRACE}-${CALLER}-01`, tracestate: 'congo=t61rcWkgMzE' } })
      producer.useRequest(request)
      const handler = withResources(http(async () => (await queue('orders').send('{"id":1}'), { status: 202 })), resources, ['orders'])
      const response = await runHttp(handler, request, producer)
      expect(response.status).to.equal(202)
      await producer.end('http', { status: 202 })
      expect(exports).to.have.length(1)
      expect(exports[0]?.url).to.equal('http://127.0.0.1:4318/v1/traces')
      expect(exports[0]?.headers).to.include({ 'x-api-key': 'secret', 'content-type': 'application/json' })
      const [send_, server] = spansOf(exports)
      expect(server).to.include({ traceId: TRACE, spanId: producer.trace.spanId, parentSpanId: CALLER, name: 'checkout', kind: 2, traceState: 'congo=t61rcWkgMzE' })
      expect(attribute(server as OtlpSpan, 'http.response.status_code')).to.equal(202)
      expect(attribute(server as OtlpSpan, 'faas.trigger')).to.equal('http')
      expect(attribute(server as OtlpSpan, 'faas.invocation_id')).to.equal('req-1')
      expect(send_).to.include({ traceId: TRACE, parentSpanId: producer.trace.spanId, name: 'send orders', kind: 4 })
      expect(attribute(send_ as OtlpSpan, 'messaging.destination.name')).to.equal('orders')
      expect(attribute(send_ as OtlpSpan, 'messaging.operation.type')).to.equal('send')
      const resource = exports[0]?.body.resourceSpans[0]?.resource.attributes.map(({ key, value }) => [key, Object.values(value)[0]])
      expect(resource).to.deep.include.members([
        ['service.name', 'shop'],
        ['cloud.provider', 'aws'],
        ['faas.name', 'checkout'],
        ['deployment.environment.name', 'test'],
      ])
      // The message carries the producer span: the worker's span is its child.
      let worker: Context | undefined
      const delivered = await send(queueHandler(async (_message, ctx) => void (worker = ctx)), resources.sent('orders')[0] as never, { env })
      expect(delivered.failed, JSON.stringify(delivered.logs)).to.deep.equal([])
      expect(worker?.trace).to.include({ traceId: TRACE, parentSpanId: (send_ as OtlpSpan).spanId })
      await (worker as PortableContext).end('queue')
      const consumer = spansOf(exports.slice(1))[0]
      expect(consumer).to.include({ traceId: TRACE, spanId: worker?.trace.spanId, parentSpanId: (send_ as OtlpSpan).spanId, kind: 5 })
      expect(attribute(consumer as OtlpSpan, 'faas.trigger')).to.equal('pubsub')
      expect(tracer.queued).to.equal(0)
    })

    it('a failed call and a failed invocation carry an error status', async () => {
      const { fetch, exports } = collector()
      setTracer(new OtlpTracer({ endpoint: 'http://127.0.0.1:4318/v1/traces', fetch }))
      const ctx = context()
      const call = outgoing(ctx, 'client', 'GET')
      call.end(new TypeError('refused'), { 'http.response.status_code': 503 })
      call.end() // a second end changes nothing
      await ctx.end('queue', { error: new Error('boom') })
      const [client, invocation] = spansOf(exports)
      expect(client?.status).to.deep.equal({ code: 2, message: 'refused' })
      expect(attribute(client as OtlpSpan, 'http.response.status_code')).to.equal(503)
      expect(invocation?.status).to.deep.equal({ code: 2, message: 'boom' })
      expect(spansOf(exports)).to.have.length(2)
    })
  })

  describe('export', () => {
    it('never fails the invocation: a refused export, a failing fetch, a hanging collector (bounded by the timeout), no endpoint', async () => {
      const lines: string[] = []
      const refusing = collector(503)
      const cases: Array<{ tracer: OtlpTracer; env?: Record<string, string> }> = [
        { tracer: new OtlpTracer({ endpoint: 'http://127.0.0.1:4318/v1/traces', fetch: refusing.fetch }) },
        { tracer: new OtlpTracer({ endpoint: 'http://127.0.0.1:4318/v1/traces', fetch: (() => Promise.reject(new TypeError('fetch failed'))) as typeof fetch }) },
        { tracer: new OtlpTracer({ endpoint: 'http://127.0.0.1:4318/v1/traces', fetch: (() => { throw new TypeError('sync') }) as typeof fetch }) },
        {
          tracer: new OtlpTracer({
            endpoint: 'http://127.0.0.1:4318/v1/traces',
            timeoutMs: 50,
            fetch: ((_input: RequestInfo | URL, init?: RequestInit) =>
              new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)))) as typeof fetch,
          }),
        },
        { tracer: new OtlpTracer({}) },
      ]
      for (const { tracer } of cases) {
        setTracer(tracer)
        const ctx = context({ lines })
        await ctx.end('http', { status: 200 })
        expect(tracer.queued).to.equal(0)
      }
      expect(refusing.exports).to.have.length(1)
      const warnings = lines.map((line) => JSON.parse(line) as { level: string; message: string }).filter((line) => line.level === 'warn').map((line) => line.message)
      expect(warnings).to.deep.equal([
        'telemetry: the collector refused the spans',
        'telemetry: the spans could not be exported',
        'telemetry: the spans could not be exported',
        'telemetry: the spans could not be exported',
        'telemetry: no OTLP endpoint (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT): spans dropped',
      ])
    })

    it('on Node, posts through node:http to the collector (no fetch): JSON body, headers; a collector that never answers is abandoned after the timeout', async () => {
      const received: Array<{ url: string | undefined; type: string | undefined; key: string | undefined; body: string }> = []
      const held: IncomingMessage[] = []
      const server: Server = createServer((request, response) => {
        if (request.url === '/hang/v1/traces') return void held.push(request)
        let body = ''
        request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')))
        request.on('end', () => {
          received.push({ url: request.url, type: request.headers['content-type'], key: request.headers['x-api-key'] as string | undefined, body })
          response.writeHead(200).end('{}')
        })
      })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      const previousFetch = globalThis.fetch
      globalThis.fetch = (() => Promise.reject(new Error('fetch used'))) as typeof fetch
      try {
        const lines: string[] = []
        setTracer(new OtlpTracer({ timeoutMs: 200 }))
        for (let i = 0; i < 2; i++) await context({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: base, OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=k' }, lines }).end('http', { status: 200 })
        expect(received).to.have.length(2)
        expect(received[0]).to.include({ url: '/v1/traces', type: 'application/json', key: 'k' })
        expect((JSON.parse(received[1]?.body ?? '{}') as Exported['body']).resourceSpans[0]?.scopeSpans[0]?.spans[0]?.name).to.equal('orders')
        setTracer(new OtlpTracer({ timeoutMs: 200 }))
        await context({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: `${base}/hang` }, lines }).end('http', { status: 200 })
        expect(held).to.have.length(1)
        expect(lines.join('\n')).to.include('the spans could not be exported').and.include('no answer within 200 ms')
      } finally {
        globalThis.fetch = previousFetch
        server.closeAllConnections()
        await new Promise((resolve) => server.close(resolve))
      }
    })

    it('keeps at most maxQueue spans waiting, and says how many it dropped', async () => {
      const { fetch, exports } = collector()
      const lines: string[] = []
      const tracer = new OtlpTracer({ endpoint: 'http://127.0.0.1:4318/v1/traces', fetch, maxQueue: 3 })
      setTracer(tracer)
      const ctx = context({ lines })
      for (let i = 0; i < 5; i++) outgoing(ctx, 'client', `call ${i}`).end()
      await ctx.end('http', { status: 200 })
      expect(spansOf(exports).map((span) => span.name)).to.deep.equal(['call 0', 'call 1', 'call 2'])
      expect(lines.join('\n')).to.include('the span queue was full').and.include('"dropped":3')
    })
  })

  describe('OpenTelemetry API', () => {
    it('makes the invocation\'s span the active one while the handler runs, across awaits', async () => {
      const { fetch } = collector()
      const tracer = installTelemetry({ endpoint: 'http://127.0.0.1:4318/v1/traces', fetch })
      const ctx = context()
      const seen = await tracer.activate(ctx, async () => {
        const before = otelTrace.getActiveSpan()?.spanContext()
        await new Promise((resolve) => setTimeout(resolve, 1))
        return [before, otelTrace.getActiveSpan()?.spanContext()]
      })
      for (const spanContext of seen) expect(spanContext).to.include({ traceId: ctx.trace.traceId, spanId: ctx.trace.spanId, traceFlags: 1 })
      expect(otelTrace.getActiveSpan()).to.equal(undefined)
      await ctx.end('http', { status: 200 })
    })
  })
})
