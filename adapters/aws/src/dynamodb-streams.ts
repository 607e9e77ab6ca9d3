import {
  BatchFailedError,
  EventError,
  UNNAMED,
  failureRef,
  isRecord,
  quote,
  readEpochTime,
  readId,
  readString,
  translateRecords,
  type ChangeEvent,
  type EventSource,
  type InvalidRecord,
  type JsonObject,
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
  if (!isRecord(record) || !isRecord(record.dynamodb)) throw new EventError('the record has no dynamodb object')
  const type = typeof record.eventName === 'string' && Object.hasOwn(TYPES, record.eventName) ? TYPES[record.eventName] : undefined
  if (type === undefined) throw new EventError(`unknown eventName ${quote(record.eventName)}`)
  const data = record.dynamodb
  const created = data.ApproximateCreationDateTime
  const image = (name: 'Keys' | 'NewImage' | 'OldImage'): JsonObject | undefined => {
    const value: unknown = data[name]
    if (value === undefined || value === null) return undefined
    if (!isRecord(value)) throw new EventError(`dynamodb.${name} is not a map of attribute values`)
    return unmarshall(value, `dynamodb.${name}`)
  }
  return {
    kind: 'changes',
    id: record.eventID === undefined || record.eventID === null ? readId(data.SequenceNumber, 'dynamodb.SequenceNumber') : readId(record.eventID, 'eventID'),
    time: readEpochTime(created, 'dynamodb.ApproximateCreationDateTime', typeof created === 'number' && created > 1e11 ? 1 : 1000),
    source,
    native,
    type,
    table: readString(record.tableName, 'tableName') ?? tableFromArn(source),
    keys: image('Keys') ?? {},
    newImage: image('NewImage'),
    oldImage: image('OldImage'),
  }
}

/**
 * Failures are reported by sequence number; Lambda resumes the shard from the lowest one. A failed record without
 * a sequence number cannot be named, and neither can an item that is not a record at all (null): the whole batch
 * fails then, with the reason (Lambda retries it), so the record is not skipped.
 */
export function streamResult(source: string, failed: ReadonlyArray<NeutralEvent | InvalidRecord>): StreamBatchResponse {
  const batchItemFailures: Array<{ itemIdentifier: string }> = []
  for (const item of failed) {
    const itemIdentifier = failureRef(item)
    if (itemIdentifier === UNNAMED) {
      throw new BatchFailedError(source, failed, 'a failed record has no sequence number, so the whole batch is retried')
    }
    if (typeof itemIdentifier === 'string') batchItemFailures.push({ itemIdentifier })
  }
  return { batchItemFailures }
}

/**
 * The failure reference of a stream record: its sequence number read at translation ({@link UNNAMED} without one,
 * or for an item that is no record).
 */
export function sequenceRef(sequenceOf: (record: unknown) => string | undefined): (record: unknown) => unknown {
  return (record) => sequenceOf(record) ?? UNNAMED
}

function sequenceNumber(record: unknown): string | undefined {
  const data = isRecord(record) ? record.dynamodb : undefined
  const sequence = isRecord(data) ? data.SequenceNumber : undefined
  return typeof sequence === 'string' && sequence !== '' ? sequence : undefined
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
    translateRecords<ChangeEvent, DynamoDbStreamRecord>(
      event.Records,
      (record) => recordToChange(record, readString(record.eventSourceARN, 'eventSourceARN') ?? '', record),
      { source: 'aws:dynamodb-streams', list: 'Records', id: sequenceNumber, ref: sequenceRef(sequenceNumber) },
    ),
  isOrdered: () => true,
  getResult: (_event, failed) => streamResult('aws:dynamodb-streams', failed),
}
