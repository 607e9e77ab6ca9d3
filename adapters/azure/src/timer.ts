import type { Timer } from '@azure/functions'
import { isRecord, throwIfFailed, type EventSource, type ScheduleEvent } from '@polycloud/core/adapter'
import { isTrigger, isoTime, triggerOption, type AzureInput } from './input.js'

/** A timer trigger invocation. `scheduleStatus` is absent when the schedule monitor is off (`useMonitor: false`). */
export type AzureTimerInput = AzureInput<Timer>

/**
 * How far in the future `scheduleStatus.next` may be and still be this run's occurrence: the host can fire a
 * little early (clock skew) and then names the occurrence it fired for.
 */
const EARLY_MS = 5000

function isTimer(value: unknown): value is Timer {
  return isRecord(value) && typeof value.isPastDue === 'boolean'
}

/**
 * The occurrence a run is for. While it runs, the host's `scheduleStatus.next` is the occurrence that fired (a
 * missed one when `isPastDue`); it is updated afterwards. When `next` lies ahead (a `runOnStartup` run) or the
 * monitor is off, there is no scheduled time and the run is for now.
 */
function occurrence(timer: Timer, now: number): string | undefined {
  const status: unknown = timer.scheduleStatus
  if (!isRecord(status)) return undefined
  // The host's own bookkeeping, not the tick's: a next time that is no time means the run is for now.
  let next: string
  try {
    next = isoTime(status.next, 'scheduleStatus.next')
  } catch {
    return undefined
  }
  if (next === '' || Date.parse(next) > now + EARLY_MS) return undefined
  return next
}

/**
 * A timer tick as a schedule event: `time` is the occurrence it fired for, `id` the function and that time (the
 * same on a retry), `schedule` the NCRONTAB expression of the binding, `name` the function.
 */
export const azureTimer: EventSource<AzureTimerInput, ScheduleEvent, void> = {
  name: 'azure:timer',
  kind: 'schedule',
  canHandle: (input): input is AzureTimerInput => isTrigger(input, 'timertrigger', (value) => isTimer(value.input)),
  getEvents(input) {
    const now = Date.now()
    const { context } = input
    const scheduled = occurrence(input.input, now)
    return [
      {
        kind: 'schedule',
        id: scheduled === undefined ? context.invocationId : `${context.functionName}@${scheduled}`,
        time: scheduled ?? new Date(now).toISOString(),
        source: context.functionName,
        native: input,
        schedule: triggerOption(input, 'schedule'),
        name: context.functionName,
      },
    ]
  },
  getResult(_input, failed) {
    // The host does not retry a failed tick unless the function has a retry policy; failing it records the error.
    throwIfFailed('azure:timer', failed)
  },
}
