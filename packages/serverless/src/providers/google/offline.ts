/**
 * `serverless offline` and `serverless invoke local` for Google Cloud: the packaged source served by the Functions
 * Framework, one process per function (each is its own instance on Google, with its own environment), bound to
 * 127.0.0.1 (or `--host`). The routing function answers the service's routes at their declared paths on `--port`
 * (8080); the event functions are fed by the local Pub/Sub, Eventarc and Scheduler of `emulator.ts` on the next port,
 * and the schedules fire on time. Ctrl-C stops everything.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { delimiter, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ConfigError, ProviderError } from '../../errors.js'
import { serveUntilInterrupted, startProcess, startScheduler, stopAll, type LocalProcess, type Stoppable } from '../../local.js'
import type { ServiceContext } from '../../provider.js'
import { startEmulator } from './emulator.js'
import type { CloudFunctionSpec } from './layout.js'
import { serviceLayout } from './layout.js'
import type { GoogleEvent } from './mapping.js'
import { packageSource } from './package.js'
import { googleSettings, type GoogleSettings } from './settings.js'

type Context = ServiceContext<GoogleEvent>

const HOST_SCRIPT = fileURLToPath(new URL('./host.js', import.meta.url))

/** The project name local deliveries carry when none is configured. */
export const LOCAL_PROJECT = 'local-project'

/** The node_modules folder holding the plugin's own Functions Framework, for sources whose service has none installed. */
function frameworkModules(): string | undefined {
  try {
    // .../node_modules/@google-cloud/functions-framework/build/src/index.js
    return resolve(createRequire(import.meta.url).resolve('@google-cloud/functions-framework'), '../../../../..')
  } catch {
    return undefined
  }
}

export interface HostedFunction extends Stoppable {
  readonly spec: CloudFunctionSpec
  readonly url: string
  readonly process: LocalProcess
}

/**
 * Starts one function of the packaged source on `host:port` (0: a free port), with the environment it has when
 * deployed and the variables Cloud Run sets. Its output (the handlers' log lines) is passed on to `write`.
 */
export async function hostFunction(
  spec: CloudFunctionSpec,
  options: { sourceDir: string; host: string; port: number; project: string; write?: (chunk: string) => void },
): Promise<HostedFunction> {
  const modules = frameworkModules()
  const env: NodeJS.ProcessEnv = {
    ...spec.environment,
    FUNCTION_TARGET: spec.entryPoint,
    FUNCTION_SIGNATURE_TYPE: spec.signature,
    K_SERVICE: spec.id,
    K_REVISION: `${spec.id}-00001-loc`,
    K_CONFIGURATION: spec.id,
    PORT: String(options.port),
    GOOGLE_CLOUD_PROJECT: options.project,
    POLYCLOUD_SOURCE: options.sourceDir,
    POLYCLOUD_LISTEN: `${options.host}:${options.port}`,
    ...(modules ? { NODE_PATH: [process.env.NODE_PATH, modules].filter(Boolean).join(delimiter) } : {}),
  }
  let child: LocalProcess
  try {
    child = await startProcess(process.execPath, [HOST_SCRIPT], { ready: /polycloud-host listening \S+/, env, name: `function ${spec.id}`, cwd: options.sourceDir })
  } catch (error) {
    const text = (error as Error).message
    const hint = /Functions Framework could not be loaded/.test(text)
      ? 'install it where the service is: npm install --save-dev @google-cloud/functions-framework@5.0.5'
      : /cannot listen on/.test(text)
        ? `something else listens on ${options.host}:${options.port}: stop it, or serve on another port (--port)`
        : 'the function failed while loading: see its output above'
    throw new ProviderError(`could not start ${spec.id} on the Functions Framework: ${text}`, hint)
  }
  const url = /polycloud-host listening (\S+)/.exec(child.output())?.[1] as string
  if (options.write) {
    const write = options.write
    child.child.stdout?.on('data', (chunk: Buffer) => write(chunk.toString()))
    child.child.stderr?.on('data', (chunk: Buffer) => write(chunk.toString()))
  }
  return { spec, url, process: child, stop: () => child.stop() }
}

function optionPort(context: Context): number {
  const raw = context.options.port ?? context.options.httpPort ?? 8080
  const port = Number(raw)
  if (!Number.isInteger(port) || port < 0 || port > 65534) throw new ConfigError('--port', `${JSON.stringify(raw)} is not a port (0-65534)`)
  return port
}

/** The functions to host locally: the routing function, and every function no route reaches. */
function hostedSpecs(settings: GoogleSettings): CloudFunctionSpec[] {
  const { layout } = settings
  const routed = new Set((layout.router?.routes ?? []).map((route) => route.function))
  const entries = new Set<string>()
  return layout.functions.filter((spec) => {
    if (spec.function !== undefined && routed.has(spec.function)) return false
    // One instance per entry point: the triggers of a function's other instances are delivered to it.
    if (entries.has(spec.entryPoint)) return false
    entries.add(spec.entryPoint)
    return true
  })
}

/** `serverless offline` (`npm start`). */
export async function offlineCommand(context: Context): Promise<void> {
  const packaged = await packageSource(context)
  const { settings, sourceDir } = packaged
  for (const note of settings.notes) context.log.warning(note)
  const host = typeof context.options.host === 'string' ? context.options.host : '127.0.0.1'
  const port = optionPort(context)
  const project = settings.project ?? LOCAL_PROJECT
  const write = (chunk: string): void => void process.stdout.write(chunk)
  const specs = hostedSpecs(settings)
  const started = await Promise.allSettled(
    specs.map((spec) => hostFunction(spec, { sourceDir, host, port: spec === settings.layout.router ? port : 0, project, write })),
  )
  const hosted = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))
  const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected')
  if (failed) {
    await Promise.all(hosted.map((fn) => fn.stop()))
    throw failed.reason
  }
  const urls = new Map<string, string>()
  for (const spec of settings.layout.functions) {
    const instance = hosted.find((fn) => fn.spec.entryPoint === spec.entryPoint)
    if (instance) urls.set(spec.id, instance.url)
  }
  const parts: Stoppable[] = [...hosted]
  try {
    const eventsPort = port === 0 ? 0 : port + 1
    const emulator = await startEmulator({
      project,
      region: settings.region,
      host,
      port: eventsPort,
      layout: settings.layout,
      urls,
      log: (line) => context.log.notice(line),
    }).catch((error: unknown) => {
      throw new ProviderError(`the local events endpoint cannot listen on ${host}:${eventsPort}: ${(error as Error).message}`, 'stop what listens there, or serve on another port (--port; events use the next one)')
    })
    parts.push(emulator)
    const jobs = settings.layout.jobs.filter((job) => job.enabled)
    parts.push(
      startScheduler(
        jobs.map((job) => ({ name: job.name, expression: job.schedule, fire: async (time) => void emulator.runJob(job.name, time) })),
        (job, error) => context.log.error(`schedule ${job.name} could not fire: ${(error as Error).message}`),
      ),
    )
    const router = hosted.find((fn) => fn.spec === settings.layout.router)
    const lines = [`Serving ${context.service} (${context.stage}) on the Functions Framework, packaged source ${sourceDir}`]
    if (router) {
      lines.push(`  routes at ${router.url}:`)
      for (const route of router.spec.routes) lines.push(`    ${route.method.padEnd(7)} ${router.url}${route.path}  (${route.function})`)
    }
    for (const fn of hosted) if (fn !== router) lines.push(`  ${fn.spec.function} (${fn.spec.trigger?.describe ?? (fn.spec.signature === 'http' ? 'HTTP' : 'events')}): ${fn.url}`)
    lines.push(`  events (Pub/Sub, Cloud Storage, Cloud Scheduler): ${emulator.url}`)
    for (const topic of settings.layout.topics) lines.push(`    POST ${emulator.url}/v1/projects/${project}/topics/${topic.name}:publish`)
    for (const job of jobs) {
      const zone = job.timeZone === 'UTC' ? '' : ` (fired locally in UTC, not ${job.timeZone})`
      lines.push(`    schedule ${job.name}: ${job.schedule}${zone}; run now: POST ${emulator.url}/v1/projects/${project}/locations/${settings.region}/jobs/${job.name}:run`)
    }
    lines.push('Press Ctrl-C to stop.')
    context.log.notice(lines.join('\n'))
    // The line tools wait for (as serverless-offline prints it).
    process.stderr.write(`Server ready: ${router?.url ?? emulator.url} 🚀\n`)
  } catch (error) {
    await stopAll(parts)
    throw error
  }
  await serveUntilInterrupted(parts)
}

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

type Json = Record<string, unknown>

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
  if (typeof name !== 'string' || !context.functions.some((fn) => fn.name === name)) {
    throw new ConfigError('--function', `${JSON.stringify(name)} is not a function of the service (${context.functions.map((fn) => fn.name).join(', ')})`)
  }
  const event = payload(context)
  // The function as deployed on its own (a routed function too, whatever functionUrls says): its entry point is
  // bundled even when the service's layout leaves routed functions to the router.
  const layout = serviceLayout(context.functions, { service: context.service, stage: context.stage, functionUrls: true })
  const packaged = await packageSource(context, { ...googleSettings(context), layout })
  const spec = layout.functions.find((candidate) => candidate.function === name) as CloudFunctionSpec
  const request = invocation(spec, event)
  const output: string[] = []
  const fn = await hostFunction(spec, { sourceDir: packaged.sourceDir, host: '127.0.0.1', port: 0, project: packaged.settings.project ?? LOCAL_PROJECT, write: (chunk) => output.push(chunk) })
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
  }
}
