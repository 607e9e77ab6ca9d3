/**
 * `serverless deploy | remove | info | invoke` for Azure, with the official SDKs (imported when a command runs):
 * a resource group, a storage account (deployment container, the queues and containers the events need), a
 * Service Bus namespace when an event needs one, a Flex Consumption plan and the function app, the zip published
 * through the app's deployment endpoint (`/api/publish`, then its status polled), the triggers synced, Event Grid
 * subscriptions for blob events. Everything created carries the service's tags; remove deletes only what has them.
 * Subscription from AZURE_SUBSCRIPTION_ID, credentials from DefaultAzureCredential, the stage in every name.
 */
import { createHash } from 'node:crypto'
import { buffer } from 'node:stream/consumers'
import { existsSync, readFileSync } from 'node:fs'
import { request as httpsRequest } from 'node:https'
import { join } from 'node:path'
import type { TokenCredential } from '@azure/identity'
import { ProviderError } from '../../errors.js'
import type { Json, Logger, ServiceContext } from '../../provider.js'
import { ALL_METHODS, type AzureResource, type AzureTrigger } from './events.js'
import { mappedRegionNote, regionFor } from '../../regions.js'
import { deletesObjects } from '../../resources.js'
import { packageApp } from './package.js'
import { RESOURCE_CONNECTIONS, type AzureCustom, type AzureFunction, type AzureGrant, type AzurePlan } from './plan.js'
import { deployTables, storesHoldingData } from './stores.js'
import { deleteDataOption } from '../../resources.js'

type Context = ServiceContext<AzurePlan>

const ARM_SCOPE = 'https://management.azure.com/.default'
const EVENT_GRID_API = '2022-06-15'
/** Microsoft.Authorization role assignments (specification/authorization/.../stable/2022-04-01/authorization-RoleAssignmentsCalls.json). */
const AUTHORIZATION_API = '2022-04-01'
const MANAGED_BY = 'serverless-polycloud'

/** Where and as whom the commands talk to Azure. Tests point it at a local stand-in. */
export interface AzureEnvironment {
  readonly subscriptionId: string
  readonly credential: TokenCredential
  /** Azure Resource Manager, default https://management.azure.com. */
  readonly endpoint?: string
  /**
   * Rewrites the URLs that are not ARM's: the app's own (`https://<app>.scm.azurewebsites.net/...`,
   * `https://<app>.azurewebsites.net/...`) and the storage account's Blob service (`https://<account>.blob.core.windows.net/...`).
   */
  readonly appUrl?: (url: string) => string
  /** Certificates to trust besides the system's (a stand-in's self-signed one). */
  readonly ca?: string
  /** How often long operations and the deployment are polled, in ms (default 2000). */
  readonly pollIntervalMs?: number
}

/** The environment of a real run: AZURE_SUBSCRIPTION_ID and DefaultAzureCredential. */
async function defaultEnvironment(): Promise<AzureEnvironment> {
  const subscriptionId = process.env.AZURE_SUBSCRIPTION_ID
  if (!subscriptionId) {
    throw new ProviderError('AZURE_SUBSCRIPTION_ID is not set', 'export AZURE_SUBSCRIPTION_ID=<subscription id> (az account show --query id -o tsv), and sign in with az login or AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET')
  }
  const { DefaultAzureCredential } = await import('@azure/identity').catch(missingSdk)
  return { subscriptionId, credential: new DefaultAzureCredential() }
}

function missingSdk(error: Error): never {
  throw new ProviderError(
    `the Azure SDKs are not installed (${error.message.split('\n')[0]})`,
    'npm install --save-dev @azure/identity@4.13.1 @azure/arm-resources@7.0.0 @azure/arm-storage@20.0.0 @azure/arm-appservice@19.0.0 @azure/arm-servicebus@6.1.0',
  )
}

/** The names of everything the deploy creates for a service and stage (deterministic: a redeploy finds them). */
export interface AzureNames {
  readonly resourceGroup: string
  readonly storageAccount: string
  readonly plan: string
  readonly app: string
  readonly serviceBus: string
  readonly systemTopic: string
  readonly deploymentContainer: string
  readonly tags: Readonly<Record<string, string>>
}

/** What the names are made of: the service, the stage, `custom.polycloud.azure`. */
export interface NameParts {
  readonly service: string
  readonly stage: string
  readonly custom: AzureCustom
}

const nameParts = (context: Context): NameParts => ({ service: context.service, stage: context.stage, custom: context.plan.custom })

export function azureNames(context: NameParts, subscriptionId: string): AzureNames {
  const { service, stage } = context
  const hash = createHash('sha256').update(`${subscriptionId}/${service}/${stage}`).digest('hex').slice(0, 6)
  const alnum = (text: string) => text.toLowerCase().replace(/[^a-z0-9]/g, '')
  const dashed = (text: string, max: number) => `${text.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/-+/g, '-').slice(0, max).replace(/-$/, '')}`
  const base = dashed(`${service}-${stage}`, 40)
  const storageAccount = `${alnum(service).slice(0, Math.max(3, 18 - alnum(stage).length))}${alnum(stage)}`.slice(0, 18) + hash
  return {
    resourceGroup: context.custom.resourceGroup ?? `${service}-${stage}-rg`,
    storageAccount: storageAccount.length >= 3 ? storageAccount : `fn${storageAccount}`,
    plan: `${base}-plan`,
    app: context.custom.appName ?? `${base}-${hash}`,
    serviceBus: /^[a-z]/.test(base) ? `${base}-${hash}` : `sb-${base}-${hash}`,
    systemTopic: `${base}-storage-events`,
    deploymentContainer: 'app-package',
    tags: { 'polycloud-service': service, 'polycloud-stage': stage, 'managed-by': MANAGED_BY },
  }
}

/**
 * The Azure region: `--region` as given; `provider.region` as given when it is an Azure name, else (another
 * provider's region, `eu-west-1`) Azure's region of the same area (`regions.ts`; said once).
 */
function location(context: Context): string {
  const region = context.region
  if (region === undefined) throw new ProviderError('no region: Azure needs one', 'pass --region <region> (westeurope, eastus, ...) or set provider.region')
  const isAzure = (name: string) => /^[a-z]+[a-z0-9]*$/.test(name)
  if (context.plan.model.regionFrom === 'provider.region') {
    const mapped = regionFor('azure', region, isAzure)
    if (mapped !== undefined) {
      const note = mappedRegionNote('azure', region, mapped)
      if (note !== undefined) context.log.notice(`${note} (--region to choose)`)
      return mapped.region
    }
  }
  if (!isAzure(region)) {
    throw new ProviderError(`${JSON.stringify(region)} is not an Azure region`, 'pass --region with an Azure region name (westeurope, northeurope, eastus2, ...; az account list-locations -o table)')
  }
  return region
}

/** An SDK or HTTP failure as what the API said and what to do about it. */
export function explain(error: unknown): unknown {
  if (error instanceof ProviderError) return error
  const details = error as { name?: string; message?: string; statusCode?: number; code?: string; details?: { error?: { code?: string; message?: string } } }
  const code = details.details?.error?.code ?? details.code ?? ''
  const message = details.details?.error?.message ?? details.message ?? String(error)
  const status = details.statusCode
  if (details.name === 'CredentialUnavailableError' || details.name === 'AuthenticationError' || details.name === 'AggregateAuthenticationError' || status === 401) {
    return new ProviderError(`Azure refused the credentials: ${firstLine(message)}`, 'sign in with az login (or set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET), then deploy again')
  }
  if (code === 'MissingSubscriptionRegistration') {
    const namespace = /namespace '([^']+)'/.exec(message)?.[1] ?? '<namespace>'
    return new ProviderError(`Azure refused the request: ${firstLine(message)}`, `register the resource provider: az provider register --namespace ${namespace}, wait until it is Registered, then deploy again`)
  }
  if (status === 403 || code === 'AuthorizationFailed') {
    return new ProviderError(`Azure refused the request: ${firstLine(message)}`, 'the signed-in identity needs the Contributor role on the subscription or the resource group')
  }
  if (/AlreadyTaken|AlreadyExists|NameNotAvailable|already taken|already exists/i.test(`${code} ${message}`) || code === 'Conflict') {
    return new ProviderError(`a name is taken: ${firstLine(message)}`, 'names of storage accounts, function apps and Service Bus namespaces are global: set custom.polycloud.azure.appName, or deploy another --stage')
  }
  if (/quota|QuotaExceeded|SubscriptionIsOverQuotaForSku|LimitExceeded/i.test(`${code} ${message}`)) {
    return new ProviderError(`Azure quota: ${firstLine(message)}`, 'request a quota increase (Azure portal: Subscriptions > Usage + quotas), or deploy to another --region')
  }
  if (typeof status === 'number' || code !== '') return new ProviderError(`Azure answered ${status ?? ''} ${code}: ${firstLine(message)}`.replace(/\s+/g, ' ').trim())
  return error
}

function firstLine(text: string): string {
  return text.split('\n')[0]?.trim() ?? text
}

async function clients(env: AzureEnvironment) {
  const [resources, storage, web] = await Promise.all([import('@azure/arm-resources'), import('@azure/arm-storage'), import('@azure/arm-appservice')]).catch(missingSdk)
  const endpoint = env.endpoint ?? 'https://management.azure.com'
  const tlsOptions = env.ca ? { tlsOptions: { ca: env.ca } } : {}
  const classic = { endpoint, credentialScopes: [ARM_SCOPE], ...tlsOptions }
  const modular = { endpoint, credentials: { scopes: [ARM_SCOPE] }, ...tlsOptions }
  return {
    resources: new resources.ResourceManagementClient(env.credential, env.subscriptionId, classic),
    storage: new storage.StorageManagementClient(env.credential, env.subscriptionId, modular),
    web: new web.WebSiteManagementClient(env.credential, env.subscriptionId, modular),
    serviceBus: async () => {
      const { ServiceBusManagementClient } = await import('@azure/arm-servicebus').catch(missingSdk)
      return new ServiceBusManagementClient(env.credential, env.subscriptionId, classic)
    },
  }
}

type Clients = Awaited<ReturnType<typeof clients>>

const poll = (env: AzureEnvironment) => ({ updateIntervalInMs: env.pollIntervalMs ?? 2000 })

/** An HTTPS call to the app itself (its deployment endpoint, its functions, its admin API), with an ARM token. */
async function appRequest(env: AzureEnvironment, url: string, options: { method: string; body?: Buffer | string; headers?: Record<string, string>; token?: boolean }): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const headers: Record<string, string> = { ...options.headers }
  if (options.token !== false) {
    const token = await env.credential.getToken(ARM_SCOPE)
    if (!token) throw new ProviderError('no token for the app\'s deployment endpoint', 'sign in with az login')
    headers.authorization = `Bearer ${token.token}`
  }
  if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body))
  const target = new URL(env.appUrl ? env.appUrl(url) : url)
  return new Promise((resolve, reject) => {
    const request = httpsRequest(target, { method: options.method, headers, ...(env.ca ? { ca: env.ca } : {}), timeout: 120_000 }, (response) => {
      buffer(response).then((body) => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }), reject)
    })
    request.on('timeout', () => request.destroy(new Error(`${options.method} ${url} timed out`)))
    request.on('error', (error) => reject(new ProviderError(`${options.method} ${url} failed: ${error.message}`)))
    request.end(options.body)
  })
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** What a deploy did, for the summary and for tests. */
export interface DeployResult {
  readonly names: AzureNames
  readonly hostName: string
  readonly urls: ReadonlyArray<{ readonly function: string; readonly method: string; readonly url: string }>
  readonly functions: readonly string[]
}

/** A read of a resource: undefined when ARM answers 404. */
async function found<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read()
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined
    throw error
  }
}

/**
 * Whether a resource as ARM returns it has every value the deploy sets: objects field by field (fields the deploy
 * does not set are ignored), arrays item by item, resource ids and regions without regard to case.
 */
export function holds(current: unknown, wanted: unknown): boolean {
  if (wanted === undefined) return true
  if (Array.isArray(wanted)) return Array.isArray(current) && current.length === wanted.length && wanted.every((item, index) => holds(current[index], item))
  if (wanted !== null && typeof wanted === 'object') {
    if (current === null || typeof current !== 'object') return false
    return Object.entries(wanted).every(([key, value]) => holds((current as Json)[key], value))
  }
  if (typeof wanted === 'string' && typeof current === 'string' && wanted.startsWith('/subscriptions/')) return wanted.toLowerCase() === current.toLowerCase()
  return current === wanted
}

const sameSettings = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean =>
  JSON.stringify(Object.entries(a).sort(([x], [y]) => x.localeCompare(y))) === JSON.stringify(Object.entries(b).sort(([x], [y]) => x.localeCompare(y)))

/** The resource provider namespaces a deploy of the service uses. */
export function neededProviders(resources: readonly AzureResource[]): string[] {
  return [
    'Microsoft.Web',
    'Microsoft.Storage',
    ...(resources.some((resource) => resource.kind === 'serviceBusQueue' || resource.kind === 'serviceBusTopic') ? ['Microsoft.ServiceBus'] : []),
    ...(resources.some((resource) => resource.kind === 'blobEvents') ? ['Microsoft.EventGrid'] : []),
  ]
}

/**
 * What the subscription must have before the deploy creates anything, read first: the resource providers the
 * service uses registered (Microsoft.Resources `providers/get`), and Flex Consumption offered in the region
 * (Microsoft.Web `geoRegions?sku=FlexConsumption`, what `az functionapp list-flexconsumption-locations` reads).
 * Everything missing is reported at once, each with the command that fixes it; nothing is created then.
 */
async function preflight(api: Clients, env: AzureEnvironment, region: string, resources: readonly AzureResource[], log: Logger): Promise<void> {
  const missing: Array<{ what: string; fix: string }> = []
  const namespaces = neededProviders(resources)
  let webRegistered = true
  for (const namespace of namespaces) {
    const provider = await api.resources.providers.get(namespace)
    const state = provider.registrationState ?? 'NotRegistered'
    if (state === 'Registered') continue
    if (namespace === 'Microsoft.Web') webRegistered = false
    missing.push({
      what: `resource provider ${namespace} is ${state === 'Registering' ? 'still registering' : 'not registered'} on subscription ${env.subscriptionId}`,
      fix: `az provider register --namespace ${namespace} --subscription ${env.subscriptionId} (then wait until az provider show --namespace ${namespace} --query registrationState says Registered)`,
    })
  }
  if (webRegistered) {
    const offered: string[] = []
    for await (const geo of api.web.listGeoRegions({ sku: 'FlexConsumption' })) offered.push((geo.name ?? geo.displayName ?? '').toLowerCase().replace(/\s+/g, ''))
    if (!offered.includes(region)) {
      missing.push({
        what: `Flex Consumption is not offered in ${region}`,
        fix: `deploy to a region that offers it (--region ${offered.slice(0, 6).join(', ')}${offered.length > 6 ? ', ...' : ''}; az functionapp list-flexconsumption-locations -o table)`,
      })
    }
  } else log.warning('serverless-polycloud: the regions offering Flex Consumption are checked once Microsoft.Web is registered')
  if (missing.length === 0) return
  throw new ProviderError(
    `Azure subscription ${env.subscriptionId} is not ready for this deploy; nothing was created or changed. Missing:\n${missing.map((item) => `  - ${item.what}\n      ${item.fix}`).join('\n')}`,
    'fix each, then deploy again',
  )
}

/**
 * Creates or updates everything the service needs, publishes the zip and syncs the triggers. Each resource is read
 * first and written only when it is missing or differs from what the service sets: a second deploy with nothing
 * changed reads, publishes the zip (the code upload) and syncs the triggers, nothing more.
 */
export async function deployApp(context: Context, env: AzureEnvironment): Promise<DeployResult> {
  const region = location(context)
  const names = azureNames(nameParts(context), env.subscriptionId)
  const { settings } = context.plan.settings()
  const functions = context.plan.app
  const resources = functions.flatMap((fn) => fn.trigger.resources.map((resource) => ({ fn, resource })))
  // What the declared resources need besides the triggers', and what the app's identity is granted on them.
  const declared = context.plan.declared()
  const grants = context.plan.grants()
  const needed = [...resources.map(({ resource }) => resource), ...declared]
  const zipPath = join(context.packageDir, `${context.service}.zip`)
  if (!existsSync(zipPath)) await packageApp(context)
  const zip = readFileSync(zipPath)
  const api = await clients(env)
  const { tags } = names
  const log = (line: string) => context.log.notice(line)
  const rg = names.resourceGroup
  try {
    await preflight(api, env, region, needed, context.log)
    // Resource group: created with the tags when it does not exist; an existing one is used as it is.
    const existing = await api.resources.resourceGroups.checkExistence(rg)
    if (!existing.body) {
      log(`Creating resource group ${rg} in ${region}`)
      await api.resources.resourceGroups.createOrUpdate(rg, { location: region, tags })
    }
    const wantedAccount = { tags, sku: { name: 'Standard_LRS' as const }, kind: 'StorageV2' as const, minimumTlsVersion: 'TLS1_2' as const, allowBlobPublicAccess: false, enableHttpsTrafficOnly: true }
    let account = await found(() => api.storage.storageAccounts.getProperties(rg, names.storageAccount))
    if (account === undefined || !holds(account, wantedAccount)) {
      log(`${account === undefined ? 'Creating' : 'Updating'} storage account ${names.storageAccount}`)
      account = await api.storage.storageAccounts.create(rg, names.storageAccount, { location: region, ...wantedAccount }, poll(env))
    }
    const keys = await api.storage.storageAccounts.listKeys(rg, names.storageAccount)
    const key = keys.keys?.[0]?.value
    if (!key) throw new ProviderError(`storage account ${names.storageAccount} returned no key`, 'allow shared key access on the account (allowSharedKeyAccess)')
    const storageConnection = `DefaultEndpointsProtocol=https;AccountName=${names.storageAccount};AccountKey=${key};EndpointSuffix=core.windows.net`
    const blobEndpoint = account.primaryEndpoints?.blob ?? `https://${names.storageAccount}.blob.core.windows.net/`
    const containers = new Set<string>()
    for await (const container of api.storage.blobContainers.list(rg, names.storageAccount)) if (container.name) containers.add(container.name)
    for (const container of [names.deploymentContainer, ...unique(needed.flatMap((resource) => (resource.kind === 'container' ? [resource.name] : [])))]) {
      if (!containers.has(container)) await api.storage.blobContainers.create(rg, names.storageAccount, container, { publicAccess: 'None' })
    }
    const queues = new Set<string>()
    for await (const queue of api.storage.queue.list(rg, names.storageAccount)) if (queue.name) queues.add(queue.name)
    for (const queue of unique(needed.flatMap((resource) => (resource.kind === 'storageQueue' ? [resource.name] : [])))) {
      if (!queues.has(queue)) await api.storage.queue.create(rg, names.storageAccount, queue, {})
    }
    // The stores' tables (stores.ts).
    for (const table of await deployTables(api.storage, rg, names.storageAccount, context.plan.model.resources)) log(`Created table ${table} (a store)`)
    const appSettingsValues: Record<string, string> = {
      ...context.plan.environment(),
      AzureWebJobsStorage: storageConnection,
      DEPLOYMENT_STORAGE_CONNECTION_STRING: storageConnection,
      NODE_OPTIONS: '--enable-source-maps',
      POLYCLOUD_TIMEOUT_SECONDS: String(settings.timeout),
    }
    for (const fn of functions) if (fn.trigger.disabled) appSettingsValues[`AzureWebJobs.${fn.name}.Disabled`] = 'true'
    const busResources = needed.filter((resource) => resource.kind === 'serviceBusQueue' || resource.kind === 'serviceBusTopic')
    const busGrants = grants.some((grant) => grant.scope === 'serviceBusQueue' || grant.scope === 'serviceBusTopic')
    if (busResources.length > 0 || busGrants) appSettingsValues.ServiceBusConnection = await deployServiceBus(api, env, names, region, busResources)
    // Polycloud's clients reach what the functions use with the app's identity (identity-based connections).
    if (grants.some((grant) => grant.scope === 'container' || grant.scope === 'storageQueue')) {
      appSettingsValues[`${RESOURCE_CONNECTIONS.storage}__blobServiceUri`] = blobEndpoint.replace(/\/$/, '')
      appSettingsValues[`${RESOURCE_CONNECTIONS.storage}__queueServiceUri`] = (account.primaryEndpoints?.queue ?? `https://${names.storageAccount}.queue.core.windows.net/`).replace(/\/$/, '')
    }
    if (grants.some((grant) => grant.scope === 'table')) {
      appSettingsValues[`${RESOURCE_CONNECTIONS.storage}__tableServiceUri`] = (account.primaryEndpoints?.table ?? `https://${names.storageAccount}.table.core.windows.net/`).replace(/\/$/, '')
    }
    if (busGrants) appSettingsValues[`${RESOURCE_CONNECTIONS.serviceBus}__fullyQualifiedNamespace`] = `${names.serviceBus}.servicebus.windows.net`

    const wantedPlan = { tags, kind: 'functionapp', sku: { name: 'FC1', tier: 'FlexConsumption' }, reserved: true }
    let plan = await found(() => api.web.appServicePlans.get(rg, names.plan))
    if (plan === undefined || !holds(plan, wantedPlan)) {
      log(`${plan === undefined ? 'Creating' : 'Updating'} Flex Consumption plan ${names.plan}`)
      plan = await api.web.appServicePlans.createOrUpdate(rg, names.plan, { location: region, ...wantedPlan }, poll(env))
    }
    const wantedSite = {
      tags,
      kind: 'functionapp,linux',
      // The identity the role assignments are granted to, when the functions use resources.
      ...(grants.length > 0 ? { identity: { type: 'SystemAssigned' } } : {}),
      serverFarmId: plan.id,
      httpsOnly: true,
      siteConfig: { minTlsVersion: '1.2' },
      functionAppConfig: {
        deployment: {
          storage: {
            type: 'blobContainer',
            value: `${blobEndpoint.replace(/\/$/, '')}/${names.deploymentContainer}`,
            authentication: { type: 'StorageAccountConnectionString', storageAccountConnectionStringName: 'DEPLOYMENT_STORAGE_CONNECTION_STRING' },
          },
        },
        runtime: { name: 'node', version: String(settings.node) },
        scaleAndConcurrency: { instanceMemoryMB: settings.memoryMB, maximumInstanceCount: context.plan.custom.maximumInstanceCount ?? 100 },
      },
    }
    let site = await found(() => api.web.webApps.get(rg, names.app))
    if (site === undefined || !holds(site, wantedSite)) {
      log(`${site === undefined ? 'Creating' : 'Updating'} function app ${names.app} (Node.js ${settings.node}, ${settings.memoryMB} MB)`)
      site = await api.web.webApps.createOrUpdate(
        rg,
        names.app,
        {
          location: region,
          ...wantedSite,
          siteConfig: { ...wantedSite.siteConfig, appSettings: Object.entries(appSettingsValues).map(([name, value]) => ({ name, value })) },
        } as Parameters<typeof api.web.webApps.createOrUpdate>[2],
        poll(env),
      )
    }
    // The settings as a whole, when they differ: a redeploy drops the ones the service no longer has.
    const current = await api.web.webApps.listApplicationSettings(rg, names.app)
    if (!sameSettings(current.properties ?? {}, appSettingsValues)) await api.web.webApps.updateApplicationSettings(rg, names.app, { properties: appSettingsValues })
    const hostName = site.defaultHostName ?? `${names.app}.azurewebsites.net`
    const principal = (site as { identity?: { principalId?: string } }).identity?.principalId
    if (grants.length > 0) {
      if (!principal) throw new ProviderError(`function app ${names.app} has no managed identity (identity.principalId)`, 'deploy again; if it persists, turn on its system-assigned identity (az functionapp identity assign)')
      await deployRoleAssignments(env, names, principal, grants, context.log)
    }

    log(`Publishing ${context.service}.zip (${Math.round(zip.length / 1024)} KB)`)
    await publish(env, names.app, zip)
    await api.web.webApps.syncFunctionTriggers(rg, names.app)
    const deployed: string[] = []
    for await (const fn of api.web.webApps.listFunctions(rg, names.app)) deployed.push(shortName(fn.name ?? ''))
    const missing = functions.map((fn) => fn.name).filter((name) => !deployed.includes(name))
    if (missing.length > 0) {
      throw new ProviderError(
        `the app loaded ${deployed.length} of ${functions.length} functions (missing: ${missing.join(', ')})`,
        'the package did not load on Azure: check the app\'s log stream (az webapp log tail) for the worker\'s error',
      )
    }
    await deployBlobEvents(api, env, names, region, site.id ?? '', resources, hostName, account.id ?? '')
    const urls = httpUrls(functions, hostName)
    context.write(summary(context, names, region, hostName, functions, urls))
    return { names, hostName, urls, functions: deployed }
  } catch (error) {
    throw explain(error)
  }
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)]
}

/** `app/fn` (how ARM names a function) -> `fn`. */
function shortName(name: string): string {
  return name.includes('/') ? name.slice(name.lastIndexOf('/') + 1) : name
}

/** Posts the zip to the app's deployment endpoint and waits for the deployment to finish. */
async function publish(env: AzureEnvironment, app: string, zip: Buffer): Promise<void> {
  const scm = `https://${app}.scm.azurewebsites.net`
  const response = await appRequest(env, `${scm}/api/publish?RemoteBuild=false&Deployer=serverless-polycloud`, { method: 'POST', body: zip, headers: { 'content-type': 'application/zip' } })
  if (response.status !== 200 && response.status !== 202) {
    throw new ProviderError(`the deployment endpoint answered ${response.status}: ${firstLine(response.body.toString('utf8')) || '(no message)'}`, 'check that the app exists and that the identity may deploy to it (Website Contributor)')
  }
  const id = response.body.toString('utf8').trim().replace(/^"|"$/g, '') || 'latest'
  for (let attempt = 0; attempt < 300; attempt++) {
    const status = await appRequest(env, `${scm}/api/deployments/${encodeURIComponent(id)}`, { method: 'GET' })
    if (status.status === 200) {
      const deployment = JSON.parse(status.body.toString('utf8')) as { status?: number; complete?: boolean; status_text?: string }
      if (deployment.status === 3) {
        const log = await appRequest(env, `${scm}/api/deployments/${encodeURIComponent(id)}/log`, { method: 'GET' })
        throw new ProviderError(`the deployment failed: ${deployment.status_text || firstLine(log.body.toString('utf8'))}`, `its log: ${scm}/api/deployments/${id}/log`)
      }
      if (deployment.complete && deployment.status === 4) return
    } else if (status.status !== 202 && status.status !== 404) {
      throw new ProviderError(`the deployment status answered ${status.status}`)
    }
    await sleep(env.pollIntervalMs ?? 2000)
  }
  throw new ProviderError('the deployment did not finish in time', `follow it at ${scm}/api/deployments/${id}`)
}

/** The Service Bus namespace (Standard: topics), its queues, topics and subscriptions, each written when missing or different; its connection string. */
async function deployServiceBus(api: Clients, env: AzureEnvironment, names: AzureNames, region: string, resources: readonly AzureResource[]): Promise<string> {
  const bus = await api.serviceBus()
  const rg = names.resourceGroup
  const wanted = { tags: { ...names.tags }, sku: { name: 'Standard' as const, tier: 'Standard' as const } }
  const namespace = await found(() => bus.namespaces.get(rg, names.serviceBus))
  if (namespace === undefined || !holds(namespace, wanted)) await bus.namespaces.beginCreateOrUpdateAndWait(rg, names.serviceBus, { location: region, ...wanted }, poll(env))
  const topics = new Set<string>()
  for (const resource of resources) {
    if (resource.kind === 'serviceBusQueue') {
      const queue = { maxDeliveryCount: resource.maxDeliveryCount, requiresSession: resource.sessions, deadLetteringOnMessageExpiration: true }
      const current = await found(() => bus.queues.get(rg, names.serviceBus, resource.name))
      if (current === undefined || !holds(current, queue)) await bus.queues.createOrUpdate(rg, names.serviceBus, resource.name, queue)
    } else if (resource.kind === 'serviceBusTopic') {
      if (!topics.has(resource.topic)) {
        topics.add(resource.topic)
        if ((await found(() => bus.topics.get(rg, names.serviceBus, resource.topic))) === undefined) await bus.topics.createOrUpdate(rg, names.serviceBus, resource.topic, {})
      }
      // A topic the code only publishes to has no subscription of its own.
      const name = resource.subscription
      if (name === undefined) continue
      const subscription = { maxDeliveryCount: resource.maxDeliveryCount, deadLetteringOnMessageExpiration: true }
      const current = await found(() => bus.subscriptions.get(rg, names.serviceBus, resource.topic, name))
      if (current === undefined || !holds(current, subscription)) await bus.subscriptions.createOrUpdate(rg, names.serviceBus, resource.topic, name, subscription)
    }
  }
  const keys = await bus.namespaces.listKeys(rg, names.serviceBus, 'RootManageSharedAccessKey')
  if (!keys.primaryConnectionString) throw new ProviderError(`Service Bus namespace ${names.serviceBus} returned no connection string`)
  return keys.primaryConnectionString
}

/** A call of ARM's REST API with the deploy's token (for what the SDKs the deploy loads do not cover). */
async function armRequest(env: AzureEnvironment, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const token = await env.credential.getToken(ARM_SCOPE)
  if (!token) throw new ProviderError('no token for Azure Resource Manager', 'sign in with az login')
  const text = body === undefined ? undefined : JSON.stringify(body)
  const url = new URL(`${(env.endpoint ?? 'https://management.azure.com').replace(/\/$/, '')}${path}`)
  const response = await new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token.token}`, ...(text === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) }) }
    const request = httpsRequest(url, { method, headers, ...(env.ca ? { ca: env.ca } : {}), timeout: 120_000 }, (res) => {
      buffer(res).then((data) => resolve({ status: res.statusCode ?? 0, body: data }), reject)
    })
    request.on('timeout', () => request.destroy(new Error(`${method} ${path} timed out`)))
    request.on('error', (error) => reject(new ProviderError(`${method} ${url.origin}${url.pathname} failed: ${error.message}`)))
    request.end(text)
  })
  let parsed: unknown
  try {
    parsed = response.body.length === 0 ? undefined : JSON.parse(response.body.toString('utf8'))
  } catch {
    parsed = response.body.toString('utf8')
  }
  if (response.status >= 400) {
    // ARM's error body, in the shape `explain` reads from the SDKs' errors.
    const error = ((parsed as { error?: { code?: string; message?: string } } | undefined)?.error ?? {}) as { code?: string; message?: string }
    throw Object.assign(new Error(error.message ?? `${method} ${url.pathname} answered ${response.status}`), { statusCode: response.status, code: error.code, details: { error } })
  }
  return { status: response.status, body: parsed }
}

/** The ARM id of the entity a grant is scoped to (a container, a queue, a Service Bus queue or topic). */
export function grantScope(subscriptionId: string, names: AzureNames, grant: AzureGrant): string {
  const group = `/subscriptions/${subscriptionId}/resourceGroups/${names.resourceGroup}/providers`
  switch (grant.scope) {
    case 'container':
      return `${group}/Microsoft.Storage/storageAccounts/${names.storageAccount}/blobServices/default/containers/${grant.entity}`
    case 'storageQueue':
      return `${group}/Microsoft.Storage/storageAccounts/${names.storageAccount}/queueServices/default/queues/${grant.entity}`
    case 'serviceBusQueue':
      return `${group}/Microsoft.ServiceBus/namespaces/${names.serviceBus}/queues/${grant.entity}`
    case 'serviceBusTopic':
      return `${group}/Microsoft.ServiceBus/namespaces/${names.serviceBus}/topics/${grant.entity}`
    case 'table':
      return `${group}/Microsoft.Storage/storageAccounts/${names.storageAccount}/tableServices/default/tables/${grant.entity}`
  }
}

/**
 * A role assignment's name: a GUID, as ARM requires, derived from what it assigns (scope, role, principal), so a
 * redeploy finds the one it made (RFC 4122 version 5 layout over SHA-1).
 */
export function assignmentName(scope: string, roleDefinitionId: string, principalId: string): string {
  const bytes = createHash('sha1').update(`${scope.toLowerCase()}|${roleDefinitionId.toLowerCase()}|${principalId.toLowerCase()}`).digest().subarray(0, 16)
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x50
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** The description Polycloud gives its role assignments (how it tells them from others of the app's identity). */
const ASSIGNMENT_MARK = 'serverless-polycloud:'

interface RoleAssignment {
  readonly id?: string
  readonly name?: string
  readonly properties?: { readonly scope?: string; readonly roleDefinitionId?: string; readonly principalId?: string; readonly description?: string }
}

/** The role assignments of a principal at, above or below the resource group (RoleAssignments_ListForResourceGroup). */
async function assignmentsOf(env: AzureEnvironment, names: AzureNames, principalId: string): Promise<RoleAssignment[]> {
  const filter = encodeURIComponent(`principalId eq '${principalId}'`)
  let path: string | undefined = `/subscriptions/${env.subscriptionId}/resourceGroups/${names.resourceGroup}/providers/Microsoft.Authorization/roleAssignments?$filter=${filter}&api-version=${AUTHORIZATION_API}`
  const out: RoleAssignment[] = []
  while (path !== undefined) {
    const page = (await armRequest(env, 'GET', path)).body as { value?: RoleAssignment[]; nextLink?: string }
    out.push(...(page.value ?? []))
    path = page.nextLink ? `${new URL(page.nextLink).pathname}${new URL(page.nextLink).search}` : undefined
  }
  return out
}

/**
 * The app identity's role assignments: each grant of the plan on its entity, created when missing (a redeploy with
 * nothing changed only lists them), and the ones Polycloud made before that the plan no longer has deleted (a
 * function that stopped using a resource). `principalType: ServicePrincipal` lets ARM assign a just-created
 * identity without waiting for the directory to replicate it.
 */
async function deployRoleAssignments(env: AzureEnvironment, names: AzureNames, principalId: string, grants: readonly AzureGrant[], log: Logger): Promise<void> {
  const roles = `/subscriptions/${env.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions`
  const wanted = grants.map((grant) => {
    const scope = grantScope(env.subscriptionId, names, grant)
    const roleDefinitionId = `${roles}/${grant.role.id}`
    return { grant, scope, roleDefinitionId, name: assignmentName(scope, roleDefinitionId, principalId) }
  })
  const current = await assignmentsOf(env, names, principalId)
  const same = (a: string | undefined, b: string) => a?.toLowerCase() === b.toLowerCase()
  for (const { grant, scope, roleDefinitionId, name } of wanted) {
    if (current.some((assignment) => same(assignment.properties?.scope, scope) && same(assignment.properties?.roleDefinitionId, roleDefinitionId))) continue
    log.notice(`Granting the app ${grant.role.name} on ${grant.scope === 'container' ? 'container' : grant.scope === 'storageQueue' ? 'Storage queue' : grant.scope === 'serviceBusQueue' ? 'Service Bus queue' : grant.scope === 'table' ? 'table' : 'Service Bus topic'} ${grant.entity} (${grant.resource}: ${grant.functions.join(', ')})`)
    const body = { properties: { roleDefinitionId, principalId, principalType: 'ServicePrincipal', description: `${ASSIGNMENT_MARK} ${grant.resource} for ${grant.functions.join(', ')}` } }
    try {
      await armRequest(env, 'PUT', `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}?api-version=${AUTHORIZATION_API}`, body)
    } catch (error) {
      // The same assignment under another name (made by hand): the grant is there.
      if ((error as { code?: string }).code !== 'RoleAssignmentExists') throw error
    }
  }
  const kept = new Set(wanted.map(({ name }) => name))
  for (const assignment of current) {
    if (!assignment.properties?.description?.startsWith(ASSIGNMENT_MARK) || kept.has(assignment.name ?? '') || assignment.id === undefined) continue
    log.notice(`Revoking the app's role on ${assignment.properties.scope ?? assignment.id} (no function uses it any more)`)
    await armRequest(env, 'DELETE', `${assignment.id}?api-version=${AUTHORIZATION_API}`)
  }
}

/** Deletes the role assignments Polycloud made for an identity (before the app, and the identity, go). */
async function removeRoleAssignments(env: AzureEnvironment, names: AzureNames, principalId: string, log: Logger): Promise<number> {
  let count = 0
  for (const assignment of await assignmentsOf(env, names, principalId)) {
    if (!assignment.properties?.description?.startsWith(ASSIGNMENT_MARK) || assignment.id === undefined) continue
    log.notice(`Deleting role assignment on ${assignment.properties.scope ?? assignment.id}`)
    await armRequest(env, 'DELETE', `${assignment.id}?api-version=${AUTHORIZATION_API}`)
    count++
  }
  return count
}

/**
 * Whether a container holds a blob: List Blobs (`GET https://<account>.blob.core.windows.net/<container>?restype=container&comp=list&maxresults=1`),
 * authorised with the account's key (Shared Key, signed as `@polycloud/azure`'s driver signs). A container that is
 * gone holds nothing.
 */
async function holdsBlobs(env: AzureEnvironment, account: string, key: string, container: string): Promise<boolean> {
  const driver = '@polycloud/azure/resources/storage'
  const { sharedKey, STORAGE_VERSION } = (await import(driver).catch(() => {
    throw new ProviderError('checking the buckets needs @polycloud/azure', 'npm install @polycloud/azure (the adapter the service\'s functions use)')
  })) as { sharedKey: (method: string, url: URL, headers: Record<string, string>, account: string, key: Buffer) => string; STORAGE_VERSION: string }
  const url = new URL(`https://${account}.blob.core.windows.net/${container}?restype=container&comp=list&maxresults=1`)
  const headers: Record<string, string> = { 'x-ms-date': new Date().toUTCString(), 'x-ms-version': STORAGE_VERSION }
  headers.authorization = sharedKey('GET', url, headers, account, Buffer.from(key, 'base64'))
  const response = await appRequest(env, url.href, { method: 'GET', headers, token: false })
  const text = response.body.toString('utf8')
  if (response.status === 404) return false
  if (response.status !== 200) throw new ProviderError(`listing container ${container} answered ${response.status}: ${/<Message>([^<]*)/.exec(text)?.[1] ?? text.slice(0, 200)}`, 'allow shared key access on the storage account, or delete the container yourself')
  return /<Blob>/.test(text)
}

/** Event Grid subscriptions delivering the storage account's blob events to the functions that asked for them. */
async function deployBlobEvents(
  api: Clients,
  env: AzureEnvironment,
  names: AzureNames,
  region: string,
  siteId: string,
  resources: ReadonlyArray<{ fn: AzureFunction; resource: AzureResource }>,
  hostName: string,
  accountId: string,
): Promise<void> {
  const events = resources.filter((entry): entry is { fn: AzureFunction; resource: Extract<AzureResource, { kind: 'blobEvents' }> } => entry.resource.kind === 'blobEvents')
  if (events.length === 0) return
  // The generic resource operations take the id without its leading slash (their path is `/{resourceId}`).
  const topicId = `subscriptions/${env.subscriptionId}/resourceGroups/${names.resourceGroup}/providers/Microsoft.EventGrid/systemTopics/${names.systemTopic}`
  const topic = { tags: { ...names.tags }, properties: { source: accountId, topicType: 'Microsoft.Storage.StorageAccounts' } }
  const currentTopic = await found(() => api.resources.resources.getById(topicId, EVENT_GRID_API))
  if (currentTopic === undefined || !holds(currentTopic, topic)) {
    await api.resources.resources.beginCreateOrUpdateByIdAndWait(topicId, EVENT_GRID_API, { location: region, ...topic }, poll(env))
  }
  let blobKey: string | undefined
  for (const { fn, resource } of events) {
    const filter: Json = { includedEventTypes: [...resource.events], subjectBeginsWith: `/blobServices/default/containers/${resource.container}/blobs/${resource.prefix}` }
    if (resource.suffix) filter.subjectEndsWith = resource.suffix
    const subscriptionId = `${topicId}/eventSubscriptions/${fn.name.toLowerCase().replace(/[^a-z0-9-]/g, '-')}`
    const endpoint = resource.destination === 'blobTrigger' ? `https://${hostName}/runtime/webhooks/blobs?functionName=Host.Functions.${fn.name}` : undefined
    const current = await found(() => api.resources.resources.getById(subscriptionId, EVENT_GRID_API))
    const properties = (current?.properties ?? {}) as { destination?: { endpointType?: string; properties?: { endpointBaseUrl?: string; endpointUrl?: string; resourceId?: string } }; filter?: unknown; eventDeliverySchema?: string }
    // ARM returns a webhook's URL without its query (`endpointBaseUrl`): the key in it is not compared.
    const deployedUrl = properties.destination?.properties?.endpointBaseUrl ?? properties.destination?.properties?.endpointUrl?.replace(/\?.*$/, '')
    const sameDestination =
      endpoint !== undefined
        ? properties.destination?.endpointType === 'WebHook' && deployedUrl === endpoint.replace(/\?.*$/, '')
        : properties.destination?.endpointType === 'AzureFunction' && holds(properties.destination?.properties?.resourceId, `${siteId}/functions/${fn.name}`)
    const sameFilter = holds(properties.filter, filter) && ((properties.filter as { subjectEndsWith?: string } | undefined)?.subjectEndsWith ?? '') === (resource.suffix ?? '')
    if (current !== undefined && sameDestination && sameFilter && properties.eventDeliverySchema === 'EventGridSchema') continue
    let destination: Json
    if (endpoint !== undefined) {
      blobKey ??= (await api.web.webApps.listHostKeys(names.resourceGroup, names.app)).systemKeys?.blobs_extension
      if (!blobKey) throw new ProviderError('the app has no blobs_extension key yet: the blob trigger did not load', 'deploy again in a minute')
      destination = { endpointType: 'WebHook', properties: { endpointUrl: `${endpoint}&code=${blobKey}` } }
    } else {
      destination = { endpointType: 'AzureFunction', properties: { resourceId: `${siteId}/functions/${fn.name}` } }
    }
    await api.resources.resources.beginCreateOrUpdateByIdAndWait(
      subscriptionId,
      EVENT_GRID_API,
      { properties: { destination, filter, eventDeliverySchema: 'EventGridSchema', retryPolicy: { maxDeliveryAttempts: 30, eventTimeToLiveInMinutes: 1440 } } },
      poll(env),
    )
  }
}

function httpUrls(functions: readonly AzureFunction[], hostName: string): DeployResult['urls'] {
  return functions
    .filter((fn) => fn.trigger.type === 'http')
    .map((fn) => {
      const methods = fn.trigger.options.methods as string[]
      // A route's method as declared: every method is ANY; HEAD beside GET is the GET route's (see route in events.ts).
      const declared = ALL_METHODS.every((method) => methods.includes(method)) ? ['ANY'] : methods.filter((method) => method !== 'HEAD' || !methods.includes('GET'))
      return { function: fn.name, method: declared.join(','), url: `https://${hostName}/api/${fn.trigger.options.route as string}` }
    })
}

function summary(context: Context, names: AzureNames, region: string, hostName: string, functions: readonly AzureFunction[], urls: DeployResult['urls']): string {
  const lines = [
    '',
    `Service: ${context.service} (${context.stage}) on Azure, ${region}`,
    `Resource group: ${names.resourceGroup}`,
    `Function app: https://${hostName}`,
    'Functions:',
  ]
  for (const fn of functions) {
    const url = urls.find((entry) => entry.function === fn.name)
    lines.push(url ? `  ${fn.name}: ${url.method} ${url.url}` : `  ${fn.name}: ${TRIGGER_NAMES[fn.trigger.type]}`)
  }
  return lines.join('\n')
}

const TRIGGER_NAMES: Readonly<Record<AzureTrigger['type'], string>> = {
  http: 'httpTrigger',
  timer: 'timerTrigger',
  storageQueue: 'queueTrigger',
  serviceBusQueue: 'serviceBusTrigger',
  serviceBusTopic: 'serviceBusTrigger',
  storageBlob: 'blobTrigger',
  eventGrid: 'eventGridTrigger',
  cosmosDB: 'cosmosDBTrigger',
}

/** Deletes what the deploy created (the resources with this service's and stage's tags), then the group if it is ours and empty. */
export async function removeApp(context: Context, env: AzureEnvironment): Promise<string[]> {
  const names = azureNames(nameParts(context), env.subscriptionId)
  const api = await clients(env)
  const deleted: string[] = []
  try {
    if (!(await api.resources.resourceGroups.checkExistence(names.resourceGroup)).body) {
      context.log.notice(`Resource group ${names.resourceGroup} does not exist: nothing to remove`)
      return deleted
    }
    const ours = (tags: Record<string, string> | undefined) => tags?.['polycloud-service'] === context.service && tags['polycloud-stage'] === context.stage && tags['managed-by'] === MANAGED_BY
    const tagged: Array<{ id: string; type: string; name: string }> = []
    for await (const resource of api.resources.resources.listByResourceGroup(names.resourceGroup, { filter: `tagName eq 'polycloud-service' and tagValue eq '${context.service.replace(/'/g, "''")}'` })) {
      if (ours(resource.tags) && resource.id && resource.type && resource.name) tagged.push({ id: resource.id, type: resource.type.toLowerCase(), name: resource.name })
    }
    // Dependents first: event subscriptions with their topic, the app before its plan, storage last.
    const order = ['microsoft.eventgrid/systemtopics', 'microsoft.web/sites', 'microsoft.web/serverfarms', 'microsoft.servicebus/namespaces', 'microsoft.storage/storageaccounts']
    tagged.sort((a, b) => rank(order, a.type) - rank(order, b.type))
    let kept = 0
    for (const resource of tagged) {
      // The declared buckets live in the storage account: one that still holds objects keeps it, unless --deleteObjects;
      // so do the stores' tables: one that still holds entries keeps it, unless --deleteData.
      if (resource.type === 'microsoft.storage/storageaccounts') {
        const objects = !deletesObjects(context.options) && (await bucketsWithData(context, env, api, names, resource.name)).length > 0
        const entries = deleteDataOption(context.options) ? [] : await storesHoldingData(api.storage, names.resourceGroup, resource.name, context.plan.model.resources)
        if (entries.length > 0) {
          context.log.warning(`Storage account ${resource.name} kept: the store table${entries.length === 1 ? '' : 's'} ${entries.join(', ')} still hold${entries.length === 1 ? 's' : ''} entries (serverless remove --deleteData deletes ${entries.length === 1 ? 'it' : 'them'} with the account)`)
        }
        if (objects || entries.length > 0) {
          kept++
          continue
        }
      }
      context.log.notice(`Deleting ${resource.type} ${resource.name}`)
      switch (resource.type) {
        case 'microsoft.eventgrid/systemtopics':
          await api.resources.resources.beginDeleteByIdAndWait(resource.id.replace(/^\//, ''), EVENT_GRID_API, poll(env))
          break
        case 'microsoft.web/sites': {
          // The role assignments of its identity first: they outlive the identity otherwise.
          const site = await found(() => api.web.webApps.get(names.resourceGroup, resource.name))
          const principal = (site as { identity?: { principalId?: string } } | undefined)?.identity?.principalId
          if (principal) await removeRoleAssignments(env, names, principal, context.log)
          await api.web.webApps.delete(names.resourceGroup, resource.name, { deleteEmptyServerFarm: false })
          break
        }
        case 'microsoft.web/serverfarms':
          await api.web.appServicePlans.delete(names.resourceGroup, resource.name)
          break
        case 'microsoft.servicebus/namespaces':
          await (await api.serviceBus()).namespaces.beginDeleteAndWait(names.resourceGroup, resource.name, poll(env))
          break
        case 'microsoft.storage/storageaccounts':
          await api.storage.storageAccounts.delete(names.resourceGroup, resource.name)
          break
        default:
          context.log.warning(`${resource.id} has the service's tags but is of a type Polycloud does not create: left in place`)
          continue
      }
      deleted.push(resource.id)
    }
    const group = await api.resources.resourceGroups.get(names.resourceGroup)
    if (ours(group.tags)) {
      let left = 0
      for await (const _ of api.resources.resources.listByResourceGroup(names.resourceGroup)) left++
      if (left === 0) {
        context.log.notice(`Deleting resource group ${names.resourceGroup}`)
        await api.resources.resourceGroups.beginDeleteAndWait(names.resourceGroup, poll(env))
        deleted.push(group.id ?? names.resourceGroup)
      } else if (left === kept) context.log.notice(`Resource group ${names.resourceGroup} kept: it holds the storage account kept with its data`)
      else context.log.notice(`Resource group ${names.resourceGroup} kept: ${left - kept} resources not created by this service remain`)
    }
    context.write(`Removed ${context.service} (${context.stage}) from Azure: ${deleted.length} resources deleted`)
    return deleted
  } catch (error) {
    throw explain(error)
  }
}

/**
 * The declared buckets (containers Polycloud created in the storage account) that still hold objects, each named
 * in a warning: the account is then kept with them.
 */
async function bucketsWithData(context: Context, env: AzureEnvironment, api: Clients, names: AzureNames, account: string): Promise<string[]> {
  const containers = context.plan.declared().flatMap((resource) => (resource.kind === 'container' ? [resource.name] : []))
  if (containers.length === 0) return []
  const key = (await api.storage.storageAccounts.listKeys(names.resourceGroup, account)).keys?.[0]?.value
  if (!key) throw new ProviderError(`storage account ${account} returned no key: its containers cannot be checked`, 'allow shared key access on the account, or pass --deleteObjects to delete it with its data')
  const holding: string[] = []
  for (const container of containers) if (await holdsBlobs(env, account, key, container)) holding.push(container)
  if (holding.length > 0) {
    context.log.warning(
      `Storage account ${account} kept: ${holding.length === 1 ? 'container' : 'containers'} ${holding.join(', ')} still ${holding.length === 1 ? 'holds' : 'hold'} objects (serverless remove --deleteObjects deletes ${holding.length === 1 ? 'it' : 'them'} with the account)`,
    )
  }
  return holding
}

function rank(order: readonly string[], type: string): number {
  const index = order.indexOf(type)
  return index === -1 ? order.length : index
}

/** The deployed app's functions with their triggers and URLs. */
export async function appInfo(context: Context, env: AzureEnvironment): Promise<Array<{ name: string; trigger: string; url?: string }>> {
  const names = azureNames(nameParts(context), env.subscriptionId)
  const api = await clients(env)
  try {
    const site = await api.web.webApps.get(names.resourceGroup, names.app)
    const out: Array<{ name: string; trigger: string; url?: string }> = []
    for await (const fn of api.web.webApps.listFunctions(names.resourceGroup, names.app)) {
      const bindings = ((fn.config as { bindings?: Array<{ type?: string }> } | undefined)?.bindings ?? []) as Array<{ type?: string }>
      const trigger = bindings.find((binding) => /trigger$/i.test(binding.type ?? ''))?.type ?? 'unknown'
      const url = fn.invokeUrlTemplate
      out.push({ name: shortName(fn.name ?? ''), trigger, ...(url ? { url } : {}) })
    }
    const lines = [`Service: ${context.service} (${context.stage}) on Azure, ${site.location}`, `Resource group: ${names.resourceGroup}`, `Function app: https://${site.defaultHostName ?? ''} (${site.state ?? 'unknown'})`, 'Functions:']
    for (const fn of out) lines.push(`  ${fn.name}: ${fn.trigger}${fn.url ? ` ${fn.url}` : ''}`)
    context.write(lines.join('\n'))
    return out
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) throw new ProviderError(`${context.service} (${context.stage}) is not deployed: no function app ${names.app} in ${names.resourceGroup}`, 'deploy it first (serverless deploy)')
    throw explain(error)
  }
}

/**
 * Calls a deployed function: an HTTP function at its URL (with its key when its authLevel needs one; `--data` as
 * the body), any other through the host's admin API with `{"input": <data>}`, as the portal's Test does.
 */
export async function invokeApp(context: Context, env: AzureEnvironment): Promise<{ status: number; body: string }> {
  const name = context.options.function
  if (typeof name !== 'string') throw new ProviderError('invoke needs --function (-f) <name>')
  const fn = context.plan.app.find((candidate) => candidate.name === name)
  if (fn === undefined) throw new ProviderError(`function ${name} is not in the service`)
  const names = azureNames(nameParts(context), env.subscriptionId)
  const api = await clients(env)
  let data = context.options.data as string | undefined
  if (data === undefined && typeof context.options.path === 'string') data = readFileSync(context.options.path, 'utf8')
  try {
    const site = await api.web.webApps.get(names.resourceGroup, names.app)
    const host = `https://${site.defaultHostName ?? `${names.app}.azurewebsites.net`}`
    let response
    if (fn.trigger.type === 'http') {
      // `--data` is the body, or the request as `invoke local` takes it: { "input": { method, path, headers, body } }.
      const request = httpRequestOf(data)
      const methods = fn.trigger.options.methods as string[]
      const method = request.method ?? (request.body !== undefined && methods.includes('POST') ? 'POST' : (methods[0] as string))
      const route = `/${fn.trigger.options.route as string}`
      if (request.path === undefined && route.includes('{')) {
        throw new ProviderError(`function ${fn.name} has route parameters (${route})`, `give the path: --data '{"input":{"path":"${route.replace(/\{\*?([^}]+)\}/g, '<$1>')}"}}'`)
      }
      const url = new URL(`${host}/api${request.path ?? route}`)
      if (fn.trigger.options.authLevel !== 'anonymous') {
        const keys = await api.web.webApps.listFunctionKeys(names.resourceGroup, names.app, fn.name)
        const key = keys.properties?.default ?? Object.values(keys.properties ?? {})[0]
        if (key) url.searchParams.set('code', key)
      }
      const headers = { ...(request.body === undefined ? {} : { 'content-type': 'application/json' }), ...request.headers }
      response = await appRequest(env, url.href, { method, token: false, headers, ...(request.body === undefined ? {} : { body: request.body }) })
    } else {
      const keys = await api.web.webApps.listHostKeys(names.resourceGroup, names.app)
      response = await appRequest(env, `${host}/admin/functions/${fn.name}`, {
        method: 'POST',
        token: false,
        body: JSON.stringify({ input: data ?? '' }),
        headers: { 'content-type': 'application/json', 'x-functions-key': keys.masterKey ?? '' },
      })
    }
    const body = response.body.toString('utf8')
    context.write(fn.trigger.type === 'http' ? body : `${fn.name}: ${response.status === 202 ? 'invocation accepted (202); its logs are in the app\'s log stream' : `${response.status} ${body}`}`)
    if (response.status >= 400) throw new ProviderError(`${fn.name} answered ${response.status}`)
    return { status: response.status, body }
  } catch (error) {
    throw explain(error)
  }
}

/** An HTTP invocation's request from `--data`: `{ "input": { method, path, headers, body } }`, or the body itself. */
function httpRequestOf(data: string | undefined): { method?: string; path?: string; headers?: Record<string, string>; body?: string } {
  if (data === undefined) return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(data)
  } catch {
    return { body: data }
  }
  const input = typeof parsed === 'object' && parsed !== null && 'input' in parsed ? (parsed as { input: unknown }).input : undefined
  if (typeof input !== 'object' || input === null) return { body: data }
  const { method, path, headers, body } = input as Json
  return {
    ...(typeof method === 'string' ? { method: method.toUpperCase() } : {}),
    ...(typeof path === 'string' ? { path: path.startsWith('/') ? path : `/${path}` } : {}),
    ...(typeof headers === 'object' && headers !== null ? { headers: headers as Record<string, string> } : {}),
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  }
}

export async function deployCommand(context: Context): Promise<void> {
  await deployApp(context, await defaultEnvironment())
}

export async function removeCommand(context: Context): Promise<void> {
  await removeApp(context, await defaultEnvironment())
}

export async function infoCommand(context: Context): Promise<void> {
  await appInfo(context, await defaultEnvironment())
}

export async function invokeCommand(context: Context): Promise<void> {
  await invokeApp(context, await defaultEnvironment())
}
