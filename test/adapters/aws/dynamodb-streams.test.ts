import { expect } from 'chai'
import { changes, type ChangeEvent } from '@polycloud/core'
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
})
