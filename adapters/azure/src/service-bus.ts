import {
  EventError,
  InvalidRecord,
  PortableQueueMessage,
  PortableTopicMessage,
  isRecord,
  jsonText,
  readCount,
  readString,
  setOwn,
  translateRecords,
  unwrapMessage,
  withTrace,
  type TraceCarrier,
  type EventSource,
  type NeutralEvent,
  type QueueMessage,
  type TopicMessage,
  throwIfFailed,
} from '@polycloud/core/adapter'
import { anyPayload, idString, isTrigger, isoTime, metadata, metadataId, triggerOption, type AzureInput } from './input.js'
import { messagePayload } from './message.js'

/**
 * A Service Bus trigger invocation (queue or topic subscription, cardinality `one`): the message body as the
 * library hands it over (JSON text parsed, binary as a Buffer) and its metadata (`messageId`, `deliveryCount`,
 * `enqueuedTimeUtc`, `subject`/`label`, `applicationProperties`, `sessionId`, ...).
 */
export type ServiceBusInput = AzureInput<unknown>

function hasServiceBusMetadata(input: AzureInput): boolean {
  const meta = metadata(input)
  if (Array.isArray(meta.messageIdArray) && Array.isArray(meta.deliveryCountArray)) return true
  return typeof meta.deliveryCount === 'number' && 'messageId' in meta && ('lockToken' in meta || 'enqueuedTimeUtc' in meta)
}

/** Cardinality `many`: the handler gets an array and the metadata has `...Array` keys. */
function isBatch(input: AzureInput): boolean {
  return input.context.options.trigger.cardinality === 'many' || Array.isArray(metadata(input).messageIdArray)
}

/** The topic of a topic-subscription trigger, from its binding options. */
function topicName(input: AzureInput): string | undefined {
  return triggerOption(input, 'topicName')
}

/** The entity the trigger reads: the queue, or `<topic>/Subscriptions/<subscription>` (Service Bus's own path). */
function entityPath(input: AzureInput): string {
  const queue = triggerOption(input, 'queueName')
  if (queue !== undefined) return queue
  const topic = topicName(input)
  if (topic === undefined) return ''
  return `${topic}/Subscriptions/${triggerOption(input, 'subscriptionName') ?? ''}`
}

/**
 * Application properties as strings. The library lower-cases the first letter of every metadata key, property
 * names included (`TenantId` arrives as `tenantId`); values that are not strings are JSON-encoded.
 */
function properties(meta: Readonly<Record<string, unknown>>): Record<string, string> {
  const source = isRecord(meta.applicationProperties) ? meta.applicationProperties : meta.userProperties
  const out: Record<string, string> = {}
  if (!isRecord(source)) return out
  for (const name of Object.keys(source)) {
    const value = source[name]
    if (value === undefined || value === null) continue
    setOwn(out, name, typeof value === 'string' ? value : (jsonText(value) ?? ''))
  }
  return out
}

/** An optional string of the metadata, '' counting as none. */
function nonEmpty(value: unknown, field: string): string | undefined {
  return readString(value, `triggerMetadata.${field}`) || undefined
}

interface Common {
  readonly id: string
  readonly time: string
  readonly native: ServiceBusInput
  readonly payload: ReturnType<typeof messagePayload>
  readonly attributes: Record<string, string>
  readonly trace: TraceCarrier | undefined
}

/**
 * The trace a Service Bus message carries: its `traceparent` application property (what Polycloud and OpenTelemetry
 * send), else `Diagnostic-Id` (what the Azure SDKs send, in W3C form; the Functions library hands it over as
 * `diagnostic-Id`).
 */
function messageTrace(trace: TraceCarrier | undefined, properties: Readonly<Record<string, string>>): TraceCarrier | undefined {
  if (trace !== undefined) return trace
  const diagnostic = properties['diagnostic-Id'] ?? properties['Diagnostic-Id']
  return diagnostic === undefined ? undefined : { traceparent: diagnostic }
}

function common(input: ServiceBusInput): Common {
  const meta = metadata(input)
  // A body the Functions library would not hand over unchanged comes in Polycloud's envelope (core's envelope.ts).
  const props = properties(meta)
  const received = unwrapMessage(messagePayload(input.input), props)
  return {
    id: metadataId(meta.messageId, 'triggerMetadata.messageId'),
    time: isoTime(meta.enqueuedTimeUtc, 'triggerMetadata.enqueuedTimeUtc'),
    native: input,
    payload: received.payload,
    attributes: received.attributes,
    trace: messageTrace(received.trace, props),
  }
}

const BATCH_ERROR =
  "cardinality 'many' hands over a batch that Service Bus completes or abandons as a whole, so messages cannot " +
  "fail one by one; register the function with cardinality 'one' (the default)"

/** One event per invocation; a batch (cardinality many) is refused message by message, naming the fix. */
function single<E extends NeutralEvent>(input: ServiceBusInput, source: string, translate: (input: ServiceBusInput) => E): Array<E | InvalidRecord> {
  if (isBatch(input)) {
    const ids = metadata(input).messageIdArray
    const count = Array.isArray(input.input) ? input.input.length : Array.isArray(ids) ? ids.length : 1
    return Array.from({ length: count }, (_, i) => {
      const id = Array.isArray(ids) ? (idString(ids[i]) ?? '') : ''
      return new InvalidRecord(id, input, new EventError(`${source}: ${BATCH_ERROR}`))
    })
  }
  return translateRecords<E, ServiceBusInput>([input], translate, { source, id: (native) => idString(metadata(native).messageId) })
}

function toQueueMessage(input: ServiceBusInput): QueueMessage {
  const meta = metadata(input)
  const queue = entityPath(input)
  const fields = common(input)
  return withTrace(new PortableQueueMessage({
    ...fields,
    source: queue,
    queue,
    attempt: readCount(meta.deliveryCount, 'triggerMetadata.deliveryCount') ?? 1,
    groupId: nonEmpty(meta.sessionId, 'sessionId'),
  }), fields.trace)
}

function toTopicMessage(input: ServiceBusInput): TopicMessage {
  const meta = metadata(input)
  const topic = topicName(input) ?? ''
  const fields = common(input)
  return withTrace(new PortableTopicMessage({
    ...fields,
    source: entityPath(input),
    topic,
    subject: nonEmpty(meta.subject, 'subject') ?? nonEmpty(meta.label, 'label'),
  }), fields.trace)
}

/**
 * Service Bus messages from a queue or a topic subscription, one per invocation, for queue handlers. A throw
 * fails the invocation: the host abandons the message, Service Bus redelivers it (`deliveryCount` goes up) and
 * dead-letters it after the entity's MaxDeliveryCount (default 10).
 */
export const serviceBus: EventSource<ServiceBusInput, QueueMessage, void> = {
  name: 'azure:service-bus',
  kind: 'queue',
  canHandle: (input): input is ServiceBusInput => isTrigger(input, 'servicebustrigger', hasServiceBusMetadata, anyPayload),
  getEvents: (input) => single(input, 'azure:service-bus', toQueueMessage),
  getResult: (_input, failed) => throwIfFailed('azure:service-bus', failed),
}

/**
 * A topic subscription's messages for topic handlers (the binding must name its `topicName`). Failure works as
 * for {@link serviceBus}: the message is abandoned, redelivered to this subscription, then dead-lettered.
 */
export const serviceBusTopic: EventSource<ServiceBusInput, TopicMessage, void> = {
  name: 'azure:service-bus-topic',
  kind: 'topic',
  canHandle: (input): input is ServiceBusInput =>
    isTrigger(input, 'servicebustrigger', (value) => hasServiceBusMetadata(value) && topicName(value) !== undefined, (value) => topicName(value) !== undefined),
  getEvents: (input) => single(input, 'azure:service-bus-topic', toTopicMessage),
  getResult: (_input, failed) => throwIfFailed('azure:service-bus-topic', failed),
}
