import {
  EventError,
  PortableQueueMessage,
  translateRecords,
  type InvalidRecord,
  type NeutralEvent,
  PortableTopicMessage,
  isRecord,
  readCount,
  readId,
  readString,
  readStrings,
  readTime,
  type EventSource,
  type QueueMessage,
  type TopicMessage,
  throwIfFailed,
  unwrapMessage,
} from '@polycloud/core/adapter'
import { cloudEventData, isCloudEventOfType, resourceName, type GcpCloudEvent } from './cloud-event.js'

export const MESSAGE_PUBLISHED = 'google.cloud.pubsub.topic.v1.messagePublished'

/** A Pub/Sub message in JSON form (proto3 JSON; Eventarc also sends the snake_case duplicates). */
export interface PubSubMessage {
  /** Base64; absent when the message has no data. */
  data?: string
  attributes?: Record<string, string>
  messageId?: string
  message_id?: string
  publishTime?: string
  publish_time?: string
  orderingKey?: string
  ordering_key?: string
  [key: string]: unknown
}

/** MessagePublishedData, the CloudEvent's data; also the body of a Pub/Sub push request. */
export interface MessagePublishedData {
  message: PubSubMessage
  /** `projects/P/subscriptions/S`; absent in events converted from legacy ones. */
  subscription?: string
  /** Push subscriptions with a dead-letter policy only: 1 on the first delivery. */
  deliveryAttempt?: number
  [key: string]: unknown
}

/** A Pub/Sub push request body as the subscription POSTs it (to an HTTP function). */
export interface PubSubPushBody extends MessagePublishedData {
  subscription: string
}

/** A `messagePublished` CloudEvent (Eventarc, or FF's conversion of a push or legacy request), or a raw push body. */
export type PubSubInput = GcpCloudEvent | PubSubPushBody

/**
 * Whether an input is the body of a Pub/Sub push request: `{ message: { messageId, ... }, subscription }` and no
 * CloudEvent attributes. (google-cloudevents' MessagePublishedData testdata has exactly this shape: the push body
 * and the event's data are the same message.)
 */
export function isPushBody(input: unknown): input is PubSubPushBody {
  if (!isRecord(input) || typeof input.subscription !== 'string' || 'specversion' in input) return false
  const message = input.message
  return isRecord(message) && (typeof message.messageId === 'string' || typeof message.message_id === 'string')
}

function isPubSubInput(input: unknown): input is PubSubInput {
  return isCloudEventOfType(input, MESSAGE_PUBLISHED) || isPushBody(input)
}

/** What both neutral forms of a Pub/Sub message are built from, each field read by its rule. */
interface Delivery {
  readonly native: PubSubInput
  readonly message: PubSubMessage
  readonly id: string
  readonly time: string
  /** The CloudEvent source `//pubsub.googleapis.com/projects/P/topics/T`, or undefined for a push body. */
  readonly topicPath: string | undefined
  readonly subscription: string | undefined
  readonly attempt: number
  readonly groupId: string | undefined
  readonly attributes: Readonly<Record<string, string>>
}

/** What errors call a delivery's members, by where the message is: a push body's, or an event's `data`. */
interface FieldNames {
  readonly [member: string]: string
}

function fieldNames(message: string, data: string): FieldNames {
  const names: Record<string, string> = { subscription: `${data}subscription`, deliveryAttempt: `${data}deliveryAttempt` }
  for (const member of ['messageId', 'message_id', 'publishTime', 'publish_time', 'orderingKey', 'ordering_key', 'attributes']) {
    names[member] = `${message}.${member}`
  }
  return names
}

// Written once: a delivery that is read builds no strings for the errors it does not have.
const IN_PUSH = fieldNames('message', '')
const IN_EVENT = fieldNames('data.message', 'data.')

/** Which spelling of a member a message uses: camelCase, or snake_case (Eventarc sends both) without the first. */
function spelling(message: PubSubMessage, camel: string, snake: string): string {
  const value = message[camel]
  return value === undefined || value === null ? snake : camel
}

function present(value: unknown): boolean {
  return value !== undefined && value !== null
}

/**
 * A message's id and publish time, read by their rules (a message id is a non-empty string, a publish time an
 * RFC 3339 timestamp): what a push body (anyone who finds the URL can send one) or an event carries is checked,
 * not trusted. In an event (`where` 'event'), a message without them takes the CloudEvent's own id and time.
 */
export function messageStamp(message: PubSubMessage, where: 'push' | 'event', event?: { readonly id: string; readonly time?: unknown }): { id: string; time: string } {
  const names = where === 'push' ? IN_PUSH : IN_EVENT
  const idName = spelling(message, 'messageId', 'message_id')
  const timeName = spelling(message, 'publishTime', 'publish_time')
  const id = message[idName]
  const time = message[timeName]
  return {
    id: event !== undefined && !present(id) ? event.id : readId(id, names[idName] as string),
    time: event !== undefined && !present(time) ? readTime(event.time, 'time') : readTime(time, names[timeName] as string),
  }
}

function readDelivery(input: PubSubInput, source: string): Delivery {
  if (isPushBody(input)) return delivery(input, input.message, messageStamp(input.message, 'push'), undefined, input, IN_PUSH)
  const event = input as GcpCloudEvent
  const data = cloudEventData(event)
  if (data instanceof Uint8Array) {
    throw new EventError(
      `${source}: event ${event.id} has binary data; MessagePublishedData is delivered as JSON ` +
        '(binary-mode content type application/json)',
    )
  }
  if (!isRecord(data) || !isRecord(data.message)) {
    throw new EventError(`${source}: event ${event.id} has no data.message (MessagePublishedData)`)
  }
  const message = data.message as PubSubMessage
  return delivery(event, message, messageStamp(message, 'event', event), event.source, data, IN_EVENT)
}

function delivery(
  native: PubSubInput,
  message: PubSubMessage,
  stamp: { id: string; time: string },
  topicPath: string | undefined,
  data: Readonly<Record<string, unknown>>,
  names: FieldNames,
): Delivery {
  const groupName = spelling(message, 'orderingKey', 'ordering_key')
  const groupId = readString(message[groupName], names[groupName] as string)
  return {
    native,
    message,
    id: stamp.id,
    time: stamp.time,
    topicPath,
    subscription: readString(data.subscription, names.subscription as string),
    attempt: readCount(data.deliveryAttempt, names.deliveryAttempt as string) ?? 1,
    groupId: groupId === '' ? undefined : groupId,
    attributes: readStrings(message.attributes, names.attributes as string),
  }
}

function dataOf(message: PubSubMessage, id: string, source: string): string {
  const data = message.data ?? ''
  if (typeof data !== 'string') throw new EventError(`${source}: message ${id}: data must be a base64 string`)
  return data
}

function translate<E extends NeutralEvent>(input: PubSubInput, source: string, build: (delivery: Delivery) => E): Array<E | InvalidRecord> {
  return translateRecords<E, PubSubInput>([input], (record) => build(readDelivery(record, source)), {
    source,
    id: (record) => {
      const id: unknown = isPushBody(record) ? (record.message.messageId ?? record.message.message_id) : record.id
      return typeof id === 'string' ? id : undefined
    },
  })
}

function toTopicMessage(delivery: Delivery): TopicMessage {
  const { message, id } = delivery
  // Pub/Sub has no subject: Polycloud's publisher sends it as an attribute (core's envelope.ts).
  const received = unwrapMessage({ base64: dataOf(message, id, 'gcp:pubsub') }, delivery.attributes)
  return new PortableTopicMessage({
    id,
    time: delivery.time,
    source: delivery.topicPath ?? delivery.subscription ?? '',
    native: delivery.native,
    payload: received.payload,
    attributes: received.attributes,
    topic: resourceName(delivery.topicPath, 'topics') ?? '',
    ...(received.subject === undefined ? {} : { subject: received.subject }),
  })
}

function toQueueMessage(delivery: Delivery, queues?: Readonly<Record<string, string>>): QueueMessage {
  const { message, id } = delivery
  const subscription = resourceName(delivery.subscription, 'subscriptions')
  const declared = subscription === undefined || queues === undefined ? undefined : Object.hasOwn(queues, subscription) ? queues[subscription] : undefined
  return new PortableQueueMessage({
    id,
    time: delivery.time,
    source: delivery.subscription ?? delivery.topicPath ?? '',
    native: delivery.native,
    payload: { base64: dataOf(message, id, 'gcp:pubsub-queue') },
    attributes: delivery.attributes,
    queue: declared ?? subscription ?? resourceName(delivery.topicPath, 'topics') ?? '',
    attempt: delivery.attempt,
    groupId: delivery.groupId,
  })
}

/**
 * A Pub/Sub message for a topic handler: from a `messagePublished` CloudEvent (an Eventarc trigger) or a push
 * request body. The topic is the short name from the event source; a push body does not name it ('' then).
 */
export const gcpPubSub: EventSource<PubSubInput, TopicMessage, void> = {
  name: 'gcp:pubsub',
  kind: 'topic',
  canHandle: isPubSubInput,
  getEvents: (input) => translate(input, 'gcp:pubsub', toTopicMessage),
  getResult: (_input, failed) => throwIfFailed('gcp:pubsub', failed),
}

/**
 * A Pub/Sub message for a queue handler: Polycloud's neutral queue is a Pub/Sub subscription on GCP. The queue is
 * the subscription's short name (the topic's when the event does not name one; see {@link namedPubSubQueue} for the
 * name the deploy gave the queue), the attempt is the push body's
 * `deliveryAttempt` (set only when the subscription has a dead-letter policy, else 1), the group its ordering key.
 * One message per delivery: a throw answers non-2xx and Pub/Sub redelivers that message alone.
 */
export const gcpPubSubQueue: EventSource<PubSubInput, QueueMessage, void> = {
  name: 'gcp:pubsub-queue',
  kind: 'queue',
  canHandle: isPubSubInput,
  getEvents: (input) => translate(input, 'gcp:pubsub-queue', (delivery) => toQueueMessage(delivery)),
  getResult: (_input, failed) => throwIfFailed('gcp:pubsub-queue', failed),
}

/**
 * {@link gcpPubSubQueue} for a function whose push subscriptions the deploy named: each message's queue is the
 * neutral queue its subscription delivers (`queues`: subscription id -> queue, the queue's topic as deployed), as a
 * queue is named on every other provider, not the subscription (one per consuming function). A subscription not in
 * `queues` keeps its own name.
 */
export function namedPubSubQueue(queues: Readonly<Record<string, string>>): EventSource<PubSubInput, QueueMessage, void> {
  return { ...gcpPubSubQueue, getEvents: (input) => translate(input, 'gcp:pubsub-queue', (delivery) => toQueueMessage(delivery, queues)) }
}
