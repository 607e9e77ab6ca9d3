/**
 * The delivery engine end to end, before the plugin wires it: `serverless offline` hosts a tiny service's functions
 * (bundled by serverless-esbuild, run through the Polycloud AWS adapter), and startLocalAws delivers to them through
 * serverless-offline's Lambda Invoke API (`lambdaInvoker`): an SQS batch with one bad order (only it is retried,
 * then dead-lettered), an SNS alert with its attribute, a subscriber that throws (retried twice, then dropped).
 */
import { ReceiveMessageCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs'
import { PublishCommand } from '@aws-sdk/client-sns'
import { expect } from 'chai'
import { join } from 'node:path'
import { InvocationError, lambdaInvoker, startLocalAws, type LocalAws } from 'serverless-polycloud/providers/aws/local/index'
import { freePort, startServerless, type ServerlessProcess } from '../../../../helpers/serverless.ts'
import { REGION, snsClient, sqsClient, waitFor } from './support.ts'

const SERVICE = join(import.meta.dirname, 'service')
const fn = (name: string): string => `polycloud-aws-local-dev-${name}`

describe('serverless/providers/aws/local: delivery to serverless offline', function () {
  this.timeout(180_000)
  let offline: ServerlessProcess | undefined
  let aws: LocalAws | undefined
  let lambda: string
  const lines: string[] = []

  before(async () => {
    const [httpPort, lambdaPort] = [await freePort(), await freePort()]
    lambda = `http://127.0.0.1:${lambdaPort}`
    offline = await startServerless(['offline', '--httpPort', String(httpPort), '--lambdaPort', String(lambdaPort)], { cwd: SERVICE, timeoutMs: 120_000 })
    aws = await startLocalAws({
      region: REGION,
      log: (line) => lines.push(line),
      queues: [{ name: 'orders-dlq' }, { name: 'orders', visibilityTimeout: 1, deadLetter: { queue: 'orders-dlq', maxReceiveCount: 2 } }],
      topics: [{ name: 'alerts', subscriptions: [{ protocol: 'lambda', function: fn('alerts') }, { protocol: 'lambda', function: fn('broken') }] }],
      queueMappings: [{ function: fn('orders'), queue: 'orders', batchSize: 10 }],
      invoke: lambdaInvoker(lambda),
      timing: { asyncRetryDelaysMs: [200, 400] },
    })
  })

  after(async () => {
    await aws?.stop()
    await offline?.stop()
  })

  it('delivers an SQS batch: the valid order once, the invalid one retried then dead-lettered', async () => {
    const local = aws as LocalAws
    const client = sqsClient(local.endpoint)
    await client.send(
      new SendMessageBatchCommand({
        QueueUrl: local.queueUrl('orders'),
        Entries: [
          { Id: 'good', MessageBody: JSON.stringify({ id: 'o-1', items: ['book'] }), MessageAttributes: { tenant: { DataType: 'String', StringValue: 'acme' } } },
          { Id: 'bad', MessageBody: JSON.stringify({ id: 'o-2', items: [] }) },
        ],
      }),
    )
    const dead = await waitFor('the dead letter', async () => (await client.send(new ReceiveMessageCommand({ QueueUrl: local.queueUrl('orders-dlq') }))).Messages, 90_000)
    client.destroy()
    expect(dead.map((m) => JSON.parse(m.Body ?? '{}').id)).to.deep.equal(['o-2'])
    const accepted = (offline as ServerlessProcess).stdout().split('\n').filter((line) => line.includes('order accepted'))
    expect(accepted).to.have.length(1)
    expect(JSON.parse(accepted[0] as string)).to.deep.include({ orderId: 'o-1', attempt: 1, tenant: 'acme' })
    const batches = local.deliveries().filter((d) => d.source === 'sqs:orders')
    expect(batches.map((d) => d.outcome)).to.deep.equal(['partial', 'partial'])
    expect(batches[1]?.attempt).to.equal(2)
  })

  it('delivers a topic message with its attribute, and retries a throwing subscriber twice', async () => {
    const local = aws as LocalAws
    const client = snsClient(local.endpoint)
    await client.send(new PublishCommand({ TopicArn: local.topicArn('alerts'), Message: 'disk almost full', MessageAttributes: { severity: { DataType: 'String', StringValue: 'warning' } } }))
    client.destroy()
    const line = await (offline as ServerlessProcess).waitForLine(/"message":"alert"/, 60_000)
    expect(JSON.parse(line)).to.deep.include({ body: 'disk almost full', severity: 'warning' })
    await waitFor('the dropped event', () => local.deliveries().some((d) => d.function === fn('broken') && d.outcome === 'dropped'), 60_000)
    expect(local.deliveries().filter((d) => d.function === fn('broken')).map((d) => d.outcome)).to.deep.equal(['retrying', 'retrying', 'dropped'])
    expect(local.deliveries().find((d) => d.function === fn('alerts'))?.outcome).to.equal('succeeded')
  })

  it('reads serverless-offline\'s answers: a result, a function error, an unknown function', async () => {
    const invoke = lambdaInvoker(lambda)
    const signal = new AbortController().signal
    const event = { Records: [{ EventSource: 'aws:sns', EventVersion: '1.0', EventSubscriptionArn: 'arn:aws:sns:eu-west-1:000000000000:alerts:x', Sns: { Type: 'Notification', MessageId: 'm-1', TopicArn: 'arn:aws:sns:eu-west-1:000000000000:alerts', Subject: null, Message: 'direct', Timestamp: new Date().toISOString(), MessageAttributes: {} } }] }
    expect(await invoke(fn('alerts'), event, signal)).to.equal(undefined)
    let failure: unknown
    try {
      await invoke(fn('broken'), event, signal)
    } catch (error) {
      failure = error
    }
    expect(failure).to.be.instanceOf(InvocationError)
    // The adapter rethrows the handler's failure (Lambda then retries an asynchronous event): X-Amz-Function-Error.
    expect(failure).to.deep.include({ errorType: 'Error', message: 'aws:sns: 1 event(s) failed: m-1' })
    try {
      await invoke('nope', event, signal)
    } catch (error) {
      failure = error
    }
    expect(failure).to.deep.include({ errorType: 'ResourceNotFoundException', message: 'invoking nope: Function not found: nope' })
  })
})
