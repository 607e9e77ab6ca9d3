import { throwIfFailed, type EventSource, type StorageEvent } from '@polycloud/core/adapter'
import { isEventBridgeEvent, type EventBridgeEvent } from './eventbridge.js'

interface S3Detail {
  bucket?: { name?: string }
  object?: { key?: string; size?: number; etag?: string; 'version-id'?: string; sequencer?: string }
  reason?: string
}

const TYPES: Record<string, StorageEvent['type']> = { 'Object Created': 'created', 'Object Deleted': 'deleted' }

/** S3 events delivered by EventBridge (bucket with EventBridge notifications on): keys are not URL-encoded here. */
export const s3EventBridge: EventSource<EventBridgeEvent, StorageEvent, void> = {
  name: 'aws:s3-eventbridge',
  kind: 'storage',
  canHandle(input): input is EventBridgeEvent {
    return isEventBridgeEvent(input) && input.source === 'aws.s3' && input['detail-type'].startsWith('Object ')
  },
  getEvents(event) {
    const detail = (event.detail ?? {}) as S3Detail
    const bucket = detail.bucket?.name ?? ''
    const object = detail.object ?? {}
    return [
      {
        kind: 'storage',
        id: event.id,
        time: event.time,
        source: event.resources?.[0] ?? `arn:aws:s3:::${bucket}`,
        native: event,
        type: TYPES[event['detail-type']] ?? 'other',
        action: event['detail-type'],
        bucket,
        key: object.key ?? '',
        size: typeof object.size === 'number' ? object.size : undefined,
        etag: object.etag,
        contentType: undefined,
        versionId: object['version-id'],
      },
    ]
  },
  getResult: (_event, failed) => throwIfFailed('aws:s3-eventbridge', failed),
}
