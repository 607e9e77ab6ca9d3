/**
 * A stand-in for Azure Resource Manager and a function app's own endpoints, on https://127.0.0.1 (self-signed):
 * the operations of test/fixtures/azure-arm/operations.json (transcribed from Azure/azure-rest-api-specs) with their
 * api-versions, request bodies checked against the spec's schema, ARM's error bodies, and long-running operations
 * answered as ARM does (202/201 with `Azure-AsyncOperation` or `Location`, polled until `Succeeded`). Resources are
 * kept in memory, so a second deploy finds and updates them. The app's endpoints (`<app>.scm.azurewebsites.net`:
 * `/api/publish`, `/api/deployments/<id>`; `<app>.azurewebsites.net`: functions and the admin API) are reached
 * through `appUrl`, which maps them under `/apps/<host>/`; a published zip is loaded by the same Node worker the
 * local host uses, so the functions the deploy lists are those the zip registers.
 *
 * The subscription's setup, as the deploy's preflight reads it and as ARM enforces it:
 * - resource providers (`registrations`): `GET /subscriptions/{id}/providers/{namespace}` gives the namespace's
 *   `registrationState` (Registered, NotRegistered, Registering), and a PUT of a resource of a namespace that is
 *   not registered is refused with 409 MissingSubscriptionRegistration, "The subscription is not registered to use
 *   namespace '<namespace>'. See https://aka.ms/rps-not-found for how to register subscriptions." (Microsoft.Resources
 *   `Providers_Get` in resources.json; the error: learn.microsoft.com, "Resolve errors for resource provider
 *   registration");
 * - the regions that offer Flex Consumption (`flexRegions`): `GET /subscriptions/{id}/providers/Microsoft.Web/geoRegions
 *   ?sku=FlexConsumption` lists them as GeoRegion resources named by display name ("West Europe"), what
 *   `az functionapp list-flexconsumption-locations` reads (lower-cased, spaces removed).
 */
import { createHmac, randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import type { Server } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { hostLog, startHost, type LocalHost } from 'serverless-polycloud/providers/azure/host'
import { createHostServer } from 'serverless-polycloud/providers/azure/offline'
import { readZip } from 'serverless-polycloud/zip'
import { startStandIn, type RecordedRequest, type Reply, type StandIn } from './stand-in.ts'

type Json = Record<string, unknown>

interface Schema {
  type?: string
  enum?: unknown[]
  required?: string[]
  properties?: Record<string, Schema>
  additionalProperties?: Schema
  items?: Schema
}

interface Operation {
  id: string
  method: string
  path: string
  apiVersion: string
  status: number[]
  longRunning?: 'location' | 'azure-async-operation'
  body?: Schema
  query?: string[]
}

const SPEC = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/azure-arm/operations.json', import.meta.url)), 'utf8')) as { operations: Operation[] }

/** Checks a value against a schema subset; returns the problems, each with its JSON path. */
export function validate(value: unknown, schema: Schema, path = 'body'): string[] {
  const problems: string[] = []
  if (schema.enum && !schema.enum.includes(value)) problems.push(`${path}: ${JSON.stringify(value)} is not one of ${schema.enum.join(', ')}`)
  const type = schema.type
  const actual = Array.isArray(value) ? 'array' : value === null ? 'null' : Number.isInteger(value) ? 'integer' : typeof value
  if (type && !(type === actual || (type === 'number' && actual === 'integer'))) return [...problems, `${path}: expected ${type}, got ${actual}`]
  if (actual === 'object') {
    const record = value as Json
    for (const name of schema.required ?? []) if (record[name] === undefined) problems.push(`${path}.${name} is required`)
    for (const [name, child] of Object.entries(record)) {
      const sub = schema.properties?.[name] ?? schema.additionalProperties
      if (sub) problems.push(...validate(child, sub, `${path}.${name}`))
    }
  }
  if (actual === 'array' && schema.items) (value as unknown[]).forEach((item, i) => problems.push(...validate(item, schema.items as Schema, `${path}[${i}]`)))
  return problems
}

function compile(operation: Operation): RegExp {
  // `{scope}` (role assignments) is a resource id: slashes and all.
  return new RegExp(`^${operation.path.replace('{scope}', '(.+)').replace(/\{[^}]+\}/g, '([^/]+)')}$`, 'i')
}

const COMPILED = SPEC.operations.map((operation) => ({ operation, pattern: compile(operation) }))

/** The api-version of each resource provider's GETs (as the operations above use them). */
const GET_VERSIONS: Readonly<Record<string, string>> = Object.fromEntries(
  SPEC.operations.map((operation) => [/\/providers\/([^/]+)\//i.exec(operation.path)?.[1]?.toLowerCase() ?? 'microsoft.resources', operation.apiVersion]),
)

const armError = (status: number, code: string, message: string): Reply => ({ status, body: { error: { code, message } } })

export interface ArmCall {
  readonly operation: string
  readonly method: string
  readonly path: string
  readonly body: Json | undefined
}

/** The resource providers a deploy uses, registered on the stand-in's subscription unless a test says otherwise. */
export const PROVIDERS = ['Microsoft.Web', 'Microsoft.Storage', 'Microsoft.ServiceBus', 'Microsoft.EventGrid'] as const

export interface ArmStandIn {
  readonly url: string
  readonly ca: string
  /** Every operation the stand-in served, in order (polls and app calls included, under their own names). */
  readonly calls: ArmCall[]
  /** Every request, as the recording server saw it. */
  readonly requests: RecordedRequest[]
  /** Resources by lower-case id. */
  readonly resources: Map<string, Json>
  /** Maps an app URL (`https://x.scm.azurewebsites.net/api/publish`) onto the stand-in. */
  appUrl(url: string): string
  /** Adds a resource created by someone else (for remove tests). */
  seed(id: string, resource: Json): void
  /** The next request matching the operation fails with this error (once). */
  failNext(operation: string, reply: Reply): void
  /** Each resource provider namespace's registration state (by lower-case namespace). */
  readonly registrations: Map<string, 'Registered' | 'NotRegistered' | 'Registering'>
  /** The regions offering Flex Consumption, by display name. */
  readonly flexRegions: string[]
  /** Role assignments by lower-case id (Microsoft.Authorization, kept apart from the resources they are scoped to). */
  readonly roleAssignments: Map<string, Json>
  /** The blobs of each container (`<account>/<container>` -> names), as the Blob service's List Blobs answers them. */
  readonly blobs: Map<string, Set<string>>
  stop(): Promise<void>
}

/**
 * The built-in roles a deploy may assign, by id (Microsoft Learn, "Azure built-in roles": Storage and Integration
 * sections); any other is refused as ARM refuses a role definition that does not exist.
 */
export const BUILT_IN_ROLES: Readonly<Record<string, string>> = {
  'ba92f5b4-2d11-453d-a403-e96b0029c9fe': 'Storage Blob Data Contributor',
  '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1': 'Storage Blob Data Reader',
  'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a': 'Storage Queue Data Message Sender',
  '8a0f0c08-91a1-4084-bc3d-661d67233fed': 'Storage Queue Data Message Processor',
  '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39': 'Azure Service Bus Data Sender',
  '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0': 'Azure Service Bus Data Receiver',
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3': 'Storage Table Data Contributor',
}

/** The key `StorageAccounts_ListKeys` answers first (base64 of "stand-in-key"), with which Shared Key requests are checked. */
const ACCOUNT_KEY = 'c3RhbmQtaW4ta2V5'

/**
 * The Shared Key signature of a Blob service request, written from the Storage REST reference ("Authorize with
 * Shared Key", version 2015-02-21 and later; https://learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key),
 * independently of the code under test: VERB, the eleven standard headers (an empty Content-Length for 0), the
 * canonicalized `x-ms-` headers, then `/<account>/<path>` and each query parameter `name:value` sorted, lower-case names.
 */
function sharedKeySignature(method: string, account: string, path: string, query: URLSearchParams, headers: Readonly<Record<string, unknown>>, key: string): string {
  const header = (name: string) => String(headers[name] ?? '')
  const standard = ['content-encoding', 'content-language', 'content-length', 'content-md5', 'content-type', 'date', 'if-modified-since', 'if-match', 'if-none-match', 'if-unmodified-since', 'range']
    .map((name) => (name === 'content-length' && header(name) === '0' ? '' : header(name)))
  const canonical = Object.keys(headers).filter((name) => name.startsWith('x-ms-')).sort().map((name) => `${name}:${header(name).trim()}\n`).join('')
  const params = [...new Set([...query.keys()].map((name) => name.toLowerCase()))].sort().map((name) => `\n${name}:${query.getAll(name).sort().join(',')}`).join('')
  const toSign = `${method}\n${standard.join('\n')}\n${canonical}/${account}${path}${params}`
  return createHmac('sha256', Buffer.from(key, 'base64')).update(toSign, 'utf8').digest('base64')
}

export async function startArmStandIn(subscriptionId: string): Promise<ArmStandIn> {
  const resources = new Map<string, Json>()
  const calls: ArmCall[] = []
  const operations = new Map<string, { polls: number; mode: Operation['longRunning']; done: Json }>()
  const failures = new Map<string, Reply>()
  const deployments = new Map<string, number>()
  const apps = new Map<string, { host: LocalHost; server: Server; port: number; dir: string; masterKey: string }>()
  const registrations = new Map<string, 'Registered' | 'NotRegistered' | 'Registering'>(PROVIDERS.map((namespace) => [namespace.toLowerCase(), 'Registered']))
  const roleAssignments = new Map<string, Json>()
  const principals = new Set<string>()
  const blobs = new Map<string, Set<string>>()
  const flexRegions = ['West Europe', 'North Europe', 'East US', 'East US 2', 'West US 2', 'UK South', 'Sweden Central', 'Southeast Asia', 'East Asia', 'Australia East']
  let base = ''

  const record = (operation: string, request: RecordedRequest, body?: Json): void => {
    calls.push({ operation, method: request.method, path: request.path, body })
  }

  const resourceOf = (id: string, body: Json, type: string, name: string): Json => {
    const existing = resources.get(id.toLowerCase())
    const properties = { ...((existing?.properties as Json | undefined) ?? {}), ...((body.properties as Json | undefined) ?? {}), provisioningState: 'Succeeded' }
    return { ...existing, ...body, id, name, type, properties }
  }

  /** ARM's long-running PUT/DELETE answer: 201/202 with a header to poll; the resource is stored when the poll finishes. */
  const longRunning = (mode: Operation['longRunning'], status: number, id: string, done: Json, body?: Json): Reply => {
    const opId = randomUUID()
    operations.set(opId, { polls: 0, mode, done })
    const url = `${base}/subscriptions/${subscriptionId}/providers/operations/${opId}?api-version=poll`
    const headers: Record<string, string> = { 'retry-after': '0' }
    if (mode === 'azure-async-operation') headers['azure-asyncoperation'] = url
    else headers.location = url
    return { status, headers, ...(body ? { body } : {}) }
  }

  async function loadApp(app: string, zip: Buffer): Promise<void> {
    const old = apps.get(app)
    if (old) await stopApp(old)
    const dir = mkdtempSync(join(tmpdir(), 'polycloud-arm-app-'))
    for (const entry of readZip(zip)) {
      mkdirSync(dirname(join(dir, entry.name)), { recursive: true })
      writeFileSync(join(dir, entry.name), entry.data)
    }
    const log = hostLog(() => {}, 'error')
    const host = await startHost({ appDir: dir, env: { ...process.env, POLYCLOUD_TIMEOUT_SECONDS: '10' }, timeoutMs: 10_000, log })
    let port = 0
    const server = createHostServer(host, { baseUrl: () => `http://127.0.0.1:${port}`, storage: () => undefined, log })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
    port = (server.address() as { port: number }).port
    apps.set(app, { host, server, port, dir, masterKey: randomUUID() })
  }

  async function stopApp(app: { host: LocalHost; server: Server; dir: string }): Promise<void> {
    await new Promise<void>((resolve) => (app.server.closeAllConnections(), app.server.close(() => resolve())))
    await app.host.stop()
    rmSync(app.dir, { recursive: true, force: true })
  }

  /** Requests to `/apps/<host>/...`: the SCM site (deployments) or the app (functions, admin API). */
  async function appRequest(request: RecordedRequest): Promise<Reply> {
    const [, , host = '', ...rest] = request.path.split('/')
    const path = `/${rest.join('/')}`
    if (host.endsWith('.blob.core.windows.net')) return blobService(request, host.slice(0, -'.blob.core.windows.net'.length), path)
    const scm = host.endsWith('.scm.azurewebsites.net')
    const app = host.replace(/(\.scm)?\.azurewebsites\.net$/, '')
    const site = [...resources.values()].find((resource) => resource.type === 'Microsoft.Web/sites' && resource.name === app)
    if (!site) return { status: 404, body: 'Not Found' }
    if (scm) {
      if (!/^Bearer \S+/.test(String(request.headers.authorization ?? ''))) {
        record('Scm_Unauthorized', request)
        return { status: 401, body: 'Unauthorized' }
      }
      if (request.method === 'POST' && path === '/api/publish') {
        record('Scm_Publish', request)
        if (request.query.get('RemoteBuild') !== 'false') return { status: 400, body: 'RemoteBuild must be given' }
        if (request.headers['content-type'] !== 'application/zip') return { status: 415, body: 'Unsupported Media Type' }
        try {
          await loadApp(app, request.body)
        } catch (error) {
          const id = randomUUID()
          deployments.set(id, -1)
          return { status: 202, body: JSON.stringify(id), headers: { 'content-type': 'application/json', 'x-load-error': (error as Error).message.slice(0, 200) } }
        }
        const id = randomUUID()
        deployments.set(id, 0)
        return { status: 202, body: JSON.stringify(id), headers: { 'content-type': 'application/json' } }
      }
      const deployment = /^\/api\/deployments\/([^/]+)$/.exec(path)
      if (request.method === 'GET' && deployment) {
        record('Scm_DeploymentStatus', request)
        const polls = deployments.get(deployment[1] as string)
        if (polls === undefined) return { status: 404, body: { Message: 'Deployment not found' } }
        if (polls === -1) return { status: 200, body: { id: deployment[1], status: 3, complete: true, status_text: 'the app did not load' } }
        deployments.set(deployment[1] as string, polls + 1)
        return { status: 200, body: polls === 0 ? { id: deployment[1], status: 1, complete: false } : { id: deployment[1], status: 4, complete: true, status_text: '' } }
      }
      return { status: 404, body: 'Not Found' }
    }
    const running = apps.get(app)
    if (!running) return { status: 503, body: 'Function host is not running.' }
    if (path.startsWith('/admin/') && request.headers['x-functions-key'] !== running.masterKey) {
      record('App_AdminUnauthorized', request)
      return { status: 401 }
    }
    record(path.startsWith('/admin/') ? 'App_Admin' : 'App_Function', request)
    const response = await fetch(`http://127.0.0.1:${running.port}${path}${request.query.size > 0 ? `?${request.query}` : ''}`, {
      method: request.method,
      headers: Object.fromEntries(Object.entries(request.headers).filter(([name]) => !['host', 'connection', 'content-length'].includes(name)).map(([name, value]) => [name, String(value)])),
      ...(request.method === 'GET' || request.method === 'HEAD' ? {} : { body: new Uint8Array(request.body) }),
    })
    return { status: response.status, headers: Object.fromEntries(response.headers), body: Buffer.from(await response.arrayBuffer()) }
  }

  /**
   * The Blob service's List Blobs (`GET /<container>?restype=container&comp=list`, Azure/azure-rest-api-specs
   * `specification/storage/data-plane/Microsoft.BlobStorage/stable/2026-02-06/blob.json` `Container_ListBlobFlatSegment`:
   * `maxresults`, `prefix`, `marker`; an `EnumerationResults` XML answer), for the account's containers, with Shared
   * Key checked (403 AuthenticationFailed otherwise, Storage's own code and message) and 404 ContainerNotFound.
   */
  function blobService(request: RecordedRequest, account: string, path: string): Reply {
    record('Blob_ListBlobs', request)
    const storageError = (status: number, code: string, message: string): Reply => ({ status, headers: { 'content-type': 'application/xml', 'x-ms-error-code': code }, body: `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>` })
    const stored = [...resources.values()].find((resource) => resource.type === 'Microsoft.Storage/storageAccounts' && resource.name === account)
    if (stored === undefined) return storageError(404, 'ResourceNotFound', 'The specified resource does not exist.')
    const container = /^\/([a-z0-9-]+)$/.exec(path)?.[1]
    if (request.method !== 'GET' || container === undefined || request.query.get('restype') !== 'container' || request.query.get('comp') !== 'list') {
      return storageError(400, 'UnsupportedHttpVerb', `stand-in: only List Blobs is served, not ${request.method} ${path}?${request.query}`)
    }
    const given = /^SharedKey ([^:]+):(.+)$/.exec(String(request.headers.authorization ?? ''))
    if (!given || given[1] !== account || request.headers['x-ms-date'] === undefined || request.headers['x-ms-version'] === undefined || given[2] !== sharedKeySignature('GET', account, path, request.query, request.headers, ACCOUNT_KEY)) {
      return storageError(403, 'AuthenticationFailed', 'Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.')
    }
    if (!resources.has(`${String(stored.id).toLowerCase()}/blobservices/default/containers/${container}`)) return storageError(404, 'ContainerNotFound', 'The specified container does not exist.')
    const max = Number(request.query.get('maxresults') ?? 5000)
    const prefix = request.query.get('prefix') ?? ''
    const names = [...(blobs.get(`${account}/${container}`) ?? [])].filter((name) => name.startsWith(prefix)).sort()
    const page = names.slice(0, max)
    const items = page.map((name) => `<Blob><Name>${name}</Name><Properties><BlobType>BlockBlob</BlobType></Properties></Blob>`).join('')
    const next = names.length > page.length ? (page.at(-1) as string) : ''
    return {
      status: 200,
      headers: { 'content-type': 'application/xml', 'x-ms-version': String(request.headers['x-ms-version']) },
      body: `<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="https://${account}.blob.core.windows.net/" ContainerName="${container}"><MaxResults>${max}</MaxResults><Blobs>${items}</Blobs><NextMarker>${next}</NextMarker></EnumerationResults>`,
    }
  }

  async function route(request: RecordedRequest): Promise<Reply> {
    if (request.path.startsWith('/apps/')) return appRequest(request)
    const poll = /^\/subscriptions\/[^/]+\/providers\/operations\/([^/]+)$/.exec(request.path)
    if (poll) {
      const operation = operations.get(poll[1] as string)
      record('Operation_Poll', request)
      if (!operation) return armError(404, 'OperationNotFound', 'no such operation')
      operation.polls++
      if (operation.polls < 2) return { status: 202, headers: { 'retry-after': '0', location: `${base}${request.path}?api-version=poll`, 'azure-asyncoperation': `${base}${request.path}?api-version=poll` }, body: { status: 'InProgress' } }
      const done = operation.done
      if (done.store) resources.set(String(done.store).toLowerCase(), done.resource as Json)
      if (done.remove) for (const id of [...resources.keys()]) if (id === String(done.remove).toLowerCase() || id.startsWith(`${String(done.remove).toLowerCase()}/`)) resources.delete(id)
      // Azure-AsyncOperation: the operation's status (the poller then GETs the resource); Location: the result itself.
      if (operation.mode === 'azure-async-operation') return { status: 200, body: { status: 'Succeeded' } }
      return done.resource ? { status: 200, body: done.resource } : { status: 200 }
    }
    if (!/^Bearer \S+/.test(String(request.headers.authorization ?? ''))) return armError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.")
    const found = COMPILED.find(({ operation, pattern }) => operation.method === request.method && pattern.test(request.path))
    if (!found && request.method === 'GET') {
      // GET of any resource the stand-in holds (what pollers do after an Azure-AsyncOperation finishes).
      const namespace = /\/providers\/([^/]+)\//i.exec(request.path)?.[1]?.toLowerCase() ?? ''
      const expected = GET_VERSIONS[namespace]
      if (expected && request.query.get('api-version') !== expected) return armError(400, 'InvalidApiVersionParameter', `The api-version '${request.query.get('api-version')}' is invalid. The supported versions are '${expected}'.`)
      record('Resource_Get', request)
      const resource = resources.get(request.path.toLowerCase())
      return resource ? { status: 200, body: resource } : armError(404, 'ResourceNotFound', `The Resource '${request.path}' was not found.`)
    }
    if (!found) return armError(404, 'NoRegisteredProviderFound', `stand-in: no operation for ${request.method} ${request.path}`)
    const { operation, pattern } = found
    const apiVersion = request.query.get('api-version')
    if (apiVersion === null) return armError(400, 'MissingApiVersionParameter', "The api-version query parameter (?api-version=) is required for all requests.")
    if (apiVersion !== operation.apiVersion) {
      return armError(400, 'InvalidApiVersionParameter', `The api-version '${apiVersion}' is invalid. The supported versions are '${operation.apiVersion}'.`)
    }
    let body: Json | undefined
    if (operation.body) {
      try {
        body = JSON.parse(request.body.toString('utf8')) as Json
      } catch {
        return armError(400, 'InvalidRequestContent', 'The request content was invalid and could not be deserialized.')
      }
      const problems = validate(body, operation.body)
      if (problems.length > 0) return armError(400, 'InvalidRequestContent', `The request content was invalid: ${problems.join('; ')}`)
    }
    record(operation.id, request, body)
    const namespace = /\/providers\/(Microsoft\.[A-Za-z]+)\//i.exec(request.path)?.[1]
    if (request.method === 'PUT' && namespace !== undefined && registrations.get(namespace.toLowerCase()) !== 'Registered') {
      const message = `The subscription is not registered to use namespace '${namespace}'. See https://aka.ms/rps-not-found for how to register subscriptions.`
      return { status: 409, body: { error: { code: 'MissingSubscriptionRegistration', message, details: [{ code: 'MissingSubscriptionRegistration', target: namespace, message }] } } }
    }
    const failure = failures.get(operation.id)
    if (failure) {
      failures.delete(operation.id)
      return failure
    }
    const params = (pattern.exec(request.path) as RegExpExecArray).slice(1).map(decodeURIComponent)
    const rgId = `/subscriptions/${subscriptionId}/resourceGroups/${params[1] ?? ''}`
    const id = request.path
      .replace(/\/(listKeys|listkeys|syncfunctiontriggers|config\/appsettings\/list|config\/appsettings|functions|resources|host\/default\/listkeys|blobServices\/default\/containers|queueServices\/default\/queues|tableServices\/default\/tables)$/i, '')
      .replace(/\/functions\/[^/]+$/i, '')
    const existing = resources.get(id.toLowerCase())
    const children = (type: string) => [...resources.values()].filter((resource) => resource.type === type && String(resource.id).toLowerCase().startsWith(`${id.toLowerCase()}/`))
    switch (operation.id) {
      case 'Providers_Get': {
        const namespace = params[1] as string
        const known = PROVIDERS.find((candidate) => candidate.toLowerCase() === namespace.toLowerCase()) ?? namespace
        return { status: 200, body: { id: `/subscriptions/${subscriptionId}/providers/${known}`, namespace: known, registrationState: registrations.get(known.toLowerCase()) ?? 'NotRegistered', registrationPolicy: 'RegistrationRequired', resourceTypes: [] } }
      }
      case 'ListGeoRegions': {
        const names = request.query.get('sku') === 'FlexConsumption' ? flexRegions : [...flexRegions, 'Central US', 'Japan East']
        const value = names.map((name) => ({ id: `/subscriptions/${subscriptionId}/providers/Microsoft.Web/geoRegions/${name}`, name, type: 'Microsoft.Web/geoRegions', properties: { name, displayName: name, orgDomain: 'PUBLIC;FLEXCONSUMPTION' } }))
        return { status: 200, body: { value } }
      }
      case 'StorageAccounts_GetProperties':
      case 'AppServicePlans_Get':
      case 'Namespaces_Get':
      case 'Queues_Get':
      case 'Topics_Get':
      case 'Subscriptions_Get':
      case 'SystemTopics_Get':
      case 'SystemTopicEventSubscriptions_Get':
        return existing ? { status: 200, body: existing } : armError(404, 'ResourceNotFound', `The Resource '${request.path}' was not found.`)
      case 'BlobContainers_List':
        return existing ? { status: 200, body: { value: children('BlobContainers') } } : armError(404, 'ResourceNotFound', 'storage account not found')
      case 'Table_List':
        return existing ? { status: 200, body: { value: children('Table') } } : armError(404, 'ResourceNotFound', 'storage account not found')
      case 'Queue_List':
        return existing ? { status: 200, body: { value: children('Queue') } } : armError(404, 'ResourceNotFound', 'storage account not found')
      case 'WebApps_ListApplicationSettings': {
        const settings = resources.get(`${id.toLowerCase()}/config/appsettings`)
        return existing ? { status: 200, body: { id: `${id}/config/appsettings`, name: 'appsettings', type: 'Microsoft.Web/sites/config', properties: (settings?.properties as Json | undefined) ?? {} } } : armError(404, 'ResourceNotFound', 'site not found')
      }
      case 'ResourceGroups_CheckExistence':
        return { status: resources.has(rgId.toLowerCase()) ? 204 : 404 }
      case 'ResourceGroups_Get':
        return existing ? { status: 200, body: existing } : armError(404, 'ResourceGroupNotFound', `Resource group '${params[1]}' could not be found.`)
      case 'ResourceGroups_CreateOrUpdate': {
        const resource = { id: rgId, name: params[1], type: 'Microsoft.Resources/resourceGroups', location: body?.location, tags: body?.tags ?? {}, properties: { provisioningState: 'Succeeded' } }
        resources.set(rgId.toLowerCase(), resource)
        return { status: existing ? 200 : 201, body: resource }
      }
      case 'ResourceGroups_Delete':
        if (!existing) return armError(404, 'ResourceGroupNotFound', `Resource group '${params[1]}' could not be found.`)
        return longRunning('location', 202, rgId, { remove: rgId })
      case 'Resources_ListByResourceGroup': {
        if (!resources.has(rgId.toLowerCase())) return armError(404, 'ResourceGroupNotFound', `Resource group '${params[1]}' could not be found.`)
        const filter = /^tagName eq '([^']+)' and tagValue eq '((?:[^']|'')*)'$/.exec(request.query.get('$filter') ?? '')
        const value = [...resources.values()]
          .filter((resource) => String(resource.id).toLowerCase().startsWith(`${rgId.toLowerCase()}/providers/`) && String(resource.id).split('/').length === 9)
          .filter((resource) => !filter || (resource.tags as Record<string, string> | undefined)?.[filter[1] as string] === (filter[2] as string).replaceAll("''", "'"))
          .map(({ id: resourceId, name, type, location, tags, kind }) => ({ id: resourceId, name, type, location, tags, kind }))
        return { status: 200, body: { value } }
      }
      case 'StorageAccounts_Create': {
        const name = params[2] as string
        const taken = [...resources.values()].some((resource) => resource.type === 'Microsoft.Storage/storageAccounts' && resource.name === name && resource.id !== id)
        if (taken) return armError(409, 'StorageAccountAlreadyTaken', `The storage account named ${name} is already taken.`)
        const resource = resourceOf(id, body as Json, 'Microsoft.Storage/storageAccounts', name)
        ;(resource.properties as Json).primaryEndpoints = { blob: `https://${name}.blob.core.windows.net/`, queue: `https://${name}.queue.core.windows.net/` }
        return longRunning('location', 202, id, { store: id, resource })
      }
      case 'StorageAccounts_ListKeys':
        return existing ? { status: 200, body: { keys: [{ keyName: 'key1', value: 'c3RhbmQtaW4ta2V5', permissions: 'FULL' }, { keyName: 'key2', value: 'c2Vjb25kLWtleQ==', permissions: 'FULL' }] } } : armError(404, 'ResourceNotFound', 'storage account not found')
      case 'BlobContainers_Create':
      case 'Queue_Create':
      case 'Table_Create':
      case 'Queues_CreateOrUpdate':
      case 'Topics_CreateOrUpdate':
      case 'Subscriptions_CreateOrUpdate': {
        const parent = id.split('/').slice(0, 9).join('/')
        if (!resources.has(parent.toLowerCase())) return armError(404, 'ParentResourceNotFound', `Can not perform requested operation on nested resource. Parent resource '${parent}' not found.`)
        const resource = resourceOf(id, body ?? {}, operation.id.split('_')[0] as string, params.at(-1) as string)
        resources.set(id.toLowerCase(), resource)
        return { status: existing || operation.id !== 'BlobContainers_Create' ? 200 : 201, body: resource }
      }
      case 'AppServicePlans_CreateOrUpdate':
      case 'Namespaces_CreateOrUpdate':
      case 'SystemTopics_CreateOrUpdate':
      case 'SystemTopicEventSubscriptions_CreateOrUpdate': {
        if (!resources.has(rgId.toLowerCase())) return armError(404, 'ResourceGroupNotFound', `Resource group '${params[1]}' could not be found.`)
        const type = { AppServicePlans: 'Microsoft.Web/serverfarms', Namespaces: 'Microsoft.ServiceBus/namespaces', SystemTopics: 'Microsoft.EventGrid/systemTopics', SystemTopicEventSubscriptions: 'Microsoft.EventGrid/systemTopics/eventSubscriptions' }[operation.id.split('_')[0] as string] as string
        const resource = resourceOf(id, body as Json, type, params.at(-1) as string)
        return longRunning('azure-async-operation', existing ? 200 : 201, id, { store: id, resource }, resource)
      }
      case 'WebApps_CreateOrUpdate': {
        const name = params[2] as string
        const taken = [...resources.values()].some((resource) => resource.type === 'Microsoft.Web/sites' && resource.name === name && resource.id !== id)
        if (taken) return armError(409, 'Conflict', `Website with given name ${name} already exists.`)
        const serverFarm = String((body?.properties as Json | undefined)?.serverFarmId ?? '')
        if (!resources.has(serverFarm.toLowerCase())) return armError(400, 'BadRequest', `The server farm '${serverFarm}' was not found.`)
        // A copy: the recorded request body stays as it was sent.
        const resource = resourceOf(id, structuredClone(body) as Json, 'Microsoft.Web/sites', name)
        // A system-assigned identity: its principal is the site's for as long as the site has the identity.
        const identity = body?.identity as { type?: string } | undefined
        if (identity?.type?.includes('SystemAssigned')) {
          const principalId = ((existing?.identity as Json | undefined)?.principalId as string | undefined) ?? randomUUID()
          principals.add(principalId)
          resource.identity = { ...identity, principalId, tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47' }
        }
        Object.assign(resource.properties as Json, { defaultHostName: `${name}.azurewebsites.net`, state: 'Running', enabledHostNames: [`${name}.azurewebsites.net`, `${name}.scm.azurewebsites.net`] })
        // The app settings a PUT carries become the app's settings (read with config/appsettings/list), not part of the site.
        const appSettings = ((resource.properties as Json).siteConfig as Json | undefined)?.appSettings as Array<{ name: string; value: string }> | undefined
        if (appSettings !== undefined) resources.set(`${id.toLowerCase()}/config/appsettings`, { properties: Object.fromEntries(appSettings.map((setting) => [setting.name, setting.value])) })
        delete ((resource.properties as Json).siteConfig as Json | undefined)?.appSettings
        return longRunning('azure-async-operation', 202, id, { store: id, resource }, resource)
      }
      case 'WebApps_Get':
        return existing ? { status: 200, body: existing } : armError(404, 'ResourceNotFound', `The Resource 'Microsoft.Web/sites/${params[2]}' under resource group '${params[1]}' was not found.`)
      case 'RoleAssignments_Create': {
        const scope = `/${params[0] as string}`
        const name = params[1] as string
        if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(name)) return armError(400, 'InvalidRoleAssignmentId', `The role assignment ID '${name}' is not valid. The role assignment ID must be a GUID.`)
        if (!resources.has(scope.toLowerCase())) return armError(404, 'ResourceNotFound', `The Resource '${scope}' was not found.`)
        const properties = body?.properties as { roleDefinitionId: string; principalId: string; principalType?: string; description?: string }
        const role = new RegExp(`^/subscriptions/${subscriptionId}/providers/Microsoft\\.Authorization/roleDefinitions/([0-9a-f-]{36})$`, 'i').exec(properties.roleDefinitionId)?.[1]
        if (role === undefined || BUILT_IN_ROLES[role.toLowerCase()] === undefined) return armError(400, 'RoleDefinitionDoesNotExist', `The specified role definition with ID '${properties.roleDefinitionId}' does not exist.`)
        // A just-created identity is found only when the caller says it is a service principal (directory replication).
        if (!principals.has(properties.principalId) || properties.principalType !== 'ServicePrincipal') {
          return armError(400, 'PrincipalNotFound', `Principal ${properties.principalId.replaceAll('-', '')} does not exist in the directory ${subscriptionId}. Check that you have the correct principal ID.`)
        }
        const assignmentId = `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`
        const duplicate = [...roleAssignments.values()].find((assignment) => {
          const other = assignment.properties as Json
          return assignment.id !== assignmentId && String(other.scope).toLowerCase() === scope.toLowerCase() && String(other.roleDefinitionId).toLowerCase() === properties.roleDefinitionId.toLowerCase() && other.principalId === properties.principalId
        })
        if (duplicate) return armError(409, 'RoleAssignmentExists', 'The role assignment already exists.')
        const before = roleAssignments.has(assignmentId.toLowerCase())
        const assignment = { id: assignmentId, name, type: 'Microsoft.Authorization/roleAssignments', properties: { ...properties, scope, createdOn: new Date().toISOString() } }
        roleAssignments.set(assignmentId.toLowerCase(), assignment)
        return { status: before ? 200 : 201, body: assignment }
      }
      case 'RoleAssignments_Delete': {
        const assignmentId = `/${params[0] as string}/providers/Microsoft.Authorization/roleAssignments/${params[1] as string}`.toLowerCase()
        const assignment = roleAssignments.get(assignmentId)
        if (!assignment) return { status: 204 }
        roleAssignments.delete(assignmentId)
        return { status: 200, body: assignment }
      }
      case 'RoleAssignments_ListForResourceGroup': {
        // `principalId eq '<id>'`: the principal's assignments at, above or below the resource group.
        const principal = /^principalId eq '([^']+)'$/.exec(request.query.get('$filter') ?? '')?.[1]
        const within = (scope: string) => scope.toLowerCase().startsWith(`${rgId.toLowerCase()}/`) || scope.toLowerCase() === rgId.toLowerCase() || rgId.toLowerCase().startsWith(`${scope.toLowerCase()}/`)
        const value = [...roleAssignments.values()].filter((assignment) => {
          const properties = assignment.properties as Json
          return within(String(properties.scope)) && (principal === undefined || properties.principalId === principal)
        })
        return { status: 200, body: { value } }
      }
      case 'WebApps_UpdateApplicationSettings':
        if (!existing) return armError(404, 'ResourceNotFound', 'site not found')
        resources.set(`${id.toLowerCase()}/config/appsettings`, body as Json)
        return { status: 200, body: { id: `${id}/config/appsettings`, name: 'appsettings', properties: body?.properties } }
      case 'WebApps_SyncFunctionTriggers':
        return existing ? { status: 204 } : armError(404, 'ResourceNotFound', 'site not found')
      case 'WebApps_ListFunctions': {
        const running = apps.get(params[2] as string)
        const value = (running?.host.functions ?? []).map((fn) => {
          const trigger = Object.values(fn.bindings).find((binding) => /trigger$/i.test(binding.type))
          const route = trigger?.type === 'httpTrigger' ? String(trigger.route ?? fn.name) : undefined
          return {
            id: `${id}/functions/${fn.name}`,
            name: `${params[2]}/${fn.name}`,
            type: 'Microsoft.Web/sites/functions',
            properties: {
              name: fn.name,
              config: { bindings: Object.entries(fn.bindings).map(([name, binding]) => ({ name, ...binding })) },
              invoke_url_template: route ? `https://${params[2]}.azurewebsites.net/api/${route}` : null,
              language: 'node',
              isDisabled: false,
            },
          }
        })
        return { status: 200, body: { value } }
      }
      case 'WebApps_ListHostKeys':
        return { status: 200, body: { masterKey: apps.get(params[2] as string)?.masterKey ?? 'master', functionKeys: { default: 'function-key' }, systemKeys: { blobs_extension: 'blobs-key' } } }
      case 'WebApps_ListFunctionKeys':
        return { status: 200, body: { properties: { default: 'function-key' } } }
      case 'Namespaces_ListKeys':
        return {
          status: 200,
          body: { primaryConnectionString: `Endpoint=sb://${params[2]}.servicebus.windows.net/;SharedAccessKeyName=${params[3]};SharedAccessKey=c2I=`, keyName: params[3] },
        }
      case 'WebApps_Delete':
      case 'AppServicePlans_Delete':
      case 'StorageAccounts_Delete': {
        if (!existing) return { status: 204 }
        if (operation.id === 'AppServicePlans_Delete' && [...resources.values()].some((resource) => String((resource.properties as Json | undefined)?.serverFarmId ?? '').toLowerCase() === id.toLowerCase())) {
          return armError(409, 'Conflict', 'Server farm cannot be deleted because it has web app(s) assigned to it.')
        }
        for (const key of [...resources.keys()]) if (key === id.toLowerCase() || key.startsWith(`${id.toLowerCase()}/`)) resources.delete(key)
        // A deleted site's identity is gone from the directory (its role assignments stay, as ARM leaves them).
        const principal = (existing.identity as Json | undefined)?.principalId
        if (operation.id === 'WebApps_Delete' && typeof principal === 'string') principals.delete(principal)
        if (operation.id === 'StorageAccounts_Delete') for (const key of [...blobs.keys()]) if (key.startsWith(`${params[2] as string}/`)) blobs.delete(key)
        const app = apps.get(params[2] as string)
        if (operation.id === 'WebApps_Delete' && app) {
          apps.delete(params[2] as string)
          await stopApp(app)
        }
        return { status: 200 }
      }
      case 'Namespaces_Delete':
      case 'SystemTopics_Delete':
        if (!existing) return { status: 204 }
        return longRunning('location', 202, id, { remove: id })
      default:
        return armError(500, 'InternalServerError', `stand-in: ${operation.id} has no behaviour`)
    }
  }

  const standIn: StandIn = await startStandIn(route, { https: true })
  base = standIn.url
  return {
    url: standIn.url,
    ca: standIn.ca as string,
    calls,
    requests: standIn.requests,
    resources,
    appUrl: (url) => {
      const parsed = new URL(url)
      return `${standIn.url}/apps/${parsed.host}${parsed.pathname}${parsed.search}`
    },
    seed: (id, resource) => void resources.set(id.toLowerCase(), { id, ...resource }),
    failNext: (operation, reply) => void failures.set(operation, reply),
    registrations,
    flexRegions,
    roleAssignments,
    blobs,
    async stop() {
      for (const app of apps.values()) await stopApp(app)
      apps.clear()
      await standIn.stop()
    },
  }
}
