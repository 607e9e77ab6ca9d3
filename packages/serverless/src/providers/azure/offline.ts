/**
 * `serverless offline` for Azure (and what `serverless invoke local` shares with it): the packaged app (the zip's
 * content, not the sources) run the way `func start` runs it. A local host serves HTTP functions under `/api` on 127.0.0.1:7071,
 * fires timers on their NCRONTAB schedule, feeds Storage queue and blob triggers from azurite (started and stopped
 * with the command), and answers the admin API (`POST /admin/functions/<name>` with `{"input": ...}`, and locally
 * `{"triggerMetadata": {...}}` too: a message's application properties, say); the Node worker (`worker.ts`) runs
 * each invocation through @azure/functions' own invocation model.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { buffer } from 'node:stream/consumers'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { dirname, isAbsolute, join, relative, resolve } from 'node:path'
import { ConfigError, ProviderError } from '../../errors.js'
import { serveUntilInterrupted, startScheduler, stopAll, type Stoppable } from '../../local.js'
import type { Json, ServiceContext } from '../../provider.js'
import { hotReload } from '../../reload.js'
import { readZip } from '../../zip.js'
import { hostLog, LOG_LEVELS, startHost, type HostLog, type HostLogLevel, type Invocation, type LocalHost } from './host.js'
import { BUNDLE, packageApp } from './package.js'
import type { AzurePlan } from './plan.js'
import { fromRpcHttp, httpInvocation, queueMetadata, serviceBusMetadata, timerInfo, toRpcHttp, triggerOf, typedMetadata, type RegisteredFunction, type RpcTypedDataShape } from './rpc.js'
import { createStorageEntities, localEntities, resourceConnections, startBusDelivery } from './local/resources.js'
import { fromNcrontab } from './schedule.js'
import type { LocalStorage } from './storage.js'
import { createTables, storeTable } from './stores.js'

type Context = ServiceContext<AzurePlan>

export interface OfflineSettings {
  readonly host: string
  readonly port: number
  /** azurite's data folder. */
  readonly storage: string
  readonly blobPort: number
  readonly queuePort: number
  readonly logLevel: HostLogLevel
}


function portSetting(value: unknown, name: string, fallback: number): number {
  if (value === undefined || value === null || value === '') return fallback
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(name, `${JSON.stringify(value)} is not a port (0-65535)`)
  return port
}

/** The command line options, else `custom.polycloud.azure.offline`, else the defaults `func start` has. */
export function offlineSettings(context: Pick<Context, 'options' | 'servicePath' | 'plan'>): OfflineSettings {
  const options = context.options
  const custom = (context.plan.custom.offline ?? {}) as Json
  const logLevel = (options.logLevel ?? custom.logLevel ?? 'info') as HostLogLevel
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError('--logLevel', `${JSON.stringify(logLevel)} is not one of ${LOG_LEVELS.join(', ')}`)
  const storage = String(options.storage ?? custom.storage ?? '.azurite')
  const host = String(options.host ?? '127.0.0.1')
  return {
    host,
    port: portSetting(options.port ?? options.httpPort ?? custom.port, '--port', 7071),
    storage: isAbsolute(storage) ? storage : resolve(context.servicePath, storage),
    blobPort: portSetting(options.blobPort ?? custom.blobPort, '--blobPort', 10000),
    queuePort: portSetting(options.queuePort ?? custom.queuePort, '--queuePort', 10001),
    logLevel,
  }
}

/** The packaged app, extracted from its zip into a folder of its own (removed by `dispose`). */
export interface PreparedApp {
  readonly appDir: string
  readonly timeoutMs: number
  readonly env: Record<string, string>
  /** host.json as packaged. */
  readonly hostJson: Json
  /** The source files bundled (absolute paths). */
  readonly inputs: readonly string[]
  dispose(): void
}

/**
 * Packages the service, then extracts the zip: the local host serves exactly what would be deployed. The folder
 * (`.polycloud/azure-<command>-*`) is outside the entries folder, which every later command writes again.
 */
export async function prepareApp(context: Context, command: string): Promise<PreparedApp> {
  const packaged = await packageApp(context)
  mkdirSync(dirname(context.workDir), { recursive: true })
  const appDir = mkdtempSync(join(dirname(context.workDir), `azure-${command}-`))
  for (const entry of readZip(readFileSync(packaged.zip))) {
    const path = join(appDir, entry.name)
    if (!path.startsWith(appDir)) throw new ProviderError(`the zip holds a path outside the app: ${entry.name}`)
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, entry.data, { mode: entry.mode })
  }
  pointMapAtSources(join(appDir, `${BUNDLE}.map`), context.servicePath)
  return {
    appDir,
    timeoutMs: packaged.settings.timeout * 1000,
    hostJson: packaged.host,
    inputs: packaged.inputs,
    env: { ...context.plan.environment(), POLYCLOUD_TIMEOUT_SECONDS: String(packaged.settings.timeout), FUNCTIONS_WORKER_RUNTIME: 'node' },
    dispose: () => rmSync(appDir, { recursive: true, force: true }),
  }
}

/**
 * The packaged map names the sources relative to the bundle's place in the zip (`../handlers/fail.ts`), right where
 * the zip is deployed; in the extracted copy they are made relative to the service folder, so a local stack names
 * the user's own file (`handlers/fail.ts:8:9`), not a path in the temporary folder.
 */
function pointMapAtSources(mapFile: string, servicePath: string): void {
  const map = JSON.parse(readFileSync(mapFile, 'utf8')) as { sources: string[] }
  const packagedDist = join(servicePath, dirname(BUNDLE))
  map.sources = map.sources.map((source) => (source.startsWith('webpack:') ? source : relative(dirname(mapFile), resolve(packagedDist, source)).replaceAll('\\', '/')))
  writeFileSync(mapFile, JSON.stringify(map))
}

/** The route template of an HTTP binding as a neutral one (`greetings/{name}` -> `/greetings/{name}`). */
function neutralRoute(route: unknown, name: string): string {
  const template = typeof route === 'string' ? route : name
  return `/${template.replace(/^\//, '').replace(/\{\*([^}:?]+)[^}]*\}/g, '{$1+}').replace(/\{([^}:?*+]+)[:?][^}]*\}/g, '{$1}')}`
}

export interface HttpRoute {
  readonly fn: RegisteredFunction
  readonly methods: readonly string[]
  readonly path: string
}

export function httpRoutes(functions: readonly RegisteredFunction[]): HttpRoute[] {
  return functions
    .filter((fn) => triggerOf(fn).type.toLowerCase() === 'httptrigger')
    .map((fn) => {
      const trigger = triggerOf(fn)
      const methods = Array.isArray(trigger.methods) && trigger.methods.length > 0 ? (trigger.methods as string[]).map((method) => method.toUpperCase()) : ['ANY']
      return { fn, methods, path: neutralRoute(trigger.route, fn.name) }
    })
}

export function isDisabled(env: Readonly<Record<string, string | undefined>>, name: string): boolean {
  const value = env[`AzureWebJobs.${name}.Disabled`] ?? env[`AzureWebJobs_${name}_Disabled`]
  return value === 'true' || value === '1'
}

/**
 * How the admin API's `input` reaches a function of each trigger type (the host's conversions), with the metadata
 * the host would give a message of that trigger. `triggerMetadata` (a local extension: the real host's admin API
 * takes `input` only) sets or overrides it, named as the host names it: `ApplicationProperties` of a Service Bus
 * message (its `UserProperties` too, unless given), `DeliveryCount`, `MessageId`, `ContentType`, `Label`, ...;
 * `DequeueCount`, `Id`, ... of a Storage queue message.
 */
export async function adminInvocation(fn: RegisteredFunction, input: string, storage: StorageAccess | undefined, triggerMetadata: Readonly<Json> = {}): Promise<Invocation> {
  const trigger = triggerOf(fn)
  const type = trigger.type.toLowerCase()
  const reason = 'This function was programmatically called via the host APIs.'
  const now = new Date()
  const given = typedMetadata(triggerMetadata)
  switch (type) {
    case 'timertrigger':
      return { functionName: fn.name, reason, data: timerInfo(now, undefined), metadata: given }
    case 'queuetrigger': {
      const metadata = queueMetadata({ messageId: crypto.randomUUID(), dequeueCount: 1, popReceipt: '', insertedOn: now, expiresOn: now, nextVisibleOn: now, text: input })
      return { functionName: fn.name, reason, data: { string: input }, metadata: { ...metadata, ...given } }
    }
    case 'servicebustrigger':
      return { functionName: fn.name, reason, data: { string: input }, metadata: serviceBusMetadata({ messageId: crypto.randomUUID().replaceAll('-', ''), deliveryCount: 1, enqueuedTimeUtc: now }, triggerMetadata) }
    case 'blobtrigger': {
      if (storage === undefined) throw new ProviderError(`function ${fn.name} reads blobs: the local host has no storage (azurite) running`)
      const blob = await storage.readBlob(input)
      return { functionName: fn.name, reason, ...blob, metadata: { ...blob.metadata, ...given } }
    }
    case 'eventgridtrigger':
    case 'cosmosdbtrigger':
      return { functionName: fn.name, reason, data: { json: jsonText(input) }, metadata: given }
    default:
      return { functionName: fn.name, reason, data: { string: input }, metadata: given }
  }
}

/**
 * The admin API's body, `{"input": ..., "triggerMetadata": {...}}`: the input as the host takes it (a string; other
 * JSON as its text) and the metadata an object; or the problem, for a 400.
 */
export function adminBody(text: string): { input: string; triggerMetadata: Json } | { error: string } {
  let body: unknown
  try {
    body = JSON.parse(text || '{}')
  } catch (error) {
    return { error: `the body must be JSON {"input": ..., "triggerMetadata": {...}}: ${(error as Error).message}` }
  }
  // Anything but an object carries no input, as before.
  const { input: value, triggerMetadata = {} } = (typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}) as Json
  if (typeof triggerMetadata !== 'object' || triggerMetadata === null || Array.isArray(triggerMetadata)) {
    return { error: 'triggerMetadata must be an object (metadata name -> value, e.g. {"ApplicationProperties": {"severity": "warning"}})' }
  }
  const properties = (triggerMetadata as Json).ApplicationProperties
  if (properties !== undefined && (typeof properties !== 'object' || properties === null || Array.isArray(properties))) {
    return { error: 'triggerMetadata.ApplicationProperties must be an object (property name -> value)' }
  }
  const input = value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value)
  return { input, triggerMetadata: triggerMetadata as Json }
}

/** JSON text of an admin input: the string when it is JSON, else the string as a JSON string. */
function jsonText(input: string): string {
  try {
    JSON.parse(input)
    return input
  } catch {
    return JSON.stringify(input)
  }
}

/** What the host reads from storage for blob triggers (implemented over azurite in `storage.ts`). */
export interface StorageAccess {
  readonly connectionString: string
  /** A blob (`container/name`) as a blob trigger input and its metadata. */
  readBlob(path: string): Promise<{ data: RpcTypedDataShape; metadata: Record<string, RpcTypedDataShape> }>
}

function reply(response: ServerResponse, status: number, body?: unknown, headers: Record<string, string | string[]> = {}): void {
  const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
  if (text !== undefined && headers['content-type'] === undefined) headers['content-type'] = typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8'
  response.writeHead(status, headers)
  response.end(text)
}

/** The admin API's description of a function (`GET /admin/functions/<name>`), bindings as function.json has them. */
function functionMetadata(fn: RegisteredFunction, baseUrl: string, route: HttpRoute | undefined): Json {
  const bindings = Object.entries(fn.bindings).map(([name, binding]) => ({ name, ...binding }))
  return {
    name: fn.name,
    config: { bindings },
    invoke_url_template: route ? `${baseUrl}/api${route.path.replace(/\{([^}+]+)\+\}/g, '{*$1}')}` : null,
    isDisabled: false,
    language: 'node',
  }
}

/** The local host's HTTP server: functions under `/api`, the admin API under `/admin`. */
export function createHostServer(host: LocalHost, options: { readonly baseUrl: () => string; readonly storage: () => StorageAccess | undefined; readonly log: HostLog }): Server {
  const routes = httpRoutes(host.functions)
  const templates = routes.flatMap((route, index) => route.methods.map((method) => ({ method, path: route.path, index })))
  const orderedRoutes = templates.map(({ index }) => routes[index] as HttpRoute)
  let router: ((method: string, path: string) => { index: number; params: Readonly<Record<string, string>> }) | undefined
  const routerReady = import('@polycloud/core/adapter').then(({ createRouter }) => (router = createRouter(templates.map(({ method, path }) => ({ method, path })))))

  const serveFunction = async (request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> => {
    await routerReady
    let match
    try {
      match = (router as NonNullable<typeof router>)(request.method ?? 'GET', url.pathname.slice('/api'.length) || '/')
    } catch {
      // The host answers 404 for a path or a method no function takes.
      return reply(response, 404)
    }
    const route = orderedRoutes[match.index] as HttpRoute
    // Core's router takes HEAD on a GET route; the host routes HEAD only to a trigger whose methods list it.
    if (request.method === 'HEAD' && !route.methods.includes('HEAD') && !route.methods.includes('ANY')) return reply(response, 404)
    const body = await buffer(request)
    const http = toRpcHttp({ method: request.method ?? 'GET', url: url.href, headers: request.headers, body, params: match.params })
    const { data, metadata } = httpInvocation(http)
    const result = await host.invoke({ functionName: route.fn.name, reason: `This function was programmatically called via the host APIs.`, data, metadata })
    if (!result.succeeded) return reply(response, 500)
    const value = result.response?.returnValue
    const out = fromRpcHttp(value && 'http' in value ? value.http : undefined)
    // A HEAD response: the status and headers of the function's answer, its length, no body (RFC 9110, 9.3.2).
    response.writeHead(out.status, { ...out.headers, 'content-length': String(out.body.length) })
    response.end(request.method === 'HEAD' ? undefined : out.body)
  }

  const serveAdmin = async (request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> => {
    const parts = url.pathname.split('/').filter(Boolean)
    if (parts[1] === 'host' && parts[2] === 'status') return reply(response, 200, { state: 'Running', version: '4.x (serverless-polycloud)' })
    if (parts[1] !== 'functions') return reply(response, 404)
    if (parts.length === 2 && request.method === 'GET') {
      return reply(response, 200, host.functions.map((fn) => functionMetadata(fn, options.baseUrl(), routes.find((route) => route.fn === fn))))
    }
    const fn = host.functions.find((candidate) => candidate.name.toLowerCase() === decodeURIComponent(parts[2] ?? '').toLowerCase())
    if (parts.length !== 3 || fn === undefined) return reply(response, 404)
    if (request.method === 'GET') return reply(response, 200, functionMetadata(fn, options.baseUrl(), routes.find((route) => route.fn === fn)))
    if (request.method !== 'POST') return reply(response, 405, undefined, { allow: 'GET, POST' })
    if (triggerOf(fn).type.toLowerCase() === 'httptrigger') return reply(response, 400, { error: `${fn.name} is an HTTP function: call its route` })
    const body = adminBody((await buffer(request)).toString('utf8'))
    if ('error' in body) return reply(response, 400, { error: body.error })
    let invocation: Invocation
    try {
      invocation = await adminInvocation(fn, body.input, options.storage(), body.triggerMetadata)
    } catch (error) {
      return reply(response, 400, { error: (error as Error).message })
    }
    reply(response, 202)
    void host.invoke(invocation)
  }

  return createServer((request, response) => {
    const url = new URL(request.url ?? '/', options.baseUrl())
    const path = url.pathname
    const serve = path === '/api' || path.startsWith('/api/') ? serveFunction : path.startsWith('/admin/') ? serveAdmin : undefined
    if (serve === undefined) {
      if (path === '/') return reply(response, 200, 'Your Functions 4.0 app is up and running (serverless-polycloud local host)')
      return reply(response, 404)
    }
    serve(request, response, url).catch((error: unknown) => {
      options.log('error', `The host could not serve ${request.method} ${path}: ${(error as Error).message}`)
      if (!response.headersSent) reply(response, 500)
      else response.destroy()
    })
  })
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolveListen, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new ProviderError(`port ${port} on ${host} is in use`, 'stop what uses it, or pass --port <another>') : error),
    )
    server.listen(port, host, () => {
      const address = server.address()
      resolveListen(typeof address === 'object' && address !== null ? address.port : port)
    })
  })
}

/** `serverless offline`: packages, extracts, and serves the app until Ctrl-C. */
export async function offlineCommand(context: Context): Promise<void> {
  const settings = offlineSettings(context)
  const log = hostLog(context.write, settings.logLevel)
  const app = await prepareApp(context, 'offline')
  const parts: Stoppable[] = [{ stop: async () => app.dispose() }]
  try {
    let env: NodeJS.ProcessEnv = { ...process.env, ...app.env }
    let storage: LocalStorage | undefined
    let serviceBus: string | undefined
    // The Service Bus delivers to the host, which starts once the connections are known.
    const started: { host?: LocalHost } = {}
    const entities = localEntities(context.plan)
    // azurite runs when a trigger reads Storage queues or blobs, or the code uses a container or Storage queue.
    // The stores' tables live in azurite's Table service.
    const tables = context.plan.model.resources.filter((resource) => resource.kind === 'store').map(storeTable)
    if (tables.length > 0 || entities.usesStorage || context.plan.app.some(({ trigger }) => trigger.type === 'storageQueue' || trigger.type === 'storageBlob')) {
      const { startStorage } = await import('./storage.js')
      storage = await startStorage(settings, log)
      parts.push(storage)
      await createStorageEntities(storage.connectionString, entities)
      await createTables(storage.connectionString, tables)
    }
    // The local Service Bus when a trigger reads a Service Bus queue or topic, or the code sends to one.
    if (entities.usesServiceBus || context.plan.app.some(({ trigger }) => trigger.type === 'serviceBusQueue' || trigger.type === 'serviceBusTopic')) {
      const bus = await startBusDelivery(() => started.host as LocalHost, entities, env, log)
      parts.push(bus)
      serviceBus = bus.connectionString
      if (context.console !== undefined) context.console.attachQueues((await import('./console.js')).serviceBusQueues(bus.bus))
    }
    env = { ...env, ...resourceConnections(storage?.connectionString, serviceBus) }
    const host = await startHost({ appDir: app.appDir, env, timeoutMs: app.timeoutMs, log })
    started.host = host
    parts.push(host)
    let baseUrl = `http://${settings.host}:${settings.port}`
    const server = createHostServer(host, { baseUrl: () => baseUrl, storage: () => storage, log })
    const port = await listen(server, settings.host, settings.port)
    baseUrl = `http://${settings.host}:${port}`
    parts.push({ stop: () => new Promise<void>((done) => (server.closeAllConnections(), server.close(() => done()))) })
    if (storage) {
      const { startListeners } = await import('./storage.js')
      parts.push(await startListeners(host, storage, env, log, app.hostJson))
      if (context.console !== undefined) context.console.attachQueues((await import('./console.js')).storageQueues(storage.connectionString))
    }
    parts.push(startTimers(host, env, log))
    // An edited handler is served from the next invocation on: each good rebuild runs in a new worker. Stopped
    // last, in place of the app's own disposal: the build it discards then is the one the worker served.
    parts[0] = hotReload({
      current: app,
      build: () => prepareApp(context, 'offline'),
      swap: (next) => host.reload(next.appDir),
      discard: (build) => build.dispose(),
      log: context.log,
    })
    context.write(describeFunctions(host.functions, baseUrl, env))
    context.write(`Host started: ${baseUrl} (serverless-polycloud, Azure Functions host emulation)${storage ? `; azurite data in ${settings.storage}` : ''}${serviceBus ? '; Service Bus: the local stand-in (messages kept in memory)' : ''}`)
    // The line tools wait for, as serverless-offline prints it.
    process.stderr.write(`Server ready: ${baseUrl} 🚀\n`)
  } catch (error) {
    await stopAll(parts)
    throw error
  }
  await serveUntilInterrupted(parts)
}

/** Fires each enabled timer function on its schedule, with the status the schedule monitor would give. */
function startTimers(host: LocalHost, env: Readonly<Record<string, string | undefined>>, log: HostLog): Stoppable {
  const jobs = host.functions
    .filter((fn) => triggerOf(fn).type.toLowerCase() === 'timertrigger' && !isDisabled(env, fn.name))
    .map((fn) => {
      let last: Date | undefined
      return {
        name: fn.name,
        expression: fromNcrontab(String(triggerOf(fn).schedule)),
        async fire(at: Date) {
          const data = timerInfo(at, last)
          last = at
          await host.invoke({ functionName: fn.name, reason: `Timer fired at ${at.toISOString()}`, data, metadata: {} })
        },
      }
    })
  return startScheduler(jobs, (job, error) => log('error', `Timer ${job.name} failed: ${(error as Error).message}`))
}

function describeFunctions(functions: readonly RegisteredFunction[], baseUrl: string, env: Readonly<Record<string, string | undefined>>): string {
  const routes = httpRoutes(functions)
  const lines = ['', 'Functions:', '']
  for (const fn of functions) {
    const route = routes.find((candidate) => candidate.fn === fn)
    const disabled = isDisabled(env, fn.name) ? ' (disabled)' : ''
    if (route) lines.push(`\t${fn.name}: [${route.methods.join(',')}] ${baseUrl}/api${route.path}${disabled}`)
    else lines.push(`\t${fn.name}: ${triggerOf(fn).type}${disabled}`)
  }
  lines.push('')
  return lines.join('\n')
}
