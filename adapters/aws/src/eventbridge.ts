import {
  EventError,
  checkCloudEvent,
  isRecord,
  oneEvent,
  readId,
  readTime,
  type CloudEvent,
  type EventSource,
  type ScheduleEvent,
  throwIfFailed,
} from '@polycloud/core/adapter'

export interface EventBridgeEvent {
  version?: string
  id: string
  'detail-type': string
  source: string
  account?: string
  time: string
  region?: string
  resources?: string[]
  detail?: unknown
  [key: string]: unknown
}

export function isEventBridgeEvent(input: unknown): input is EventBridgeEvent {
  return (
    isRecord(input) &&
    typeof input.id === 'string' &&
    typeof input['detail-type'] === 'string' &&
    typeof input.source === 'string' &&
    typeof input.time === 'string' &&
    'detail' in input
  )
}

/** The `resources` of an event: a list of strings (ARNs), or an EventError naming what is there instead. */
export function resourcesOf(event: EventBridgeEvent): string[] {
  const resources: unknown = event.resources
  if (resources === undefined || resources === null) return []
  if (!Array.isArray(resources) || !resources.every((item) => typeof item === 'string')) {
    throw new EventError('resources is not a list of strings (ARNs)')
  }
  return resources as string[]
}

function toSchedule(event: EventBridgeEvent): ScheduleEvent {
  const rule = resourcesOf(event)[0]
  return {
    kind: 'schedule',
    id: readId(event.id, 'id'),
    time: readTime(event.time, 'time'),
    source: rule ?? event.source,
    native: event,
    schedule: undefined,
    name: rule === undefined ? undefined : rule.slice(rule.lastIndexOf('/') + 1),
  }
}

/** A scheduled rule's tick: `detail-type: Scheduled Event` from `aws.events`; the rule is in `resources`. */
export const eventBridgeSchedule: EventSource<EventBridgeEvent, ScheduleEvent, void> = {
  name: 'aws:eventbridge-schedule',
  kind: 'schedule',
  canHandle(input): input is EventBridgeEvent {
    return isEventBridgeEvent(input) && input['detail-type'] === 'Scheduled Event' && input.source === 'aws.events'
  },
  getEvents: (event) => oneEvent('aws:eventbridge-schedule', event, toSchedule),
  getResult: (_event, failed) => throwIfFailed('aws:eventbridge-schedule', failed),
}

/**
 * An EventBridge event as a CloudEvent, mapped as EventBridge's own CloudEvents support does (detail-type is the
 * type, detail the data), and valid by the CloudEvents rules: account and region become the extensions `account`
 * and `region`; `resources`, a list, becomes the extension `resources` as its JSON text (extension values are
 * strings, booleans or integers).
 */
function toCloudEvent(event: EventBridgeEvent): CloudEvent {
  const extensions: Record<string, unknown> = {}
  if (typeof event.account === 'string') extensions.account = event.account
  if (typeof event.region === 'string') extensions.region = event.region
  if (event.resources !== undefined && event.resources !== null) extensions.resources = JSON.stringify(resourcesOf(event))
  return checkCloudEvent({
    kind: 'cloudEvent',
    id: event.id,
    time: event.time,
    source: event.source,
    native: event,
    specversion: '1.0',
    type: event['detail-type'],
    subject: undefined,
    datacontenttype: 'application/json',
    dataschema: undefined,
    data: event.detail,
    extensions,
  })
}

/** Any EventBridge event as a CloudEvent (see {@link toCloudEvent}). */
export const eventBridge: EventSource<EventBridgeEvent, CloudEvent, void> = {
  name: 'aws:eventbridge',
  kind: 'cloudEvent',
  canHandle: isEventBridgeEvent,
  getEvents: (event) => oneEvent('aws:eventbridge', event, toCloudEvent),
  getResult: (_event, failed) => throwIfFailed('aws:eventbridge', failed),
}
