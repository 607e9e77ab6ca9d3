import {
  EventError,
  createDispatcher,
  isRecord,
  setOwn,
  type OutgoingResponse,
  type PortableContext,
  type PortableHandler,
  type Source,
} from '@polycloud/core/adapter'
import { toEventInput } from './event-input.js'
import { header, httpContext, unrecognised, type FunctionOptions, type HttpFunction } from './functions-framework.js'
import { writeResponse, type FrameworkRequest } from './http.js'

/**
 * An HTTP function serving a portable event handler: a push endpoint. The request body is the event (a Pub/Sub
 * push body, whose `subscription` and `deliveryAttempt` a cloudEvent function would lose to FF's conversion; a
 * structured or binary-mode CloudEvent; a legacy event). The answer is 204 when every event succeeded, 500 when
 * one failed (Pub/Sub and Eventarc redeliver) and 400, naming the problem, for a body that is no event.
 */
export function createPushFunction(
  handler: PortableHandler,
  sources: readonly Source[],
  options: FunctionOptions = {},
): HttpFunction {
  if (handler.kind === 'http') {
    throw new TypeError('gcp: an http handler is not an event handler; serve it with createHttpFunction or gcp.http')
  }
  const name = options.name
  // The context is the request's, made before its body is read as an event.
  const run = createDispatcher<[unknown, PortableContext]>(handler, sources, {
    provider: 'gcp',
    context: (_event, context) => context,
    unrecognised: (kind, candidates, input) => unrecognised(kind, candidates, input),
  })
  return async (req, res) => {
    const context = httpContext(req, res, name)
    let response: OutgoingResponse
    try {
      await run(eventFromRequest(req), context)
      response = { status: 204, headers: {}, cookies: [], body: null }
    } catch (error) {
      const status = error instanceof EventError ? 400 : 500
      context.log.error(status === 400 ? 'request is not an event this function handles' : 'event delivery failed', { error })
      response = {
        status,
        headers: { 'content-type': 'application/json' },
        cookies: [],
        body: JSON.stringify({
          error: status === 400 ? (error as Error).message : 'Event processing failed',
          requestId: context.requestId,
        }),
      }
    }
    await writeResponse(res, response, context)
  }
}

/**
 * The event in a request to an HTTP function: a binary-mode CloudEvent from its `ce-*` headers (data: the parsed
 * JSON body, else the body's bytes), else the parsed JSON body (see {@link toEventInput}).
 */
export function eventFromRequest(req: FrameworkRequest): unknown {
  const headers = req.headers
  if (headers['ce-id'] && headers['ce-type'] && headers['ce-source'] && headers['ce-specversion']) {
    const event: Record<string, unknown> = {}
    for (const name of Object.keys(headers)) {
      if (name.startsWith('ce-')) setOwn(event, name.slice(3), header(req, name))
    }
    const type = header(req, 'content-type')
    if (type !== undefined && event.datacontenttype === undefined) event.datacontenttype = type
    const body = req.body
    event.data = body !== undefined && !(body instanceof Uint8Array) ? body : req.rawBody
    return event
  }
  let body = req.body
  if (body instanceof Uint8Array) {
    try {
      body = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'))
    } catch {
      throw new EventError('gcp: the request body is not JSON; expected an event (a CloudEvent or a Pub/Sub push body)')
    }
  }
  if (!isRecord(body)) {
    throw new EventError('gcp: the request has no JSON object body; expected an event (a CloudEvent or a Pub/Sub push body)')
  }
  return toEventInput(body)
}

