/**
 * An in-memory driver of @polycloud/resources, for unit tests of handlers that use resources: objects and store
 * entries kept in maps, messages recorded as the neutral events the subscribed handlers would receive (feed them to `send`). Every
 * argument and limit is checked as on a cloud (the limits of the provider named by `as`, AWS's by default).
 *
 * ```ts
 * const resources = memoryResources()
 * useResources(resources)
 * await request(upload, { method: 'PUT', url: '/a.txt', body: 'hi' })
 * expect(resources.sent('orders')[0]?.json()).to.deep.equal({ key: 'a.txt' })
 * ```
 */
import { createHash } from 'node:crypto'
import { PortableQueueMessage, PortableTopicMessage, TRACEPARENT_ATTRIBUTE, TRACESTATE_ATTRIBUTE, withTrace, type QueueMessage, type TopicMessage } from '@polycloud/core/adapter'

/**
 * A recorded message as the clouds' sources deliver it: the trace attributes the client added taken off the
 * attributes into the event's trace (the receiving handler continues the sender's trace, as it does deployed).
 */
function received<M extends QueueMessage | TopicMessage>(event: M): M {
  const attributes = event.attributes as Record<string, string>
  const traceparent = attributes[TRACEPARENT_ATTRIBUTE]
  if (traceparent === undefined) return event
  const tracestate = attributes[TRACESTATE_ATTRIBUTE]
  delete attributes[TRACEPARENT_ATTRIBUTE]
  delete attributes[TRACESTATE_ATTRIBUTE]
  return withTrace(event, { traceparent, tracestate })
}
import type { ObjectInfo, ObjectList, PutResult, StoredObject } from '@polycloud/resources'
import {
  DriverError,
  objectList,
  storedObject,
  utf8Length,
  type BucketBackend,
  type Call,
  type EncodedMessage,
  type MessageBackend,
  type MessageLimits,
  type ObjectLimits,
  type OutgoingMessage,
  type ResourceDriver,
  type ResourceKind,
  type StoreRecord,
} from '@polycloud/resources/driver'
import { memoryEntries, memoryStore, type MemoryEntry } from './store.js'
import { AWS_LIMITS } from '@polycloud/aws/resources'
import { AZURE_LIMITS } from '@polycloud/azure/resources'
import { CLOUDFLARE_LIMITS } from '@polycloud/cloudflare/resources'
import { GCP_LIMITS } from '@polycloud/gcp/resources'

export type MemoryProvider = 'aws' | 'azure' | 'gcp' | 'cloudflare'

export interface MemoryResourcesOptions {
  /** Whose limits apply (and whether topics exist: not on Cloudflare). Default `aws`. */
  readonly as?: MemoryProvider
  /** The resources that exist, by logical name; without, any name is a resource of the kind its handle asks. */
  readonly declared?: Readonly<Record<string, ResourceKind>>
}

/** A stored object as the test sees it. */
export interface MemoryObject extends ObjectInfo {
  readonly bytes: Uint8Array
}

/** A message sent to a queue: the event a queue handler would receive, and its delay. */
export type SentMessage = QueueMessage & { readonly delaySeconds: number }

export interface MemoryResources extends ResourceDriver {
  /** The objects of a bucket, by key. */
  objects(bucket: string): ReadonlyMap<string, MemoryObject>
  /** What was sent to a queue, in order, as queue events. */
  sent(queue: string): readonly SentMessage[]
  /** What was published to a topic, in order, as topic events. */
  published(topic: string): readonly TopicMessage[]
  /** The entries of a key-value store, by key (expired ones included, with their `expires`). */
  entries(store: string): ReadonlyMap<string, MemoryEntry>
  /** Forgets every object and message. */
  clear(): void
}

const LIMITS: Readonly<Record<MemoryProvider, { objects: ObjectLimits; queue: MessageLimits; topic: MessageLimits | undefined }>> = {
  aws: { objects: AWS_LIMITS.s3, queue: AWS_LIMITS.sqs, topic: AWS_LIMITS.sns },
  azure: { objects: AZURE_LIMITS.blob, queue: AZURE_LIMITS.storageQueue, topic: { ...AZURE_LIMITS.serviceBus, maxBatchMessages: 1 } },
  gcp: { objects: GCP_LIMITS.storage, queue: GCP_LIMITS.pubsub, topic: { ...GCP_LIMITS.pubsub, maxBatchMessages: 1 } },
  cloudflare: { objects: CLOUDFLARE_LIMITS.r2, queue: CLOUDFLARE_LIMITS.queues, topic: undefined },
}

interface Encoded extends EncodedMessage {
  readonly message: OutgoingMessage
}

let sequence = 0

export function memoryResources(options: MemoryResourcesOptions = {}): MemoryResources {
  const as = options.as ?? 'aws'
  const limits = LIMITS[as]
  const buckets = new Map<string, Map<string, MemoryObject>>()
  const queues = new Map<string, SentMessage[]>()
  const topics = new Map<string, TopicMessage[]>()
  const stores = new Map<string, Map<string, StoreRecord>>()

  const bucketOf = (name: string): Map<string, MemoryObject> => {
    let bucket = buckets.get(name)
    if (bucket === undefined) buckets.set(name, (bucket = new Map()))
    return bucket
  }

  const encoder = (messageLimits: MessageLimits, record: (message: OutgoingMessage) => void): MessageBackend<Encoded> => ({
    limits: messageLimits,
    encode: (message) => {
      let size = message.bytes.length
      for (const name of Object.keys(message.attributes)) size += utf8Length(name) + utf8Length(message.attributes[name] as string)
      return { size, message }
    },
    send: async (messages, _batch, call) => {
      call.signal?.throwIfAborted()
      for (const { message } of messages) record(message)
    },
  })

  const payload = (message: OutgoingMessage) => (message.source === 'json' ? { value: message.value } : message.text !== undefined && message.source === 'text' ? { text: message.text } : { bytes: new Uint8Array(message.bytes) })

  const bucketBackend = (name: string): BucketBackend => ({
    limits: limits.objects,
    async put(key: string, bytes: Uint8Array, contentType: string, metadata: Readonly<Record<string, string>>, call: Call): Promise<PutResult> {
      call.signal?.throwIfAborted()
      const etag = createHash('md5').update(bytes).digest('hex')
      bucketOf(name).set(key, { key, size: bytes.length, etag, contentType, metadata: { ...metadata }, uploaded: new Date().toISOString(), bytes: new Uint8Array(bytes) })
      return { key, size: bytes.length, etag }
    },
    async get(key: string, call: Call): Promise<StoredObject | null> {
      call.signal?.throwIfAborted()
      const object = buckets.get(name)?.get(key)
      if (object === undefined) return null
      const { bytes, ...info } = object
      return storedObject(info, { bytes: new Uint8Array(bytes) })
    },
    async head(key: string, call: Call): Promise<ObjectInfo | null> {
      call.signal?.throwIfAborted()
      const object = buckets.get(name)?.get(key)
      if (object === undefined) return null
      const { bytes: _bytes, ...info } = object
      return info
    },
    async delete(key: string, call: Call): Promise<void> {
      call.signal?.throwIfAborted()
      buckets.get(name)?.delete(key)
    },
    async list(prefix: string, cursor: string | undefined, limit: number, call: Call): Promise<ObjectList> {
      call.signal?.throwIfAborted()
      const after = cursor === undefined ? '' : Buffer.from(cursor, 'base64url').toString('utf8')
      const keys = [...(buckets.get(name)?.keys() ?? [])].filter((key) => key.startsWith(prefix) && key > after).sort()
      const page = keys.slice(0, limit).map((key) => {
        const { key: k, size, etag, uploaded } = buckets.get(name)?.get(key) as MemoryObject
        return { key: k, size, etag, uploaded }
      })
      return objectList(page, keys.length > limit ? Buffer.from(page.at(-1)?.key ?? '').toString('base64url') : undefined)
    },
  })

  return {
    provider: 'memory',
    locate(kind, name) {
      const declared = options.declared
      if (declared === undefined) return { kind, name }
      const declaredKind = Object.hasOwn(declared, name) ? declared[name] : undefined
      return declaredKind === undefined ? undefined : { kind: declaredKind, name }
    },
    bucket: (name) => bucketBackend(name),
    queue: (name) =>
      encoder(limits.queue, (message) => {
        const id = `memory-${++sequence}`
        const event = Object.assign(
          received(new PortableQueueMessage({ id, time: new Date().toISOString(), source: name, native: null, payload: payload(message), attributes: { ...message.attributes }, queue: name, attempt: 1 })),
          { delaySeconds: message.delaySeconds },
        )
        queues.set(name, [...(queues.get(name) ?? []), event])
      }),
    topic: (name) => {
      if (limits.topic === undefined) throw new DriverError('Invalid', `Cloudflare has no topics: ${JSON.stringify(name)} cannot be published to on Workers (use a queue)`)
      return encoder(limits.topic, (message) => {
        const id = `memory-${++sequence}`
        const event = received(new PortableTopicMessage({ id, time: new Date().toISOString(), source: name, native: null, payload: payload(message), attributes: { ...message.attributes }, topic: name, subject: message.subject }))
        topics.set(name, [...(topics.get(name) ?? []), event])
      })
    },
    store: (name) => {
      let entries = stores.get(name)
      if (entries === undefined) stores.set(name, (entries = new Map()))
      return memoryStore(entries)
    },
    objects: (bucket) => buckets.get(bucket) ?? new Map(),
    entries: (store) => memoryEntries(stores.get(store)),
    sent: (queue) => queues.get(queue) ?? [],
    published: (topic) => topics.get(topic) ?? [],
    clear() {
      buckets.clear()
      queues.clear()
      topics.clear()
      for (const entries of stores.values()) entries.clear()
    },
  }
}
