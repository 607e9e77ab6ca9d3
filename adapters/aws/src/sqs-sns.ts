import { EventError, isRecord, type EventSource, type TopicMessage } from '@polycloud/core/adapter'
import { notificationToMessage, type SnsNotification } from './sns.js'
import { eachSqsRecord, isFifo, isSqsEvent, messageTrace, sqsResult, type SqsBatchResponse, type SqsEvent } from './sqs.js'

function parseNotification(body: unknown): SnsNotification | undefined {
  if (typeof body !== 'string' || !body.includes('"TopicArn"')) return undefined
  try {
    const parsed: unknown = JSON.parse(body)
    return isRecord(parsed) && parsed.Type === 'Notification' ? (parsed as SnsNotification) : undefined
  } catch {
    return undefined
  }
}

/**
 * SNS notifications fanned out to an SQS queue (raw message delivery off): each SQS body is the SNS envelope.
 * A topic handler gets the topic message; failures are reported per SQS message.
 */
export const sqsSns: EventSource<SqsEvent, TopicMessage, SqsBatchResponse> = {
  name: 'aws:sqs-sns',
  kind: 'topic',
  canHandle(input): input is SqsEvent {
    return isSqsEvent(input) && parseNotification(input.Records[0]?.body) !== undefined
  },
  getEvents: (event) =>
    eachSqsRecord('aws:sqs-sns', event, (record) => {
      const notification = parseNotification(record.body)
      if (!notification) throw new EventError(`message ${record.messageId} is not an SNS notification`)
      return notificationToMessage(notification, record, 'body.', messageTrace(undefined, isRecord(record.attributes) ? record.attributes : {}))
    }),
  isOrdered: isFifo,
  getResult: (_event, failed) => sqsResult('aws:sqs-sns', failed),
}
