import {
  PortableQueueMessage,
  readCount,
  translateRecords,
  unwrapMessage,
  withTrace,
  type EventSource,
  type QueueMessage,
  throwIfFailed,
} from '@polycloud/core/adapter'
import { anyPayload, idString, isTrigger, isoTime, metadata, metadataId, triggerOption, type AzureInput } from './input.js'
import { messagePayload } from './message.js'

/**
 * A Storage queue trigger invocation: the message as the library hands it over (the host base64-decodes it, then
 * JSON text becomes the parsed value and binary a Buffer) and its metadata (`id`, `dequeueCount`, `popReceipt`,
 * `insertionTime`, `expirationTime`, `nextVisibleTime`, `queueTrigger`).
 */
export type StorageQueueInput = AzureInput<unknown>

function hasQueueMetadata(input: AzureInput): boolean {
  const meta = metadata(input)
  return typeof meta.dequeueCount === 'number' && typeof meta.popReceipt === 'string'
}

function toMessage(input: StorageQueueInput): QueueMessage {
  const meta = metadata(input)
  const queue = triggerOption(input, 'queueName') ?? ''
  // Storage queues have no attributes: Polycloud's envelope carries them (see core's envelope.ts).
  const received = unwrapMessage(messagePayload(input.input), undefined)
  return withTrace(new PortableQueueMessage({
    id: metadataId(meta.id, 'triggerMetadata.id'),
    time: isoTime(meta.insertionTime, 'triggerMetadata.insertionTime'),
    source: queue,
    native: input,
    payload: received.payload,
    attributes: received.attributes,
    queue,
    attempt: readCount(meta.dequeueCount, 'triggerMetadata.dequeueCount') ?? 1,
  }), received.trace)
}

/**
 * Azure Storage queue messages, one per invocation. A throw fails the invocation: the message becomes visible
 * again and is retried until `maxDequeueCount` (host.json, default 5), then moved to `<queue>-poison`.
 */
export const storageQueue: EventSource<StorageQueueInput, QueueMessage, void> = {
  name: 'azure:storage-queue',
  kind: 'queue',
  canHandle: (input): input is StorageQueueInput => isTrigger(input, 'queuetrigger', hasQueueMetadata, anyPayload),
  getEvents: (input) =>
    translateRecords<QueueMessage, StorageQueueInput>([input], toMessage, {
      source: 'azure:storage-queue',
      id: (native) => idString(metadata(native).id),
    }),
  getResult: (_input, failed) => throwIfFailed('azure:storage-queue', failed),
}
