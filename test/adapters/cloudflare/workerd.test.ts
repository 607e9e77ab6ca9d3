// End to end in the real runtime: the test Worker (workerd/entry.ts) is bundled with esbuild and run in workerd
// through Miniflare, bound to 127.0.0.1 on a random port, without the request.cf fetch (cf: false).
import { expect } from 'chai'
import { build } from 'esbuild'
import { Miniflare } from 'miniflare'
import { fileURLToPath } from 'node:url'
import { r2Body } from './helpers.ts'

const ENTRY = fileURLToPath(new URL('./workerd/entry.ts', import.meta.url))

interface LogLine {
  level: string
  message: string
}

describe('cloudflare adapter in workerd (Miniflare)', function () {
  this.timeout(20_000)
  let mf: Miniflare
  let logs: LogLine[] = []

  /** Waits until every line logged so far has arrived (the Worker logs FLUSH when asked; stdout keeps order). */
  async function flushLogs(): Promise<void> {
    const flushes = (): number => logs.filter((line) => line.message === 'FLUSH').length
    const before = flushes()
    const response = await mf.dispatchFetch('http://localhost/flush')
    expect(response.status).to.equal(204)
    for (let waited = 0; flushes() === before; waited += 5) {
      if (waited > 5_000) throw new Error('the FLUSH log line did not arrive within 5 s')
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }

  /** The EVENT lines the handlers logged during this test, parsed. */
  async function takeEvents(): Promise<Array<Record<string, unknown>>> {
    await flushLogs()
    return logs
      .filter((line) => line.message.startsWith('EVENT '))
      .map((line) => JSON.parse(line.message.slice(6)) as Record<string, unknown>)
  }

  /** The adapter's own JSON log lines during this test (summary lines apart: see takeSummaries). */
  async function takeAdapterLogs(): Promise<Array<Record<string, unknown> & { level: string; message: string }>> {
    return (await jsonLines()).filter((line) => line.polycloud === undefined)
  }

  /** The summary lines (`"polycloud":"invocation"` or `"message"`) written during this test. */
  async function takeSummaries(): Promise<Array<Record<string, unknown> & { level: string; message: string }>> {
    // Without the summaries of the /flush requests themselves (the only route that answers 204).
    return (await jsonLines()).filter((line) => line.polycloud !== undefined && !(line.kind === 'http' && line.status === 204))
  }

  async function jsonLines(): Promise<Array<Record<string, unknown> & { level: string; message: string }>> {
    await flushLogs()
    const lines = logs.filter((line) => line.message.startsWith('{')).map((line) => JSON.parse(line.message))
    return lines as Array<Record<string, unknown> & { level: string; message: string }>
  }

  before(async () => {
    const bundle = await build({
      entryPoints: [ENTRY],
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      target: 'es2022',
      write: false,
      logLevel: 'silent',
    })
    const script = bundle.outputFiles[0]?.text ?? ''
    expect(script).to.not.match(/\bnode:/, 'the bundle must not import Node built-ins')
    mf = new Miniflare({
      modules: true,
      script,
      compatibilityDate: '2026-04-01',
      host: '127.0.0.1',
      port: 0,
      cf: false,
      bindings: { GREETING: 'Hello', LIMIT: 5 },
      queueProducers: { JOBS: 'jobs' },
      handleStructuredLogs: ({ level, message }: LogLine) => {
        logs.push({ level, message })
      },
    })
    await mf.ready
  })

  after(async () => {
    await mf?.dispose()
  })

  beforeEach(() => {
    logs = []
  })

  describe('fetch', () => {
    it('gives the handler the request, cf-ray as request id, string vars as env and the bindings as native.extra', async () => {
      const response = await mf.dispatchFetch('http://localhost/info?tag=a&tag=b&q=one+two', {
        headers: { 'cf-ray': '8f00aa11bb22cc33-AMS', cookie: 'sid=x%20y; theme=dark' },
      })
      expect(response.status).to.equal(200)
      const info = (await response.json()) as Record<string, unknown>
      expect(info.method).to.equal('GET')
      expect(info.url).to.equal('http://localhost/info?tag=a&tag=b&q=one+two')
      expect(info.query).to.deep.equal([
        ['tag', 'a'],
        ['tag', 'b'],
        ['q', 'one two'],
      ])
      expect(info.tags).to.deep.equal(['a', 'b'])
      expect(info.requestId).to.equal('8f00aa11bb22cc33-AMS')
      expect(info.env).to.deep.equal({ GREETING: 'Hello' })
      expect(info.bindings).to.deep.equal(['GREETING', 'JOBS', 'LIMIT'])
      expect(info.ip).to.equal('127.0.0.1')
      expect(info.cookies).to.deep.equal({ sid: 'x y', theme: 'dark' })
      expect(info.deadlineIn).to.be.within(29_000, 30_000)
      expect(info.sameRequest).to.equal(true)
      // No nodejs_compat: neither `process` nor `Buffer` exists, and the adapter ran without them.
      expect(info.runtime).to.deep.equal({ process: false, Buffer: false })
    })

    it('uses a random UUID as request id when there is no cf-ray', async () => {
      const ids = await Promise.all(
        [1, 2].map(async () => ((await (await mf.dispatchFetch('http://localhost/info')).json()) as { requestId: string }).requestId),
      )
      for (const id of ids) expect(id).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      expect(ids[0]).to.not.equal(ids[1])
    })

    it('round-trips random binary bytes exactly', async () => {
      const bytes = crypto.getRandomValues(new Uint8Array(65_536))
      const response = await mf.dispatchFetch('http://localhost/echo', {
        method: 'POST',
        body: bytes,
        headers: { 'content-type': 'application/octet-stream' },
      })
      expect(response.status).to.equal(201)
      expect(response.headers.get('content-type')).to.equal('application/octet-stream')
      expect(new Uint8Array(await response.arrayBuffer())).to.deep.equal(bytes)
    })

    it('sends two Set-Cookie headers as two', async () => {
      const response = await mf.dispatchFetch('http://localhost/cookies')
      expect(response.headers.getSetCookie()).to.deep.equal(['a=1; Path=/', 'b=2; Path=/; HttpOnly'])
      expect(await response.text()).to.equal('ok')
    })

    it('parses a JSON body', async () => {
      const response = await mf.dispatchFetch('http://localhost/parse', { method: 'POST', body: '{"a":[1,"é"]}' })
      expect(await response.json()).to.deep.equal({ parsed: { a: [1, 'é'] } })
    })

    it('answers invalid JSON with a 400 and no stack trace', async () => {
      const response = await mf.dispatchFetch('http://localhost/parse', { method: 'POST', body: '{"a":' })
      expect(response.status).to.equal(400)
      expect(response.headers.get('content-type')).to.equal('application/json')
      const text = await response.text()
      const body = JSON.parse(text) as { error: string }
      expect(Object.keys(body)).to.deep.equal(['error'])
      expect(body.error).to.match(/^Invalid JSON in request body: /)
      expect(text).to.not.match(/\bat .*(\.js|\.ts|<anonymous>)/)
    })

    it('answers an HttpError with its status', async () => {
      const response = await mf.dispatchFetch('http://localhost/gone')
      expect(response.status).to.equal(410)
      expect(await response.json()).to.deep.equal({ error: 'note was deleted' })
      expect(await takeAdapterLogs()).to.deep.equal([])
      // A 4xx is the client's: the invocation went well, and its summary line says so.
      expect((await takeSummaries()).map((line) => [line.outcome, line.status, line.kind])).to.deep.equal([['ok', 410, 'http']])
    })

    it('answers a handler throw with a 500 that names only the request id, and logs the error', async () => {
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
      const response = await mf.dispatchFetch('http://localhost/throw', { headers: { 'cf-ray': 'ray-500', traceparent } })
      expect(response.status).to.equal(500)
      const text = await response.text()
      expect(JSON.parse(text)).to.deep.equal({ error: 'Internal Server Error', requestId: 'ray-500' })
      expect(text).to.not.include('secret')
      const [line, ...rest] = await takeAdapterLogs()
      expect(rest).to.deep.equal([])
      expect(line?.level).to.equal('error')
      expect(line?.message).to.equal('handler failed')
      expect(line?.requestId).to.equal('ray-500')
      expect((line?.error as { message: string }).message).to.equal('secret detail: token=abc123')
      // The request's traceparent is continued: the error line and the summary line carry its trace id.
      expect(line).to.include({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentSpanId: '00f067aa0ba902b7' })
      const summaries = await takeSummaries()
      expect(summaries.map((entry) => [entry.level, entry.outcome, entry.status, entry.traceId, entry.spanId])).to.deep.equal([
        ['error', 'error', 500, '4bf92f3577b34da6a3ce929d0e0e4736', line?.spanId],
      ])
    })

    it('streams a ReadableStream body as it is produced', async () => {
      const start = Date.now()
      const response = await mf.dispatchFetch('http://localhost/stream')
      expect(response.headers.get('content-type')).to.equal('text/event-stream')
      const reader = (response.body as ReadableStream<Uint8Array>).getReader()
      const decoder = new TextDecoder()
      const arrivals: Array<[string, number]> = []
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        arrivals.push([decoder.decode(value), Date.now() - start])
      }
      expect(arrivals.map(([text]) => text).join('')).to.equal('data: 0\n\ndata: 1\n\ndata: 2\n\n')
      expect(arrivals.length).to.be.at.least(3)
      const first = arrivals[0]?.[1] ?? 0
      const last = arrivals[arrivals.length - 1]?.[1] ?? 0
      // Buffered, every chunk would arrive together after ~300 ms; streamed, the first one comes ~300 ms earlier.
      expect(last - first).to.be.at.least(250)
    })

    it('serves a Hono app through fetchApp with c.env as the Workers env', async () => {
      const response = await mf.dispatchFetch('http://localhost/hono/greet/Ada')
      expect(await response.json()).to.deep.equal({ greeting: 'Hello, Ada', limit: 5, queue: 'function' })
    })
  })

  describe('scheduled', () => {
    it('runs the handler with the schedule event', async () => {
      const worker = await mf.getWorker()
      const result = await worker.scheduled({ cron: '*/5 * * * *', scheduledTime: new Date(1700000000000) })
      expect(result).to.deep.equal({ outcome: 'ok', noRetry: false })
      const [event, ...rest] = await takeEvents()
      expect(rest).to.deep.equal([])
      expect(event).to.include({
        kind: 'schedule',
        id: '*/5 * * * *@2023-11-14T22:13:20.000Z',
        time: '2023-11-14T22:13:20.000Z',
        source: '*/5 * * * *',
        schedule: '*/5 * * * *',
      })
      expect(event?.deadlineIn).to.be.within(899_000, 900_000)
      expect(event?.requestId).to.match(/^[0-9a-f-]{36}$/)
    })

    it('reports a failing handler as an exception outcome', async () => {
      const worker = await mf.getWorker()
      const result = await worker.scheduled({ cron: '13 13 13 * *', scheduledTime: new Date(1700000000000) })
      expect(result).to.deep.equal({ outcome: 'exception', noRetry: false })
      const failures = (await takeAdapterLogs()).map((line) => [line.level, line.message, line.eventId])
      expect(failures).to.deep.equal([['error', 'event failed', '13 13 13 * *@2023-11-14T22:13:20.000Z']])
    })
  })

  describe('queue', () => {
    it('acks every message but the failed one, which alone is retried', async () => {
      const worker = await mf.getWorker()
      const bytes = new Uint8Array([0, 1, 2, 250, 251, 252, 253, 254, 255])
      const timestamp = new Date('2024-05-24T19:36:44.379Z')
      const result = await worker.queue('jobs', [
        { id: 'm1', timestamp, body: { order: 1 }, attempts: 1 },
        { id: 'm2', timestamp, body: { order: 2, fail: true }, attempts: 3 },
        { id: 'm3', timestamp, body: 'plain text', attempts: 1 },
        { id: 'm4', timestamp, body: bytes.buffer, attempts: 1 },
      ])
      expect(result).to.deep.equal({
        outcome: 'ok',
        ackAll: false,
        retryBatch: { retry: false },
        explicitAcks: ['m1', 'm3', 'm4'],
        retryMessages: [{ msgId: 'm2' }],
      })
      const events = await takeEvents()
      expect(events.map((e) => [e.id, e.queue, e.source, e.attempt, e.time])).to.deep.equal([
        ['m1', 'jobs', 'jobs', 1, '2024-05-24T19:36:44.379Z'],
        ['m2', 'jobs', 'jobs', 3, '2024-05-24T19:36:44.379Z'],
        ['m3', 'jobs', 'jobs', 1, '2024-05-24T19:36:44.379Z'],
        ['m4', 'jobs', 'jobs', 1, '2024-05-24T19:36:44.379Z'],
      ])
      expect(events[0]?.body).to.equal('{"order":1}')
      expect(events[2]?.body).to.equal('plain text')
      // An ArrayBuffer body (what a `bytes` message is in workerd) keeps its bytes.
      expect(events[3]?.bytes).to.deep.equal([0, 1, 2, 250, 251, 252, 253, 254])
      expect(events[3]?.length).to.equal(9)
      const failures = (await takeAdapterLogs()).map((line) => [line.level, line.message, line.eventId])
      expect(failures).to.deep.equal([['error', 'event failed', 'm2']])
      // One summary line for the batch: four messages, one failed (an error line, which log-based metrics count).
      const summaries = await takeSummaries()
      expect(summaries.map((line) => [line.level, line.kind, line.outcome, line.events, line.failed])).to.deep.equal([['error', 'queue', 'error', 4, 1]])
    })

    it('turns R2 event notifications into storage events, retrying only the failed and malformed messages', async () => {
      const worker = await mf.getWorker()
      const timestamp = new Date('2024-05-24T19:36:45.000Z')
      const poison = { ...r2Body('r2-put-object'), object: { key: 'poison', size: 1, eTag: 'x' } }
      const result = await worker.queue('bucket-events', [
        { id: 'n1', timestamp, body: r2Body('r2-put-object'), attempts: 1 },
        { id: 'n2', timestamp, body: r2Body('r2-copy-object'), attempts: 1 },
        { id: 'n3', timestamp, body: r2Body('r2-delete-object'), attempts: 1 },
        { id: 'n4', timestamp, body: r2Body('r2-lifecycle-deletion'), attempts: 1 },
        { id: 'n5', timestamp, body: poison, attempts: 1 },
        { id: 'n6', timestamp, body: { unexpected: true }, attempts: 1 },
      ])
      expect(result).to.deep.equal({
        outcome: 'ok',
        ackAll: false,
        retryBatch: { retry: false },
        explicitAcks: ['n1', 'n2', 'n3', 'n4'],
        retryMessages: [{ msgId: 'n5' }, { msgId: 'n6' }],
      })
      const events = await takeEvents()
      expect(events.map((e) => [e.id, e.type, e.action, e.bucket, e.key, e.size, e.etag, e.time])).to.deep.equal([
        ['n1', 'created', 'PutObject', 'my-bucket', 'my-original-object', 65536, 'c846ff7a18f28c2e262116d6e8719ef0', '2024-05-24T19:36:44.379Z'],
        ['n2', 'created', 'CopyObject', 'my-bucket', 'my-new-object', 65536, 'c846ff7a18f28c2e262116d6e8719ef0', '2024-05-24T19:36:44.379Z'],
        ['n3', 'deleted', 'DeleteObject', 'my-bucket', 'my-original-object', undefined, undefined, '2024-05-24T19:36:44.379Z'],
        ['n4', 'deleted', 'LifecycleDeletion', 'my-bucket', 'my-new-object', undefined, undefined, '2024-05-24T19:36:44.379Z'],
        ['n5', 'created', 'PutObject', 'my-bucket', 'poison', 1, 'x', '2024-05-24T19:36:44.379Z'],
      ])
      const failures = (await takeAdapterLogs()).map((line) => [line.message, line.eventId ?? line.recordId])
      expect(failures).to.deep.equal([
        ['event failed', 'n5'],
        ['record could not be translated', 'n6'],
      ])
    })
  })
})
