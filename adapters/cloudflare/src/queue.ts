import {
  BatchFailedError,
  EventError,
  PortableQueueMessage,
  failureRef,
  isRecord,
  readCount,
  readEpochTime,
  typeOf,
  translateRecords,
  unwrapMessage,
  withTrace,
  type InvalidRecord,
  type EventSource,
  type NeutralEvent,
  type Payload,
  type QueueMessage,
} from '@polycloud/core/adapter'

export interface QueueRetryOptions {
  delaySeconds?: number
}

/** The members of a Workers Queues `Message` that Polycloud reads (the shape of workers-types' `Message`). */
export interface QueueMessageLike<Body = unknown> {
  readonly id: string
  /** When the message was sent. */
  readonly timestamp: Date
  /** Any structured-clone value: an object (json), a string (text), an ArrayBuffer (bytes), ... (v8). */
  readonly body: Body
  /** Delivery attempt, 1 on the first. */
  readonly attempts: number
  ack(): void
  retry(options?: QueueRetryOptions): void
}

/** The members of a Workers Queues `MessageBatch` that Polycloud reads. */
export interface MessageBatchLike<Body = unknown> {
  /** The queue's name. */
  readonly queue: string
  readonly messages: readonly QueueMessageLike<Body>[]
  ackAll(): void
  retryAll(options?: QueueRetryOptions): void
}

function isMessage(value: unknown): value is QueueMessageLike {
  return isRecord(value) && typeof value.id === 'string' && typeof value.ack === 'function' && 'body' in value
}

/** A queue batch: a queue name and messages with ids, bodies and ack/retry. */
export function isMessageBatch(input: unknown): input is MessageBatchLike {
  if (!isRecord(input) || typeof input.queue !== 'string' || !Array.isArray(input.messages)) return false
  return input.messages.length === 0 || isMessage(input.messages[0])
}

/**
 * The ISO time of a message's `timestamp` (a Date at run time; milliseconds since the epoch are accepted too).
 * Throws an EventError naming the field and what it holds when there is no valid time.
 */
export function messageTime(message: QueueMessageLike): string {
  const time = readEpochTime(message.timestamp, 'timestamp')
  if (time === '') throw new EventError(`timestamp must be a Date, got ${typeOf(message.timestamp)}`)
  return time
}

/**
 * Each message translated on its own: one that cannot be (no id, no valid timestamp or attempt count, a body of
 * the wrong shape) becomes an {@link InvalidRecord}, which fails, and is retried, alone.
 */
export function eachMessage<E extends NeutralEvent>(
  source: string,
  batch: MessageBatchLike,
  translate: (message: QueueMessageLike, batch: MessageBatchLike) => E,
): Array<E | InvalidRecord> {
  return translateRecords<E, QueueMessageLike>(
    batch.messages,
    (message) => {
      if (typeof message.id !== 'string' || message.id === '') throw new EventError(`the message of queue ${batch.queue} has no id`)
      // A number (the runtime's type; no decimal string), 1 or more.
      const attempts: unknown = message.attempts
      if (typeof attempts !== 'number') throw new EventError(`attempts must be an integer of 1 or more, got ${typeOf(attempts)}`)
      readCount(attempts, 'attempts')
      return translate(message, batch)
    },
    { source, list: 'messages', id: (message) => (typeof message.id === 'string' && message.id !== '' ? message.id : undefined) },
  )
}

function isSettleable(message: unknown): message is QueueMessageLike {
  return isRecord(message) && typeof message.retry === 'function' && typeof message.ack === 'function'
}

/**
 * Settles every message of a batch after the run (the `getResult` of the source named `source`): the ones whose
 * events failed are retried (redelivered after the consumer's retry delay, then dead-lettered after max_retries),
 * every other one is acknowledged, so it is not redelivered even when the invocation fails later (a rejected
 * waitUntil). Where the handler already called `ack()` or `retry()` on a message itself (through `event.native`),
 * its call wins: Queues keep the first one. A failed item that is no Message (null) cannot be retried alone: as for
 * a failed record without an id elsewhere, the whole batch is retried and the invocation fails with the reason.
 */
export function settleMessages(source: string): (batch: MessageBatchLike, failed: ReadonlyArray<NeutralEvent | InvalidRecord>) => void {
  return (batch, failed) => {
    const retry = new Set<unknown>()
    for (const item of failed) {
      const ref = failureRef(item)
      if (!isSettleable(ref)) {
        if (typeof batch.retryAll === 'function') batch.retryAll()
        throw new BatchFailedError(source, failed, 'a failed item of the batch is no message to retry alone, so the whole batch is retried')
      }
      retry.add(ref)
    }
    for (const message of batch.messages) {
      if (!isSettleable(message)) continue
      if (retry.has(message)) message.retry()
      else message.ack()
    }
  }
}

/**
 * A message body as a payload. Strings are text; ArrayBuffers and typed arrays are bytes; anything else (the
 * objects, arrays, numbers, booleans and null of the default `json` content type, or v8 values such as a Date or
 * Map) is kept as the value itself: `json()` returns it without a copy and `body` is its JSON text.
 */
export function messagePayload(body: unknown): Payload {
  if (typeof body === 'string') return { text: body }
  if (body instanceof Uint8Array) return { bytes: body }
  if (body instanceof ArrayBuffer) return { bytes: new Uint8Array(body) }
  if (ArrayBuffer.isView(body)) return { bytes: new Uint8Array(body.buffer, body.byteOffset, body.byteLength) }
  return { value: body }
}

function toQueueMessage(message: QueueMessageLike, batch: MessageBatchLike): QueueMessage {
  // Queues have no attributes: Polycloud's envelope carries them (core's envelope.ts).
  const received = unwrapMessage(messagePayload(message.body), undefined)
  return withTrace(new PortableQueueMessage({
    id: message.id,
    time: messageTime(message),
    source: batch.queue,
    native: message,
    payload: received.payload,
    attributes: received.attributes,
    queue: batch.queue,
    attempt: message.attempts,
  }), received.trace)
}

/**
 * A Queues consumer batch: one `queue` message per Message. After the run each message is acknowledged or
 * retried on its own, so only the failed ones come back.
 */
export const queueBatch: EventSource<MessageBatchLike, QueueMessage, void> = {
  name: 'cloudflare:queue',
  kind: 'queue',
  canHandle: isMessageBatch,
  getEvents: (batch) => eachMessage('cloudflare:queue', batch, toQueueMessage),
  getResult: settleMessages('cloudflare:queue'),
}
