import type { HttpHandler, PortableHandler, ScheduleHandler } from '@polycloud/core'
import {
  BaseRequest,
  PortableContext,
  consoleSink,
  createDispatcher,
  deadlineFromEnv,
  dispatch,
  httpFailure,
  isPortableHandler,
  type ContextInit,
  type DispatchOptions,
  type HttpSource,
  type LogSink,
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
const SECRET_PREFIX = 'POLYCLOUD_SECRET_'
const varsCache = new WeakMap<object, Readonly<Record<string, string>>>()

/** The string vars of a Workers env (bindings such as KV, queues or R2 are objects and left out), once per env. */
export function stringVars(env: unknown): Readonly<Record<string, string>> {
  if (typeof env !== 'object' || env === null) return NO_VARS
  let vars = varsCache.get(env)
  if (vars === undefined) {
    const out: Record<string, string> = {}
    // A function's own secrets (`POLYCLOUD_SECRET_*` bindings) reach that function alone, under their names.
    for (const [name, value] of Object.entries(env)) if (typeof value === 'string' && !name.startsWith(SECRET_PREFIX)) out[name] = value
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
  /**
   * This function's own secrets: the name in `context.env` -> the Worker's `secret_text` binding that holds it
   * (`POLYCLOUD_SECRET_*`, kept out of other functions' `context.env`). A binding the env lacks leaves the name unset.
   */
  readonly secrets?: Readonly<Record<string, string>>
}

const NO_OPTIONS: WorkerOptions = Object.freeze({})

/** The Worker's string vars with a function's own vars over them, once per env and function. */
function functionVars(env: unknown, options: WorkerOptions, cache: WeakMap<object, Readonly<Record<string, string>>> | undefined): Readonly<Record<string, string>> {
  const vars = stringVars(env)
  if (cache === undefined || typeof env !== 'object' || env === null) return vars
  let merged = cache.get(env)
  if (merged === undefined) {
    const own: Record<string, string> = { ...vars, ...options.vars }
    for (const [name, binding] of Object.entries(options.secrets ?? NO_VARS)) {
      const value = (env as Record<string, unknown>)[binding]
      if (typeof value === 'string') own[name] = value
    }
    merged = Object.freeze(own)
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
  return { options, cache: options.vars === undefined && options.secrets === undefined ? undefined : new WeakMap() }
}

/**
 * Where a Worker's log lines go: `console.log` / `warn` / `error` with the JSON text (`wrangler tail`, Logpush, Tail
 * Workers and local runs see one JSON line each), or, with the var `POLYCLOUD_LOG_FORMAT=object`, the parsed object,
 * which Workers Logs indexes field by field (the JSON text is then shown as an object locally, not as a line).
 */
export function workersSink(vars: Readonly<Record<string, string>>): LogSink {
  return vars.POLYCLOUD_LOG_FORMAT === 'object' ? objectSink : consoleSink
}

const objectSink: LogSink = (level, line) => {
  const record: unknown = JSON.parse(line)
  if (level === 'error') console.error(record)
  else if (level === 'warn') console.warn(record)
  else console.log(record)
}

function createContext(
  maker: ContextMaker,
  event: unknown,
  env: unknown,
  ctx: ExecutionContextLike,
  requestId: string | (() => string),
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
      sink: workersSink(vars),
    },
    ctx,
  )
}

/** The context of an HTTP invocation: `cf-ray` as request id when present; read when something needs the id. */
export function fetchContext(maker: ContextMaker, request: Request, env: unknown, ctx: ExecutionContextLike): WorkersContext {
  // Cloudflare's edge sets CF-Ray on every request it passes to a Worker (a client's own is replaced).
  return createContext(maker, request, env, ctx, () => request.headers.get('cf-ray') ?? crypto.randomUUID(), FETCH_TIMEOUT_SECONDS)
}

/** The response for an error: its status for an HttpError, else the logged 500 without details; never a throw. */
export function failureResponse(error: unknown, context: PortableContext): Response {
  return toResponse(httpFailure(error, context))
}

const newRequestId = (): string => crypto.randomUUID()

type FetchArgs = [request: Request, env: unknown, ctx: ExecutionContextLike]

/**
 * How a Worker's `fetch` dispatches (the dispatcher of `@polycloud/core/adapter`): the context of its function, a
 * Response always (even for an input no source recognises), a stream body streamed, and a Fetch Response the handler
 * returns sent untouched (its webSocket (101), `cf` and `encodeBody` options survive). With `params`, the path
 * parameters a router in front matched.
 */
function fetchOptions(maker: ContextMaker, params?: Readonly<Record<string, string>>): DispatchOptions<FetchArgs> {
  return {
    provider: 'cloudflare',
    context: (request, env, ctx) => fetchContext(maker, request, env, ctx),
    stream: true,
    keepFetchResponse: true,
    respond: (response) => toResponse(response),
    ...(params === undefined
      ? {}
      : {
          route: (request) => {
            if (request instanceof BaseRequest) request.setParams(params)
            return undefined
          },
        }),
  }
}

/** Serves one request with an HTTP handler; `params` are the path parameters a router matched. */
export function serveFetch(
  handler: HttpHandler,
  sources: readonly HttpSource<Request, Response>[],
  maker: ContextMaker,
  request: Request,
  env: unknown,
  ctx: ExecutionContextLike,
  params?: Readonly<Record<string, string>>,
): Promise<Response> {
  return dispatch(handler, sources, fetchOptions(maker, params), request, env, ctx) as Promise<Response>
}

/** {@link serveFetch} without path parameters, its dispatch options made once for every request it serves. */
export function fetchServer(
  handler: HttpHandler,
  sources: readonly HttpSource<Request, Response>[],
  maker: ContextMaker,
): (request: Request, env: unknown, ctx: ExecutionContextLike) => Promise<Response> {
  const options = fetchOptions(maker)
  return (request, env, ctx) => dispatch(handler, sources, options, request, env, ctx) as Promise<Response>
}

export type EventHandlerOf = Exclude<PortableHandler, HttpHandler>

/**
 * A module Worker (ExportedHandler) for a portable handler, reading the given native formats. It has only the
 * method the handler's kind needs: `fetch` for HTTP, `scheduled` for schedule, `queue` for everything delivered
 * by Queues (queue messages, R2 notifications as storage events). Pass only the sources a Worker needs and the
 * bundle holds nothing else. Throws a TypeError at creation when the handler is not a portable handler or no
 * source reads its kind.
 */
export function createWorker(handler: HttpHandler, sources: readonly Source[], options?: WorkerOptions): FetchWorker
export function createWorker(handler: ScheduleHandler, sources: readonly Source[], options?: WorkerOptions): ScheduledWorker
export function createWorker(handler: Exclude<EventHandlerOf, ScheduleHandler>, sources: readonly Source[], options?: WorkerOptions): QueueWorker
export function createWorker(handler: PortableHandler, sources: readonly Source[], options?: WorkerOptions): ExportedWorker
export function createWorker(handler: PortableHandler, sources: readonly Source[], options?: WorkerOptions): ExportedWorker {
  const maker = contextMaker(options)
  if (isPortableHandler(handler) && handler.kind === 'http') {
    const run = createDispatcher<FetchArgs>(handler, sources, fetchOptions(maker))
    return { fetch: (request, env, ctx) => run(request, env, ctx) as Promise<Response> } satisfies FetchWorker
  }
  const run = createDispatcher<[input: unknown, env: unknown, ctx: ExecutionContextLike]>(handler, sources, {
    provider: 'cloudflare',
    context: (input, env, ctx) => createContext(maker, input, env, ctx, newRequestId, BACKGROUND_TIMEOUT_SECONDS),
  })
  if (handler.kind === 'schedule') {
    return { scheduled: async (controller, env, ctx) => void (await run(controller, env, ctx)) } satisfies ScheduledWorker
  }
  return { queue: async (batch, env, ctx) => void (await run(batch, env, ctx)) } satisfies QueueWorker
}
