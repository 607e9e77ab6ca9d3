import type { Context } from './context.js'
import type {
  ChangeEvent,
  CloudEvent,
  EventKind,
  NeutralEvent,
  QueueMessage,
  ScheduleEvent,
  StorageEvent,
  TopicMessage,
} from './events.js'
import type { PortableRequest } from './request.js'
import type { HttpResult } from './response.js'

export type HttpHandlerFunction = (request: PortableRequest, context: Context) => HttpResult | Promise<HttpResult>

export interface HttpHandler {
  readonly kind: 'http'
  readonly handle: HttpHandlerFunction
}

export type EventHandlerFunction<E extends NeutralEvent> = (event: E, context: Context) => void | Promise<void>

export interface EventHandlerOptions {
  /**
   * How many events of one batch run at once (default 1: in order). Ordered sources (FIFO queues, change
   * streams) always run one at a time.
   */
  readonly concurrency?: number
}

export interface EventHandler<E extends NeutralEvent = NeutralEvent> {
  readonly kind: E['kind']
  readonly handle: EventHandlerFunction<E>
  readonly options: EventHandlerOptions
}

export type ScheduleHandler = EventHandler<ScheduleEvent>
export type QueueHandler = EventHandler<QueueMessage>
export type TopicHandler = EventHandler<TopicMessage>
export type StorageHandler = EventHandler<StorageEvent>
export type ChangesHandler = EventHandler<ChangeEvent>
export type CloudEventHandler = EventHandler<CloudEvent>

/** A handler written once, run by any adapter. */
export type PortableHandler =
  | HttpHandler
  | ScheduleHandler
  | QueueHandler
  | TopicHandler
  | StorageHandler
  | ChangesHandler
  | CloudEventHandler

export type HandlerKind = 'http' | EventKind

/** The event type a handler of the given kind receives. */
export type EventOf<K extends EventKind> = Extract<NeutralEvent, { kind: K }>

/** An HTTP handler: Fetch-shaped request in, Fetch `Response` / plain `{ status, headers, body }` / helper out. */
export function http(handle: HttpHandlerFunction): HttpHandler {
  return { kind: 'http', handle }
}

/** Anything with a Fetch `fetch(request, env, ctx)` method, such as a Hono app. */
export interface FetchApp {
  fetch(request: Request, env: never, executionContext: never): Response | Promise<Response>
}

/**
 * Serves a Fetch app (Hono, itty-router, ...) as a portable HTTP handler. The app receives a real `Request`;
 * its second argument is the Workers `env` on Cloudflare and the environment variables elsewhere; its third has
 * `waitUntil` and `passThroughOnException`.
 */
export function fetchApp(app: FetchApp): HttpHandler {
  const fetch = app.fetch.bind(app) as (request: Request, env: unknown, executionContext: unknown) => Promise<Response>
  return http((request, context) => {
    const env = context.provider === 'cloudflare' ? context.native.extra : context.env
    const executionContext = {
      waitUntil: (promise: Promise<unknown>) => context.waitUntil(promise),
      passThroughOnException: () => {},
      props: {},
    }
    return fetch(request.toRequest(), env, executionContext)
  })
}

function eventHandler<E extends NeutralEvent>(
  kind: E['kind'],
  handle: EventHandlerFunction<E>,
  options: EventHandlerOptions = {},
): EventHandler<E> {
  const concurrency = options.concurrency ?? 1
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`${kind} handler: concurrency must be a positive integer, got ${String(options.concurrency)}`)
  }
  return { kind, handle, options: { concurrency } }
}

/** A scheduled handler, fired by `cron` events. */
export function schedule(handle: EventHandlerFunction<ScheduleEvent>): ScheduleHandler {
  return eventHandler('schedule', handle)
}

/** A queue worker, called once per message; a throw fails only that message, which the queue redelivers. */
export function queue(handle: EventHandlerFunction<QueueMessage>, options?: EventHandlerOptions): QueueHandler {
  return eventHandler('queue', handle, options)
}

/** A topic subscriber, called once per published message. */
export function topic(handle: EventHandlerFunction<TopicMessage>, options?: EventHandlerOptions): TopicHandler {
  return eventHandler('topic', handle, options)
}

/** A bucket listener, called once per object event. */
export function storage(handle: EventHandlerFunction<StorageEvent>, options?: EventHandlerOptions): StorageHandler {
  return eventHandler('storage', handle, options)
}

/** A change-stream consumer, called once per change, in order; a throw stops the batch there. */
export function changes(handle: EventHandlerFunction<ChangeEvent>): ChangesHandler {
  return eventHandler('changes', handle)
}

/** A handler for any CloudEvents 1.0 event (Eventarc, Event Grid, EventBridge, ...). */
export function cloudEvent(handle: EventHandlerFunction<CloudEvent>, options?: EventHandlerOptions): CloudEventHandler {
  return eventHandler('cloudEvent', handle, options)
}

const KINDS = new Set<string>(['http', 'schedule', 'queue', 'topic', 'storage', 'changes', 'cloudEvent'])

/** Whether a module export is a portable handler. */
export function isPortableHandler(value: unknown): value is PortableHandler {
  if (typeof value !== 'object' || value === null) return false
  const { kind, handle } = value as { kind?: unknown; handle?: unknown }
  return typeof kind === 'string' && KINDS.has(kind) && typeof handle === 'function'
}

/**
 * Checks, when a function is created, that a module export is a portable handler of one of the kinds its events
 * feed; throws a TypeError naming the export (`label`) otherwise, so a wiring mistake fails at start-up.
 */
export function assertHandler(value: unknown, kinds: readonly HandlerKind[], label: string): asserts value is PortableHandler {
  if (!isPortableHandler(value)) {
    throw new TypeError(
      `${label} is not a portable handler: export one made with http(), schedule(), queue(), topic(), storage(), changes() or cloudEvent() from @polycloud/core`,
    )
  }
  if (!kinds.includes(value.kind)) {
    throw new TypeError(`${label} is a ${value.kind} handler, but its function's events need a ${kinds.join(' or ')} handler`)
  }
}
