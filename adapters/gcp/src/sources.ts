import type { Source } from '@polycloud/core/adapter'
import { gcpCloudEvent } from './cloud-event.js'
import { gcpFirestore } from './firestore.js'
import { gcpHttp } from './http.js'
import { gcpPubSub, gcpPubSubQueue } from './pubsub.js'
import { gcpScheduler, gcpSchedulerPubSub } from './scheduler.js'
import { gcpStorage } from './storage.js'

/**
 * Every GCP format, in the order the dispatcher tries them. Only the sources of a handler's kind are tried, so one
 * Pub/Sub message is a topic message for a topic handler, a queue message for a queue handler and a tick for a
 * schedule handler; `gcp:cloud-event` takes any CloudEvent for a cloudEvent handler.
 */
export const gcpSources: readonly Source[] = [
  gcpHttp,
  gcpPubSub,
  gcpPubSubQueue,
  gcpStorage,
  gcpFirestore,
  gcpScheduler,
  gcpSchedulerPubSub,
  gcpCloudEvent,
]
