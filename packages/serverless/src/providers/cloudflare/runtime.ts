/**
 * The packaged Worker on workerd, through miniflare, as Cloudflare would run it: its vars, queue producers and
 * consumers (batch size, wait, retries, dead-letter queue), R2 buckets persisted under `.polycloud/state/cloudflare`
 * whose writes send R2 event notifications, and `/cdn-cgi/handler/scheduled` to fire a cron by hand. Used by
 * `serverless offline` and `serverless invoke local`; miniflare is imported only here.
 */
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Miniflare, WorkerOptions } from 'miniflare'
import { ProviderError } from '../../errors.js'
import { localRetrySeconds } from '../../local.js'
import { MAIN_MODULE, type ServiceManifest } from './plan.js'

/** The account id R2 notifications carry locally. */
const LOCAL_ACCOUNT = 'local'
const DEV_WORKER_NAME = 'polycloud-dev'

/** The local Workers beside the service's (`workers/`), as compiled: plain ES modules without imports. */
const DEV_WORKER = fileURLToPath(new URL('./workers/dev.js', import.meta.url))
const R2_NOTIFIER = fileURLToPath(new URL('./workers/r2-notifier.js', import.meta.url))

export interface LocalRuntime {
  readonly miniflare: Miniflare
  /** `http://127.0.0.1:8787`. */
  readonly url: string
  /** Serves the Worker packaged in `dir` from the next request on (workerd restarted with it, same address and state). */
  serve(manifest: ServiceManifest, dir: string): Promise<void>
  stop(): Promise<void>
}

export interface RuntimeOptions {
  readonly host: string
  /** 0 for any free port. */
  readonly port: number
  /** Where R2 objects persist. */
  readonly stateDir: string
  /** Receives each line the Workers log (console.log and friends), with its level. */
  readonly onLog: (level: string, message: string) => void
}

const notifierName = (index: number): string => `polycloud-r2-${index}`

/** miniflare's options for the artifact in `dir`. */
export function runtimeWorkers(manifest: ServiceManifest, dir: string): WorkerOptions[] {
  const { settings } = manifest
  const queueProducers: Record<string, { queueName: string }> = {}
  const queueConsumers: Record<string, { maxBatchSize: number; maxBatchTimeout: number; maxRetries: number; deadLetterQueue: string; retryDelay?: number }> = {}
  // POLYCLOUD_OFFLINE_RETRY_SECONDS: the wait before a retried message is delivered again (Cloudflare's default: none).
  const retryDelay = localRetrySeconds()
  for (const queue of manifest.producers) queueProducers[queue.binding] = { queueName: queue.name }
  for (const queue of manifest.queues) {
    if (queue.binding !== undefined) queueProducers[queue.binding] = { queueName: queue.name }
    queueConsumers[queue.name] = { maxBatchSize: queue.batchSize, maxBatchTimeout: queue.maxWaitMs / 1000, maxRetries: queue.maxRetries, deadLetterQueue: queue.deadLetterQueue, ...(retryDelay === undefined ? {} : { retryDelay }) }
  }
  const wrappedBindings = Object.fromEntries(manifest.buckets.map((bucket, index) => [bucket.binding, { scriptName: notifierName(index) }]))
  const service: WorkerOptions = {
    name: manifest.script,
    modules: [{ type: 'ESModule', path: join(dir, MAIN_MODULE) }],
    modulesRoot: dir,
    compatibilityDate: settings.compatibilityDate,
    compatibilityFlags: [...settings.compatibilityFlags],
    bindings: { ...manifest.vars, ...manifest.secrets },
    queueProducers,
    queueConsumers,
    wrappedBindings,
    // The stores: a local D1 (SQLite) database each, by the deployed name.
    d1Databases: Object.fromEntries(manifest.stores.map((store) => [store.binding, store.name])),
  }
  // Every queue of the service, by the name written in serverless.yml and by its full name.
  const devProducers: Record<string, { queueName: string }> = {}
  const queues: Record<string, { name: string; binding: string }> = {}
  const allQueues = [...new Set([...manifest.queues.map((queue) => queue.name), ...manifest.deadLetterQueues, ...manifest.producers.map((queue) => queue.name)])]
  allQueues.forEach((name, index) => {
    const binding = `QUEUE_${index}`
    devProducers[binding] = { queueName: name }
    queues[name] = { name, binding }
  })
  for (const queue of manifest.queues) if (queue.alias !== undefined) queues[queue.alias] = queues[queue.name] as { name: string; binding: string }
  const consumed = new Set(manifest.queues.map((queue) => queue.name))
  const dev: WorkerOptions = {
    name: DEV_WORKER_NAME,
    modules: true,
    scriptPath: DEV_WORKER,
    // Module names are paths under modulesRoot (the working folder by default), which workerd keeps them inside: the
    // plugin may live outside the service (a linked or workspace install).
    modulesRoot: dirname(DEV_WORKER),
    routes: ['*/cdn-cgi/polycloud/*', '*/__scheduled*'],
    serviceBindings: { SERVICE: manifest.script },
    compatibilityDate: settings.compatibilityDate,
    bindings: { QUEUES: queues, BUCKETS: Object.fromEntries(manifest.buckets.map((bucket, index) => [bucket.name, `BUCKET_${index}`])) },
    queueProducers: devProducers,
    // Dead-letter queues nothing in the service consumes: logged and kept by the dev Worker.
    queueConsumers: Object.fromEntries(manifest.deadLetterQueues.filter((name) => !consumed.has(name)).map((name) => [name, { maxBatchSize: 100, maxBatchTimeout: 1 }])),
    wrappedBindings: Object.fromEntries(manifest.buckets.map((_bucket, index) => [`BUCKET_${index}`, { scriptName: notifierName(index) }])),
  }
  const notifiers = manifest.buckets.map((bucket, index): WorkerOptions => {
    const producers: Record<string, { queueName: string }> = {}
    const rules = bucket.notifications.map((rule, ruleIndex) => {
      producers[`NOTIFY_${ruleIndex}`] = { queueName: rule.queue }
      // JSON bindings: no undefined values.
      return { queue: `NOTIFY_${ruleIndex}`, actions: [...rule.actions], prefix: rule.prefix ?? '', suffix: rule.suffix ?? '' }
    })
    return {
      name: notifierName(index),
      modules: true,
      scriptPath: R2_NOTIFIER,
      modulesRoot: dirname(R2_NOTIFIER),
      r2Buckets: { BUCKET: bucket.name },
      queueProducers: producers,
      bindings: { RULES: { rules }, BUCKET_NAME: bucket.name, ACCOUNT: LOCAL_ACCOUNT },
    }
  })
  return [service, dev, ...notifiers]
}

/** Refuses a port something else listens on, with what to do (workerd would fail with less to go on). */
function checkPort(host: string, port: number): Promise<void> {
  if (port === 0) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', (error: NodeJS.ErrnoException) => {
      const busy = error.code === 'EADDRINUSE'
      reject(new ProviderError(busy ? `${host}:${port} is in use` : `cannot listen on ${host}:${port}: ${error.message}`, busy ? 'stop what listens there, or pick another port with --port' : 'pick another --host or --port'))
    })
    server.listen(port, host, () => server.close(() => resolve()))
  })
}

/** Starts workerd with the packaged Worker; resolves once it serves. */
export async function startRuntime(manifest: ServiceManifest, dir: string, options: RuntimeOptions): Promise<LocalRuntime> {
  await checkPort(options.host, options.port)
  let Miniflare: typeof import('miniflare').Miniflare
  try {
    ;({ Miniflare } = await import('miniflare'))
  } catch {
    throw new ProviderError('the local Workers runtime needs miniflare, which is not installed', 'npm install --save-dev --save-exact miniflare@4.20260426.0')
  }
  const settings = (served: ServiceManifest, from: string, port: number) => ({
    host: options.host,
    port,
    workers: runtimeWorkers(served, from),
    r2Persist: join(options.stateDir, 'r2'),
    d1Persist: join(options.stateDir, 'd1'),
    // `/cdn-cgi/handler/scheduled?cron=...` fires a cron by hand, as under `wrangler dev`.
    unsafeTriggerHandlers: true,
    // No request.cf from the internet: everything stays on this machine.
    cf: false,
    handleStructuredLogs: ({ level, message }: { level: string; message: string }) => options.onLog(level, message),
  })
  const miniflare = new Miniflare(settings(manifest, dir, options.port))
  const url = await miniflare.ready
  return {
    miniflare,
    url: url.origin,
    // The port workerd took (options.port may be 0): a restart keeps the address.
    serve: (served, from) => miniflare.setOptions(settings(served, from, Number(url.port))),
    stop: () => miniflare.dispose(),
  }
}
