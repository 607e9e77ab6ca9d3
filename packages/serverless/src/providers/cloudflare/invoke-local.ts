/**
 * `serverless invoke local -f <fn> --path <event.json>` (or `--data`) for Cloudflare: packages the service, starts
 * the packaged Worker on workerd and hands the function a native payload, the way Workers would:
 *
 * - `{ "cron": "0 3 * * *", "scheduledTime": ... }`: a Cron Trigger (the cron may be omitted: the function's own);
 * - `{ "queue": "orders", "messages": [{ "id", "timestamp", "body", "attempts" }] }`: a Queues batch (the queue may
 *   be omitted, or named as in serverless.yml); an R2 notification body makes a storage event;
 * - `{ "method": "GET", "path": "/hello?name=Ada", "headers": {}, "body": "..." }`: an HTTP request.
 *
 * Prints the function's log lines, then the result as JSON: the batch's outcome with the messages acknowledged and
 * retried, or the HTTP response.
 */
import { readFileSync } from 'node:fs'
import { isAbsolute, join } from 'node:path'
import { createRouter } from '@polycloud/core/adapter'
import { ConfigError } from '../../errors.js'
import type { Json, ServiceContext } from '../../provider.js'
import { printLog } from './offline.js'
import { packageService } from './package.js'
import type { CloudflarePlan, ServiceManifest } from './plan.js'
import { startRuntime } from './runtime.js'

function readPayload(context: ServiceContext): unknown {
  const { path, data } = context.options
  let text: string
  if (typeof path === 'string') {
    try {
      text = readFileSync(isAbsolute(path) ? path : join(context.servicePath, path), 'utf8')
    } catch (error) {
      throw new ConfigError('--path', `cannot read ${path}: ${(error as Error).message}`)
    }
  } else if (typeof data === 'string') text = data
  else return {}
  try {
    return JSON.parse(text) as unknown
  } catch (error) {
    throw new ConfigError(typeof path === 'string' ? '--path' : '--data', `not JSON: ${(error as Error).message}`)
  }
}

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)

function millis(value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  const time = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : NaN
  if (!Number.isFinite(time)) throw new ConfigError('payload', `${JSON.stringify(value)} is not a time (ms since the epoch or an ISO string)`)
  return time
}

export async function invokeLocalCommand(context: ServiceContext<CloudflarePlan>): Promise<void> {
  const name = context.options.function ?? context.options.f
  if (typeof name !== 'string') throw new ConfigError('--function', 'name the function to run: serverless invoke local -f <function> --path <event.json>')
  const payload = readPayload(context)
  if (!isObject(payload)) throw new ConfigError('payload', 'a Cloudflare payload is a JSON object (a cron, a queue batch or an HTTP request)')
  const artifact = await packageService(context)
  const { manifest } = artifact
  const fn = manifest.functions.find((candidate) => candidate.name === name)
  if (fn === undefined) {
    throw new ConfigError('--function', `no function ${JSON.stringify(name)} in the Worker (functions: ${manifest.functions.map((candidate) => candidate.name).join(', ')})`)
  }
  const runtime = await startRuntime(manifest, artifact.dir, { host: '127.0.0.1', port: 0, stateDir: join(context.servicePath, '.polycloud', 'state', 'cloudflare'), onLog: printLog })
  let result: unknown
  try {
    const worker = await runtime.miniflare.getWorker(manifest.script)
    if (fn.kind === 'schedule') result = await runCron(worker, fn, payload)
    else if (fn.kind === 'http') result = await runRequest(runtime.url, manifest, fn, payload)
    else result = await runBatch(worker, manifest, fn, payload)
  } finally {
    await runtime.stop()
  }
  context.write(JSON.stringify(result, null, 2))
}

type Fn = ServiceManifest['functions'][number]
type Worker = Awaited<ReturnType<Awaited<ReturnType<typeof startRuntime>>['miniflare']['getWorker']>>

async function runCron(worker: Worker, fn: Fn, payload: Json): Promise<unknown> {
  const crons = fn.crons.flatMap(({ cron, expression }) => [cron, expression])
  const cron = payload.cron === undefined ? fn.crons[0]?.cron : payload.cron
  if (typeof cron !== 'string' || !crons.includes(cron)) {
    throw new ConfigError('payload.cron', `function ${fn.name} runs on ${fn.crons.map(({ cron: own }) => JSON.stringify(own)).join(', ')}; cron ${JSON.stringify(cron)} would not reach it`)
  }
  const result = await worker.scheduled({ cron, scheduledTime: new Date(millis(payload.scheduledTime, Date.now())) })
  return { outcome: result.outcome, noRetry: result.noRetry }
}

async function runBatch(worker: Worker, manifest: ServiceManifest, fn: Fn, payload: Json): Promise<unknown> {
  const own = manifest.queues.filter((queue) => queue.function === fn.name)
  const queue = payload.queue === undefined ? own[0] : own.find((candidate) => candidate.name === payload.queue || candidate.alias === payload.queue)
  if (queue === undefined) {
    throw new ConfigError('payload.queue', `function ${fn.name} consumes ${own.map((candidate) => JSON.stringify(candidate.name)).join(', ')}; queue ${JSON.stringify(payload.queue)} would not reach it`)
  }
  if (!Array.isArray(payload.messages) || payload.messages.length === 0) {
    throw new ConfigError('payload.messages', 'a queue batch needs messages: [{ "id", "timestamp", "body", "attempts" }]')
  }
  const now = Date.now()
  const messages = payload.messages.map((message: unknown, index: number) => {
    if (!isObject(message) || !('body' in message)) throw new ConfigError(`payload.messages[${index}]`, 'a message is { "id", "timestamp", "body", "attempts" } with at least a body')
    return {
      id: typeof message.id === 'string' ? message.id : `m-${index}`,
      timestamp: new Date(millis(message.timestamp, now)),
      body: message.body,
      attempts: typeof message.attempts === 'number' ? message.attempts : 1,
    }
  })
  const result = await worker.queue(queue.name, messages)
  const retried = result.retryBatch.retry ? messages.map((message) => message.id) : result.retryMessages.map((message) => message.msgId)
  const acked = messages.map((message) => message.id).filter((id) => !retried.includes(id))
  return { outcome: result.outcome, queue: queue.name, acked, retried }
}

async function runRequest(base: string, manifest: ServiceManifest, fn: Fn, payload: Json): Promise<unknown> {
  const route = fn.routes[0]
  const method = typeof payload.method === 'string' ? payload.method.toUpperCase() : route?.method === 'ANY' || route === undefined ? 'GET' : route.method
  const path = typeof payload.path === 'string' ? payload.path : (route?.path ?? '/')
  const routes = manifest.functions.flatMap((candidate) => candidate.routes.map((template) => ({ ...template, function: candidate.name })))
  let target: string | undefined
  try {
    target = routes[createRouter(routes)(method, new URL(path, base).pathname).index]?.function
  } catch {
    target = undefined
  }
  if (target !== fn.name) {
    throw new ConfigError('payload.path', `${method} ${path} does not reach function ${fn.name} (its routes: ${fn.routes.map((own) => `${own.method} ${own.path}`).join(', ')})`)
  }
  // Uncompressed, so the body printed is the one the headers describe.
  const headers: Record<string, string> = { 'accept-encoding': 'identity' }
  if (isObject(payload.headers)) for (const [key, value] of Object.entries(payload.headers)) headers[key.toLowerCase()] = String(value)
  const body = payload.body === undefined || method === 'GET' || method === 'HEAD' ? undefined : typeof payload.body === 'string' ? payload.body : JSON.stringify(payload.body)
  const response = await fetch(new URL(path, base), { method, headers, body })
  const text = await response.text()
  return { status: response.status, headers: Object.fromEntries(response.headers), body: text }
}
