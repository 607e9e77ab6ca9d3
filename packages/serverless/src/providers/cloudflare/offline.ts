/**
 * `serverless offline` (`npm start`) for Cloudflare: packages the service, then serves the packaged Worker (the
 * artifact, not the sources) on workerd through miniflare, on 127.0.0.1:8787 as `wrangler dev` does, and fires its
 * Cron Triggers on schedule (miniflare does not). Ctrl-C stops everything.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { serveUntilInterrupted, startScheduler, type LocalJob } from '../../local.js'
import type { ServiceContext } from '../../provider.js'
import { hotReload } from '../../reload.js'
import { packageService, reportPackage } from './package.js'
import type { CloudflarePlan, ServiceManifest } from './plan.js'
import { startRuntime } from './runtime.js'

const DEFAULT_PORT = 8787

/** The port and host of `--port` / `--httpPort` / `--host`, or 127.0.0.1:8787. */
export function listenOptions(options: Readonly<Record<string, unknown>>): { host: string; port: number } {
  const port = Number(options.port ?? options.httpPort ?? DEFAULT_PORT)
  const host = typeof options.host === 'string' && options.host !== '' ? options.host : '127.0.0.1'
  return { host, port: Number.isInteger(port) && port >= 0 && port < 65536 ? port : DEFAULT_PORT }
}

/** A Worker's log line on the terminal: as written (handlers write JSON lines), errors on stderr. */
export function printLog(level: string, message: string): void {
  if (level === 'error') process.stderr.write(`${message}\n`)
  else process.stdout.write(`${message}\n`)
}

/**
 * The service's Cron Triggers, each once, with the functions it runs: Cloudflare fires a trigger once per tick and
 * the Worker's `scheduled` runs every function on that cron, so functions sharing a cron must not fire it twice.
 */
export function cronTriggers(functions: ServiceManifest['functions']): Array<{ cron: string; expression: string; functions: string[] }> {
  const triggers = new Map<string, { cron: string; expression: string; functions: string[] }>()
  for (const fn of functions) {
    for (const { cron, expression } of fn.crons) {
      const trigger = triggers.get(cron) ?? { cron, expression, functions: [] }
      trigger.functions.push(fn.name)
      triggers.set(cron, trigger)
    }
  }
  return [...triggers.values()]
}

export async function offlineCommand(context: ServiceContext<CloudflarePlan>): Promise<void> {
  const artifact = await packageService(context)
  reportPackage(context, artifact)
  const { manifest } = artifact
  const runtime = await startRuntime(manifest, artifact.dir, {
    ...listenOptions(context.options),
    stateDir: join(context.servicePath, '.polycloud', 'state', 'cloudflare'),
    onLog: printLog,
  })
  const jobs: LocalJob[] = cronTriggers(manifest.functions).map(({ cron, expression, functions }) => ({
    name: `${functions.join(', ')} (${cron})`,
    expression,
    async fire(time: Date) {
      const worker = await runtime.miniflare.getWorker(manifest.script)
      const result = await worker.scheduled({ cron, scheduledTime: time })
      if (result.outcome !== 'ok') throw new Error(`outcome ${result.outcome}`)
    },
  }))
  let served = manifest
  if (context.console !== undefined) context.console.attachQueues((await import('./console.js')).workerQueues(() => runtime.url, () => served))
  const scheduler = startScheduler(jobs, (job, error) => context.log.error(`cron ${job.name} failed: ${error instanceof Error ? error.message : String(error)}`))
  // An edited handler is served from the next request on: each good rebuild, packaged in a folder of its own, is
  // given to workerd; one that workerd cannot start gives it the last good build back.
  let builds = 0
  const reloader = hotReload({
    current: artifact,
    async build() {
      const dir = join(context.workDir, `worker-${++builds}`)
      try {
        return await packageService(context, dir)
      } catch (error) {
        rmSync(dir, { recursive: true, force: true })
        throw error
      }
    },
    async swap(next, previous) {
      try {
        await runtime.serve(next.manifest, next.dir)
        served = next.manifest
      } catch (error) {
        await runtime.serve(previous.manifest, previous.dir)
        throw error
      }
    },
    // The packaged artifact stays: `serverless deploy` and `invoke local` read it.
    discard: (build) => (build.dir === artifact.dir ? undefined : rmSync(build.dir, { recursive: true, force: true })),
    log: context.log,
  })
  const lines = [`Cloudflare Worker ${manifest.script} on workerd (miniflare), from the packaged artifact:`]
  for (const fn of manifest.functions) {
    for (const route of fn.routes) lines.push(`  ${route.method.padEnd(7)} ${runtime.url}${route.path}  -> ${fn.name}`)
    for (const { cron } of fn.crons) lines.push(`  cron    ${cron}  -> ${fn.name} (fired on schedule; by hand: ${runtime.url}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent(cron)})`)
  }
  for (const queue of manifest.queues) {
    lines.push(`  queue   ${queue.name}  -> ${queue.function} (batch ${queue.batchSize}, ${queue.maxRetries} retries, then ${queue.deadLetterQueue}; send: POST ${runtime.url}/cdn-cgi/polycloud/queues/${queue.alias ?? queue.name}/messages)`)
  }
  for (const bucket of manifest.buckets) lines.push(`  bucket  ${bucket.name}  (objects: ${runtime.url}/cdn-cgi/polycloud/r2/${bucket.name}/<key>; writes notify ${bucket.notifications.map((rule) => rule.function).join(', ')})`)
  context.write(lines.join('\n'))
  // The line tools wait for, as serverless-offline prints it.
  process.stderr.write(`Server ready: ${runtime.url} 🚀\n`)
  await serveUntilInterrupted([reloader, runtime, scheduler])
}
