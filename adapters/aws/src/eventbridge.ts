import {
  isRecord,
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

/** A scheduled rule's tick: `detail-type: Scheduled Event` from `aws.events`; the rule is in `resources`. */
export const eventBridgeSchedule: EventSource<EventBridgeEvent, ScheduleEvent, void> = {
  name: 'aws:eventbridge-schedule',
  kind: 'schedule',
  canHandle(input): input is EventBridgeEvent {
    return isEventBridgeEvent(input) && input['detail-type'] === 'Scheduled Event' && input.source === 'aws.events'
  },
  getEvents(event) {
    const rule = event.resources?.[0]
    return [
      {
        kind: 'schedule',
        id: event.id,
        time: event.time,
        source: rule ?? event.source,
        native: event,
        schedule: undefined,
        name: rule === undefined ? undefined : rule.slice(rule.lastIndexOf('/') + 1),
      },
    ]
  },
  getResult: (_event, failed) => throwIfFailed('aws:eventbridge-schedule', failed),
}

/**
 * Any EventBridge event as a CloudEvent, mapped as EventBridge's own CloudEvents support does: detail-type is
 * the type, detail the data; account, region and resources become extensions.
 */
export const eventBridge: EventSource<EventBridgeEvent, CloudEvent, void> = {
  name: 'aws:eventbridge',
  kind: 'cloudEvent',
  canHandle: isEventBridgeEvent,
  getEvents(event) {
    const extensions: Record<string, unknown> = {}
    if (event.account !== undefined) extensions.account = event.account
    if (event.region !== undefined) extensions.region = event.region
    if (event.resources !== undefined) extensions.resources = event.resources
    return [
      {
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
      },
    ]
  },
  getResult: (_event, failed) => throwIfFailed('aws:eventbridge', failed),
}
