/** The provider contract's shared parts: provider names, schemas with provider fields, the shared reading of functions. */
import { expect } from 'chai'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError } from 'serverless-polycloud/errors'
import { readService, type ReaderProvider } from 'serverless-polycloud/model'
import { commonKinds, planFunctions, type EventPlanner } from 'serverless-polycloud/plan'
import { COMMAND_FILES, type EventPlan, type FunctionConfig } from 'serverless-polycloud/provider'
import { PROVIDERS, providerName } from 'serverless-polycloud/providers/index'
import { customSchema, neutralEventSchema } from 'serverless-polycloud/schema'
import { ROOT } from '../../helpers/serverless.ts'

const reader = (defaultTimeout: number): ReaderProvider => ({ name: 'test', defaultTimeout, means: (name) => name === 'test' })
const read = (functions: Record<string, FunctionConfig>, provider: Record<string, unknown> = {}, defaultTimeout = 6) =>
  readService({ service: 's', stage: 'dev', servicePath: ROOT, provider, functions }, reader(defaultTimeout))

describe('serverless/contract', () => {
  it('one spelling per provider, the other spellings accepted', () => {
    expect(['aws', 'azure', 'google', 'cloudflare'].map(providerName)).to.deep.equal(['aws', 'azure', 'google', 'cloudflare'])
    expect(providerName('gcp')).to.equal('google')
    expect(providerName(' Google ')).to.equal('google')
    expect(providerName('oracle')).to.equal(undefined)
    expect(providerName(undefined)).to.equal(undefined)
  })

  it("adds a provider's own fields and required alternatives to a neutral event's object form", () => {
    expect(neutralEventSchema('topic')).to.deep.equal({
      anyOf: [
        { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$', maxLength: 80 },
        { type: 'object', properties: { name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$', maxLength: 80 } }, additionalProperties: false, required: ['name'] },
      ],
    })
    const extended = neutralEventSchema('topic', { properties: { arn: { type: 'string' } }, required: [['arn']] }).anyOf as Array<Record<string, unknown>>
    expect(extended[1]).to.deep.include({ anyOf: [{ required: ['name'] }, { required: ['arn'] }] })
    expect(Object.keys(extended[1]?.properties as object)).to.deep.equal(['name', 'arn'])
  })

  it("checks the active provider's custom block and leaves the others' for their deploys", () => {
    const schema = customSchema('azure', ['aws', 'azure'], { type: 'object', properties: { plan: { enum: ['flex'] } } })
    const polycloud = (schema.properties as Record<string, { properties: Record<string, unknown>; additionalProperties: boolean }>).polycloud!
    const { http, resources, telemetry, ...providers } = polycloud.properties
    // Every provider's: the OpenTelemetry opt-in, checked by the model with errors naming its keys.
    expect(telemetry).to.deep.equal({ type: 'object' })
    expect(providers).to.deep.equal({ aws: { type: 'object' }, azure: { type: 'object', properties: { plan: { enum: ['flex'] } } } })
    // Every provider's: the resources the functions use, each provider's own settings under its name.
    expect(Object.keys((resources as { additionalProperties: { anyOf: Array<{ properties?: object }> } }).additionalProperties.anyOf[1]?.properties ?? {})).to.include.members(['kind', 'name', 'excludeFrom', 'aws', 'azure'])
    expect(Object.keys((http as { properties: object }).properties)).to.deep.equal(['auth', 'cors', 'maxBodySize', 'keys'])
    expect(polycloud.additionalProperties).to.equal(false)
  })

  it('resolves timeout, memory and environment: the function over the provider over the default', () => {
    const [info] = read({ f: { handler: 'handlers/hello.default', timeout: 20, environment: { A: 'fn', N: 3 } } }, { timeout: 10, memorySize: 512, environment: { A: 'provider', B: 'b' } }).functions
    expect(info).to.deep.include({ timeout: 20, memorySize: 512, environment: { A: 'fn', B: 'b', N: '3' } })
    expect(read({ f: { handler: 'handlers/hello.default' } }).functions[0]?.timeout).to.equal(6)
  })

  it('agrees on the kinds of a function, or names the events that cannot share a handler', () => {
    const planned = (key: string, kinds: EventPlan['kinds']) => ({ event: { key }, kinds })
    expect(commonKinds('f', [planned('sqs', ['queue', 'topic', 'storage']), planned('s3', ['storage'])])).to.deep.equal(['storage'])
    expect(commonKinds('f', [])).to.have.length(7)
    expect(() => commonKinds('f', [planned('route', ['http']), planned('cron', ['schedule'])])).to.throw(
      ConfigError,
      'functions.f.events: these events cannot share one portable handler: route (http), cron (schedule)',
    )
  })

  it('plans functions through a provider: plans located, native events it does not serve refused, opted-out functions skipped', () => {
    const planner: EventPlanner<string> = {
      title: 'Test',
      preflights: true,
      event(event) {
        if (event.kind === 'route') return { sources: [{ name: 'http', module: 'http' }], kinds: ['http'], native: `route ${event.method} ${event.path}` }
        if (event.kind === 'cron') throw new ConfigError('', 'no timers here')
        return undefined
      },
    }
    const prepare = (functions: Record<string, FunctionConfig>) => planFunctions(read(functions, {}, 30), planner)
    const [fn] = prepare({ api: { handler: 'handlers/hello.default', events: [{ route: 'GET /x' }, { route: 'GET /y' }] }, off: { polycloud: false } })
    expect(fn).to.deep.include({ name: 'api', timeout: 30, kinds: ['http'], sources: [{ name: 'http', module: 'http' }], handlerText: 'handlers/hello.default' })
    expect(fn?.handler).to.deep.equal({ module: 'handlers/hello', exportName: 'default', file: 'handlers/hello.ts' })
    expect(fn?.events.map(({ event, native }) => [event.at, native])).to.deep.equal([
      ['functions.api.events[0].route', 'route GET /x'],
      ['functions.api.events[1].route', 'route GET /y'],
    ])
    expect(() => prepare({ t: { handler: 'handlers/report.default', events: [{ cron: '@daily' }] } })).to.throw(
      ConfigError,
      'functions.t.events[0].cron: no timers here',
    )
    expect(() => prepare({ q: { handler: 'handlers/orders.default', events: [{ sqs: 'arn:x' }] } })).to.throw(
      ConfigError,
      `functions.q.events[0].sqs: native event "sqs" is not served by Polycloud's Test adapter`,
    )
  })

  it('every provider folder has the same shape: its definition, events, plan and entry, and each command it serves in its file under its name', async () => {
    for (const provider of PROVIDERS) {
      const folder = join(ROOT, 'packages/serverless/src/providers', provider.name)
      for (const file of ['index.ts', 'events.ts', 'plan.ts', 'entry.ts']) expect(existsSync(join(folder, file)), `${provider.name}/${file}`).to.equal(true)
      for (const [command, { file, name }] of Object.entries(COMMAND_FILES)) {
        const served = provider.commands[command as keyof typeof COMMAND_FILES] !== undefined
        expect(existsSync(join(folder, file.replace(/\.js$/, '.ts'))), `${provider.name}/${file}`).to.equal(served || (file === 'deploy.js' && provider.commands.deploy !== undefined))
        if (!served) continue
        const module = (await import(`serverless-polycloud/providers/${provider.name}/${file.replace(/\.js$/, '')}`)) as Record<string, unknown>
        expect(typeof module[name], `${provider.name}/${file} exports ${name}`).to.equal('function')
      }
    }
  })
})
