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
import { buildInputs } from '../../reload.js'
import { ConfigError } from '../../errors.js'
import type { ServiceContext } from '../../provider.js'
import { ENTRY_FILE } from './entry.js'
import { MAIN_MODULE, MEMORY_MB, PLAN_LIMITS, UNCOMPRESSED_LIMIT, type CloudflarePlan, type ServiceManifest } from './plan.js'

/** The artifact's folder inside the package folder, and the manifest beside the Worker. */
export const ARTIFACT_DIR = 'cloudflare'
export const MANIFEST = 'polycloud.json'

/** A binding of the upload metadata. */
export type Binding =
  | { readonly type: 'plain_text'; readonly name: string; readonly text: string }
  /** Write-only: the API never returns its text. */
  | { readonly type: 'secret_text'; readonly name: string; readonly text: string }
  | { readonly type: 'queue'; readonly name: string; readonly queue_name: string }
  | { readonly type: 'r2_bucket'; readonly name: string; readonly bucket_name: string }
  | { readonly type: 'json'; readonly name: string; readonly json: unknown }
  /** A D1 database (a store), by its id: known once deploy found or created it. */
  | { readonly type: 'd1'; readonly name: string; readonly database_id: string }

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
  /** The source files bundled (absolute paths), which `offline` watches. */
  readonly inputs: readonly string[]
}

/** The upload metadata of the Worker (bindings: plain-text vars, secrets, queue producers, R2 buckets; deploy adds the stores' D1 databases by id). */
export function uploadMetadata(manifest: ServiceManifest): UploadMetadata {
  const bindings: Binding[] = [
    ...Object.entries(manifest.vars).map(([name, text]): Binding => ({ type: 'plain_text', name, text })),
    ...Object.entries(manifest.secrets).map(([name, text]): Binding => ({ type: 'secret_text', name, text })),
    ...manifest.queues.flatMap((queue): Binding[] => (queue.binding === undefined ? [] : [{ type: 'queue', name: queue.binding, queue_name: queue.name }])),
    ...manifest.producers.map((queue): Binding => ({ type: 'queue', name: queue.binding, queue_name: queue.name })),
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
  const producers = [...manifest.queues.filter((queue) => queue.binding !== undefined), ...manifest.producers].map((queue) => ({ binding: queue.binding, queue: queue.name }))
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
    ...(manifest.queues.length > 0 || producers.length > 0
      ? {
          queues: {
            ...(producers.length > 0 ? { producers } : {}),
            ...(manifest.queues.length > 0
              ? {
                  consumers: manifest.queues.map((queue) => ({
                    queue: queue.name,
                    max_batch_size: queue.batchSize,
                    max_batch_timeout: queue.maxWaitMs / 1000,
                    max_retries: queue.maxRetries,
                    dead_letter_queue: queue.deadLetterQueue,
                  })),
                }
              : {}),
          },
        }
      : {}),
    ...(manifest.buckets.length > 0 ? { r2_buckets: manifest.buckets.map((bucket) => ({ binding: bucket.binding, bucket_name: bucket.name })) } : {}),
    // wrangler wants each database's id too: `wrangler d1 create <name>` prints it (serverless deploy finds it by name).
    ...(manifest.stores.length > 0 ? { d1_databases: manifest.stores.map((store) => ({ binding: store.binding, database_name: store.name })) } : {}),
    ...(settings.cpuMs !== undefined ? { limits: { cpu_ms: settings.cpuMs } } : {}),
  }
}

/** Modules the Workers runtime provides itself, left out of the bundle. */
const RUNTIME_MODULES = ['cloudflare:*', 'node:*']
/** Flags under which workerd provides `node:` modules (https://developers.cloudflare.com/workers/runtime-apis/nodejs/). */
const NODE_FLAGS = ['nodejs_compat', 'nodejs_compat_v2', 'nodejs_als']

/**
 * Bundles the entry into `dir` (`<packageDir>/cloudflare`), checks the limits, and writes the metadata, wrangler.json
 * and manifest.
 */
export async function packageService(context: ServiceContext<CloudflarePlan>, dir = join(context.packageDir, ARTIFACT_DIR)): Promise<CloudflareArtifact> {
  const manifest = context.plan.manifest()
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
  return { dir, manifest, metadata, bytes: code.length, gzipBytes, inputs: buildInputs(result.metafile, context.servicePath) }
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
export function reportPackage(context: ServiceContext<CloudflarePlan>, artifact: CloudflareArtifact): void {
  const { manifest } = artifact
  const where = relative(context.servicePath, artifact.dir) || '.'
  const limit = PLAN_LIMITS[manifest.settings.plan].compressedBytes
  context.log.notice(
    `Cloudflare Worker ${manifest.script}: ${where}/${manifest.main} ${kib(artifact.bytes)} (${kib(artifact.gzipBytes)} gzip, limit ${kib(limit)} on Workers ${manifest.settings.plan === 'free' ? 'Free' : 'Paid'}), with metadata.json, wrangler.json and its source map`,
  )
  const routes = manifest.functions.reduce((count, fn) => count + fn.routes.length, 0)
  context.log.notice(`  ${routes} route(s), ${manifest.crons.length} Cron Trigger(s), ${manifest.queues.length} queue consumer(s), ${manifest.buckets.length} R2 bucket(s)`)
  const memory = context.plan.functions.find((fn) => fn.memorySize !== undefined && fn.memorySize > MEMORY_MB)
  if (memory !== undefined) context.log.info(`serverless-polycloud: memorySize ${memory.memorySize} has no effect on Cloudflare (every Worker isolate has ${MEMORY_MB} MB)`)
}

/** `serverless package`. */
export async function packageCommand(context: ServiceContext<CloudflarePlan>): Promise<void> {
  reportPackage(context, await packageService(context))
}
