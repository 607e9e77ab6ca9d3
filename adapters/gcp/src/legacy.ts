import { EventError, isRecord, quote, setOwn } from '@polycloud/core/adapter'
import type { GcpCloudEvent } from './cloud-event.js'

/**
 * A legacy ("background") event as Cloud Functions gen 1 delivered it: `{ context, data }`, or the oldest flat form
 * `{ eventId, timestamp, eventType, resource, data }`. The resource is a string or `{ service, name, type }`.
 */
export interface LegacyEvent {
  context?: LegacyContext
  data: unknown
  eventId?: string
  timestamp?: string
  eventType?: string
  resource?: string | LegacyResource
  /** Realtime Database events only: `firebaseio.com` or `<location>.firebasedatabase.app`. */
  domain?: string
  [key: string]: unknown
}

export interface LegacyContext {
  eventId?: string
  timestamp?: string
  eventType?: string
  resource?: string | LegacyResource
  [key: string]: unknown
}

export interface LegacyResource {
  service?: string
  name?: string
  type?: string
}

// The Functions Framework's own tables (functions-framework-nodejs 5.0.5, src/middleware/
// background_event_to_cloud_event.ts and cloud_event_to_background_event.ts). Its converter is not exported
// (the package's exports map blocks deep imports), so the rules are repeated here and tested against the
// framework's conformance fixtures and against the framework itself.
const TO_CLOUD_EVENT_TYPE: Readonly<Record<string, string>> = {
  'providers/cloud.storage/eventTypes/object.change': 'google.cloud.storage.object.v1.finalized',
  'providers/cloud.pubsub/eventTypes/topic.publish': 'google.cloud.pubsub.topic.v1.messagePublished',
  'google.pubsub.topic.publish': 'google.cloud.pubsub.topic.v1.messagePublished',
  'google.storage.object.finalize': 'google.cloud.storage.object.v1.finalized',
  'google.storage.object.delete': 'google.cloud.storage.object.v1.deleted',
  'google.storage.object.archive': 'google.cloud.storage.object.v1.archived',
  'google.storage.object.metadataUpdate': 'google.cloud.storage.object.v1.metadataUpdated',
  'providers/cloud.firestore/eventTypes/document.write': 'google.cloud.firestore.document.v1.written',
  'providers/cloud.firestore/eventTypes/document.create': 'google.cloud.firestore.document.v1.created',
  'providers/cloud.firestore/eventTypes/document.update': 'google.cloud.firestore.document.v1.updated',
  'providers/cloud.firestore/eventTypes/document.delete': 'google.cloud.firestore.document.v1.deleted',
  'providers/firebase.auth/eventTypes/user.create': 'google.firebase.auth.user.v1.created',
  'providers/firebase.auth/eventTypes/user.delete': 'google.firebase.auth.user.v1.deleted',
  'providers/google.firebase.analytics/eventTypes/event.log': 'google.firebase.analytics.log.v1.written',
  'providers/google.firebase.database/eventTypes/ref.create': 'google.firebase.database.ref.v1.created',
  'providers/google.firebase.database/eventTypes/ref.write': 'google.firebase.database.ref.v1.written',
  'providers/google.firebase.database/eventTypes/ref.update': 'google.firebase.database.ref.v1.updated',
  'providers/google.firebase.database/eventTypes/ref.delete': 'google.firebase.database.ref.v1.deleted',
}

const FIREBASE_AUTH = 'firebaseauth.googleapis.com'
const FIREBASE_DB = 'firebasedatabase.googleapis.com'
const FIREBASE = 'firebase.googleapis.com'
const FIRESTORE = 'firestore.googleapis.com'
const PUBSUB = 'pubsub.googleapis.com'
const STORAGE = 'storage.googleapis.com'

const SERVICE_BY_PREFIX: ReadonlyArray<readonly [string, string]> = [
  ['providers/cloud.firestore/', FIRESTORE],
  ['providers/google.firebase.analytics/', FIREBASE],
  ['providers/firebase.auth/', FIREBASE_AUTH],
  ['providers/google.firebase.database/', FIREBASE_DB],
  ['providers/cloud.pubsub/', PUBSUB],
  ['providers/cloud.storage/', STORAGE],
  ['google.pubsub', PUBSUB],
  ['google.storage', STORAGE],
]

/** Resource/subject splits; each regex has two groups: the CloudEvent resource and the subject. As FF has them. */
const RESOURCE_PATTERNS: ReadonlyMap<string, RegExp> = new Map([
  [FIREBASE, /^(projects\/[^/]+)\/(events\/[^/]+)$/],
  [FIREBASE_DB, /^projects\/[^/]\/(instances\/[^/]+)\/(refs\/.+)$/],
  [FIRESTORE, /^(projects\/[^/]+\/databases\/\(default\))\/(documents\/.+)$/],
  [STORAGE, /^(projects\/[^/]\/buckets\/[^/]+)\/(objects\/.+)$/],
])

/**
 * Whether an input is a legacy event the Functions Framework converts to a CloudEvent: it has `data`, and its
 * context (or, in the flat form, itself) has a known `eventType` and a `resource`.
 */
export function isLegacyEvent(input: unknown): input is LegacyEvent {
  if (!isRecord(input) || !('data' in input)) return false
  const context = isRecord(input.context) ? input.context : input
  return (
    typeof context.eventType === 'string' &&
    'resource' in context &&
    Object.prototype.hasOwnProperty.call(TO_CLOUD_EVENT_TYPE, context.eventType)
  )
}

/**
 * A legacy event as the CloudEvent the Functions Framework makes of it before calling a `cloudEvent` function,
 * by the same rules. The input is not modified. A resource the rules cannot split throws an {@link EventError}
 * (FF answers such a request with a 500 without calling the function).
 */
export function legacyToCloudEvent(event: LegacyEvent): GcpCloudEvent {
  const context: LegacyContext = isRecord(event.context) ? event.context : event
  const eventType = context.eventType ?? ''
  const type = TO_CLOUD_EVENT_TYPE[eventType]
  if (type === undefined) throw new EventError(`gcp: legacy event type ${quote(eventType)} has no CloudEvent equivalent`)
  if (typeof context.eventId !== 'string' || context.eventId === '') {
    throw new EventError(`gcp: legacy ${eventType} event has no eventId`)
  }
  const split = splitResource(context, eventType)
  const { service } = split
  let { resource, subject } = split
  let data = event.data
  if (service === PUBSUB) {
    const message = isRecord(data) ? { ...data } : failData(eventType, 'an object (the PubsubMessage)')
    if (!message.publishTime) message.publishTime = context.timestamp
    if (!message.messageId) message.messageId = context.eventId
    data = { message }
  } else if (service === FIREBASE_AUTH && isRecord(data) && 'metadata' in data) {
    const metadata: Record<string, unknown> = {}
    if (isRecord(data.metadata)) {
      for (const [key, value] of Object.entries(data.metadata)) {
        setOwn(metadata, key === 'createdAt' ? 'createTime' : key === 'lastSignedInAt' ? 'lastSignInTime' : key, value)
      }
    }
    const user: Record<string, unknown> = { ...data, metadata }
    if ('uid' in user) subject = `users/${String(user.uid)}`
    data = user
  } else if (service === FIREBASE_DB) {
    resource = `projects/_/locations/${databaseLocation(event.domain)}/${resource}`
  }
  const cloudEvent: GcpCloudEvent = {
    id: context.eventId,
    time: context.timestamp,
    specversion: '1.0',
    datacontenttype: 'application/json',
    type,
    source: `//${service}/${resource}`,
    data,
  }
  if (subject) cloudEvent.subject = subject
  return cloudEvent
}

function splitResource(context: LegacyContext, eventType: string): { service: string; resource: string; subject: string } {
  let service = ''
  let resource = ''
  let subject = ''
  if (typeof context.resource === 'string') resource = context.resource
  else if (isRecord(context.resource)) {
    resource = typeof context.resource.name === 'string' ? context.resource.name : ''
    service = typeof context.resource.service === 'string' ? context.resource.service : ''
  }
  if (!service) {
    for (const [prefix, name] of SERVICE_BY_PREFIX) if (eventType.startsWith(prefix)) service = name
  }
  if (!service) throw new EventError(`gcp: legacy event type ${eventType} names no service`)
  const pattern = RESOURCE_PATTERNS.get(service)
  if (pattern) {
    const match = pattern.exec(resource)
    if (!match) {
      throw new EventError(
        `gcp: legacy ${eventType} event: resource ${quote(resource)} does not match ${String(pattern)}`,
      )
    }
    resource = match[1] as string
    subject = match[2] as string
  }
  return { service, resource, subject }
}

function databaseLocation(domain: unknown): string {
  if (domain === 'firebaseio.com') return 'us-central1'
  const match = typeof domain === 'string' ? /^([\w-]+)\.firebasedatabase\.app$/.exec(domain) : null
  if (!match) {
    throw new EventError(
      `gcp: legacy Realtime Database event: domain ${quote(domain)} is neither firebaseio.com nor <location>.firebasedatabase.app`,
    )
  }
  return match[1] as string
}

function failData(eventType: string, expected: string): never {
  throw new EventError(`gcp: legacy ${eventType} event: data must be ${expected}`)
}
