/**
 * `serverless invoke local -f <fn> --path <event.json>` for Azure: one function of the packaged app (extracted as
 * `serverless offline` serves it) run on the local host with a native payload, its answer printed.
 */
import { readFileSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import { ProviderError } from '../../errors.js'
import type { Json, ServiceContext } from '../../provider.js'
import { hostLog, startHost, type Invocation, type LocalHost } from './host.js'
import { resourceConnections } from './local/resources.js'
import { httpRoutes, offlineSettings, prepareApp, type HttpRoute } from './offline.js'
import { RESOURCE_CONNECTIONS, type AzurePlan } from './plan.js'
import type { LocalStorage } from './storage.js'
import { createTables, storeTable } from './stores.js'
import { bytesOf, fromRpcHttp, httpInvocation, timerInfo, toRpcHttp, triggerOf, typed, typedMetadata, type RegisteredFunction, type RpcTypedDataShape } from './rpc.js'

type Context = ServiceContext<AzurePlan>

/**
 * The invocation a native payload file describes: `{ "input": ..., "triggerMetadata": {...} }` (what the host
 * sends the worker; metadata as the host names it, `DequeueCount`, `ApplicationProperties`, ...) or the bare
 * trigger input. An HTTP function's input is `{ method, url | path, headers, body }` (body: a string, `{ "bytes":
 * "<base64>" }`, or JSON); a timer's may be omitted.
 */
export function nativeInvocation(fn: RegisteredFunction, payload: unknown): Invocation {
  const envelope = typeof payload === 'object' && payload !== null && !Array.isArray(payload) && 'input' in payload ? (payload as Json) : undefined
  const input = envelope ? envelope.input : payload
  const metadataValue = envelope?.triggerMetadata
  if (metadataValue !== undefined && (typeof metadataValue !== 'object' || metadataValue === null || Array.isArray(metadataValue))) {
    throw new ProviderError('triggerMetadata must be an object (metadata name -> value)')
  }
  const metadata = typedMetadata((metadataValue ?? {}) as Json)
  const type = triggerOf(fn).type.toLowerCase()
  const reason = 'This function was called by serverless invoke local.'
  if (type === 'httptrigger') return { functionName: fn.name, reason, ...httpPayload(fn, input) }
  if (type === 'timertrigger' && (input === undefined || input === null || (typeof input === 'object' && Object.keys(input).length === 0))) {
    return { functionName: fn.name, reason, data: timerInfo(new Date(), undefined), metadata }
  }
  const data: RpcTypedDataShape = typeof input === 'string' ? (type === 'blobtrigger' ? { bytes: Buffer.from(input) } : { string: input }) : typed(input)
  return { functionName: fn.name, reason, data, metadata }
}

function httpPayload(fn: RegisteredFunction, input: unknown): Pick<Invocation, 'data' | 'metadata'> {
  if (typeof input !== 'object' || input === null) throw new ProviderError(`the payload of HTTP function ${fn.name} must be an object { method, url or path, headers, body }`)
  const request = input as Json
  const route = httpRoutes([fn])[0] as HttpRoute
  const target = typeof request.url === 'string' ? request.url : `http://127.0.0.1:7071/api${typeof request.path === 'string' ? request.path : route.path}`
  let url: URL
  try {
    url = new URL(target)
  } catch {
    throw new ProviderError(`${JSON.stringify(target)} is not a URL`)
  }
  const path = url.pathname.replace(/^\/api/, '') || '/'
  const params = matchParams(route.path, path)
  if (params === undefined) throw new ProviderError(`${url.pathname} is not a path of function ${fn.name} (its route is /api${route.path})`)
  const headers = (typeof request.headers === 'object' && request.headers !== null ? request.headers : {}) as Record<string, string>
  const raw = request.body
  let body: Buffer
  if (raw === undefined || raw === null) body = Buffer.alloc(0)
  else if (typeof raw === 'string') body = Buffer.from(raw)
  else if (typeof raw === 'object' && typeof (raw as Json).bytes === 'string') body = Buffer.from((raw as Json).bytes as string, 'base64')
  else body = Buffer.from(JSON.stringify(raw))
  const method = typeof request.method === 'string' ? request.method.toUpperCase() : (route.methods[0] === 'ANY' ? 'GET' : (route.methods[0] as string))
  return httpInvocation(toRpcHttp({ method, url: url.href, headers, body, params }))
}

/** The parameters of a neutral route template a path matches, or undefined. */
function matchParams(template: string, path: string): Record<string, string> | undefined {
  const names: string[] = []
  const pattern = template
    .split('/')
    .map((segment) => {
      const param = /^\{([^{}+]+)(\+)?\}$/.exec(segment)
      if (!param) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
      names.push(param[1] as string)
      return param[2] ? '(.+)' : '([^/]+)'
    })
    .join('/')
  const match = new RegExp(`^${pattern}$`).exec(path)
  if (!match) return undefined
  return Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(match[i + 1] as string)]))
}

/** `serverless invoke local -f <fn> --path <event.json>`: runs one function of the packaged app with a native payload. */
export async function invokeLocalCommand(context: Context): Promise<void> {
  const name = context.options.function
  if (typeof name !== 'string' || name === '') throw new ProviderError('invoke local needs --function (-f) <name>')
  let payload: unknown
  const path = context.options.path
  const data = context.options.data
  try {
    if (typeof path === 'string') payload = JSON.parse(readFileSync(isAbsolute(path) ? path : resolve(context.servicePath, path), 'utf8'))
    else if (typeof data === 'string') payload = JSON.parse(data)
  } catch (error) {
    throw new ProviderError(`could not read the payload: ${(error as Error).message}`, 'give --path <file.json> (or --data <json>) with a native Azure payload: { "input": ..., "triggerMetadata": {...} }')
  }
  const settings = offlineSettings(context)
  const log = hostLog(context.write, settings.logLevel)
  const app = await prepareApp(context, 'invoke')
  // A function that uses a store reaches azurite's Table service on the folder `npm start` keeps it in (`--storage`,
  // `.azurite`), started for the invocation on free ports, unless the environment names PolycloudStorage already.
  const stores = context.plan.functions.find((fn) => fn.name === name)?.model.resources.filter((resource) => resource.kind === 'store') ?? []
  let storage: LocalStorage | undefined
  let host: LocalHost
  try {
    if (stores.length > 0 && process.env[RESOURCE_CONNECTIONS.storage] === undefined) {
      const { startStorage } = await import('./storage.js')
      storage = await startStorage({ ...settings, blobPort: 0, queuePort: 0 }, log)
      await createTables(storage.connectionString, stores.map(storeTable))
    }
    host = await startHost({ appDir: app.appDir, env: { ...process.env, ...app.env, ...(storage === undefined ? {} : resourceConnections(storage.connectionString, undefined)) }, timeoutMs: app.timeoutMs, log })
  } catch (error) {
    await storage?.stop()
    app.dispose()
    throw error
  }
  try {
    const fn = host.functions.find((candidate) => candidate.name === name)
    if (fn === undefined) throw new ProviderError(`function ${name} is not in the app (it has ${host.functions.map((candidate) => candidate.name).join(', ')})`)
    const result = await host.invoke(nativeInvocation(fn, payload))
    if (!result.succeeded) throw new ProviderError(`function ${name} failed: ${(result.error ?? '').split('\n')[0]}`)
    const value = result.response?.returnValue
    if (value && 'http' in value) {
      const out = fromRpcHttp(value.http)
      const text = out.body.toString('utf8')
      const printable = Buffer.from(text, 'utf8').equals(out.body)
      context.write(JSON.stringify({ status: out.status, headers: out.headers, body: printable ? text : { bytes: out.body.toString('base64') } }, null, 2))
    } else if (value) {
      context.write(bytesOf(value).toString('utf8'))
    }
  } finally {
    await host.stop()
    await storage?.stop()
    app.dispose()
  }
}
