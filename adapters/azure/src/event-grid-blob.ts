import { EventError, carrierOf, quote, readId, readObject, readSize, readString, withTrace, type EventSource, type StorageEvent, throwIfFailed } from '@polycloud/core/adapter'
import { bareEtag } from './blob.js'
import {
  eachGridEvent,
  firstGridEvent,
  isCloudEventSchemaEvent,
  type EventGridInput,
  type EventGridPayload,
} from './event-grid.js'
import { isTrigger, isoTime, type AzureInput } from './input.js'

/** `/blobServices/default/containers/<container>/blobs/<blob path>`; CloudEvents samples drop the leading slash. */
const BLOB_SUBJECT = /^\/?blobServices\/default\/containers\/([^/]+)\/blobs\/(.+)$/

const STORAGE_PREFIX = 'Microsoft.Storage.'

interface Fields {
  readonly type: string
  readonly subject: unknown
  readonly time: unknown
  readonly source: unknown
  readonly data: unknown
  /** The names of the time and source members in the event's schema, for error messages. */
  readonly names: { readonly time: string; readonly source: string }
}

const CLOUD_EVENT_NAMES = { time: 'time', source: 'source' } as const
const EVENT_GRID_NAMES = { time: 'eventTime', source: 'topic' } as const

function fields(event: EventGridPayload): Fields {
  if (isCloudEventSchemaEvent(event)) {
    return { type: event.type, subject: event.subject, time: event.time, source: event.source, data: event.data, names: CLOUD_EVENT_NAMES }
  }
  return { type: event.eventType, subject: event.subject, time: event.eventTime, source: event.topic, data: event.data, names: EVENT_GRID_NAMES }
}

function isBlobEvent(event: EventGridPayload | undefined): boolean {
  if (event === undefined) return false
  const { type, subject } = fields(event)
  return type.startsWith(STORAGE_PREFIX) && typeof subject === 'string' && BLOB_SUBJECT.test(subject)
}

/**
 * A Blob Storage event as a storage event. Container and blob name come from the subject, as written (the subject
 * carries the name unencoded; `data.url` is percent-encoded). BlobCreated is `created`, BlobDeleted `deleted`,
 * other blob events (tier changes, renames, directory events) are `other`.
 */
function toStorageEvent(event: EventGridPayload): StorageEvent {
  const { type, subject, time, source, data, names } = fields(event)
  if (!type.startsWith(STORAGE_PREFIX)) {
    throw new EventError(`${type} is not a Blob Storage event`)
  }
  const match = typeof subject === 'string' ? BLOB_SUBJECT.exec(subject) : null
  if (!match) {
    throw new EventError(`subject ${quote(subject)} does not name a blob (/blobServices/default/containers/<container>/blobs/<name>)`)
  }
  const details = readObject(data, 'data')
  // The writer's trace, when the event carries one: a CloudEvent's traceparent extension (Event Grid's blob events
  // carry no blob metadata).
  const carrier = carrierOf(event)
  return withTrace<StorageEvent>({
    kind: 'storage',
    id: readId(event.id, 'id'),
    time: isoTime(time, names.time),
    source: readString(source, names.source) ?? '',
    native: event,
    type: type === 'Microsoft.Storage.BlobCreated' ? 'created' : type === 'Microsoft.Storage.BlobDeleted' ? 'deleted' : 'other',
    action: type,
    bucket: match[1] as string,
    key: match[2] as string,
    size: readSize(details.contentLength, 'data.contentLength'),
    etag: bareEtag(readString(details.eTag, 'data.eTag')),
    contentType: readString(details.contentType, 'data.contentType'),
    versionId: undefined,
  }, carrier)
}

/**
 * Blob Storage events delivered by Event Grid (either schema) for storage handlers. In an array, an event that is
 * not a blob event fails on its own (it is not dropped silently); failures fail the invocation as for
 * `azure:event-grid`.
 */
export const eventGridBlob: EventSource<EventGridInput, StorageEvent, void> = {
  name: 'azure:event-grid-blob',
  kind: 'storage',
  canHandle: (input): input is EventGridInput =>
    isTrigger(input, 'eventgridtrigger', (value: AzureInput) => isBlobEvent(firstGridEvent(value))),
  getEvents: (input) => eachGridEvent('azure:event-grid-blob', input, toStorageEvent),
  // A failed event fails the invocation: Event Grid resends the whole delivery (see event-grid.ts).
  getResult: (_input, failed) => throwIfFailed('azure:event-grid-blob', failed),
}
