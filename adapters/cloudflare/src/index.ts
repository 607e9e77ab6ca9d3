import type { HttpHandler, PortableHandler, ScheduleHandler } from '@polycloud/core'
import type { ProviderAdapter } from '@polycloud/core/adapter'
import { fromJson } from './from-json.js'
import { cloudflareSources } from './sources.js'
import { createWorker, type ExportedWorker, type FetchWorker, type QueueWorker, type ScheduledWorker } from './worker.js'

/**
 * The module Worker for a portable handler, reading every Cloudflare format of its kind:
 * `export default worker(portable)`.
 */
export function worker(handler: HttpHandler): FetchWorker
export function worker(handler: ScheduleHandler): ScheduledWorker
export function worker(handler: Exclude<PortableHandler, HttpHandler | ScheduleHandler>): QueueWorker
export function worker(handler: PortableHandler): ExportedWorker
export function worker(handler: PortableHandler): ExportedWorker {
  return createWorker(handler, cloudflareSources)
}

export { createWorker, stringVars, FETCH_TIMEOUT_SECONDS, BACKGROUND_TIMEOUT_SECONDS } from './worker.js'
export type { ExecutionContextLike, ExportedWorker, FetchWorker, ScheduledWorker, QueueWorker, WorkerOptions } from './worker.js'
export { cloudflareSources } from './sources.js'
export { workersFetch, WorkersRequest, toResponse, isFetchRequest } from './fetch.js'
export { scheduled, isScheduledController } from './scheduled.js'
export type { ScheduledControllerLike } from './scheduled.js'
export { queueBatch, isMessageBatch, messagePayload } from './queue.js'
export type { MessageBatchLike, QueueMessageLike, QueueRetryOptions } from './queue.js'
export { r2Notification, isR2Notification, r2StorageType } from './r2-notification.js'
export type { R2EventNotification } from './r2-notification.js'
export { fromJson } from './from-json.js'

/** The Cloudflare adapter as tools see it (`polycloud inspect --provider cloudflare`). */
export const adapter: ProviderAdapter = { provider: 'cloudflare', sources: cloudflareSources, fromJson }
export { createServiceWorker } from './service.js'
export type { ServiceDefinition, ServiceFunction, ServiceRoute, ServiceCron, ServiceQueue, ServiceWorker } from './service.js'
