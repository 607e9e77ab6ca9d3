import { EventError, isRecord, quote } from '@polycloud/core/adapter'
import { bareDataSchema, isCloudEvent, notACloudEvent } from './cloud-event.js'
import { isFrameworkRequest } from './http.js'
import { isLegacyEvent, legacyToCloudEvent } from './legacy.js'
import { isPushBody } from './pubsub.js'

/**
 * A JSON event as the sources read it (`adapter.fromJson`, and the body of a request to an HTTP function serving
 * an event handler): a structured CloudEvent and a Pub/Sub push body as they are, a legacy background event
 * converted to the CloudEvent the Functions Framework would make of it. A bare `data` payload of a known Google
 * schema is not an event and is refused with an error naming the missing envelope attributes; anything else
 * (a recorded HTTP request, another provider's payload) passes through for the sources to judge.
 */
export function toEventInput(json: unknown): unknown {
  if (!isRecord(json) || isCloudEvent(json) || isPushBody(json) || isFrameworkRequest(json)) return json
  if (isLegacyEvent(json)) return legacyToCloudEvent(json)
  const context = isRecord(json.context) ? json.context : json
  if ('data' in json && typeof context.eventType === 'string' && 'resource' in context) {
    throw new EventError(
      `gcp: legacy event type ${quote(context.eventType)} has no CloudEvent equivalent ` +
        '(the Functions Framework hands it to a cloudEvent function unconverted)',
    )
  }
  if (bareDataSchema(json) !== undefined) throw notACloudEvent('gcp', json)
  return json
}
