/**
 * AWS is served by the framework's own machinery (osls packages and deploys, serverless-esbuild bundles,
 * serverless-offline emulates): at `initialize` the plan is applied to the framework's service. Each function points
 * at its generated entry with its osls events, the resources the events need join `resources.Resources`, and what
 * API Gateway enforces goes into `provider.httpApi`.
 */
import { createRequire } from 'node:module'
import { basename, dirname, join, relative } from 'node:path'
import type { Json, ServiceContext } from '../../provider.js'
import { KEYS_VARIABLE } from '../../security.js'
import { telemetryEnvironment } from '../../telemetry.js'
import { manageEsbuild } from './esbuild.js'
import { runsLocally } from './local-model.js'
import { servicesBesideOffline } from './offline-services.js'
import { isLocalCommand, isOfflineCommand, type AwsPlan } from './plan.js'
import { addressResources, defaultLocalAddresses, narrowSharedRole, removeBuckets, s3Remover } from './resources.js'
import { storesForInvokeLocal } from './invoke-stores.js'
import { removeKeptStores } from './stores.js'
import { truthfulOffline } from './serverless-offline.js'

/** The framework's view of the service that the hand-over rewrites. */
interface AwsService {
  service: {
    provider: { apiGateway?: Json; httpApi?: Json; environment?: Json; region?: string; compiledCloudFormationTemplate?: { Resources?: Json } }
    functions: Record<string, { events?: Json[]; handler?: string; environment?: Json; role?: unknown }>
    custom?: { esbuild?: Json }
    resources?: { Resources?: Json }
  }
}

/**
 * Source maps for the bundles (`custom.esbuild.sourcemap`, unless the service says otherwise), so stack traces in
 * logs point at the TypeScript handlers: each entry first imports `lib/map-stack-traces.js` (see entry.ts and
 * stack-traces.ts), which compiles the mapper and reads a bundle's map only when a stack is formatted. `--enable-source-maps` is not set: it reads and indexes the
 * map at every cold start (15.9 M instructions for the hello function on Node 20, 11.8 M on Node 22), and a map
 * enabled later is not applied to modules already loaded. The maps hold no sources (`sourcesContent: false`): only
 * names and positions, a few KB per function.
 */
function enableSourceMaps(service: AwsService['service'], command: string | undefined): void {
  const esbuild = (service.custom ??= {}).esbuild ??= {}
  esbuild.sourcemap ??= 'linked'
  if (esbuild.sourcemap === false || esbuild.sourcemap === 'external') return
  esbuild.sourcesContent ??= false
  // `invoke local` runs the bundle in this process, functions with `polycloud: false` too (they have no mapper).
  if (command === 'invoke local') process.setSourceMapsEnabled(true)
}

/**
 * What the events need of the stack: the queues they create, the streams they turn on (`resources.Resources`, there
 * as soon as a neutral event is, as the framework's state records it).
 */
function addResources(service: AwsService['service'], plan: AwsPlan): void {
  const planned = Object.entries(plan.resources)
  const neutral = plan.functions.some((fn) => fn.events.some(({ event }) => event.kind !== 'native'))
  if (planned.length === 0 && !neutral) return
  const resources = ((service.resources ??= {}).Resources ??= {})
  // Copies: the framework may change what it is given; the plan stays as it was decided.
  for (const [id, resource] of planned) resources[id] = structuredClone(resource)
}

/**
 * What API Gateway enforces of the routes' security: JWT authorizers and the API's CORS configuration
 * (`provider.httpApi`), and the API keys' digests in the environment of the functions that check them.
 */
function secureHttpApi(service: AwsService['service'], plan: AwsPlan): void {
  if (Object.keys(plan.authorizers).length > 0 || plan.cors) {
    const httpApi = (service.provider.httpApi ??= {})
    if (Object.keys(plan.authorizers).length > 0) httpApi.authorizers = { ...(httpApi.authorizers as Json | undefined), ...structuredClone(plan.authorizers) }
    if (plan.cors) httpApi.cors = structuredClone(plan.cors)
  }
  for (const fn of plan.functions) {
    const keys = fn.environment[KEYS_VARIABLE]
    const config = service.functions[fn.name]
    if (keys !== undefined && config) config.environment = { ...config.environment, [KEYS_VARIABLE]: keys }
  }
}

/**
 * The OpenTelemetry opt-in's variables (the collector's URL, the export headers, the service name) in every
 * function's environment: the framework deploys `provider.environment` and each function's own as written, not the
 * model's. A value the function or the provider block sets itself wins.
 */
function namesCollector(service: AwsService['service'], plan: AwsPlan): void {
  for (const fn of plan.functions) {
    const config = service.functions[fn.name]
    if (fn.model.telemetry === undefined || config === undefined) continue
    const own = { ...(service.provider.environment as Json | undefined), ...(config.environment as Json | undefined) }
    const added = Object.entries(telemetryEnvironment(fn.model.telemetry)).filter(([name]) => !(name in own))
    if (added.length > 0) config.environment = { ...config.environment, ...Object.fromEntries(added) }
  }
}

/** serverless-esbuild's own watch ignores (its `DEFAULT_BUILD_OPTIONS`), which a `watch.ignore` of the service replaces. */
const WATCH_IGNORED = ['.esbuild', 'dist', 'node_modules', '.build']

/**
 * Each function that uses resources runs with its own role (planned with the resources); once osls has compiled the
 * events, what it granted its shared role for those functions' queues and streams is taken out of it.
 */
function grantResources(serverless: unknown, plan: AwsPlan, log: ServiceContext['log']): void {
  const { service, pluginManager } = serverless as AwsService & { pluginManager?: { hooks: Record<string, Array<{ pluginName: string; hook: () => unknown }>> } }
  for (const [name, role] of plan.roles) {
    const config = service.functions[name]
    if (config) config.role = role.id
  }
  for (const note of plan.notes) log.warning(`serverless-polycloud: ${note}`)
  if (plan.roles.size === 0 || pluginManager === undefined) return
  ;(pluginManager.hooks['package:compileEvents'] ??= []).push({
    pluginName: 'PolycloudPlugin',
    hook: () => narrowSharedRole(service.provider.compiledCloudFormationTemplate ?? {}, plan.roles.values(), plan.sharedConsumes),
  })
}

/** The framework's parts `remove` reaches S3 with: its AWS provider's SDK v3 configuration, and where osls is. */
interface AwsFramework {
  config: { serverlessPath?: string }
  getProvider?(name: string): { getAwsSdkV3Config(): Promise<object> }
  pluginManager?: { hooks: Record<string, Array<{ pluginName: string; hook: () => unknown }>> }
}

/**
 * After `serverless remove`, the declared buckets the stack kept (`DeletionPolicy: Retain`) are deleted when empty,
 * with their objects under `--deleteObjects`, and kept with a warning otherwise: through osls's own AWS SDK client
 * and credentials.
 */
function removeKeptBuckets(serverless: unknown, plan: AwsPlan, context: ServiceContext<AwsPlan>): void {
  const framework = serverless as AwsFramework
  const buckets = plan.model.resources.filter((resource) => resource.kind === 'bucket' && !resource.existing).map((resource) => resource.deployedName)
  if (buckets.length === 0 || framework.pluginManager === undefined) return
  ;(framework.pluginManager.hooks['after:remove:remove'] ??= []).push({
    pluginName: 'PolycloudPlugin',
    hook: async () => {
      const sdk = createRequire(join(framework.config.serverlessPath ?? process.cwd(), 'index.js'))('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3')
      const s3 = new sdk.S3Client((await framework.getProvider?.('aws').getAwsSdkV3Config()) ?? {})
      const remover = s3Remover(sdk, s3)
      const deleteObjects = context.options.deleteObjects === true || context.options.deleteObjects === 'true'
      try {
        const removed = await removeBuckets(buckets, remover, deleteObjects, (line) => context.log.warning(`serverless-polycloud: ${line}`))
        if (removed.length > 0) context.log.notice(`serverless-polycloud: removed ${removed.join(', ')}`)
      } finally {
        s3.destroy()
      }
    },
  })
}

/**
 * Each command bundles in a folder of its own (`.esbuild/<the entries' folder>`, unless the service sets
 * `custom.esbuild.outputWorkFolder`): serverless-esbuild deletes its whole work folder after `package`, and
 * `invoke local` rebuilds in it, which would pull the bundles from under a running `serverless offline`.
 *
 * And the generated entries are not sources for `serverless offline`'s file watcher: it watches every `.js`/`.ts`
 * file of the service, so each `invoke local` beside it (which writes its own entries under `.polycloud/`) made it
 * rebuild, and serverless-offline then ended every function's worker thread, one still starting included; the
 * invocation that worker was to run never settled and answered the Lambda timeout (a 500 from the HTTP API). The
 * entries are written once per command, from the handlers, which stay watched.
 */
function separateBuilds(service: AwsService['service'], workDir: string, servicePath: string): void {
  const esbuild = ((service.custom ??= {}).esbuild ??= {})
  esbuild.outputWorkFolder ??= `.esbuild/${basename(workDir)}`
  const watch = ((esbuild.watch as Json | undefined) ??= {})
  const ignored = watch.ignore === undefined ? WATCH_IGNORED : ([] as unknown[]).concat(watch.ignore)
  const entries = relative(servicePath, dirname(workDir)).replaceAll('\\', '/')
  if (!ignored.includes(entries)) watch.ignore = [...ignored, entries]
}

/** Points each function at its entry and gives osls its events; serverless-esbuild bundles the entries. */
export function handOver(context: ServiceContext<AwsPlan>, serverless: unknown): { release(): Promise<void> } | undefined {
  const { plan } = context
  const service = (serverless as AwsService).service
  const relativeDir = relative(context.servicePath, context.workDir).replaceAll('\\', '/')
  separateBuilds(service, context.workDir, context.servicePath)
  addResources(service, plan)
  grantResources(serverless, plan, context.log)
  if (context.command === 'remove') {
    removeKeptBuckets(serverless, plan, context)
    removeKeptStores(serverless, plan.model.resources, context)
  }
  secureHttpApi(service, plan)
  namesCollector(service, plan)
  addressResources(service, plan, isLocalCommand(context.command ?? '') ? defaultLocalAddresses(service.provider.region ?? plan.model.region ?? 'us-east-1') : undefined)
  const offline = isOfflineCommand(context.command ?? '')
  for (const fn of plan.functions) {
    const config = service.functions[fn.name]
    if (!config) continue
    const events = structuredClone(fn.events.flatMap((event) => event.native))
    // Under offline the local services' scheduler fires the schedules it can run; serverless-offline's must not too.
    config.events = offline ? events.filter((event) => !('schedule' in event && runsLocally(event.schedule))) : events
    config.handler = `${relativeDir}/${fn.name}.handler`
  }
  // REST APIs deliver binary bodies only for the media types listed here; all bodies are handled as bytes.
  if (plan.rest) {
    const apiGateway = (service.provider.apiGateway ??= {})
    apiGateway.binaryMediaTypes ??= ['*/*']
  }
  enableSourceMaps(service, context.command)
  if (context.command === 'invoke local') storesForInvokeLocal(context, serverless)
  const esbuild = manageEsbuild(serverless, context.servicePath, context.log)
  if (!offline) return esbuild
  truthfulOffline(context.servicePath, context.log, context.stage, plan.rest)
  const services = servicesBesideOffline(context, serverless)
  return {
    async release() {
      await Promise.all([services?.release(), esbuild?.release()])
    },
  }
}
