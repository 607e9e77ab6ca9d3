// The neutral client without a cloud: arguments, scope, deadlines, retries and errors with a scripted driver, and
// the in-memory driver of @polycloud/testing.
import { expect } from 'chai'
import { http, queue as queueHandler, topic as topicHandler, type TraceContext } from '@polycloud/core'
import { ResourceError, bucket, queue, topic, useResources, withResources, type ResourceDriver } from '@polycloud/resources'
import { DriverError, type BucketBackend, type Call } from '@polycloud/resources/driver'
import { memoryResources, request, send } from '@polycloud/testing'
import { failure, invoke, type Target } from './behaviour.ts'

/** A driver whose bucket answers what the test scripts, recording each call's signal. */
function scripted(answers: Array<() => Promise<unknown>>): { driver: ResourceDriver; calls: Call[]; opened: number } {
  const state = { calls: [] as Call[], opened: 0 }
  const next = (call: Call): Promise<never> => {
    state.calls.push(call)
    const answer = answers.shift()
    return (answer?.() ?? Promise.resolve(null)) as Promise<never>
  }
  const backend: BucketBackend = {
    limits: { service: 'Scripted', maxObjectBytes: 10, maxMetadataBytes: 10, source: 'test' },
    put: (_k, _b, _t, _m, call) => next(call),
    get: (_k, call) => next(call),
    head: (_k, call) => next(call),
    delete: (_k, call) => next(call),
    list: (_p, _c, _l, call) => next(call),
  }
  const driver: ResourceDriver = {
    provider: 'scripted',
    bucket: () => {
      state.opened++
      return backend
    },
    queue: () => {
      throw new DriverError('Invalid', 'no queues here')
    },
    topic: () => {
      throw new DriverError('Invalid', 'no topics here')
    },
  }
  return Object.assign(state, { driver })
}

const target = (driver: ResourceDriver): Target => ({
  provider: 'aws',
  driver,
  env: { POLYCLOUD_RESOURCES: JSON.stringify({ uploads: { kind: 'bucket', name: 'b' } }) },
  limits: { objects: { service: 'x', maxObjectBytes: 1, maxMetadataBytes: 1, source: '' }, queue: undefined as never, topic: undefined },
  received: async () => [],
  stop: async () => {},
})

describe('resources: the neutral client', () => {
  afterEach(() => useResources(undefined))

  it('gives one handle per logical name, and refuses names serverless.yml cannot hold', () => {
    expect(bucket('uploads')).to.equal(bucket('uploads'))
    expect(queue('orders').name).to.equal('orders')
    expect(() => topic('')).to.throw(TypeError, /logical name/)
    expect(() => bucket('a b')).to.throw(TypeError, /logical name/)
  })

  it('opens a resource once per process and reuses it across invocations', async () => {
    const state = scripted([])
    const t = target(state.driver)
    await invoke(t, () => bucket('uploads').get('a'), { uses: ['uploads'] })
    await invoke(t, () => bucket('uploads').get('b'), { uses: ['uploads'] })
    expect(state.opened).to.equal(1)
    expect(state.calls).to.have.length(2)
  })

  it('bounds each call by the deadline less a margin, and passes a signal that aborts then', async () => {
    let seen: AbortSignal | undefined
    const { driver } = scripted([
      () =>
        new Promise((_resolve, reject) => {
          // Never answers: the deadline's signal ends it.
          seen?.addEventListener('abort', () => reject(seen?.reason))
        }),
    ])
    const original = driver.bucket
    const wrapped: ResourceDriver = {
      ...driver,
      bucket: async (...args) => {
        const backend = await original(...args)
        return { ...backend, get: (key: string, call: Call) => ((seen = call.signal), backend.get(key, call)) }
      },
    }
    const started = Date.now()
    const error = await failure(invoke(target(wrapped), () => bucket('uploads').get('slow'), { uses: ['uploads'], deadline: Date.now() + 400 }))
    expect(error.code).to.equal('Timeout')
    expect(error.message).to.include("invocation's deadline")
    expect(Date.now() - started).to.be.at.least(250)
    expect(seen?.aborted).to.equal(true)
  })

  it('retries Throttled and Unavailable answers up to 3 attempts, not Invalid ones', async () => {
    const throttled = scripted([() => Promise.reject(new DriverError('Throttled', 'slow down')), () => Promise.reject(new DriverError('Unavailable', 'down')), () => Promise.resolve(null)])
    expect(await invoke(target(throttled.driver), () => bucket('uploads').get('x'), { uses: ['uploads'] })).to.equal(null)
    expect(throttled.calls).to.have.length(3)
    const invalid = scripted([() => Promise.reject(new DriverError('Invalid', 'no'))])
    const error = await failure(invoke(target(invalid.driver), () => bucket('uploads').get('x'), { uses: ['uploads'] }))
    expect(error.code).to.equal('Invalid')
    expect(invalid.calls).to.have.length(1)
    // Anything else a driver throws counts as Unavailable: retried, then reported with the exception as the cause.
    const thrown = scripted(Array.from({ length: 3 }, () => () => Promise.reject(new TypeError('boom'))))
    const unknown = await failure(invoke(target(thrown.driver), () => bucket('uploads').get('x'), { uses: ['uploads'] }))
    expect(unknown.code).to.equal('Unavailable')
    expect(unknown.cause).to.be.instanceOf(TypeError)
    expect(unknown).to.be.instanceOf(ResourceError)
  })

  it('refuses a stream body over the limit while reading it, before any call', async () => {
    const { driver, calls } = scripted([])
    const stream = new Blob(['0123456789', 'x']).stream()
    const error = await failure(invoke(target(driver), () => bucket('uploads').put('k', stream), { uses: ['uploads'] }))
    expect(error.code).to.equal('TooLarge')
    expect(error.message).to.include("Scripted's limit of 10 bytes for one upload")
    expect(calls).to.have.length(0)
  })

  it('explains a missing driver, and a POLYCLOUD_RESOURCES that is not JSON', async () => {
    const missing = await failure(bucket('uploads').get('x'))
    expect(missing.code).to.equal('NotDeclared')
    expect(missing.message).to.include('useResources(memoryResources())')
    const { driver } = scripted([])
    const bad = await failure(invoke({ ...target(driver), env: { POLYCLOUD_RESOURCES: '{oops' } }, () => bucket('uploads').get('x'), { uses: ['uploads'] }))
    expect(bad.code).to.equal('Invalid')
    expect(bad.message).to.include('POLYCLOUD_RESOURCES is not JSON')
  })

  it('keeps the scope through what the handler starts (timers, promises), and keeps invocations apart', async () => {
    const { driver } = scripted([])
    const results = await Promise.all(
      ['uploads', 'other'].map((declared) =>
        invoke(target(driver), async () => {
          await new Promise((resolve) => setTimeout(resolve, 20))
          return bucket('uploads').get('x').then(
            () => 'ok',
            (error: ResourceError) => error.code,
          )
        }, { uses: [declared] }),
      ),
    )
    expect(results).to.deep.equal(['ok', 'NotDeclared'])
  })

  it('wraps any handler kind, the handler unchanged otherwise', async () => {
    const handler = queueHandler(async () => undefined, { concurrency: 3 })
    const wrapped = withResources(handler, memoryResources(), [])
    expect(wrapped.kind).to.equal('queue')
    expect(wrapped.options).to.deep.equal({ concurrency: 3 })
    expect(wrapped.handle).to.not.equal(handler.handle)
  })
})

describe('@polycloud/testing: memoryResources', () => {
  afterEach(() => useResources(undefined))

  it('serves a handler in a unit test: objects kept, messages recorded as the events subscribers get', async () => {
    const resources = memoryResources()
    useResources(resources)
    const upload = http(async (req) => {
      const key = req.path.slice(1)
      await bucket('uploads').put(key, await req.text(), { contentType: 'text/plain' })
      await queue('orders').send({ key }, { attributes: { source: 'upload' }, delaySeconds: 5 })
      await topic('alerts').publish('uploaded', { subject: 'New file' })
      return { status: 201 }
    })
    const response = await request(upload, { method: 'PUT', url: '/a.txt', body: 'hi' })
    expect(response.status).to.equal(201)
    expect(new TextDecoder().decode(resources.objects('uploads').get('a.txt')?.bytes)).to.equal('hi')
    const [sent] = resources.sent('orders')
    expect(sent?.json()).to.deep.equal({ key: 'a.txt' })
    expect(sent?.attributes).to.deep.equal({ source: 'upload' })
    expect(sent?.delaySeconds).to.equal(5)
    expect(resources.published('alerts')[0]?.subject).to.equal('New file')
    const received: string[] = []
    await send(queueHandler(async (message) => void received.push(message.body)), sent as never)
    expect(received).to.deep.equal(['{"key":"a.txt"}'])
  })

  it('carries the invocation\'s trace in what it sends and publishes; the receiving handler continues it', async () => {
    const resources = memoryResources()
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
    let sender: TraceContext | undefined
    const upload = withResources(
      http(async (_req, context) => {
        sender = context.trace
        await queue('orders').send('x', { attributes: { source: 'upload' } })
        await topic('alerts').publish('y')
        // A traceparent the caller sets is its own to send.
        await queue('orders').send('z', { attributes: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } })
        return { status: 202 }
      }),
      resources,
      ['orders', 'alerts'],
    )
    expect((await request(upload, { url: '/', headers: { traceparent, tracestate: 'congo=t61rcWkgMzE' } })).status).to.equal(202)
    expect(sender).to.include({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentSpanId: '00f067aa0ba902b7' })
    const [sent, own] = resources.sent('orders')
    const [published] = resources.published('alerts')
    // The trace travels beside the attributes, not in them (the sources take it off, as deployed).
    expect(sent?.attributes).to.deep.equal({ source: 'upload' })
    expect(published?.attributes).to.deep.equal({})
    const seen: Array<[string, string | undefined, string | undefined]> = []
    const receive = queueHandler(async (_message, context) => void seen.push([context.trace.traceId, context.trace.parentSpanId, context.trace.traceState]))
    await send(receive, sent as never)
    await send(receive, own as never)
    await send(topicHandler(async (_message, context) => void seen.push([context.trace.traceId, context.trace.parentSpanId, context.trace.traceState])), published as never)
    expect(seen).to.deep.equal([
      ['4bf92f3577b34da6a3ce929d0e0e4736', sender?.spanId, 'congo=t61rcWkgMzE'],
      ['0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331', undefined],
      ['4bf92f3577b34da6a3ce929d0e0e4736', sender?.spanId, 'congo=t61rcWkgMzE'],
    ])
  })

  it("applies the limits of the provider it stands for, and only the declared resources", async () => {
    const resources = memoryResources({ as: 'cloudflare', declared: { uploads: 'bucket', orders: 'queue' } })
    useResources(resources)
    expect((await failure(topic('alerts').publish('x'))).code).to.equal('NotDeclared')
    const big = await failure(queue('orders').send('x'.repeat(128_001)))
    expect(big.code).to.equal('TooLarge')
    expect(big.message).to.include('Cloudflare Queues')
    resources.clear()
    expect(resources.sent('orders')).to.deep.equal([])
  })
})
