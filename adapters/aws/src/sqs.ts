import {
  EventError,
  InvalidRecord,
  PortableQueueMessage,
  isRecord,
  type EventSource,
  type NeutralEvent,
  type QueueMessage,
} from '@polycloud/core/adapter'
import { arnName, isoFromMillis } from './http.js'

export interface SqsMessageAttribute {
  stringValue?: string
  binaryValue?: string
  dataType: string
  [key: string]: unknown
}

export interface SqsRecord {
  messageId: string
  receiptHandle?: string
  body: string
  attributes?: Record<string, string | undefined>
  messageAttributes?: Record<string, SqsMessageAttribute>
  eventSource: 'aws:sqs'
  eventSourceARN: string
  [key: string]: unknown
}

export interface SqsEvent {
  Records: SqsRecord[]
}

/** Partial batch response: Lambda deletes every message but these (needs ReportBatchItemFailures). */
export interface SqsBatchResponse {
  batchItemFailures: Array<{ itemIdentifier: string }>
}

export function isSqsEvent(input: unknown): input is SqsEvent {
  if (!isRecord(input) || !Array.isArray(input.Records) || input.Records.length === 0) return false
  const first: unknown = input.Records[0]
  return isRecord(first) && first.eventSource === 'aws:sqs'
}

/** Message attributes as strings; binary values stay base64. */
export function sqsAttributes(record: SqsRecord): Record<string, string> {
  const out: Record<string, string> = {}
  const attributes = record.messageAttributes
  if (!attributes) return out
  for (const name in attributes) {
    const attribute = attributes[name]
    const value = attribute?.stringValue ?? attribute?.binaryValue
    if (typeof value === 'string') out[name] = value
  }
  return out
}

/** A FIFO queue's batch must stop at the first failure, or later messages of a group would overtake it. */
export function isFifo(event: SqsEvent): boolean {
  return event.Records[0]?.eventSourceARN?.endsWith('.fifo') ?? false
}

/** Reports failures by SQS message id, whatever neutral event they were translated to. */
export function sqsResult(failed: ReadonlyArray<NeutralEvent | InvalidRecord>): SqsBatchResponse {
  const ids = new Set<string>()
  for (const item of failed) ids.add((item.native as SqsRecord).messageId)
  return { batchItemFailures: [...ids].map((itemIdentifier) => ({ itemIdentifier })) }
}

/** Each record, translated on its own: a malformed one becomes an {@link InvalidRecord} (a failed message). */
export function eachSqsRecord<E>(
  event: SqsEvent,
  translate: (record: SqsRecord) => E | E[],
): Array<E | InvalidRecord> {
  const out: Array<E | InvalidRecord> = []
  for (const record of event.Records) {
    try {
      if (!isRecord(record) || typeof record.messageId !== 'string') {
        throw new EventError('aws:sqs: record without a messageId')
      }
      const translated = translate(record)
      if (Array.isArray(translated)) out.push(...translated)
      else out.push(translated)
    } catch (error) {
      const id = isRecord(record) && typeof record.messageId === 'string' ? record.messageId : ''
      out.push(new InvalidRecord(id, record, error as Error))
    }
  }
  return out
}

function toMessage(record: SqsRecord): QueueMessage {
  if (typeof record.body !== 'string') throw new EventError(`aws:sqs: message ${record.messageId} has no body`)
  const attributes = record.attributes ?? {}
  const attempt = Number(attributes.ApproximateReceiveCount)
  return new PortableQueueMessage({
    id: record.messageId,
    time: isoFromMillis(attributes.SentTimestamp),
    source: record.eventSourceARN,
    native: record,
    payload: { text: record.body },
    attributes: sqsAttributes(record),
    queue: arnName(record.eventSourceARN ?? ''),
    attempt: Number.isInteger(attempt) && attempt > 0 ? attempt : 1,
    groupId: attributes.MessageGroupId,
  })
}

export const sqs: EventSource<SqsEvent, QueueMessage, SqsBatchResponse> = {
  name: 'aws:sqs',
  kind: 'queue',
  canHandle: isSqsEvent,
  getEvents: (event) => eachSqsRecord(event, toMessage),
  isOrdered: isFifo,
  getResult: (_event, failed) => sqsResult(failed),
}
