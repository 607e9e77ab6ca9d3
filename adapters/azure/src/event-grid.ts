import {
  EventError,
  checkCloudEvent,
  isRecord,
  readString,
  toCloudEvent as validCloudEvent,
  translateRecords,
  type CloudEvent,
  type EventSource,
  type InvalidRecord,
  type NeutralEvent,
  throwIfFailed,
} from '@polycloud/core/adapter'
import { isTrigger, type AzureInput } from './input.js'

/** An event in the Event Grid schema. */
export interface EventGridSchemaEvent {
  id: string
  topic?: string
  subject?: string
  eventType: string
  eventTime?: string
  data?: unknown
  dataVersion?: string
  metadataVersion?: string
  [key: string]: unknown
}

/** An event in the CloudEvents 1.0 schema (an Event Grid subscription with `CloudEventSchemaV1_0` delivery). */
export interface EventGridCloudEvent {
  specversion: string
  id: string
  source: string
  type: string
  time?: string
  subject?: string
  datacontenttype?: string
  dataschema?: string
  data?: unknown
  data_base64?: string
  [extension: string]: unknown
}

export type EventGridPayload = EventGridSchemaEvent | EventGridCloudEvent

/**
 * An Event Grid trigger invocation: one event (the extension calls the function once per event of a delivery),
 * or an array of them (a whole delivery, as Event Grid POSTs it).
 */
export type EventGridInput = AzureInput<EventGridPayload | EventGridPayload[]>

export function isEventGridSchemaEvent(value: unknown): value is EventGridSchemaEvent {
  return isRecord(value) && typeof value.id === 'string' && typeof value.eventType === 'string' && !('specversion' in value)
}

export function isCloudEventSchemaEvent(value: unknown): value is EventGridCloudEvent {
  return (
    isRecord(value) &&
    typeof value.specversion === 'string' &&
    typeof value.id === 'string' &&
    typeof value.type === 'string' &&
    typeof value.source === 'string'
  )
}

function isGridEvent(value: unknown): value is EventGridPayload {
  return isEventGridSchemaEvent(value) || isCloudEventSchemaEvent(value)
}

/** The first event of the input (an event, or the first of an array), if it is an Event Grid or CloudEvents event. */
export function firstGridEvent(input: AzureInput): EventGridPayload | undefined {
  const value = Array.isArray(input.input) ? input.input[0] : input.input
  return isGridEvent(value) ? value : undefined
}

export function isGridInput(input: AzureInput): boolean {
  return firstGridEvent(input) !== undefined
}

/** The trigger input as a list of events. */
export function eventList(input: EventGridInput): unknown[] {
  return Array.isArray(input.input) ? input.input : [input.input]
}

/**
 * Translates each event of the input on its own: an item that is not an event, or that `translate` rejects,
 * becomes an {@link InvalidRecord} naming it and the problem.
 */
export function eachGridEvent<E extends NeutralEvent>(source: string, input: EventGridInput, translate: (event: EventGridPayload) => E): Array<E | InvalidRecord> {
  return translateRecords<E>(
    eventList(input),
    (item) => {
      if (!isGridEvent(item)) throw new EventError('it is neither an Event Grid nor a CloudEvents event')
      return translate(item)
    },
    { source, list: Array.isArray(input.input) ? 'input' : undefined, id: (item) => (typeof item.id === 'string' ? item.id : undefined) },
  )
}

function nonEmpty(value: unknown, field: string): string | undefined {
  return readString(value, field) || undefined
}

/**
 * An Event Grid-schema event as a CloudEvent, as Event Grid maps it: topic is the source, eventType the type,
 * eventTime the time; data is JSON. `dataVersion` (when set) and `metadataVersion` become the extensions
 * `dataversion` and `metadataversion`. An empty subject is left out (CloudEvents subjects are non-empty). The
 * result is checked by the CloudEvents rules like any CloudEvent.
 */
function fromEventGridEvent(event: EventGridSchemaEvent): CloudEvent {
  const extensions: Record<string, unknown> = {}
  const dataVersion = nonEmpty(event.dataVersion, 'dataVersion')
  if (dataVersion !== undefined) extensions.dataversion = dataVersion
  const metadataVersion = readString(event.metadataVersion, 'metadataVersion')
  if (metadataVersion !== undefined) extensions.metadataversion = metadataVersion
  const hasData = 'data' in event && event.data !== undefined
  return checkCloudEvent({
    kind: 'cloudEvent',
    id: event.id,
    // As given, then held to the CloudEvents rules (an RFC 3339 time, a non-empty URI-reference source).
    time: readString(event.eventTime, 'eventTime') ?? '',
    source: readString(event.topic, 'topic') ?? '',
    native: event,
    specversion: '1.0',
    type: event.eventType,
    subject: nonEmpty(event.subject, 'subject'),
    datacontenttype: hasData ? 'application/json' : undefined,
    dataschema: undefined,
    data: event.data,
    extensions,
  })
}

/** Either schema as a CloudEvent; a CloudEvents-schema event must be valid by the CloudEvents 1.0 rules. */
export function toCloudEvent(event: EventGridPayload): CloudEvent {
  return isCloudEventSchemaEvent(event) ? validCloudEvent(event) : fromEventGridEvent(event as EventGridSchemaEvent)
}

/**
 * Any Event Grid event, in the Event Grid or the CloudEvents schema, as a CloudEvent. A throw fails the
 * invocation; Event Grid retries the delivery on its subscription's retry policy, then dead-letters it if the
 * subscription has a dead-letter destination.
 */
export const eventGrid: EventSource<EventGridInput, CloudEvent, void> = {
  name: 'azure:event-grid',
  kind: 'cloudEvent',
  canHandle: (input): input is EventGridInput => isTrigger(input, 'eventgridtrigger', isGridInput),
  getEvents: (input) => eachGridEvent('azure:event-grid', input, toCloudEvent),
  // Event Grid redelivers a whole delivery when the function fails for any event of it (the extension answers 500),
  // so a failed event fails the invocation and every event of its delivery comes again: handlers must be idempotent.
  getResult: (_input, failed) => throwIfFailed('azure:event-grid', failed),
}
