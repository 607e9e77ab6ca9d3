import type { PortableHandler } from '@polycloud/core'
import type { ProviderAdapter } from '@polycloud/core/adapter'
import { createAzureHandler, type AzureFunctionHandler, type AzureHandlerOptions } from './handler.js'
import { fromJson } from './json.js'
import { azureSources } from './sources.js'

/**
 * The Azure Functions handler for a portable handler, reading every Azure format of its kind:
 * `app.http('hello', { handler: azure(portable) })`. The `register*` helpers do the registration too.
 */
export function azure(handler: PortableHandler, options?: AzureHandlerOptions): AzureFunctionHandler {
  return createAzureHandler(handler, azureSources, options)
}

export { createAzureHandler, DEFAULT_TIMEOUT_SECONDS } from './handler.js'
export type { AzureFunctionHandler, AzureHandlerOptions } from './handler.js'
export type { AzureContext, AzureInput } from './input.js'
export { azureSources } from './sources.js'
export { azureHttp, AzureHttpRequest, parseSetCookie, toHttpResponseInit } from './http.js'
export type { AzureHttpInput, AzureHttpResult } from './http.js'
export { azureTimer } from './timer.js'
export type { AzureTimerInput } from './timer.js'
export { storageQueue } from './storage-queue.js'
export type { StorageQueueInput } from './storage-queue.js'
export { serviceBus, serviceBusTopic } from './service-bus.js'
export type { ServiceBusInput } from './service-bus.js'
export { blob } from './blob.js'
export type { BlobInput } from './blob.js'
export { eventGrid } from './event-grid.js'
export type { EventGridInput, EventGridPayload, EventGridSchemaEvent, EventGridCloudEvent } from './event-grid.js'
export { eventGridBlob } from './event-grid-blob.js'
export { cosmosDb, cosmosDbSource, SYSTEM_PROPERTIES } from './cosmos-db.js'
export type { CosmosDbInput, CosmosDbSourceOptions } from './cosmos-db.js'
export {
  setup,
  checkSchedule,
  registerHttp,
  registerTimer,
  registerStorageQueue,
  registerServiceBusQueue,
  registerServiceBusTopic,
  registerStorageBlob,
  registerEventGrid,
  registerCosmosDB,
} from './register.js'
export type {
  HttpOptions,
  TimerOptions,
  StorageQueueOptions,
  ServiceBusQueueOptions,
  ServiceBusTopicOptions,
  StorageBlobOptions,
  EventGridOptions,
  CosmosDBOptions,
} from './register.js'
export { fromJson } from './json.js'

/** The Azure adapter as tools see it (`polycloud inspect --provider azure`). */
export const adapter: ProviderAdapter = { provider: 'azure', sources: azureSources, fromJson }
