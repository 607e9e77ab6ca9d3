import type { HttpHandler, PortableHandler, ScheduleHandler } from '@polycloud/core'
import {
  BaseRequest,
  PortableContext,
  deadlineFromEnv,
  findSource,
  httpFailure,
  isFetchResponse,
  runSource,
  toOutgoing,
  unrecognisedInput,
  type ContextInit,
  type EventSource,
  type HttpSource,
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

/**
 * What a Worker knows of the function it serves, for Workers that serve several functions (one per service, see
 * `createServiceWorker`). Without options, the Worker's vars decide: `POLYCLOUD_FUNCTION_NAME` and
 * `POLYCLOUD_TIMEOUT_SECONDS`.
 */
export interface WorkerOptions {
  /** `context.functionName`. */
  readonly name?: string
  /** Seconds from the start of an invocation to `context.deadline`. */
  readonly timeoutSeconds?: number
  /** This function's own vars, over the Worker's string vars in `context.env`. */
  readonly vars?: Readonly<Record<string, string>>
}

const NO_OPTIONS: WorkerOptions = Object.freeze({})

/** The Worker's string vars with a function's own vars over them, once per env and function. */
function functionVars(env: unknown, options: WorkerOptions, cache: WeakMap<object, Readonly<Record<string, string>>> | undefined): Readonly<Record<string, string>> {
  const vars = stringVars(env)
  if (options.vars === undefined || cache === undefined || typeof env !== 'object' || env === null) return vars
  let merged = cache.get(env)
  if (merged === undefined) {
    merged = Object.freeze({ ...vars, ...options.vars })
    cache.set(env, merged)
  }
  return merged
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

/** How a Worker makes the context of each invocation: the options of its function, their merged vars cached. */
export interface ContextMaker {
  readonly options: WorkerOptions
  readonly cache: WeakMap<object, Readonly<Record<string, string>>> | undefined
}

export function contextMaker(options: WorkerOptions = NO_OPTIONS): ContextMaker {
  return { options, cache: options.vars === undefined ? undefined : new WeakMap() }
}

function createContext(
  maker: ContextMaker,
  event: unknown,
  env: unknown,
  ctx: ExecutionContextLike,
  requestId: string,
  timeoutSeconds: number,
): WorkersContext {
  const { options } = maker
  const vars = functionVars(env, options, maker.cache)
  return new WorkersContext(
    {
      provider: 'cloudflare',
      requestId,
      functionName: options.name ?? vars.POLYCLOUD_FUNCTION_NAME ?? 'worker',
      deadline: options.timeoutSeconds !== undefined ? Date.now() + options.timeoutSeconds * 1000 : deadlineFromEnv(vars, timeoutSeconds),
      env: vars,
      native: { provider: 'cloudflare', event, context: ctx, extra: env },
    },
    ctx,
  )
}

/** The last resort when even the error response cannot be built (an HttpError with an invalid header, say). */
function plainFailure(requestId: string): Response {
  return new Response(JSON.stringify({ error: 'Internal Server Error', requestId }), {
    status: 500,
    headers: { 'content-type': 'application/json' },
  })
}

/** The context of an HTTP invocation: `cf-ray` as request id when present. */
export function fetchContext(maker: ContextMaker, request: Request, env: unknown, ctx: ExecutionContextLike): WorkersContext {
  return createContext(maker, request, env, ctx, request.headers.get('cf-ray') ?? crypto.randomUUID(), FETCH_TIMEOUT_SECONDS)
}

/** The response for an error: its status for an HttpError, else a 500 without details; never a throw. */
export function failureResponse(error: unknown, context: PortableContext, request: Request, source: HttpSource<Request, Response> | undefined): Response {
  const failure = httpFailure(error, context)
  try {
    return source === undefined ? toResponse(failure) : source.getResponse(failure, request)
  } catch (responseError) {
    context.log.error('could not build the error response', { error: responseError })
    return plainFailure(context.requestId)
  }
}

/** Serves one request with an HTTP handler; `params` are the path parameters a router matched. */
export async function serveFetch(
  handler: HttpHandler,
  sources: readonly HttpSource<Request, Response>[],
  maker: ContextMaker,
  request: Request,
  env: unknown,
  ctx: ExecutionContextLike,
  params?: Readonly<Record<string, string>>,
): Promise<Response> {
  const context = fetchContext(maker, request, env, ctx)
  const source = findSource(sources, request)
  try {
    if (source === undefined) throw unrecognisedInput('cloudflare', 'http', sources, request)
    const portable = source.getRequest(request)
    if (params !== undefined && portable instanceof BaseRequest) portable.setParams(params)
    const result = await handler.handle(portable, context)
    // A Fetch Response goes back untouched: no copy, and its webSocket (101), cf and encodeBody options survive.
    if (isFetchResponse(result)) return result
    return source.getResponse(toOutgoing(result), request)
  } catch (error) {
    return failureResponse(error, context, request, source)
  }
}

function fetchWorker(handler: HttpHandler, sources: readonly HttpSource<Request, Response>[], maker: ContextMaker): FetchWorker {
  return {
    fetch: (request, env, ctx) => serveFetch(handler, sources, maker, request, env, ctx),
  }
}

export type EventHandlerOf = Exclude<PortableHandler, HttpHandler>

async function runBatch(
  handler: EventHandlerOf,
  sources: readonly EventSource[],
  maker: ContextMaker,
  input: unknown,
  env: unknown,
  ctx: ExecutionContextLike,
): Promise<void> {
  const source = findSource(sources, input)
  if (source === undefined) throw unrecognisedInput('cloudflare', handler.kind, sources, input)
  await runSource(handler, source, input, createContext(maker, input, env, ctx, crypto.randomUUID(), BACKGROUND_TIMEOUT_SECONDS))
}

/**
 * A module Worker (ExportedHandler) for a portable handler, reading the given native formats. It has only the
 * method the handler's kind needs: `fetch` for HTTP, `scheduled` for schedule, `queue` for everything delivered
 * by Queues (queue messages, R2 notifications as storage events). Pass only the sources a Worker needs and the
 * bundle holds nothing else. Throws a TypeError when no source reads the handler's kind.
 */
export function createWorker(handler: HttpHandler, sources: readonly Source[], options?: WorkerOptions): FetchWorker
export function createWorker(handler: ScheduleHandler, sources: readonly Source[], options?: WorkerOptions): ScheduledWorker
export function createWorker(handler: Exclude<EventHandlerOf, ScheduleHandler>, sources: readonly Source[], options?: WorkerOptions): QueueWorker
export function createWorker(handler: PortableHandler, sources: readonly Source[], options?: WorkerOptions): ExportedWorker
export function createWorker(handler: PortableHandler, sources: readonly Source[], options?: WorkerOptions): ExportedWorker {
  const maker = contextMaker(options)
  const candidates = sources.filter((source) => source.kind === handler.kind)
  if (candidates.length === 0) {
    const given = sources.length === 0 ? 'none' : sources.map((source) => source.name).join(', ')
    throw new TypeError(`cloudflare: no source reads ${handler.kind} events (sources given: ${given})`)
  }
  if (handler.kind === 'http') return fetchWorker(handler, candidates as HttpSource<Request, Response>[], maker)
  const events = candidates as EventSource[]
  if (handler.kind === 'schedule') {
    return {
      scheduled: (controller, env, ctx) => runBatch(handler, events, maker, controller, env, ctx),
    } satisfies ScheduledWorker
  }
  return {
    queue: (batch, env, ctx) => runBatch(handler, events, maker, batch, env, ctx),
  } satisfies QueueWorker
}
