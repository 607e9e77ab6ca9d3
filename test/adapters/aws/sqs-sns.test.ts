import { expect } from 'chai'
import { topic, type TopicMessage } from '@polycloud/core'
import { lambda, sqsSns } from '@polycloud/aws'
import { fixture, fixturePaths } from '../../helpers/fixtures.ts'
import { captureStdout, lambdaContext } from './support.ts'

describe('aws/sqs-sns', () => {
  it('recognises SQS batches whose bodies are SNS notifications only', () => {
    for (const path of fixturePaths('aws')) {
      expect(sqsSns.canHandle(fixture(path)), path).to.equal(path === 'aws/sqs/ptts__sns-body.json')
    }
  })

  it('gives a topic handler the notification, and reports its failure by SQS message id', async () => {
    const received: TopicMessage[] = []
    const handler = lambda(
      topic((message) => {
        received.push(message)
        throw new Error('downstream down')
      }),
    )
    const { result } = await captureStdout(() => handler(fixture('aws/sqs/ptts__sns-body.json'), lambdaContext()))
    expect(received[0]?.json()).to.deep.equal({ message: 'hello world' })
    expect(received[0]?.subject).to.equal(undefined)
    expect(result).to.deep.equal({ batchItemFailures: [{ itemIdentifier: '79406a00-bf15-46ca-978c-22c3613fcb30' }] })
  })

  it('fails a message whose body is not a notification on its own', async () => {
    const event = fixture<{ Records: Array<Record<string, unknown>> }>('aws/sqs/ptts__sns-body.json')
    event.Records.push({ ...event.Records[0], messageId: 'plain', body: 'not a notification' })
    const { result } = await captureStdout(() => lambda(topic(() => {}))(event, lambdaContext()))
    expect(result).to.deep.equal({ batchItemFailures: [{ itemIdentifier: 'plain' }] })
  })
})
