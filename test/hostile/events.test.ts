/**
 * Hostile event input handled alike on every provider (issue 10, sections 1, 3, 5 and 6), through each provider's
 * runtime entry point. Before these fixes (measured): a `__proto__` name in a DynamoDB image, a Cosmos DB document or
 * a CloudEvent extension became the object's prototype, and in SQS, SNS or Service Bus attributes it was dropped; a
 * queue body nested 20,000 levels deep threw a RangeError on Azure and Workers (the message retried until poisoned)
 * while AWS and GCP handed over its text; a `null` SQS record, a stream record without `dynamodb`, EventBridge
 * `resources: [5]` and a non-message item in a Workers batch ended in an uncaught TypeError; a failed stream record
 * without a sequence number was left out of `batchItemFailures`; a bad Workers or Functions Framework export failed on
 * the first event instead of at creation.
 */
import { expect } from 'chai'
import azureFunctions from '@azure/functions'
import { changes, cloudEvent, queue, schedule, topic, http, type CloudEvent, type PortableHandler, type QueueMessage } from '@polycloud/core'
import { BatchFailedError, InvalidRecord, PortableContext, runEvents, type NeutralEvent } from '@polycloud/core/adapter'
import { awsSources, createLambdaHandler, dynamodbStreams, eventBridgeSchedule, sqs, lambda } from '@polycloud/aws'
import { azureSources, createAzureHandler, cosmosDb, eventGrid, serviceBus } from '@polycloud/azure'
import { cloudflareSources, createWorker, type QueueWorker } from '@polycloud/cloudflare'
import { createCloudEventFunction, createHttpFunction, gcpCloudEvent, gcpPubSub, gcpSources } from '@polycloud/gcp'
import { inspect } from '@polycloud/testing'
import { quietly } from '../fuzz/fuzzer.ts'

const { InvocationContext } = azureFunctions
const lambdaContext = { awsRequestId: 'r-1', functionName: 'f', getRemainingTimeInMillis: () => 3000 }
const executionContext = { waitUntil: () => {}, passThroughOnException: () => {} }

function azureContext(trigger: Record<string, unknown>, triggerMetadata?: Record<string, unknown>): InstanceType<typeof InvocationContext> {
  return new InvocationContext({ invocationId: 'i-1', functionName: 'f', options: { trigger: { name: 't', ...trigger } } as never, triggerMetadata, logHandler: () => {} })
}

function workersBatch(messages: unknown[]): { batch: unknown; settled: Record<string, string> } {
  const settled: Record<string, string> = {}
  const wrap = (message: unknown): unknown =>
    typeof message === 'object' && message !== null && 'id' in message
      ? { ...message, ack: () => void (settled[(message as { id: string }).id] = 'ack'), retry: () => void (settled[(message as { id: string }).id] = 'retry') }
      : message
  return { batch: { queue: 'jobs', messages: messages.map(wrap), ackAll() {}, retryAll() {} }, settled }
}

const sqsRecord = (id: string, body = 'b'): Record<string, unknown> => ({ messageId: id, body, eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:eu-west-1:1:jobs', attributes: {} })
const streamRecord = (sequence: string | undefined, image: Record<string, unknown> = { id: { S: sequence ?? 'x' } }): Record<string, unknown> => ({
  eventID: `e-${sequence ?? 'none'}`,
  eventName: 'INSERT',
  eventSource: 'aws:dynamodb',
  eventSourceARN: 'arn:aws:dynamodb:eu-west-1:1:table/items/stream/2024',
  dynamodb: { Keys: { id: { S: '1' } }, NewImage: image, ...(sequence === undefined ? {} : { SequenceNumber: sequence }) },
})

describe('hostile events: one result on every provider', function () {
  this.timeout(20_000)

  describe('names from outside are own keys, never prototypes, never dropped', () => {
    it('AWS: DynamoDB images, SQS and SNS attributes', () => {
      const event = JSON.parse(JSON.stringify({ Records: [streamRecord('1')] }).replace('"NewImage":{', '"NewImage":{"__proto__":{"M":{"isAdmin":{"BOOL":true}}},"constructor":{"S":"c"},'))
      const [change] = dynamodbStreams.getEvents(event) as Array<NeutralEvent & { newImage: Record<string, unknown> }>
      expect(Object.keys(change!.newImage)).to.include.members(['__proto__', 'constructor'])
      expect(Object.getPrototypeOf(change!.newImage)).to.equal(Object.prototype)
      expect((change!.newImage as { isAdmin?: unknown }).isAdmin).to.equal(undefined)
      expect(change!.newImage.__proto__).to.deep.equal({ isAdmin: true })
      const attributes = JSON.parse('{"__proto__":{"stringValue":"p","dataType":"String"},"constructor":{"stringValue":"c","dataType":"String"}}')
      const [message] = sqs.getEvents({ Records: [{ ...sqsRecord('m'), messageAttributes: attributes }] } as never) as QueueMessage[]
      expect(Object.entries(message!.attributes)).to.deep.equal([['__proto__', 'p'], ['constructor', 'c']])
    })

    it('Azure: Cosmos DB documents and Service Bus application properties', () => {
      const documents = JSON.parse('[{"id":"a","__proto__":{"isAdmin":true},"prototype":1}]')
      const [change] = cosmosDb.getEvents({ input: documents, context: azureContext({ type: 'cosmosDBTrigger' }) } as never) as Array<NeutralEvent & { newImage: Record<string, unknown> }>
      expect(Object.keys(change!.newImage)).to.deep.equal(['id', '__proto__', 'prototype'])
      expect((change!.newImage as { isAdmin?: unknown }).isAdmin).to.equal(undefined)
      const metadata = JSON.parse('{"messageId":"m","deliveryCount":1,"lockToken":"l","applicationProperties":{"__proto__":"p","constructor":{"n":1}}}')
      const [message] = serviceBus.getEvents({ input: 'x', context: azureContext({ type: 'serviceBusTrigger', queueName: 'q' }, metadata) } as never) as QueueMessage[]
      expect(Object.entries(message!.attributes)).to.deep.equal([['__proto__', 'p'], ['constructor', '{"n":1}']])
    })

    it('GCP: Pub/Sub attributes; Workers: a queue body; none changes Object.prototype', async () => {
      const push = JSON.parse('{"message":{"messageId":"1","data":"","attributes":{"__proto__":"p"}},"subscription":"projects/p/subscriptions/s"}')
      const [message] = gcpPubSub.getEvents(push) as Array<NeutralEvent & { attributes: Record<string, string> }>
      expect(Object.keys(message!.attributes)).to.deep.equal(['__proto__'])
      let seen: unknown
      const { batch } = workersBatch([{ id: 'm', timestamp: new Date(), attempts: 1, body: JSON.parse('{"__proto__":{"isAdmin":true}}') }])
      await (createWorker(queue((event) => void (seen = event.json())), cloudflareSources) as QueueWorker).queue(batch as never, {}, executionContext)
      expect(Object.keys(seen as object)).to.deep.equal(['__proto__'])
      expect(({} as { isAdmin?: unknown }).isAdmin).to.equal(undefined)
    })

    it('refuses a CloudEvent extension named __proto__ (or anything but lower-case letters and digits) by the rule, on Azure and GCP alike', () => {
      const event = JSON.parse('{"specversion":"1.0","id":"1","source":"/s","type":"t","__proto__":{"isAdmin":true}}')
      const [azure] = eventGrid.getEvents({ input: event, context: azureContext({ type: 'eventGridTrigger' }) } as never)
      const [google] = gcpCloudEvent.getEvents(event)
      for (const record of [azure, google]) {
        expect(record).to.be.instanceOf(InvalidRecord)
        expect((record as InvalidRecord).error.message).to.match(/^(azure:event-grid|gcp:cloud-event): event "1": extension attribute "__proto__": names are lower-case letters and digits only$/)
      }
    })
  })

  describe('a queue body nested 20,000 levels deep', () => {
    it('reaches the handler as the same text on every provider', async () => {
      const text = `${'['.repeat(20_000)}${']'.repeat(20_000)}`
      const value = JSON.parse(text) as unknown
      const seen: Record<string, string> = {}
      const reader = (provider: string): PortableHandler => queue((message) => void (seen[provider] = message.body))
      await createLambdaHandler(reader('aws'), awsSources)({ Records: [sqsRecord('m', text)] }, lambdaContext)
      // Azure's library hands over parsed JSON; Workers the structured-clone value.
      await createAzureHandler(reader('azure'), azureSources)(value, azureContext({ type: 'queueTrigger', queueName: 'q' }, { id: 'm', dequeueCount: 1, popReceipt: 'p' }))
      await (createWorker(reader('cloudflare'), cloudflareSources) as QueueWorker).queue(workersBatch([{ id: 'm', timestamp: new Date(), attempts: 1, body: value }]).batch as never, {}, executionContext)
      await quietly(() => createCloudEventFunction(reader('gcp'), gcpSources)({ message: { messageId: 'm', data: Buffer.from(text).toString('base64') }, subscription: 'projects/p/subscriptions/s' } as never))
      expect(Object.keys(seen).sort()).to.deep.equal(['aws', 'azure', 'cloudflare', 'gcp'])
      for (const provider of Object.keys(seen)) expect(seen[provider] === text, provider).to.equal(true)
    })
  })

  describe('a malformed batch fails only what is malformed, naming the record and the problem', () => {
    it('AWS SQS: a non-string eventSourceARN fails alone; a null record has no messageId, so it fails the whole batch', async () => {
      const result = await quietly(() => lambda(queue(() => {}))({ Records: [sqsRecord('a'), { ...sqsRecord('c'), eventSourceARN: 5 }, sqsRecord('d')] }, lambdaContext))
      expect(result).to.deep.equal({ batchItemFailures: [{ itemIdentifier: 'c' }] })
      const items = sqs.getEvents({ Records: [sqsRecord('a'), null, { ...sqsRecord('c'), eventSourceARN: 5 }] } as never)
      expect(items.map((item) => (item instanceof InvalidRecord ? item.error.message : item.id))).to.deep.equal([
        'a',
        'aws:sqs: Records[1]: it is null, not an object',
        'aws:sqs: Records[2] ("c"): eventSourceARN is not a string',
      ])
    })

    it('AWS DynamoDB Streams: a failed record without a sequence number fails the whole batch (it must not be skipped)', async () => {
      const failing = lambda(changes((event) => {
        if (event.id === 'e-none') throw new Error('rejected')
      }))
      const error = await quietly(() => failing({ Records: [streamRecord('1'), streamRecord(undefined), streamRecord('3')] }, lambdaContext)).catch((e: unknown) => e)
      expect(error).to.be.instanceOf(BatchFailedError)
      expect((error as Error).message).to.match(/^aws:dynamodb-streams: 2 event\(s\) failed: .*a failed record has no sequence number, so the whole batch is retried$/)
      // A record without `dynamodb` is invalid, has no sequence number either: the same.
      const invalid = await quietly(() => lambda(changes(() => {}))({ Records: [streamRecord('1'), { eventID: 'x', eventName: 'INSERT', eventSource: 'aws:dynamodb' }] }, lambdaContext)).catch((e: unknown) => e)
      expect(invalid).to.be.instanceOf(BatchFailedError)
      // With sequence numbers, only the failed record and those after it are reported (Lambda resumes there).
      const partial = await quietly(() => lambda(changes((event) => {
        if (event.id === 'e-2') throw new Error('rejected')
      }))({ Records: [streamRecord('1'), streamRecord('2'), streamRecord('3')] }, lambdaContext))
      expect(partial).to.deep.equal({ batchItemFailures: [{ itemIdentifier: '2' }, { itemIdentifier: '3' }] })
    })

    it('AWS EventBridge: resources [5] is refused by name, not a TypeError', async () => {
      const event = { version: '0', id: 'i', 'detail-type': 'Scheduled Event', source: 'aws.events', time: '2024-01-01T00:00:00Z', resources: [5], detail: {} }
      const error = await quietly(() => lambda(schedule(() => {}))(event, lambdaContext)).catch((e: unknown) => e)
      expect(error).to.be.instanceOf(BatchFailedError)
      const [item] = eventBridgeSchedule.getEvents(event as never)
      expect((item as InvalidRecord).error.message).to.equal('aws:eventbridge-schedule: event "i": resources is not a list of strings (ARNs)')
    })

    it('Workers: a message without a valid attempts count fails alone; the other messages are acknowledged', async () => {
      const { batch, settled } = workersBatch([{ id: 'a', timestamp: new Date(), attempts: 1, body: 'x' }, { id: 'b', timestamp: new Date(), attempts: 0, body: 'z' }, { id: 'c', timestamp: new Date(), attempts: 1, body: 'y' }])
      await quietly(() => (createWorker(queue(() => {}), cloudflareSources) as QueueWorker).queue(batch as never, {}, executionContext))
      expect(settled).to.deep.equal({ a: 'ack', b: 'retry', c: 'ack' })
    })

    it('Azure: a null Event Grid item and a null Cosmos DB document fail alone, named by position', () => {
      const grid = eventGrid.getEvents({ input: [null, { id: 'e', eventType: 't', topic: '/t', eventTime: '2024-01-01T00:00:00Z', subject: 's', data: {} }], context: azureContext({ type: 'eventGridTrigger' }) } as never)
      expect(grid.map((item) => (item instanceof InvalidRecord ? item.error.message : item.id))).to.deep.equal(['azure:event-grid: input[0]: it is null, not an object', 'e'])
      const cosmos = cosmosDb.getEvents({ input: [{ id: 'a' }, null], context: azureContext({ type: 'cosmosDBTrigger' }) } as never)
      expect(cosmos.map((item) => (item instanceof InvalidRecord ? item.error.message : item.id))).to.deep.equal(['a', 'azure:cosmos-db: input[1]: it is null, not an object'])
    })

    it('polycloud inspect names an Azure envelope without trigger.type, and JSON nested too deep', async () => {
      const envelope = { input: 'x', context: { invocationId: 'i', functionName: 'f', options: { trigger: { name: 't' } } } }
      const noType = await inspect('azure', envelope).catch((e: unknown) => e as Error)
      expect((noType as Error).message).to.match(/^azure: the envelope's context.options.trigger.type is missing/)
      const deep = await inspect('aws', JSON.parse(`{"Records":${'['.repeat(5000)}${']'.repeat(5000)}}`)).catch((e: unknown) => e as Error)
      expect((deep as Error).message).to.equal("the payload nests arrays and objects more than 1000 levels deep; no provider's event does, and inspect reads at most 1000")
    })
  })

  describe('one dispatcher', () => {
    it('refuses an export that is not a portable handler when the function is created, on every provider', () => {
      for (const bad of [undefined, null, {}, { kind: 'queue' }, () => null]) {
        expect(() => createLambdaHandler(bad as never, awsSources), 'aws').to.throw(TypeError, /handler is not a portable handler/)
        expect(() => createAzureHandler(bad as never, azureSources), 'azure').to.throw(TypeError, /handler is not a portable handler/)
        expect(() => createCloudEventFunction(bad as never, gcpSources), 'gcp').to.throw(TypeError, /handler is not a portable handler/)
        expect(() => createHttpFunction(bad as never, gcpSources), 'gcp http').to.throw(TypeError, /handler is not a portable handler/)
        expect(() => createWorker(bad as never, cloudflareSources), 'cloudflare').to.throw(TypeError, /handler is not a portable handler/)
      }
      expect(() => createWorker(topic(() => {}), cloudflareSources)).to.throw(TypeError, /handler is a topic handler/)
      expect(() => createLambdaHandler(http(() => null), [sqs])).to.throw(TypeError, /handler is a http handler, but its function's events need a queue handler/)
    })

    it('reports failures by the reference taken at translation, whatever the handler does to event.native', async () => {
      const notification = (id: string): string => JSON.stringify({ Type: 'Notification', MessageId: `sns-${id}`, TopicArn: 'arn:aws:sns:eu-west-1:1:t', Message: id, Timestamp: '2024-01-01T00:00:00Z' })
      const handler = lambda(topic((message) => {
        const native = message.native as { messageId: string }
        native.messageId = 'tampered'
        if (message.body === 'bad') throw new Error('rejected')
      }))
      const result = await quietly(() => handler({ Records: [sqsRecord('q-1', notification('ok')), sqsRecord('q-2', notification('bad'))] }, lambdaContext))
      expect(result).to.deep.equal({ batchItemFailures: [{ itemIdentifier: 'q-2' }] })
    })

    it('returns the failures of a 10,000-message batch in delivery order, reading the batch a linear number of times', async () => {
      const context = new PortableContext({ provider: 'aws', requestId: 'r', functionName: 'f', deadline: Date.now() + 60_000, env: { LOG_LEVEL: 'silent' }, native: { provider: 'aws', event: null, context: null } })
      const failing = queue((message) => {
        if (Number(message.id) % 2 === 1) throw new Error('odd')
        return new Promise<void>((resolve) => setImmediate(resolve))
      }, { concurrency: 16 })
      // Counts every read of a batch item (indexOf over the batch reads each one through the proxy too).
      let reads = 0
      const batch = new Proxy(Array.from({ length: 10_000 }, (_, i) => ({ id: String(i) }) as QueueMessage), {
        get(target, key, receiver) {
          if (typeof key === 'string' && /^\d+$/.test(key)) reads++
          return Reflect.get(target, key, receiver) as unknown
        },
      })
      const failed = await runEvents(failing as never, batch, context)
      expect(failed.map((event) => event.id)).to.deep.equal(Array.from({ length: 5000 }, (_, i) => String(i * 2 + 1)))
      // Linear: each item read a few times. The sort by indexOf it replaces read about 10^8 items here.
      expect(reads).to.be.below(4 * 10_000)
    })
  })

  it('keeps a valid CloudEvent\'s time as given on every provider that hands over CloudEvents', async () => {
    const event = { specversion: '1.0', id: 'c', source: '/s', type: 't', time: '2024-05-01T12:00:00.5+02:00', data: { a: 1 } }
    const seen: CloudEvent[] = []
    const handler = cloudEvent((received) => void seen.push(received))
    await createAzureHandler(handler, azureSources)(event, azureContext({ type: 'eventGridTrigger' }))
    await createCloudEventFunction(handler, gcpSources)(event as never)
    expect(seen.map((received) => received.time)).to.deep.equal(['2024-05-01T12:00:00.5+02:00', '2024-05-01T12:00:00.5+02:00'])
  })
})
