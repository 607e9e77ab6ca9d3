/**
 * `serverless invoke local -f <function> --path <payload.json>` for Google Cloud: one delivery to the packaged
 * function, run on the Functions Framework as `serverless offline` runs it, its answer printed; and the request a
 * payload becomes (`invoke` sends the same to the deployed function).
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { ConfigError } from '../../errors.js'
import type { ResourceDeclaration } from '../../model.js'
import type { Json, ServiceContext } from '../../provider.js'
import { hostFunction, LOCAL_PROJECT } from './offline.js'
import { packageSource } from './package.js'
import type { CloudFunctionSpec, GooglePlan } from './plan.js'
import { startLocalStores } from './stores.js'

type Context = ServiceContext<GooglePlan>

/** The payload of `invoke local`: `--path` (a JSON file) or `--data` (JSON text). */
function payload(context: Context): unknown {
  const { path, data } = context.options
  let text: string
  let where: string
  if (typeof path === 'string') {
    where = `--path ${path}`
    try {
      text = readFileSync(resolve(context.servicePath, path), 'utf8')
    } catch (error) {
      throw new ConfigError('--path', `cannot read ${path}: ${(error as Error).message}`)
    }
  } else if (typeof data === 'string') {
    ;[text, where] = [data, '--data']
  } else {
    throw new ConfigError('invoke local', 'give the native payload with --path <file.json> or --data <json>')
  }
  try {
    return JSON.parse(text) as unknown
  } catch (error) {
    throw new ConfigError(where, `is not JSON: ${(error as Error).message}`)
  }
}

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * The request `invoke local` sends for a payload, as Google delivers it: a CloudEvent (structured mode) to a
 * CloudEvent function, the JSON body (a Pub/Sub push envelope) to a push endpoint, and for an HTTP function a
 * request described as `{ method, path, headers, body }`.
 */
export function invocation(spec: CloudFunctionSpec, event: unknown): { method: string; path: string; headers: Record<string, string>; body: string | undefined } {
  if (spec.signature === 'cloudevent') {
    if (!isObject(event) || typeof event.specversion !== 'string' || typeof event.type !== 'string') {
      throw new ConfigError('invoke local', `${spec.function} is a CloudEvent function: the payload must be a CloudEvent ({ "specversion": "1.0", "id", "source", "type", "data" })`)
    }
    return { method: 'POST', path: '/', headers: { 'content-type': 'application/cloudevents+json' }, body: JSON.stringify(event) }
  }
  const http = spec.function !== undefined && isObject(event) && ('method' in event || 'path' in event) && !('message' in event) && !('specversion' in event)
  if (!http) return { method: 'POST', path: '/', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) }
  const request = event as { method?: unknown; path?: unknown; headers?: unknown; body?: unknown }
  const headers: Record<string, string> = {}
  if (isObject(request.headers)) for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = String(value)
  let body: string | undefined
  if (request.body !== undefined && request.body !== null) {
    body = typeof request.body === 'string' ? request.body : JSON.stringify(request.body)
    if (typeof request.body !== 'string') headers['content-type'] ??= 'application/json'
  }
  const path = typeof request.path === 'string' && request.path.startsWith('/') ? request.path : '/'
  return { method: typeof request.method === 'string' ? request.method.toUpperCase() : 'GET', path, headers, body }
}

/** `serverless invoke local -f <function> --path <payload.json>`: one delivery to the packaged function, its answer printed. */
export async function invokeLocalCommand(context: Context): Promise<void> {
  const name = context.options.function
  const functions = context.plan.functions
  if (typeof name !== 'string' || !functions.some((fn) => fn.name === name)) {
    throw new ConfigError('--function', `${JSON.stringify(name)} is not a function of the service (${functions.map((fn) => fn.name).join(', ')})`)
  }
  const event = payload(context)
  // The function as deployed on its own (a routed function too, whatever functionUrls says): its entry point is
  // bundled even when the service's layout leaves routed functions to the router.
  const layout = context.plan.entryLayout
  const packaged = await packageSource(context, { ...context.plan.settings(), layout })
  const spec = layout.functions.find((candidate) => candidate.function === name) as CloudFunctionSpec
  const request = invocation(spec, event)
  const output: string[] = []
  const project = packaged.settings.project ?? LOCAL_PROJECT
  // A function that uses a store reaches the local Firestore `npm start` serves, on its state in .polycloud/state/google
  // (started for the invocation), unless FIRESTORE_EMULATOR_HOST names one already.
  const stores = process.env.FIRESTORE_EMULATOR_HOST ? undefined : await startLocalStores(usedStores(context, name), { host: '127.0.0.1', servicePath: context.servicePath, project })
  let fn
  try {
    fn = await hostFunction(spec, { sourceDir: packaged.sourceDir, host: '127.0.0.1', port: 0, project, write: (chunk) => output.push(chunk), env: { ...(process.env.FIRESTORE_EMULATOR_HOST ? { FIRESTORE_EMULATOR_HOST: process.env.FIRESTORE_EMULATOR_HOST } : {}), ...stores?.environment } })
  } catch (error) {
    await stores?.stop()
    throw error
  }
  try {
    const init: RequestInit = { method: request.method, headers: request.headers }
    if (request.body !== undefined && request.method !== 'GET' && request.method !== 'HEAD') init.body = request.body
    const response = await fetch(`${fn.url}${request.path}`, init)
    const text = await response.text()
    // The handler's log lines first, then the answer (as `invoke local` prints a Lambda's result).
    await new Promise((done) => setTimeout(done, 50))
    for (const chunk of output) process.stdout.write(chunk)
    let body: unknown = text
    try {
      body = text === '' ? null : JSON.parse(text)
    } catch {
      // Not JSON: printed as text.
    }
    context.write(JSON.stringify({ status: response.status, headers: Object.fromEntries(response.headers), body }, null, 2))
  } finally {
    await fn.stop()
    await stores?.stop()
  }
}

/** The stores the function `name` uses (its `uses`). */
function usedStores(context: Context, name: string): readonly ResourceDeclaration[] {
  return (context.plan.functions.find((fn) => fn.name === name)?.model.resources ?? []).filter((resource) => resource.kind === 'store')
}
