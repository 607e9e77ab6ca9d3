import { expect } from 'chai'
import { changes, type ChangeEvent } from '@polycloud/core'
import { BatchFailedError, InvalidRecord } from '@polycloud/core/adapter'
import { dynamodbStreams, lambda } from '@polycloud/aws'
import { tableFromArn } from '@polycloud/aws/dynamodb-streams'
import { fixture, fixturePaths } from '../../helpers/fixtures.ts'
import { captureStdout, lambdaContext } from './support.ts'

describe('aws/dynamodb-streams', () => {
  it('recognises DynamoDB Streams batches only', () => {
    for (const path of fixturePaths('aws')) {
      const expected = path.startsWith('aws/dynamodb-stream/') && path !== 'aws/dynamodb-stream/ptts__dynamodb-stream.json'
      expect(dynamodbStreams.canHandle(fixture(path)), path).to.equal(expected)
    }
  })

  it('reads the table from the stream ARN', () => {
    expect(tableFromArn('arn:aws:dynamodb:us-east-1:1:table/Notes/stream/2016-12-01T00:00:00.000')).to.equal('Notes')
    expect(tableFromArn('stream-ARN')).to.equal('stream-ARN')
  })

  it('runs changes in order and reports the first failure and everything after it by sequence number', async () => {
    const seen: ChangeEvent[] = []
    const handler = lambda(
      changes((change) => {
        seen.push(change)
        if (change.type === 'modify') throw new Error('x')
      }),
    )
    const { result } = await captureStdout(() => handler(fixture('aws/dynamodb-stream/lgo__dynamodb-time-window-event.json'), lambdaContext()))
    expect(seen.map((c) => c.id)).to.deep.equal(['1', '2'])
    expect(result).to.deep.equal({ batchItemFailures: [{ itemIdentifier: '222' }, { itemIdentifier: '333' }] })
  })

  it('fails an untranslatable record by its sequence number', async () => {
    const event = fixture<{ Records: Array<Record<string, unknown>> }>('aws/dynamodb-stream/lgo__dynamodb-time-window-event.json')
    event.Records[0]!.eventName = 'TRUNCATE'
    const { result } = await captureStdout(() => lambda(changes(() => {}))(event, lambdaContext()))
    expect(result).to.deep.equal({
      batchItemFailures: [{ itemIdentifier: '111' }, { itemIdentifier: '222' }, { itemIdentifier: '333' }],
    })
  })

  it('refuses a record whose eventID, creation time or table name is of the wrong type, naming the field', () => {
    const cases: Array<[(record: Record<string, unknown> & { dynamodb: Record<string, unknown> }) => void, string]> = [
      [(record) => void (record.eventID = ''), 'eventID must be a non-empty string, got the empty string'],
      [(record) => void (record.dynamodb.ApproximateCreationDateTime = 'soon'), 'dynamodb.ApproximateCreationDateTime must be a time in seconds since the epoch (from year 0 to 9999), got the string "soon"'],
      [(record) => void (record.dynamodb.ApproximateCreationDateTime = 1e15), 'dynamodb.ApproximateCreationDateTime must be a time in milliseconds since the epoch (from year 0 to 9999), got the number 1000000000000000'],
      [(record) => void (record.tableName = 5), 'tableName must be a string, got the number 5'],
    ]
    for (const [change, problem] of cases) {
      const event = fixture<{ Records: Array<Record<string, unknown> & { dynamodb: Record<string, unknown> }> }>('aws/dynamodb-stream/lgo__dynamodb-time-window-event.json')
      change(event.Records[0]!)
      const [item] = dynamodbStreams.getEvents(event as never)
      expect((item as InvalidRecord).error.message).to.equal(`aws:dynamodb-streams: Records[0] ("111"): ${problem}`)
    }
    // Without an eventID, the sequence number is the id.
    const event = fixture<{ Records: Array<Record<string, unknown>> }>('aws/dynamodb-stream/lgo__dynamodb-time-window-event.json')
    delete event.Records[0]!.eventID
    expect((dynamodbStreams.getEvents(event as never)[0] as ChangeEvent).id).to.equal('111')
  })

  it('fails the whole batch, with the reason, for a null record: it has no sequence number to resume from', async () => {
    const event = fixture<{ Records: unknown[] }>('aws/dynamodb-stream/lgo__dynamodb-time-window-event.json')
    event.Records.splice(1, 0, null)
    const { result } = await captureStdout(() => lambda(changes(() => {}))(event, lambdaContext()).catch((e: unknown) => e))
    expect(result).to.be.instanceOf(BatchFailedError)
    expect((result as Error).message).to.match(/; a failed record has no sequence number, so the whole batch is retried$/)
  })
})
