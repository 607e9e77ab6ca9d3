import {
  BatchFailedError,
  EventError,
  PortableQueueMessage,
  UNNAMED,
  failureRef,
  isRecord,
  readCount,
  readEpochTime,
  readObject,
  readString,
  readStrings,
  translateRecords,
  unwrapMessage,
  withTrace,
  type TraceCarrier,
  type EventSource,
  type InvalidRecord,
  type NeutralEvent,
  type QueueMessage,
} from '@polycloud/core/adapter'
import { arnName } from './http.js'

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

/** An attribute's value: its `stringValue` (String and Number types), else its `binaryValue` (base64). */
function attributeValue(attribute: unknown): unknown {
  return isRecord(attribute) ? (attribute.stringValue ?? attribute.binaryValue) : undefined
}

/** Message attributes as strings (binary values stay base64); every name an own key. */
export function sqsAttributes(record: SqsRecord): Readonly<Record<string, string>> {
  return readStrings(record.messageAttributes, 'messageAttributes', attributeValue)
}

/** A FIFO queue's batch must stop at the first failure, or later messages of a group would overtake it. */
export function isFifo(event: SqsEvent): boolean {
  const first: unknown = event.Records[0]
  return isRecord(first) && typeof first.eventSourceARN === 'string' && first.eventSourceARN.endsWith('.fifo')
}

function messageId(record: Readonly<Record<string, unknown>>): string | undefined {
  return typeof record.messageId === 'string' && record.messageId !== '' ? record.messageId : undefined
}

/**
 * Reports failures by SQS message id, whatever neutral event they were translated to (each event's failure
 * reference is its SQS record). A failed message without a message id cannot be named to Lambda, and neither can an
 * item that is not a message at all (null): the whole batch fails then, with the reason, so nothing is deleted and
 * lost.
 */
export function sqsResult(source: string, failed: ReadonlyArray<NeutralEvent | InvalidRecord>): SqsBatchResponse {
  const ids = new Set<string>()
  for (const item of failed) {
    const id = failureRef(item)
    if (id === UNNAMED) throw new BatchFailedError(source, failed, 'a failed message has no messageId, so the whole batch is retried')
    if (typeof id === 'string') ids.add(id)
  }
  return { batchItemFailures: [...ids].map((itemIdentifier) => ({ itemIdentifier })) }
}

/** Each record, translated on its own: a malformed one becomes an {@link InvalidRecord} (a failed message). */
export function eachSqsRecord<E extends NeutralEvent>(
  source: string,
  event: SqsEvent,
  translate: (record: SqsRecord) => E | readonly E[],
): Array<E | InvalidRecord> {
  return translateRecords<E, SqsRecord>(
    event.Records,
    (record) => {
      if (messageId(record) === undefined) throw new EventError('the record has no messageId')
      if (typeof record.eventSourceARN !== 'string') throw new EventError('eventSourceARN is not a string')
      return translate(record)
    },
    // A failure is reported by the message id read at translation (a handler changing event.native cannot move it).
    { source, list: 'Records', id: messageId, ref: (record) => (isRecord(record) ? messageId(record) : undefined) ?? UNNAMED },
  )
}

function toMessage(record: SqsRecord): QueueMessage {
  if (typeof record.body !== 'string') throw new EventError(`message ${record.messageId} has no body`)
  const attributes = readObject(record.attributes, 'attributes')
  // A body Polycloud sent base64 (bytes SQS cannot carry) is marked by an attribute: see core's envelope.ts.
  const received = unwrapMessage({ text: record.body }, sqsAttributes(record))
  return withTrace(new PortableQueueMessage({
    id: record.messageId,
    time: readEpochTime(attributes.SentTimestamp, 'attributes.SentTimestamp'),
    source: record.eventSourceARN,
    native: record,
    payload: received.payload,
    attributes: received.attributes,
    queue: arnName(record.eventSourceARN),
    attempt: readCount(attributes.ApproximateReceiveCount, 'attributes.ApproximateReceiveCount') ?? 1,
    groupId: readString(attributes.MessageGroupId, 'attributes.MessageGroupId'),
  }), messageTrace(received.trace, attributes))
}

/**
 * The trace an SQS message carries: its `traceparent` message attribute (what Polycloud and OpenTelemetry send), else
 * the `AWSTraceHeader` system attribute (X-Ray's, set by the sender or by SNS with active tracing).
 */
export function messageTrace(carrier: TraceCarrier | undefined, attributes: Readonly<Record<string, unknown>>): TraceCarrier | undefined {
  const xray = attributes.AWSTraceHeader
  if (typeof xray !== 'string') return carrier
  return carrier === undefined ? { xray } : { ...carrier, xray }
}

export const sqs: EventSource<SqsEvent, QueueMessage, SqsBatchResponse> = {
  name: 'aws:sqs',
  kind: 'queue',
  canHandle: isSqsEvent,
  getEvents: (event) => eachSqsRecord('aws:sqs', event, toMessage),
  isOrdered: isFifo,
  getResult: (_event, failed) => sqsResult('aws:sqs', failed),
}
