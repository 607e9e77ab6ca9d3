/**
 * The local SNS against the official @aws-sdk/client-sns (Query protocol), fanning out to a local SQS queue and to
 * a recorded "function", in the formats SNS delivers (the JSON notification on a queue, raw delivery, the Lambda
 * event the AWS adapter recognises).
 */
import { PublishBatchCommand, PublishCommand, CreateTopicCommand, DeleteTopicCommand, GetSubscriptionAttributesCommand, GetTopicAttributesCommand, ListSubscriptionsByTopicCommand, ListSubscriptionsCommand, ListTopicsCommand, SetSubscriptionAttributesCommand, SubscribeCommand, UnsubscribeCommand, type SNSClient } from '@aws-sdk/client-sns'
import { CreateQueueCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs'
import { sns as snsSource, sqsSns } from '@polycloud/aws'
import { expect } from 'chai'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { listen, type LocalServer } from 'serverless-polycloud/providers/aws/local/server'
import { LocalSns, type SnsLambdaEvent } from 'serverless-polycloud/providers/aws/local/sns'
import { LocalSqs } from 'serverless-polycloud/providers/aws/local/sqs'
import { ACCOUNT, REGION, rejection, snsClient, sqsClient } from './support.ts'

interface Running {
  sns: LocalSns
  server: LocalServer
  client: SNSClient
  queues: SQSClient
  invoked: Array<{ arn: string; event: SnsLambdaEvent }>
  stop(): Promise<void>
}

async function start(dir?: string): Promise<Running> {
  let url = ''
  const lines: string[] = []
  const log = (line: string): void => void lines.push(line)
  const invoked: Running['invoked'] = []
  const sqs = new LocalSqs({ region: REGION, accountId: ACCOUNT, baseUrl: () => url, log, second: 100, ...(dir ? { stateFile: join(dir, 'sqs.json') } : {}) })
  const sns = new LocalSns({ region: REGION, accountId: ACCOUNT, baseUrl: () => url, sqs, log, lambda: (arn, event) => invoked.push({ arn, event }), ...(dir ? { stateFile: join(dir, 'sns.json') } : {}) })
  const none = async (): Promise<void> => {
    throw new Error('not for this test')
  }
  const server = await listen('127.0.0.1', 0, { sqs: (req, res) => sqs.handle(req, res), sns: (req, res) => sns.handle(req, res), s3: none, control: none }, log)
  url = server.url
  const client = snsClient(url)
  const queues = sqsClient(url)
  return {
    sns,
    server,
    client,
    queues,
    invoked,
    async stop() {
      client.destroy()
      queues.destroy()
      await sns.stop()
      await sqs.stop()
      await server.close()
    },
  }
}

describe('serverless/providers/aws/local: SNS', function () {
  this.timeout(20_000)
  let local: Running
  let client: SNSClient
  let counter = 0
  const topic = async (fifo = false): Promise<string> =>
    (await client.send(new CreateTopicCommand({ Name: `t${++counter}${fifo ? '.fifo' : ''}`, ...(fifo ? { Attributes: { FifoTopic: 'true' } } : {}) }))).TopicArn as string
  const queue = async (fifo = false): Promise<{ url: string; arn: string }> => {
    const name = `sub${++counter}${fifo ? '.fifo' : ''}`
    const { QueueUrl } = await local.queues.send(new CreateQueueCommand({ QueueName: name, ...(fifo ? { Attributes: { FifoQueue: 'true' } } : {}) }))
    return { url: QueueUrl as string, arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}` }
  }
  const drain = async (url: string) => (await local.queues.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'] }))).Messages ?? []
  const fn = (name: string): string => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`

  before(async () => {
    local = await start()
    client = local.client
  })
  after(() => local.stop())
  beforeEach(() => {
    local.invoked.length = 0
  })

  describe('topics and subscriptions', () => {
    it('creates topics idempotently, lists them and answers their attributes', async () => {
      const arn = await topic()
      expect(arn).to.equal(`arn:aws:sns:${REGION}:${ACCOUNT}:t${counter}`)
      expect((await client.send(new CreateTopicCommand({ Name: `t${counter}` }))).TopicArn).to.equal(arn)
      const { Topics } = await client.send(new ListTopicsCommand({}))
      expect(Topics?.map((t) => t.TopicArn)).to.include(arn)
      const { Attributes } = await client.send(new GetTopicAttributesCommand({ TopicArn: arn }))
      expect(Attributes).to.include({ TopicArn: arn, Owner: ACCOUNT, SubscriptionsConfirmed: '0' })
      const bad = await rejection(client.send(new CreateTopicCommand({ Name: 'bad name' })))
      expect(bad).to.include({ name: 'InvalidParameterException', code: 'InvalidParameter', status: 400 })
    })

    it('answers NotFound for an unknown topic or subscription', async () => {
      const missing = await rejection(client.send(new PublishCommand({ TopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:nope`, Message: 'x' })))
      expect(missing).to.include({ name: 'NotFoundException', code: 'NotFound', status: 404 })
      expect((await rejection(client.send(new GetSubscriptionAttributesCommand({ SubscriptionArn: `arn:aws:sns:${REGION}:${ACCOUNT}:nope:abc` })))).name).to.equal('NotFoundException')
    })

    it('subscribes queues and functions (confirmed at once), lists, updates and removes subscriptions', async () => {
      const arn = await topic()
      const q = await queue()
      const { SubscriptionArn } = await client.send(new SubscribeCommand({ TopicArn: arn, Protocol: 'sqs', Endpoint: q.arn, Attributes: { RawMessageDelivery: 'true' } }))
      expect(SubscriptionArn).to.match(new RegExp(`^${arn}:[0-9a-f-]{36}$`))
      // Subscribing the same endpoint again answers the same subscription.
      expect((await client.send(new SubscribeCommand({ TopicArn: arn, Protocol: 'sqs', Endpoint: q.arn, Attributes: { RawMessageDelivery: 'true' } }))).SubscriptionArn).to.equal(SubscriptionArn)
      const lambda = await client.send(new SubscribeCommand({ TopicArn: arn, Protocol: 'lambda', Endpoint: fn('alerts'), ReturnSubscriptionArn: true }))
      const byTopic = await client.send(new ListSubscriptionsByTopicCommand({ TopicArn: arn }))
      expect(byTopic.Subscriptions?.map((s) => [s.Protocol, s.Endpoint])).to.deep.equal([
        ['sqs', q.arn],
        ['lambda', fn('alerts')],
      ])
      expect((await client.send(new ListSubscriptionsCommand({}))).Subscriptions?.map((s) => s.SubscriptionArn)).to.include(lambda.SubscriptionArn)
      const { Attributes } = await client.send(new GetSubscriptionAttributesCommand({ SubscriptionArn }))
      expect(Attributes).to.include({ SubscriptionArn, TopicArn: arn, Protocol: 'sqs', Endpoint: q.arn, RawMessageDelivery: 'true', PendingConfirmation: 'false' })
      await client.send(new SetSubscriptionAttributesCommand({ SubscriptionArn: lambda.SubscriptionArn, AttributeName: 'FilterPolicy', AttributeValue: '{"severity":["critical"]}' }))
      expect((await client.send(new GetSubscriptionAttributesCommand({ SubscriptionArn: lambda.SubscriptionArn }))).Attributes).to.include({ FilterPolicy: '{"severity":["critical"]}', FilterPolicyScope: 'MessageAttributes' })
      const raw = await rejection(client.send(new SetSubscriptionAttributesCommand({ SubscriptionArn: lambda.SubscriptionArn, AttributeName: 'RawMessageDelivery', AttributeValue: 'true' })))
      expect(raw.message).to.match(/lambda\] does not support raw message delivery/)
      const badPolicy = await rejection(client.send(new SetSubscriptionAttributesCommand({ SubscriptionArn: lambda.SubscriptionArn, AttributeName: 'FilterPolicy', AttributeValue: '{"a":[{"nope":1}]}' })))
      expect(badPolicy).to.include({ code: 'InvalidParameter' })
      expect(badPolicy.message).to.match(/FilterPolicy: "a": Unrecognized match type nope/)
      await client.send(new UnsubscribeCommand({ SubscriptionArn }))
      expect((await client.send(new ListSubscriptionsByTopicCommand({ TopicArn: arn }))).Subscriptions).to.have.length(1)
      const http = await rejection(client.send(new SubscribeCommand({ TopicArn: arn, Protocol: 'https', Endpoint: 'https://example.com' })))
      expect(http.code).to.equal('InvalidParameter')
      await client.send(new DeleteTopicCommand({ TopicArn: arn }))
      expect((await rejection(client.send(new GetTopicAttributesCommand({ TopicArn: arn })))).name).to.equal('NotFoundException')
    })
  })

  describe('delivery', () => {
    it('delivers the JSON notification to a queue, with the attributes, and the Subject only when given', async () => {
      const arn = await topic()
      const q = await queue()
      await client.send(new SubscribeCommand({ TopicArn: arn, Protocol: 'sqs', Endpoint: q.arn }))
      const { MessageId } = await client.send(new PublishCommand({ TopicArn: arn, Message: 'disk almost full', Subject: 'Alert', MessageAttributes: { severity: { DataType: 'String', StringValue: 'warning' } } }))
      await client.send(new PublishCommand({ TopicArn: arn, Message: 'no subject' }))
      const [first, second] = await drain(q.url)
      const envelope = JSON.parse(first?.Body ?? '{}') as Record<string, unknown>
      expect(Object.keys(envelope)).to.deep.equal(['Type', 'MessageId', 'TopicArn', 'Subject', 'Message', 'Timestamp', 'SignatureVersion', 'Signature', 'SigningCertURL', 'UnsubscribeURL', 'MessageAttributes'])
      expect(envelope).to.deep.include({ Type: 'Notification', MessageId, TopicArn: arn, Subject: 'Alert', Message: 'disk almost full', MessageAttributes: { severity: { Type: 'String', Value: 'warning' } } })
      expect(Date.parse(envelope.Timestamp as string)).to.be.closeTo(Date.now(), 10_000)
      const plain = JSON.parse(second?.Body ?? '{}') as Record<string, unknown>
      expect(plain).to.not.have.property('Subject')
      expect(plain).to.not.have.property('MessageAttributes')
      // The AWS adapter reads it as a topic message with its attribute.
      const [message] = sqsSns.getEvents({ Records: [{ messageId: first?.MessageId, body: first?.Body, eventSource: 'aws:sqs', eventSourceARN: q.arn }] } as never) as Array<{ attributes?: Record<string, string>; payload?: unknown }>
      expect(message?.attributes).to.deep.equal({ severity: 'warning' })
      // The UnsubscribeURL works on the local endpoint, as it does on SNS.
      const unsubscribe = await fetch(envelope.UnsubscribeURL as string)
      expect(unsubscribe.status).to.equal(200)
      await client.send(new PublishCommand({ TopicArn: arn, Message: 'after' }))
      expect(await drain(q.url)).to.deep.equal([])
    })

    it('delivers raw messages with their attributes as SQS message attributes', async () => {
      const arn = await topic()
      const q = await queue()
      await client.send(new SubscribeCommand({ TopicArn: arn, Protocol: 'sqs', Endpoint: q.arn, Attributes: { RawMessageDelivery: 'true' } }))
      await client.send(new PublishCommand({ TopicArn: arn, Message: '{"id":1}', MessageAttributes: { level: { DataType: 'Number', StringValue: '3' }, blob: { DataType: 'Binary', BinaryValue: Buffer.from([9, 8]) }, tags: { DataType: 'String.Array', StringValue: '["a","b"]' } } }))
      const [message] = await drain(q.url)
      expect(message?.Body).to.equal('{"id":1}')
      expect(message?.MessageAttributes?.level).to.deep.include({ DataType: 'Number', StringValue: '3' })
      expect(message?.MessageAttributes?.tags).to.deep.include({ DataType: 'String.Array', StringValue: '["a","b"]' })
      expect(Buffer.from(message?.MessageAttributes?.blob?.BinaryValue ?? []).toString('hex')).to.equal('0908')
    })

    it('fans out to every function subscribed, as the Lambda event the adapter recognises', async () => {
      const arn = await topic()
      const one = await client.send(new SubscribeCommand({ TopicArn: arn, Protocol: 'lambda', Endpoint: fn('one') }))
      await client.send(new SubscribeCommand({ TopicArn: arn, Protocol: 'lambda', Endpoint: fn('two') }))
      const { MessageId } = await client.send(new PublishCommand({ TopicArn: arn, Message: 'hello', MessageAttributes: { severity: { DataType: 'String', StringValue: 'critical' } } }))
      expect(local.invoked.map((call) => call.arn)).to.deep.equal([fn('one'), fn('two')])
      const event = local.invoked[0]?.event as SnsLambdaEvent
      expect(event.Records[0]).to.deep.include({ EventSource: 'aws:sns', EventVersion: '1.0', EventSubscriptionArn: one.SubscriptionArn })
      expect(event.Records[0]?.Sns).to.deep.include({ Type: 'Notification', MessageId, TopicArn: arn, Subject: null, Message: 'hello', MessageAttributes: { severity: { Type: 'String', Value: 'critical' } } })
      expect(snsSource.canHandle(event)).to.equal(true)
      const [message] = snsSource.getEvents(event as never) as Array<{ attributes: Record<string, string>; id: string }>
      expect(message).to.deep.include({ id: MessageId, attributes: { severity: 'critical' } })
    })

    it('delivers only what passes each subscription\'s filter policy (attributes or body)', async () => {
      const arn = await topic()
      await client.send(new SubscribeCommand({ TopicArn: arn, Protocol: 'lambda', Endpoint: fn('critical'), Attributes: { FilterPolicy: '{"severity":["critical"]}' } }))
      await client.send(new SubscribeCommand({ TopicArn: arn, Protocol: 'lambda', Endpoint: fn('big'), Attributes: { FilterPolicy: '{"order":{"total":[{"numeric":[">",100]}]}}', FilterPolicyScope: 'MessageBody' } }))
      await client.send(new PublishCommand({ TopicArn: arn, Message: '{"order":{"total":50}}', MessageAttributes: { severity: { DataType: 'String', StringValue: 'critical' } } }))
      await client.send(new PublishCommand({ TopicArn: arn, Message: '{"order":{"total":500}}', MessageAttributes: { severity: { DataType: 'String', StringValue: 'info' } } }))
      await client.send(new PublishCommand({ TopicArn: arn, Message: 'nothing for anyone' }))
      expect(local.invoked.map((call) => [call.arn.split(':').pop(), call.event.Records[0]?.Sns.Message])).to.deep.equal([
        ['critical', '{"order":{"total":50}}'],
        ['big', '{"order":{"total":500}}'],
      ])
    })

    it('sends each protocol its message of a MessageStructure json publish', async () => {
      const arn = await topic()
      const q = await queue()
      await client.send(new SubscribeCommand({ TopicArn: arn, Protocol: 'sqs', Endpoint: q.arn, Attributes: { RawMessageDelivery: 'true' } }))
      await client.send(new SubscribeCommand({ TopicArn: arn, Protocol: 'lambda', Endpoint: fn('f') }))
      await client.send(new PublishCommand({ TopicArn: arn, MessageStructure: 'json', Message: JSON.stringify({ default: 'for everyone', sqs: 'for queues' }) }))
      expect((await drain(q.url)).map((m) => m.Body)).to.deep.equal(['for queues'])
      expect(local.invoked[0]?.event.Records[0]?.Sns.Message).to.equal('for everyone')
      const bad = await rejection(client.send(new PublishCommand({ TopicArn: arn, MessageStructure: 'json', Message: '{"sqs":"no default"}' })))
      expect(bad.code).to.equal('InvalidParameter')
    })

    it('publishes batches, reporting each entry', async () => {
      const arn = await topic()
      const q = await queue()
      await client.send(new SubscribeCommand({ TopicArn: arn, Protocol: 'sqs', Endpoint: q.arn, Attributes: { RawMessageDelivery: 'true' } }))
      const out = await client.send(
        new PublishBatchCommand({
          TopicArn: arn,
          PublishBatchRequestEntries: [
            { Id: 'a', Message: 'one', MessageAttributes: { k: { DataType: 'String', StringValue: 'v' } } },
            { Id: 'b', Message: 'two' },
            { Id: 'c', Message: 'bad', MessageAttributes: { k: { DataType: 'Nope', StringValue: 'v' } } },
          ],
        }),
      )
      expect(out.Successful?.map((entry) => entry.Id)).to.deep.equal(['a', 'b'])
      expect(out.Failed?.map((entry) => [entry.Id, entry.Code, entry.SenderFault])).to.deep.equal([['c', 'ParameterValueInvalid', true]])
      const messages = await drain(q.url)
      expect(messages.map((m) => [m.Body, m.MessageAttributes?.k?.StringValue])).to.deep.equal([
        ['one', 'v'],
        ['two', undefined],
      ])
      const tooMany = Array.from({ length: 11 }, (_, i) => ({ Id: `e${i}`, Message: 'x' }))
      expect((await rejection(client.send(new PublishBatchCommand({ TopicArn: arn, PublishBatchRequestEntries: tooMany })))).name).to.equal('TooManyEntriesInBatchRequestException')
      expect((await rejection(client.send(new PublishBatchCommand({ TopicArn: arn, PublishBatchRequestEntries: [{ Id: 'a', Message: 'x' }, { Id: 'a', Message: 'y' }] })))).name).to.equal('BatchEntryIdsNotDistinctException')
    })

    it('refuses empty and too long messages and invalid subjects', async () => {
      const arn = await topic()
      expect((await rejection(client.send(new PublishCommand({ TopicArn: arn, Message: '' })))).message).to.match(/Empty message/)
      expect((await rejection(client.send(new PublishCommand({ TopicArn: arn, Message: 'x'.repeat(262_145) })))).message).to.match(/Message too long/)
      expect((await rejection(client.send(new PublishCommand({ TopicArn: arn, Message: 'x', Subject: 'line\nbreak' })))).code).to.equal('InvalidParameter')
    })

    it('keeps FIFO topics in groups, deduplicated, delivering to FIFO queues', async () => {
      const arn = await topic(true)
      const q = await queue(true)
      await client.send(new SubscribeCommand({ TopicArn: arn, Protocol: 'sqs', Endpoint: q.arn, Attributes: { RawMessageDelivery: 'true' } }))
      const first = await client.send(new PublishCommand({ TopicArn: arn, Message: 'a', MessageGroupId: 'g', MessageDeduplicationId: 'd1' }))
      const again = await client.send(new PublishCommand({ TopicArn: arn, Message: 'a', MessageGroupId: 'g', MessageDeduplicationId: 'd1' }))
      expect(again.MessageId).to.equal(first.MessageId)
      expect(first.SequenceNumber).to.match(/^\d{20}$/)
      await client.send(new PublishCommand({ TopicArn: arn, Message: 'b', MessageGroupId: 'g', MessageDeduplicationId: 'd2' }))
      const messages = await drain(q.url)
      expect(messages.map((m) => [m.Body, m.Attributes?.MessageGroupId])).to.deep.equal([
        ['a', 'g'],
        ['b', 'g'],
      ])
      expect((await rejection(client.send(new PublishCommand({ TopicArn: arn, Message: 'c' })))).message).to.match(/MessageGroupId parameter is required/)
      expect((await rejection(client.send(new SubscribeCommand({ TopicArn: arn, Protocol: 'lambda', Endpoint: fn('x') })))).code).to.equal('InvalidParameter')
    })
  })

  it('keeps topics and subscriptions across a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'polycloud-sns-'))
    try {
      const first = await start(dir)
      const { TopicArn } = await first.client.send(new CreateTopicCommand({ Name: 'kept' }))
      await first.client.send(new SubscribeCommand({ TopicArn, Protocol: 'lambda', Endpoint: fn('kept'), Attributes: { FilterPolicy: '{"a":["b"]}' } }))
      await first.stop()
      const second = await start(dir)
      await second.client.send(new PublishCommand({ TopicArn, Message: 'filtered out' }))
      await second.client.send(new PublishCommand({ TopicArn, Message: 'kept', MessageAttributes: { a: { DataType: 'String', StringValue: 'b' } } }))
      expect(second.invoked.map((call) => call.event.Records[0]?.Sns.Message)).to.deep.equal(['kept'])
      await second.stop()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
