/**
 * The schedules a function declares, handed to its schedule events: every provider reports a firing in its own terms
 * (an EventBridge rule ARN, an Azure function name, a Cloud Scheduler topic, a Workers cron in Cloudflare's weekday
 * numbering), while serverless.yml says it once. The generated entries pass each function's declared schedules to
 * its schedule source with {@link declareSchedules}, so `schedule` and `name` read the same on every provider; the
 * platform's own payload stays in `native`.
 */
import type { ScheduleEvent } from './events.js'
import { InvalidRecord, failureRef, withFailureRef, type EventSource } from './source.js'

/** One cron event of a function, as serverless.yml declares it. */
export interface DeclaredSchedule {
  /** The function's name in serverless.yml (`report`): the event's `name`. */
  readonly name: string
  /** The expression as written there (`0 3 * * *`, `@daily`, `rate(5 minutes)`): the event's `schedule`. */
  readonly schedule: string
  /**
   * For a function with several schedules: what the platform's payload names this one by, as the source reads it
   * into the event's `name` (the EventBridge rule, the Cloud Scheduler job). Not needed for a single schedule.
   */
  readonly trigger?: string
}

/**
 * A schedule source whose events carry the declared schedule: `name` is the function's, `schedule` the expression
 * as written when the function has one (or its schedules share one), else the one whose `trigger` the platform
 * named, else undefined (a firing the payload does not name, such as serverless-offline's). Without declared
 * schedules (a native event, `polycloud inspect`), the source as it is: the platform's own terms.
 */
export function declareSchedules<Native, Result>(
  source: EventSource<Native, ScheduleEvent, Result>,
  schedules: readonly DeclaredSchedule[],
): EventSource<Native, ScheduleEvent, Result> {
  const first = schedules[0]
  if (first === undefined) return source
  const single = schedules.every((declared) => declared.schedule === first.schedule) ? first.schedule : undefined
  const declare = (event: ScheduleEvent): ScheduleEvent => {
    const schedule = single ?? schedules.find((declared) => declared.trigger !== undefined && declared.trigger === event.name)?.schedule
    return withFailureRef({ ...event, schedule, name: first.name }, failureRef(event))
  }
  return {
    ...source,
    getEvents: (input) => source.getEvents(input).map((item) => (item instanceof InvalidRecord ? item : declare(item))),
  }
}
