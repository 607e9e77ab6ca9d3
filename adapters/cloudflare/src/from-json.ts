import { isRecord } from '@polycloud/core/adapter'
import type { MessageBatchLike, QueueMessageLike } from './queue.js'
import type { ScheduledControllerLike } from './scheduled.js'

const noop = (): void => {}

/** Milliseconds from a number or an ISO string; NaN otherwise (the source then names the bad value). */
function millis(value: unknown): number {
  if (typeof value === 'number') return value
  if (typeof value === 'string' && value !== '') return Date.parse(value)
  return NaN
}

function message(value: unknown): unknown {
  if (!isRecord(value)) return value
  const out: QueueMessageLike = {
    id: value.id as string,
    timestamp: new Date(millis(value.timestamp)),
    body: value.body,
    attempts: value.attempts === undefined ? 1 : (value.attempts as number),
    ack: noop,
    retry: noop,
  }
  return out
}

/**
 * Reads a payload written as JSON (for `polycloud inspect --provider cloudflare`):
 * `{ "cron", "scheduledTime" }` becomes a ScheduledController, `{ "queue", "messages": [{ "id", "timestamp",
 * "body", "attempts" }] }` a MessageBatch (ack and retry do nothing). Times are ms since the epoch or ISO strings;
 * `attempts` defaults to 1. Anything else is returned as it is (HTTP requests are not read from JSON).
 */
export function fromJson(json: unknown): unknown {
  if (!isRecord(json)) return json
  if (typeof json.cron === 'string' && 'scheduledTime' in json) {
    const controller: ScheduledControllerLike = {
      cron: json.cron,
      scheduledTime: millis(json.scheduledTime),
      noRetry: noop,
    }
    return controller
  }
  if (typeof json.queue === 'string' && Array.isArray(json.messages)) {
    const batch: MessageBatchLike = {
      queue: json.queue,
      messages: json.messages.map(message) as QueueMessageLike[],
      ackAll: noop,
      retryAll: noop,
    }
    return batch
  }
  return json
}
