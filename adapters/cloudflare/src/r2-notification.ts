import {
  EventError,
  describeShape,
  isRecord,
  readSize,
  readString,
  readTime,
  type EventSource,
  type StorageEvent,
} from '@polycloud/core/adapter'
import {
  eachMessage,
  isMessageBatch,
  messageTime,
  settleMessages,
  type MessageBatchLike,
  type QueueMessageLike,
} from './queue.js'

/**
 * The body of a message R2 sends to a queue when an object changes.
 * https://developers.cloudflare.com/r2/buckets/event-notifications/#message-format
 */
export interface R2EventNotification {
  /** Cloudflare account id. */
  account: string
  /** PutObject, CopyObject, CompleteMultipartUpload, DeleteObject or LifecycleDeletion. */
  action: string
  bucket: string
  /** `size` and `eTag` are absent for deletions. */
  object: { key: string; size?: number; eTag?: string }
  /** ISO 8601. */
  eventTime: string
  /** Only for CopyObject. */
  copySource?: { bucket: string; object: string }
}

/** Recognised by shape: the body has no type field, so account, action, bucket and object.key must be there. */
export function isR2Notification(body: unknown): body is R2EventNotification {
  if (!isRecord(body)) return false
  const { account, action, bucket, object } = body
  return (
    typeof account === 'string' &&
    typeof action === 'string' &&
    typeof bucket === 'string' &&
    isRecord(object) &&
    typeof object.key === 'string'
  )
}

const NAME = 'cloudflare:r2-notification'
const CREATED = new Set(['PutObject', 'CopyObject', 'CompleteMultipartUpload'])
const DELETED = new Set(['DeleteObject', 'LifecycleDeletion'])

/** The neutral type of an R2 action: object-create actions are created, object-delete ones deleted, others other. */
export function r2StorageType(action: string): StorageEvent['type'] {
  if (CREATED.has(action)) return 'created'
  if (DELETED.has(action)) return 'deleted'
  return 'other'
}

function toStorageEvent(message: QueueMessageLike): StorageEvent {
  const body: unknown = message.body
  if (!isR2Notification(body)) {
    const shape = describeShape(body)
    throw new EventError(`message ${message.id} is not an R2 event notification; its body is ${shape}`)
  }
  const { object } = body
  return {
    kind: 'storage',
    // The message id: unique per notification, and kept when the message is redelivered.
    id: message.id,
    time: readTime(body.eventTime, 'body.eventTime') || messageTime(message),
    source: body.bucket,
    native: message,
    type: r2StorageType(body.action),
    action: body.action,
    bucket: body.bucket,
    // As sent: the docs define object.key as the key and document no URL-encoding (S3 notifications encode keys).
    key: object.key,
    size: readSize(object.size, 'body.object.size'),
    etag: readString(object.eTag, 'body.object.eTag'),
    // Notifications do not carry the content type or a version.
    contentType: undefined,
    versionId: undefined,
  }
}

/**
 * R2 event notifications delivered to a Queues consumer: one `storage` event per message. Each message is
 * acknowledged or retried on its own after the run; a message whose body is not a notification fails alone.
 */
export const r2Notification: EventSource<MessageBatchLike, StorageEvent, void> = {
  name: NAME,
  kind: 'storage',
  canHandle(input): input is MessageBatchLike {
    return isMessageBatch(input) && input.messages.length > 0 && isR2Notification(input.messages[0]?.body)
  },
  getEvents: (batch) => eachMessage(NAME, batch, toStorageEvent),
  getResult: settleMessages(NAME),
}
