import type { PortableContext, Provider } from './context.js'
import type { EventHandler, HandlerKind, HttpHandler, PortableHandler } from './handlers.js'
import { assertHandler, isPortableHandler } from './handlers.js'
import type { NeutralEvent } from './events.js'
import { httpFailure, runHttp, runSource } from './invoke.js'
import type { PortableRequest } from './request.js'
import { errorResponse, type OutgoingResponse } from './response.js'
import { findSource, unrecognisedInput, type EventSource, type HttpSource, type Source } from './source.js'

/**
 * How one provider's runtime entry point dispatches: where the native input and the context come from, and what
 * becomes of an HTTP response. `Args` are the arguments the platform calls the entry with (`(event, context)` on
 * Lambda, `(request, env, ctx)` on Workers, ...).
 */
export interface DispatchOptions<Args extends readonly unknown[]> {
  readonly provider: Provider
  /** The native input the sources read, from the entry's arguments (default: the first argument). */
  readonly input?: (...args: Args) => unknown
  /** The context of one invocation, from the entry's arguments; created once a source has recognised the input. */
  readonly context: (...args: Args) => PortableContext
  /** The error for an input no source recognises (default: {@link unrecognisedInput}, naming its shape). */
  readonly unrecognised?: (kind: HandlerKind, sources: readonly Source[], input: unknown, ...args: Args) => Error
  /** Whether an HTTP response body may stay a stream (default false: it is buffered). Read per invocation. */
  readonly stream?: boolean | (() => boolean)
  /** Whether a Fetch `Response` the handler returns is sent as it is (see `OutgoingResponse.fetchResponse`). */
  readonly keepFetchResponse?: boolean
  /**
   * Sends an HTTP response itself (the Functions Framework writes to `res`) instead of returning the source's
   * native result. With it, an input no HTTP source recognises is answered with a logged 500 rather than thrown.
   */
  readonly respond?: (response: OutgoingResponse, context: PortableContext, ...args: Args) => unknown
  /**
   * Called with the portable request before a handler runs; returns the HTTP handler to run instead, if any. A
   * router goes here: it matches the request, sets the parameters it matched (`BaseRequest.setParams`) and returns
   * the route's handler; a throw (an HttpError 404 or 405) becomes the response.
   */
  readonly route?: (request: PortableRequest) => HttpHandler | undefined
}

/** A provider's runtime entry point for one portable handler. */
export type Dispatcher<Args extends readonly unknown[]> = (...args: Args) => Promise<unknown>

/**
 * The one dispatcher behind every provider's runtime entry point: checks at creation that the handler is a portable
 * handler of a kind the sources feed (a TypeError naming `label` otherwise), keeps the sources of its kind, and for
 * each invocation finds the source that recognises the input (an error naming its shape when none does), creates
 * the context, runs the handler and returns the native result: the HTTP response (a failure becomes the logged,
 * client-safe error response), or the source's result for an event batch (partial failures, or a throw the platform
 * retries).
 */
export function createDispatcher<Args extends readonly unknown[]>(
  handler: PortableHandler,
  sources: readonly Source[],
  options: DispatchOptions<Args>,
  label = 'handler',
): Dispatcher<Args> {
  const candidates = candidatesFor(handler, sources, label)
  return handler.kind === 'http'
    ? httpEntry(handler, candidates as readonly HttpSource[], options)
    : eventEntry(handler as EventHandler, candidates as readonly EventSource[], options)
}

function httpEntry<Args extends readonly unknown[]>(handler: HttpHandler, sources: readonly HttpSource[], options: DispatchOptions<Args>): Dispatcher<Args> {
  return (...args) => dispatchHttp(handler, sources, options, args)
}

function eventEntry<Args extends readonly unknown[]>(handler: EventHandler, sources: readonly EventSource[], options: DispatchOptions<Args>): Dispatcher<Args> {
  return (...args) => dispatchEvents(handler as EventHandler<NeutralEvent>, sources, options, args)
}

/**
 * {@link createDispatcher} for an HTTP handler: the same checks and dispatch, and a bundle with none of the event
 * path (what an entry for HTTP formats only uses).
 */
export function createHttpDispatcher<Args extends readonly unknown[]>(
  handler: HttpHandler,
  sources: readonly HttpSource[],
  options: DispatchOptions<Args>,
  label = 'handler',
): Dispatcher<Args> {
  return httpEntry(handler, candidatesFor(handler, sources, label) as readonly HttpSource[], options)
}

/** {@link createDispatcher} for an event handler, without the HTTP path. */
export function createEventDispatcher<Args extends readonly unknown[]>(
  handler: EventHandler,
  sources: readonly EventSource[],
  options: DispatchOptions<Args>,
  label = 'handler',
): Dispatcher<Args> {
  return eventEntry(handler, candidatesFor(handler, sources, label) as readonly EventSource[], options)
}

/** The sources of the handler's kind; throws the TypeError naming the problem when the handler cannot run on them. */
function candidatesFor(handler: unknown, sources: readonly Source[], label: string): Source[] {
  const candidates: Source[] = []
  if (isPortableHandler(handler)) for (const source of sources) if (source.kind === handler.kind) candidates.push(source)
  if (candidates.length === 0) assertHandler(handler, [...new Set(sources.map((source) => source.kind))], label)
  return candidates
}

/**
 * Dispatches one native input to a handler, trying the given sources (those of the handler's kind) in order: what
 * {@link createDispatcher}'s entry points do per invocation, for an entry that picks the handler per input itself.
 */
export function dispatch<Args extends readonly unknown[]>(
  handler: PortableHandler,
  sources: readonly Source[],
  options: DispatchOptions<Args>,
  ...args: Args
): Promise<unknown> {
  return handler.kind === 'http'
    ? dispatchHttp(handler, sources as readonly HttpSource[], options, args)
    : dispatchEvents(handler as EventHandler<NeutralEvent>, sources as readonly EventSource[], options, args)
}

/**
 * One HTTP invocation. Synchronous up to the handler's own promise, if any: a handler that answers at once costs no
 * `await`, only the promise the platform expects back.
 */
function dispatchHttp<Args extends readonly unknown[]>(
  handler: HttpHandler,
  sources: readonly HttpSource[],
  options: DispatchOptions<Args>,
  args: Args,
): Promise<unknown> {
  try {
    const input = options.input === undefined ? args[0] : options.input(...args)
    const source = findSource(sources, input)
    if (source === undefined) {
      const error = unrecognised(handler.kind, sources, input, options, args)
      if (options.respond === undefined) return failedInvocation('http', error, options, args)
      const context = options.context(...args)
      const failure = httpFailure(error, context)
      return ended(context.end('http', { status: failure.status }), Promise.resolve(options.respond(failure, context, ...args)))
    }
    const context = options.context(...args)
    let response: OutgoingResponse | Promise<OutgoingResponse>
    try {
      const request = source.getRequest(input)
      context.useRequest(request)
      const stream = options.stream
      response = runHttp(
        options.route?.(request) ?? handler,
        request,
        context,
        typeof stream === 'function' ? stream() : stream === true,
        options.keepFetchResponse === true,
      )
    } catch (error) {
      response = httpFailure(error, context)
    }
    if (!isPromise(response)) return answer(response, source, input, context, options, args)
    return response.then(
      (value) => answer(value, source, input, context, options, args),
      (error: unknown) => answer(httpFailure(error, context), source, input, context, options, args),
    )
  } catch (error) {
    return Promise.reject(error)
  }
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as Promise<T> | null)?.then === 'function'
}

/**
 * The end of an invocation: its summary line written and its span flushed (see `PortableContext.end`); `result` is
 * what the platform gets, once the flush (if any) settled.
 */
function ended<T>(flushing: Promise<void> | undefined, result: Promise<T>): Promise<T> {
  return flushing === undefined ? result : flushing.then(() => result)
}

/** An invocation that fails before it starts (an input no source reads): its summary line, then the error. */
function failedInvocation<Args extends readonly unknown[]>(kind: string, error: Error, options: DispatchOptions<Args>, args: Args): Promise<never> {
  let context: PortableContext
  try {
    context = options.context(...args)
  } catch {
    return Promise.reject(error) // arguments no context can be made of: nothing to summarise
  }
  return ended(context.end(kind, { error }), Promise.reject(error))
}

/** The native result of an HTTP invocation, after its summary line. */
function answer<Args extends readonly unknown[]>(
  response: OutgoingResponse,
  source: HttpSource,
  input: unknown,
  context: PortableContext,
  options: DispatchOptions<Args>,
  args: Args,
): Promise<unknown> {
  let result: unknown
  try {
    result = nativeResult(response, source, input, context, options, args)
  } catch (error) {
    return ended(context.end('http', { error }), Promise.reject(error))
  }
  return ended(context.end('http', { status: response.status }), Promise.resolve(result))
}

/** What the platform gets for a response: the source's native result, or what `options.respond` sends. */
function nativeResult<Args extends readonly unknown[]>(
  response: OutgoingResponse,
  source: HttpSource,
  input: unknown,
  context: PortableContext,
  options: DispatchOptions<Args>,
  args: Args,
): unknown {
  if (options.respond !== undefined) return options.respond(response, context, ...args)
  try {
    return source.getResponse(response, input)
  } catch (error) {
    // The native result cannot be built from this response (a header the platform refuses, say): the logged 500.
    context.log.error('could not build the response', { error })
    return source.getResponse(errorResponse(error, context.requestId), input)
  }
}

function dispatchEvents<Args extends readonly unknown[]>(
  handler: EventHandler<NeutralEvent>,
  sources: readonly EventSource[],
  options: DispatchOptions<Args>,
  args: Args,
): Promise<unknown> {
  const input = options.input === undefined ? args[0] : options.input(...args)
  const source = findSource(sources, input)
  if (source === undefined) {
    return failedInvocation(handler.kind, unrecognised(handler.kind, sources, input, options, args), options, args)
  }
  const context = options.context(...args)
  return runSource(handler as Exclude<PortableHandler, HttpHandler>, source, input, context).then(
    (result) => ended(context.end(handler.kind), Promise.resolve(result)),
    (error: unknown) => ended(context.end(handler.kind, { error }), Promise.reject(error)),
  )
}
function unrecognised<Args extends readonly unknown[]>(
  kind: HandlerKind,
  sources: readonly Source[],
  input: unknown,
  options: DispatchOptions<Args>,
  args: Args,
): Error {
  return options.unrecognised === undefined
    ? unrecognisedInput(options.provider, kind, sources, input)
    : options.unrecognised(kind, sources, input, ...args)
}
