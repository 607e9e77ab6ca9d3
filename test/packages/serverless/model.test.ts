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
})
