import { expect } from 'chai'
import { changes } from '@polycloud/core'
import { BatchFailedError } from '@polycloud/core/adapter'
import { dynamodbKinesis, lambda } from '@polycloud/aws'
import { fixture, fixturePaths } from '../../helpers/fixtures.ts'
import { captureStdout, lambdaContext } from './support.ts'

describe('aws/dynamodb-kinesis', () => {
  it('recognises Kinesis records carrying DynamoDB changes, not plain Kinesis data', () => {
    for (const path of fixturePaths('aws')) {
      expect(dynamodbKinesis.canHandle(fixture(path)), path).to.equal(path === 'aws/dynamodb-stream/ptts__dynamodb-stream.json')
    }
  })

  it('reports failures by Kinesis sequence number', async () => {
    const { result } = await captureStdout(() =>
      lambda(
        changes((change) => {
          if (change.keys.id === 'record-fvxn3q4q5jw') throw new Error('x')
        }),
      )(fixture('aws/dynamodb-stream/ptts__dynamodb-stream.json'), lambdaContext()),
    )
    expect(result).to.deep.equal({
      batchItemFailures: [{ itemIdentifier: '49657828409187701520019995242509599045772972954367295490' }],
    })
  })

  it('fails the whole batch, with the reason, for a null record: it has no sequence number to resume from', async () => {
    const event = fixture<{ Records: unknown[] }>('aws/dynamodb-stream/ptts__dynamodb-stream.json')
    event.Records.push(null)
    const { result } = await captureStdout(() => lambda(changes(() => {}))(event, lambdaContext()).catch((e: unknown) => e))
    expect(result).to.be.instanceOf(BatchFailedError)
    expect((result as Error).message).to.match(/^aws:dynamodb-kinesis: 1 event\(s\) failed: Records\[\d+\]; a failed record has no sequence number, so the whole batch is retried$/)
  })
})
