/**
 * `serverless package` for Cloudflare: the service's Worker bundled from the generated entry (ES module, workerd
 * export conditions, linked source map), the upload metadata exactly as deploy sends it, a `wrangler.json` beside it
 * (so `wrangler deploy` works on the same files), and `polycloud.json`, the description of everything deploy,
 * offline and invoke local act on. Cloudflare's limits are checked here, before anything is uploaded.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { gzipSync } from 'node:zlib'
import { bundle } from '../../bundle.js'
import { ConfigError } from '../../errors.js'
import type { PreparedFunction, ServiceContext } from '../../provider.js'
import { ENTRY_FILE, providerVars } from './entry.js'
import { cloudflareSettings, scriptName, type CloudflareSettings, type CloudflareTrigger, type QueueSpec, type R2Action } from './mapping.js'

/** The artifact's folder inside the package folder, and its main module. */
export const ARTIFACT_DIR = 'cloudflare'
export const MAIN_MODULE = 'worker.mjs'
export const MANIFEST = 'polycloud.json'

/**
 * Workers limits by plan (https://developers.cloudflare.com/workers/platform/limits/): the gzip-compressed size of
 * the upload, the uncompressed size, Cron Triggers per account, the CPU limit that can be configured.
 */
export const PLAN_LIMITS = {
  free: { compressedBytes: 3 * 1024 * 1024, crons: 5, cpuMs: undefined },
  paid: { compressedBytes: 10 * 1024 * 1024, crons: 250, cpuMs: 300_000 },
} as const
export const UNCOMPRESSED_LIMIT = 64 * 1024 * 1024
/** Cron Triggers and queue consumers run at most 15 minutes (wall time). */
export const BACKGROUND_WALL_SECONDS = 900
/** Workers isolates have 128 MB of memory, whatever memorySize says. */
const MEMORY_MB = 128

type Kind = PreparedFunction['kinds'][number]

/** A queue the Worker consumes, and the function it feeds. */
export interface ConsumedQueue extends QueueSpec {
  readonly function: string
  /** The producer binding (a `fromQueue` queue); notification queues have none. */
  readonly binding: string | undefined
  /** The name as written in serverless.yml (`orders`), for a queue of `fromQueue`. */
  readonly alias: string | undefined
}

export interface BucketManifest {
  readonly name: string
  readonly existing: boolean
  readonly binding: string
  readonly notifications: ReadonlyArray<{ readonly queue: string; readonly actions: readonly R2Action[]; readonly prefix?: string; readonly suffix?: string; readonly function: string }>
}

/** Everything about the service's Worker that deploy, offline and invoke local act on (`polycloud.json`). */
export interface ServiceManifest {
  readonly script: string
  readonly service: string
  readonly stage: string
  readonly main: string
  readonly settings: CloudflareSettings
  readonly vars: Readonly<Record<string, string>>
  readonly functions: ReadonlyArray<{
    readonly name: string
    readonly kind: Kind
    readonly routes: ReadonlyArray<{ readonly method: string; readonly path: string }>
    /** Cron Triggers as uploaded, and the expressions as written. */
    readonly crons: ReadonlyArray<{ readonly cron: string; readonly expression: string }>
    readonly queues: readonly string[]
  }>
  /** The Worker's Cron Triggers, each once. */
  readonly crons: readonly string[]
  readonly queues: readonly ConsumedQueue[]
  readonly deadLetterQueues: readonly string[]
  readonly buckets: readonly BucketManifest[]
}

/** A binding of the upload metadata. */
export type Binding =
  | { readonly type: 'plain_text'; readonly name: string; readonly text: string }
  | { readonly type: 'queue'; readonly name: string; readonly queue_name: string }
  | { readonly type: 'r2_bucket'; readonly name: string; readonly bucket_name: string }
  | { readonly type: 'json'; readonly name: string; readonly json: unknown }

/** The `metadata` part of the Worker upload (PUT /accounts/:account/workers/scripts/:name, multipart). */
export interface UploadMetadata {
  readonly main_module: string
  readonly compatibility_date: string
  readonly compatibility_flags?: readonly string[]
  readonly bindings: readonly Binding[]
  readonly limits?: { readonly cpu_ms: number }
}

export interface CloudflareArtifact {
  /** The artifact folder (`.serverless/cloudflare`). */
  readonly dir: string
  readonly manifest: ServiceManifest
  readonly metadata: UploadMetadata
  readonly bytes: number
  readonly gzipBytes: number
}

/** The manifest of the service, from its prepared functions; Cloudflare's limits that do not need the bundle checked. */
export function describeService(context: ServiceContext<CloudflareTrigger>): ServiceManifest {
  const settings = cloudflareSettings(context.custom)
  const script = scriptName(context)
  const queues: ConsumedQueue[] = []
  const buckets = new Map<string, { name: string; existing: boolean; binding: string; notifications: BucketManifest['notifications'][number][] }>()
  const crons: string[] = []
  const functions = context.functions.map((fn) => {
    const routes: Array<{ method: string; path: string }> = []
    const fnCrons: Array<{ cron: string; expression: string }> = []
    const fnQueues: string[] = []
    for (const { spec, plan } of fn.events) {
      const trigger = plan.native
      if (trigger.type === 'route') routes.push({ method: trigger.method, path: trigger.path })
      else if (trigger.type === 'cron') {
        fnCrons.push({ cron: trigger.cron, expression: trigger.expression.trim() })
        if (!crons.includes(trigger.cron)) crons.push(trigger.cron)
      } else {
        const consumer = queues.find((queue) => queue.name === trigger.queue.name)
        if (consumer !== undefined) {
          throw new ConfigError(spec.path, `queue ${trigger.queue.name} is already consumed by function ${consumer.function}; a Cloudflare queue has one consumer`)
        }
        const binding = trigger.type === 'queue' ? trigger.binding : undefined
        const alias = trigger.type === 'queue' ? trigger.alias : undefined
        queues.push({ ...trigger.queue, function: fn.name, binding, alias })
        fnQueues.push(trigger.queue.name)
        if (trigger.type === 'bucket') {
          const bucket = buckets.get(trigger.bucket) ?? { name: trigger.bucket, existing: trigger.existing, binding: trigger.binding, notifications: [] }
          // A bucket any event does not mark `existing` is the service's own: deploy creates it.
          bucket.existing &&= trigger.existing
          bucket.notifications.push({
            queue: trigger.queue.name,
            actions: trigger.actions,
            ...(trigger.prefix !== undefined ? { prefix: trigger.prefix } : {}),
            ...(trigger.suffix !== undefined ? { suffix: trigger.suffix } : {}),
            function: fn.name,
          })
          buckets.set(trigger.bucket, bucket)
        }
      }
    }
    if (fn.kinds.every((kind) => kind !== 'http') && fn.timeout > BACKGROUND_WALL_SECONDS) {
      throw new ConfigError(`functions.${fn.name}.timeout`, `${fn.timeout} s is longer than Cron Triggers and Queues consumers run on Cloudflare (${BACKGROUND_WALL_SECONDS} s)`)
    }
    return { name: fn.name, kind: fn.kinds[0] as Kind, routes, crons: fnCrons, queues: fnQueues }
  })
  const limits = PLAN_LIMITS[settings.plan]
  if (crons.length > limits.crons) {
    throw new ConfigError('functions', `the Worker needs ${crons.length} Cron Triggers; an account on Workers ${settings.plan === 'free' ? 'Free' : 'Paid'} has ${limits.crons} in all (custom.polycloud.cloudflare.plan)`)
  }
  if (settings.cpuMs !== undefined && limits.cpuMs === undefined) {
    throw new ConfigError('custom.polycloud.cloudflare.cpuMs', 'a CPU limit can be set on Workers Paid only (Workers Free: 10 ms per invocation); set plan: paid if the account is on it')
  }
  const deadLetterQueues = [...new Set(queues.map((queue) => queue.deadLetterQueue))]
  for (const dlq of deadLetterQueues) {
    const consumed = queues.find((queue) => queue.name === dlq)
    if (consumed !== undefined && consumed.deadLetterQueue === dlq) throw new ConfigError(`functions.${consumed.function}`, `queue ${dlq} cannot be its own dead-letter queue`)
  }
  return {
    script,
    service: context.service,
    stage: context.stage,
    main: MAIN_MODULE,
    settings,
    vars: providerVars(context),
    functions,
    crons,
    queues,
    deadLetterQueues,
    buckets: [...buckets.values()],
  }
}

/** The upload metadata of the Worker (bindings: plain-text vars, queue producers, R2 buckets). */
export function uploadMetadata(manifest: ServiceManifest): UploadMetadata {
  const bindings: Binding[] = [
    ...Object.entries(manifest.vars).map(([name, text]): Binding => ({ type: 'plain_text', name, text })),
    ...manifest.queues.flatMap((queue): Binding[] => (queue.binding === undefined ? [] : [{ type: 'queue', name: queue.binding, queue_name: queue.name }])),
    ...manifest.buckets.map((bucket): Binding => ({ type: 'r2_bucket', name: bucket.binding, bucket_name: bucket.name })),
  ]
  const { settings } = manifest
  return {
    main_module: manifest.main,
    compatibility_date: settings.compatibilityDate,
    ...(settings.compatibilityFlags.length > 0 ? { compatibility_flags: settings.compatibilityFlags } : {}),
    bindings,
    ...(settings.cpuMs !== undefined ? { limits: { cpu_ms: settings.cpuMs } } : {}),
  }
}

/** wrangler's configuration for the same Worker (https://developers.cloudflare.com/workers/wrangler/configuration/). */
export function wranglerConfig(manifest: ServiceManifest): Record<string, unknown> {
  const { settings } = manifest
  const producers = manifest.queues.filter((queue) => queue.binding !== undefined).map((queue) => ({ binding: queue.binding, queue: queue.name }))
  return {
    name: manifest.script,
    main: manifest.main,
    compatibility_date: settings.compatibilityDate,
    ...(settings.compatibilityFlags.length > 0 ? { compatibility_flags: settings.compatibilityFlags } : {}),
    // Already bundled by serverless-polycloud: wrangler uploads the module and its source map as they are.
    no_bundle: true,
    upload_source_maps: true,
    workers_dev: settings.workersDev,
    ...(settings.routes.length > 0
      ? { routes: settings.routes.map((route) => (route.customDomain ? { pattern: route.pattern, custom_domain: true } : route.zone ? { pattern: route.pattern, zone_name: route.zone } : route.pattern)) }
      : {}),
    ...(Object.keys(manifest.vars).length > 0 ? { vars: manifest.vars } : {}),
    ...(manifest.crons.length > 0 ? { triggers: { crons: manifest.crons } } : {}),
    ...(manifest.queues.length > 0
      ? {
          queues: {
            ...(producers.length > 0 ? { producers } : {}),
            consumers: manifest.queues.map((queue) => ({
              queue: queue.name,
              max_batch_size: queue.batchSize,
              max_batch_timeout: queue.maxWaitMs / 1000,
              max_retries: queue.maxRetries,
              dead_letter_queue: queue.deadLetterQueue,
            })),
          },
        }
      : {}),
    ...(manifest.buckets.length > 0 ? { r2_buckets: manifest.buckets.map((bucket) => ({ binding: bucket.binding, bucket_name: bucket.name })) } : {}),
    ...(settings.cpuMs !== undefined ? { limits: { cpu_ms: settings.cpuMs } } : {}),
  }
}

/** Modules the Workers runtime provides itself, left out of the bundle. */
const RUNTIME_MODULES = ['cloudflare:*', 'node:*']
/** Flags under which workerd provides `node:` modules (https://developers.cloudflare.com/workers/runtime-apis/nodejs/). */
const NODE_FLAGS = ['nodejs_compat', 'nodejs_compat_v2', 'nodejs_als']

/** Bundles the entry into `<packageDir>/cloudflare`, checks the limits, and writes the metadata, wrangler.json and manifest. */
export async function packageService(context: ServiceContext<CloudflareTrigger>): Promise<CloudflareArtifact> {
  const manifest = describeService(context)
  const dir = join(context.packageDir, ARTIFACT_DIR)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const result = await bundle(
    {
      entries: { [MAIN_MODULE.replace(/\.mjs$/, '')]: join(context.workDir, ENTRY_FILE) },
      outdir: dir,
      platform: 'neutral',
      format: 'esm',
      target: 'es2022',
      extension: '.mjs',
      external: RUNTIME_MODULES,
      conditions: ['workerd', 'worker', 'browser'],
      mainFields: ['module', 'main'],
      sourceRoot: context.servicePath,
    },
    `the Worker ${manifest.script}`,
  )
  const { settings } = manifest
  const output = Object.values(result.metafile.outputs).find((entry) => entry.entryPoint !== undefined)
  const nodeImports = (output?.imports ?? []).filter((imported) => imported.external && imported.path.startsWith('node:')).map((imported) => imported.path)
  if (nodeImports.length > 0 && !settings.compatibilityFlags.some((flag) => NODE_FLAGS.includes(flag))) {
    throw new ConfigError(
      'custom.polycloud.cloudflare.compatibilityFlags',
      `the Worker imports ${[...new Set(nodeImports)].join(', ')}; Workers provide Node built-ins only with the nodejs_compat flag: add compatibilityFlags: [nodejs_compat], or drop the import`,
    )
  }
  const code = readFileSync(join(dir, MAIN_MODULE))
  const gzipBytes = gzipSync(code, { level: 9 }).length
  const limit = PLAN_LIMITS[settings.plan].compressedBytes
  if (gzipBytes > limit || code.length > UNCOMPRESSED_LIMIT) {
    throw new ConfigError(
      'functions',
      `the Worker is ${kib(code.length)} (${kib(gzipBytes)} compressed); Workers ${settings.plan === 'free' ? 'Free' : 'Paid'} takes ${kib(limit)} compressed and ${kib(UNCOMPRESSED_LIMIT)} uncompressed: drop dependencies, or move data to R2 or KV`,
    )
  }
  const metadata = uploadMetadata(manifest)
  writeFileSync(join(dir, 'metadata.json'), `${JSON.stringify(metadata, null, 2)}\n`)
  writeFileSync(join(dir, 'wrangler.json'), `${JSON.stringify(wranglerConfig(manifest), null, 2)}\n`)
  writeFileSync(join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`)
  return { dir, manifest, metadata, bytes: code.length, gzipBytes }
}

/** Reads the artifact `serverless package` wrote, or says how to get one. */
export function readArtifact(context: Pick<ServiceContext, 'packageDir'>): { dir: string; manifest: ServiceManifest; metadata: UploadMetadata } {
  const dir = join(context.packageDir, ARTIFACT_DIR)
  try {
    return {
      dir,
      manifest: JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as ServiceManifest,
      metadata: JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8')) as UploadMetadata,
    }
  } catch {
    throw new ConfigError('package', `no packaged Worker in ${dir}: run serverless package (POLYCLOUD_PROVIDER=cloudflare) first`)
  }
}

export function kib(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`
}

/** The package summary: the artifact, its size against the plan's limit, what the Worker serves. */
export function reportPackage(context: ServiceContext, artifact: CloudflareArtifact): void {
  const { manifest } = artifact
  const where = relative(context.servicePath, artifact.dir) || '.'
  const limit = PLAN_LIMITS[manifest.settings.plan].compressedBytes
  context.log.notice(
    `Cloudflare Worker ${manifest.script}: ${where}/${manifest.main} ${kib(artifact.bytes)} (${kib(artifact.gzipBytes)} gzip, limit ${kib(limit)} on Workers ${manifest.settings.plan === 'free' ? 'Free' : 'Paid'}), with metadata.json, wrangler.json and its source map`,
  )
  const routes = manifest.functions.reduce((count, fn) => count + fn.routes.length, 0)
  context.log.notice(`  ${routes} route(s), ${manifest.crons.length} Cron Trigger(s), ${manifest.queues.length} queue consumer(s), ${manifest.buckets.length} R2 bucket(s)`)
  const memory = context.functions.find((fn) => fn.memorySize !== undefined && fn.memorySize > MEMORY_MB)
  if (memory !== undefined) context.log.info(`serverless-polycloud: memorySize ${memory.memorySize} has no effect on Cloudflare (every Worker isolate has ${MEMORY_MB} MB)`)
}
