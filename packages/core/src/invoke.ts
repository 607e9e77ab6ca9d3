import type { PortableContext } from './context.js'
import { HttpError } from './errors.js'
import type { NeutralEvent } from './events.js'
import type { EventHandler, HttpHandler, PortableHandler } from './handlers.js'
import type { PortableRequest } from './request.js'
import { InvalidRecord, type EventSource } from './source.js'
import { carrierTrace, eventTrace } from './trace.js'
import { currentTracer } from './tracer.js'
import { isStream } from './request.js'
import { bufferBody, errorResponse, toOutgoing, type HttpResult, type OutgoingResponse } from './response.js'

/**
 * Runs an HTTP handler and always produces a response: a thrown {@link HttpError} keeps its status, anything
 * else (including a malformed result or a failing response stream) becomes a logged 500. With `stream` false the
 * body is buffered. Promises passed to `waitUntil` are awaited unless the provider handles them. Synchronous
 * where it can be: no promise is created beyond the handler's own.
 */
export function runHttp(
  handler: HttpHandler,
  request: PortableRequest,
  context: PortableContext,
  stream = false,
  keepFetchResponse = false,
): OutgoingResponse | Promise<OutgoingResponse> {
  let result: HttpResult | Promise<HttpResult>
  try {
    const tracer = currentTracer()
    result = tracer?.activate === undefined ? handler.handle(request, context) : tracer.activate(context, () => handler.handle(request, context))
  } catch (error) {
    return fail(error, context)
  }
  return typeof (result as Promise<HttpResult> | null)?.then === 'function'
    ? (result as Promise<HttpResult>).then(
        (value) => complete(value, context, stream, keepFetchResponse),
        (error: unknown) => fail(error, context),
      )
    : complete(result as HttpResult, context, stream, keepFetchResponse)
}

function complete(
  result: HttpResult,
  context: PortableContext,
  stream: boolean,
  keepFetchResponse: boolean,
): OutgoingResponse | Promise<OutgoingResponse> {
  let response: OutgoingResponse
  try {
    response = toOutgoing(result, keepFetchResponse)
  } catch (error) {
    return fail(error, context)
  }
  if (!stream && isStream(response.body)) {
    return bufferBody(response).then(
      (buffered) => finish(buffered, context),
      (error: unknown) => fail(error, context),
    )
  }
  return context.pending ? finish(response, context) : response
}

function fail(error: unknown, context: PortableContext): OutgoingResponse | Promise<OutgoingResponse> {
  return finish(httpFailure(error, context), context)
}

function finish(response: OutgoingResponse, context: PortableContext): OutgoingResponse | Promise<OutgoingResponse> {
  return context.pending ? context.settle().then(() => response) : response
}

/**
 * Logs an error thrown while handling a request and turns it into the client-safe response. An HttpError whose
 * headers HTTP cannot carry becomes the generic 500, logged too.
 */
export function httpFailure(error: unknown, context: PortableContext): OutgoingResponse {
  if (!(error instanceof HttpError)) context.log.error('handler failed', { error })
  else if (error.status >= 500) context.log.error('handler answered with an error', { status: error.status, error })
  try {
    return errorResponse(error, context.requestId)
  } catch (headerError) {
    context.log.error('handler failed', { error: headerError })
    return errorResponse(headerError, context.requestId)
  }
}

/**
 * Runs an event handler over a batch and returns the events that failed. Each failure is logged with the event id.
 * With `ordered`, the first failure stops the batch and every later event counts as failed (not attempted), so
 * the provider redelivers them in order.
 */
export async function runEvents<E extends NeutralEvent>(
  handler: EventHandler<E>,
  events: ReadonlyArray<E | InvalidRecord>,
  context: PortableContext,
  ordered = false,
): Promise<Array<E | InvalidRecord>> {
  type Item = E | InvalidRecord
  const concurrency = ordered ? 1 : (handler.options.concurrency ?? 1)
  // Failures by position, so they come back in delivery order without sorting (linear in the batch size).
  const failedAt = new Uint8Array(events.length)
  // A batch of one is that message's work: the invocation continues the trace it carries. In a larger batch each
  // message that carries a trace runs in a context of its own, in that trace.
  const single = events.length === 1
  if (single) {
    const only = events[0]
    const carrier = only === undefined || only instanceof InvalidRecord ? undefined : eventTrace(only)
    if (carrier !== undefined) context.continueTrace(() => carrierTrace(carrier))
  }
  const tracer = currentTracer()
  const runOne = async (event: Item, index: number): Promise<boolean> => {
    if (event instanceof InvalidRecord) {
      context.log.error('record could not be translated', { recordId: event.id, error: event.error })
      failedAt[index] = 1
      return false
    }
    const carrier = single ? undefined : eventTrace(event)
    const own = carrier === undefined ? context : context.derive(() => carrierTrace(carrier))
    const started = carrier === undefined ? 0 : Date.now()
    try {
      if (tracer?.activate === undefined) await handler.handle(event, own)
      else await tracer.activate(own, () => handler.handle(event, own))
      if (carrier !== undefined) own.end(event.kind, { eventId: event.id, started })
      return true
    } catch (error) {
      own.log.error('event failed', { kind: event.kind, eventId: event.id, error })
      if (carrier !== undefined) own.end(event.kind, { eventId: event.id, started, error })
      failedAt[index] = 1
      return false
    }
  }
  if (concurrency === 1) {
    for (let i = 0; i < events.length; i++) {
      if (!(await runOne(events[i] as Item, i)) && ordered && i + 1 < events.length) {
        context.log.warn('stopped an ordered batch at the first failure', {
          failedId: events[i]?.id,
          skipped: events.length - i - 1,
        })
        failedAt.fill(1, i + 1)
        break
      }
    }
  } else {
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < events.length) {
        const index = next++
        await runOne(events[index] as Item, index)
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, events.length) }, worker))
  }
  const failed: Item[] = []
  for (let i = 0; i < events.length; i++) if (failedAt[i] === 1) failed.push(events[i] as Item)
  context.recordBatch(events.length, failed.length)
  if (context.pending) await context.settle()
  return failed
}

/**
 * Runs an event handler over everything one source read from one native input (stopping at the first failure
 * when the source is ordered) and returns the source's native result: partial batch failures, or a throw when the
 * source cannot report them. Every adapter's event path ends here.
 */
export async function runSource<R>(
  handler: Exclude<PortableHandler, HttpHandler>,
  source: EventSource<unknown, NeutralEvent, R>,
  input: unknown,
  context: PortableContext,
): Promise<R> {
  const ordered = source.isOrdered?.(input) ?? false
  // A handler receives only events of its own kind: the caller picked a source of that kind.
  const failed = await runEvents(handler as EventHandler<NeutralEvent>, source.getEvents(input), context, ordered)
  return source.getResult(input, failed)
}
