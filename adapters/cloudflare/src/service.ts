import type { HttpHandler, PortableHandler } from '@polycloud/core'
import { createRouter, hasNoParams, type EventSource, type HttpSource, type RouteTemplate, type ScheduleEvent, type Source } from '@polycloud/core/adapter'
import { declareSchedules } from '@polycloud/core/schedule'
import type { MessageBatchLike } from './queue.js'
import type { ScheduledControllerLike } from './scheduled.js'
import {
  contextMaker,
  createWorker,
  failureResponse,
  fetchContext,
  fetchServer,
  serveFetch,
  type ContextMaker,
  type ExecutionContextLike,
  type QueueWorker,
  type ScheduledWorker,
  type WorkerOptions,
} from './worker.js'

/** One function of a service: its portable handler, the formats its events come in, and its own settings. */
export interface ServiceFunction extends WorkerOptions {
  readonly name: string
  readonly handler: PortableHandler
  readonly sources: readonly Source[]
}

/** An HTTP route of the service (`GET /notes/{id}`, a greedy last `{path+}`) and the function serving it. */
export interface ServiceRoute extends RouteTemplate {
  readonly function: ServiceFunction
}

/** A Cron Trigger (the expression exactly as the Worker's triggers list it) and the function it runs. */
export interface ServiceCron {
  readonly cron: string
  readonly function: ServiceFunction
  /**
   * The schedule as serverless.yml declares it (`0 9 * * 1-5`, where the Worker lists `0 9 * * MON-FRI`): the
   * function's schedule events report it as `schedule`, and the function's name as `name`, instead of the cron.
   */
  readonly schedule?: string
}

/** A queue the Worker consumes (R2 event notifications arrive through one too) and the function it feeds. */
export interface ServiceQueue {
  readonly queue: string
  readonly function: ServiceFunction
}

export interface ServiceDefinition {
  /** The Worker's name, for the context of requests no route matches. */
  readonly name?: string
  readonly routes?: readonly ServiceRoute[]
  readonly crons?: readonly ServiceCron[]
  readonly queues?: readonly ServiceQueue[]
}

/** A module Worker serving a whole service: `fetch` when it has routes, `scheduled` for crons, `queue` for queues. */
export interface ServiceWorker {
  fetch?(request: Request, env: unknown, ctx: ExecutionContextLike): Promise<Response>
  scheduled?(controller: ScheduledControllerLike, env: unknown, ctx: ExecutionContextLike): Promise<void>
  queue?(batch: MessageBatchLike, env: unknown, ctx: ExecutionContextLike): Promise<void>
}

/** The path of a Fetch Request's URL (`https://host/a/b?q` -> `/a/b`): a URL has no fragment, so `?` ends it. */
function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2)
  if (start === -1) return '/'
  const query = url.indexOf('?', start)
  return query === -1 ? url.slice(start) : url.slice(start, query)
}

function checkFunction(fn: ServiceFunction, kind: 'http' | 'schedule' | 'event', where: string): void {
  const matches = kind === 'event' ? fn.handler.kind !== 'http' && fn.handler.kind !== 'schedule' : fn.handler.kind === kind
  if (!matches) throw new TypeError(`cloudflare: ${where} needs ${kind === 'event' ? 'a queue or storage' : `a ${kind}`} handler; function ${fn.name} is a ${fn.handler.kind} handler`)
}

function routedFetch(name: string, routes: readonly ServiceRoute[]): NonNullable<ServiceWorker['fetch']> {
  for (const route of routes) checkFunction(route.function, 'http', `route ${route.method} ${route.path}`)
  const router = createRouter(routes)
  // Per route: the function's HTTP formats and context options, resolved once.
  const served = routes.map(({ function: fn }) => {
    const handler = fn.handler as HttpHandler
    const sources = fn.sources.filter((source): source is HttpSource<Request, Response> => source.kind === 'http')
    const maker = contextMaker(fn)
    // A match without path parameters is served with dispatch options made once for the route.
    return { handler, sources, maker, serve: fetchServer(handler, sources, maker) }
  })
  const service: ContextMaker = contextMaker({ name })
  // Not an async function: the served function's promise goes back as it is, without a wrapping one per request.
  return (request, env, ctx) => {
    let match
    try {
      match = router(request.method, pathOf(request.url))
    } catch (error) {
      // 404, or 405 with Allow: answered like any HttpError, as API Gateway answers an unrouted request.
      try {
        return Promise.resolve(failureResponse(error, fetchContext(service, request, env, ctx)))
      } catch (failure) {
        return Promise.reject(failure)
      }
    }
    const target = served[match.index] as (typeof served)[number]
    if (hasNoParams(match.params)) return target.serve(request, env, ctx)
    return serveFetch(target.handler, target.sources, target.maker, request, env, ctx, match.params)
  }
}

/** A function's Worker for one declared schedule (its schedule events report it), built once per pair. */
function scheduledWorkers(): (fn: ServiceFunction, schedule: string | undefined) => ScheduledWorker {
  const built = new Map<ServiceFunction, Map<string | undefined, ScheduledWorker>>()
  return (fn, schedule) => {
    const byFunction = built.get(fn) ?? new Map<string | undefined, ScheduledWorker>()
    built.set(fn, byFunction)
    let worker = byFunction.get(schedule)
    if (worker === undefined) {
      const sources = schedule === undefined ? fn.sources : fn.sources.map((source) => (source.kind === 'schedule' ? declareSchedules(source as EventSource<unknown, ScheduleEvent>, [{ name: fn.name, schedule }]) : source))
      byFunction.set(schedule, (worker = createWorker(fn.handler as Parameters<typeof createWorker>[0], sources, fn) as ScheduledWorker))
    }
    return worker
  }
}

function cronDispatch(crons: readonly ServiceCron[]): NonNullable<ServiceWorker['scheduled']> {
  const scheduledWorker = scheduledWorkers()
  const byCron = new Map<string, ScheduledWorker[]>()
  for (const { cron, function: fn, schedule } of crons) {
    checkFunction(fn, 'schedule', `cron ${JSON.stringify(cron)}`)
    const workers = byCron.get(cron) ?? []
    const worker = scheduledWorker(fn, schedule)
    if (!workers.includes(worker)) workers.push(worker)
    byCron.set(cron, workers)
  }
  return async (controller, env, ctx) => {
    const workers = byCron.get(controller.cron)
    if (workers === undefined) {
      throw new Error(`cloudflare: no function is scheduled on cron ${JSON.stringify(controller.cron)} (this Worker's crons: ${[...byCron.keys()].map((cron) => JSON.stringify(cron)).join(', ')})`)
    }
    if (workers.length === 1) return (workers[0] as ScheduledWorker).scheduled(controller, env, ctx)
    // Several functions on one cron all run; the run fails if any of them failed.
    const results = await Promise.allSettled(workers.map((worker) => worker.scheduled(controller, env, ctx)))
    const errors = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []))
    if (errors.length === 1) throw errors[0]
    if (errors.length > 1) throw new AggregateError(errors, `cloudflare: ${errors.length} functions failed on cron ${JSON.stringify(controller.cron)}`)
  }
}

function queueDispatch(queues: readonly ServiceQueue[]): NonNullable<ServiceWorker['queue']> {
  const byQueue = new Map<string, QueueWorker>()
  for (const { queue, function: fn } of queues) {
    checkFunction(fn, 'event', `queue ${JSON.stringify(queue)}`)
    if (byQueue.has(queue)) throw new TypeError(`cloudflare: queue ${JSON.stringify(queue)} has two consumers; a queue has one consumer`)
    byQueue.set(queue, createWorker(fn.handler as Parameters<typeof createWorker>[0], fn.sources, fn) as QueueWorker)
  }
  return async (batch, env, ctx) => {
    const worker = byQueue.get(batch.queue)
    if (worker === undefined) {
      throw new Error(`cloudflare: no function consumes queue ${JSON.stringify(batch.queue)} (this Worker consumes: ${[...byQueue.keys()].map((queue) => JSON.stringify(queue)).join(', ')})`)
    }
    return worker.queue(batch, env, ctx)
  }
}

/**
 * One module Worker for a whole service, as Workers deploy it (one script per service): `fetch` routes each request
 * by method and path to its function (API Gateway precedence, through `@polycloud/core`'s router: a literal segment
 * beats a parameter, a parameter a greedy one; no route is a 404, a wrong method a 405 with `Allow`), `scheduled`
 * runs the functions of the cron that fired, `queue` the function consuming the batch's queue. Each function gets its
 * own `context.functionName`, deadline and vars. Throws a TypeError at startup for a handler of the wrong kind or a
 * queue with two consumers.
 */
export function createServiceWorker(definition: ServiceDefinition): ServiceWorker {
  const worker: ServiceWorker = {}
  if (definition.routes !== undefined && definition.routes.length > 0) worker.fetch = routedFetch(definition.name ?? 'worker', definition.routes)
  if (definition.crons !== undefined && definition.crons.length > 0) worker.scheduled = cronDispatch(definition.crons)
  if (definition.queues !== undefined && definition.queues.length > 0) worker.queue = queueDispatch(definition.queues)
  return worker
}
