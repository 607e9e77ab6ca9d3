/**
 * The local SQS against the official @aws-sdk/client-sqs (AWS JSON protocol), with the behaviour the Amazon SQS API
 * Reference documents. One SQS "second" is 100 ms here, so visibility timeouts and delays run in tenths.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListDeadLetterSourceQueuesCommand,
  ListQueuesCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs'
import { expect } from 'chai'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { listen, type LocalServer } from 'serverless-polycloud/providers/aws/local/server'
import { LocalSqs, md5OfMessageAttributes } from 'serverless-polycloud/providers/aws/local/sqs'
import { ACCOUNT, REGION, rejection, sqsClient } from './support.ts'

const SECOND = 100

interface Running {
  sqs: LocalSqs
  server: LocalServer
  client: SQSClient
  lines: string[]
  stop(): Promise<void>
}

async function start(stateFile?: string): Promise<Running> {
  const lines: string[] = []
  let url = ''
  const sqs = new LocalSqs({ region: REGION, accountId: ACCOUNT, baseUrl: () => url, log: (line) => lines.push(line), second: SECOND, ...(stateFile ? { stateFile } : {}) })
  const none = async (): Promise<void> => {
    throw new Error('not an SQS request')
  }
  const server = await listen('127.0.0.1', 0, { sqs: (req, res) => sqs.handle(req, res), sns: none, s3: none, control: none }, (line) => lines.push(line))
  url = server.url
  const client = sqsClient(server.url)
  return {
    sqs,
    server,
    client,
    lines,
    async stop() {
      client.destroy()
      await sqs.stop()
      await server.close()
    },
  }
}

describe('serverless/providers/aws/local: SQS', function () {
  this.timeout(20_000)
  let local: Running
  let client: SQSClient
  let counter = 0
  const fresh = async (attributes: Record<string, string> = {}, fifo = false): Promise<string> => {
    const name = `q${++counter}${fifo ? '.fifo' : ''}`
    const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: fifo ? { FifoQueue: 'true', ...attributes } : attributes }))
    return QueueUrl as string
  }
  const receive = (QueueUrl: string, extra: Partial<ConstructorParameters<typeof ReceiveMessageCommand>[0]> = {}) =>
    client.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['All'], MessageAttributeNames: ['All'], ...extra })).then((out) => out.Messages ?? [])

  before(async () => {
    local = await start()
    client = local.client
  })
  after(() => local.stop())

  describe('queues', () => {
    it('creates a queue with the documented defaults, and answers its URL, attributes and list', async () => {
      const url = await fresh()
      const name = `q${counter}`
      expect(url).to.equal(`${local.server.url}/${ACCOUNT}/${name}`)
      expect((await client.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl).to.equal(url)
      const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }))
      // CreateQueue: VisibilityTimeout 30, MaximumMessageSize 1,048,576 (1 MiB), retention 345,600 (4 days), no delay, no wait.
      expect(Attributes).to.include({
        VisibilityTimeout: '30',
        MaximumMessageSize: '1048576',
        MessageRetentionPeriod: '345600',
        DelaySeconds: '0',
        ReceiveMessageWaitTimeSeconds: '0',
        ApproximateNumberOfMessages: '0',
        QueueArn: `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`,
      })
      expect(Number(Attributes?.CreatedTimestamp)).to.be.closeTo(Date.now() / 1000, 60)
      const listed = await client.send(new ListQueuesCommand({ QueueNamePrefix: name }))
      expect(listed.QueueUrls).to.deep.equal([url])
    })

    it('is idempotent for the same attributes and refuses different ones (QueueNameExists)', async () => {
      const url = await fresh({ VisibilityTimeout: '5' })
      const name = `q${counter}`
      expect((await client.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '5' } }))).QueueUrl).to.equal(url)
      const refused = await rejection(client.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '6' } })))
      expect(refused).to.include({ name: 'QueueNameExists', code: 'QueueAlreadyExists', status: 400 })
    })

    it('answers QueueDoesNotExist (AWS.SimpleQueueService.NonExistentQueue) for an unknown queue', async () => {
      const missing = await rejection(client.send(new GetQueueUrlCommand({ QueueName: 'nope' })))
      expect(missing).to.include({ name: 'QueueDoesNotExist', code: 'AWS.SimpleQueueService.NonExistentQueue', status: 400 })
      const send = await rejection(client.send(new SendMessageCommand({ QueueUrl: `${local.server.url}/${ACCOUNT}/nope`, MessageBody: 'x' })))
      expect(send.name).to.equal('QueueDoesNotExist')
    })

    it('validates names and attributes', async () => {
      expect((await rejection(client.send(new CreateQueueCommand({ QueueName: 'bad name' })))).code).to.equal('InvalidParameterValue')
      expect((await rejection(client.send(new CreateQueueCommand({ QueueName: 'x.fifo' })))).code).to.equal('InvalidParameterValue')
      expect((await rejection(client.send(new CreateQueueCommand({ QueueName: 'vt', Attributes: { VisibilityTimeout: '43201' } })))).name).to.equal('InvalidAttributeValue')
      expect((await rejection(client.send(new CreateQueueCommand({ QueueName: 'un', Attributes: { Colour: 'red' } as Record<string, string> })))).name).to.equal('InvalidAttributeName')
    })

    it('pages ListQueues with MaxResults and NextToken', async () => {
      for (let i = 0; i < 3; i++) await client.send(new CreateQueueCommand({ QueueName: `page-${i}` }))
      const first = await client.send(new ListQueuesCommand({ QueueNamePrefix: 'page-', MaxResults: 2 }))
      expect(first.QueueUrls).to.have.length(2)
      const second = await client.send(new ListQueuesCommand({ QueueNamePrefix: 'page-', MaxResults: 2, NextToken: first.NextToken }))
      expect(second.QueueUrls?.map((url) => url.split('/').pop())).to.deep.equal(['page-2'])
      expect(second.NextToken).to.equal(undefined)
    })

    it('sets attributes, deletes and purges (once a minute, PurgeQueueInProgress)', async () => {
      const url = await fresh()
      await client.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { VisibilityTimeout: '7', DelaySeconds: '1' } }))
      const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['VisibilityTimeout', 'DelaySeconds'] }))
      expect(Attributes).to.deep.equal({ VisibilityTimeout: '7', DelaySeconds: '1' })
      await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'gone' }))
      await client.send(new PurgeQueueCommand({ QueueUrl: url }))
      const counts = await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesDelayed'] }))
      expect(counts.Attributes).to.deep.equal({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesDelayed: '0' })
      expect(await rejection(client.send(new PurgeQueueCommand({ QueueUrl: url })))).to.include({ name: 'PurgeQueueInProgress', status: 403 })
      await client.send(new DeleteQueueCommand({ QueueUrl: url }))
      expect((await rejection(client.send(new GetQueueAttributesCommand({ QueueUrl: url })))).name).to.equal('QueueDoesNotExist')
    })
  })

  describe('messages', () => {
    it('sends and receives with the MD5s, system attributes and a new receipt handle per receive', async () => {
      const url = await fresh({ VisibilityTimeout: '1' })
      const sent = await client.send(
        new SendMessageCommand({
          QueueUrl: url,
          MessageBody: 'héllo',
          MessageAttributes: { severity: { DataType: 'String', StringValue: 'warning' }, level: { DataType: 'Number', StringValue: '3' }, raw: { DataType: 'Binary', BinaryValue: Buffer.from([0, 1, 2]) } },
        }),
      )
      // The SDK itself checks MD5OfMessageBody against the body it sent; the attributes' MD5 is the documented digest.
      expect(sent.MD5OfMessageAttributes).to.equal(
        md5OfMessageAttributes({ severity: { DataType: 'String', StringValue: 'warning' }, level: { DataType: 'Number', StringValue: '3' }, raw: { DataType: 'Binary', BinaryValue: 'AAEC' } }),
      )
      const [first] = await receive(url)
      expect(first?.Body).to.equal('héllo')
      expect(first?.MessageId).to.equal(sent.MessageId)
      expect(first?.MD5OfMessageAttributes).to.equal(sent.MD5OfMessageAttributes)
      expect(first?.MessageAttributes?.severity).to.deep.include({ DataType: 'String', StringValue: 'warning' })
      expect(Buffer.from(first?.MessageAttributes?.raw?.BinaryValue ?? []).toString('hex')).to.equal('000102')
      expect(first?.Attributes).to.include({ ApproximateReceiveCount: '1', SenderId: 'AKIDLOCAL' })
      expect(Number(first?.Attributes?.SentTimestamp)).to.be.closeTo(Date.now(), 10_000)
      // Invisible for the visibility timeout, then received again with a new handle and a higher count.
      expect(await receive(url)).to.deep.equal([])
      const again = await receive(url, { WaitTimeSeconds: 5 })
      expect(again[0]?.MessageId).to.equal(sent.MessageId)
      expect(again[0]?.ReceiptHandle).to.not.equal(first?.ReceiptHandle)
      expect(again[0]?.Attributes?.ApproximateReceiveCount).to.equal('2')
      expect(again[0]?.Attributes?.ApproximateFirstReceiveTimestamp).to.equal(first?.Attributes?.ApproximateFirstReceiveTimestamp)
      // An older handle "succeeds, but the message might not be deleted" (DeleteMessage); the latest one deletes it.
      await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: first?.ReceiptHandle }))
      expect((await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessagesNotVisible'] }))).Attributes).to.deep.equal({ ApproximateNumberOfMessagesNotVisible: '1' })
      await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: again[0]?.ReceiptHandle }))
      expect((await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }))).Attributes).to.include({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' })
    })

    it('returns only the requested attributes, and the MD5 of those', async () => {
      const url = await fresh()
      await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'b', MessageAttributes: { 'app.a': { DataType: 'String', StringValue: '1' }, other: { DataType: 'String', StringValue: '2' } } }))
      const [message] = await receive(url, { MessageAttributeNames: ['app.*'], MessageSystemAttributeNames: ['SentTimestamp'] })
      expect(Object.keys(message?.MessageAttributes ?? {})).to.deep.equal(['app.a'])
      expect(message?.MD5OfMessageAttributes).to.equal(md5OfMessageAttributes({ 'app.a': { DataType: 'String', StringValue: '1' } }))
      expect(Object.keys(message?.Attributes ?? {})).to.deep.equal(['SentTimestamp'])
    })

    it('keeps an attribute named __proto__ as an attribute', async () => {
      const url = await fresh()
      const attributes = JSON.parse('{"__proto__":{"DataType":"String","StringValue":"kept"}}') as Record<string, { DataType: string; StringValue: string }>
      await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'b', MessageAttributes: attributes }))
      const [message] = await receive(url)
      expect(Object.keys(message?.MessageAttributes ?? {})).to.deep.equal(['__proto__'])
      expect(message?.MD5OfMessageAttributes).to.equal(md5OfMessageAttributes(attributes))
    })

    it('changes visibility: 0 makes a message visible now; a message not in flight is MessageNotInflight', async () => {
      const url = await fresh({ VisibilityTimeout: '600' })
      await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'v' }))
      const [message] = await receive(url)
      await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: message?.ReceiptHandle, VisibilityTimeout: 0 }))
      const [again] = await receive(url)
      expect(again?.MessageId).to.equal(message?.MessageId)
      const stale = await rejection(client.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: message?.ReceiptHandle, VisibilityTimeout: 5 })))
      expect(stale).to.include({ name: 'MessageNotInflight', code: 'AWS.SimpleQueueService.MessageNotInflight' })
      const bogus = await rejection(client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: 'not-a-handle' })))
      expect(bogus).to.include({ name: 'ReceiptHandleIsInvalid', status: 404 })
    })

    it('delays a message (DelaySeconds) and long-polls until one arrives (WaitTimeSeconds)', async () => {
      const url = await fresh()
      await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'later', DelaySeconds: 3 }))
      const delayed = await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessagesDelayed'] }))
      expect(delayed.Attributes?.ApproximateNumberOfMessagesDelayed).to.equal('1')
      expect(await receive(url)).to.deep.equal([])
      const waited = await receive(url, { WaitTimeSeconds: 20 })
      expect(waited.map((m) => m.Body)).to.deep.equal(['later'])
      const started = Date.now()
      const pending = receive(url, { WaitTimeSeconds: 20 })
      setTimeout(() => void client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'arrived' })), 50)
      expect((await pending).map((m) => m.Body)).to.deep.equal(['arrived'])
      expect(Date.now() - started).to.be.below(20 * SECOND)
    })

    it('refuses bodies over MaximumMessageSize, invalid characters and malformed attributes', async () => {
      const url = await fresh({ MaximumMessageSize: '1024' })
      expect(await rejection(client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x'.repeat(1025) })))).to.include({ code: 'InvalidParameterValue' })
      await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x'.repeat(1024) }))
      expect((await rejection(client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'bad \u0001' })))).name).to.equal('InvalidMessageContents')
      const badType = await rejection(client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', MessageAttributes: { a: { DataType: 'Text', StringValue: 'v' } } })))
      expect(badType.code).to.equal('InvalidParameterValue')
      const reserved = await rejection(client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', MessageAttributes: { 'AWS.x': { DataType: 'String', StringValue: 'v' } } })))
      expect(reserved.code).to.equal('InvalidParameterValue')
      const notNumber = await rejection(client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', MessageAttributes: { n: { DataType: 'Number', StringValue: 'ten' } } })))
      expect(notNumber.code).to.equal('InvalidParameterValue')
      expect((await rejection(client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', DelaySeconds: 901 })))).code).to.equal('InvalidParameterValue')
    })
  })

  describe('batches', () => {
    it('sends a batch, reporting each entry; deletes and changes visibility in batches', async () => {
      const url = await fresh({ VisibilityTimeout: '600' })
      const out = await client.send(
        new SendMessageBatchCommand({
          QueueUrl: url,
          Entries: [
            { Id: 'a', MessageBody: 'one' },
            { Id: 'b', MessageBody: 'two', MessageAttributes: { k: { DataType: 'String', StringValue: 'v' } } },
            { Id: 'c', MessageBody: 'bad\u0000' },
          ],
        }),
      )
      expect(out.Successful?.map((entry) => entry.Id)).to.deep.equal(['a', 'b'])
      expect(out.Successful?.[1]?.MD5OfMessageAttributes).to.equal(md5OfMessageAttributes({ k: { DataType: 'String', StringValue: 'v' } }))
      expect(out.Failed).to.deep.equal([{ Id: 'c', SenderFault: true, Code: 'InvalidMessageContents', Message: out.Failed?.[0]?.Message }])
      const messages = await receive(url)
      expect(messages.map((m) => m.Body).sort()).to.deep.equal(['one', 'two'])
      const changed = await client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: url,
          Entries: [
            { Id: 'x', ReceiptHandle: messages[0]?.ReceiptHandle, VisibilityTimeout: 0 },
            { Id: 'y', ReceiptHandle: 'nonsense', VisibilityTimeout: 0 },
          ],
        }),
      )
      expect(changed.Successful?.map((entry) => entry.Id)).to.deep.equal(['x'])
      expect(changed.Failed?.[0]).to.include({ Id: 'y', Code: 'ReceiptHandleIsInvalid', SenderFault: true })
      const visible = await receive(url)
      const deleted = await client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: url,
          Entries: [...visible, messages[1]].map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m?.ReceiptHandle })),
        }),
      )
      expect(deleted.Successful).to.have.length(2)
      expect((await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }))).Attributes).to.include({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' })
    })

    it('refuses batches that break the documented limits', async () => {
      const url = await fresh()
      const entries = (n: number) => Array.from({ length: n }, (_, i) => ({ Id: `e${i}`, MessageBody: 'x' }))
      expect(await rejection(client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [] })))).to.include({ name: 'EmptyBatchRequest' })
      expect(await rejection(client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries(11) })))).to.include({ name: 'TooManyEntriesInBatchRequest' })
      expect(await rejection(client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: 'a', MessageBody: 'x' }, { Id: 'a', MessageBody: 'y' }] })))).to.include({ name: 'BatchEntryIdsNotDistinct' })
      expect(await rejection(client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: 'a b', MessageBody: 'x' }] })))).to.include({ name: 'InvalidBatchEntryId' })
      // The sum of the batch's messages is limited to 1 MiB (SendMessageBatch).
      const big = 'x'.repeat(600_000)
      expect(await rejection(client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: 'a', MessageBody: big }, { Id: 'b', MessageBody: big }] })))).to.include({ name: 'BatchRequestTooLong' })
    })
  })

  describe('dead-letter queues', () => {
    it('moves a message to the dead-letter queue on the receive after maxReceiveCount', async () => {
      const dlqUrl = await fresh()
      const dlqName = `q${counter}`
      const url = await fresh({ VisibilityTimeout: '0', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: `arn:aws:sqs:${REGION}:${ACCOUNT}:${dlqName}`, maxReceiveCount: 2 }) })
      const sent = await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'poison', MessageAttributes: { a: { DataType: 'String', StringValue: 'kept' } } }))
      expect((await receive(url))[0]?.Attributes?.ApproximateReceiveCount).to.equal('1')
      expect((await receive(url))[0]?.Attributes?.ApproximateReceiveCount).to.equal('2')
      expect(await receive(url)).to.deep.equal([])
      const [dead] = await receive(dlqUrl)
      expect(dead).to.deep.include({ MessageId: sent.MessageId, Body: 'poison' })
      expect(dead?.MessageAttributes?.a?.StringValue).to.equal('kept')
      expect(dead?.Attributes?.DeadLetterQueueSourceArn).to.equal(`arn:aws:sqs:${REGION}:${ACCOUNT}:${url.split('/').pop()}`)
      expect((await client.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: dlqUrl }))).queueUrls).to.deep.equal([url])
      const noTarget = await rejection(client.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: `arn:aws:sqs:${REGION}:${ACCOUNT}:missing`, maxReceiveCount: 1 }) } })))
      expect(noTarget.code).to.equal('InvalidParameterValue')
    })
  })

  describe('FIFO queues', () => {
    it('keeps a group in order with one batch in flight per group, other groups still flowing', async () => {
      const url = await fresh({ VisibilityTimeout: '600' }, true)
      for (const [group, body] of [['a', 'a1'], ['b', 'b1'], ['a', 'a2'], ['b', 'b2']]) {
        await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body, MessageGroupId: group, MessageDeduplicationId: body }))
      }
      const first = await receive(url, { MaxNumberOfMessages: 1 })
      expect(first.map((m) => m.Body)).to.deep.equal(['a1'])
      // Group a is in flight: only b's messages, in order.
      const second = await receive(url)
      expect(second.map((m) => m.Body)).to.deep.equal(['b1', 'b2'])
      expect(await receive(url)).to.deep.equal([])
      await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: first[0]?.ReceiptHandle }))
      const third = await receive(url)
      expect(third.map((m) => m.Body)).to.deep.equal(['a2'])
      expect(third[0]?.Attributes).to.include({ MessageGroupId: 'a', MessageDeduplicationId: 'a2' })
      expect(BigInt(third[0]?.Attributes?.SequenceNumber ?? '0') > BigInt(first[0]?.Attributes?.SequenceNumber ?? '0')).to.equal(true)
    })

    it('deduplicates by MessageDeduplicationId and by content (SHA-256 of the body) for five minutes', async () => {
      const url = await fresh({ ContentBasedDeduplication: 'true' }, true)
      const one = await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'same', MessageGroupId: 'g' }))
      const two = await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'same', MessageGroupId: 'g' }))
      expect(two.MessageId).to.equal(one.MessageId)
      expect(two.SequenceNumber).to.equal(one.SequenceNumber)
      await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'other', MessageGroupId: 'g', MessageDeduplicationId: 'explicit' }))
      await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'other again', MessageGroupId: 'g', MessageDeduplicationId: 'explicit' }))
      expect((await receive(url)).map((m) => m.Body)).to.deep.equal(['same', 'other'])
    })

    it('requires a group, a deduplication id (or content-based deduplication) and no per-message delay', async () => {
      const url = await fresh({}, true)
      expect((await rejection(client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', MessageDeduplicationId: 'd' })))).code).to.equal('MissingParameter')
      expect((await rejection(client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', MessageGroupId: 'g' })))).code).to.equal('InvalidParameterValue')
      expect((await rejection(client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', MessageGroupId: 'g', MessageDeduplicationId: 'd', DelaySeconds: 2 })))).code).to.equal('InvalidParameterValue')
    })
  })

  describe('the MD5 of message attributes', () => {
    // Digests computed by SQS for these attributes (published with the aws-md5-of-message-attributes package's examples).
    it('matches the digests SQS computes', () => {
      expect(md5OfMessageAttributes({ attribName1: { DataType: 'String', StringValue: 'attribValue 1' } })).to.equal('19e27d4e946b072f3f58da80d94fd778')
      expect(md5OfMessageAttributes({ customNumberTypeAttrib: { DataType: 'Number.float', StringValue: '4563442423554324324264524243.32543234' } })).to.equal('9fe1b90bbd9965bdf77bac517c7d2495')
      const binary = { binaryAttribute: { DataType: 'Binary', BinaryValue: Buffer.from('Hello binary world!').toString('base64') } }
      expect(md5OfMessageAttributes(binary)).to.equal('31a92b15d92f8db860eda32aceb656c3')
      expect(
        md5OfMessageAttributes({
          attribName1: { DataType: 'String', StringValue: 'attribValue 1' },
          customNumberTypeAttrib: { DataType: 'Number.float', StringValue: '4563442423554324324264524243.32543234' },
          ...binary,
        }),
      ).to.equal('c932db14a896c663f83c260297d594ff')
      expect(md5OfMessageAttributes({})).to.equal(undefined)
    })
  })

  describe('state', () => {
    it('keeps queues and messages across a restart, and sets a torn state file aside with a message', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'polycloud-sqs-'))
      try {
        const file = join(dir, 'sqs.json')
        const first = await start(file)
        const { QueueUrl } = await first.client.send(new CreateQueueCommand({ QueueName: 'kept' }))
        await first.client.send(new SendMessageCommand({ QueueUrl, MessageBody: 'survives', MessageAttributes: { a: { DataType: 'String', StringValue: 'b' } } }))
        await first.stop()
        const second = await start(file)
        const url = (await second.client.send(new GetQueueUrlCommand({ QueueName: 'kept' }))).QueueUrl
        const { Messages } = await second.client.send(new ReceiveMessageCommand({ QueueUrl: url, MessageAttributeNames: ['All'] }))
        expect(Messages?.map((m) => [m.Body, m.MessageAttributes?.a?.StringValue])).to.deep.equal([['survives', 'b']])
        await second.stop()
        writeFileSync(file, '{"version":1,"queues":[{"name":"torn"')
        const third = await start(file)
        expect(third.sqs.names()).to.deep.equal([])
        expect(third.lines.join('\n')).to.match(/sqs\.json could not be read \(.+\); it was moved to .+sqs\.json\.corrupt-/)
        expect(readdirSync(dir).some((name) => name.startsWith('sqs.json.corrupt-'))).to.equal(true)
        await third.stop()
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
  })
})
