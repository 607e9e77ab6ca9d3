// Everything a portable handler needs. Adapter authors import '@polycloud/core/adapter' as well.
export { http, fetchApp, schedule, queue, topic, storage, changes, cloudEvent, isPortableHandler, assertHandler } from './handlers.js'
export type {
  HttpHandler,
  HttpHandlerFunction,
  FetchApp,
  EventHandler,
  EventHandlerFunction,
  EventHandlerOptions,
  ScheduleHandler,
  QueueHandler,
  TopicHandler,
  StorageHandler,
  ChangesHandler,
  CloudEventHandler,
  PortableHandler,
  HandlerKind,
  EventOf,
} from './handlers.js'
export { json, text, html, binary, stream, redirect } from './response.js'
export type { PlainResponse, HttpResult, ResponseHeaders, ResponseBody, ResponseOptions } from './response.js'
export type { PortableRequest, Caller, JwtCaller, KeyCaller } from './request.js'
export type { PortableHeaders } from './headers.js'
export type { PortableQuery } from './query.js'
export { HttpError } from './errors.js'
export { traced } from './tracer.js'
export type { TracedFetch } from './tracer.js'
export type { Context, Logger, LogFields, LogLevel, Provider, NativeContext, TraceContext } from './context.js'
export type {
  EventBase,
  ScheduleEvent,
  QueueMessage,
  TopicMessage,
  StorageEvent,
  ChangeEvent,
  CloudEvent,
  NeutralEvent,
  EventKind,
  MessageBody,
  JsonValue,
  JsonObject,
} from './events.js'
