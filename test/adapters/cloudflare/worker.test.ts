import { expect } from 'chai'
import { Hono } from 'hono'
import {
  HttpError,
  fetchApp,
  http,
  json,
  queue,
  schedule,
  storage,
  topic,
  type Context,
  type QueueMessage,
  type ScheduleEvent,
  type StorageEvent,
} from '@polycloud/core'
import { BatchFailedError, EventError } from '@polycloud/core/adapter'
import {
  cloudflareSources,
  createWorker,
  queueBatch,
  r2Notification,
  scheduled,
  stringVars,
  worker,
  workersFetch,
  type QueueWorker,
} from '@polycloud/cloudflare'
import { captureConsole, fakeBatch, fakeExecutionContext, r2Body } from './helpers.ts'

const ENV = { GREETING: 'hello', LOG_LEVEL: 'debug', COUNT: 3, FLAGS: { a: true }, BUCKET: { get: () => null } }

describe('cloudflare worker', () => {
  describe('createWorker', () => {
    it('exports only the method the handler kind needs', () => {
      expect(Object.keys(worker(http(() => null)))).to.deep.equal(['fetch'])
      expect(Object.keys(worker(schedule(() => {})))).to.deep.equal(['scheduled'])
      expect(Object.keys(worker(queue(() => {})))).to.deep.equal(['queue'])
      expect(Object.keys(worker(storage(() => {})))).to.deep.equal(['queue'])
    })

    it('refuses a handler kind no given source reads, naming the kind and the sources', () => {
      expect(() => createWorker(http(() => null), [queueBatch, scheduled])).to.throw(
        TypeError,
        "handler is a http handler, but its function's events need a queue or schedule handler",
      )
      expect(() => worker(topic(() => {}))).to.throw(TypeError, /handler is a topic handler, but its function's events need a/)
    })

    it('refuses an export that is not a portable handler when the Worker is created', () => {
      for (const value of [undefined, null, {}, () => null, { kind: 'http' }]) {
        expect(() => createWorker(value as never, cloudflareSources), String(value)).to.throw(TypeError, /handler is not a portable handler/)
      }
    })
  })

  describe('fetch', () => {
    it('runs the handler with the portable request and a Workers context', async () => {
      let seen: Context | undefined
      const app = createWorker(
        http(async (req, context) => {
          seen = context
          return json({ path: req.path, tags: req.query.getAll('tag'), body: await req.json() }, { status: 201 })
        }),
        [workersFetch],
      )
      const ctx = fakeExecutionContext()
      const request = new Request('https://example.com/notes?tag=a&tag=b', {
        method: 'POST',
        body: '{"x":1}',
        headers: { 'cf-ray': '8f1e2d3c4b5a6978-LHR' },
      })
      const before = Date.now()
      const response = await app.fetch(request, ENV, ctx)
      expect(response.status).to.equal(201)
      expect(response.headers.get('content-type')).to.equal('application/json')
      expect(await response.json()).to.deep.equal({ path: '/notes', tags: ['a', 'b'], body: { x: 1 } })
      const context = seen as Context
      expect(context.provider).to.equal('cloudflare')
      expect(context.requestId).to.equal('8f1e2d3c4b5a6978-LHR')
      expect(context.functionName).to.equal('worker')
      expect(context.env).to.deep.equal({ GREETING: 'hello', LOG_LEVEL: 'debug' })
      expect(context.native.provider).to.equal('cloudflare')
      expect(context.native.event).to.equal(request)
      expect(context.native.context).to.equal(ctx)
      expect(context.native.extra).to.equal(ENV)
      expect(context.deadline).to.be.within(before + 30_000, Date.now() + 30_000)
    })

    it('uses a random UUID as request id without cf-ray, and the POLYCLOUD_* vars when set', async () => {
      const ids: string[] = []
      let deadline = 0
      let name = ''
      const app = worker(
        http((_req, context) => {
          ids.push(context.requestId)
          deadline = context.deadline
          name = context.functionName
          return null
        }),
      )
      const env = { POLYCLOUD_TIMEOUT_SECONDS: '5', POLYCLOUD_FUNCTION_NAME: 'notes-api' }
      const before = Date.now()
      await app.fetch(new Request('https://example.com/'), env, fakeExecutionContext())
      await app.fetch(new Request('https://example.com/'), env, fakeExecutionContext())
      expect(ids[0]).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      expect(ids[1]).to.not.equal(ids[0])
      expect(deadline).to.be.within(before + 5_000, Date.now() + 5_000)
      expect(name).to.equal('notes-api')
    })

    it('returns a Response from the handler untouched', async () => {
      const own = new Response('as is', { status: 202, headers: { 'x-own': '1' } })
      const app = worker(http(() => own))
      expect(await app.fetch(new Request('https://example.com/'), {}, fakeExecutionContext())).to.equal(own)
    })

    it('keeps several Set-Cookie values apart', async () => {
      const app = worker(
        http(() => ({ status: 200, headers: { 'set-cookie': ['a=1; Path=/', 'b=2; HttpOnly'] }, body: 'ok' })),
      )
      const response = await app.fetch(new Request('https://example.com/'), {}, fakeExecutionContext())
      expect(response.headers.getSetCookie()).to.deep.equal(['a=1; Path=/', 'b=2; HttpOnly'])
      expect(response.headers.get('content-type')).to.equal('text/plain; charset=utf-8')
    })

    it('turns a thrown error into a logged 500 with the request id and no details', async () => {
      const app = worker(
        http(() => {
          throw new Error('database password is hunter2')
        }),
      )
      const request = new Request('https://example.com/', { headers: { 'cf-ray': 'ray-1' } })
      const { result, lines } = await captureConsole(() => app.fetch(request, {}, fakeExecutionContext()))
      expect(result.status).to.equal(500)
      const text = await result.text()
      expect(JSON.parse(text)).to.deep.equal({ error: 'Internal Server Error', requestId: 'ray-1' })
      expect(text).to.not.include('hunter2')
      expect(lines).to.have.length(1)
      const [level, line] = lines[0] as [string, string]
      expect(level).to.equal('error')
      const logged = JSON.parse(line) as Record<string, unknown>
      expect(logged.message).to.equal('handler failed')
      expect(logged.requestId).to.equal('ray-1')
      expect((logged.error as { message: string }).message).to.equal('database password is hunter2')
    })

    it('answers an HttpError with its status and message, and bad JSON with a 400', async () => {
      const app = worker(
        http(async (req) => {
          if (req.path === '/gone') throw new HttpError(410, 'note deleted', { headers: { 'x-reason': 'purged' } })
          return json(await req.json())
        }),
      )
      const gone = await app.fetch(new Request('https://example.com/gone'), {}, fakeExecutionContext())
      expect(gone.status).to.equal(410)
      expect(gone.headers.get('x-reason')).to.equal('purged')
      expect(await gone.json()).to.deep.equal({ error: 'note deleted' })
      const bad = await app.fetch(
        new Request('https://example.com/', { method: 'POST', body: '{oops' }),
        {},
        fakeExecutionContext(),
      )
      expect(bad.status).to.equal(400)
      const body = (await bad.json()) as { error: string }
      expect(body.error).to.match(/^Invalid JSON in request body: /)
      expect(JSON.stringify(body)).to.not.include('    at ')
    })

    it('turns an invalid result (status out of range) into a 500', async () => {
      const app = worker(http(() => ({ status: 700, body: 'x' })))
      const { result } = await captureConsole(() =>
        app.fetch(new Request('https://example.com/'), {}, fakeExecutionContext()),
      )
      expect(result.status).to.equal(500)
    })

    it('answers an HttpError whose headers HTTP cannot carry with the logged generic 500', async () => {
      const app = worker(
        http(() => {
          throw new HttpError(400, 'bad input', { headers: { 'x-bad': 'line\nbreak' } })
        }),
      )
      const request = new Request('https://example.com/', { headers: { 'cf-ray': 'ray-2' } })
      const { result, lines } = await captureConsole(() => app.fetch(request, {}, fakeExecutionContext()))
      expect(result.status).to.equal(500)
      expect(await result.json()).to.deep.equal({ error: 'Internal Server Error', requestId: 'ray-2' })
      expect(lines.map(([level, line]) => [level, (JSON.parse(line) as { message: string }).message])).to.deep.equal([
        ['error', 'handler failed'],
      ])
    })

    it('answers a 500 (and logs why) for an input no HTTP source recognises', async () => {
      const never = { ...workersFetch, name: 'test:never', canHandle: (_input: unknown): _input is Request => false }
      const app = createWorker(
        http(() => null),
        [never],
      )
      const { result, lines } = await captureConsole(() =>
        app.fetch(new Request('https://example.com/'), {}, fakeExecutionContext()),
      )
      expect(result.status).to.equal(500)
      const logged = JSON.parse(lines[0]?.[1] ?? '{}') as { message: string; error: { message: string } }
      expect(logged.message).to.equal('handler failed')
      expect(logged.error.message).to.match(/^cloudflare: no adapter for http handlers recognises this input \(tried: test:never\)/)
    })

    it('passes waitUntil promises to the ExecutionContext', async () => {
      const work = Promise.resolve('later')
      const app = worker(
        http((_req, context) => {
          context.waitUntil(work)
          return null
        }),
      )
      const ctx = fakeExecutionContext()
      const response = await app.fetch(new Request('https://example.com/'), {}, ctx)
      expect(response.status).to.equal(204)
      expect(ctx.promises).to.deep.equal([work])
    })

    it('serves a Hono app with its c.env bindings and the original Request', async () => {
      let raw: Request | undefined
      const hono = new Hono<{ Bindings: typeof ENV }>()
      hono.post('/echo/:id', async (c) => {
        raw = c.req.raw
        return c.json({ id: c.req.param('id'), greeting: c.env.GREETING, count: c.env.COUNT, body: await c.req.json() })
      })
      const app = worker(fetchApp(hono))
      const request = new Request('https://example.com/echo/7', { method: 'POST', body: '{"v":true}' })
      const response = await app.fetch(request, ENV, fakeExecutionContext())
      expect(await response.json()).to.deep.equal({ id: '7', greeting: 'hello', count: 3, body: { v: true } })
      expect(raw).to.equal(request)
    })
  })

  describe('scheduled', () => {
    it('runs the handler with the schedule event and a 15-minute deadline', async () => {
      const events: ScheduleEvent[] = []
      let deadline = 0
      const app = worker(
        schedule((event, context) => {
          events.push(event)
          deadline = context.deadline
        }),
      )
      const controller = { cron: '0 * * * *', scheduledTime: Date.UTC(2024, 4, 24, 19, 0), noRetry: () => {} }
      const before = Date.now()
      await app.scheduled(controller, {}, fakeExecutionContext())
      expect(events).to.have.length(1)
      expect(events[0]?.id).to.equal('0 * * * *@2024-05-24T19:00:00.000Z')
      expect(events[0]?.schedule).to.equal('0 * * * *')
      expect(deadline).to.be.within(before + 900_000, Date.now() + 900_000)
    })

    it('rejects when the handler fails, so the run is recorded as an exception', async () => {
      const app = worker(
        schedule(() => {
          throw new Error('nightly job failed')
        }),
      )
      const controller = { cron: '0 0 * * *', scheduledTime: 0 }
      const { result: error, lines } = await captureConsole(() =>
        app.scheduled(controller, {}, fakeExecutionContext()).catch((e: unknown) => e),
      )
      expect(error).to.be.instanceOf(BatchFailedError)
      expect((error as BatchFailedError).failedIds).to.deep.equal(['0 0 * * *@1970-01-01T00:00:00.000Z'])
      expect(lines.map(([level, line]) => [level, (JSON.parse(line) as { message: string }).message])).to.deep.equal([
        ['error', 'event failed'],
      ])
    })
  })

  describe('queue', () => {
    it('retries exactly the message whose handler threw and acks the others', async () => {
      const seen: string[] = []
      const app: QueueWorker = worker(
        queue((message: QueueMessage) => {
          seen.push(`${message.id}:${message.attempt}`)
          if ((message.json() as { fail?: boolean }).fail) throw new Error('cannot process')
        }),
      )
      const { batch, settled } = fakeBatch('orders', [
        { id: 'm1', body: { n: 1 } },
        { id: 'm2', body: { n: 2, fail: true }, attempts: 2 },
        { id: 'm3', body: { n: 3 } },
      ])
      await captureConsole(() => app.queue(batch, {}, fakeExecutionContext()))
      expect(seen).to.deep.equal(['m1:1', 'm2:2', 'm3:1'])
      expect(settled).to.deep.equal({ acked: ['m1', 'm3'], retried: ['m2'] })
    })

    it('runs messages concurrently when the handler allows it, still settling each alone', async () => {
      let running = 0
      let peak = 0
      const app = worker(
        queue(
          async (message) => {
            running++
            peak = Math.max(peak, running)
            await new Promise((resolve) => setTimeout(resolve, 5))
            running--
            if (message.id === 'b') throw new Error('b fails')
          },
          { concurrency: 3 },
        ),
      )
      const { batch, settled } = fakeBatch('q', ['a', 'b', 'c'].map((id) => ({ id, body: id })))
      await captureConsole(() => app.queue(batch, {}, fakeExecutionContext()))
      expect(peak).to.equal(3)
      expect(settled.acked.sort()).to.deep.equal(['a', 'c'])
      expect(settled.retried).to.deep.equal(['b'])
    })

    it('gives a storage handler the R2 notifications of the batch', async () => {
      const events: StorageEvent[] = []
      const app = createWorker(
        storage((event) => {
          events.push(event)
        }),
        [r2Notification],
      )
      const { batch, settled } = fakeBatch('bucket-events', [
        { id: 'n1', body: r2Body('r2-put-object') },
        { id: 'n2', body: r2Body('r2-delete-object') },
      ])
      await app.queue(batch, {}, fakeExecutionContext())
      expect(events.map((e) => [e.type, e.key])).to.deep.equal([
        ['created', 'my-original-object'],
        ['deleted', 'my-original-object'],
      ])
      expect(settled).to.deep.equal({ acked: ['n1', 'n2'], retried: [] })
    })

    it('rejects a batch its sources do not recognise (the whole batch is retried), naming the shape', async () => {
      const app = worker(storage(() => {}))
      const { batch, settled } = fakeBatch('orders', [{ id: 'm1', body: { order: 1 } }])
      const { result: error, summaries } = await captureConsole(() => app.queue(batch, {}, fakeExecutionContext()).catch((e: unknown) => e))
      expect(error).to.be.instanceOf(EventError)
      expect((error as Error).message).to.equal(
        'cloudflare: no adapter for storage handlers recognises this input (tried: cloudflare:r2-notification); it is an object with keys: queue, messages, ackAll, retryAll',
      )
      // The failed invocation's summary line, at error level.
      expect(summaries.map(([level, line]) => [level, (JSON.parse(line) as Record<string, unknown>).outcome])).to.deep.equal([['error', 'error']])
      expect(settled).to.deep.equal({ acked: [], retried: [] })
    })
  })

  describe('stringVars', () => {
    it('keeps only string values, computed once per env object', () => {
      const vars = stringVars(ENV)
      expect(vars).to.deep.equal({ GREETING: 'hello', LOG_LEVEL: 'debug' })
      expect(stringVars(ENV)).to.equal(vars)
      expect(stringVars(undefined)).to.deep.equal({})
    })
  })
})
