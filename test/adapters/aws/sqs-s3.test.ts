import { expect } from 'chai'
import { storage, type StorageEvent } from '@polycloud/core'
import { lambda, sqsS3 } from '@polycloud/aws'
import { fixture, fixturePaths } from '../../helpers/fixtures.ts'
import { captureStdout, lambdaContext } from './support.ts'

describe('aws/sqs-s3', () => {
  it('recognises SQS batches whose bodies are S3 notifications only', () => {
    for (const path of fixturePaths('aws')) {
      expect(sqsS3.canHandle(fixture(path)), path).to.equal(path === 'aws/s3/ptts__sqs-event.json')
    }
  })

  it('acknowledges the s3:TestEvent S3 sends when the notification is set up, without calling the handler', async () => {
    const event = fixture<{ Records: Array<Record<string, unknown>> }>('aws/s3/ptts__sqs-event.json')
    event.Records.push({
      ...event.Records[0],
      messageId: 'test-event',
      body: JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Time: '2023-01-01T00:00:00.000Z', Bucket: 'xxx' }),
    })
    const seen: StorageEvent[] = []
    const result = await lambda(storage((e) => void seen.push(e)))(event, lambdaContext())
    expect(seen.map((e) => e.key)).to.deep.equal(['test.pdf'])
    expect(result).to.deep.equal({ batchItemFailures: [] })
  })

  it('reports a failed object event by the SQS message that carried it', async () => {
    const { result } = await captureStdout(() =>
      lambda(
        storage(() => {
          throw new Error('x')
        }),
      )(fixture('aws/s3/ptts__sqs-event.json'), lambdaContext()),
    )
    expect(result).to.deep.equal({ batchItemFailures: [{ itemIdentifier: 'ca3e7a89-c358-40e5-8aa0-5da01403c267' }] })
  })
})
