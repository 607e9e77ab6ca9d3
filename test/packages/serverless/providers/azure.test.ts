import { expect } from 'chai'
import { ConfigError } from 'serverless-polycloud/errors'
import { readEvents, type NeutralEvent } from 'serverless-polycloud/model'
import type { FunctionConfig } from 'serverless-polycloud/provider'
import { appEntry } from 'serverless-polycloud/providers/azure/entry'
import { neutralPlan, routeTemplate, storageQueueName } from 'serverless-polycloud/providers/azure/events'
import { azure } from 'serverless-polycloud/providers/azure/index'
import { hostJson, timeSpan } from 'serverless-polycloud/providers/azure/package'
import { appEnvironment, appSettings, azureFunctions, nodeVersion } from 'serverless-polycloud/providers/azure/plan'
import { adminBody, adminInvocation } from 'serverless-polycloud/providers/azure/offline'
import { fromRpcHttp, setCookieHeader, toRpcHttp, type RegisteredFunction } from 'serverless-polycloud/providers/azure/rpc'
import { fromNcrontab, ncrontab } from 'serverless-polycloud/providers/azure/schedule'
import { azureNames } from 'serverless-polycloud/providers/azure/deploy'
import { ROOT } from '../../../helpers/serverless.ts'
import { planFor } from '../support.ts'

const settings = { service: 'shop', stage: 'prod' }
const event = (key: string, value: unknown) => readEvents('f', { events: [{ [key]: value }] })[0] as NeutralEvent
const plan = (key: string, value: unknown, timeout?: number) => neutralPlan(event(key, value), 'f', { ...settings, timeout })

describe('serverless/providers/azure', () => {
  describe('cron to NCRONTAB', () => {
    it('adds the seconds field and keeps the rest', () => {
      expect(ncrontab('0 3 * * *')).to.equal('0 0 3 * * *')
      expect(ncrontab('*/15 8-18 1,15 * *')).to.equal('0 */15 8-18 1,15 * *')
      expect(ncrontab('5/10 * * * *')).to.equal('0 5-59/10 * * * *')
      expect(ncrontab('30 6 * jan-mar *')).to.equal('0 30 6 * 1-3 *')
    })

    it('writes weekdays 0-6 from Sunday (crontab 7 is Sunday too)', () => {
      expect(ncrontab('0 9 * * 1-5')).to.equal('0 0 9 * * 1,2,3,4,5')
      expect(ncrontab('0 9 * * 7')).to.equal('0 0 9 * * 0')
      expect(ncrontab('0 9 * * 5-7')).to.equal('0 0 9 * * 0,5,6')
      expect(ncrontab('0 9 * * sat,sun')).to.equal('0 0 9 * * 0,6')
      expect(ncrontab('0 9 * * 0-6')).to.equal('0 0 9 * * *')
      expect(ncrontab('@weekly')).to.equal('0 0 0 * * 0')
      expect(ncrontab('@daily')).to.equal('0 0 0 * * *')
    })

    it('turns rates that divide the clock into crons and refuses the others', () => {
      expect(ncrontab('rate(5 minutes)')).to.equal('0 */5 * * * *')
      expect(ncrontab('rate(1 minute)')).to.equal('0 * * * * *')
      expect(ncrontab('rate(120 minutes)')).to.equal('0 0 */2 * * *')
      expect(ncrontab('rate(6 hours)')).to.equal('0 0 */6 * * *')
      expect(ncrontab('rate(1 day)')).to.equal('0 0 0 * * *')
      expect(() => ncrontab('rate(7 minutes)')).to.throw(/rate\(7 minutes\) has no Azure timer equivalent/)
      expect(() => ncrontab('rate(2 days)')).to.throw(/no Azure timer equivalent/)
    })

    it('refuses a cron restricting both day fields (NCRONTAB needs both to match)', () => {
      expect(() => ncrontab('0 9 1 * 1')).to.throw(/both day-of-month and day-of-week/)
    })

    it('gives the local scheduler five fields back', () => {
      expect(fromNcrontab('0 0 9 * * 1,2,3,4,5')).to.equal('0 9 * * 1,2,3,4,5')
      expect(() => fromNcrontab('30 * * * * *')).to.throw(/firing at second 0/)
    })
  })

  describe('mapping', () => {
    it('maps routes to HTTP triggers: template, methods, anonymous unless told', () => {
      expect(plan('route', 'GET /notes/{id}')).to.deep.equal({
        native: { type: 'http', options: { route: 'notes/{id}', methods: ['GET', 'HEAD'], authLevel: 'anonymous' }, resources: [] },
        sources: [{ name: 'azureHttp', module: 'http' }],
        kinds: ['http'],
      })
      expect(plan('route', { method: 'ANY', path: '/files/{path+}', authLevel: 'function' }).native.options).to.deep.equal({
        route: 'files/{*path}',
        methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'],
        authLevel: 'function',
      })
      expect(routeTemplate('/')).to.equal('')
      expect(() => plan('route', 'GET /x', 300)).to.throw(ConfigError, /timeout 300 s cannot be honoured for an HTTP function on Azure: responses end after 230 s/)
    })

    it('lets a GET trigger take HEAD (the host routes HEAD to no GET-only trigger), unless the service routes HEAD on that path', () => {
      expect(plan('route', 'POST /notes').native.options.methods).to.deep.equal(['POST'])
      const planned = planFor(azure, {
        page: { handler: 'handlers/hello.default', events: [{ route: 'GET /pages/{id}' }, { route: 'GET /other' }] },
        probe: { handler: 'handlers/hello.default', events: [{ route: 'HEAD /pages/{slug}' }] },
      })
      expect(azureFunctions(planned.functions).map(({ name, trigger }) => [name, trigger.options.methods])).to.deep.equal([
        ['page', ['GET']],
        ['page-1', ['GET', 'HEAD']],
        ['probe', ['HEAD']],
      ])
    })

    it('maps cron to a timer, disabled on request', () => {
      expect(plan('cron', '0 3 * * 1-5').native).to.deep.equal({ type: 'timer', options: { schedule: '0 0 3 * * 1,2,3,4,5', useMonitor: true }, resources: [] })
      expect(plan('cron', { schedule: '@hourly', enabled: false }).native.disabled).to.equal(true)
    })

    it('maps fromQueue to a Storage queue (name with service and stage), or a Service Bus queue', () => {
      expect(plan('fromQueue', { name: 'orders', batchSize: 10, maxReceiveCount: 3 }).native).to.deep.equal({
        type: 'storageQueue',
        options: { queueName: 'shop-prod-orders', connection: 'AzureWebJobsStorage' },
        resources: [{ kind: 'storageQueue', name: 'shop-prod-orders' }],
        host: { 'queues.batchSize': 10, 'queues.maxDequeueCount': 3 },
      })
      expect(plan('fromQueue', { name: 'jobs.fifo', serviceBus: true, maxReceiveCount: 4, connection: 'Bus' }).native).to.deep.equal({
        type: 'serviceBusQueue',
        options: { queueName: 'shop-prod-jobs', connection: 'Bus', isSessionsEnabled: true },
        resources: [{ kind: 'serviceBusQueue', name: 'shop-prod-jobs', maxDeliveryCount: 4, sessions: true }],
      })
      expect(storageQueueName('My_Queue.v2', settings)).to.equal('shop-prod-my-queue-v2')
    })

    it('refuses what a Storage queue cannot honour, naming the field', () => {
      expect(() => plan('fromQueue', { name: 'q', fifo: true })).to.throw(ConfigError, /fifo cannot be honoured by a Storage queue/)
      expect(() => plan('fromQueue', { name: 'q', batchSize: 100 })).to.throw(ConfigError, /batchSize 100 cannot be honoured/)
      expect(() => plan('fromQueue', { name: 'q', maximumBatchingWindow: 5 })).to.throw(ConfigError, /maximumBatchingWindow cannot be honoured on Azure/)
    })

    it('maps topic to a Service Bus topic subscription named after the function', () => {
      expect(plan('topic', 'shop-prod-alerts').native).to.deep.equal({
        type: 'serviceBusTopic',
        options: { topicName: 'shop-prod-alerts', subscriptionName: 'f', connection: 'ServiceBusConnection' },
        resources: [{ kind: 'serviceBusTopic', topic: 'shop-prod-alerts', subscription: 'f', maxDeliveryCount: 10 }],
      })
    })

    it('maps bucket events: created blobs to a blob trigger (Event Grid source) with prefix and suffix in its path', () => {
      expect(plan('bucket', { name: 'uploads', prefix: 'images/', suffix: '.png' }).native).to.deep.equal({
        type: 'storageBlob',
        options: { path: 'uploads/images/{name}.png', connection: 'AzureWebJobsStorage', source: 'EventGrid' },
        resources: [
          { kind: 'container', name: 'uploads' },
          { kind: 'blobEvents', container: 'uploads', events: ['Microsoft.Storage.BlobCreated'], prefix: 'images/', suffix: '.png', destination: 'blobTrigger' },
        ],
      })
      const deleted = plan('bucket', { name: 'uploads', on: 'all', prefix: 'a/', existing: true })
      expect(deleted.native.type).to.equal('eventGrid')
      expect(deleted.native.filter).to.deep.equal({ container: 'uploads', prefix: 'a/', suffix: '', events: ['Microsoft.Storage.BlobCreated', 'Microsoft.Storage.BlobDeleted'] })
      expect(deleted.native.resources.map((resource) => resource.kind)).to.deep.equal(['blobEvents'])
      expect(() => plan('bucket', 'my.bucket')).to.throw(ConfigError, /not a valid Azure container name/)
    })

    it('maps changes to a Cosmos DB change feed with its lease container and a retry policy', () => {
      expect(plan('changes', { table: 'shop/items', startingPosition: 'TRIM_HORIZON', batchSize: 50 }).native.options).to.deep.equal({
        connection: 'CosmosDBConnection',
        databaseName: 'shop',
        containerName: 'items',
        leaseContainerName: 'leases',
        createLeaseContainerIfNotExists: true,
        startFromBeginning: true,
        retry: { strategy: 'exponentialBackoff', maxRetryCount: 5, minimumInterval: { seconds: 4 }, maximumInterval: { minutes: 5 } },
        maxItemsPerInvocation: 50,
      })
      expect(() => plan('changes', 'items')).to.throw(ConfigError, /does not name a Cosmos DB container/)
    })
  })

  describe('the app', () => {
    const app = (functions: Record<string, FunctionConfig>) => planFor(azure, functions, { provider: { environment: { A: '1' } } })
    const prepare = (functions: Record<string, FunctionConfig>) => app(functions).functions

    it('registers every function through the helpers in one entry, one Azure function per event', () => {
      const planned = app({
        api: { handler: 'handlers/hello.default', events: [{ route: 'GET /a' }, { route: 'GET /b' }] },
        files: { handler: 'handlers/thumbnails.default', events: [{ bucket: { name: 'uploads', on: 'deleted', prefix: 'x/' } }] },
      })
      expect(azureFunctions(planned.functions).map((fn) => fn.name)).to.deep.equal(['api', 'api-1', 'files'])
      const source = appEntry(planned, `${ROOT}/.polycloud/azure`, ROOT)
      expect(source).to.include("import { registerEventGrid, registerHttp } from '@polycloud/azure/register'")
      expect(source).to.include('import handler0 from "../../handlers/hello"')
      expect(source).to.include('registerHttp("api", handler0, {"route":"a","methods":["GET","HEAD"],"authLevel":"anonymous"})')
      expect(source).to.include('registerHttp("api-1", handler0, {"route":"b","methods":["GET","HEAD"],"authLevel":"anonymous"})')
      expect(source).to.include('registerEventGrid("files", onlyBlobs(handler1, {"container":"uploads","prefix":"x/","suffix":"","types":["deleted"]}), {})')
    })

    it('registers each timer with the schedule its cron event declares and the function\'s name', () => {
      const planned = app({ nightly: { handler: 'handlers/report.default', events: [{ cron: '0 9 * * 1-5' }, { cron: 'rate(6 hours)' }] } })
      const source = appEntry(planned, `${ROOT}/.polycloud/azure`, ROOT)
      expect(source).to.include('registerTimer("nightly", handler0, {"schedule":"0 0 9 * * 1,2,3,4,5","useMonitor":true}, {"name":"nightly","schedule":"0 9 * * 1-5"})')
      expect(source).to.include('registerTimer("nightly-1", handler0, {"schedule":"0 0 */6 * * *","useMonitor":true}, {"name":"nightly","schedule":"rate(6 hours)"})')
    })

    it('refuses a function without events, native events, and bad names', () => {
      expect(() => azureFunctions(prepare({ lonely: { handler: 'handlers/hello.default' } }))).to.throw(ConfigError, /functions\.lonely\.events: an Azure function runs only from a trigger/)
      expect(() => prepare({ t: { handler: 'handlers/report.default', events: [{ timer: { schedule: '0 0 3 * * *' } }] } })).to.throw(ConfigError, /functions\.t\.events\[0\]\.timer: native event "timer" is not served by Polycloud on Azure/)
      expect(() => azureFunctions(prepare({ '9lives': { handler: 'handlers/hello.default', events: [{ route: 'GET /x' }] } }))).to.throw(ConfigError, /not a valid Azure function name/)
    })

    it('resolves app-wide settings: the largest timeout, memory rounded up to a Flex size, agreeing queue settings', () => {
      const functions = prepare({
        a: { handler: 'handlers/orders.default', timeout: 60, memorySize: 1024, events: [{ fromQueue: { name: 'a', batchSize: 8 } }] },
        b: { handler: 'handlers/orders.default', timeout: 20, events: [{ fromQueue: { name: 'b', batchSize: 8 } }] },
      })
      const warnings: string[] = []
      const resolved = appSettings(functions, { runtime: 'nodejs24.x' }, { warning: (line) => warnings.push(line), notice() {}, info() {}, error() {}, verbose() {} })
      expect(resolved).to.deep.equal({ timeout: 60, memoryMB: 2048, node: 24, host: { 'queues.batchSize': 8 } })
      expect(warnings).to.deep.equal(['Azure has one function timeout per app (host.json functionTimeout): 60 s, also for b'])
      const conflicting = prepare({
        a: { handler: 'handlers/orders.default', events: [{ fromQueue: { name: 'a', batchSize: 8 } }] },
        b: { handler: 'handlers/orders.default', events: [{ fromQueue: { name: 'b', batchSize: 4 } }] },
      })
      expect(() => appSettings(conflicting, {})).to.throw(ConfigError, /functions\.b\.events\[0\]\.fromQueue: queues\.batchSize 4 differs from 8 set by functions\.a\.events\[0\]\.fromQueue/)
      expect(() => appSettings(prepare({ a: { handler: 'handlers/hello.default', memorySize: 8192, events: [{ route: 'GET /x' }] } }), {})).to.throw(ConfigError, /functions\.a\.memorySize: 8192 MB cannot be honoured/)
    })

    it('runs Node 22 or 24; 20 (end of life) becomes 22 with a warning', () => {
      expect(nodeVersion('nodejs22.x')).to.equal(22)
      expect(nodeVersion(undefined)).to.equal(22)
      const warnings: string[] = []
      expect(nodeVersion('nodejs20.x', { warning: (line) => warnings.push(line), notice() {}, info() {}, error() {}, verbose() {} })).to.equal(22)
      expect(warnings[0]).to.match(/Node\.js 20 reached end of life/)
      expect(() => nodeVersion('nodejs18.x')).to.throw(ConfigError, /provider\.runtime: "nodejs18\.x" is not a Node\.js version Azure Functions/)
    })

    it('writes host.json for the Functions 4 extension bundle, the api prefix and the timeout', () => {
      expect(hostJson({ timeout: 90, memoryMB: 2048, node: 22, host: { 'queues.maxDequeueCount': 3, 'serviceBus.maxConcurrentCalls': 4 } })).to.deep.equal({
        version: '2.0',
        extensionBundle: { id: 'Microsoft.Azure.Functions.ExtensionBundle', version: '[4.*, 5.0.0)' },
        functionTimeout: '00:01:30',
        extensions: {
          http: { routePrefix: 'api' },
          queues: { batchSize: 16, maxDequeueCount: 3, visibilityTimeout: '00:00:00', messageEncoding: 'base64' },
          serviceBus: { maxConcurrentCalls: 4 },
        },
        logging: { logLevel: { default: 'Information' } },
      })
      expect(timeSpan(90061)).to.equal('1.01:01:01')
    })

    it('refuses app settings two functions set differently', () => {
      const functions = prepare({
        a: { handler: 'handlers/hello.default', environment: { X: '1' }, events: [{ route: 'GET /a' }] },
        b: { handler: 'handlers/hello.default', environment: { X: '2' }, events: [{ route: 'GET /b' }] },
      })
      expect(() => appEnvironment(functions)).to.throw(ConfigError, /functions\.b\.environment\.X: differs from the value functions\.a gives it/)
      expect(appEnvironment(prepare({ a: { handler: 'handlers/hello.default', events: [{ route: 'GET /a' }] } }))).to.deep.equal({ A: '1' })
    })

    it('names resources with the stage in every name, deterministically per subscription', () => {
      const names = azureNames({ service: 'polycloud-demo', stage: 'dev', custom: {} }, 'sub-1')
      expect(names).to.deep.include({ resourceGroup: 'polycloud-demo-dev-rg', plan: 'polycloud-demo-dev-plan', deploymentContainer: 'app-package' })
      expect(names.app).to.match(/^polycloud-demo-dev-[0-9a-f]{6}$/)
      expect(names.storageAccount).to.match(/^polyclouddemodev[0-9a-f]{6}$/)
      expect(names.storageAccount.length).to.be.at.most(24)
      expect(azureNames({ service: 'polycloud-demo', stage: 'dev', custom: {} }, 'sub-1')).to.deep.equal(names)
      expect(azureNames({ service: 'polycloud-demo', stage: 'dev', custom: {} }, 'sub-2').app).to.not.equal(names.app)
      expect(azureNames({ service: 'x', stage: 'dev', custom: { appName: 'mine', resourceGroup: 'rg' } }, 's')).to.deep.include({ app: 'mine', resourceGroup: 'rg' })
    })
  })

  describe('the host protocol', () => {
    it('hands requests to the worker with every header, the query and the route parameters', () => {
      const http = toRpcHttp({ method: 'POST', url: 'http://127.0.0.1:7071/api/x?a=1&a=2', headers: { 'Content-Type': 'text/plain', cookie: 'a=1; b=2' }, body: Buffer.from('hi'), params: { id: '7' } })
      expect(http).to.deep.include({ method: 'POST', url: 'http://127.0.0.1:7071/api/x?a=1&a=2', headers: { 'content-type': 'text/plain', cookie: 'a=1; b=2' }, query: { a: '2' }, params: { id: '7' } })
    })

    it('writes each cookie as its own Set-Cookie header, encoded as the host encodes it', () => {
      expect(setCookieHeader({ name: 'theme', value: 'dark', path: { value: '/' }, maxAge: { value: 60 }, sameSite: 'lax', httpOnly: { value: true }, secure: { value: true } })).to.equal(
        'theme=dark; max-age=60; path=/; secure; samesite=lax; httponly',
      )
      expect(setCookieHeader({ name: 'b', value: "two words!'", sameSite: 'explicitNone', expires: { value: { seconds: 0 } } })).to.equal(
        "b=two%20words%21%27; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/; samesite=none",
      )
      const reply = fromRpcHttp({ statusCode: '201', headers: { 'Content-Type': 'image/png', 'content-length': '999' }, cookies: [{ name: 'a', value: '1' }, { name: 'b', value: '2' }], body: { bytes: new Uint8Array([0, 255, 1]) } })
      expect(reply).to.deep.equal({ status: 201, headers: { 'content-type': 'image/png', 'set-cookie': ['a=1; path=/', 'b=2; path=/'] }, body: Buffer.from([0, 255, 1]) })
    })

    it("the admin API's body: input as the host takes it, and triggerMetadata (a local extension) as an object", () => {
      expect(adminBody('{"input":"disk full","triggerMetadata":{"ApplicationProperties":{"severity":"warning"}}}')).to.deep.equal({ input: 'disk full', triggerMetadata: { ApplicationProperties: { severity: 'warning' } } })
      expect(adminBody('{"input":{"id":"o-1"}}')).to.deep.equal({ input: '{"id":"o-1"}', triggerMetadata: {} })
      expect(adminBody('')).to.deep.equal({ input: '', triggerMetadata: {} })
      expect(adminBody('[1]')).to.deep.equal({ input: '', triggerMetadata: {} })
      expect(adminBody('not json')).to.have.property('error').that.matches(/^the body must be JSON \{"input": \.\.\., "triggerMetadata": \{\.\.\.\}\}: /)
      expect(adminBody('{"triggerMetadata":[]}')).to.deep.equal({ error: 'triggerMetadata must be an object (metadata name -> value, e.g. {"ApplicationProperties": {"severity": "warning"}})' })
      expect(adminBody('{"triggerMetadata":{"ApplicationProperties":"severity=warning"}}')).to.deep.equal({ error: 'triggerMetadata.ApplicationProperties must be an object (property name -> value)' })
    })

    it('gives an admin-API Service Bus message its application properties (UserProperties too) and a Storage queue message its metadata', async () => {
      const topic: RegisteredFunction = { name: 'alerts', bindings: { message: { type: 'serviceBusTrigger', direction: 'in', topicName: 'alerts', subscriptionName: 'alerts' } } }
      const invocation = await adminInvocation(topic, 'disk full', undefined, { ApplicationProperties: { severity: 'warning', count: 3 }, Label: 'disk' })
      expect(invocation.data).to.deep.equal({ string: 'disk full' })
      expect(invocation.metadata.ApplicationProperties).to.deep.equal({ json: '{"severity":"warning","count":3}' })
      expect(invocation.metadata.UserProperties).to.deep.equal({ json: '{"severity":"warning","count":3}' })
      expect(invocation.metadata).to.deep.include({ Label: { string: 'disk' }, DeliveryCount: { int: 1 } })
      expect((await adminInvocation(topic, 'x', undefined)).metadata.ApplicationProperties).to.deep.equal({ json: '{}' })
      const queue: RegisteredFunction = { name: 'orders', bindings: { message: { type: 'queueTrigger', direction: 'in', queueName: 'orders' } } }
      const queued = await adminInvocation(queue, '{"id":"o-1"}', undefined, { DequeueCount: 3 })
      expect(queued.metadata).to.deep.include({ DequeueCount: { int: 3 }, QueueTrigger: { string: '{"id":"o-1"}' } })
    })
  })
})
