import {
  EventError,
  InvalidRecord,
  isRecord,
  type EventSource,
  type StorageEvent,
  throwIfFailed,
} from '@polycloud/core/adapter'

export interface S3Record {
  eventSource: 'aws:s3'
  eventTime: string
  eventName: string
  awsRegion?: string
  responseElements?: Record<string, string>
  s3: {
    bucket: { name: string; arn?: string }
    object: { key: string; size?: number; eTag?: string; versionId?: string; sequencer?: string }
  }
  [key: string]: unknown
}

export interface S3Event {
  Records: S3Record[]
}

/** S3 URL-encodes keys in notifications, with `+` for spaces. A malformed escape is kept as sent. */
export function decodeS3Key(key: string): string {
  const plain = key.replace(/\+/g, ' ')
  try {
    return decodeURIComponent(plain)
  } catch {
    return key
  }
}

export function storageType(action: string): StorageEvent['type'] {
  if (action.includes('ObjectCreated:')) return 'created'
  if (action.includes('ObjectRemoved:') || action.startsWith('LifecycleExpiration:')) return 'deleted'
  return 'other'
}

/** One S3 notification record as a storage event; `native` is what a failure report needs. */
export function s3RecordToEvent(record: S3Record, native: unknown): StorageEvent {
  const bucket = record?.s3?.bucket
  const object = record?.s3?.object
  if (!isRecord(bucket) || typeof bucket.name !== 'string' || !isRecord(object) || typeof object.key !== 'string') {
    throw new EventError('aws:s3: record without s3.bucket.name or s3.object.key')
  }
  const action = String(record.eventName)
  return {
    kind: 'storage',
    id: `${bucket.name}/${object.key}@${object.sequencer ?? record.eventTime}`,
    time: record.eventTime ?? '',
    source: bucket.arn ?? `arn:aws:s3:::${bucket.name}`,
    native,
    type: storageType(action),
    action,
    bucket: bucket.name,
    key: decodeS3Key(object.key),
    size: typeof object.size === 'number' ? object.size : undefined,
    etag: object.eTag,
    // S3 notifications do not carry the content type.
    contentType: undefined,
    versionId: object.versionId,
  }
}

export function isS3Event(input: unknown): input is S3Event {
  if (!isRecord(input) || !Array.isArray(input.Records) || input.Records.length === 0) return false
  const first: unknown = input.Records[0]
  return isRecord(first) && first.eventSource === 'aws:s3' && isRecord(first.s3)
}

export const s3: EventSource<S3Event, StorageEvent, void> = {
  name: 'aws:s3',
  kind: 'storage',
  canHandle: isS3Event,
  getEvents: (event) =>
    event.Records.map((record) => {
      try {
        return s3RecordToEvent(record, record)
      } catch (error) {
        return new InvalidRecord('', record, error as Error)
      }
    }),
  getResult(_event, failed) {
    // S3 invokes asynchronously: throwing makes Lambda retry the whole notification.
    throwIfFailed('aws:s3', failed)
  },
}
