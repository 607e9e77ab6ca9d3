/**
 * The OpenTelemetry opt-in under `serverless offline` (the demo with `--param=telemetry=true`): a local OTLP/HTTP
 * receiver on 127.0.0.1 gets the spans of the IoT chain as one trace with the right parents: the HTTP server span of
 * POST /telemetry (a child of the client's traceparent) -> its `send readings` producer span -> the readings worker's
 * consumer span -> its `publish alerts` producer span -> the alerts subscriber's consumer span (Cloudflare, which has
 * no topics: the chain ends at the readings worker).
 */
import { expect } from 'chai'
import { randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startProcess } from 'serverless-polycloud/local'
import { join } from 'node:path'
import { freePort, ROOT, startOffline, startServerless } from '../helpers/serverless.ts'
import { startAzureHost } from '../helpers/azure.ts'
import { waitFor } from '../portability/target.ts'
import { attributeOf, SPAN_KIND, type OtlpSpan } from '../helpers/otlp.ts'

type Span = OtlpSpan & { resource: Record<string, unknown> }

const { server: SERVER, producer: PRODUCER, consumer: CONSUMER } = SPAN_KIND

/** An OTLP/HTTP JSON receiver: every span posted to /v1/traces, with its resource's attributes. */
async function receiver(): Promise<{ url: string; spans: Span[]; requests: Array<{ path: string; type: string | undefined }>; close(): Promise<void> }> {
  const spans: Span[] = []
  const requests: Array<{ path: string; type: string | undefined }> = []
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      requests.push({ path: `${request.method} ${request.url}`, type: request.headers['content-type'] })
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          resourceSpans: Array<{ resource: { attributes: OtlpSpan['attributes'] }; scopeSpans: Array<{ spans: OtlpSpan[] }> }>
        }
        for (const { resource, scopeSpans } of body.resourceSpans) {
          const attributes = Object.fromEntries(resource.attributes.map(({ key, value }) => [key, Object.values(value)[0]]))
          for (const scope of scopeSpans) for (const span of scope.spans) spans.push({ ...span, resource: attributes })
        }
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}')
      } catch {
        response.writeHead(400).end()
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

const attribute = attributeOf

/** Sends a reading that raises an alert, in a trace of the test's own, and checks the chain's spans. */
async function followChain(url: string, collector: Awaited<ReturnType<typeof receiver>>, provider: string, topics = true): Promise<void> {
  const traceId = randomBytes(16).toString('hex')
  const caller = randomBytes(8).toString('hex')
  const device = `otel-${randomBytes(4).toString('hex')}`
  const response = await fetch(`${url}/telemetry`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'local-device-key', traceparent: `00-${traceId}-${caller}-01` },
    body: JSON.stringify({ device, id: 'r-1', time: new Date().toISOString(), value: 35, unit: 'C' }),
  })
  expect(response.status, await response.clone().text()).to.equal(202)
  await response.body?.cancel()
  const ofTrace = (): Span[] => collector.spans.filter((span) => span.traceId === traceId)
  const summary = (): string => JSON.stringify(collector.spans.map(({ traceId: id, name, kind, spanId, parentSpanId, resource }) => ({ id, name, kind, spanId, parentSpanId, fn: resource['faas.name'] })))
  // The last span of the chain: the alerts subscriber's; without topics (Cloudflare), the readings worker's.
  const last = await waitFor(
    `the ${topics ? 'alerts subscriber' : 'readings worker'}'s span in trace ${traceId}`,
    () => ofTrace().find((span) => span.kind === CONSUMER && String(span.resource['faas.name']).includes(topics ? 'alerts' : 'readings')),
    120_000,
    250,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; spans received: ${summary()}`)
  })
  const spans = ofTrace()
  const byId = new Map(spans.map((span) => [span.spanId, span]))
  const server = spans.find((span) => span.kind === SERVER) as Span
  expect(server, JSON.stringify(spans)).to.not.equal(undefined)
  expect(server.parentSpanId).to.equal(caller)
  expect(String(server.resource['faas.name'])).to.include('telemetry')
  expect(server.resource).to.include({ 'cloud.provider': provider, 'service.name': 'polycloud-demo' })
  expect(attribute(server, 'http.response.status_code')).to.equal(202)
  expect(attribute(server, 'faas.trigger')).to.equal('http')
  const send = spans.find((span) => span.name === 'send readings') as Span
  expect(send).to.include({ kind: PRODUCER, parentSpanId: server.spanId })
  expect(attribute(send, 'messaging.destination.name')).to.equal('readings')
  const worker = spans.find((span) => span.kind === CONSUMER && span.parentSpanId === send.spanId) as Span
  expect(worker, JSON.stringify(spans.map(({ name, kind, spanId, parentSpanId }) => ({ name, kind, spanId, parentSpanId })))).to.not.equal(undefined)
  expect(String(worker.resource['faas.name'])).to.include('readings')
  if (topics) {
    const publish = spans.find((span) => span.name === 'publish alerts') as Span
    expect(publish).to.include({ kind: PRODUCER, parentSpanId: worker.spanId })
    expect(last.parentSpanId).to.equal(publish.spanId)
  } else {
    expect(last.spanId).to.equal(worker.spanId)
  }
  // The worker's store calls are its client spans.
  expect(spans.filter((span) => span.parentSpanId === worker.spanId && span.name.endsWith(' devices')).length).to.be.above(0)
  // Every span of the trace hangs from the client's span through its parents, and ends after it starts.
  for (const span of spans) {
    let at: Span | undefined = span
    for (let hops = 0; at !== undefined && at.parentSpanId !== caller && hops < 20; hops++) at = byId.get(at.parentSpanId ?? '')
    expect(at?.parentSpanId, `${span.name} reaches the caller`).to.equal(caller)
    expect(BigInt(span.endTimeUnixNano) >= BigInt(span.startTimeUnixNano)).to.equal(true)
  }
  expect(collector.requests.every((request) => request.path === 'POST /v1/traces' && request.type === 'application/json')).to.equal(true)
}

/** Where a provider's `serverless offline` serves the demo (routes' base URL), and how to stop it. */
type Started = { url: string; stop(): Promise<void> }

/** One provider's suite: the demo started with the opt-in pointing at a fresh receiver, the chain followed. */
function onProvider(title: string, provider: string, topics: boolean, start: (params: readonly string[], endpoint: string) => Promise<Started>): void {
  describe(title, () => {
    let collector: Awaited<ReturnType<typeof receiver>>
    let started: Started | undefined
    before(async () => {
      collector = await receiver()
      started = await start(['--param=telemetry=true', `--param=otlpEndpoint=${collector.url}`], collector.url)
    })
    after(async () => {
      await started?.stop()
      await collector?.close()
    })

    const chain = topics ? 'POST /telemetry -> send readings -> readings -> publish alerts -> alerts' : 'POST /telemetry -> send readings -> readings (no topics here)'
    it(`${chain}: one trace, each span the child of the one before`, async () => {
      await followChain(started?.url ?? '', collector, provider, topics)
    })
  })
}

describe('OpenTelemetry opt-in: spans of a chain to a local OTLP receiver', function () {
  this.timeout(300_000)

  onProvider('AWS (serverless offline)', 'aws', true, async (_params, endpoint) => {
    const offline = await startOffline({ routes: 'http-api', telemetry: 'true', otlpEndpoint: endpoint }, 150_000, undefined, undefined, { POLYCLOUD_OFFLINE_RETRY_SECONDS: '1' })
    return { url: offline.url, stop: offline.stop }
  })

  onProvider('Google (serverless offline)', 'gcp', true, async (params) => {
    const offline = await startServerless(['offline', '--port', '0', ...params], { env: { POLYCLOUD_PROVIDER: 'google', POLYCLOUD_OFFLINE_RETRY_SECONDS: '1' }, timeoutMs: 150_000 })
    const url = /routes at (http:\/\/\S+):/.exec(offline.stderr())?.[1] ?? ''
    if (url === '') {
      await offline.stop()
      throw new Error(`serverless offline printed no routes URL:\n${offline.stderr()}`)
    }
    return { url, stop: offline.stop }
  })

  onProvider('Azure (serverless offline: the Functions host, azurite, the Service Bus stand-in)', 'azure', true, async (params) => {
    const host = await startAzureHost({ args: params, timeoutMs: 180_000 })
    return { url: `${host.url}/api`, stop: host.stop }
  })

  onProvider('Cloudflare (serverless offline, workerd)', 'cloudflare', false, async (params) => {
    const port = await freePort()
    const offline = await startProcess(process.execPath, [join(ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js'), 'offline', '--port', String(port), ...params], {
      ready: /Server ready: /,
      env: { POLYCLOUD_PROVIDER: 'cloudflare', SLS_TELEMETRY_DISABLED: '1' },
      cwd: ROOT,
      name: 'serverless offline (cloudflare)',
      timeoutMs: 150_000,
    })
    return { url: `http://127.0.0.1:${port}`, stop: () => offline.stop() }
  })
})
