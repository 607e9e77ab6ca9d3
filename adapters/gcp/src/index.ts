import type { HttpHandler, PortableHandler } from '@polycloud/core'
import type { ProviderAdapter, Source } from '@polycloud/core/adapter'
import { toEventInput } from './event-input.js'
import { createCloudEventFunction, createHttpFunction, type CloudEventFunction, type HttpFunction } from './functions-framework.js'
import { gcpHttp } from './http.js'
import { createPushFunction } from './push.js'
import { registerCloudEvent, registerHttp, registerRoutes } from './register.js'
import type { RouteBinding } from './routes.js'
import { gcpSources } from './sources.js'

const httpSources: readonly Source[] = [gcpHttp]

/**
 * The HTTP function for a portable HTTP handler, reading `gcp:http` (the one HTTP format) unless told otherwise:
 * `export const api = toHttpFunction(handler)`, deployed with `--entry-point=api`.
 */
export function toHttpFunction(handler: HttpHandler, sources: readonly Source[] = httpSources): HttpFunction {
  return createHttpFunction(handler, sources)
}

/** An HTTP function serving a portable event handler (a push endpoint), reading every GCP format of its kind. */
export function toPushFunction(handler: PortableHandler): HttpFunction {
  return createPushFunction(handler, gcpSources)
}

/** The CloudEvent function (one parameter) for a portable event handler, reading every GCP format of its kind. */
export function toCloudEventFunction(handler: PortableHandler, sources: readonly Source[] = gcpSources): CloudEventFunction {
  return createCloudEventFunction(handler, sources)
}

/**
 * Registration with the Functions Framework (`functions-framework --target=<name>`, or a Cloud Run functions
 * deploy with `--entry-point=<name>`): `gcp.http('api', handler)` (an HTTP handler, or an event handler as a push
 * endpoint), `gcp.cloudEvent('onUpload', handler)` (an event handler behind an Eventarc trigger).
 */
export const gcp = {
  http(name: string, handler: PortableHandler, sources: readonly Source[] = gcpSources): void {
    registerHttp(name, handler, sources)
  },
  cloudEvent(name: string, handler: PortableHandler, sources: readonly Source[] = gcpSources): void {
    registerCloudEvent(name, handler, sources)
  },
  /** One HTTP function for many routes: `gcp.routes('api', [{ method: 'GET', path: '/notes/{id}', name: 'getNote', handler }])`. */
  routes(name: string, routes: readonly RouteBinding[], sources: readonly Source[] = httpSources): void {
    registerRoutes(name, routes, sources)
  },
} as const

export { createHttpFunction, createCloudEventFunction, gcpDeadline } from './functions-framework.js'
export type { HttpFunction, CloudEventFunction, FunctionOptions } from './functions-framework.js'
export { createPushFunction, eventFromRequest } from './push.js'
export { registerHttp, registerHttpHandler, registerCloudEvent, registerRoutes } from './register.js'
export { createRoutedHttpFunction } from './routes.js'
export type { RouteBinding } from './routes.js'
export { adjustFramework } from './framework-errors.js'
export { gcpSources } from './sources.js'
export { gcpHttp, FrameworkHttpRequest, writeResponse, frameworkResult, isFrameworkRequest } from './http.js'
export type { FrameworkRequest, FrameworkResult } from './http.js'
export {
  gcpCloudEvent,
  isCloudEvent,
  toCloudEvent,
  cloudEventData,
  notACloudEvent,
  missingAttributes,
  bareDataSchema,
} from './cloud-event.js'
export type { GcpCloudEvent } from './cloud-event.js'
export { gcpPubSub, gcpPubSubQueue, namedPubSubQueue, isPushBody, MESSAGE_PUBLISHED } from './pubsub.js'
export type { PubSubMessage, MessagePublishedData, PubSubPushBody, PubSubInput } from './pubsub.js'
export { gcpStorage, STORAGE_EVENT_PREFIX } from './storage.js'
export type { StorageObjectData } from './storage.js'
export { gcpFirestore, fromFirestoreValue, fromFirestoreFields, FIRESTORE_EVENT_PREFIX } from './firestore.js'
export type { FirestoreValue, FirestoreDocument, DocumentEventData } from './firestore.js'
export { decodeDocumentEventData } from './firestore-protobuf.js'
export { gcpScheduler, gcpSchedulerPubSub, SCHEDULER_EXECUTED } from './scheduler.js'
export type { SchedulerJobData } from './scheduler.js'
export { isLegacyEvent, legacyToCloudEvent } from './legacy.js'
export type { LegacyEvent, LegacyContext, LegacyResource } from './legacy.js'
export { toEventInput } from './event-input.js'
export { cloudLoggingSink, parseTrace, sinkFor } from './logging.js'
export type { TraceContext } from './logging.js'

/**
 * The GCP adapter as tools see it (`polycloud inspect --provider gcp`): JSON is read as the Functions Framework
 * would hand it to a function, legacy background events converted to CloudEvents by FF's rules.
 */
export const adapter: ProviderAdapter = { provider: 'gcp', sources: gcpSources, fromJson: toEventInput }
