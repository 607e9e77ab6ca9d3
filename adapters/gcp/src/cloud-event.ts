import {
  EventError,
  base64ToBytes,
  isBase64,
  isRecord,
  toCloudEvent as validCloudEvent,
  oneEvent,
  type CloudEvent,
  type EventSource,
  throwIfFailed,
} from '@polycloud/core/adapter'

/**
 * A CloudEvent as the Functions Framework hands it to a `cloudEvent` function: a plain object with the context
 * attributes at the top level. In structured mode it is the request body as sent; in binary mode every `ce-*`
 * header becomes an attribute and `data` is the parsed body (an object for JSON, a Buffer for protobuf). FF copies
 * the `traceparent` header onto it.
 */
export interface GcpCloudEvent {
  specversion: string
  id: string
  source: string
  type: string
  subject?: string
  time?: string
  datacontenttype?: string
  dataschema?: string
  data?: unknown
  /** Structured mode's binary data; FF does not decode it. */
  data_base64?: string
  traceparent?: string
  [attribute: string]: unknown
}

/** The attributes every CloudEvent has (CloudEvents 1.0 "REQUIRED"). */
export const REQUIRED_ATTRIBUTES = ['specversion', 'id', 'source', 'type'] as const

/** Whether an input carries the four required CloudEvent attributes as non-empty strings. */
export function isCloudEvent(input: unknown): input is GcpCloudEvent {
  return (
    isRecord(input) &&
    typeof input.specversion === 'string' &&
    typeof input.id === 'string' &&
    input.id !== '' &&
    typeof input.source === 'string' &&
    input.source !== '' &&
    typeof input.type === 'string' &&
    input.type !== ''
  )
}

/** Whether an input is a CloudEvent of one type, or of any type starting with `prefix` (ending in a dot). */
export function isCloudEventOfType(input: unknown, type: string): input is GcpCloudEvent {
  if (!isCloudEvent(input)) return false
  return type.endsWith('.') ? input.type.startsWith(type) : input.type === type
}

/** The required attributes an object lacks (empty when it is a CloudEvent). */
export function missingAttributes(input: unknown): string[] {
  if (!isRecord(input)) return [...REQUIRED_ATTRIBUTES]
  return REQUIRED_ATTRIBUTES.filter((name) => typeof input[name] !== 'string' || input[name] === '')
}

/**
 * The google-cloudevents data schema a bare payload has, if it is one: the `data` of an event without its envelope
 * (what google-cloudevents' testdata files and many docs show). Judged by the schemas' own fields.
 */
export function bareDataSchema(input: unknown): string | undefined {
  if (!isRecord(input) || isCloudEvent(input)) return undefined
  const keys = Object.keys(input)
  if (keys.length === 0) return undefined
  const only = (allowed: readonly string[]): boolean => keys.every((key) => allowed.includes(key))
  if (only(['value', 'oldValue', 'updateMask'])) return 'DocumentEventData (google.cloud.firestore.document.v1.*)'
  if (input.kind === 'storage#object' || (typeof input.bucket === 'string' && typeof input.name === 'string' && 'generation' in input)) {
    return 'StorageObjectData (google.cloud.storage.object.v1.*)'
  }
  if (only(['customData'])) return 'SchedulerJobData (google.cloud.scheduler.job.v1.executed)'
  if (only(['data', 'delta']) && 'delta' in input) return 'ReferenceEventData (google.firebase.database.ref.v1.*)'
  if (isRecord(input.message) && only(['message', 'subscription'])) {
    return 'MessagePublishedData (google.cloud.pubsub.topic.v1.messagePublished)'
  }
  if ('protoPayload' in input && 'logName' in input) return 'LogEntryData (google.cloud.audit.log.v1.written)'
  return undefined
}

/**
 * The error for an object that is not a CloudEvent: names the missing envelope attributes, and what the object is
 * when it is a bare `data` payload of a known schema.
 */
export function notACloudEvent(provider: string, input: unknown): EventError {
  const missing = missingAttributes(input).join(', ')
  const schema = bareDataSchema(input)
  const what = schema === undefined ? 'not a CloudEvent' : `a bare ${schema} payload, not a CloudEvent`
  return new EventError(
    `${provider}: ${what}: missing the required attribute(s) ${missing}. An event's data must come in its envelope: ` +
      '{ "specversion": "1.0", "id", "source", "type", "data": <payload> }',
  )
}

/**
 * An event's data: bytes for `data_base64` (structured mode) or a Buffer (binary mode), else the value as sent
 * (JSON data arrives parsed). Invalid base64 throws an {@link EventError}.
 */
export function cloudEventData(event: GcpCloudEvent): unknown {
  const base64 = event.data_base64
  if (typeof base64 === 'string') {
    if (!isBase64(base64)) throw new EventError('data_base64 is not valid base64')
    return base64ToBytes(base64)
  }
  return event.data
}

/**
 * The id after a collection in a resource path whose ids hold no slash (topics, subscriptions, buckets, jobs):
 * `//pubsub.googleapis.com/projects/p/topics/orders` -> `orders` for `topics`.
 */
export function resourceName(path: string | undefined, collection: string): string | undefined {
  if (path === undefined) return undefined
  const marker = `/${collection}/`
  const at = path.indexOf(marker)
  const start = at === -1 ? (path.startsWith(`${collection}/`) ? collection.length + 1 : -1) : at + marker.length
  if (start === -1) return undefined
  const end = path.indexOf('/', start)
  const id = end === -1 ? path.slice(start) : path.slice(start, end)
  return id === '' ? undefined : id
}

/**
 * Any CloudEvent, valid by the CloudEvents 1.0 rules (see `toCloudEvent` in `@polycloud/core/adapter`): attributes
 * and extensions (FF's `traceparent` among them) as sent, `data_base64` decoded.
 */
export function toCloudEvent(event: GcpCloudEvent): CloudEvent {
  return validCloudEvent(event)
}

/** Any CloudEvent (Eventarc, Firebase, audit logs, custom events) for a `cloudEvent` handler. */
export const gcpCloudEvent: EventSource<GcpCloudEvent, CloudEvent, void> = {
  name: 'gcp:cloud-event',
  kind: 'cloudEvent',
  canHandle: isCloudEvent,
  getEvents: (event) => oneEvent('gcp:cloud-event', event, toCloudEvent),
  getResult: (_event, failed) => throwIfFailed('gcp:cloud-event', failed),
}
