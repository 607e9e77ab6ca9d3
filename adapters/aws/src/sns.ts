import {
  EventError,
  InvalidRecord,
  PortableTopicMessage,
  isRecord,
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

/** A notification as a neutral topic message; `native` is what the failure report needs (SNS or SQS record). */
export function notificationToMessage(notification: SnsNotification, native: unknown): TopicMessage {
  if (!isRecord(notification) || typeof notification.MessageId !== 'string' || typeof notification.Message !== 'string') {
    throw new EventError('aws:sns: notification without MessageId or Message')
  }
  const attributes: Record<string, string> = {}
  const given = notification.MessageAttributes
  if (isRecord(given)) {
    for (const name in given) {
      const value = given[name]?.Value
      if (typeof value === 'string') attributes[name] = value
    }
  }
  return new PortableTopicMessage({
    id: notification.MessageId,
    time: notification.Timestamp ?? '',
    source: notification.TopicArn ?? '',
    native,
    payload: { text: notification.Message },
    attributes,
    topic: arnName(notification.TopicArn ?? ''),
    subject: notification.Subject ?? undefined,
  })
}

export const sns: EventSource<SnsEvent, TopicMessage, void> = {
  name: 'aws:sns',
  kind: 'topic',
  canHandle(input): input is SnsEvent {
    if (!isRecord(input) || !Array.isArray(input.Records) || input.Records.length === 0) return false
    const first: unknown = input.Records[0]
    return isRecord(first) && first.EventSource === 'aws:sns' && isRecord(first.Sns)
  },
  getEvents(event) {
    return event.Records.map((record) => {
      try {
        return notificationToMessage(record.Sns, record)
      } catch (error) {
        return new InvalidRecord(String(record?.Sns?.MessageId ?? ''), record, error as Error)
      }
    })
  },
  getResult(_event, failed) {
    // SNS invokes asynchronously: a thrown error makes Lambda retry the delivery (twice), then dead-letter it.
    throwIfFailed('aws:sns', failed)
  },
}
