import { randomUUID } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import {
  PortableContext,
  createDispatcher,
  deadlineFromEnv,
  isPortableHandler,
  isRecord,
  parseTraceparent,
  type IncomingTrace,
  unrecognisedInput,
  type EventError,
  type HttpHandler,
  type PortableHandler,
  type Source,
} from '@polycloud/core/adapter'
import { isCloudEvent, notACloudEvent, type GcpCloudEvent } from './cloud-event.js'
import { first, writeResponse, type FrameworkRequest } from './http.js'
import { GCP_OBSERVABILITY, stdoutSink } from './logging.js'
import { isPushBody } from './pubsub.js'

/** An HTTP function as the Functions Framework calls it: `(req, res)`, the response written to `res`. */
export type HttpFunction = (req: FrameworkRequest, res: ServerResponse) => Promise<void>

/**
 * A CloudEvent function as the Functions Framework calls it. It declares exactly one parameter: FF treats a
 * function with two as callback-style and would wait for a callback that never comes.
 */
export type CloudEventFunction = (event: GcpCloudEvent) => Promise<void>

/** Default function timeout of Cloud Run functions (gen 2), in seconds. */
const DEFAULT_TIMEOUT_SECONDS = 60

type Env = Readonly<Record<string, string | undefined>>

function functionName(env: Env, fallback: string | undefined): string {
  return env.K_SERVICE || env.FUNCTION_TARGET || fallback || 'function'
}

/**
 * No request carries its deadline on GCP: it is the function's timeout from the invocation's start. That is
 * POLYCLOUD_TIMEOUT_SECONDS when set (the Serverless plugin sets it), else CLOUD_RUN_TIMEOUT_SECONDS (what the
 * Functions Framework reads for its own request timeout), else the 60 s default.
 */
export function gcpDeadline(env: Env): number {
  const platform = Number(env.CLOUD_RUN_TIMEOUT_SECONDS)
  return deadlineFromEnv(env, Number.isFinite(platform) && platform > 0 ? platform : DEFAULT_TIMEOUT_SECONDS)
}

/** The first value of a request header. */
export function header(req: FrameworkRequest, name: string): string | undefined {
  return first(req.headers[name])
}

/**
 * The context of one HTTP invocation: a request id of its own (not FF's execution id, which is whatever the client
 * sent in a `function-execution-id` header); the trace continues the request's `traceparent` or
 * `X-Cloud-Trace-Context`. The function name is K_SERVICE / FUNCTION_TARGET / `name`, or `routed` as it is: the
 * function whose route a routing function matched.
 */
export function httpContext(req: FrameworkRequest, res: ServerResponse, name: string | undefined, routed?: string): PortableContext {
  const env = process.env
  return new PortableContext({
    provider: 'gcp',
    requestId: randomUUID, // made when something reads it (a log line, an error's body)
    functionName: routed ?? functionName(env, name),
    deadline: gcpDeadline(env),
    env,
    native: { provider: 'gcp', event: req, context: undefined, extra: res },
    sink: stdoutSink,
    observability: GCP_OBSERVABILITY,
  })
}

/** The trace a CloudEvent's delivery carries (the `traceparent` extension: FF copies the push request's onto it). */
function deliveryTrace(event: unknown): IncomingTrace | undefined {
  return isRecord(event) ? parseTraceparent(typeof event.traceparent === 'string' ? event.traceparent : undefined, typeof event.tracestate === 'string' ? event.tracestate : undefined) : undefined
}

function eventContext(event: unknown, name: string | undefined): PortableContext {
  const env = process.env
  return new PortableContext({
    provider: 'gcp',
    requestId: isRecord(event) && typeof event.id === 'string' ? event.id : randomUUID(),
    functionName: functionName(env, name),
    deadline: gcpDeadline(env),
    env,
    native: { provider: 'gcp', event, context: undefined },
    sink: stdoutSink,
    observability: GCP_OBSERVABILITY,
    incoming: () => deliveryTrace(event),
  })
}

/** The error for an event no source of the handler's kind recognises. */
export function unrecognised(kind: string, sources: readonly Source[], input: unknown): EventError {
  if (isRecord(input) && !isCloudEvent(input) && !isPushBody(input)) return notACloudEvent('gcp', input)
  return unrecognisedInput('gcp', kind, sources, input)
}

/** Options of the function wrappers. */
export interface FunctionOptions {
  /** The function's name where K_SERVICE and FUNCTION_TARGET are not set (the registration helpers pass theirs). */
  readonly name?: string
}

/**
 * An HTTP function for a portable HTTP handler, reading the given sources (`gcp:http`): the request is the Express
 * request FF passes, the response is written to `res`, streamed when the handler returns a stream. A thrown error
 * becomes a logged 500 without details (an HttpError keeps its status and message); nothing reaches FF's own
 * crash page. Event handlers behind an HTTP function (push endpoints) use {@link createPushFunction}.
 */
export function createHttpFunction(
  handler: HttpHandler,
  sources: readonly Source[],
  options: FunctionOptions = {},
): HttpFunction {
  if (isPortableHandler(handler) && handler.kind !== 'http') {
    throw new TypeError(`gcp: a ${String(handler.kind)} handler is not an HTTP handler; serve it with createPushFunction or gcp.http`)
  }
  const name = options.name
  const run = createDispatcher<[FrameworkRequest, ServerResponse]>(
    handler,
    sources.filter((source) => source.kind === 'http'),
    {
      provider: 'gcp',
      context: (req, res) => httpContext(req, res, name),
      stream: true,
      respond: (response, context, _req, res) => writeResponse(res, response, context),
    },
  )
  return async (req, res) => {
    await run(req, res)
  }
}

/**
 * A CloudEvent function for a portable event handler, reading the given sources: FF converts legacy events and
 * Pub/Sub push bodies to CloudEvents before calling it. A failed or unrecognised event is thrown after it is
 * logged: FF answers 500 and Eventarc / Pub/Sub redeliver it (when the trigger has retries on).
 */
export function createCloudEventFunction(
  handler: PortableHandler,
  sources: readonly Source[],
  options: FunctionOptions = {},
): CloudEventFunction {
  if (isPortableHandler(handler) && handler.kind === 'http') {
    throw new TypeError('gcp: an http handler cannot serve CloudEvents; register it with gcp.http / createHttpFunction')
  }
  const name = options.name
  const run = createDispatcher<[GcpCloudEvent]>(handler, sources, {
    provider: 'gcp',
    context: (event) => eventContext(event, name),
    unrecognised: (kind, candidates, event) => {
      const error = unrecognised(kind, candidates, event)
      eventContext(event, name).log.error('event not recognised', { error })
      return error
    },
  })
  return async (event) => {
    await run(event)
  }
}
