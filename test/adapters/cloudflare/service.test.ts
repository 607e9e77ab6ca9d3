import { expect } from 'chai'
import { HttpError, http, json, queue, schedule, storage, type Context } from '@polycloud/core'
import { createServiceWorker, queueBatch, r2Notification, scheduled, workersFetch, type ServiceFunction } from '@polycloud/cloudflare'
import { captureConsole, fakeBatch, fakeExecutionContext, r2Body } from './helpers.ts'

const ENV = { LOG_LEVEL: 'error', SHARED: 'worker', BUCKET: { get: () => null } }

function fn(name: string, handler: ServiceFunction['handler'], extra: Partial<ServiceFunction> = {}): ServiceFunction {
  const sources = handler.kind === 'http' ? [workersFetch] : handler.kind === 'schedule' ? [scheduled] : handler.kind === 'storage' ? [r2Notification] : [queueBatch]
  return { name, handler, sources, ...extra }
}

const echo = (label: string) =>
  http((request, context) => json({ label, params: request.params, function: context.functionName, env: context.env, remainingS: Math.round(context.remainingTime() / 1000) }))

describe('cloudflare service worker (one Worker, every function of a service)', () => {
  const get = fn('getNote', echo('get'), { timeoutSeconds: 12, vars: { TABLE: 'notes' } })
  const files = fn('files', echo('files'))
  const list = fn('list', echo('list'))
  const any = fn('any', echo('any'))
  const service = createServiceWorker({
    name: 'notes-dev',
    routes: [
      { method: 'GET', path: '/notes/{id}', function: get },
      { method: 'GET', path: '/notes/export', function: list },
      { method: 'ANY', path: '/files/{path+}', function: files },
      { method: 'POST', path: '/notes/{id}', function: any },
    ],
  })

  async function call(method: string, path: string): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
    const response = await service.fetch!(new Request(`https://notes.example.workers.dev${path}`, { method }), ENV, fakeExecutionContext())
    return { status: response.status, body: (await response.json()) as Record<string, unknown>, headers: response.headers }
  }

  it('exports only the handlers its triggers need', () => {
    expect(Object.keys(service)).to.deep.equal(['fetch'])
    expect(Object.keys(createServiceWorker({}))).to.deep.equal([])
  })

  it('routes by method and path, with percent-decoded params, the function name, its deadline and vars', async () => {
    const { status, body } = await call('GET', '/notes/a%20b?x=1')
    expect(status).to.equal(200)
    expect(body).to.deep.equal({ label: 'get', params: { id: 'a b' }, function: 'getNote', env: { LOG_LEVEL: 'error', SHARED: 'worker', TABLE: 'notes' }, remainingS: 12 })
    expect((await call('POST', '/notes/7')).body).to.include({ label: 'any', function: 'any' })
  })

  it("gives a function its own secrets from their secret_text bindings, and no other function's", async () => {
    const env = { ...ENV, POLYCLOUD_SECRET_chat_SIGNING_SECRET: 's3cret', API_TOKEN: 'provider-wide' }
    const worker = createServiceWorker({
      routes: [
        { method: 'GET', path: '/chat', function: fn('chat', echo('chat'), { vars: { MODE: 'bot' }, secrets: { SIGNING_SECRET: 'POLYCLOUD_SECRET_chat_SIGNING_SECRET', MISSING_TOKEN: 'POLYCLOUD_SECRET_chat_MISSING_TOKEN' } }) },
        { method: 'GET', path: '/other', function: fn('other', echo('other')) },
      ],
    })
    const envOf = async (path: string) => ((await (await worker.fetch!(new Request(`https://x.example${path}`), env, fakeExecutionContext())).json()) as { env: Record<string, string> }).env
    expect(await envOf('/chat')).to.deep.equal({ LOG_LEVEL: 'error', SHARED: 'worker', API_TOKEN: 'provider-wide', MODE: 'bot', SIGNING_SECRET: 's3cret' })
    expect(await envOf('/other')).to.deep.equal({ LOG_LEVEL: 'error', SHARED: 'worker', API_TOKEN: 'provider-wide' })
  })

  it('prefers a literal segment over a parameter, and a greedy parameter takes the rest', async () => {
    expect((await call('GET', '/notes/export')).body.label).to.equal('list')
    expect((await call('DELETE', '/files/a/b%2Fc.txt')).body).to.deep.include({ label: 'files', params: { path: 'a/b/c.txt' } })
  })

  it('answers no route with a 404 and a wrong method with a 405 and Allow, as JSON errors', async () => {
    const missing = await call('GET', '/nothing')
    expect(missing.status).to.equal(404)
    expect(missing.body).to.deep.equal({ error: 'No route for GET /nothing' })
    const wrong = await call('PUT', '/notes/1')
    expect(wrong.status).to.equal(405)
    expect(wrong.headers.get('allow')).to.equal('GET, HEAD, POST')
  })

  it('routes HEAD to the GET route of the path (the handler sees HEAD), else to its ANY route', async () => {
    const seen: string[] = []
    const worker = createServiceWorker({
      routes: [
        { method: 'GET', path: '/notes/{id}', function: fn('get', http((request) => (seen.push(`get ${request.method} ${request.params.id}`), json({ id: request.params.id }, { headers: { etag: '"v1"' } })))) },
        { method: 'ANY', path: '/notes/{id}', function: fn('any', http((request) => (seen.push(`any ${request.method}`), json({})))) },
        { method: 'POST', path: '/notes', function: fn('post', http(() => json({}))) },
      ],
    })
    const head = await worker.fetch!(new Request('https://x.dev/notes/7', { method: 'HEAD' }), ENV, fakeExecutionContext())
    expect([head.status, head.headers.get('etag'), head.headers.get('content-type')]).to.deep.equal([200, '"v1"', 'application/json'])
    expect(seen).to.deep.equal(['get HEAD 7'])
    const refused = await worker.fetch!(new Request('https://x.dev/notes', { method: 'HEAD' }), ENV, fakeExecutionContext())
    expect([refused.status, refused.headers.get('allow')]).to.deep.equal([405, 'POST'])
  })

  it('answers a crashing handler with a 500 that names only the request id', async () => {
    const worker = createServiceWorker({ routes: [{ method: 'GET', path: '/boom', function: fn('boom', http(() => { throw new Error('secret') })) }] })
    const { result } = await captureConsole(() => worker.fetch!(new Request('https://x.dev/boom', { headers: { 'cf-ray': 'r-1' } }), {}, fakeExecutionContext()))
    expect(result.status).to.equal(500)
    expect(await result.json()).to.deep.equal({ error: 'Internal Server Error', requestId: 'r-1' })
  })

  it('runs every function of the cron that fired, and names the crons when none matches', async () => {
    const ran: string[] = []
    const tick = (name: string) => schedule((event, context: Context) => void ran.push(`${name}:${event.schedule}:${context.functionName}`))
    const a = fn('a', tick('a'))
    const worker = createServiceWorker({
      crons: [
        { cron: '0 3 * * *', function: a },
        { cron: '0 9 * * MON-FRI', function: fn('b', tick('b')) },
        { cron: '0 9 * * 1-5', function: fn('b2', tick('b2')) },
        { cron: '0 9 * * MON-FRI', function: fn('c', tick('c')) },
      ],
    })
    await worker.scheduled!({ cron: '0 9 * * MON-FRI', scheduledTime: Date.UTC(2024, 4, 24, 9) }, ENV, fakeExecutionContext())
    expect(ran).to.deep.equal(['b:0 9 * * MON-FRI:b', 'c:0 9 * * MON-FRI:c'])
    let error: unknown
    try {
      await worker.scheduled!({ cron: '* * * * *', scheduledTime: 0 }, ENV, fakeExecutionContext())
    } catch (caught) {
      error = caught
    }
    expect(String(error)).to.contain('no function is scheduled on cron "* * * * *"').and.contain('"0 3 * * *", "0 9 * * MON-FRI", "0 9 * * 1-5"')
  })

  it('reports the schedule as declared and the function\'s name, however the cron was fired; the controller stays native', async () => {
    const seen: Array<[string | undefined, string | undefined, string]> = []
    const nightly = fn('nightly', schedule((event) => void seen.push([event.schedule, event.name, (event.native as { cron: string }).cron])))
    const worker = createServiceWorker({
      crons: [
        // As the generated entry lists a cron event: the Cron Trigger, and the expression as written for firing by hand.
        { cron: '0 9 * * MON-FRI', function: nightly, schedule: '0 9 * * 1-5' },
        { cron: '0 9 * * 1-5', function: nightly, schedule: '0 9 * * 1-5' },
        { cron: '@daily', function: fn('plain', schedule((event) => void seen.push([event.schedule, event.name, 'plain']))) },
      ],
    })
    await worker.scheduled!({ cron: '0 9 * * MON-FRI', scheduledTime: Date.UTC(2024, 4, 24, 9) }, ENV, fakeExecutionContext())
    await worker.scheduled!({ cron: '0 9 * * 1-5', scheduledTime: Date.UTC(2024, 4, 24, 9) }, ENV, fakeExecutionContext())
    await worker.scheduled!({ cron: '@daily', scheduledTime: 0 }, ENV, fakeExecutionContext())
    expect(seen).to.deep.equal([
      ['0 9 * * 1-5', 'nightly', '0 9 * * MON-FRI'],
      ['0 9 * * 1-5', 'nightly', '0 9 * * 1-5'],
      // Without a declaration (a Worker written by hand): the cron the platform reports, and no name.
      ['@daily', undefined, 'plain'],
    ])
  })

  it('fails a cron run when one of its functions fails, after all of them ran', async () => {
    const ran: string[] = []
    const worker = createServiceWorker({
      crons: [
        { cron: '@daily', function: fn('bad', schedule(() => { throw new Error('nope') })) },
        { cron: '@daily', function: fn('good', schedule(() => void ran.push('good'))) },
      ],
    })
    const { result } = await captureConsole(() => worker.scheduled!({ cron: '@daily', scheduledTime: 0 }, ENV, fakeExecutionContext()).then(() => 'ok', (error: Error) => error.message))
    expect(ran).to.deep.equal(['good'])
    expect(result).to.not.equal('ok')
  })

  it('hands each queue batch to its consumer, settling messages one by one', async () => {
    const seen: string[] = []
    const worker = createServiceWorker({
      queues: [
        { queue: 'svc-dev-orders', function: fn('orders', queue((message) => { if (message.body === 'bad') throw new Error('bad'); seen.push(`order ${message.body}`) })) },
        { queue: 'svc-dev-thumbs-r2', function: fn('thumbs', storage((event) => void seen.push(`object ${event.key}`))) },
      ],
    })
    const orders = fakeBatch('svc-dev-orders', [{ id: 'm1', body: 'ok' }, { id: 'm2', body: 'bad' }])
    await captureConsole(() => worker.queue!(orders.batch, ENV, fakeExecutionContext()))
    expect(orders.settled).to.deep.equal({ acked: ['m1'], retried: ['m2'] })
    const objects = fakeBatch('svc-dev-thumbs-r2', [{ id: 'n1', body: r2Body('r2-put-object') }])
    await worker.queue!(objects.batch, ENV, fakeExecutionContext())
    expect(objects.settled.acked).to.deep.equal(['n1'])
    expect(seen).to.have.length(2)
    const stray = fakeBatch('other', [{ id: 'x', body: 1 }])
    let error: unknown
    try {
      await worker.queue!(stray.batch, ENV, fakeExecutionContext())
    } catch (caught) {
      error = caught
    }
    expect(String(error)).to.contain('no function consumes queue "other" (this Worker consumes: "svc-dev-orders", "svc-dev-thumbs-r2")')
  })

  it('refuses at startup a handler of the wrong kind and a queue with two consumers', () => {
    expect(() => createServiceWorker({ routes: [{ method: 'GET', path: '/', function: fn('q', queue(() => {})) }] })).to.throw(TypeError, 'route GET / needs a http handler; function q is a queue handler')
    const consumer = fn('q', queue(() => {}))
    expect(() => createServiceWorker({ queues: [{ queue: 'a', function: consumer }, { queue: 'a', function: fn('q2', queue(() => {})) }] })).to.throw(TypeError, 'queue "a" has two consumers')
    expect(() => createServiceWorker({ routes: [{ method: 'GET', path: '/x', function: fn('h', http(() => { throw new HttpError(418, 'tea') })) }] })).to.not.throw()
  })
})
