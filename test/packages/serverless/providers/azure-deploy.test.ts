/**
 * Deploy, redeploy, info, invoke and remove for Azure against a local stand-in of Azure Resource Manager and the
 * app's own endpoints (test/helpers/arm-stand-in.ts: the published operations, api-versions, body schemas and
 * long-running operations of Azure/azure-rest-api-specs). Credentials are injected; every connection is checked to
 * go to 127.0.0.1.
 */
import { expect } from 'chai'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ProviderError } from 'serverless-polycloud/errors'
import type { FunctionConfig, Logger, ServiceContext } from 'serverless-polycloud/provider'
import { appInfo, deployApp, invokeApp, removeApp, type AzureEnvironment } from 'serverless-polycloud/providers/azure/deploy'
import { azure } from 'serverless-polycloud/providers/azure/index'
import type { AzurePlan } from 'serverless-polycloud/providers/azure/plan'
import { BUILT_IN_ROLES, startArmStandIn, type ArmStandIn } from '../../../helpers/arm-stand-in.ts'
import { ROOT } from '../../../helpers/serverless.ts'
import { contextFor, planFor } from '../support.ts'

const SUBSCRIPTION = '00000000-1111-2222-3333-444444444444'

const FUNCTIONS: Record<string, FunctionConfig> = {
  hello: { handler: 'handlers/hello.default', events: [{ route: 'GET /hello' }] },
  quotes: { handler: 'handlers/quotes.default', events: [{ route: 'POST /quotes' }] },
  greetings: { handler: 'handlers/greetings.default', events: [{ route: 'GET /greetings/{name}' }] },
  report: { handler: 'handlers/report.default', events: [{ cron: '0 3 * * 1-5' }] },
  orders: { handler: 'handlers/orders.default', events: [{ fromQueue: { name: 'orders', batchSize: 10 } }] },
  alerts: { handler: 'handlers/alerts.default', events: [{ topic: 'shop-test-alerts' }] },
  thumbnails: { handler: 'handlers/thumbnails.default', events: [{ bucket: { name: 'shop-test-uploads', prefix: 'images/' } }] },
}

interface Captured {
  context: ServiceContext<AzurePlan>
  lines: string[]
  notices: string[]
}

function serviceContext(workDir: string, packageDir: string, options: Record<string, unknown> = {}, region = 'westeurope', functions = FUNCTIONS): Captured {
  const providerConfig = { name: 'azure', runtime: 'nodejs22.x', environment: { LOG_LEVEL: 'info' } }
  const plan = planFor(azure, functions, { service: 'shop', stage: 'test', provider: providerConfig })
  mkdirSync(workDir, { recursive: true })
  for (const entry of azure.entries(plan, { workDir, servicePath: ROOT })) writeFileSync(join(workDir, entry.file), entry.source)
  const lines: string[] = []
  const notices: string[] = []
  const log: Logger = { notice: (line) => notices.push(line), info: () => {}, verbose: () => {}, warning: (line) => notices.push(line), error: (line) => notices.push(line) }
  return {
    lines,
    notices,
    context: contextFor(plan, { region, workDir, packageDir, options, log, write: (line) => lines.push(line) }),
  }
}

/** The operations of a sequence, without the polls of long-running operations and the reads that end them. */
const sequence = (standIn: ArmStandIn, from = 0) =>
  standIn.calls
    .slice(from)
    .map((call) => call.operation)
    .filter((name) => !['Operation_Poll', 'Resource_Get', 'WebApps_Get'].includes(name))

/** The operations that write (every method but GET and HEAD, without the POSTs that only read). */
const writes = (standIn: ArmStandIn, from = 0) =>
  standIn.calls
    .slice(from)
    .filter((call) => !['GET', 'HEAD'].includes(call.method) && !/_List[A-Z]|_ListKeys$/.test(call.operation))
    .map((call) => call.operation)


/** A request body the stand-in recorded, read field by field. */
type Site = Record<string, unknown>

/** The value at a dotted path of a recorded body (`properties.functionAppConfig.runtime`). */
function field(body: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((value, key) => (typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined), body)
}

describe('serverless/providers/azure: deploy, info, invoke, remove against an ARM stand-in', function () {
  this.timeout(120_000)
  let standIn: ArmStandIn
  let env: AzureEnvironment
  let workDir: string
  let packageDir: string
  let tokens = 0
  const connections: string[] = []
  const connect = Socket.prototype.connect

  before(async () => {
    standIn = await startArmStandIn(SUBSCRIPTION)
    env = {
      subscriptionId: SUBSCRIPTION,
      credential: { getToken: async () => (tokens++, { token: 'test-token', expiresOnTimestamp: Date.now() + 3_600_000 }) },
      endpoint: standIn.url,
      appUrl: (url) => standIn.appUrl(url),
      ca: standIn.ca,
      pollIntervalMs: 10,
    }
    workDir = join(ROOT, '.polycloud', 'azure-deploy-test')
    packageDir = mkdtempSync(join(tmpdir(), 'polycloud-azure-deploy-'))
    // Every connection any client opens is recorded: none may leave 127.0.0.1.
    Socket.prototype.connect = function (this: Socket, ...args: unknown[]) {
      // net.connect passes its normalised arguments: [options, callback].
      const first = (Array.isArray(args[0]) ? args[0][0] : args[0]) as { host?: string; path?: string } | number
      connections.push(typeof first === 'object' && first !== null ? (first.host ?? first.path ?? 'localhost') : String(args[1] ?? 'localhost'))
      return (connect as (...a: unknown[]) => Socket).apply(this, args)
    } as typeof Socket.prototype.connect
  })

  after(async () => {
    Socket.prototype.connect = connect
    await standIn?.stop()
    rmSync(workDir, { recursive: true, force: true })
    rmSync(packageDir, { recursive: true, force: true })
  })

  it('deploys: resource group, storage, Service Bus, plan, app, settings, zip, triggers, blob events; prints the URLs', async () => {
    const { context, lines } = serviceContext(workDir, packageDir)
    const result = await deployApp(context, env)
    // The preflight reads first: the resource providers, the regions offering Flex Consumption.
    expect(sequence(standIn).slice(0, 5)).to.deep.equal(['Providers_Get', 'Providers_Get', 'Providers_Get', 'Providers_Get', 'ListGeoRegions'])
    expect(writes(standIn)).to.deep.equal([
      'ResourceGroups_CreateOrUpdate',
      'StorageAccounts_Create',
      'BlobContainers_Create',
      'BlobContainers_Create',
      'Queue_Create',
      'Namespaces_CreateOrUpdate',
      'Topics_CreateOrUpdate',
      'Subscriptions_CreateOrUpdate',
      'AppServicePlans_CreateOrUpdate',
      'WebApps_CreateOrUpdate',
      'Scm_Publish',
      'WebApps_SyncFunctionTriggers',
      'SystemTopics_CreateOrUpdate',
      'SystemTopicEventSubscriptions_CreateOrUpdate',
    ])
    const names = result.names
    expect(names.app).to.match(/^shop-test-[0-9a-f]{6}$/)
    expect(names.storageAccount).to.match(/^shoptest[0-9a-f]{6}$/)
    const byId = (operation: string) => standIn.calls.find((call) => call.operation === operation)?.body as Site
    const site = byId('WebApps_CreateOrUpdate')
    expect(site.kind).to.equal('functionapp,linux')
    expect(site.tags).to.deep.equal({ 'polycloud-service': 'shop', 'polycloud-stage': 'test', 'managed-by': 'serverless-polycloud' })
    expect(field(site, 'properties.functionAppConfig.runtime')).to.deep.equal({ name: 'node', version: '22' })
    expect(field(site, 'properties.functionAppConfig.scaleAndConcurrency')).to.deep.equal({ instanceMemoryMB: 2048, maximumInstanceCount: 100 })
    expect(field(site, 'properties.functionAppConfig.deployment.storage')).to.deep.equal({
      type: 'blobContainer',
      value: `https://${names.storageAccount}.blob.core.windows.net/app-package`,
      authentication: { type: 'StorageAccountConnectionString', storageAccountConnectionStringName: 'DEPLOYMENT_STORAGE_CONNECTION_STRING' },
    })
    expect(byId('AppServicePlans_CreateOrUpdate').sku).to.deep.equal({ name: 'FC1', tier: 'FlexConsumption' })
    const settings = Object.fromEntries(((field(byId('WebApps_CreateOrUpdate'), 'properties.siteConfig.appSettings') as Array<{ name: string; value: string }>) ?? []).map((setting) => [setting.name, setting.value]))
    expect(settings).to.include({ LOG_LEVEL: 'info', NODE_OPTIONS: '--enable-source-maps', POLYCLOUD_TIMEOUT_SECONDS: '1800' })
    expect(settings.AzureWebJobsStorage).to.match(new RegExp(`^DefaultEndpointsProtocol=https;AccountName=${names.storageAccount};AccountKey=`))
    expect(settings.ServiceBusConnection).to.match(/^Endpoint=sb:\/\/shop-test-[0-9a-f]{6}\.servicebus\.windows\.net\//)
    expect(standIn.calls.filter((call) => call.operation === 'BlobContainers_Create').map((call) => call.path.split('/').pop())).to.deep.equal(['app-package', 'shop-test-uploads'])
    expect(standIn.calls.find((call) => call.operation === 'Queue_Create')?.path).to.match(/\/queues\/shop-test-orders$/)
    expect(byId('Subscriptions_CreateOrUpdate')).to.deep.equal({ properties: { maxDeliveryCount: 10, deadLetteringOnMessageExpiration: true } })
    const subscription = byId('SystemTopicEventSubscriptions_CreateOrUpdate').properties as Site
    expect(subscription.destination).to.deep.equal({
      endpointType: 'WebHook',
      properties: { endpointUrl: `https://${names.app}.azurewebsites.net/runtime/webhooks/blobs?functionName=Host.Functions.thumbnails&code=blobs-key` },
    })
    expect(subscription.filter).to.deep.equal({ includedEventTypes: ['Microsoft.Storage.BlobCreated'], subjectBeginsWith: '/blobServices/default/containers/shop-test-uploads/blobs/images/' })
    const publish = standIn.requests.find((request) => request.path.endsWith('/api/publish'))
    expect(publish?.path).to.equal(`/apps/${names.app}.scm.azurewebsites.net/api/publish`)
    expect(publish?.headers.authorization).to.equal('Bearer test-token')
    expect([...result.functions].sort()).to.deep.equal(['alerts', 'greetings', 'hello', 'orders', 'quotes', 'report', 'thumbnails'])
    expect(result.urls).to.deep.include({ function: 'hello', method: 'GET', url: `https://${names.app}.azurewebsites.net/api/hello` })
    expect(lines.join('\n')).to.include(`hello: GET https://${names.app}.azurewebsites.net/api/hello`)
    expect(tokens).to.be.greaterThan(0)
  })

  it('deploys again with nothing changed: reads, the zip published, the triggers synced, nothing else written', async () => {
    const before = standIn.resources.size
    const from = standIn.calls.length
    const { context } = serviceContext(workDir, packageDir)
    await deployApp(context, env)
    // Before, every resource was PUT again (resource group aside): storage account, containers, queue, Service Bus
    // namespace, topic, subscription, plan, app, settings, system topic and event subscription.
    expect(standIn.calls.slice(from).map((call) => call.operation)).to.deep.equal([
      'Providers_Get',
      'Providers_Get',
      'Providers_Get',
      'Providers_Get',
      'ListGeoRegions',
      'ResourceGroups_CheckExistence',
      'StorageAccounts_GetProperties',
      'StorageAccounts_ListKeys',
      'BlobContainers_List',
      'Queue_List',
      'Namespaces_Get',
      'Topics_Get',
      'Subscriptions_Get',
      'Namespaces_ListKeys',
      'AppServicePlans_Get',
      'WebApps_Get',
      'WebApps_ListApplicationSettings',
      'Scm_Publish',
      'Scm_DeploymentStatus',
      'Scm_DeploymentStatus',
      'WebApps_SyncFunctionTriggers',
      'WebApps_ListFunctions',
      'SystemTopics_Get',
      'SystemTopicEventSubscriptions_Get',
    ])
    expect(standIn.resources.size).to.equal(before)
  })

  it('a changed setting writes only what differs: the app settings, the Service Bus subscription, the blob event filter', async () => {
    const from = standIn.calls.length
    const changed = serviceContext(workDir, packageDir, {}, 'westeurope', {
      ...FUNCTIONS,
      alerts: { handler: 'handlers/alerts.default', events: [{ topic: { name: 'shop-test-alerts', maxReceiveCount: 3 } }] },
      thumbnails: { handler: 'handlers/thumbnails.default', events: [{ bucket: { name: 'shop-test-uploads', prefix: 'photos/' } }] },
      hello: { handler: 'handlers/hello.default', events: [{ route: 'GET /hello' }], environment: { GREETING: 'hi' } },
    })
    await deployApp(changed.context, env)
    expect(writes(standIn, from)).to.deep.equal([
      'Subscriptions_CreateOrUpdate',
      'WebApps_UpdateApplicationSettings',
      'Scm_Publish',
      'WebApps_SyncFunctionTriggers',
      'SystemTopicEventSubscriptions_CreateOrUpdate',
    ])
    const subscription = standIn.calls.filter((call) => call.operation === 'SystemTopicEventSubscriptions_CreateOrUpdate').at(-1)?.body as Site
    expect(field(subscription, 'properties.filter.subjectBeginsWith')).to.equal('/blobServices/default/containers/shop-test-uploads/blobs/photos/')
    // Back to the service as it was.
    await deployApp(serviceContext(workDir, packageDir).context, env)
  })

  it('names everything the subscription lacks before creating anything: resource providers, Flex Consumption in the region', async () => {
    standIn.registrations.set('microsoft.eventgrid', 'NotRegistered')
    standIn.registrations.set('microsoft.servicebus', 'Registering')
    const from = standIn.calls.length
    const { context } = serviceContext(workDir, packageDir, {}, 'brazilsouth')
    let error: unknown
    try {
      await deployApp(context, env)
    } catch (caught) {
      error = caught
    } finally {
      standIn.registrations.set('microsoft.eventgrid', 'Registered')
      standIn.registrations.set('microsoft.servicebus', 'Registered')
    }
    expect(error).to.be.instanceOf(ProviderError)
    expect((error as Error).message).to.equal(
      [
        `Azure subscription ${SUBSCRIPTION} is not ready for this deploy; nothing was created or changed. Missing:`,
        `  - resource provider Microsoft.ServiceBus is still registering on subscription ${SUBSCRIPTION}`,
        `      az provider register --namespace Microsoft.ServiceBus --subscription ${SUBSCRIPTION} (then wait until az provider show --namespace Microsoft.ServiceBus --query registrationState says Registered)`,
        `  - resource provider Microsoft.EventGrid is not registered on subscription ${SUBSCRIPTION}`,
        `      az provider register --namespace Microsoft.EventGrid --subscription ${SUBSCRIPTION} (then wait until az provider show --namespace Microsoft.EventGrid --query registrationState says Registered)`,
        '  - Flex Consumption is not offered in brazilsouth',
        '      deploy to a region that offers it (--region westeurope, northeurope, eastus, eastus2, westus2, uksouth, ...; az functionapp list-flexconsumption-locations -o table)',
        '  fix each, then deploy again',
      ].join('\n'),
    )
    expect(standIn.calls.slice(from).map((call) => call.operation)).to.deep.equal(['Providers_Get', 'Providers_Get', 'Providers_Get', 'Providers_Get', 'ListGeoRegions'])
  })

  it('a namespace found unregistered at a write is named with the command that registers it', async () => {
    standIn.registrations.set('microsoft.web', 'NotRegistered')
    // Registration dropped between the preflight's read and a write (the plan found missing): ARM's own refusal.
    standIn.failNext('Providers_Get', { status: 200, body: { namespace: 'Microsoft.Web', registrationState: 'Registered' } })
    standIn.failNext('AppServicePlans_Get', { status: 404, body: { error: { code: 'ResourceNotFound', message: 'not found' } } })
    const { context } = serviceContext(workDir, packageDir)
    let error: unknown
    try {
      await deployApp(context, env)
    } catch (caught) {
      error = caught
    } finally {
      standIn.registrations.set('microsoft.web', 'Registered')
    }
    expect((error as Error).message).to.equal(
      "Azure refused the request: The subscription is not registered to use namespace 'Microsoft.Web'. See https://aka.ms/rps-not-found for how to register subscriptions.\n  register the resource provider: az provider register --namespace Microsoft.Web, wait until it is Registered, then deploy again",
    )
  })

  it('info lists the functions, their triggers and URLs', async () => {
    const { context, lines } = serviceContext(workDir, packageDir)
    const functions = await appInfo(context, env)
    expect(functions.find((fn) => fn.name === 'hello')).to.deep.include({ trigger: 'httpTrigger' })
    expect(functions.find((fn) => fn.name === 'hello')?.url).to.match(/^https:\/\/shop-test-[0-9a-f]{6}\.azurewebsites\.net\/api\/hello$/)
    expect(functions.find((fn) => fn.name === 'report')).to.deep.equal({ name: 'report', trigger: 'timerTrigger' })
    expect(lines.join('\n')).to.match(/Functions:\n {2}hello: httpTrigger https:/)
  })

  it('invokes an HTTP function at its URL and any other through the admin API', async () => {
    const hello = serviceContext(workDir, packageDir, { function: 'hello' })
    const answer = await invokeApp(hello.context, env)
    expect(answer.status).to.equal(200)
    expect(JSON.parse(answer.body)).to.deep.equal({ hello: 'world', provider: 'azure' })
    const quote = serviceContext(workDir, packageDir, { function: 'quotes', data: JSON.stringify({ items: [{ sku: 'a', quantity: 2, unitPrice: 100 }] }) })
    expect(JSON.parse((await invokeApp(quote.context, env)).body)).to.include({ total: 200 })
    const greeting = serviceContext(workDir, packageDir, { function: 'greetings', data: JSON.stringify({ input: { path: '/greetings/Ada?lang=fr' } }) })
    expect(JSON.parse((await invokeApp(greeting.context, env)).body)).to.deep.equal({ greeting: 'Bonjour, Ada!', lang: 'fr' })
    const missing = serviceContext(workDir, packageDir, { function: 'greetings' })
    await invokeApp(missing.context, env).then(
      () => expect.fail('invoked without the route parameter'),
      (error: Error) => expect(error.message).to.equal('function greetings has route parameters (/greetings/{name})\n  give the path: --data \'{"input":{"path":"/greetings/<name>"}}\''),
    )
    const report = serviceContext(workDir, packageDir, { function: 'report' })
    expect((await invokeApp(report.context, env)).status).to.equal(202)
    const admin = standIn.requests.find((request) => request.path.endsWith('/admin/functions/report'))
    expect(admin?.headers['x-functions-key']).to.be.a('string').and.not.equal('')
  })

  it('removes only what it tagged, and keeps a resource group that still holds something else', async () => {
    const { context } = serviceContext(workDir, packageDir)
    const rg = `/subscriptions/${SUBSCRIPTION}/resourceGroups/shop-test-rg`
    const foreign = `${rg}/providers/Microsoft.Storage/storageAccounts/someoneelses`
    standIn.seed(foreign, { name: 'someoneelses', type: 'Microsoft.Storage/storageAccounts', location: 'westeurope', tags: { owner: 'finance' } })
    const spoofed = `${rg}/providers/Microsoft.Web/serverfarms/other-stage`
    standIn.seed(spoofed, { name: 'other-stage', type: 'Microsoft.Web/serverfarms', location: 'westeurope', tags: { 'polycloud-service': 'shop', 'polycloud-stage': 'prod', 'managed-by': 'serverless-polycloud' } })
    const from = standIn.calls.length
    const deleted = await removeApp(context, env)
    expect(sequence(standIn, from)).to.deep.equal([
      'ResourceGroups_CheckExistence',
      'Resources_ListByResourceGroup',
      'SystemTopics_Delete',
      'WebApps_Delete',
      'AppServicePlans_Delete',
      'Namespaces_Delete',
      'StorageAccounts_Delete',
      'ResourceGroups_Get',
      'Resources_ListByResourceGroup',
    ])
    expect(deleted).to.have.length(5)
    expect(standIn.resources.has(foreign.toLowerCase())).to.equal(true)
    expect(standIn.resources.has(spoofed.toLowerCase())).to.equal(true)
    expect(standIn.resources.has(rg.toLowerCase())).to.equal(true)
    for (const call of standIn.calls.slice(from).filter((entry) => entry.method === 'DELETE')) {
      expect(call.path.toLowerCase()).to.not.include('someoneelses')
      expect(call.path.toLowerCase()).to.not.include('other-stage')
    }
  })

  it('removes the resource group it created once it is empty', async () => {
    const rg = `/subscriptions/${SUBSCRIPTION}/resourceGroups/shop-test-rg`
    standIn.resources.delete(`${rg}/providers/Microsoft.Storage/storageAccounts/someoneelses`.toLowerCase())
    standIn.resources.delete(`${rg}/providers/Microsoft.Web/serverfarms/other-stage`.toLowerCase())
    const { context } = serviceContext(workDir, packageDir)
    await deployApp(context, env)
    const from = standIn.calls.length
    await removeApp(context, env)
    expect(sequence(standIn, from).slice(-2)).to.deep.equal(['Resources_ListByResourceGroup', 'ResourceGroups_Delete'])
    expect([...standIn.resources.keys()].filter((id) => id.startsWith(rg.toLowerCase()))).to.deep.equal([])
  })

  it('never connected anywhere but 127.0.0.1', () => {
    expect(connections.length).to.be.greaterThan(0)
    expect([...new Set(connections)]).to.deep.equal(['127.0.0.1'])
  })

  describe('refusals: the API\'s message and what to do, no stack', () => {
    const attempt = async (setup: () => void, envOverride: Partial<AzureEnvironment> = {}, region?: string): Promise<ProviderError> => {
      setup()
      const { context } = serviceContext(workDir, packageDir, {}, region)
      try {
        await deployApp(context, { ...env, ...envOverride })
      } catch (error) {
        expect(error).to.be.instanceOf(ProviderError)
        return error as ProviderError
      }
      throw new Error('the deploy did not fail')
    }

    it('a taken storage account name', async () => {
      const error = await attempt(() => standIn.failNext('StorageAccounts_Create', { status: 409, body: { error: { code: 'StorageAccountAlreadyTaken', message: 'The storage account named shoptestabc is already taken.' } } }))
      expect(error.message).to.equal(
        'a name is taken: The storage account named shoptestabc is already taken.\n  names of storage accounts, function apps and Service Bus namespaces are global: set custom.polycloud.azure.appName, or deploy another --stage',
      )
    })

    it('a quota error', async () => {
      const error = await attempt(() =>
        standIn.failNext('AppServicePlans_CreateOrUpdate', { status: 409, body: { error: { code: 'SubscriptionIsOverQuotaForSku', message: 'This region has quota of 0 instances for your subscription. Try selecting different region or SKU.' } } }),
      )
      expect(error.message).to.match(/^Azure quota: This region has quota of 0 instances/)
      expect(error.message).to.include('request a quota increase')
    })

    it('credentials that do not work', async () => {
      const failing = { getToken: async () => Promise.reject(Object.assign(new Error('DefaultAzureCredential failed to retrieve a token from the included credentials.'), { name: 'AggregateAuthenticationError' })) }
      const error = await attempt(() => {}, { credential: failing })
      expect(error.message).to.match(/^Azure refused the credentials: DefaultAzureCredential failed/)
      expect(error.message).to.include('az login')
    })

    it('an AWS region given with --region', async () => {
      const error = await attempt(() => {}, {}, 'eu-west-1')
      expect(error.message).to.match(/^"eu-west-1" is not an Azure region\n {2}pass --region/)
    })

    it("provider.region of another provider: Azure's region of the same area, said once", async () => {
      const providerConfig = { name: 'azure', runtime: 'nodejs22.x', region: 'eu-west-1', environment: { LOG_LEVEL: 'info' } }
      const plan = planFor(azure, FUNCTIONS, { service: 'shop', stage: 'test', provider: providerConfig })
      const notices: string[] = []
      const log: Logger = { notice: (line) => notices.push(line), info: () => {}, verbose: () => {}, warning: () => {}, error: () => {} }
      const from = standIn.calls.length
      await deployApp(contextFor(plan, { region: plan.model.region, workDir, packageDir, log, write: () => {} }), env)
      expect(notices[0]).to.equal('provider.region eu-west-1 is an AWS region: Azure uses westeurope, its region of the same area (Western Europe) (--region to choose)')
      expect(standIn.calls.slice(from).some((call) => call.operation === 'ListGeoRegions')).to.equal(true)
    })
  })
})

describe('serverless/providers/azure: declared resources at deploy and remove (ARM stand-in)', function () {
  this.timeout(120_000)
  const RESOURCES = { uploads: 'bucket', orders: 'queue', alerts: 'topic' }
  const USING: Record<string, FunctionConfig> = {
    upload: { handler: 'handlers/uploads.default', uses: ['uploads', 'orders'], events: [{ route: 'POST /uploads' }] },
    thumbnails: { handler: 'handlers/thumbnails.default', uses: ['uploads'], events: [{ bucket: { name: 'uploads', prefix: 'images/' } }] },
    orders: { handler: 'handlers/orders.default', uses: ['alerts'], events: [{ fromQueue: 'orders' }] },
    hello: { handler: 'handlers/hello.default', events: [{ route: 'GET /hello' }] },
  }
  let standIn: ArmStandIn
  let env: AzureEnvironment
  let workDir: string
  let packageDir: string

  const contextOf = (functions: Record<string, FunctionConfig>, options: Record<string, unknown> = {}) => {
    const plan = planFor(azure, functions, { service: 'shop', stage: 'res', provider: { name: 'azure', runtime: 'nodejs22.x' }, resources: RESOURCES })
    mkdirSync(workDir, { recursive: true })
    for (const entry of azure.entries(plan, { workDir, servicePath: ROOT })) writeFileSync(join(workDir, entry.file), entry.source)
    const notices: string[] = []
    const log: Logger = { notice: (line) => notices.push(line), info: () => {}, verbose: () => {}, warning: (line) => notices.push(line), error: (line) => notices.push(line) }
    return { notices, context: contextFor(plan, { region: 'westeurope', workDir, packageDir, options, log, write: () => {} }) }
  }
  const assignments = () => [...standIn.roleAssignments.values()].map((assignment) => assignment.properties as { scope: string; roleDefinitionId: string; principalId: string; principalType: string; description: string })
  const roleOf = (definition: string) => BUILT_IN_ROLES[definition.split('/').pop() as string]

  before(async () => {
    standIn = await startArmStandIn(SUBSCRIPTION)
    env = {
      subscriptionId: SUBSCRIPTION,
      credential: { getToken: async () => ({ token: 'test-token', expiresOnTimestamp: Date.now() + 3_600_000 }) },
      endpoint: standIn.url,
      appUrl: (url) => standIn.appUrl(url),
      ca: standIn.ca,
      pollIntervalMs: 10,
    }
    workDir = join(ROOT, '.polycloud', 'azure-deploy-resources-test')
    packageDir = mkdtempSync(join(tmpdir(), 'polycloud-azure-resources-'))
  })

  after(async () => {
    await standIn?.stop()
    rmSync(workDir, { recursive: true, force: true })
    rmSync(packageDir, { recursive: true, force: true })
  })

  it("creates each declared resource, gives the app an identity and grants it each used entity's role, on that entity only", async () => {
    const { context } = contextOf(USING)
    const { names } = await deployApp(context, env)
    const created = (operation: string) => standIn.calls.filter((call) => call.operation === operation).map((call) => call.path.split('/').pop())
    expect(created('BlobContainers_Create')).to.deep.equal(['app-package', 'shop-res-uploads'])
    expect(created('Queue_Create')).to.deep.equal(['shop-res-orders'])
    expect(created('Topics_CreateOrUpdate')).to.deep.equal(['shop-res-alerts'])
    // A topic the code only publishes to: no subscription.
    expect(created('Subscriptions_CreateOrUpdate')).to.deep.equal([])
    const site = standIn.calls.find((call) => call.operation === 'WebApps_CreateOrUpdate')?.body as Site
    expect(site.identity).to.deep.equal({ type: 'SystemAssigned' })
    const settings = standIn.calls.find((call) => call.operation === 'WebApps_CreateOrUpdate' || call.operation === 'WebApps_UpdateApplicationSettings')
    const values = Object.fromEntries(((field(settings?.body, 'properties.siteConfig.appSettings') as Array<{ name: string; value: string }>) ?? []).map((setting) => [setting.name, setting.value]))
    expect(values).to.include({
      PolycloudStorage__blobServiceUri: `https://${names.storageAccount}.blob.core.windows.net`,
      PolycloudStorage__queueServiceUri: `https://${names.storageAccount}.queue.core.windows.net`,
      PolycloudServiceBus__fullyQualifiedNamespace: `${names.serviceBus}.servicebus.windows.net`,
    })
    // No key of the account or namespace in Polycloud's own connections: the identity's roles are the access.
    expect(Object.keys(values).filter((name) => name.startsWith('Polycloud') && !name.includes('__'))).to.deep.equal([])
    const principal = (standIn.resources.get(`/subscriptions/${SUBSCRIPTION}/resourceGroups/shop-res-rg/providers/Microsoft.Web/sites/${names.app}`.toLowerCase())?.identity as { principalId: string }).principalId
    const group = `/subscriptions/${SUBSCRIPTION}/resourceGroups/shop-res-rg/providers`
    expect(assignments().map((assignment) => [assignment.scope, roleOf(assignment.roleDefinitionId), assignment.principalId, assignment.principalType]).sort()).to.deep.equal(
      [
        [`${group}/Microsoft.ServiceBus/namespaces/${names.serviceBus}/topics/shop-res-alerts`, 'Azure Service Bus Data Sender', principal, 'ServicePrincipal'],
        [`${group}/Microsoft.Storage/storageAccounts/${names.storageAccount}/blobServices/default/containers/shop-res-uploads`, 'Storage Blob Data Contributor', principal, 'ServicePrincipal'],
        [`${group}/Microsoft.Storage/storageAccounts/${names.storageAccount}/queueServices/default/queues/shop-res-orders`, 'Storage Queue Data Message Sender', principal, 'ServicePrincipal'],
      ].sort(),
    )
    expect(assignments().find((assignment) => assignment.scope.endsWith('/shop-res-uploads'))?.description).to.equal('serverless-polycloud: uploads for upload, thumbnails')
  })

  it('deploys again with nothing changed: the assignments listed, none written', async () => {
    const from = standIn.calls.length
    await deployApp(contextOf(USING).context, env)
    const operations = standIn.calls.slice(from).map((call) => call.operation)
    expect(operations).to.include('RoleAssignments_ListForResourceGroup')
    expect(operations.filter((operation) => operation.startsWith('RoleAssignments_') && operation !== 'RoleAssignments_ListForResourceGroup')).to.deep.equal([])
    expect(standIn.roleAssignments.size).to.equal(3)
  })

  it('revokes what no function uses any more, and leaves assignments it did not make', async () => {
    const principal = assignments()[0]?.principalId as string
    const foreign = `/subscriptions/${SUBSCRIPTION}/resourceGroups/shop-res-rg/providers/Microsoft.Authorization/roleAssignments/11111111-2222-3333-4444-555555555555`
    standIn.roleAssignments.set(foreign.toLowerCase(), { id: foreign, name: '11111111-2222-3333-4444-555555555555', properties: { scope: `/subscriptions/${SUBSCRIPTION}/resourceGroups/shop-res-rg`, roleDefinitionId: `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1`, principalId: principal, description: 'made by hand' } })
    const { context, notices } = contextOf({ ...USING, orders: { handler: 'handlers/orders.default', events: [{ fromQueue: 'orders' }] } })
    const from = standIn.calls.length
    await deployApp(context, env)
    expect(standIn.calls.slice(from).filter((call) => call.operation === 'RoleAssignments_Delete')).to.have.length(1)
    expect(assignments().some((assignment) => assignment.scope.endsWith('/topics/shop-res-alerts'))).to.equal(false)
    expect(standIn.roleAssignments.has(foreign.toLowerCase())).to.equal(true)
    expect(notices.join('\n')).to.match(/Revoking the app's role on .*\/topics\/shop-res-alerts \(no function uses it any more\)/)
    standIn.roleAssignments.delete(foreign.toLowerCase())
  })

  it('remove keeps the storage account while a declared bucket holds objects, saying so; --deleteObjects deletes it', async () => {
    const { context, notices } = contextOf(USING)
    const { names } = await deployApp(context, env)
    standIn.blobs.set(`${names.storageAccount}/shop-res-uploads`, new Set(['images/cat.png']))
    await removeApp(context, env)
    expect(notices.join('\n')).to.include(`Storage account ${names.storageAccount} kept: container shop-res-uploads still holds objects (serverless remove --deleteObjects deletes it with the account)`)
    expect(notices.join('\n')).to.include('Resource group shop-res-rg kept: it holds the storage account kept with its data')
    const account = `/subscriptions/${SUBSCRIPTION}/resourceGroups/shop-res-rg/providers/Microsoft.Storage/storageAccounts/${names.storageAccount}`.toLowerCase()
    expect(standIn.resources.has(account)).to.equal(true)
    // The app went, with its identity's assignments (they would outlive it otherwise).
    expect(standIn.roleAssignments.size).to.equal(0)
    const listing = standIn.requests.find((request) => request.path.includes('.blob.core.windows.net/shop-res-uploads'))
    expect(listing?.headers.authorization).to.match(new RegExp(`^SharedKey ${names.storageAccount}:`))
    await removeApp(contextOf(USING, { deleteObjects: true }).context, env)
    expect([...standIn.resources.keys()].filter((id) => id.includes('/resourcegroups/shop-res-rg'))).to.deep.equal([])
  })

  it('an empty bucket does not keep the account', async () => {
    const { context } = contextOf(USING)
    await deployApp(context, env)
    await removeApp(context, env)
    expect([...standIn.resources.keys()].filter((id) => id.includes('/resourcegroups/shop-res-rg'))).to.deep.equal([])
  })
})
