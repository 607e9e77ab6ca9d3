import { EventError, carrierOf, isRecord, oneEvent, readSize, readString, readTime, throwIfFailed, withTrace, type EventSource, type StorageEvent } from '@polycloud/core/adapter'
import {
  cloudEventData,
  isCloudEventOfType,
  resourceName,
  type GcpCloudEvent,
} from './cloud-event.js'

export const STORAGE_EVENT_PREFIX = 'google.cloud.storage.object.v1.'

/** StorageObjectData in JSON form: int64 fields are strings in real events, numbers in some examples. */
export interface StorageObjectData {
  bucket?: string
  name?: string
  size?: string | number
  generation?: string | number
  metageneration?: string | number
  etag?: string
  contentType?: string
  [key: string]: unknown
}

const TYPES: Readonly<Record<string, StorageEvent['type']>> = {
  finalized: 'created',
  deleted: 'deleted',
  archived: 'other',
  metadataUpdated: 'other',
}

/** The rest of a subject after its prefix (object names may hold slashes, `objects/` included). */
function afterPrefix(subject: string | undefined, prefix: string): string | undefined {
  return subject !== undefined && subject.startsWith(prefix) ? subject.slice(prefix.length) : undefined
}

function toStorageEvent(event: GcpCloudEvent): StorageEvent {
  const data = cloudEventData(event)
  if (data instanceof Uint8Array || !isRecord(data)) {
    throw new EventError(
      `gcp:storage: event ${event.id} has no StorageObjectData (data is ${data instanceof Uint8Array ? 'binary' : typeof data})`,
    )
  }
  const object = data as StorageObjectData
  const bucket = readString(object.bucket, 'data.bucket') ?? readString(event.bucket, 'bucket') ?? resourceName(event.source, 'buckets')
  const key = readString(object.name, 'data.name') ?? afterPrefix(readString(event.subject, 'subject'), 'objects/')
  if (!bucket || key === undefined || key === '') {
    throw new EventError(`gcp:storage: event ${event.id} names no object (data.bucket and data.name, or the subject)`)
  }
  const generation = object.generation
  const action = event.type.slice(STORAGE_EVENT_PREFIX.length)
  // The object's custom metadata: an object written through @polycloud/resources carries its writer's traceparent.
  return withTrace<StorageEvent>({
    kind: 'storage',
    id: event.id,
    time: readTime(event.time, 'time'),
    source: event.source,
    native: event,
    type: (Object.hasOwn(TYPES, action) ? TYPES[action] : undefined) ?? 'other',
    action: event.type,
    bucket,
    key,
    size: readSize(object.size, 'data.size'),
    etag: readString(object.etag, 'data.etag'),
    contentType: readString(object.contentType, 'data.contentType'),
    // int64: a decimal string in real events, a number in some examples.
    versionId: typeof generation === 'number' ? String(readSize(generation, 'data.generation')) : readString(generation, 'data.generation'),
  }, carrierOf(object.metadata))
}

/**
 * A Cloud Storage object event (`google.cloud.storage.object.v1.finalized|deleted|archived|metadataUpdated`).
 * `finalized` is a created (or overwritten) object, `deleted` a deleted one (or a non-current version removed),
 * `archived` and `metadataUpdated` are `other`. The version id is the object's generation.
 */
export const gcpStorage: EventSource<GcpCloudEvent, StorageEvent, void> = {
  name: 'gcp:storage',
  kind: 'storage',
  canHandle: (input): input is GcpCloudEvent => isCloudEventOfType(input, STORAGE_EVENT_PREFIX),
  getEvents: (event) => oneEvent('gcp:storage', event, toStorageEvent),
  getResult: (_event, failed) => throwIfFailed('gcp:storage', failed),
}
