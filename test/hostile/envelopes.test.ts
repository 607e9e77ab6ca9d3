/**
 * Envelopes from the network are checked, not trusted (issue 18, section 3), on every provider where each case
 * applies, through each provider's runtime entry point. Before (measured with the fuzzer's field oracle,
 * `npm run fuzz -- --events 100000`): 210 events reached a handler with a field of the wrong type (a Pub/Sub
 * `messageId` that was a number, an object or an array became `event.id`; a `publishTime`, an S3 `eventTime`, an
 * EventBridge or SNS time that was no timestamp became `event.time`; sizes and attempt counts past 2^53 or
 * negative; empty ids on Azure and DynamoDB); CloudEvent and Event Grid `data` nested 20,000 levels deep reached the
 * handler, whose `JSON.stringify` then threw `RangeError: Maximum call stack size exceeded`; a `null` record of an
 * SQS batch, a stream batch or a Workers batch was logged and dropped; `polycloud inspect` refused a whole event
 * whose body was flagged base64 but was not.
 */
import { expect } from 'chai'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import azureFunctions from '@azure/functions'
import { changes, cloudEvent, queue, schedule, storage, topic, type NeutralEvent, type PortableHandler } from '@polycloud/core'
import { BatchFailedError, EventError, InvalidRecord, MAX_JSON_DEPTH, fieldProblems, type EventSource, type Source } from '@polycloud/core/adapter'
import { awsSources, createLambdaHandler } from '@polycloud/aws'
import { azureSources, createAzureHandler } from '@polycloud/azure'
import { cloudflareSources, createWorker, type QueueWorker } from '@polycloud/cloudflare'
import { createCloudEventFunction, gcp, gcpSources } from '@polycloud/gcp'
import { adapters, inspect } from '@polycloud/testing'
import { quietly } from '../fuzz/fuzzer.ts'
import { EVENTS_DIR, fixturePaths } from '../helpers/fixtures.ts'
import { captureOutput, serve } from '../adapters/gcp/support.ts'

const { InvocationContext } = azureFunctions
const lambdaContext = { awsRequestId: 'r-1', functionName: 'f', getRemainingTimeInMillis: () => 3000 }
const executionContext = { waitUntil: () => {}, passThroughOnException: () => {} }

function azureContext(trigger: Record<string, unknown>, triggerMetadata?: Record<string, unknown>): InstanceType<typeof InvocationContext> {
  return new InvocationContext({ invocationId: 'i-1', functionName: 'f', options: { trigger: { name: 't', ...trigger } } as never, triggerMetadata, logHandler: () => {} })
}

/** A Workers batch whose messages record how they were settled, and whether the whole batch was retried. */
function workersBatch(messages: unknown[]): { batch: unknown; settled: Record<string, string>; whole: string[] } {
  const settled: Record<string, string> = {}
  const whole: string[] = []
  const wrap = (message: unknown): unknown =>
    typeof message === 'object' && message !== null && 'id' in message
      ? { ...message, ack: () => void (settled[(message as { id: string }).id] ??= 'ack'), retry: () => void (settled[(message as { id: string }).id] ??= 'retry') }
      : message
  return { batch: { queue: 'jobs', messages: messages.map(wrap), ackAll: () => void whole.push('ackAll'), retryAll: () => void whole.push('retryAll') }, settled, whole }
}

const workersMessage = (id: string, fields: Record<string, unknown> = {}): Record<string, unknown> => ({ id, timestamp: new Date(1714557600000), attempts: 1, body: 'b', ...fields })

/** Records the events a handler received, and whether each had its fields of their declared types. */
function recorder(kind: 'schedule' | 'queue' | 'topic' | 'storage' | 'changes' | 'cloudEvent'): { handler: PortableHandler; seen: NeutralEvent[] } {
  const seen: NeutralEvent[] = []
  const record = (event: NeutralEvent): void => void seen.push(event)
  const handlers = { schedule: schedule(record), queue: queue(record), topic: topic(record), storage: storage(record), changes: changes(record), cloudEvent: cloudEvent(record) }
  return { handler: handlers[kind], seen }
}

async function rejection(run: () => Promise<unknown>): Promise<Error> {
  try {
    await quietly(run)
  } catch (error) {
    return error as Error
  }
  throw new Error('expected the delivery to be refused')
}

const sqsRecord = (id: string, attributes: Record<string, unknown> = { SentTimestamp: '1714557600000', ApproximateReceiveCount: '1' }): Record<string, unknown> => ({
  messageId: id,
  body: 'b',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:eu-west-1:1:jobs',
  attributes,
})
const streamRecord = (sequence: string, fields: Record<string, unknown> = {}): Record<string, unknown> => ({
  eventID: `e-${sequence}`,
  eventName: 'INSERT',
  eventSource: 'aws:dynamodb',
  eventSourceARN: 'arn:aws:dynamodb:eu-west-1:1:table/items/stream/2024',
  dynamodb: { Keys: { id: { S: sequence } }, SequenceNumber: sequence, ApproximateCreationDateTime: 1714557600 },
  ...fields,
})
const kinesisRecord = (sequence: string, change: unknown = streamRecord(sequence)): Record<string, unknown> => ({
  kinesis: { data: Buffer.from(JSON.stringify(change)).toString('base64'), sequenceNumber: sequence, partitionKey: 'k' },
  eventSource: 'aws:kinesis',
  eventSourceARN: 'arn:aws:kinesis:eu-west-1:1:stream/items',
})
const push = (message: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  message: { data: Buffer.from('hi').toString('base64'), messageId: 'm-1', publishTime: '2024-05-01T10:00:00Z', ...message },
  subscription: 'projects/p/subscriptions/jobs',
  ...extra,
})
const deep = (levels: number): unknown => JSON.parse(`${'['.repeat(levels)}${']'.repeat(levels)}`)

describe('hostile envelopes: checked, not trusted, on every provider', function () {
  this.timeout(20_000)

  describe('every neutral field has its declared type, or the delivery is refused naming the field and what it holds', () => {
    it('GCP: a Pub/Sub messageId that is a number, an object or an array, or a publishTime that is no timestamp, never reaches the handler', async () => {
      const bad: Array<[Record<string, unknown>, string]> = [
        [{ messageId: 7, message_id: 'm-1' }, 'messageId must be a non-empty string, got the number 7'],
        [{ messageId: { id: 1 }, message_id: 'm-1' }, 'messageId must be a non-empty string, got an object'],
        [{ messageId: ['m'], message_id: 'm-1' }, 'messageId must be a non-empty string, got an array'],
        [{ publishTime: 1714557600 }, 'publishTime must be an RFC 3339 timestamp, got the number 1714557600'],
        [{ publishTime: 'lunchtime' }, 'publishTime must be an RFC 3339 timestamp, got the string "lunchtime"'],
        [{ attributes: { n: 1 } }, 'attributes["n"] must be a string, got the number 1'],
      ]
      for (const kind of ['topic', 'queue', 'schedule'] as const) {
        for (const [message, problem] of bad) {
          const { handler, seen } = recorder(kind)
          const output = captureOutput()
          let error: unknown
          try {
            await createCloudEventFunction(handler, gcpSources)(push(message) as never)
          } catch (caught) {
            error = caught
          } finally {
            output.restore()
          }
          // The schedule source reads no attributes.
          if (kind === 'schedule' && problem.startsWith('attributes')) continue
          expect(error, `${kind} ${problem}`).to.be.instanceOf(BatchFailedError)
          expect(seen, `${kind} ${problem}`).to.deep.equal([])
          const logged = output.logs().map((line) => String((line.error as { message?: unknown } | undefined)?.message))
          expect(logged.some((line) => line.includes(problem)), `${kind}: ${logged.join('\n')}`).to.equal(true)
        }
      }
    })

    it('GCP: a push endpoint answers such a body with a 500 that names no field (Pub/Sub redelivers, then dead-letters)', async () => {
      const { handler, seen } = recorder('queue')
      gcp.http('envelopesPush', handler)
      const server = await serve('envelopesPush')
      const output = captureOutput()
      try {
        const response = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(push({ messageId: 42, message_id: 'm-1' })) })
        expect(response.status).to.equal(500)
        const body = (await response.json()) as { error: string; requestId: string }
        expect(body).to.deep.equal({ error: 'Event processing failed', requestId: body.requestId })
        const good = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(push({})) })
        expect(good.status).to.equal(204)
      } finally {
        output.restore()
        await server.close()
      }
      expect(seen.map((event) => [event.id, event.time])).to.deep.equal([['m-1', '2024-05-01T10:00:00Z']])
      expect(JSON.stringify(output.logs())).to.include('message.messageId must be a non-empty string, got the number 42')
    })

    it('AWS: SQS fails the one malformed message; SNS, S3 and EventBridge (retried as a whole) refuse the delivery', async () => {
      const sqs = await quietly(() =>
        createLambdaHandler(queue(() => {}), awsSources)(
          { Records: [sqsRecord('a'), sqsRecord('b', { SentTimestamp: 'yesterday' }), sqsRecord('c', { ApproximateReceiveCount: 2 ** 53 }), { ...sqsRecord('d'), messageAttributes: { k: { dataType: 'Number' } } }, sqsRecord('e')] },
          lambdaContext,
        ),
      )
      expect(sqs).to.deep.equal({ batchItemFailures: [{ itemIdentifier: 'b' }, { itemIdentifier: 'c' }, { itemIdentifier: 'd' }] })
      const notification = { Type: 'Notification', MessageId: 'n-1', TopicArn: 'arn:aws:sns:eu-west-1:1:t', Message: 'm', Timestamp: 1714557600 }
      const sns = await rejection(() => createLambdaHandler(topic(() => {}), awsSources)({ Records: [{ EventSource: 'aws:sns', Sns: notification }] }, lambdaContext))
      expect(sns).to.be.instanceOf(BatchFailedError)
      const s3 = await rejection(() =>
        createLambdaHandler(storage(() => {}), awsSources)({ Records: [{ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', eventTime: 'swapped', s3: { bucket: { name: 'b' }, object: { key: 'k', size: -1 } } }] }, lambdaContext),
      )
      expect(s3).to.be.instanceOf(BatchFailedError)
      const tick = await rejection(() =>
        createLambdaHandler(schedule(() => {}), awsSources)({ version: '0', id: 'i', 'detail-type': 'Scheduled Event', source: 'aws.events', time: 'swapped', resources: [], detail: {} }, lambdaContext),
      )
      expect(tick).to.be.instanceOf(BatchFailedError)
      const [snsItem] = source('aws', 'aws:sns').getEvents({ Records: [{ EventSource: 'aws:sns', Sns: notification }] })
      expect((snsItem as InvalidRecord).error.message).to.equal('aws:sns: Records[0] ("n-1"): Sns.Timestamp must be an RFC 3339 timestamp, got the number 1714557600')
    })

    it('AWS: a DynamoDB or Kinesis change with an empty eventID or a creation time that is none fails from its sequence number on', async () => {
      const streams = await quietly(() => createLambdaHandler(changes(() => {}), awsSources)({ Records: [streamRecord('1'), streamRecord('2', { eventID: '' }), streamRecord('3')] }, lambdaContext))
      expect(streams).to.deep.equal({ batchItemFailures: [{ itemIdentifier: '2' }, { itemIdentifier: '3' }] })
      const late = streamRecord('2')
      ;(late.dynamodb as Record<string, unknown>).ApproximateCreationDateTime = 'soon'
      const kinesis = await quietly(() => createLambdaHandler(changes(() => {}), awsSources)({ Records: [kinesisRecord('1'), kinesisRecord('2', late)] }, lambdaContext))
      expect(kinesis).to.deep.equal({ batchItemFailures: [{ itemIdentifier: '2' }] })
    })

    it('Azure: queue, Service Bus, blob, Event Grid blob and Cosmos DB triggers refuse wrong-typed metadata (the host retries, then poisons)', async () => {
      const cases: Array<[string, PortableHandler, unknown, InstanceType<typeof InvocationContext>, string]> = [
        ['storage queue', queue(() => {}), 'x', azureContext({ type: 'queueTrigger', queueName: 'q' }, { id: '', dequeueCount: 1, popReceipt: 'p' }), 'triggerMetadata.id must be a non-empty string, got the empty string'],
        ['service bus', queue(() => {}), 'x', azureContext({ type: 'serviceBusTrigger', queueName: 'q' }, { messageId: 'm', deliveryCount: 1, lockToken: 'l', enqueuedTimeUtc: '2024-13-45T99:99:99' }), 'triggerMetadata.enqueuedTimeUtc must be an RFC 3339 timestamp'],
        ['blob', storage(() => {}), Buffer.from('x'), azureContext({ type: 'blobTrigger' }, { blobTrigger: 'box/a', uri: 'https://a.blob.core.windows.net/box/a', properties: { contentLength: 2 ** 53 } }), 'triggerMetadata.properties.contentLength must be a non-negative integer'],
        ['event grid blob', storage(() => {}), { id: 'g', eventType: 'Microsoft.Storage.BlobCreated', subject: '/blobServices/default/containers/box/blobs/a', eventTime: '2024-05-01T10:00:00Z', topic: '/t', data: { contentLength: -1 } }, azureContext({ type: 'eventGridTrigger' }), 'data.contentLength must be a non-negative integer, got the number -1'],
        ['cosmos db', changes(() => {}), [{ id: 'doc', _ts: 'later' }], azureContext({ type: 'cosmosDBTrigger', containerName: 'c' }), '_ts must be a time in seconds since the epoch'],
      ]
      for (const [name, handler, input, context, problem] of cases) {
        const lines: string[] = []
        const logging = new InvocationContext({ invocationId: 'i-1', functionName: 'f', options: context.options, triggerMetadata: context.triggerMetadata, logHandler: (_level, ...args) => void lines.push(String(args[0])) })
        const error = await rejection(() => createAzureHandler(handler, azureSources)(input, logging))
        expect(error, name).to.be.instanceOf(BatchFailedError)
        expect(lines.join('\n'), name).to.include(problem)
      }
    })

    it('Workers: a message whose attempts or timestamp is none, or an R2 notification whose eventTime is none, is retried alone', async () => {
      const { batch, settled } = workersBatch([workersMessage('a'), workersMessage('b', { attempts: 2 ** 53 }), workersMessage('c', { timestamp: new Date(Number.NaN) }), workersMessage('d')])
      await quietly(() => (createWorker(queue(() => {}), cloudflareSources) as QueueWorker).queue(batch as never, {}, executionContext))
      expect(settled).to.deep.equal({ a: 'ack', b: 'retry', c: 'retry', d: 'ack' })
      const notification = (eventTime: unknown): unknown => ({ account: 'acc', action: 'PutObject', bucket: 'b', object: { key: 'k', size: 1, eTag: 'e' }, eventTime })
      const r2 = workersBatch([workersMessage('r1', { body: notification('2024-05-01T10:00:00Z') }), workersMessage('r2', { body: notification('lunchtime') })])
      await quietly(() => (createWorker(storage(() => {}), cloudflareSources) as QueueWorker).queue(r2.batch as never, {}, executionContext))
      expect(r2.settled).to.deep.equal({ r1: 'ack', r2: 'retry' })
    })

    it('every event any source makes of any real fixture has each field of its declared type (the one table in core)', () => {
      let checked = 0
      for (const path of [...fixturePaths(), ...['r2-put-object.json', 'r2-delete-object.json'].map((name) => `../cloudflare-extra/${name}`)]) {
        const json = JSON.parse(readFileSync(join(EVENTS_DIR, path), 'utf8')) as unknown
        for (const [provider, adapter] of Object.entries(adapters)) {
          let input: unknown
          try {
            input = adapter.fromJson ? adapter.fromJson(json) : json
          } catch {
            continue
          }
          for (const source of adapter.sources) {
            if (source.kind === 'http' || !source.canHandle(input)) continue
            for (const item of (source as EventSource).getEvents(input)) {
              if (item instanceof InvalidRecord) continue
              expect(fieldProblems(item as NeutralEvent), `${provider} ${source.name} ${path}`).to.deep.equal([])
              checked++
            }
          }
        }
      }
      expect(checked).to.be.greaterThan(100)
    })
  })

  describe(`data nested deeper than ${MAX_JSON_DEPTH} levels gets the clear error deep JSON gets elsewhere`, () => {
    const refusal = `data nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep; no provider's event does`

    it('GCP CloudEvents, Azure Event Grid (both schemas), AWS EventBridge: refused by name, never handed to the handler', async () => {
      const data = { nested: deep(20_000) }
      const structured = { specversion: '1.0', id: 'c', source: '/s', type: 't', data }
      const attempts: Array<[string, () => Promise<unknown>, NeutralEvent[]]> = []
      const add = (name: string, run: (handler: PortableHandler) => Promise<unknown>): void => {
        const { handler, seen } = recorder('cloudEvent')
        attempts.push([name, () => run(handler), seen])
      }
      add('gcp', (handler) => createCloudEventFunction(handler, gcpSources)(structured as never))
      add('azure cloudevents', (handler) => createAzureHandler(handler, azureSources)(structured, azureContext({ type: 'eventGridTrigger' })))
      add('azure event grid', (handler) => createAzureHandler(handler, azureSources)([{ id: 'g', eventType: 't', topic: '/t', subject: 's', eventTime: '2024-05-01T10:00:00Z', data }], azureContext({ type: 'eventGridTrigger' })))
      add('aws', (handler) => createLambdaHandler(handler, awsSources)({ version: '0', id: 'e', 'detail-type': 't', source: 's', time: '2024-05-01T10:00:00Z', detail: data }, lambdaContext))
      for (const [name, run, seen] of attempts) {
        expect(await rejection(run), name).to.be.instanceOf(BatchFailedError)
        expect(seen, name).to.deep.equal([])
      }
      const sources: Array<[Source, unknown]> = [
        [source('gcp', 'gcp:cloud-event'), structured],
        [source('azure', 'azure:event-grid'), { input: structured, context: azureContext({ type: 'eventGridTrigger' }) }],
        [source('aws', 'aws:eventbridge'), { version: '0', id: 'c', 'detail-type': 't', source: 's', time: '2024-05-01T10:00:00Z', detail: data }],
      ]
      for (const [format, input] of sources) {
        const [item] = (format as EventSource).getEvents(input)
        expect((item as InvalidRecord).error.message).to.equal(`${format.name}: event "c": ${refusal}`)
      }
    })

    it('Azure Cosmos DB: a document nested that deep fails as a malformed change; data exactly at the limit passes everywhere', async () => {
      const [change] = source('azure', 'azure:cosmos-db').getEvents({ input: [{ id: 'doc', value: deep(5000) }], context: azureContext({ type: 'cosmosDBTrigger' }) })
      expect((change as InvalidRecord).error.message).to.equal(`azure:cosmos-db: input[0] ("doc"): the document nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep; no provider's event does`)
      const { handler, seen } = recorder('cloudEvent')
      await createCloudEventFunction(handler, gcpSources)({ specversion: '1.0', id: 'c', source: '/s', type: 't', data: deep(MAX_JSON_DEPTH) } as never)
      expect(seen).to.have.length(1)
      expect(() => JSON.stringify((seen[0] as { data: unknown }).data)).to.not.throw()
    })
  })

  describe('a null record follows the rule for a failed record without an id: the whole batch is retried, the reason logged', () => {
    it('AWS: SQS (and the SNS and S3 notifications it carries), DynamoDB Streams and Kinesis', async () => {
      const notification = JSON.stringify({ Type: 'Notification', MessageId: 'n', TopicArn: 'arn:aws:sns:eu-west-1:1:t', Message: 'm', Timestamp: '2024-05-01T10:00:00Z' })
      const s3Body = JSON.stringify({ Records: [{ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', eventTime: '2024-05-01T10:00:00Z', s3: { bucket: { name: 'b' }, object: { key: 'k' } } }] })
      const batches: Array<[PortableHandler, unknown, RegExp]> = [
        [queue(() => {}), { Records: [sqsRecord('a'), null] }, /^aws:sqs: 1 event\(s\) failed: Records\[1\]; a failed message has no messageId, so the whole batch is retried$/],
        [topic(() => {}), { Records: [{ ...sqsRecord('a'), body: notification }, null] }, /^aws:sqs-sns: .*the whole batch is retried$/],
        [storage(() => {}), { Records: [{ ...sqsRecord('a'), body: s3Body }, null] }, /^aws:sqs-s3: .*the whole batch is retried$/],
        [changes(() => {}), { Records: [streamRecord('1'), null, streamRecord('3')] }, /^aws:dynamodb-streams: 2 event\(s\) failed: .*a failed record has no sequence number, so the whole batch is retried$/],
        [changes(() => {}), { Records: [kinesisRecord('1'), null] }, /^aws:dynamodb-kinesis: .*the whole batch is retried$/],
      ]
      for (const [handler, event, reason] of batches) {
        const error = await rejection(() => createLambdaHandler(handler, awsSources)(event, lambdaContext))
        expect(error).to.be.instanceOf(BatchFailedError)
        expect(error.message).to.match(reason)
      }
    })

    it('Workers: a null item of a queue batch or an R2 notification batch retries the whole batch and fails the invocation with the reason', async () => {
      for (const [handler, message] of [
        [queue(() => {}), workersMessage('a')],
        [storage(() => {}), workersMessage('a', { body: { account: 'acc', action: 'PutObject', bucket: 'b', object: { key: 'k' }, eventTime: '2024-05-01T10:00:00Z' } })],
      ] as const) {
        const { batch, settled, whole } = workersBatch([message, null])
        const error = await rejection(() => (createWorker(handler, cloudflareSources) as QueueWorker).queue(batch as never, {}, executionContext))
        expect(error).to.be.instanceOf(BatchFailedError)
        expect(error.message).to.match(/a failed item of the batch is no message to retry alone, so the whole batch is retried$/)
        expect(whole).to.deep.equal(['retryAll'])
        expect(settled).to.deep.equal({})
      }
    })

    it('Azure: a null Event Grid item or Cosmos DB document fails the invocation, so the whole delivery comes again', async () => {
      const grid = await rejection(() => createAzureHandler(cloudEvent(() => {}), azureSources)([{ id: 'g', eventType: 't', topic: '/t', eventTime: '2024-05-01T10:00:00Z', subject: 's', data: {} }, null], azureContext({ type: 'eventGridTrigger' })))
      expect(grid.message).to.equal('azure:event-grid: 1 event(s) failed: input[1]')
      const cosmos = await rejection(() => createAzureHandler(changes(() => {}), azureSources)([{ id: 'a' }, null], azureContext({ type: 'cosmosDBTrigger' })))
      expect(cosmos.message).to.match(/^azure:cosmos-db: 1 event\(s\) failed: input\[1\]/)
    })
  })

  describe('polycloud inspect shows a message body flagged base64 that is not as undecodable, and the rest of the event', () => {
    // Pub/Sub is the one event format whose body is base64 as delivered (Kinesis data is decoded when the record is
    // translated, and refused with it). An HTTP request flagged base64 that is not still fails the inspection with
    // the 400 its read answers, as test/conformance/aws.test.ts pins.
    it('GCP: Pub/Sub messages, for topic and queue handlers', async () => {
      for (const kind of ['topic', 'queue'] as const) {
        const result = await inspect('gcp', push({ messageId: 'm-9', data: 'not base64!' }), { kind })
        expect(result.invalid).to.equal(0)
        expect(result.events).to.have.length(1)
        expect(result.events[0]).to.deep.include({ id: 'm-9', time: '2024-05-01T10:00:00Z', bodyUndecodable: 'message m-9: data is not valid base64' })
        expect(result.events[0]).to.not.have.property('body')
      }
    })
  })
})

/** A provider's source by name. */
function source(provider: keyof typeof adapters, name: string): EventSource {
  const found = adapters[provider].sources.find((candidate) => candidate.name === name)
  if (found === undefined || found.kind === 'http') throw new EventError(`no event source ${name}`)
  return found as EventSource
}
