/** The service model: serverless.yml read once, for every provider, into typed and frozen data. */
import { expect } from 'chai'
import { resolvePolicy } from '@polycloud/auth/policy'
import { ConfigError } from 'serverless-polycloud/errors'
import { completeService, declaresSecurity, foreignEvents, readEvents, readFunctions, readService, type ReaderProvider, type ServiceInput } from 'serverless-polycloud/model'
import type { FunctionConfig } from 'serverless-polycloud/provider'
import { ROOT } from '../../helpers/serverless.ts'

const provider: ReaderProvider = { name: 'azure', defaultTimeout: 30, means: (name) => name === 'azure' }
const input = (functions: Record<string, FunctionConfig>, more: Partial<ServiceInput> = {}): ServiceInput => ({ service: 'shop', stage: 'dev', servicePath: ROOT, provider: {}, functions, ...more })
const only = (event: Record<string, unknown>) => readEvents('f', { events: [event] })[0]

describe('serverless/model', () => {
  it('reads each neutral event, short or object form, into one shape; a provider\'s own fields into options', () => {
    expect(only({ route: 'get /notes/{id}' })).to.deep.equal({ key: 'route', at: 'functions.f.events[0].route', index: 0, kind: 'route', method: 'GET', path: '/notes/{id}', policy: {}, security: undefined, options: {} })
    expect(only({ route: { method: 'ANY', path: '/x', api: 'rest-api', cors: true } })).to.deep.include({ method: 'ANY', path: '/x', policy: { cors: true }, options: { api: 'rest-api' } })
    expect(only({ cron: '@daily' })).to.deep.include({ kind: 'cron', expression: '@daily', enabled: true, schedule: { kind: 'cron', fields: ['0', '0', '*', '*', '*'], weekdays: undefined } })
    expect(only({ cron: { schedule: 'rate(2 hours)', enabled: false, timeZone: 'Europe/Paris' } })).to.deep.include({ enabled: false, schedule: { kind: 'rate', value: 2, unit: 'hour' }, options: { timeZone: 'Europe/Paris' } })
    expect(only({ fromQueue: 'jobs.fifo' })).to.deep.include({ kind: 'queue', name: 'jobs.fifo', fifo: true, batchSize: undefined, maxReceiveCount: undefined })
    expect(only({ fromQueue: { arn: 'arn:aws:sqs:eu-west-1:1:q', batchSize: 5 } })).to.deep.include({ name: undefined, fifo: false, batchSize: 5, options: { arn: 'arn:aws:sqs:eu-west-1:1:q' } })
    expect(only({ topic: 'alerts' })).to.deep.include({ kind: 'topic', name: 'alerts', options: {} })
    expect(only({ bucket: 'uploads' })).to.deep.include({ kind: 'bucket', name: 'uploads', on: 'created', prefix: '', suffix: '', existing: false })
    expect(only({ bucket: { name: 'uploads', on: 'all', suffix: '.png', existing: true, connection: 'Files' } })).to.deep.include({ on: 'all', suffix: '.png', existing: true, options: { connection: 'Files' } })
    expect(only({ changes: { table: 'shop/items', startingPosition: 'TRIM_HORIZON', leases: 'l' } })).to.deep.include({ kind: 'changes', table: 'shop/items', startingPosition: 'TRIM_HORIZON', options: { leases: 'l' } })
    expect(only({ sqs: { arn: 'x' } })).to.deep.equal({ key: 'sqs', at: 'functions.f.events[0].sqs', index: 0, kind: 'native', value: { arn: 'x' } })
  })

  it('names the function and the event of a route or schedule it cannot read', () => {
    expect(() => only({ route: 'FETCH /x' })).to.throw(ConfigError, /^functions\.f\.events\[0\]\.route: method "FETCH" is not one of/)
    expect(() => readEvents('nightly', { events: [{ route: 'GET /x' }, { cron: '0 3 * * 9' }] })).to.throw(ConfigError, 'functions.nightly.events[1].cron: day-of-week: 9 is out of range (0-7)')
  })

  it("resolves each function's settings: runtime, timeout and memory with where they came from, environment, its other fields", () => {
    const model = readService(
      input(
        {
          a: { handler: 'handlers/hello.default', timeout: 20, runtime: 'nodejs24.x', environment: { A: 'fn', N: 3 }, url: true },
          b: { handler: 'handlers/hello.default', memorySize: 1024 },
          native: { handler: 'handlers/hello.default', polycloud: false, runtime: 'nodejs20.x' },
          away: { handler: 'handlers/hello.default', excludeFrom: ['azure'] },
        },
        { provider: { runtime: 'nodejs22.x', timeout: 10, environment: { A: 'provider', B: true } }, regionOption: 'westeurope' },
      ),
      provider,
    )
    const [a, b] = model.functions
    expect(model.functions.map((fn) => fn.name)).to.deep.equal(['a', 'b'])
    expect(model).to.deep.include({ excluded: ['away'], functionRuntimes: { a: 'nodejs24.x', native: 'nodejs20.x' }, runtime: 'nodejs22.x', region: 'westeurope', regionFrom: '--region', environment: { A: 'provider', B: 'true' } })
    expect(a).to.deep.include({ runtime: 'nodejs24.x', timeout: 20, timeoutFrom: 'function', memorySize: undefined, memorySizeFrom: 'default', environment: { A: 'fn', B: 'true', N: '3' }, settings: { url: true }, resources: [] })
    expect(a?.handler).to.deep.equal({ module: 'handlers/hello', exportName: 'default', file: 'handlers/hello.ts' })
    expect(b).to.deep.include({ runtime: 'nodejs22.x', timeout: 10, timeoutFrom: 'provider', memorySize: 1024, memorySizeFrom: 'function' })
    expect(readService(input({ c: { handler: 'handlers/hello.default' } }), provider).functions[0]).to.deep.include({ timeout: 30, timeoutFrom: 'default' })
  })

  it("gives every route of a function the function's security, resolved; API key digests in its environment; the CORS preflights", () => {
    const functions = {
      notes: { handler: 'handlers/hello.default', events: [{ route: { method: 'GET', path: '/notes/{id}', cors: true } }, { route: { method: 'PUT', path: '/notes/{id}', cors: true } }] },
      partner: { handler: 'handlers/hello.default', events: [{ route: { method: 'POST', path: '/partner', auth: 'key' } }] },
      report: { handler: 'handlers/report.default', events: [{ cron: '@daily' }] },
    }
    const draft = readFunctions(input(functions, { polycloud: { http: { keys: { partner: 'k-1' } } } }), provider)
    expect(declaresSecurity(draft)).to.equal(true)
    expect(declaresSecurity(readFunctions(input({ report: functions.report }), provider))).to.equal(false)
    const model = completeService(draft, resolvePolicy)
    const [notes, partner, report] = model.functions
    expect(notes?.security?.methods).to.deep.equal(['GET', 'PUT'])
    for (const event of notes?.events ?? []) expect(event.kind === 'route' && event.security).to.equal(notes?.security)
    expect(notes?.preflights.map((route) => [route.method, route.path, route.at, route.security === notes.security])).to.deep.equal([['OPTIONS', '/notes/{id}', 'functions.notes.events (the CORS preflight of /notes/{id})', true]])
    expect(JSON.parse(partner?.environment.POLYCLOUD_API_KEYS ?? '{}')).to.have.keys(['partner'])
    expect(partner?.preflights).to.deep.equal([])
    expect(report?.security).to.equal(undefined)
    expect(() => completeService(draft, undefined)).to.throw(ConfigError, 'functions.notes: its routes declare auth, cors or maxBodySize: install @polycloud/auth')
  })

  it('is frozen: nothing after the reading can change it', () => {
    const config = { handler: 'handlers/hello.default', events: [{ fromQueue: { name: 'q', arn: { 'Fn::GetAtt': ['Q', 'Arn'] } } }] }
    const model = readService(input({ q: config }, { template: { Q: { Type: 'AWS::SQS::Queue' } } }), provider)
    expect(Object.isFrozen(model)).to.equal(true)
    expect(Object.isFrozen(model.functions[0]?.events[0])).to.equal(true)
    expect(Object.isFrozen(model.template.Q)).to.equal(true)
    expect(() => (model.functions as unknown[]).push(1)).to.throw(TypeError)
    // The configuration the framework keeps is its own: the model holds copies.
    expect(Object.isFrozen(config.events[0])).to.equal(false)
  })

  it("finds other providers' native events, skipping excluded functions", () => {
    const owners = (key: string) => (key === 'timer' ? ['azure'] : key === 'sqs' ? ['aws'] : [])
    const aws: ReaderProvider = { name: 'aws', defaultTimeout: 6, means: (name) => name === 'aws' }
    const functions = {
      a: { handler: 'x.y', events: [{ route: 'GET /x' }, { timer: { schedule: '0 0 3 * * *' } }, { sqs: 'arn' }] },
      b: { handler: 'x.y', polycloud: false, events: [{ timer: {} }] },
      c: { handler: 'x.y', excludeFrom: ['aws'], events: [{ timer: {} }] },
    }
    expect(foreignEvents(functions, aws, owners)).to.deep.equal([
      { at: 'functions.a.events[1]', key: 'timer', owners: ['azure'] },
      { at: 'functions.b.events[0]', key: 'timer', owners: ['azure'] },
    ])
  })

  describe('resources, declared once and used by logical name', () => {
    const handler = 'handlers/hello.default'
    const declared = { uploads: 'bucket', orders: { kind: 'queue', maxReceiveCount: 3 }, alerts: 'topic', archive: { kind: 'bucket', name: 'acme-archive', existing: true, azure: { tier: 'cool' } } }
    const read = (functions: Record<string, FunctionConfig>, resources: unknown = declared, on: ReaderProvider = provider) =>
      readService(input(functions, { polycloud: { resources } }), on)

    it('reads each declaration: kind, deployed name (<service>-<stage>-<name> unless named), existing, queue settings, the active provider\'s own block', () => {
      const model = read({})
      expect(model.resources.map((resource) => [resource.name, resource.kind, resource.deployedName, resource.existing])).to.deep.equal([
        ['uploads', 'bucket', 'shop-dev-uploads', false],
        ['orders', 'queue', 'shop-dev-orders', false],
        ['alerts', 'topic', 'shop-dev-alerts', false],
        ['archive', 'bucket', 'acme-archive', true],
      ])
      expect(model.resources[1]).to.deep.include({ at: 'custom.polycloud.resources.orders', fifo: false, maxReceiveCount: 3, options: {} })
      expect(model.resources[3]?.options).to.deep.equal({ tier: 'cool' })
      expect(Object.isFrozen(model.resources[0])).to.equal(true)
    })

    it("resolves a function's uses to the declarations, in its order; none: an empty list", () => {
      const model = read({ a: { handler, uses: ['orders', 'uploads'] }, b: { handler } })
      expect(model.functions[0]?.resources.map((resource) => resource.name)).to.deep.equal(['orders', 'uploads'])
      expect(model.functions[0]?.resources[0]).to.equal(model.resources[1])
      expect(model.functions[1]?.resources).to.deep.equal([])
      expect(model.functions[0]?.settings).to.deep.equal({})
    })

    it('refuses a name in uses that nothing declares, with the nearest declared name', () => {
      expect(() => read({ a: { handler, uses: ['uploads', 'upload'] } })).to.throw(
        ConfigError,
        'functions.a.uses[1]: "upload" is not declared in custom.polycloud.resources; did you mean "uploads"? (declared: uploads, orders, alerts, archive)',
      )
      expect(() => read({ a: { handler, uses: ['cache'] } }, null)).to.throw(ConfigError, 'functions.a.uses[0]: "cache" is not declared: declare it under custom.polycloud.resources (cache: bucket, queue, topic or store)')
      expect(() => read({ a: { handler, uses: ['jobs'] } }, { jobs: { kind: 'queue', fifo: true } })).to.throw(ConfigError, /^functions\.a\.uses\[0\]: "jobs" is a FIFO queue, which queue\(\)\.send cannot send to yet/)
    })

    it('refuses declarations the clouds cannot name, and settings of another kind', () => {
      expect(() => read({}, { Uploads: 'bucket' })).to.throw(ConfigError, /^custom\.polycloud\.resources\.Uploads: a resource's logical name is lower-case letters/)
      expect(() => read({}, { uploads: 'blob' })).to.throw(ConfigError, 'custom.polycloud.resources.uploads: is a bucket, a queue, a topic or a store (written "uploads: bucket", or { kind: bucket, ... }), not "blob"')
      expect(() => read({}, { uploads: { kind: 'bucket', fifo: true } })).to.throw(ConfigError, "custom.polycloud.resources.uploads.fifo: is a queue's setting, not a bucket's")
      const long = 'x'.repeat(40)
      expect(() => readService(input({}, { service: 'a-very-long-service-name', polycloud: { resources: { [long]: 'bucket' } } }), provider)).to.throw(
        ConfigError,
        /^custom\.polycloud\.resources\.x+: would be deployed as "a-very-long-service-name-dev-x+" \(<service>-<stage>-<name>\), which is not a bucket name every cloud takes/,
      )
      expect(() => read({}, { uploads: { kind: 'bucket', name: 'Bad_Bucket' } })).to.throw(ConfigError, /^custom\.polycloud\.resources\.uploads: name "Bad_Bucket" is not a bucket name/)
    })

    it('links an event naming a declared resource to it: its deployed name, existing and queue settings are the declaration\'s', () => {
      const model = read({
        consumer: { handler, events: [{ fromQueue: 'orders' }] },
        subscriber: { handler, events: [{ topic: 'alerts' }] },
        images: { handler, events: [{ bucket: { name: 'uploads', prefix: 'images/' } }, { bucket: 'archive' }] },
      })
      const [consumer, subscriber, images] = model.functions
      expect(consumer?.events[0]).to.deep.include({ kind: 'queue', name: 'orders', maxReceiveCount: 3, fifo: false, resource: model.resources[1] })
      expect(subscriber?.events[0]).to.deep.include({ kind: 'topic', name: 'shop-dev-alerts', resource: model.resources[2] })
      expect(images?.events[0]).to.deep.include({ kind: 'bucket', name: 'shop-dev-uploads', prefix: 'images/', existing: false, resource: model.resources[0] })
      expect(images?.events[1]).to.deep.include({ name: 'acme-archive', existing: true })
    })

    it('keeps an event naming nothing declared exactly as before', () => {
      const events = [{ fromQueue: 'jobs' }, { topic: 'news' }, { bucket: 'photos' }]
      const model = read({ a: { handler, events: [events[0]!] }, b: { handler, events: [events[1]!] }, c: { handler, events: [events[2]!] } })
      const before = readService(input({ a: { handler, events: [events[0]!] }, b: { handler, events: [events[1]!] }, c: { handler, events: [events[2]!] } }), provider)
      expect(model.functions.map((fn) => fn.events)).to.deep.equal(before.functions.map((fn) => fn.events))
      expect(model.functions[1]?.events[0]).to.deep.include({ name: 'news', resource: undefined })
    })

    it('refuses an event and a declaration that disagree: kind, fifo, maxReceiveCount, existing, an arn', () => {
      expect(() => read({ a: { handler, events: [{ fromQueue: 'alerts' }] } })).to.throw(
        ConfigError,
        'functions.a.events[0].fromQueue: "alerts" is declared as a topic (custom.polycloud.resources.alerts), and fromQueue takes a queue: use "topic: alerts", or declare a queue',
      )
      expect(() => read({ a: { handler, events: [{ bucket: 'orders' }] } })).to.throw(ConfigError, /^functions\.a\.events\[0\]\.bucket: "orders" is declared as a queue .* use "fromQueue: orders"/)
      expect(() => read({ a: { handler, events: [{ fromQueue: { name: 'orders', maxReceiveCount: 7 } }] } })).to.throw(ConfigError, /says maxReceiveCount 7, and custom\.polycloud\.resources\.orders 3/)
      expect(() => read({ a: { handler, events: [{ fromQueue: { name: 'orders', fifo: true } }] } })).to.throw(ConfigError, /says fifo, and custom\.polycloud\.resources\.orders declares a standard queue/)
      expect(() => read({ a: { handler, events: [{ bucket: { name: 'uploads', existing: true } }] } })).to.throw(ConfigError, /says existing, and custom\.polycloud\.resources\.uploads is created by the deploy/)
      expect(() => read({ a: { handler, events: [{ topic: { name: 'alerts', arn: 'arn:aws:sns:eu-west-1:1:x' } }] } })).to.throw(ConfigError, /names the declared topic alerts, .* drop its arn/)
    })

    it('leaves out what is excluded from the provider: the declaration, and the uses naming it; an event on it is refused', () => {
      const resources = { uploads: 'bucket', alerts: { kind: 'topic', excludeFrom: ['azure'] } }
      const model = read({ a: { handler, uses: ['uploads', 'alerts'] } }, resources)
      expect(model.resources.map((resource) => resource.name)).to.deep.equal(['uploads'])
      expect(model.excludedResources).to.deep.equal(['alerts'])
      expect(model.functions[0]?.resources.map((resource) => resource.name)).to.deep.equal(['uploads'])
      expect(() => read({ a: { handler, events: [{ topic: 'alerts' }] } }, resources)).to.throw(ConfigError, /^functions\.a\.events\[0\]\.topic: resource "alerts" is excluded from this provider/)
      const aws: ReaderProvider = { name: 'aws', defaultTimeout: 6, means: (name) => name === 'aws' }
      expect(read({ a: { handler, uses: ['alerts'] } }, resources, aws).functions[0]?.resources.map((resource) => resource.name)).to.deep.equal(['alerts'])
    })

    it('refuses POLYCLOUD_RESOURCES in the environment of a function that uses resources (the plugin sets it)', () => {
      expect(() => read({ a: { handler, uses: ['uploads'], environment: { POLYCLOUD_RESOURCES: '{}' } } })).to.throw(ConfigError, "functions.a.environment.POLYCLOUD_RESOURCES: is set by the plugin from the function's uses: remove it from the environment")
    })
  })
})
