import {
  EventError,
  translateRecords,
  base64ToBytes,
  isBase64,
  isRecord,
  readString,
  utf8Decode,
  type ChangeEvent,
  type EventSource,
} from '@polycloud/core/adapter'
import { recordToChange, sequenceRef, streamResult, type DynamoDbStreamRecord, type StreamBatchResponse } from './dynamodb-streams.js'

export interface KinesisRecord {
  kinesis: { data: string; sequenceNumber: string; partitionKey?: string; [key: string]: unknown }
  eventSource: 'aws:kinesis'
  eventSourceARN: string
  eventID?: string
  [key: string]: unknown
}

export interface KinesisEvent {
  Records: KinesisRecord[]
}

function decode(record: KinesisRecord): DynamoDbStreamRecord | undefined {
  const kinesis: unknown = record.kinesis
  const data = isRecord(kinesis) ? kinesis.data : undefined
  if (typeof data !== 'string' || !isBase64(data)) return undefined
  try {
    const parsed: unknown = JSON.parse(utf8Decode(base64ToBytes(data)))
    return isRecord(parsed) && parsed.eventSource === 'aws:dynamodb' ? (parsed as DynamoDbStreamRecord) : undefined
  } catch {
    return undefined
  }
}

function sequenceNumber(record: unknown): string | undefined {
  const kinesis = isRecord(record) ? record.kinesis : undefined
  const sequence = isRecord(kinesis) ? kinesis.sequenceNumber : undefined
  return typeof sequence === 'string' && sequence !== '' ? sequence : undefined
}

/**
 * Kinesis Data Streams for DynamoDB: each Kinesis record's data is a DynamoDB change record in JSON. Changes
 * run in order; failures are reported by Kinesis sequence number.
 */
export const dynamodbKinesis: EventSource<KinesisEvent, ChangeEvent, StreamBatchResponse> = {
  name: 'aws:dynamodb-kinesis',
  kind: 'changes',
  canHandle(input): input is KinesisEvent {
    if (!isRecord(input) || !Array.isArray(input.Records) || input.Records.length === 0) return false
    const first: unknown = input.Records[0]
    return isRecord(first) && first.eventSource === 'aws:kinesis' && decode(first as KinesisRecord) !== undefined
  },
  getEvents: (event) =>
    translateRecords<ChangeEvent, KinesisRecord>(
      event.Records,
      (record) => {
        const change = decode(record)
        if (!change) throw new EventError('kinesis.data is not a DynamoDB change record in base64 JSON')
        return recordToChange(change, readString(record.eventSourceARN, 'eventSourceARN') ?? '', record)
      },
      { source: 'aws:dynamodb-kinesis', list: 'Records', id: sequenceNumber, ref: sequenceRef(sequenceNumber) },
    ),
  isOrdered: () => true,
  getResult: (_event, failed) => streamResult('aws:dynamodb-kinesis', failed),
}
