import type { HttpHandler, PortableHandler, ScheduleHandler } from '@polycloud/core'
import {
  PortableContext,
  createDispatcher,
  deadlineFromEnv,
  isPortableHandler,
  type ContextInit,
  type Source,
} from '@polycloud/core/adapter'
import { toResponse } from './fetch.js'
import type { MessageBatchLike } from './queue.js'
import type { ScheduledControllerLike } from './scheduled.js'

/** The members of the Workers `ExecutionContext` that Polycloud uses. */
export interface ExecutionContextLike {
  waitUntil(promise: Promise<unknown>): void
  passThroughOnException(): void
}

/** A module Worker serving HTTP: `export default worker(http(...))`. */
export interface FetchWorker {
  fetch(request: Request, env: unknown, ctx: ExecutionContextLike): Promise<Response>
}

/** A module Worker run by Cron Triggers. */
export interface ScheduledWorker {
  scheduled(controller: ScheduledControllerLike, env: unknown, ctx: ExecutionContextLike): Promise<void>
}

/** A module Worker consuming a queue (queue messages, or R2 event notifications as storage events). */
export interface QueueWorker {
  queue(batch: MessageBatchLike, env: unknown, ctx: ExecutionContextLike): Promise<void>
}

export type ExportedWorker = FetchWorker | ScheduledWorker | QueueWorker

/**
 * Deadlines for code that reads `context.remainingTime()`; Workers do not pass one. HTTP: 30 s, the default CPU
 * limit (wall time is not limited while the client is connected). Cron Triggers and queue consumers: 15 minutes,
 * their wall-time limit. POLYCLOUD_TIMEOUT_SECONDS in the Worker's vars overrides both.
 */
export const FETCH_TIMEOUT_SECONDS = 30
export const BACKGROUND_TIMEOUT_SECONDS = 900

const NO_VARS: Readonly<Record<string, string>> = Object.freeze({})
const varsCache = new WeakMap<object, Readonly<Record<string, string>>>()

/** The string vars of a Workers env (bindings such as KV, queues or R2 are objects and left out), once per env. */
export function stringVars(env: unknown): Readonly<Record<string, string>> {
  if (typeof env !== 'object' || env === null) return NO_VARS
  let vars = varsCache.get(env)
  if (vars === undefined) {
    const out: Record<string, string> = {}
    for (const [name, value] of Object.entries(env)) if (typeof value === 'string') out[name] = value
    vars = Object.freeze(out)
    varsCache.set(env, vars)
  }
  return vars
}

/** A context whose waitUntil is the Workers one: the runtime keeps the invocation alive for it. */
class WorkersContext extends PortableContext {
  readonly #ctx: ExecutionContextLike

  constructor(init: ContextInit, ctx: ExecutionContextLike) {
    super(init)
    this.#ctx = ctx
  }

  override waitUntil(promise: Promise<unknown>): void {
    this.#ctx.waitUntil(promise)
  }
}

function createContext(
  event: unknown,
  env: unknown,
  ctx: ExecutionContextLike,
  requestId: string,
  timeoutSeconds: number,
): WorkersContext {
  const vars = stringVars(env)
  return new WorkersContext(
    {
      provider: 'cloudflare',
      requestId,
      functionName: vars.POLYCLOUD_FUNCTION_NAME ?? 'worker',
      deadline: deadlineFromEnv(vars, timeoutSeconds),
      env: vars,
      native: { provider: 'cloudflare', event, context: ctx, extra: env },
    },
    ctx,
  )
}

type EventHandlerOf = Exclude<PortableHandler, HttpHandler>

/**
 * A module Worker (ExportedHandler) for a portable handler, reading the given native formats. It has only the
 * method the handler's kind needs: `fetch` for HTTP, `scheduled` for schedule, `queue` for everything delivered
 * by Queues (queue messages, R2 notifications as storage events). Pass only the sources a Worker needs and the
 * bundle holds nothing else. Throws a TypeError at creation when the handler is not a portable handler or no
 * source reads its kind.
 */
export function createWorker(handler: HttpHandler, sources: readonly Source[]): FetchWorker
export function createWorker(handler: ScheduleHandler, sources: readonly Source[]): ScheduledWorker
export function createWorker(handler: Exclude<EventHandlerOf, ScheduleHandler>, sources: readonly Source[]): QueueWorker
export function createWorker(handler: PortableHandler, sources: readonly Source[]): ExportedWorker
export function createWorker(handler: PortableHandler, sources: readonly Source[]): ExportedWorker {
  type Args = [input: unknown, env: unknown, ctx: ExecutionContextLike]
  if (isPortableHandler(handler) && handler.kind === 'http') {
    const run = createDispatcher<Args>(handler, sources, {
      provider: 'cloudflare',
      // Cloudflare's edge sets CF-Ray on every request it passes to a Worker (a client's own is replaced).
      context: (request, env, ctx) => createContext(request, env, ctx, (request as Request).headers.get('cf-ray') ?? crypto.randomUUID(), FETCH_TIMEOUT_SECONDS),
      stream: true,
      keepFetchResponse: true,
      // Always a Response, even for an input no source recognises (the logged 500).
      respond: (response) => toResponse(response),
    })
    return { fetch: (request, env, ctx) => run(request, env, ctx) as Promise<Response> } satisfies FetchWorker
  }
  const run = createDispatcher<Args>(handler, sources, {
    provider: 'cloudflare',
    context: (input, env, ctx) => createContext(input, env, ctx, crypto.randomUUID(), BACKGROUND_TIMEOUT_SECONDS),
  })
  if (handler.kind === 'schedule') {
    return { scheduled: async (controller, env, ctx) => void (await run(controller, env, ctx)) } satisfies ScheduledWorker
  }
  return { queue: async (batch, env, ctx) => void (await run(batch, env, ctx)) } satisfies QueueWorker
}
