import { EventError, isRecord, oneEvent, readTime, type EventSource, type ScheduleEvent, throwIfFailed } from '@polycloud/core/adapter'
import { cloudEventData, isCloudEventOfType, resourceName, type GcpCloudEvent } from './cloud-event.js'
import { MESSAGE_PUBLISHED, isPushBody, messageStamp, type PubSubInput, type PubSubMessage, type PubSubPushBody } from './pubsub.js'

export const SCHEDULER_EXECUTED = 'google.cloud.scheduler.job.v1.executed'

/** SchedulerJobData: the job's body, base64. */
export interface SchedulerJobData {
  customData?: string
}

function toScheduleEvent(event: GcpCloudEvent): ScheduleEvent {
  return {
    kind: 'schedule',
    id: event.id,
    time: readTime(event.time, 'time'),
    source: event.source,
    native: event,
    schedule: undefined,
    name: resourceName(event.source, 'jobs'),
  }
}

/**
 * A Cloud Scheduler job run delivered as `google.cloud.scheduler.job.v1.executed` (source
 * `//cloudscheduler.googleapis.com/projects/P/locations/L/jobs/J`; the name is the job id). The type is defined in
 * google-cloudevents; Eventarc has no direct Scheduler trigger today, so most jobs reach a function through a
 * Pub/Sub topic (see `gcp:scheduler-pubsub`) or an HTTP target.
 */
export const gcpScheduler: EventSource<GcpCloudEvent, ScheduleEvent, void> = {
  name: 'gcp:scheduler',
  kind: 'schedule',
  canHandle: (input): input is GcpCloudEvent => isCloudEventOfType(input, SCHEDULER_EXECUTED),
  getEvents: (event) => oneEvent('gcp:scheduler', event, toScheduleEvent),
  getResult: (_event, failed) => throwIfFailed('gcp:scheduler', failed),
}

/**
 * The attribute Polycloud's Cloud Scheduler jobs put on their messages (`pubsubTarget.attributes`): the job's name,
 * which a function with several schedules (one topic) tells them apart by.
 */
export const JOB_ATTRIBUTE = 'polycloud-job'

/** The job a message names, else the topic or subscription it came through. */
function tickName(message: PubSubMessage, resource: string, kind: string): string | undefined {
  const attributes: unknown = message.attributes
  const job = isRecord(attributes) ? attributes[JOB_ATTRIBUTE] : undefined
  return typeof job === 'string' && job !== '' ? job : resourceName(resource, kind)
}

function pushTick(input: PubSubPushBody): ScheduleEvent {
  return {
    kind: 'schedule',
    ...messageStamp(input.message, 'push'),
    source: input.subscription,
    native: input,
    schedule: undefined,
    name: tickName(input.message, input.subscription, 'subscriptions'),
  }
}

function publishedTick(event: GcpCloudEvent): ScheduleEvent {
  const data = cloudEventData(event)
  const message = isRecord(data) && isRecord(data.message) ? (data.message as PubSubMessage) : undefined
  if (message === undefined) throw new EventError(`gcp:scheduler-pubsub: event ${event.id} has no data.message`)
  return {
    kind: 'schedule',
    ...messageStamp(message, 'event', event),
    source: event.source,
    native: event,
    schedule: undefined,
    name: tickName(message, event.source, 'topics'),
  }
}

/**
 * A Cloud Scheduler job with a Pub/Sub target, for a schedule handler: each message published to the job's topic
 * is one tick, timed by its publish time; the name is the job's when the message names it (`polycloud-job`), else
 * the topic's (the subscription's for a push body). The job body is in `native`.
 */
export const gcpSchedulerPubSub: EventSource<PubSubInput, ScheduleEvent, void> = {
  name: 'gcp:scheduler-pubsub',
  kind: 'schedule',
  canHandle: (input): input is PubSubInput => isCloudEventOfType(input, MESSAGE_PUBLISHED) || isPushBody(input),
  getEvents: (input) =>
    isPushBody(input)
      ? oneEvent('gcp:scheduler-pubsub', input, pushTick)
      : oneEvent('gcp:scheduler-pubsub', input as GcpCloudEvent, publishedTick),
  getResult: (_input, failed) => throwIfFailed('gcp:scheduler-pubsub', failed),
}
