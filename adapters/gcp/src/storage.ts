import { EventError, isRecord, oneEvent, quote, throwIfFailed, type EventSource, type StorageEvent } from '@polycloud/core/adapter'
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

const DIGITS = /^\d+$/

/** A non-negative int64 field as a number: the proto3 JSON string form or a plain number. */
export function int64Field(value: unknown, field: string, id: string): number | undefined {
  if (value === undefined || value === null) return undefined
  const number = typeof value === 'string' && DIGITS.test(value) ? Number(value) : value
  if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < 0) {
    throw new EventError(`gcp:storage: event ${id}: ${field} ${quote(value)} is not a non-negative integer`)
  }
  return number
}

/** The rest of a subject after its prefix (object names may hold slashes, `objects/` included). */
function afterPrefix(subject: string | undefined, prefix: string): string | undefined {
  return subject !== undefined && subject.startsWith(prefix) ? subject.slice(prefix.length) : undefined
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined
}

function toStorageEvent(event: GcpCloudEvent): StorageEvent {
  const data = cloudEventData(event)
  if (data instanceof Uint8Array || !isRecord(data)) {
    throw new EventError(
      `gcp:storage: event ${event.id} has no StorageObjectData (data is ${data instanceof Uint8Array ? 'binary' : typeof data})`,
    )
  }
  const object = data as StorageObjectData
  const bucket = optionalString(object.bucket) ?? optionalString(event.bucket) ?? resourceName(event.source, 'buckets')
  const key = optionalString(object.name) ?? afterPrefix(optionalString(event.subject), 'objects/')
  if (!bucket || key === undefined || key === '') {
    throw new EventError(`gcp:storage: event ${event.id} names no object (data.bucket and data.name, or the subject)`)
  }
  const generation = object.generation
  const action = event.type.slice(STORAGE_EVENT_PREFIX.length)
  return {
    kind: 'storage',
    id: event.id,
    time: typeof event.time === 'string' ? event.time : '',
    source: event.source,
    native: event,
    type: (Object.hasOwn(TYPES, action) ? TYPES[action] : undefined) ?? 'other',
    action: event.type,
    bucket,
    key,
    size: int64Field(object.size, 'size', event.id),
    etag: optionalString(object.etag),
    contentType: optionalString(object.contentType),
    versionId:
      typeof generation === 'string' || typeof generation === 'number' ? String(generation) : undefined,
  }
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
