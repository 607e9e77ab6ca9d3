import type { Source } from '@polycloud/core/adapter'
import { blob } from './blob.js'
import { cosmosDb } from './cosmos-db.js'
import { eventGrid } from './event-grid.js'
import { eventGridBlob } from './event-grid-blob.js'
import { azureHttp } from './http.js'
import { serviceBus, serviceBusTopic } from './service-bus.js'
import { storageQueue } from './storage-queue.js'
import { azureTimer } from './timer.js'

/**
 * Every Azure format, in the order the dispatcher tries them. Where several fit one input, the handler's kind
 * decides: an Event Grid blob event is a storage event for a storage handler and a CloudEvent for a CloudEvent
 * handler; a topic subscription's message is a queue message or a topic message.
 */
export const azureSources: readonly Source[] = [
  azureHttp,
  azureTimer,
  storageQueue,
  serviceBus,
  serviceBusTopic,
  blob,
  eventGridBlob,
  eventGrid,
  cosmosDb,
]
