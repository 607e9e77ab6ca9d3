import { expect } from 'chai'
import { ConfigError } from 'serverless-polycloud/errors'
import { readEvents, type NeutralEvent } from 'serverless-polycloud/model'
import type { FunctionConfig, ServiceContext } from 'serverless-polycloud/provider'
import { serviceEntry } from 'serverless-polycloud/providers/cloudflare/entry'
import { bindingName, neutralPlan, toCloudflareCron } from 'serverless-polycloud/providers/cloudflare/events'
import { cloudflare } from 'serverless-polycloud/providers/cloudflare/index'
import { cronTriggers } from 'serverless-polycloud/providers/cloudflare/offline'
import { uploadMetadata, wranglerConfig } from 'serverless-polycloud/providers/cloudflare/package'
import { describeService, type CloudflarePlan } from 'serverless-polycloud/providers/cloudflare/plan'
import { runtimeWorkers } from 'serverless-polycloud/providers/cloudflare/runtime'
import { parseSchedule } from 'serverless-polycloud/schedule'
import { ROOT } from '../../../helpers/serverless.ts'
import { contextFor, planFor } from '../support.ts'

const NAMES = { service: 'shop', stage: 'prod' }

function context(functions: Record<string, FunctionConfig>, custom: Record<string, unknown> = {}, providerConfig: Record<string, unknown> = {}): ServiceContext<CloudflarePlan> {
  const plan = planFor(cloudflare, functions, { ...NAMES, provider: providerConfig, custom })
  return contextFor(plan, { region: undefined, workDir: `${ROOT}.polycloud/cloudflare`, packageDir: `${ROOT}.serverless` })
}

/** What event `index` of function `fn`, as serverless.yml writes it, is on Cloudflare. */
const plan = (key: string, value: unknown, fn = 'f', index = 0) =>
  neutralPlan(readEvents(fn, { events: [...Array.from({ length: index }, () => ({ route: 'GET /other' })), { [key]: value }] })[index] as NeutralEvent, fn, NAMES)

const cron = (expression: string): string => toCloudflareCron(parseSchedule(expression))

describe('serverless/providers/cloudflare', () => {
  describe('Cron Triggers', () => {
    it('writes weekdays as names: Cloudflare numbers Sunday 1, standard cron 0', () => {
      expect(cron('0 9 * * 1-5')).to.equal('0 9 * * MON-FRI')
      expect(cron('0 9 * * 0')).to.equal('0 9 * * SUN')
      expect(cron('0 9 * * 7')).to.equal('0 9 * * SUN')
      expect(cron('0 9 * * 6,0')).to.equal('0 9 * * SUN,SAT')
      expect(cron('0 9 * * 1,3,5')).to.equal('0 9 * * MON,WED,FRI')
      expect(cron('0 9 * * mon-wed,fri')).to.equal('0 9 * * MON-WED,FRI')
      expect(cron('*/15 2 * * */2')).to.equal('*/15 2 * * SUN,TUE,THU,SAT')
      expect(cron('0 3 * * *')).to.equal('0 3 * * *')
      expect(cron('0 0 1 jan *')).to.equal('0 0 1 JAN *')
      expect(cron('@weekly')).to.equal('0 0 * * SUN')
      expect(cron('0 0 * * 0-6')).to.equal('0 0 * * *')
    })

    it('turns rates into the clock-aligned cron of that interval, and refuses those that have none', () => {
      expect(cron('rate(1 minute)')).to.equal('* * * * *')
      expect(cron('rate(15 minutes)')).to.equal('*/15 * * * *')
      expect(cron('rate(6 hours)')).to.equal('0 */6 * * *')
      expect(cron('rate(1 day)')).to.equal('0 0 * * *')
      expect(() => cron('rate(7 minutes)')).to.throw(/rate\(7 minutes\) has no Cron Trigger equivalent/)
      expect(() => cron('rate(2 days)')).to.throw(/no Cron Trigger equivalent/)
    })

    it('refuses a cron restricting both day-of-month and day-of-week', () => {
      expect(() => cron('0 0 1 * 1')).to.throw(/restricts both day-of-month and day-of-week/)
    })
  })

  describe('events', () => {
    it('maps a route to the Worker fetch, a cron to a Cron Trigger (as written and as uploaded)', () => {
      expect(plan('route', 'GET /notes/{id}')).to.deep.equal({
        sources: [{ name: 'workersFetch', module: 'fetch' }],
        kinds: ['http'],
        native: { type: 'route', method: 'GET', path: '/notes/{id}' },
      })
      expect(plan('cron', { schedule: '0 9 * * 1-5' }).native).to.deep.equal({ type: 'cron', cron: '0 9 * * MON-FRI', expression: '0 9 * * 1-5' })
      expect(() => plan('cron', { schedule: '@daily', enabled: false })).to.throw(ConfigError, /disabled cron/)
    })

    it('maps a queue to a consumer with neutral defaults, a dead-letter queue and the stage in the name', () => {
      expect(plan('fromQueue', 'orders').native).to.deep.equal({
        type: 'queue',
        queue: { name: 'shop-prod-orders', batchSize: 10, maxRetries: 4, maxWaitMs: 5000, deadLetterQueue: 'shop-prod-orders-dlq' },
        binding: 'QUEUE_ORDERS',
        alias: 'orders',
      })
      const custom = plan('fromQueue', { name: 'jobs', batchSize: 100, maxReceiveCount: 1, maximumBatchingWindow: 0 }).native
      expect(custom).to.deep.include({ queue: { name: 'shop-prod-jobs', batchSize: 100, maxRetries: 0, maxWaitMs: 0, deadLetterQueue: 'shop-prod-jobs-dlq' } })
    })

    it("checks Cloudflare's queue limits and names", () => {
      expect(() => plan('fromQueue', { name: 'a', batchSize: 101 })).to.throw(ConfigError, /batchSize 101 is more than a Cloudflare Queues consumer takes \(100\)/)
      expect(() => plan('fromQueue', { name: 'a', maxReceiveCount: 102 })).to.throw(ConfigError, /100 retries/)
      expect(() => plan('fromQueue', { name: 'a', maximumBatchingWindow: 61 })).to.throw(ConfigError, /60 s/)
      expect(() => plan('fromQueue', { name: 'jobs', fifo: true })).to.throw(ConfigError, /no FIFO queues/)
      expect(() => plan('fromQueue', 'Orders_Big')).to.throw(ConfigError, /"shop-prod-Orders_Big"; Cloudflare queue names are 1-63 lower-case/)
    })

    it('maps a bucket to R2 notifications delivered through a queue of the function', () => {
      expect(plan('bucket', { name: 'shop-uploads', on: 'created', prefix: 'images/' }, 'makeThumbs').native).to.deep.equal({
        type: 'bucket',
        bucket: 'shop-uploads',
        existing: false,
        binding: 'BUCKET_SHOP_UPLOADS',
        queue: { name: 'shop-prod-make-thumbs-r2', batchSize: 10, maxRetries: 4, maxWaitMs: 5000, deadLetterQueue: 'shop-prod-make-thumbs-r2-dlq' },
        actions: ['PutObject', 'CopyObject', 'CompleteMultipartUpload'],
        prefix: 'images/',
        suffix: undefined,
      })
      const deleted = plan('bucket', { name: 'b-1', on: 'deleted', existing: true }, 'f', 2).native
      expect(deleted).to.deep.include({ existing: true, actions: ['DeleteObject', 'LifecycleDeletion'] })
      expect((deleted as { queue: { name: string } }).queue.name).to.equal('shop-prod-f-r2-2')
    })

    it('refuses topic and changes at package time, naming the function, the event and what to use instead', () => {
      expect(() => planFor(cloudflare, { alerts: { handler: 'handlers/alerts.default', events: [{ topic: 'alerts' }] } }, NAMES)).to.throw(
        ConfigError,
        /^functions\.alerts\.events\[0\]\.topic: Cloudflare has no pub\/sub topics .*"fromQueue".*"excludeFrom: \[cloudflare\]"/,
      )
      expect(() => plan('changes', 'NotesTable')).to.throw(ConfigError, /no database change feed.*"fromQueue"/)
    })

    it('leaves out functions excluded from Cloudflare', () => {
      const { functions } = context({
        hello: { handler: 'handlers/hello.default', events: [{ route: 'GET /hello' }] },
        alerts: { handler: 'handlers/alerts.default', excludeFrom: ['cloudflare'], events: [{ topic: 'alerts' }] },
      }).plan
      expect(functions.map((fn) => fn.name)).to.deep.equal(['hello'])
    })

    it('names bindings after the resource', () => {
      expect(bindingName('QUEUE', 'order-events.v2')).to.equal('QUEUE_ORDER_EVENTS_V2')
    })
  })

  describe('the service Worker', () => {
    const demo = (): ServiceContext<CloudflarePlan> =>
      context(
        {
          hello: { handler: 'handlers/hello.default', events: [{ route: 'GET /hello' }, { route: 'GET /hi' }], environment: { GREETING: 'hi', LOG_LEVEL: 'info' } },
          report: { handler: 'handlers/report.default', timeout: 60, events: [{ cron: '0 9 * * 1-5' }] },
          orders: { handler: 'handlers/orders.default', events: [{ fromQueue: 'orders' }] },
          thumbnails: { handler: 'handlers/thumbnails.default', events: [{ bucket: { name: 'shop-uploads', prefix: 'images/' } }] },
          idle: { handler: 'handlers/hello.default' },
        },
        {},
        { environment: { LOG_LEVEL: 'info', REGION_NAME: 'eu' }, timeout: 10 },
      )

    it('generates one entry: every handler, only the formats used, routes, crons (uploaded and as written) and queues', () => {
      const ctx = demo()
      const source = serviceEntry(ctx.plan.functions, { workDir: ctx.workDir, servicePath: ROOT, script: 'shop-prod', providerEnvironment: { LOG_LEVEL: 'info', REGION_NAME: 'eu' } })
      expect(source).to.contain(`import { createServiceWorker } from '@polycloud/cloudflare/service'`)
      expect(source).to.contain(`import { workersFetch } from '@polycloud/cloudflare/fetch'`)
      expect(source).to.contain(`import { r2Notification } from '@polycloud/cloudflare/r2-notification'`)
      // The function's own var only (the provider's are plain-text bindings of the Worker).
      expect(source).to.contain('const fn0 = { name: "hello", handler: handler0, sources: [workersFetch], timeoutSeconds: 10, vars: {"GREETING":"hi"} }')
      expect(source).to.contain('const fn1 = { name: "report", handler: handler1, sources: [scheduled], timeoutSeconds: 60 }')
      expect(source).to.contain('{ method: "GET", path: "/hi", function: fn0 }')
      // Both report the schedule as declared (`schedule`).
      expect(source).to.contain('{ cron: "0 9 * * MON-FRI", function: fn1, schedule: "0 9 * * 1-5" },\n    { cron: "0 9 * * 1-5", function: fn1, schedule: "0 9 * * 1-5" }')
      expect(source).to.contain('{ queue: "shop-prod-thumbnails-r2", function: fn3 }')
      // A function without events has nothing that triggers it on Workers.
      expect(source).to.not.contain('"idle"')
    })

    it("binds secrets as secret_text, out of the script: the provider's by name, a function's own for it alone", () => {
      const ctx = context(
        {
          chat: { handler: 'handlers/hello.default', events: [{ route: 'POST /chat' }], environment: { CHAT_SIGNING_SECRET: 'sig-123', MODE: 'bot' } },
          'price-feed': { handler: 'handlers/hello.default', events: [{ route: 'GET /prices' }], environment: { FEED_API_KEY: 'key-456' } },
        },
        {},
        { environment: { LOG_LEVEL: 'info', DEPLOY_TOKEN: 'tok-789', OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=k-1' } },
      )
      const source = serviceEntry(ctx.plan.functions, { workDir: ctx.workDir, servicePath: ROOT, script: 'shop-prod', providerEnvironment: ctx.plan.model.environment })
      expect(source).to.contain('vars: {"MODE":"bot"}, secrets: {"CHAT_SIGNING_SECRET":"POLYCLOUD_SECRET_chat_CHAT_SIGNING_SECRET"} }')
      expect(source).to.contain('secrets: {"FEED_API_KEY":"POLYCLOUD_SECRET_price_feed_FEED_API_KEY"} }')
      for (const secret of ['sig-123', 'key-456', 'tok-789']) expect(source).to.not.contain(secret)
      const manifest = describeService(ctx.plan)
      expect(uploadMetadata(manifest).bindings).to.deep.equal([
        { type: 'plain_text', name: 'LOG_LEVEL', text: 'info' },
        { type: 'secret_text', name: 'DEPLOY_TOKEN', text: 'tok-789' },
        { type: 'secret_text', name: 'OTEL_EXPORTER_OTLP_HEADERS', text: 'x-api-key=k-1' },
        { type: 'secret_text', name: 'POLYCLOUD_SECRET_chat_CHAT_SIGNING_SECRET', text: 'sig-123' },
        { type: 'secret_text', name: 'POLYCLOUD_SECRET_price_feed_FEED_API_KEY', text: 'key-456' },
      ])
      expect(wranglerConfig(manifest).vars).to.deep.equal({ LOG_LEVEL: 'info' })
      expect(() => context({ 'a-b': { handler: 'handlers/hello.default', events: [{ route: 'GET /1' }], environment: { X_TOKEN: '1' } }, a_b: { handler: 'handlers/hello.default', events: [{ route: 'GET /2' }], environment: { X_TOKEN: '2' } } }).plan).to.throw(ConfigError, /functions\.a_b\.environment\.X_TOKEN: its secret would be bound as POLYCLOUD_SECRET_a_b_X_TOKEN, as another function's is/)
    })

    it('refuses two bucket events whose R2 rules overlap (R2 would refuse the second rule at deploy)', () => {
      const rules = (a: Record<string, unknown>, b: Record<string, unknown>) => () =>
        describeService(
          context({
            thumbs: { handler: 'handlers/thumbnails.default', events: [{ bucket: { name: 'shop-uploads', ...a } }] },
            audit: { handler: 'handlers/thumbnails.default', events: [{ bucket: { name: 'shop-uploads', ...b } }] },
          }).plan,
        )
      expect(rules({ prefix: 'images/' }, {})).to.throw(ConfigError, 'functions.audit: its bucket event on shop-uploads overlaps function thumbs\'s (both on PutObject, CopyObject, CompleteMultipartUpload, prefixes "images/" and ""): R2 sends one notification per event')
      expect(rules({ prefix: 'images/', suffix: '.png' }, { prefix: 'images/raw/' })).to.throw(ConfigError, /overlaps function thumbs's/)
      expect(rules({ prefix: 'images/' }, { prefix: 'videos/' })).to.not.throw()
      expect(rules({ suffix: '.png' }, { suffix: '.jpg' })).to.not.throw()
      expect(rules({ on: 'created' }, { on: 'deleted' })).to.not.throw()
    })

    it('describes the Worker: metadata with vars, producers and buckets; wrangler.json with the same', () => {
      const manifest = describeService(demo().plan)
      expect(manifest).to.deep.include({ script: 'shop-prod', crons: ['0 9 * * MON-FRI'], deadLetterQueues: ['shop-prod-orders-dlq', 'shop-prod-thumbnails-r2-dlq'] })
      expect(manifest.buckets).to.deep.equal([
        { name: 'shop-uploads', existing: false, binding: 'BUCKET_SHOP_UPLOADS', notifications: [{ queue: 'shop-prod-thumbnails-r2', actions: ['PutObject', 'CopyObject', 'CompleteMultipartUpload'], prefix: 'images/', function: 'thumbnails' }] },
      ])
      expect(uploadMetadata(manifest)).to.deep.equal({
        main_module: 'worker.mjs',
        compatibility_date: '2026-04-01',
        bindings: [
          { type: 'plain_text', name: 'LOG_LEVEL', text: 'info' },
          { type: 'plain_text', name: 'REGION_NAME', text: 'eu' },
          { type: 'queue', name: 'QUEUE_ORDERS', queue_name: 'shop-prod-orders' },
          { type: 'r2_bucket', name: 'BUCKET_SHOP_UPLOADS', bucket_name: 'shop-uploads' },
        ],
      })
      expect(wranglerConfig(manifest)).to.deep.include({
        name: 'shop-prod',
        main: 'worker.mjs',
        no_bundle: true,
        triggers: { crons: ['0 9 * * MON-FRI'] },
        r2_buckets: [{ binding: 'BUCKET_SHOP_UPLOADS', bucket_name: 'shop-uploads' }],
      })
      expect((wranglerConfig(manifest).queues as { consumers: unknown[] }).consumers[0]).to.deep.equal({
        queue: 'shop-prod-orders',
        max_batch_size: 10,
        max_batch_timeout: 5,
        max_retries: 4,
        dead_letter_queue: 'shop-prod-orders-dlq',
      })
    })

    it("checks the plan's Cron Trigger count and CPU limit, and the 15 minutes of crons and consumers", () => {
      const crons = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`c${i}`, { handler: 'handlers/report.default', events: [{ cron: `${i} 3 * * *` }] }]))
      expect(() => describeService(context(crons).plan)).to.throw(ConfigError, /the Worker needs 6 Cron Triggers; an account on Workers Free has 5 in all/)
      expect(describeService(context(crons, { plan: 'paid' }).plan).crons).to.have.length(6)
      expect(() => describeService(context({}, { cpuMs: 50 }).plan)).to.throw(ConfigError, /CPU limit can be set on Workers Paid only/)
      expect(uploadMetadata(describeService(context({}, { plan: 'paid', cpuMs: 50_000 }).plan)).limits).to.deep.equal({ cpu_ms: 50_000 })
      expect(() => describeService(context({ long: { handler: 'handlers/orders.default', timeout: 901, events: [{ fromQueue: 'q' }] } }).plan)).to.throw(ConfigError, /functions\.long\.timeout: 901 s is longer/)
    })

    it('fires a cron that functions share once per tick offline, as Cloudflare does (the Worker runs each of them)', () => {
      const functions = {
        a: { handler: 'handlers/report.default', events: [{ cron: '0 3 * * *' }] },
        b: { handler: 'handlers/report.default', events: [{ cron: '0 3 * * *' }] },
        c: { handler: 'handlers/report.default', events: [{ cron: '0 9 * * 1-5' }] },
      }
      expect(cronTriggers(describeService(context(functions).plan).functions)).to.deep.equal([
        { cron: '0 3 * * *', expression: '0 3 * * *', functions: ['a', 'b'] },
        { cron: '0 9 * * MON-FRI', expression: '0 9 * * 1-5', functions: ['c'] },
      ])
    })

    it('refuses two consumers of one queue', () => {
      const functions = { a: { handler: 'handlers/orders.default', events: [{ fromQueue: 'q' }] }, b: { handler: 'handlers/orders.default', events: [{ fromQueue: 'q' }] } }
      expect(() => describeService(context(functions).plan)).to.throw(ConfigError, /functions\.b\.events\[0\]\.fromQueue: queue shop-prod-q is already consumed by function a/)
    })
  })

  describe('the local runtime', () => {
    it("POLYCLOUD_OFFLINE_RETRY_SECONDS sets the consumers' retry delay locally; without it none, as deployed; the retries stay", () => {
      const manifest = describeService(context({ orders: { handler: 'handlers/orders.default', events: [{ fromQueue: 'orders' }] } }).plan)
      const consumer = (): Record<string, unknown> => ((runtimeWorkers(manifest, '/tmp/worker')[0]?.queueConsumers ?? {}) as Record<string, Record<string, unknown>>)['shop-prod-orders'] ?? {}
      expect(consumer()).to.not.have.property('retryDelay')
      process.env.POLYCLOUD_OFFLINE_RETRY_SECONDS = '2'
      try {
        expect(consumer()).to.include({ retryDelay: 2, maxRetries: 4, deadLetterQueue: 'shop-prod-orders-dlq' })
      } finally {
        delete process.env.POLYCLOUD_OFFLINE_RETRY_SECONDS
      }
    })
  })
})
