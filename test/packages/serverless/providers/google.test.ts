/** The Google Cloud target: mapping, layout, generated entries, limits, and `serverless package` of the demo. */
import { expect } from 'chai'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError } from 'serverless-polycloud/errors'
import { functionEntry, mainModule } from 'serverless-polycloud/providers/google/entry'
import { toGoogleSchedule } from 'serverless-polycloud/providers/google/events'
import { invocation } from 'serverless-polycloud/providers/google/invoke-local'
import { google } from 'serverless-polycloud/providers/google/index'
import { googleSettings } from 'serverless-polycloud/providers/google/plan'
import { parseSchedule } from 'serverless-polycloud/schedule'
import { ROOT, serverless } from '../../../helpers/serverless.ts'
import { planFor } from '../support.ts'
import { DEMO_FUNCTIONS, googleContext } from './google-support.ts'

const contexts: string[] = []
function context(...args: Parameters<typeof googleContext>) {
  const made = googleContext(...args)
  contexts.push(made.workDir.replace(/\/\.polycloud\/google$/, ''))
  return made
}

function thrown(run: () => unknown): Error {
  try {
    run()
  } catch (error) {
    return error as Error
  }
  throw new Error('expected a throw')
}

describe('serverless/providers/google', () => {
  after(() => contexts.forEach((dir) => rmSync(dir, { recursive: true, force: true })))

  describe('mapping', () => {
    it('schedules: a cron as it is, a rate as the cron firing at the same times, or refused', () => {
      expect(toGoogleSchedule(parseSchedule('0 3 * * mon-fri'))).to.equal('0 3 * * MON-FRI')
      expect(toGoogleSchedule(parseSchedule('@hourly'))).to.equal('0 * * * *')
      expect(toGoogleSchedule(parseSchedule('rate(15 minutes)'))).to.equal('*/15 * * * *')
      expect(toGoogleSchedule(parseSchedule('rate(6 hours)'))).to.equal('0 */6 * * *')
      expect(toGoogleSchedule(parseSchedule('rate(1 day)'))).to.equal('0 0 * * *')
      expect(() => toGoogleSchedule(parseSchedule('rate(7 minutes)'))).to.throw(ConfigError, 'rate(7 minutes) has no Cloud Scheduler (unix-cron) equivalent')
    })

    it('lays the demo out: one routing function, a function per entry point, the queue, the schedule topic and job', () => {
      const { layout } = googleSettings(context())
      expect(layout.functions.map((fn) => [fn.id, fn.entryPoint, fn.signature])).to.deep.equal([
        ['polycloud-demo-dev', 'polycloudRoutes', 'http'],
        ['polycloud-demo-dev-hello', 'hello', 'http'],
        ['polycloud-demo-dev-greetings', 'greetings', 'http'],
        ['polycloud-demo-dev-quotes', 'quotes', 'http'],
        ['polycloud-demo-dev-report', 'report', 'cloudevent'],
        ['polycloud-demo-dev-orders', 'orders', 'http'],
        ['polycloud-demo-dev-alerts', 'alerts', 'cloudevent'],
        ['polycloud-demo-dev-thumbnails', 'thumbnails', 'cloudevent'],
      ])
      expect(layout.router?.routes.map((route) => `${route.method} ${route.path} ${route.functionId}`)).to.deep.equal([
        'GET /hello polycloud-demo-dev-hello',
        'GET /greetings/{name} polycloud-demo-dev-greetings',
        'POST /quotes polycloud-demo-dev-quotes',
      ])
      expect(layout.topics.map((topic) => `${topic.name} ${topic.role}`)).to.deep.equal([
        'polycloud-demo-dev-report-schedule schedule',
        'polycloud-demo-dev-orders queue',
        'polycloud-demo-dev-orders-dlq dead-letter',
        'polycloud-demo-dev-alerts topic',
      ])
      expect(layout.subscriptions).to.deep.equal([
        {
          name: 'polycloud-demo-dev-orders-push',
          topic: 'polycloud-demo-dev-orders',
          queue: 'orders',
          function: 'orders',
          functionId: 'polycloud-demo-dev-orders',
          deadLetterTopic: 'polycloud-demo-dev-orders-dlq',
          maxDeliveryAttempts: 5,
          ackDeadlineSeconds: 10,
          ordered: false,
        },
      ])
      expect(layout.jobs).to.deep.equal([
        { name: 'polycloud-demo-dev-report-cron', function: 'report', schedule: '0 3 * * *', timeZone: 'UTC', topic: 'polycloud-demo-dev-report-schedule', enabled: true },
      ])
    })

    it('deploys a function with more event triggers than gen 2 allows once per trigger; functionUrls: false keeps routes behind the router only', () => {
      const ctx = context(
        {
          files: { handler: 'handlers/thumbnails.default', events: [{ bucket: { name: 'in-bucket', on: 'all' } }] },
          api: { handler: 'handlers/hello.default', events: [{ route: 'GET /a' }, { route: 'ANY /b/{rest+}' }] },
          nightly: { handler: 'handlers/report.default', events: [{ cron: '@daily' }, { cron: { schedule: '0 12 * * *', timeZone: 'Europe/Paris', enabled: false } }] },
        },
        { custom: { functionUrls: false } },
      )
      const { layout } = googleSettings(ctx)
      expect(layout.functions.map((fn) => `${fn.id} ${fn.trigger?.describe ?? 'http'}`)).to.deep.equal([
        'polycloud-demo-dev http',
        'polycloud-demo-dev-files bucket in-bucket (finalized)',
        'polycloud-demo-dev-files-2 bucket in-bucket (deleted)',
        'polycloud-demo-dev-nightly schedule topic polycloud-demo-dev-nightly-schedule',
      ])
      expect(layout.jobs.map((job) => `${job.name} ${job.schedule} ${job.timeZone} ${job.enabled}`)).to.deep.equal([
        'polycloud-demo-dev-nightly-cron 0 0 * * * UTC true',
        'polycloud-demo-dev-nightly-cron-2 0 12 * * * Europe/Paris false',
      ])
    })

    it('gives the routing function one environment: the route functions must agree on a variable', () => {
      const error = thrown(() =>
        googleSettings(
          context({
            a: { handler: 'handlers/hello.default', environment: { MODE: 'a' }, events: [{ route: 'GET /a' }] },
            b: { handler: 'handlers/hello.default', environment: { MODE: 'b' }, events: [{ route: 'GET /b' }] },
          }),
        ),
      )
      expect(error.message).to.equal(
        'functions.b.environment.MODE: differs from functions.a.environment.MODE, and one routing function serves both routes: give it one value (provider.environment)',
      )
    })
  })

  describe('limits checked at package time, naming the function and the field', () => {
    const cases: Array<[string, Parameters<typeof googleContext>, string]> = [
      ['event timeout', [{ r: { handler: 'handlers/report.default', timeout: 600, events: [{ cron: '@daily' }] } }], "functions.r.timeout: 600 s is beyond Cloud Functions gen 2's limit for event-driven functions (1-540 s); an HTTP function may run up to 3600 s"],
      ['HTTP timeout', [{ h: { handler: 'handlers/hello.default', events: [{ route: 'GET /h' }] } }, { providerConfig: { timeout: 4000 } }], "provider.timeout: 4000 s is beyond Cloud Functions gen 2's limit for HTTP functions (1-3600 s)"],
      ['memory', [{ h: { handler: 'handlers/hello.default', memorySize: 300 } }], 'functions.h.memorySize: 300 MB is not a Cloud Functions gen 2 memory size (128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768)'],
      ['region', [DEMO_FUNCTIONS, { providerConfig: { region: 'mars-north-1' } }], 'provider.region: "mars-north-1" is not a Cloud Run functions region (such as europe-west1, us-central1, asia-northeast1; see https://cloud.google.com/functions/docs/locations), nor an AWS or Azure region Polycloud pairs with one (README: One region for every provider)'],
      ['region given with --region', [DEMO_FUNCTIONS, { options: { region: 'eu-west-1' } }], '--region: "eu-west-1" is not a Cloud Run functions region'],
      ['region option', [DEMO_FUNCTIONS, { options: { region: 'mars-1' } }], '--region: "mars-1" is not a Cloud Run functions region'],
      ['dead-letter attempts', [{ q: { handler: 'handlers/orders.default', events: [{ fromQueue: { name: 'q', maxReceiveCount: 3 } }] } }], 'functions.q.events[0].fromQueue: maxReceiveCount 3 is outside what Pub/Sub allows for a dead-letter policy (5-100 delivery attempts)'],
      ['reserved variable', [{ h: { handler: 'handlers/hello.default', environment: { K_SERVICE: 'x' } } }], 'functions.h.environment.K_SERVICE: is set by Cloud Functions itself and cannot be set'],
      ['long id', [{ aVeryLongFunctionNameThatDoesNotFitInCloudRun: { handler: 'handlers/hello.default' } }], 'functions.aVeryLongFunctionNameThatDoesNotFitInCloudRun: the Cloud Function id "polycloud-demo-dev-averylongfunctionnamethatdoesnotfitincloudrun"'],
      ['runtime', [DEMO_FUNCTIONS, { custom: { runtime: 'nodejs18' } }], 'custom.polycloud.google.runtime: "nodejs18" is not a Node runtime Cloud Functions offers before its end of life (nodejs22, nodejs24)'],
    ]
    for (const [name, args, message] of cases) {
      it(name, () => {
        const error = thrown(() => googleSettings(context(...args)))
        expect(error).to.be.instanceOf(ConfigError)
        expect(error.message.startsWith(message), error.message).to.equal(true)
      })
    }

    it("reads another provider's provider.region as Google's region of the same area", () => {
      const aws = googleSettings(context(DEMO_FUNCTIONS, { providerConfig: { region: 'eu-west-1' } }))
      expect(aws.region).to.equal('europe-west1')
      expect(aws.regionNote).to.equal('provider.region eu-west-1 is an AWS region: Google Cloud uses europe-west1, its region of the same area (Western Europe)')
      expect(googleSettings(context(DEMO_FUNCTIONS, { providerConfig: { region: 'japaneast' } })).region).to.equal('asia-northeast1')
      const own = googleSettings(context(DEMO_FUNCTIONS, { providerConfig: { region: 'us-west1' } }))
      expect([own.region, own.regionNote]).to.deep.equal(['us-west1', undefined])
      expect(googleSettings(context(DEMO_FUNCTIONS, { providerConfig: { region: 'eu-west-1' }, custom: { region: 'europe-west4' } })).region).to.equal('europe-west4')
    })

    it('deploys a runtime past end of life on nodejs22, and says so', () => {
      const settings = googleSettings(context(DEMO_FUNCTIONS, { providerConfig: { runtime: 'nodejs20.x' } }))
      expect(settings.runtime).to.equal('nodejs22')
      expect(settings.notes).to.deep.equal([
        'provider.runtime nodejs20.x is not a Node runtime Cloud Functions offers before its end of life: deploying on nodejs22 (set custom.polycloud.google.runtime to choose)',
      ])
    })
  })

  describe('entries', () => {
    it("registers each function with only its events' formats; bucket key filters run in the entry", () => {
      const ctx = context()
      const thumbnails = ctx.plan.functions.find((fn) => fn.name === 'thumbnails')!
      const source = functionEntry(thumbnails, 'cloudevent', `${ctx.workDir}/entries`, ROOT)
      expect(source).to.include("import { registerCloudEvent } from '@polycloud/gcp/register'")
      expect(source).to.include("import { gcpStorage } from '@polycloud/gcp/storage'")
      expect(source).to.include('const RULES = [{"bucket":"polycloud-demo-dev-uploads","prefix":"images/","suffix":""}]')
      expect(source).to.include('registerCloudEvent("thumbnails", filtered, [gcpStorage])')
      const orders = ctx.plan.functions.find((fn) => fn.name === 'orders')!
      expect(functionEntry(orders, 'http', `${ctx.workDir}/entries`, ROOT)).to.include('registerHttp("orders", portable, [gcpPubSubQueue])')
      // With its push subscriptions, its messages name the queue, not the subscription.
      const named = functionEntry(orders, 'http', `${ctx.workDir}/entries`, ROOT, [], { 'polycloud-demo-dev-orders-push': 'polycloud-demo-dev-orders' })
      expect(named).to.include("import { namedPubSubQueue } from '@polycloud/gcp/pubsub'")
      expect(named).to.include('registerHttp("orders", portable, [namedPubSubQueue({"polycloud-demo-dev-orders-push":"polycloud-demo-dev-orders"})])')
    })

    it('hands a function its declared schedules, told apart by their Cloud Scheduler jobs', () => {
      const plan = planFor(google, { report: { handler: 'handlers/report.default', events: [{ cron: ' 0 3 * * * ' }, { cron: 'rate(6 hours)' }] } })
      const [report] = plan.functions
      const jobs = plan.entryLayout.jobs.map((job) => job.name)
      expect(jobs).to.deep.equal(['shop-prod-report-cron', 'shop-prod-report-cron-2'])
      const source = functionEntry(report!, 'cloudevent', '/service/.polycloud/google/entries', '/service', jobs)
      expect(source).to.include("import { declareSchedules } from '@polycloud/core/schedule'")
      expect(source).to.include(
        'registerCloudEvent("report", portable, [declareSchedules(gcpSchedulerPubSub, [{"name":"report","schedule":"0 3 * * *","trigger":"shop-prod-report-cron"},{"name":"report","schedule":"rate(6 hours)","trigger":"shop-prod-report-cron-2"}])])',
      )
    })

    it('the main module loads only the bundle of the function an instance serves', () => {
      const main = mainModule(['polycloudRoutes', 'hello'])
      expect(main).to.include('const target = process.env.FUNCTION_TARGET')
      expect(main).to.include('"hello": "./functions/hello.js"')
    })

    it('invoke local sends what Google sends: a structured CloudEvent, a push body, an HTTP request', () => {
      const { layout } = googleSettings(context())
      const spec = (name: string) => layout.functions.find((fn) => fn.function === name)!
      expect(() => invocation(spec('alerts'), { message: {} })).to.throw(ConfigError, 'alerts is a CloudEvent function: the payload must be a CloudEvent')
      expect(invocation(spec('alerts'), { specversion: '1.0', type: 't', id: '1', source: 's' }).headers).to.deep.equal({ 'content-type': 'application/cloudevents+json' })
      expect(invocation(spec('orders'), { message: { data: '' }, subscription: 's' })).to.deep.include({ method: 'POST', path: '/', headers: { 'content-type': 'application/json' } })
      expect(invocation(spec('hello'), { method: 'post', path: '/hello?x=1', body: { a: 1 } })).to.deep.equal({
        method: 'POST',
        path: '/hello?x=1',
        headers: { 'content-type': 'application/json' },
        body: '{"a":1}',
      })
    })
  })

  describe('serverless package (the demo, POLYCLOUD_PROVIDER=google)', function () {
    this.timeout(120_000)
    let dir: string
    let zip: string

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'polycloud-google-package-'))
      const run = await serverless(['package', '--package', dir], { env: { POLYCLOUD_PROVIDER: 'google' } })
      expect(run.code, run.stdout + run.stderr).to.equal(0)
      expect(run.stderr).to.match(/Packaged polycloud-demo for Google Cloud \(nodejs22\): /)
      zip = join(dir, 'polycloud-demo.zip')
    })

    after(() => rmSync(dir, { recursive: true, force: true }))

    const entries = () => execFileSync('unzip', ['-Z1', zip]).toString().trim().split('\n').sort()
    const read = (name: string) => execFileSync('unzip', ['-p', zip, name], { maxBuffer: 16 * 1024 * 1024 }).toString()

    it('writes the source gen 2 builds as it is: package.json, index.js, a bundle and source map per entry point', () => {
      const names = ['polycloudRoutes', 'hello', 'greetings', 'me', 'quotes', 'uploads', 'downloads', 'preferences', 'fail', 'report', 'orders', 'alerts', 'thumbnails', 'chat', 'telemetry', 'readings', 'devices']
      expect(entries()).to.deep.equal(['index.js', 'package.json', ...names.flatMap((name) => [`functions/${name}.js`, `functions/${name}.js.map`])].sort())
      expect(JSON.parse(read('package.json'))).to.deep.equal({
        name: 'polycloud-demo',
        version: '1.0.0',
        private: true,
        description: 'polycloud-demo (dev), packaged by serverless-polycloud for Cloud Functions gen 2',
        main: 'index.js',
        engines: { node: '22.x' },
        dependencies: { '@google-cloud/functions-framework': '5.0.5' },
      })
    })

    it("bundles each function with its handler and the adapter, the Functions Framework left to Google's build, no other cloud's code", () => {
      const hello = read('functions/hello.js')
      // Resolved at run time from the bundle's place (Google's build installs it), never bundled.
      expect(hello).to.include('"@google-cloud/functions-framework"')
      expect(hello).to.not.include('registrationContainer')
      expect(hello).to.include('sourceMappingURL=hello.js.map')
      for (const marker of ['@azure/functions', 'azure:', 'cloudflare:', 'aws:', 'execute-api', 'Microsoft.Storage']) expect(hello, marker).to.not.include(marker)
      expect(JSON.parse(read('functions/hello.js.map')).sources).to.include('../../../../handlers/hello.ts')
    })

    it('is reproducible: the same service gives the same bytes', async () => {
      const first = readFileSync(zip)
      const again = await serverless(['package', '--package', dir], { env: { POLYCLOUD_PROVIDER: 'google' } })
      expect(again.code).to.equal(0)
      expect(readFileSync(zip).equals(first)).to.equal(true)
    })
  })
})
