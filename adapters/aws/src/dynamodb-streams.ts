import {
  EventError,
  InvalidRecord,
  isRecord,
  type ChangeEvent,
  type EventSource,
  type NeutralEvent,
} from '@polycloud/core/adapter'
import { unmarshall } from './dynamodb-json.js'

/** A DynamoDB stream record, as Lambda delivers it (and as Kinesis Data Streams for DynamoDB carries it). */
export interface DynamoDbStreamRecord {
  eventID: string
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE'
  eventSource: 'aws:dynamodb'
  eventSourceARN?: string
  tableName?: string
  dynamodb: {
    ApproximateCreationDateTime?: number
    Keys?: Record<string, unknown>
    NewImage?: Record<string, unknown>
    OldImage?: Record<string, unknown>
    SequenceNumber?: string
    [key: string]: unknown
  }
  [key: string]: unknown
}

export interface DynamoDbStreamEvent {
  Records: DynamoDbStreamRecord[]
  [key: string]: unknown
}

export interface StreamBatchResponse {
  batchItemFailures: Array<{ itemIdentifier: string }>
}

const TYPES: Record<string, ChangeEvent['type']> = { INSERT: 'insert', MODIFY: 'modify', REMOVE: 'remove' }

/** `arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>` -> `<name>`; otherwise the ARN as given. */
export function tableFromArn(arn: string): string {
  const match = /:table\/([^/]+)/.exec(arn)
  return match ? (match[1] as string) : arn
}

/**
 * One stream record as a change. `ApproximateCreationDateTime` is in seconds on DynamoDB Streams and in
 * milliseconds on Kinesis Data Streams for DynamoDB; both are read.
 */
export function recordToChange(record: DynamoDbStreamRecord, source: string, native: unknown): ChangeEvent {
  if (!isRecord(record) || !isRecord(record.dynamodb)) throw new EventError('aws:dynamodb: record without a dynamodb field')
  const type = TYPES[record.eventName]
  if (type === undefined) throw new EventError(`aws:dynamodb: unknown eventName ${JSON.stringify(record.eventName)}`)
  const data = record.dynamodb
  const created = data.ApproximateCreationDateTime
  let time = ''
  if (typeof created === 'number' && Number.isFinite(created)) {
    time = new Date(created > 1e11 ? created : created * 1000).toISOString()
  }
  return {
    kind: 'changes',
    id: String(record.eventID),
    time,
    source,
    native,
    type,
    table: record.tableName ?? tableFromArn(source),
    keys: unmarshall(data.Keys ?? {}),
    newImage: data.NewImage ? unmarshall(data.NewImage) : undefined,
    oldImage: data.OldImage ? unmarshall(data.OldImage) : undefined,
  }
}

/** Failures are reported by sequence number; Lambda resumes the shard from the lowest one. */
export function streamResult(
  failed: ReadonlyArray<NeutralEvent | InvalidRecord>,
  sequenceOf: (native: unknown) => string | undefined,
): StreamBatchResponse {
  const batchItemFailures: Array<{ itemIdentifier: string }> = []
  for (const item of failed) {
    const itemIdentifier = sequenceOf(item.native)
    if (itemIdentifier !== undefined) batchItemFailures.push({ itemIdentifier })
  }
  return { batchItemFailures }
}

function sequenceNumber(native: unknown): string | undefined {
  return (native as DynamoDbStreamRecord).dynamodb?.SequenceNumber
}

/**
 * DynamoDB Streams. Changes run in order and stop at the first failure. The tumbling-window fields (`window`,
 * `state`) are not modelled: they stay on the native event, and no state is returned.
 */
export const dynamodbStreams: EventSource<DynamoDbStreamEvent, ChangeEvent, StreamBatchResponse> = {
  name: 'aws:dynamodb-streams',
  kind: 'changes',
  canHandle(input): input is DynamoDbStreamEvent {
    if (!isRecord(input) || !Array.isArray(input.Records) || input.Records.length === 0) return false
    const first: unknown = input.Records[0]
    return isRecord(first) && first.eventSource === 'aws:dynamodb' && isRecord(first.dynamodb)
  },
  getEvents: (event) =>
    event.Records.map((record) => {
      try {
        return recordToChange(record, record.eventSourceARN ?? '', record)
      } catch (error) {
        return new InvalidRecord(sequenceNumber(record) ?? '', record, error as Error)
      }
    }),
  isOrdered: () => true,
  getResult: (_event, failed) => streamResult(failed, sequenceNumber),
}
