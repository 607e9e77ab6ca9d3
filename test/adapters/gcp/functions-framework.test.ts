/**
 * End to end through the real Functions Framework 5.0.5: handlers are registered with `gcp.http` / `gcp.cloudEvent`
 * (which call FF's own `http` / `cloudEvent`), served by FF's `getTestServer` on 127.0.0.1 and called with fetch.
 */
import { randomBytes } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import { expect } from 'chai'
import {
  HttpError,
  binary,
  changes,
  cloudEvent,
  http,
  json,
  queue,
  storage,
  stream,
  text,
  topic,
  type ChangeEvent,
  type CloudEvent,
  type Context,
  type QueueMessage,
  type StorageEvent,
  type TopicMessage,
} from '@polycloud/core'
import {
  createCloudEventFunction,
  createHttpFunction,
  gcp,
  gcpDeadline,
  gcpPubSubQueue,
  gcpSources,
  legacyToCloudEvent,
  toCloudEventFunction,
  toHttpFunction,
  type GcpCloudEvent,
  type LegacyEvent,
} from '@polycloud/gcp'
import { fixture, fixturePaths } from '../../helpers/fixtures.ts'
import { binaryHeaders, captureOutput, deferred, published, serve, withEnv, withEnvAsync, type TestServer } from './support.ts'
import { encodeDocumentEventData } from './protobuf-encoder.ts'

describe('gcp/functions-framework (end to end through the Functions Framework)', function () {
  this.timeout(10000)

  describe('HTTP functions', () => {
    let server: TestServer
    let output: ReturnType<typeof captureOutput>
    const release = deferred()

    before(async () => {
      gcp.http(
        'pcHttp',
        http(async (request, context: Context) => {
          switch (request.path) {
            case '/echo':
              return json({
                method: request.method,
                url: request.url,
                query: [...request.query],
                contentType: request.headers.get('content-type'),
                contentEncoding: request.headers.get('content-encoding'),
                body: await request.json(),
                ip: request.ip,
                requestId: context.requestId,
                provider: context.provider,
                functionName: context.functionName,
                remaining: context.remainingTime(),
              })
            case '/bytes':
              return binary(await request.bytes())
            case '/text':
              return text(await request.text())
            case '/cookies':
              return { status: 201, headers: { 'set-cookie': ['a=1; Path=/', 'b=2; HttpOnly'], 'x-multi': 'one' }, body: 'ok' }
            case '/throw':
              throw new Error('database password is hunter2')
            case '/http-error':
              throw new HttpError(422, 'name is required', { headers: { 'x-reason': 'validation' } })
            case '/bad-header':
              return { headers: { 'x-bad': 'line\nbreak' }, body: 'never' }
            case '/log':
              context.log.info('hello', { n: 1 })
              return text('logged')
            case '/stream':
              return stream(
                new ReadableStream<Uint8Array>({
                  async start(controller) {
                    controller.enqueue(new TextEncoder().encode('first;'))
                    // The rest comes only once the client has received the first chunk: proof that it streams.
                    await release.promise
                    controller.enqueue(new TextEncoder().encode('second;'))
                    controller.close()
                  },
                }),
                { contentType: 'text/plain' },
              )
            case '/stream-fails-late': {
              let sent = false
              return stream(
                new ReadableStream<Uint8Array>({
                  pull(controller) {
                    if (sent) return
                    sent = true
                    controller.enqueue(new TextEncoder().encode('partial'))
                    setTimeout(() => controller.error(new Error('upstream died')), 20)
                  },
                }),
              )
            }
            case '/stream-fails-early':
              return stream(
                new ReadableStream<Uint8Array>({
                  pull(controller) {
                    controller.error(new Error('no data today'))
                  },
                }),
              )
            default:
              return json({ path: request.path }, { status: 404 })
          }
        }),
      )
      server = await serve('pcHttp')
    })

    beforeEach(() => {
      output = captureOutput()
    })

    afterEach(() => output.restore())

    after(async () => {
      release.resolve()
      await server.close()
    })

    it('passes method, URL, raw query, headers, JSON body, ip and request id; writes status, headers and JSON', async () => {
      const response = await fetch(`${server.url}/echo?a=1&a=2&b=x%20y`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https', 'function-execution-id': 'exec-42' },
        body: JSON.stringify({ hello: 'world', n: [1, 2] }),
      })
      expect(response.status).to.equal(200)
      expect(response.headers.get('content-type')).to.equal('application/json')
      const body = (await response.json()) as Record<string, unknown>
      const host = new URL(server.url).host
      expect(body).to.deep.include({
        method: 'POST',
        url: `https://${host}/echo?a=1&a=2&b=x%20y`,
        contentType: 'application/json',
        contentEncoding: null,
        provider: 'gcp',
        functionName: 'pcHttp',
      })
      expect(body.query).to.deep.equal([['a', '1'], ['a', '2'], ['b', 'x y']])
      expect(body.body).to.deep.equal({ hello: 'world', n: [1, 2] })
      expect(body.ip).to.match(/127\.0\.0\.1$/)
      // The request id is Polycloud's own, never the client's function-execution-id header.
      expect(body.requestId).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      expect(body.remaining).to.be.within(59_000, 60_000)
    })

    it('round-trips random binary bytes exactly (application/octet-stream)', async () => {
      const bytes = randomBytes(64 * 1024)
      bytes[0] = 0x00
      bytes[1] = 0xff
      const response = await fetch(`${server.url}/bytes`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: bytes,
      })
      expect(response.status).to.equal(200)
      expect(response.headers.get('content-type')).to.equal('application/octet-stream')
      expect(response.headers.get('content-length')).to.equal(String(bytes.length))
      expect(Buffer.from(await response.arrayBuffer()).equals(bytes)).to.equal(true)
    })

    it('reads a body sent without a Content-Type (FF leaves it unread) from the request stream', async () => {
      const bytes = randomBytes(3000)
      const response = await fetch(`${server.url}/bytes`, { method: 'POST', body: bytes })
      expect(response.status).to.equal(200)
      expect(Buffer.from(await response.arrayBuffer()).equals(bytes)).to.equal(true)
    })

    it('reads an unknown +json type and text/html byte for byte (FF gives them as Buffers)', async () => {
      for (const type of ['application/vnd.api+json', 'text/html; charset=utf-8', 'text/plain']) {
        const body = '{"é":"<b>ünïcode</b>"}'
        const response = await fetch(`${server.url}/text`, { method: 'POST', headers: { 'content-type': type }, body })
        expect(await response.text(), type).to.equal(body)
      }
    })

    it('gives the inflated body of a gzip request, without a Content-Encoding that no longer applies', async () => {
      const response = await fetch(`${server.url}/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: gzipSync(JSON.stringify({ zipped: true })),
      })
      const body = (await response.json()) as Record<string, unknown>
      expect(body.body).to.deep.equal({ zipped: true })
      expect(body.contentEncoding).to.equal(null)
    })

    it('sends two Set-Cookie headers as two', async () => {
      const response = await fetch(`${server.url}/cookies`)
      expect(response.status).to.equal(201)
      expect(response.headers.getSetCookie()).to.deep.equal(['a=1; Path=/', 'b=2; HttpOnly'])
      expect(response.headers.get('x-multi')).to.equal('one')
      expect(await response.text()).to.equal('ok')
    })

    it('answers a handler throw with a logged 500 carrying no message and no stack', async () => {
      const response = await fetch(`${server.url}/throw`, { headers: { 'function-execution-id': 'exec-500' } })
      expect(response.status).to.equal(500)
      expect(response.headers.get('x-google-status')).to.equal(null)
      const body = await response.text()
      const { requestId } = JSON.parse(body) as { requestId: string }
      expect(JSON.parse(body)).to.deep.equal({ error: 'Internal Server Error', requestId })
      expect(requestId).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      expect(body).not.to.include('hunter2')
      const [log] = output.logs()
      expect(log).to.deep.include({ severity: 'ERROR', level: 'error', message: 'handler failed', requestId })
      expect((log?.error as Record<string, string>).message).to.equal('database password is hunter2')
    })

    it('keeps an HttpError status, message and headers', async () => {
      const response = await fetch(`${server.url}/http-error`)
      expect(response.status).to.equal(422)
      expect(response.headers.get('x-reason')).to.equal('validation')
      expect(await response.json()).to.deep.equal({ error: 'name is required' })
    })

    it('turns a header Node refuses into a 500 instead of crashing', async () => {
      const response = await fetch(`${server.url}/bad-header`)
      expect(response.status).to.equal(500)
      expect(response.headers.get('x-bad')).to.equal(null)
      expect(((await response.json()) as Record<string, unknown>).error).to.equal('Internal Server Error')
    })

    it('streams a ReadableStream body: the first chunk arrives before the handler produces the second', async () => {
      const response = await fetch(`${server.url}/stream`)
      expect(response.status).to.equal(200)
      expect(response.headers.get('transfer-encoding')).to.equal('chunked')
      const reader = response.body!.getReader()
      const first = await reader.read()
      expect(new TextDecoder().decode(first.value)).to.equal('first;')
      release.resolve()
      let rest = ''
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value)
      expect(rest).to.equal('second;')
    })

    it('cuts the connection when a stream fails after its first chunk (the client sees an error, not a hang)', async () => {
      const response = await fetch(`${server.url}/stream-fails-late`)
      expect(response.status).to.equal(200)
      const error = await response.text().then(
        () => undefined,
        (failure: unknown) => failure,
      )
      expect(error).to.be.instanceOf(Error)
      expect(output.logs().some((log) => log.message === 'response stream failed' && (log.error as Record<string, string>).message === 'upstream died')).to.equal(true)
    })

    it('answers a stream that fails before its first chunk with a 500', async () => {
      const response = await fetch(`${server.url}/stream-fails-early`)
      expect(response.status).to.equal(500)
      expect(((await response.json()) as Record<string, unknown>).error).to.equal('Internal Server Error')
    })

    it('writes log lines as Cloud Logging structured entries with severity and, given a trace and project, the trace', async () => {
      await withEnvAsync({ GOOGLE_CLOUD_PROJECT: 'my-project', POLYCLOUD_LOG_SUMMARY: 'all' }, async () => {
        await (
          await fetch(`${server.url}/log`, {
            headers: { 'x-cloud-trace-context': '105445aa7843bc8bf206b12000100000/1;o=1', 'function-execution-id': 'exec-log' },
          })
        ).text()
      })
      const [log] = output.logs()
      expect(log).to.deep.include({
        severity: 'INFO',
        level: 'info',
        message: 'hello',
        n: 1,
        'logging.googleapis.com/trace': 'projects/my-project/traces/105445aa7843bc8bf206b12000100000',
        'logging.googleapis.com/trace_sampled': true,
        traceId: '105445aa7843bc8bf206b12000100000',
        parentSpanId: '0000000000000001',
      })
      expect(log?.['logging.googleapis.com/spanId']).to.equal(log?.spanId)
      // The summary line of the request (every one with POLYCLOUD_LOG_SUMMARY=all) carries the same trace and the status.
      expect(output.summaries()).to.have.length(1)
      expect(output.summaries()[0]).to.deep.include({ severity: 'INFO', polycloud: 'invocation', kind: 'http', outcome: 'ok', status: 200, traceId: '105445aa7843bc8bf206b12000100000' })
      expect(log?.requestId).to.be.a('string').and.not.equal('exec-log')
    })

    it("invalid JSON and JSON scalars reach the handler: request.json() parses scalars and answers the 400, not FF's body parser", async () => {
      const post = (body: string) => fetch(`${server.url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      const invalid = await post('{bad')
      expect(invalid.status).to.equal(400)
      expect(invalid.headers.get('content-type')).to.equal('application/json')
      const text = await invalid.text()
      expect(JSON.parse(text).error).to.match(/^Invalid JSON in request body: /)
      expect(text).not.to.match(/SyntaxError|\n\s+at |body-parser/)
      for (const [body, value] of [['42', 42], ['null', null], ['"x"', 'x'], ['true', true]] as const) {
        const response = await post(body)
        expect(response.status, body).to.equal(200)
        expect(((await response.json()) as { body: unknown }).body, body).to.equal(value)
      }
    })

    it('answers what FF refuses before the function as JSON without a stack, whatever NODE_ENV is', async () => {
      const cases: Array<[string, RequestInit, number, string]> = [
        ['/a%E0%A4%A/b', {}, 400, 'Bad Request'],
        ['/echo', { method: 'POST', headers: { 'content-type': 'application/json; charset=latin1' }, body: '{}' }, 415, 'Unsupported Media Type'],
        ['/echo', { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: 'not gzip' }, 400, 'Bad Request'],
        ['/echo', { method: 'POST', headers: { 'content-type': 'application/cloudevents+json' }, body: '{"a":' }, 400, 'Bad Request'],
      ]
      for (const [path, init, status, error] of cases) {
        const response = await fetch(`${server.url}${path}`, init)
        expect(response.status, path).to.equal(status)
        expect(response.headers.get('content-type'), path).to.equal('application/json')
        expect(await response.json(), path).to.deep.equal({ error })
      }
    })
  })

  describe('HTTP functions with NODE_ENV=production', () => {
    let server: TestServer
    let output: ReturnType<typeof captureOutput>
    const saved = process.env.NODE_ENV

    before(async () => {
      process.env.NODE_ENV = 'production'
      gcp.http('pcHttpProduction', http(async (request) => json(await request.json())))
      // Express reads NODE_ENV when the app is created, so the server is made after setting it.
      server = await serve('pcHttpProduction')
    })

    beforeEach(() => {
      output = captureOutput()
    })

    afterEach(() => output.restore())

    after(async () => {
      if (saved === undefined) delete process.env.NODE_ENV
      else process.env.NODE_ENV = saved
      await server.close()
    })

    it('answers invalid JSON as in development: the handler\'s 400, or JSON without a stack for an event body', async () => {
      const plain = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":' })
      expect(plain.status).to.equal(400)
      expect(((await plain.json()) as { error: string }).error).to.match(/^Invalid JSON in request body: /)
      const event = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/cloudevents+json' }, body: '{"a":' })
      expect(event.status).to.equal(400)
      expect(await event.json()).to.deep.equal({ error: 'Bad Request' })
    })

    it('still serves valid JSON', async () => {
      const response = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' })
      expect(await response.json()).to.deep.equal({ a: 1 })
    })
  })

  describe('CloudEvent functions', () => {
    const received: unknown[] = []
    const natives: unknown[] = []
    let fail = false
    let topicServer: TestServer
    let queueServer: TestServer
    let storageServer: TestServer
    let changesServer: TestServer
    let anyServer: TestServer
    let output: ReturnType<typeof captureOutput>

    before(async () => {
      gcp.cloudEvent(
        'pcTopic',
        topic((message: TopicMessage, context: Context) => {
          received.push({ id: message.id, topic: message.topic, body: message.body, attributes: message.attributes, time: message.time, requestId: context.requestId })
          if (fail) throw new Error('cannot process')
        }),
      )
      gcp.cloudEvent(
        'pcQueue',
        queue((message: QueueMessage) => {
          received.push({ id: message.id, queue: message.queue, attempt: message.attempt, body: message.body, source: message.source })
        }),
      )
      gcp.cloudEvent(
        'pcStorage',
        storage((event: StorageEvent) => {
          received.push({ type: event.type, bucket: event.bucket, key: event.key, size: event.size })
        }),
      )
      gcp.cloudEvent(
        'pcChanges',
        changes((event: ChangeEvent) => {
          received.push({ type: event.type, table: event.table, keys: event.keys, newImage: event.newImage, oldImage: event.oldImage })
        }),
      )
      gcp.cloudEvent(
        'pcAny',
        cloudEvent((event: CloudEvent) => {
          natives.push(event.native)
        }),
      )
      ;[topicServer, queueServer, storageServer, changesServer, anyServer] = (await Promise.all(
        ['pcTopic', 'pcQueue', 'pcStorage', 'pcChanges', 'pcAny'].map(serve),
      )) as [TestServer, TestServer, TestServer, TestServer, TestServer]
    })

    beforeEach(() => {
      received.length = 0
      natives.length = 0
      fail = false
      output = captureOutput()
    })

    afterEach(() => output.restore())

    after(async () => {
      await Promise.all([topicServer, queueServer, storageServer, changesServer, anyServer].map((server) => server.close()))
    })

    it('registers a one-parameter function (FF would take two as callback style)', () => {
      expect(toCloudEventFunction(topic(() => {})).length).to.equal(1)
      expect(createCloudEventFunction(queue(() => {}), [gcpPubSubQueue]).length).to.equal(1)
    })

    it('handles a structured-mode messagePublished event and answers 204', async () => {
      const response = await fetch(topicServer.url, {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents+json' },
        body: JSON.stringify(published('hello topic')),
      })
      expect(response.status).to.equal(204)
      expect(received).to.deep.equal([
        { id: 'm-1', topic: 'orders', body: 'hello topic', attributes: { k: 'v' }, time: '2024-05-01T10:00:00.000Z', requestId: 'ce-1' },
      ])
    })

    it('handles a binary-mode event (ce-* headers, JSON body)', async () => {
      const event = published('binary mode')
      const response = await fetch(topicServer.url, {
        method: 'POST',
        headers: binaryHeaders(event, 'application/json'),
        body: JSON.stringify(event.data),
      })
      expect(response.status).to.equal(204)
      expect(received).to.deep.equal([
        { id: 'm-1', topic: 'orders', body: 'binary mode', attributes: { k: 'v' }, time: '2024-05-01T10:00:00.000Z', requestId: 'ce-1' },
      ])
    })

    it('answers 500 when the handler fails, so Eventarc / Pub/Sub redeliver', async () => {
      fail = true
      const response = await fetch(topicServer.url, {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents+json' },
        body: JSON.stringify(published('boom')),
      })
      expect(response.status).to.equal(500)
      expect(response.headers.get('x-google-status')).to.equal('error')
      expect(await response.text()).not.to.include('cannot process')
      const log = output.logs().find((line) => line.message === 'event failed')
      expect(log).to.deep.include({ severity: 'ERROR', eventId: 'm-1', kind: 'topic', requestId: 'ce-1' })
    })

    it('answers 500 for an event of another type, naming it in the log', async () => {
      const response = await fetch(storageServer.url, {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents+json' },
        body: JSON.stringify(published('not storage')),
      })
      expect(response.status).to.equal(500)
      expect(received).to.deep.equal([])
      const log = output.logs().find((line) => line.message === 'event not recognised')
      expect((log?.error as Record<string, string>).message).to.match(/^gcp: no adapter for storage handlers recognises this input \(tried: gcp:storage\)/)
    })

    it('serves a Pub/Sub push subscription pointed at the function (FF converts the body; the topic comes from the URL)', async () => {
      const body = {
        message: { data: Buffer.from('pushed').toString('base64'), messageId: 'push-1', publishTime: '2024-05-02T00:00:00Z' },
        subscription: 'projects/p/subscriptions/push-sub',
        deliveryAttempt: 3,
      }
      const response = await fetch(`${queueServer.url}/projects/p/topics/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      expect(response.status).to.equal(204)
      // FF drops `subscription` and `deliveryAttempt` on the way: the queue is the topic, the attempt 1.
      expect(received).to.deep.equal([
        { id: 'push-1', queue: 'jobs', attempt: 1, body: 'pushed', source: '//pubsub.googleapis.com/projects/p/topics/jobs' },
      ])
    })

    it('decodes a Firestore event sent as protobuf in binary mode', async () => {
      const event: GcpCloudEvent = {
        specversion: '1.0',
        id: 'fs-1',
        source: '//firestore.googleapis.com/projects/p/databases/(default)',
        type: 'google.cloud.firestore.document.v1.updated',
        subject: 'documents/users/ada',
        time: '2024-05-01T10:00:00Z',
        document: 'users/ada',
        database: '(default)',
      }
      const body: Uint8Array<ArrayBuffer> = encodeDocumentEventData({
        value: { name: 'projects/p/databases/(default)/documents/users/ada', fields: { n: { integerValue: '2' }, tags: { arrayValue: { values: [{ stringValue: 'x' }] } } } },
        oldValue: { name: 'projects/p/databases/(default)/documents/users/ada', fields: { n: { integerValue: '1' } } },
        updateMask: { fieldPaths: ['n', 'tags'] },
      })
      const response = await fetch(changesServer.url, { method: 'POST', headers: binaryHeaders(event, 'application/protobuf'), body })
      expect(response.status).to.equal(204)
      expect(received).to.deep.equal([
        { type: 'modify', table: 'users', keys: { id: 'ada' }, newImage: { n: 2, tags: ['x'] }, oldImage: { n: 1 } },
      ])
    })

    it('handles a structured storage event with int64 strings', async () => {
      const event = {
        specversion: '1.0',
        id: 'st-1',
        source: '//storage.googleapis.com/projects/_/buckets/uploads',
        type: 'google.cloud.storage.object.v1.finalized',
        subject: 'objects/a/b.png',
        time: '2024-05-01T10:00:00Z',
        data: { bucket: 'uploads', name: 'a/b.png', size: '1048576', generation: '1714557600000000' },
      }
      const response = await fetch(storageServer.url, {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents+json' },
        body: JSON.stringify(event),
      })
      expect(response.status).to.equal(204)
      expect(received).to.deep.equal([{ type: 'created', bucket: 'uploads', key: 'a/b.png', size: 1048576 }])
    })

    describe('legacy events posted to a cloudEvent function: FF converts them exactly as adapter.fromJson does', () => {
      const inputs = fixturePaths('gcp').filter((path) => path.endsWith('-legacy-input.json') || path.includes('legacy-output'))
      for (const path of inputs) {
        it(path, async () => {
          const legacy = fixture<LegacyEvent>(path)
          const response = await fetch(anyServer.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(legacy) })
          expect(response.status).to.equal(204)
          expect(natives).to.have.length(1)
          expect(natives[0]).to.deep.equal(legacyToCloudEvent(fixture<LegacyEvent>(path)))
        })
      }
    })
  })

  describe('without a server', () => {
    it('takes the deadline from POLYCLOUD_TIMEOUT_SECONDS, else CLOUD_RUN_TIMEOUT_SECONDS, else 60 s', () => {
      const now = Date.now()
      expect(gcpDeadline({}) - now).to.be.within(59_900, 60_100)
      expect(gcpDeadline({ CLOUD_RUN_TIMEOUT_SECONDS: '300' }) - now).to.be.within(299_900, 300_100)
      expect(gcpDeadline({ CLOUD_RUN_TIMEOUT_SECONDS: '300', POLYCLOUD_TIMEOUT_SECONDS: '30' }) - now).to.be.within(29_900, 30_100)
      expect(gcpDeadline({ CLOUD_RUN_TIMEOUT_SECONDS: 'soon' }) - now).to.be.within(59_900, 60_100)
    })

    it('logs a CloudEvent function with the trace FF copied from traceparent, and refuses what is no event', async () => {
      const fn = toCloudEventFunction(cloudEvent((_event, context) => context.log.info('seen')))
      const output = captureOutput()
      try {
        await withEnvAsync({ GOOGLE_CLOUD_PROJECT: 'proj' }, () => fn(published('t', { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' })))
        const error = await fn({ a: 1 } as never).then(
          () => undefined,
          (failure: unknown) => failure as Error,
        )
        expect(error?.message).to.match(/^gcp: not a CloudEvent: missing the required attribute\(s\) specversion, id, source, type\./)
      } finally {
        output.restore()
      }
      const [seen, refused] = output.logs()
      expect(seen).to.deep.include({
        severity: 'INFO',
        message: 'seen',
        requestId: 'ce-1',
        'logging.googleapis.com/trace': 'projects/proj/traces/0af7651916cd43dd8448eb211c80319c',
        traceId: '0af7651916cd43dd8448eb211c80319c',
        parentSpanId: 'b7ad6b7169203331',
      })
      // The line's span is the invocation's own, a child of the sender's.
      expect(seen?.['logging.googleapis.com/spanId']).to.equal(seen?.spanId).and.match(/^[0-9a-f]{16}$/).and.not.equal('b7ad6b7169203331')
      expect(refused).to.deep.include({ severity: 'ERROR', message: 'event not recognised' })
      expect(typeof refused?.requestId).to.equal('string')
    })

    it('names the function after K_SERVICE, else FUNCTION_TARGET, else the registered name', async () => {
      const names: string[] = []
      const fn = createCloudEventFunction(cloudEvent((_event, context) => void names.push(context.functionName)), gcpSources, { name: 'registered' })
      const event = published('x')
      await new Promise<void>((resolve, reject) =>
        withEnv({ K_SERVICE: 'svc', FUNCTION_TARGET: 'target' }, () => void fn(event).then(resolve, reject)),
      )
      await new Promise<void>((resolve, reject) => withEnv({ K_SERVICE: undefined, FUNCTION_TARGET: 'target' }, () => void fn(event).then(resolve, reject)))
      await new Promise<void>((resolve, reject) => withEnv({ K_SERVICE: undefined, FUNCTION_TARGET: undefined }, () => void fn(event).then(resolve, reject)))
      expect(names).to.deep.equal(['svc', 'target', 'registered'])
    })

  })

  it('lists every GCP source, in dispatch order', () => {
    expect(gcpSources.map((source) => source.name)).to.deep.equal([
      'gcp:http',
      'gcp:pubsub',
      'gcp:pubsub-queue',
      'gcp:storage',
      'gcp:firestore',
      'gcp:scheduler',
      'gcp:scheduler-pubsub',
      'gcp:cloud-event',
    ])
  })

  it('refuses a handler of the wrong kind at build time', () => {
    expect(toHttpFunction(http(() => null))).to.be.a('function')
    expect(() => toCloudEventFunction(http(() => null))).to.throw(TypeError, /http handler cannot serve CloudEvents/)
    expect(() => createHttpFunction(queue(() => {}) as never, gcpSources)).to.throw(TypeError, /a queue handler is not an HTTP handler; serve it with createPushFunction or gcp.http/)
  })
})
