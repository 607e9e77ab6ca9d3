import { expect } from 'chai'
import { queue, type QueueMessage } from '@polycloud/core'
import { BatchFailedError, InvalidRecord } from '@polycloud/core/adapter'
import { lambda, sqs, type SqsBatchResponse, type SqsEvent } from '@polycloud/aws'
import { fixture, fixturePaths } from '../../helpers/fixtures.ts'
import { captureStdout, lambdaContext } from './support.ts'

function batch(bodies: string[], arn = 'arn:aws:sqs:eu-west-1:123456789012:orders'): SqsEvent {
  const template = fixture<SqsEvent>('aws/sqs/ptts__base.json').Records[0]
  return {
    Records: bodies.map((body, i) => ({
      ...template!,
      messageId: `m${i + 1}`,
      body,
      eventSourceARN: arn,
      attributes: { ...template!.attributes, ApproximateReceiveCount: '1', MessageGroupId: arn.endsWith('.fifo') ? 'g' : undefined },
    })),
  }
}

describe('aws/sqs', () => {
  it('recognises SQS batches (including those carrying S3 or SNS payloads) only', () => {
    const sqsLike = ['aws/sqs/', 'aws/s3/ptts__sqs-event.json']
    for (const path of fixturePaths('aws')) {
      expect(sqs.canHandle(fixture(path)), path).to.equal(sqsLike.some((prefix) => path.startsWith(prefix)))
    }
  })

  it('reports only the failed messages as batchItemFailures', async () => {
    const seen: string[] = []
    const handler = lambda(
      queue((message) => {
        seen.push(message.id)
        if (message.json<{ ok: boolean }>().ok === false) throw new Error('rejected')
      }),
    )
    const { result } = await captureStdout(
      () => handler(batch(['{"ok":true}', '{"ok":false}', '{"ok":true}', 'not json']), lambdaContext()) as Promise<SqsBatchResponse>,
    )
    expect(seen).to.deep.equal(['m1', 'm2', 'm3', 'm4'])
    expect(result).to.deep.equal({ batchItemFailures: [{ itemIdentifier: 'm2' }, { itemIdentifier: 'm4' }] })
  })

  it('returns an empty failure list when every message succeeds', async () => {
    const handler = lambda(queue(() => {}))
    expect(await handler(batch(['a', 'b']), lambdaContext())).to.deep.equal({ batchItemFailures: [] })
  })

  it('stops a FIFO batch at the first failure, failing the rest unattempted', async () => {
    const seen: string[] = []
    const handler = lambda(
      queue((message) => {
        seen.push(message.id)
        if (message.body === 'bad') throw new Error('x')
      }),
    )
    const { result } = await captureStdout(() => handler(batch(['a', 'bad', 'c', 'd'], 'arn:aws:sqs:eu-west-1:1:jobs.fifo'), lambdaContext()))
    expect(seen).to.deep.equal(['m1', 'm2'])
    expect(result).to.deep.equal({
      batchItemFailures: [{ itemIdentifier: 'm2' }, { itemIdentifier: 'm3' }, { itemIdentifier: 'm4' }],
    })
  })

  it('gives each message its queue, attempt, group and attributes', async () => {
    const messages: QueueMessage[] = []
    const event = batch(['x'], 'arn:aws:sqs:eu-west-1:1:jobs.fifo')
    event.Records[0]!.attributes!.ApproximateReceiveCount = '3'
    await lambda(queue((message) => void messages.push(message)))(event, lambdaContext())
    expect(messages[0]).to.include({ queue: 'jobs.fifo', attempt: 3, groupId: 'g', body: 'x' })
    expect(new TextDecoder().decode(messages[0]!.bytes())).to.equal('x')
  })

  it('fails a record without a body on its own, translated as invalid', async () => {
    const event = batch(['ok', 'ok'])
    delete (event.Records[1] as Partial<(typeof event.Records)[number]>).body
    const { result, lines } = await captureStdout(() => lambda(queue(() => {}))(event, lambdaContext()))
    expect(result).to.deep.equal({ batchItemFailures: [{ itemIdentifier: 'm2' }] })
    expect(lines[0]).to.include({ message: 'record could not be translated', recordId: 'm2' })
  })

  it('refuses a message whose attributes are of the wrong type, naming the field and what it holds; the others run', () => {
    const event = batch(['a', 'b', 'c', 'd', 'e', 'f'])
    const records = event.Records as Array<Record<string, unknown> & { attributes: Record<string, unknown> }>
    records[1]!.attributes.SentTimestamp = 'yesterday'
    records[2]!.attributes.ApproximateReceiveCount = '0'
    records[3]!.attributes.MessageGroupId = 7
    records[4]!.messageAttributes = { k: { dataType: 'String', stringValue: 5 } }
    ;(records[5] as Record<string, unknown>).attributes = 'x'
    const items = sqs.getEvents(event)
    expect(items.map((item) => (item instanceof InvalidRecord ? item.error.message : item.id))).to.deep.equal([
      'm1',
      'aws:sqs: Records[1] ("m2"): attributes.SentTimestamp must be a time in milliseconds since the epoch (from year 0 to 9999), got the string "yesterday"',
      'aws:sqs: Records[2] ("m3"): attributes.ApproximateReceiveCount must be an integer of 1 or more, got the string "0"',
      'aws:sqs: Records[3] ("m4"): attributes.MessageGroupId must be a string, got the number 7',
      'aws:sqs: Records[4] ("m5"): messageAttributes["k"] must be an entry with a string value, got the number 5',
      'aws:sqs: Records[5] ("m6"): attributes must be an object, got the string "x"',
    ])
  })

  it('reads a binary attribute as its base64, and the sent time from its milliseconds', () => {
    const event = batch(['a'])
    const record = event.Records[0] as Record<string, unknown> & { attributes: Record<string, unknown> }
    record.attributes.SentTimestamp = '1714557600123'
    record.messageAttributes = { bin: { dataType: 'Binary', binaryValue: 'AAE=', stringValue: null } }
    const [message] = sqs.getEvents(event) as QueueMessage[]
    expect(message).to.deep.include({ time: '2024-05-01T10:00:00.123Z', attributes: { bin: 'AAE=' } })
  })

  it('fails the whole batch, with the reason, when a failed item has no messageId to name it by (null included)', async () => {
    const event = batch(['a']) as unknown as { Records: unknown[] }
    event.Records.push(null, { ...(event.Records[0] as object), messageId: '' })
    const { result } = await captureStdout(() => lambda(queue(() => {}))(event, lambdaContext()).catch((e: unknown) => e))
    expect(result).to.be.instanceOf(BatchFailedError)
    expect((result as Error).message).to.equal('aws:sqs: 2 event(s) failed: Records[1], Records[2]; a failed message has no messageId, so the whole batch is retried')
  })
})
