import { expect } from 'chai'
import { BatchFailedError, type QueueMessage, type TopicMessage } from '@polycloud/core/adapter'
import { gcpPubSub, gcpPubSubQueue, isPushBody, namedPubSubQueue, type PubSubPushBody } from '@polycloud/gcp'
import { fixture } from '../../helpers/fixtures.ts'
import { envelope, invalid, single } from './support.ts'

const TYPE = 'google.cloud.pubsub.topic.v1.messagePublished'
const SOURCE = '//pubsub.googleapis.com/projects/p/topics/orders'

function publishedEvent(data: unknown, extra: Record<string, unknown> = {}) {
  return envelope(TYPE, data, { source: SOURCE, ...extra })
}

const message = { data: Buffer.from('{"order":42}').toString('base64'), attributes: { kind: 'new' }, messageId: '101', publishTime: '2024-05-01T09:59:59.5Z' }

describe('gcp/pubsub', () => {
  it('accepts messagePublished events and push bodies only', () => {
    expect(gcpPubSub.canHandle(publishedEvent({ message }))).to.equal(true)
    expect(gcpPubSub.canHandle({ message, subscription: 'projects/p/subscriptions/s' })).to.equal(true)
    expect(gcpPubSubQueue.canHandle(fixture('gcp/pubsub/gce__MessagePublishedData-text.json'))).to.equal(true)
    expect(gcpPubSub.canHandle(fixture('gcp/storage/gce__StorageObjectDataWorkflows.json'))).to.equal(false)
    expect(gcpPubSub.canHandle(fixture('gcp/pubsub/ffc__pubsub_text-legacy-input.json'))).to.equal(false)
    expect(gcpPubSub.canHandle({ message: { data: 'AA==' }, subscription: 's' })).to.equal(false)
    expect(isPushBody({ ...publishedEvent({ message }), message, subscription: 's' })).to.equal(false)
  })

  it('translates an Eventarc event into a topic message', () => {
    const event = publishedEvent({ message, subscription: 'projects/p/subscriptions/eventarc-sub' })
    const topic = single<TopicMessage>(gcpPubSub.getEvents(event))
    expect(topic).to.deep.include({ kind: 'topic', id: '101', time: '2024-05-01T09:59:59.5Z', source: SOURCE, topic: 'orders', subject: undefined, attributes: { kind: 'new' } })
    expect(topic.native).to.equal(event)
    expect(topic.body).to.equal('{"order":42}')
    expect(topic.json()).to.deep.equal({ order: 42 })
  })

  it('translates the same event into a queue message: the subscription is the queue', () => {
    const event = publishedEvent({ message: { ...message, orderingKey: 'customer-7' }, subscription: 'projects/p/subscriptions/eventarc-sub', deliveryAttempt: 4 })
    const queued = single<QueueMessage>(gcpPubSubQueue.getEvents(event))
    expect(queued).to.deep.include({
      kind: 'queue',
      id: '101',
      source: 'projects/p/subscriptions/eventarc-sub',
      queue: 'eventarc-sub',
      attempt: 4,
      groupId: 'customer-7',
      attributes: { kind: 'new' },
    })
    const noSubscription = single<QueueMessage>(gcpPubSubQueue.getEvents(publishedEvent({ message })))
    expect(noSubscription).to.deep.include({ queue: 'orders', source: SOURCE, attempt: 1, groupId: undefined })
  })

  it("names the queue as the deploy named it, from the push subscription that delivers it (namedPubSubQueue)", () => {
    const body = { message: { data: 'AQID', messageId: '8', publishTime: '2024-01-01T00:00:00Z' }, subscription: 'projects/p/subscriptions/shop-prod-orders-push' }
    const named = namedPubSubQueue({ 'shop-prod-orders-push': 'shop-prod-orders' })
    expect(named.name).to.equal(gcpPubSubQueue.name)
    expect(single<QueueMessage>(named.getEvents(body))).to.deep.include({ queue: 'shop-prod-orders', source: 'projects/p/subscriptions/shop-prod-orders-push' })
    // Another subscription keeps its own name; an inherited key is not a declared one.
    const other = { ...body, subscription: 'projects/p/subscriptions/toString' }
    expect(single<QueueMessage>(named.getEvents(other)).queue).to.equal('toString')
  })

  it('reads a push body, its deliveryAttempt and snake_case fields', () => {
    const body = { message: { data: 'AQID', message_id: '7', publish_time: '2024-01-01T00:00:00Z', ordering_key: 'k' }, subscription: 'projects/p/subscriptions/worker', deliveryAttempt: 2 }
    const queued = single<QueueMessage>(gcpPubSubQueue.getEvents(body))
    expect(queued).to.deep.include({ id: '7', time: '2024-01-01T00:00:00Z', queue: 'worker', attempt: 2, groupId: 'k', source: 'projects/p/subscriptions/worker' })
    expect([...queued.bytes()]).to.deep.equal([1, 2, 3])
    const topic = single<TopicMessage>(gcpPubSub.getEvents(body))
    expect(topic).to.deep.include({ id: '7', topic: '', source: 'projects/p/subscriptions/worker', attributes: {} })
  })

  it('falls back to the CloudEvent id and time, and gives an empty body for a message without data', () => {
    const topic = single<TopicMessage>(gcpPubSub.getEvents(publishedEvent({ message: { attributes: { only: 'attrs' } } })))
    expect(topic).to.deep.include({ id: 'evt-1', time: '2024-05-01T10:00:00.123Z', body: '' })
    expect(topic.bytes().byteLength).to.equal(0)
  })

  it('refuses a deliveryAttempt that is not a positive integer, naming it (a push body is anyone\'s to send)', () => {
    for (const [deliveryAttempt, shown] of [[0, 'the number 0'], [-1, 'the number -1'], [1.5, 'the number 1.5'], ['x', 'the string "x"'], [{}, 'an object']] as const) {
      expect(invalid(gcpPubSubQueue.getEvents(publishedEvent({ message, deliveryAttempt }))).error.message).to.equal(`gcp:pubsub-queue: event "evt-1": data.deliveryAttempt must be an integer of 1 or more, got ${shown}`)
    }
    expect(single<QueueMessage>(gcpPubSubQueue.getEvents(publishedEvent({ message, deliveryAttempt: '3' }))).attempt).to.equal(3)
  })

  it('refuses a message id, publish time, ordering key or subscription of the wrong type on every form, naming the field and what it holds', () => {
    const push = (fields: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ message: { data: '', messageId: 'm-1', ...fields }, subscription: 'projects/p/subscriptions/s', ...extra })
    const cases: Array<[unknown, string]> = [
      [push({ messageId: 5, message_id: 'm-1' }), 'message.messageId must be a non-empty string, got the number 5'],
      [push({ messageId: { n: 1 }, message_id: 'm-1' }), 'message.messageId must be a non-empty string, got an object'],
      [push({ messageId: ['m'], message_id: 'm-1' }), 'message.messageId must be a non-empty string, got an array'],
      [push({ publishTime: 1714557600 }), 'message.publishTime must be an RFC 3339 timestamp, got the number 1714557600'],
      [push({ publishTime: 'yesterday' }), 'message.publishTime must be an RFC 3339 timestamp, got the string "yesterday"'],
      [push({ publish_time: '2024-13-01T00:00:00Z' }), 'message.publish_time must be an RFC 3339 timestamp, got the string "2024-13-01T00:00:00Z"'],
      [push({ orderingKey: 7 }), 'message.orderingKey must be a string, got the number 7'],
      [push({ attributes: ['a'] }), 'message.attributes must be an object, got an array'],
      [publishedEvent({ message: { ...message, messageId: 101 } }), 'data.message.messageId must be a non-empty string, got the number 101'],
      [publishedEvent({ message: { ...message, publishTime: {} } }), 'data.message.publishTime must be an RFC 3339 timestamp, got an object'],
      [publishedEvent({ message, subscription: 5 }), 'data.subscription must be a string, got the number 5'],
      [publishedEvent({ message: { attributes: {} } }, { time: 17 }), 'time must be an RFC 3339 timestamp, got the number 17'],
    ]
    for (const [input, problem] of cases) {
      for (const source of [gcpPubSub, gcpPubSubQueue]) {
        expect(invalid(source.getEvents(input as never)).error.message, problem).to.match(new RegExp(`^${source.name}: (event "[^"]+": )?${problem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`))
      }
    }
  })

  it('gives the publish time in UTC, converting another offset, keeping a UTC one as sent', () => {
    const at = (publishTime: string) => single<TopicMessage>(gcpPubSub.getEvents({ message: { messageId: 'm', publishTime }, subscription: 's' })).time
    expect(at('2024-05-01T12:00:00.123456789Z')).to.equal('2024-05-01T12:00:00.123456789Z')
    expect(at('2024-05-01T12:00:00.5+02:00')).to.equal('2024-05-01T10:00:00.500Z')
  })

  it('makes malformed events invalid records naming the problem', () => {
    expect(invalid(gcpPubSub.getEvents(publishedEvent({ nothing: true }))).error.message).to.equal('gcp:pubsub: event evt-1 has no data.message (MessagePublishedData)')
    expect(invalid(gcpPubSubQueue.getEvents(publishedEvent(Buffer.from([8, 1])))).error.message).to.match(/^gcp:pubsub-queue: event evt-1 has binary data/)
    const badAttribute = invalid(gcpPubSub.getEvents(publishedEvent({ message: { ...message, attributes: { n: 1 } } })))
    expect(badAttribute.id).to.equal('evt-1')
    expect(badAttribute.error.message).to.equal('gcp:pubsub: event "evt-1": data.message.attributes["n"] must be a string, got the number 1')
    expect(invalid(gcpPubSub.getEvents(publishedEvent({ message: { ...message, data: 5 } }))).error.message).to.equal('gcp:pubsub: event "evt-1": message 101: data must be a base64 string')
    const malformed = JSON.parse('{"message":{"messageId":"p1","attributes":"x"},"subscription":"s"}') as PubSubPushBody
    expect(invalid(gcpPubSub.getEvents(malformed)).id).to.equal('p1')
  })

  it('defers base64 validation to the first read, which names the message', () => {
    const topic = single<TopicMessage>(gcpPubSub.getEvents(publishedEvent({ message: { ...message, data: 'not base64!' } })))
    expect(() => topic.bytes()).to.throw(SyntaxError, 'message 101: data is not valid base64')
  })

  it('throws BatchFailedError for a failed message so it is redelivered', () => {
    const event = publishedEvent({ message })
    expect(gcpPubSubQueue.getResult(event, [])).to.equal(undefined)
    expect(() => gcpPubSubQueue.getResult(event, gcpPubSubQueue.getEvents(event))).to.throw(BatchFailedError, 'gcp:pubsub-queue: 1 event(s) failed: 101')
  })
})
