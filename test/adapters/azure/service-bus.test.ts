import { expect } from 'chai'
import { queue, topic, type QueueMessage, type TopicMessage } from '@polycloud/core'
import { BatchFailedError, InvalidRecord } from '@polycloud/core/adapter'
import { createAzureHandler, serviceBus, serviceBusTopic, storageQueue } from '@polycloud/azure'
import { azureFixtures, azureInput, invocation } from './support.ts'

const SB_QUEUE = { type: 'serviceBusTrigger', queueName: 'jobs', connection: 'ServiceBus' }
const SB_TOPIC = { type: 'serviceBusTrigger', topicName: 'events', subscriptionName: 'audit', connection: 'ServiceBus' }

/** Metadata as the v4 library delivers it for a Service Bus message (cardinality one). */
function meta(changes: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    messageId: 'c1a3e5d7-message',
    deliveryCount: 1,
    enqueuedTimeUtc: '2024-05-01T10:00:00',
    expiresAtUtc: '2024-05-15T10:00:00',
    lockToken: 'b9e3c0b2-lock',
    sequenceNumber: 42,
    contentType: 'application/json',
    correlationId: 'corr-1',
    subject: 'user.login',
    label: 'user.login',
    applicationProperties: { tenantId: 'A', retries: 3, flags: { beta: true }, missing: null },
    userProperties: { tenantId: 'A', retries: 3, flags: { beta: true }, missing: null },
    ...changes,
  }
}

describe('azure/service-bus', () => {
  it('recognises Service Bus triggers, or Service Bus metadata when no type is stated, and nothing else', () => {
    expect(serviceBus.canHandle(azureInput('x', SB_QUEUE))).to.equal(true)
    expect(serviceBus.canHandle(azureInput('x', SB_TOPIC))).to.equal(true)
    expect(serviceBus.canHandle(azureInput('x', undefined, { triggerMetadata: meta() }))).to.equal(true)
    expect(serviceBus.canHandle(azureInput('x', { type: 'queueTrigger' }, { triggerMetadata: meta() }))).to.equal(false)
    expect(storageQueue.canHandle(azureInput('x', undefined, { triggerMetadata: meta() }))).to.equal(false)
    expect(serviceBusTopic.canHandle(azureInput('x', SB_TOPIC))).to.equal(true)
    expect(serviceBusTopic.canHandle(azureInput('x', SB_QUEUE))).to.equal(false)
    // Without the binding options a subscription cannot be told from a queue.
    expect(serviceBusTopic.canHandle(azureInput('x', undefined, { triggerMetadata: meta() }))).to.equal(false)
    for (const [path, input] of azureFixtures()) {
      expect(serviceBus.canHandle(input), path).to.equal(false)
      expect(serviceBusTopic.canHandle(input), path).to.equal(false)
    }
  })

  it('translates a queue message: id, UTC time, attempt, session, properties as strings', () => {
    const body = { action: 'login' }
    const input = azureInput(body, SB_QUEUE, { triggerMetadata: meta({ deliveryCount: 2, sessionId: 'session-9' }) })
    const [event] = serviceBus.getEvents(input) as QueueMessage[]
    expect(event).to.deep.include({
      kind: 'queue',
      id: 'c1a3e5d7-message',
      // The extension drops the Z of its UTC times.
      time: '2024-05-01T10:00:00.000Z',
      source: 'jobs',
      queue: 'jobs',
      attempt: 2,
      groupId: 'session-9',
      native: input,
    })
    // Names as the library delivers them (first letter lower-cased); non-strings JSON-encoded; nulls left out.
    expect(event?.attributes).to.deep.equal({ tenantId: 'A', retries: '3', flags: '{"beta":true}' })
    expect(event?.json()).to.equal(body)
    expect(event?.body).to.equal('{"action":"login"}')
  })

  it('gives a numeric-looking message id back as a string', () => {
    const [event] = serviceBus.getEvents(azureInput('x', SB_QUEUE, { triggerMetadata: meta({ messageId: 12345 }) })) as QueueMessage[]
    expect(event?.id).to.equal('12345')
  })

  it('reads a topic subscription as a queue (entity path) for queue handlers and as a topic for topic handlers', () => {
    const input = azureInput('plain text', SB_TOPIC, { triggerMetadata: meta({ subject: '', label: 'legacy-label', applicationProperties: undefined }) })
    const [asQueue] = serviceBus.getEvents(input) as QueueMessage[]
    expect(asQueue).to.deep.include({ queue: 'events/Subscriptions/audit', source: 'events/Subscriptions/audit', body: 'plain text' })
    const [asTopic] = serviceBusTopic.getEvents(input) as TopicMessage[]
    expect(asTopic).to.deep.include({
      kind: 'topic',
      id: 'c1a3e5d7-message',
      time: '2024-05-01T10:00:00.000Z',
      topic: 'events',
      source: 'events/Subscriptions/audit',
      subject: 'legacy-label',
      attributes: { tenantId: 'A', retries: '3', flags: '{"beta":true}' },
      body: 'plain text',
    })
  })

  it('refuses a batch (cardinality many) message by message, naming the fix', () => {
    const input = azureInput(['a', { b: 1 }], { ...SB_QUEUE, cardinality: 'many' }, { triggerMetadata: { messageIdArray: ['m1', 'm2'], deliveryCountArray: [1, 1] } })
    expect(serviceBus.canHandle(input)).to.equal(true)
    const records = serviceBus.getEvents(input)
    expect(records.map((record) => record.id)).to.deep.equal(['m1', 'm2'])
    for (const record of records) {
      expect(record).to.be.instanceOf(InvalidRecord)
      expect((record as InvalidRecord).error.message).to.match(/^azure:service-bus: cardinality 'many' .* register the function with cardinality 'one'/)
    }
  })

  it('reports a message without a messageId as invalid', () => {
    const [record] = serviceBus.getEvents(azureInput('x', SB_QUEUE, { triggerMetadata: meta({ messageId: undefined }) }))
    expect((record as InvalidRecord).error.message).to.equal('azure:service-bus: triggerMetadata.messageId must be a non-empty string, got nothing')
  })

  it('refuses metadata of the wrong type, naming the field and what it holds', () => {
    const problems = [
      [{ messageId: '' }, 'triggerMetadata.messageId must be a non-empty string, got the empty string'],
      [{ deliveryCount: 1.5 }, 'triggerMetadata.deliveryCount must be an integer of 1 or more, got the number 1.5'],
      [{ enqueuedTimeUtc: 'soon' }, 'triggerMetadata.enqueuedTimeUtc must be an RFC 3339 timestamp, got the string "soon"'],
      [{ sessionId: 5 }, 'triggerMetadata.sessionId must be a string, got the number 5'],
    ] as const
    for (const [fields, problem] of problems) {
      const [record] = serviceBus.getEvents(azureInput('x', SB_QUEUE, { triggerMetadata: meta(fields) }))
      expect((record as InvalidRecord).error.message).to.match(new RegExp(`^azure:service-bus: (event "[^"]*": )?${problem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`))
    }
  })

  it('fails the invocation when the handler throws, so Service Bus redelivers then dead-letters the message', async () => {
    const handler = createAzureHandler(
      topic(() => {
        throw new Error('nope')
      }),
      [serviceBusTopic],
    )
    const run = invocation(SB_TOPIC, { triggerMetadata: meta() })
    const error = await handler('x', run.context).catch((caught: unknown) => caught)
    expect(error).to.be.instanceOf(BatchFailedError)
    expect((error as BatchFailedError).failedIds).to.deep.equal(['c1a3e5d7-message'])

    const seen: string[] = []
    const ok = createAzureHandler(queue((event) => void seen.push(event.id)), [serviceBus])
    expect(await ok('x', invocation(SB_QUEUE, { triggerMetadata: meta() }).context)).to.equal(undefined)
    expect(seen).to.deep.equal(['c1a3e5d7-message'])
  })
})
