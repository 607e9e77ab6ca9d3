import { expect } from 'chai'
import { queue, type QueueMessage } from '@polycloud/core'
import { BatchFailedError, InvalidRecord } from '@polycloud/core/adapter'
import { createAzureHandler, serviceBus, storageQueue } from '@polycloud/azure'
import { azureFixtures, azureInput, invocation } from './support.ts'

const QUEUE = { type: 'queueTrigger', queueName: 'orders', connection: 'AzureWebJobsStorage' }

/** Metadata as the v4 library delivers it for a queue trigger (keys camel-cased, values JSON-parsed). */
function meta(changes: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: '6a1c1b2e-0000-4000-8000-000000000001',
    dequeueCount: 1,
    popReceipt: 'AgAAAAMAAAAAAAAA',
    insertionTime: '2024-05-01T10:00:00+00:00',
    expirationTime: '2024-05-08T10:00:00+00:00',
    nextVisibleTime: '2024-05-01T10:10:00+00:00',
    ...changes,
  }
}

function message(input: unknown, changes: Record<string, unknown> = {}, trigger: Record<string, unknown> | null = QUEUE): QueueMessage {
  const events = storageQueue.getEvents(azureInput(input, trigger ?? undefined, { triggerMetadata: meta(changes) }))
  expect(events).to.have.length(1)
  return events[0] as QueueMessage
}

describe('azure/storage-queue', () => {
  it('recognises a queue trigger, or queue metadata when no trigger type is stated, and nothing else', () => {
    expect(storageQueue.canHandle(azureInput('x', QUEUE))).to.equal(true)
    expect(storageQueue.canHandle(azureInput('x', undefined, { triggerMetadata: meta() }))).to.equal(true)
    expect(storageQueue.canHandle(azureInput('x', undefined, { triggerMetadata: { messageId: 'm', deliveryCount: 1, lockToken: 'l' } }))).to.equal(false)
    expect(storageQueue.canHandle(azureInput('x', { type: 'serviceBusTrigger' }, { triggerMetadata: meta() }))).to.equal(false)
    expect(serviceBus.canHandle(azureInput('x', undefined, { triggerMetadata: meta() }))).to.equal(false)
    for (const [path, input] of azureFixtures()) expect(storageQueue.canHandle(input), path).to.equal(false)
  })

  it('translates a message and its metadata', () => {
    const input = azureInput('hello world', QUEUE, { triggerMetadata: meta({ dequeueCount: 3 }) })
    const [event] = storageQueue.getEvents(input) as QueueMessage[]
    expect(event).to.deep.include({
      kind: 'queue',
      id: '6a1c1b2e-0000-4000-8000-000000000001',
      time: '2024-05-01T10:00:00.000Z',
      source: 'orders',
      queue: 'orders',
      attempt: 3,
      groupId: undefined,
      attributes: {},
      native: input,
    })
    expect(event?.body).to.equal('hello world')
    expect(Buffer.from(event?.bytes() ?? []).toString()).to.equal('hello world')
    expect(() => event?.json()).to.throw(SyntaxError, 'message 6a1c1b2e-0000-4000-8000-000000000001: body is not valid JSON')
  })

  it('gives JSON messages, which the host has already parsed, as that value and its serialisation', () => {
    const value = { OrderId: 7, lines: [1, 2], note: 'é' }
    const event = message(value)
    expect(event.json()).to.equal(value)
    expect(event.body).to.equal('{"OrderId":7,"lines":[1,2],"note":"é"}')
    expect(Buffer.from(event.bytes()).toString()).to.equal(event.body)
    const number = message(123)
    expect([number.body, number.json()]).to.deep.equal(['123', 123])
    const flag = message(true)
    expect([flag.body, flag.json()]).to.deep.equal(['true', true])
    const nothing = message(null)
    expect([nothing.body, nothing.json()]).to.deep.equal(['null', null])
  })

  it('keeps a binary message byte for byte', () => {
    const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe])
    expect(message(bytes).bytes()).to.equal(bytes)
  })

  it('resolves a %AppSetting% queue name, and leaves the name empty when the binding does not say', () => {
    process.env.POLYCLOUD_TEST_QUEUE = 'orders-eu'
    try {
      expect(message('x', {}, { type: 'queueTrigger', queueName: '%POLYCLOUD_TEST_QUEUE%' }).queue).to.equal('orders-eu')
    } finally {
      delete process.env.POLYCLOUD_TEST_QUEUE
    }
    expect(message('x', {}, null).queue).to.equal('')
  })

  it('turns a numeric-looking id (JSON-parsed by the library) back into a string and counts attempts from 1', () => {
    const event = message('x', { id: 12345, dequeueCount: undefined })
    expect([event.id, event.attempt]).to.deep.equal(['12345', 1])
  })

  it('reports a message without an id as invalid', () => {
    const [record] = storageQueue.getEvents(azureInput('x', QUEUE, { triggerMetadata: {} }))
    expect(record).to.be.instanceOf(InvalidRecord)
    expect((record as InvalidRecord).error.message).to.equal('azure:storage-queue: triggerMetadata.id must be a non-empty string, got nothing')
  })

  it('refuses metadata of the wrong type, naming the field and what it holds', () => {
    const problems = [
      [{ id: '' }, 'triggerMetadata.id must be a non-empty string, got the empty string'],
      [{ id: { n: 1 } }, 'triggerMetadata.id must be a non-empty string, got an object'],
      [{ id: 'm', dequeueCount: 0 }, 'triggerMetadata.dequeueCount must be an integer of 1 or more, got the number 0'],
      [{ id: 'm', dequeueCount: 2 ** 53 }, 'triggerMetadata.dequeueCount must be an integer of 1 or more, got the number 9007199254740992'],
      [{ id: 'm', insertionTime: '2024-13-45T99:99:99Z' }, 'triggerMetadata.insertionTime must be an RFC 3339 timestamp, got the string "2024-13-45T99:99:99Z"'],
      [{ id: 'm', insertionTime: true }, 'triggerMetadata.insertionTime must be an RFC 3339 timestamp, got the boolean true'],
    ] as const
    for (const [triggerMetadata, problem] of problems) {
      const [record] = storageQueue.getEvents(azureInput('x', QUEUE, { triggerMetadata }))
      expect((record as InvalidRecord).error.message).to.match(new RegExp(`^azure:storage-queue: (event "m": )?${problem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`))
    }
  })

  it('fails the invocation when the handler throws, so the host retries the message then poisons it', async () => {
    const seen: string[] = []
    const handler = createAzureHandler(
      queue((event) => {
        if (event.body === 'bad') throw new Error('cannot process')
        seen.push(event.body)
      }),
      [storageQueue],
    )
    const good = invocation(QUEUE, { triggerMetadata: meta() })
    expect(await handler('good', good.context)).to.equal(undefined)
    expect(seen).to.deep.equal(['good'])

    const bad = invocation(QUEUE, { triggerMetadata: meta({ id: 'm-2', dequeueCount: 4 }) })
    const error = await handler('bad', bad.context).catch((caught: unknown) => caught)
    expect(error).to.be.instanceOf(BatchFailedError)
    expect((error as BatchFailedError).message).to.equal('azure:storage-queue: 1 event(s) failed: m-2')
    expect(bad.lines().map((line) => [line.azureLevel, line.message, line.eventId])).to.deep.equal([['error', 'event failed', 'm-2']])
  })

  it('fails the invocation for a message it cannot translate, logging why', async () => {
    const handler = createAzureHandler(queue(() => {}), [storageQueue])
    const run = invocation(QUEUE, { triggerMetadata: { dequeueCount: 1 } })
    const error = await handler('x', run.context).catch((caught: unknown) => caught)
    expect(error).to.be.instanceOf(BatchFailedError)
    const [line] = run.lines()
    expect(line).to.deep.include({ level: 'error', message: 'record could not be translated', recordId: '' })
  })
})
