import { EventError, isRecord, type EventSource, type StorageEvent } from '@polycloud/core/adapter'
import { isS3Event, s3RecordToEvent, type S3Event } from './s3.js'
import { eachSqsRecord, isFifo, isSqsEvent, sqsResult, type SqsBatchResponse, type SqsEvent } from './sqs.js'

type S3Body = S3Event | { Event: 's3:TestEvent' }

function parseS3Body(body: unknown): S3Body | undefined {
  if (typeof body !== 'string' || !body.includes('s3')) return undefined
  try {
    const parsed: unknown = JSON.parse(body)
    if (isS3Event(parsed)) return parsed
    return isRecord(parsed) && parsed.Event === 's3:TestEvent' ? { Event: 's3:TestEvent' } : undefined
  } catch {
    return undefined
  }
}

/**
 * S3 notifications delivered to an SQS queue: each body is an S3 notification (or the `s3:TestEvent` S3 sends
 * once when the notification is configured, which yields no event and is acknowledged).
 */
export const sqsS3: EventSource<SqsEvent, StorageEvent, SqsBatchResponse> = {
  name: 'aws:sqs-s3',
  kind: 'storage',
  canHandle(input): input is SqsEvent {
    return isSqsEvent(input) && parseS3Body(input.Records[0]?.body) !== undefined
  },
  getEvents: (event) =>
    eachSqsRecord('aws:sqs-s3', event, (record) => {
      const body = parseS3Body(record.body)
      if (!body) throw new EventError(`message ${record.messageId} is not an S3 notification`)
      if (!('Records' in body)) return []
      return body.Records.map((s3Record, index) => s3RecordToEvent(s3Record, record, `body Records[${index}]`))
    }),
  isOrdered: isFifo,
  getResult: (_event, failed) => sqsResult('aws:sqs-s3', failed),
}
