import {
  EventError,
  isRecord,
  readEpochTime,
  translateRecords,
  type EventSource,
  type ScheduleEvent,
  throwIfFailed,
} from '@polycloud/core/adapter'

/** The members of a Workers `ScheduledController` that Polycloud reads (`scheduledTime` is ms since the epoch). */
export interface ScheduledControllerLike {
  readonly cron: string
  readonly scheduledTime: number
  noRetry?(): void
}

export function isScheduledController(input: unknown): input is ScheduledControllerLike {
  return isRecord(input) && typeof input.cron === 'string' && typeof input.scheduledTime === 'number'
}

function toEvent(controller: ScheduledControllerLike): ScheduleEvent {
  const { cron, scheduledTime } = controller
  const time = readEpochTime(scheduledTime, 'scheduledTime')
  if (time === '') throw new EventError('scheduledTime must be a time in milliseconds since the epoch, got nothing')
  return {
    kind: 'schedule',
    // A cron fires once per scheduled time: the pair names the tick (a retry of it keeps both).
    id: cron === '' ? time : `${cron}@${time}`,
    time,
    source: cron === '' ? 'scheduled' : cron,
    native: controller,
    schedule: cron === '' ? undefined : cron,
    // Workers do not say which Worker fired.
    name: undefined,
  }
}

/**
 * A Cron Trigger: one `schedule` event per `scheduled()` call. A failure is rethrown (as a BatchFailedError) so
 * Cloudflare records the run as an exception in the Cron Trigger past events.
 */
export const scheduled: EventSource<ScheduledControllerLike, ScheduleEvent, void> = {
  name: 'cloudflare:scheduled',
  kind: 'schedule',
  canHandle: isScheduledController,
  getEvents: (controller) =>
    translateRecords<ScheduleEvent, ScheduledControllerLike>([controller], toEvent, { source: 'cloudflare:scheduled', id: (record) => record.cron }),
  getResult(_controller, failed) {
    throwIfFailed('cloudflare:scheduled', failed)
  },
}
