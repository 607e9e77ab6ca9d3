import { EventError, isRecord, oneEvent, readId, readSize, readString, readTime, throwIfFailed, type EventSource, type StorageEvent } from '@polycloud/core/adapter'
import { isEventBridgeEvent, resourcesOf, type EventBridgeEvent } from './eventbridge.js'

const TYPES: Record<string, StorageEvent['type']> = { 'Object Created': 'created', 'Object Deleted': 'deleted' }

function toStorageEvent(event: EventBridgeEvent): StorageEvent {
  const detail: unknown = event.detail
  const bucket = isRecord(detail) && isRecord(detail.bucket) ? detail.bucket.name : undefined
  const object = isRecord(detail) && isRecord(detail.object) ? detail.object : undefined
  if (typeof bucket !== 'string' || object === undefined || typeof object.key !== 'string') {
    throw new EventError('detail has no bucket.name or object.key string')
  }
  return {
    kind: 'storage',
    id: readId(event.id, 'id'),
    time: readTime(event.time, 'time'),
    source: resourcesOf(event)[0] ?? `arn:aws:s3:::${bucket}`,
    native: event,
    type: (Object.hasOwn(TYPES, event['detail-type']) ? TYPES[event['detail-type']] : undefined) ?? 'other',
    action: event['detail-type'],
    bucket,
    key: object.key,
    size: readSize(object.size, 'detail.object.size'),
    etag: readString(object.etag, 'detail.object.etag'),
    contentType: undefined,
    versionId: readString(object['version-id'], 'detail.object.version-id'),
  }
}

/** S3 events delivered by EventBridge (bucket with EventBridge notifications on): keys are not URL-encoded here. */
export const s3EventBridge: EventSource<EventBridgeEvent, StorageEvent, void> = {
  name: 'aws:s3-eventbridge',
  kind: 'storage',
  canHandle(input): input is EventBridgeEvent {
    return isEventBridgeEvent(input) && input.source === 'aws.s3' && input['detail-type'].startsWith('Object ')
  },
  getEvents: (event) => oneEvent('aws:s3-eventbridge', event, toStorageEvent),
  getResult: (_event, failed) => throwIfFailed('aws:s3-eventbridge', failed),
}
