/**
 * `serverless offline` for Google Cloud (and the function host `serverless invoke local` shares with it): the
 * packaged source served by the Functions Framework, one process per function (each is its own instance on Google, with its own environment), bound to
 * 127.0.0.1 (or `--host`). The routing function answers the service's routes at their declared paths on `--port`
 * (8080); the event functions are fed by the local Pub/Sub, Eventarc and Scheduler of `emulator.ts` on the next port,
 * and the schedules fire on time. Ctrl-C stops everything.
 */
import { createRequire } from 'node:module'
import { rmSync } from 'node:fs'
import { delimiter, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ConfigError, ProviderError } from '../../errors.js'
import { localRetrySeconds, serveUntilInterrupted, startProcess, startScheduler, stopAll, type LocalProcess, type Stoppable } from '../../local.js'
import type { ServiceContext } from '../../provider.js'
import { hotReload } from '../../reload.js'
import { startEmulator, type Emulator } from './emulator.js'
import { startLocalStorage } from './local/storage.js'
import { startLocalStores } from './stores.js'
import type { ReloadReply, ReloadRequest } from './host.js'
import { SOURCE_DIR, packageSource, writeSource } from './package.js'
import type { CloudFunctionSpec, GooglePlan, GoogleSettings } from './plan.js'

type Context = ServiceContext<GooglePlan>

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
  options: { sourceDir: string; host: string; port: number; project: string; write?: (chunk: string) => void; env?: Readonly<Record<string, string>> },
): Promise<HostedFunction> {
  const modules = frameworkModules()
  const env: NodeJS.ProcessEnv = {
    ...spec.environment,
    ...options.env,
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
    child = await startProcess(process.execPath, [HOST_SCRIPT], { ready: /polycloud-host listening \S+/, env, name: `function ${spec.id}`, cwd: options.sourceDir, ipc: true })
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

/** Sends a host a step of a reload and resolves with its answer (a host that ended or does not answer fails it). */
function ask(fn: HostedFunction, request: ReloadRequest): Promise<ReloadReply> {
  const child = fn.process.child
  return new Promise((resolveAnswer) => {
    const done = (reply: ReloadReply): void => {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
      resolveAnswer(reply)
    }
    const onMessage = (reply: ReloadReply): void => done(reply)
    const onExit = (): void => done({ type: 'failed', message: `${fn.spec.id} ended` })
    const timer = setTimeout(() => done({ type: 'failed', message: `${fn.spec.id} did not load the new build in 60 s` }), 60_000)
    child.on('message', onMessage)
    child.once('exit', onExit)
    child.send(request, (error) => {
      if (error) done({ type: 'failed', message: `${fn.spec.id} is gone: ${error.message}` })
    })
  })
}

/**
 * Serves another build of the source in every hosted function, or in none: each loads its function from `source`
 * beside the one serving; only when all have, do they switch, so the routes and the event functions never run two
 * builds at once. Rejects with the functions' errors (each once), every function serving the old build still.
 */
export async function reloadHosts(hosted: readonly HostedFunction[], source: string): Promise<void> {
  const answers = await Promise.all(hosted.map((fn) => ask(fn, { type: 'prepare', source })))
  const failures = answers.flatMap((answer, index) => (answer.type === 'failed' ? [`${(hosted[index] as HostedFunction).spec.id}: ${answer.message}`] : []))
  if (failures.length > 0) {
    for (const fn of hosted) fn.process.child.send({ type: 'abort' } satisfies ReloadRequest, () => {})
    throw new ProviderError(`the new build could not be loaded:\n${[...new Set(failures)].join('\n')}`)
  }
  await Promise.all(hosted.map((fn) => ask(fn, { type: 'commit' })))
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

/** The buckets served locally: those the triggers watch, the declared ones and those the code uses. */
export function localBuckets(settings: Pick<GoogleSettings, 'layout'>): string[] {
  const { layout } = settings
  const triggered = layout.functions.flatMap((fn) => fn.trigger?.filters.filter((filter) => filter.attribute === 'bucket').map((filter) => filter.value) ?? [])
  return [...new Set([...triggered, ...layout.buckets.map((bucket) => bucket.name), ...layout.grants.flatMap((grant) => (grant.kind === 'bucket' ? [grant.name] : []))])]
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
  const parts: Stoppable[] = []
  // The local URL of each Cloud Function, by id: filled once they are hosted (the emulator delivers to them).
  const urls = new Map<string, string>()
  let hosted: HostedFunction[] = []
  try {
    const eventsPort = port === 0 ? 0 : port + 1
    // The buckets the triggers and the functions' code use live in a local Cloud Storage, served through the events
    // endpoint (its notifications fire the bucket triggers); the functions' clients reach both as Google's clients
    // reach emulators (STORAGE_EMULATOR_HOST, PUBSUB_EMULATOR_HOST).
    const buckets = localBuckets(settings)
    const events: { emulator?: Emulator } = {}
    const storage = buckets.length === 0 ? undefined : await startLocalStorage({ host, port: 0, buckets, notify: (notification) => events.emulator?.objectEvent(notification.type, notification.object as unknown as Record<string, unknown>) })
    if (storage) parts.push(storage)
    // POLYCLOUD_OFFLINE_RETRY_SECONDS: a fixed wait instead of Pub/Sub's backoff; the attempts stay as deployed.
    const retry = localRetrySeconds()
    const emulator = await startEmulator({
      project,
      region: settings.region,
      host,
      port: eventsPort,
      layout: settings.layout,
      urls,
      log: (line) => context.log.notice(line),
      ...(storage ? { storage: storage.url } : {}),
      ...(retry === undefined ? {} : { backoff: { minMs: retry * 1000, maxMs: retry * 1000 } }),
    }).catch((error: unknown) => {
      throw new ProviderError(`the local events endpoint cannot listen on ${host}:${eventsPort}: ${(error as Error).message}`, 'stop what listens there, or serve on another port (--port; events use the next one)')
    })
    events.emulator = emulator
    parts.push(emulator)
    if (context.console !== undefined) context.console.attachQueues((await import('./console.js')).pubSubQueues(emulator))
    const emulated = new URL(emulator.url).host
    // The stores live in the local Firestore, which the functions reach as Google's clients reach an emulator.
    const stores = await startLocalStores(context.plan.model.resources, { host, servicePath: context.servicePath, project })
    if (stores) parts.push(stores)
    const env = {
      ...(settings.layout.grants.length > 0 ? { PUBSUB_EMULATOR_HOST: emulated, ...(storage ? { STORAGE_EMULATOR_HOST: emulator.url } : {}) } : {}),
      ...stores?.environment,
    }
    const started = await Promise.allSettled(
      specs.map((spec) => hostFunction(spec, { sourceDir, host, port: spec === settings.layout.router ? port : 0, project, write, env })),
    )
    hosted = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))
    parts.push(...hosted)
    const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected')
    if (failed) throw failed.reason
    for (const spec of settings.layout.functions) {
      const instance = hosted.find((fn) => fn.spec.entryPoint === spec.entryPoint)
      if (instance) urls.set(spec.id, instance.url)
    }
    const jobs = settings.layout.jobs.filter((job) => job.enabled)
    parts.push(
      startScheduler(
        jobs.map((job) => ({ name: job.name, expression: job.schedule, fire: async (time) => void emulator.runJob(job.name, time) })),
        (job, error) => context.log.error(`schedule ${job.name} could not fire: ${(error as Error).message}`),
      ),
    )
    // An edited handler is served from the next request on: each good rebuild, in a folder of its own, is loaded by
    // every function process beside the build it serves, then served by all of them at once.
    let builds = 0
    const reloader = hotReload({
        current: { sourceDir, inputs: packaged.inputs },
        async build() {
          const next = join(context.workDir, `${SOURCE_DIR}-${++builds}`)
          try {
            return { sourceDir: next, inputs: await writeSource(context, settings, next) }
          } catch (error) {
            rmSync(next, { recursive: true, force: true })
            throw error
          }
        },
        swap: (next) => reloadHosts(hosted, next.sourceDir),
        // The packaged source stays: `serverless package` and `invoke local` read it.
        discard: (build) => (build.sourceDir === sourceDir ? undefined : rmSync(build.sourceDir, { recursive: true, force: true })),
        log: context.log,
    })
    // Stopped last: the build it discards then is the one the function processes served.
    parts.unshift(reloader)
    const router = hosted.find((fn) => fn.spec.id === settings.layout.router?.id)
    const lines = [`Serving ${context.service} (${context.stage}) on the Functions Framework, packaged source ${sourceDir}`]
    if (router) {
      lines.push(`  routes at ${router.url}:`)
      for (const route of router.spec.routes) lines.push(`    ${route.method.padEnd(7)} ${router.url}${route.path}  (${route.function})`)
    }
    for (const fn of hosted) if (fn !== router) lines.push(`  ${fn.spec.function} (${fn.spec.trigger?.describe ?? (fn.spec.signature === 'http' ? 'HTTP' : 'events')}): ${fn.url}`)
    lines.push(`  events (Pub/Sub, Cloud Storage, Cloud Scheduler): ${emulator.url}`)
    if (stores !== undefined) lines.push(...stores.lines)
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
