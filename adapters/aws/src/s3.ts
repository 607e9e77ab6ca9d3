import {
  EventError,
  isRecord,
  readSize,
  readString,
  readTime,
  translateRecords,
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

/**
 * One S3 notification record as a storage event; `native` is the record it came in (S3 or SQS), `where` names the
 * record in it for error messages (an S3 record is named by its place in the batch already).
 */
export function s3RecordToEvent(record: S3Record, native: unknown, where?: string): StorageEvent {
  const at = where === undefined ? '' : `${where}.`
  if (!isRecord(record)) throw new EventError(`${where ?? 'the record'} is not an object`)
  const s3: unknown = record.s3
  const bucket = isRecord(s3) ? s3.bucket : undefined
  const object = isRecord(s3) ? s3.object : undefined
  if (!isRecord(bucket) || typeof bucket.name !== 'string' || !isRecord(object) || typeof object.key !== 'string') {
    throw new EventError(`${where ?? 'the record'} has no s3.bucket.name or s3.object.key string`)
  }
  if (typeof record.eventName !== 'string') throw new EventError(`${where ?? 'the record'} has no eventName string`)
  const action = record.eventName
  const time = readTime(record.eventTime, `${at}eventTime`)
  return {
    kind: 'storage',
    id: `${bucket.name}/${object.key}@${readString(object.sequencer, `${at}s3.object.sequencer`) ?? time}`,
    time,
    source: readString(bucket.arn, `${at}s3.bucket.arn`) ?? `arn:aws:s3:::${bucket.name}`,
    native,
    type: storageType(action),
    action,
    bucket: bucket.name,
    key: decodeS3Key(object.key),
    size: readSize(object.size, `${at}s3.object.size`),
    etag: readString(object.eTag, `${at}s3.object.eTag`),
    // S3 notifications do not carry the content type.
    contentType: undefined,
    versionId: readString(object.versionId, `${at}s3.object.versionId`),
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
    translateRecords<StorageEvent, S3Record>(event.Records, (record) => s3RecordToEvent(record, record), { source: 'aws:s3', list: 'Records' }),
  getResult(_event, failed) {
    // S3 invokes asynchronously: throwing makes Lambda retry the whole notification.
    throwIfFailed('aws:s3', failed)
  },
}
