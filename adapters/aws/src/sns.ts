import {
  EventError,
  PortableTopicMessage,
  isRecord,
  readString,
  readStrings,
  readTime,
  translateRecords,
  unwrapMessage,
  withTrace,
  type TraceCarrier,
  type EventSource,
  type TopicMessage,
  throwIfFailed,
} from '@polycloud/core/adapter'
import { arnName } from './http.js'

/** An SNS notification: the `Sns` object of a Lambda record, or the JSON body SNS puts on an SQS queue. */
export interface SnsNotification {
  Type?: string
  MessageId: string
  TopicArn: string
  Subject?: string | null
  Message: string
  Timestamp: string
  MessageAttributes?: Record<string, { Type: string; Value: string }>
  [key: string]: unknown
}

export interface SnsRecord {
  EventSource: 'aws:sns'
  EventSubscriptionArn?: string
  Sns: SnsNotification
  [key: string]: unknown
}

export interface SnsEvent {
  Records: SnsRecord[]
}

/** An attribute's `Value` (a string; base64 for the Binary type). */
function attributeValue(attribute: unknown): unknown {
  return isRecord(attribute) ? attribute.Value : undefined
}

/**
 * A notification as a neutral topic message; `native` is the record it came in (SNS or SQS), `at` where the
 * notification is in it, for error messages (`Sns.`, or `body.` for a notification in an SQS message).
 */
export function notificationToMessage(notification: SnsNotification, native: unknown, at = 'Sns.', carrier?: TraceCarrier): TopicMessage {
  if (!isRecord(notification)) throw new EventError('the notification is not an object')
  if (typeof notification.MessageId !== 'string' || notification.MessageId === '') throw new EventError('the notification has no MessageId')
  if (typeof notification.Message !== 'string') throw new EventError(`notification ${notification.MessageId} has no Message string`)
  const topicArn = readString(notification.TopicArn, `${at}TopicArn`) ?? ''
  // A body Polycloud sent base64 (bytes SNS cannot carry) is marked by an attribute: see core's envelope.ts.
  const received = unwrapMessage({ text: notification.Message }, readStrings(notification.MessageAttributes, `${at}MessageAttributes`, attributeValue))
  // The notification's traceparent attribute, else what the delivery carries (an SQS message's AWSTraceHeader).
  const trace = received.trace ?? carrier
  return withTrace(new PortableTopicMessage({
    id: notification.MessageId,
    time: readTime(notification.Timestamp, `${at}Timestamp`),
    source: topicArn,
    native,
    payload: received.payload,
    attributes: received.attributes,
    topic: arnName(topicArn),
    subject: readString(notification.Subject, `${at}Subject`),
  }), trace)
}

function snsMessageId(record: Readonly<Record<string, unknown>>): string | undefined {
  const sns = record.Sns
  return isRecord(sns) && typeof sns.MessageId === 'string' ? sns.MessageId : undefined
}

export const sns: EventSource<SnsEvent, TopicMessage, void> = {
  name: 'aws:sns',
  kind: 'topic',
  canHandle(input): input is SnsEvent {
    if (!isRecord(input) || !Array.isArray(input.Records) || input.Records.length === 0) return false
    const first: unknown = input.Records[0]
    return isRecord(first) && first.EventSource === 'aws:sns' && isRecord(first.Sns)
  },
  getEvents: (event) =>
    translateRecords<TopicMessage, SnsRecord>(event.Records, (record) => notificationToMessage(record.Sns, record), {
      source: 'aws:sns',
      list: 'Records',
      id: snsMessageId,
    }),
  getResult(_event, failed) {
    // SNS invokes asynchronously: a thrown error makes Lambda retry the delivery (twice), then dead-letter it.
    throwIfFailed('aws:sns', failed)
  },
}
