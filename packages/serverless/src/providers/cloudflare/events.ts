/**
 * What each event is on Cloudflare: a neutral event of the model as what Workers make of it (a route of the
 * service's one Worker, a Cron Trigger, a Queues consumer, R2 event notifications delivered through a queue), the
 * @polycloud/cloudflare formats its payloads come in, and the names of everything deploy creates (the stage in each).
 */
import { ConfigError } from '../../errors.js'
import type { NeutralEvent, QueueEvent } from '../../model.js'
import type { EventPlan as Plan, SourceRef } from '../../provider.js'
import { DAYS, ScheduleError, type Schedule } from '../../schedule.js'

/** A queue of the service and how its consumer reads it (Cloudflare's consumer settings). */
export interface QueueSpec {
  /** The queue's name on Cloudflare: `<service>-<stage>-<name>`. */
  readonly name: string
  /** `max_batch_size` (1-100). */
  readonly batchSize: number
  /** `max_retries`: deliveries after the first (a neutral `maxReceiveCount` of 5 is 4 retries). */
  readonly maxRetries: number
  /** `max_wait_time_ms`: how long a batch waits to fill up. */
  readonly maxWaitMs: number
  /** Where messages go once their retries are spent. */
  readonly deadLetterQueue: string
}

/** R2 object actions that trigger event notifications. */
export type R2Action = 'PutObject' | 'CopyObject' | 'CompleteMultipartUpload' | 'DeleteObject' | 'LifecycleDeletion'

/** What one neutral event is on Cloudflare. */
export type CloudflareTrigger =
  | { readonly type: 'route'; readonly method: string; readonly path: string }
  /** `cron` as the Worker's triggers list it (and as `controller.cron` reports it); `expression` as written. */
  | { readonly type: 'cron'; readonly cron: string; readonly expression: string }
  | { readonly type: 'queue'; readonly queue: QueueSpec; readonly binding: string; readonly alias: string }
  | {
      readonly type: 'bucket'
      readonly bucket: string
      /** The bucket exists already: deploy neither creates nor deletes it. */
      readonly existing: boolean
      readonly binding: string
      /** The queue R2 sends the bucket's notifications to, consumed by the function. */
      readonly queue: QueueSpec
      readonly actions: readonly R2Action[]
      readonly prefix: string | undefined
      readonly suffix: string | undefined
    }

export type EventPlan = Plan<CloudflareTrigger>

export interface CloudflareNames {
  readonly service: string
  readonly stage: string
}

const FETCH: SourceRef = { name: 'workersFetch', module: 'fetch' }
const SCHEDULED: SourceRef = { name: 'scheduled', module: 'scheduled' }
const QUEUE: SourceRef = { name: 'queueBatch', module: 'queue' }
const R2: SourceRef = { name: 'r2Notification', module: 'r2-notification' }

/** Cloudflare's limits on consumers (https://developers.cloudflare.com/queues/platform/limits/). */
export const QUEUE_LIMITS = { batchSize: 100, maxRetries: 100, maxWaitSeconds: 60 } as const

/** Queue names: lower-case letters, digits and dashes, at most 63 characters. */
const QUEUE_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/
/** Worker names: lower-case letters, digits, dashes and underscores, at most 63 characters. */
const SCRIPT_NAME = /^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$/

/** The service's Worker: `<service>-<stage>`. */
export function scriptName(names: CloudflareNames): string {
  const name = `${names.service}-${names.stage}`
  if (!SCRIPT_NAME.test(name)) {
    throw new ConfigError('service', `the Worker would be named ${JSON.stringify(name)}; Worker names are 1-63 lower-case letters, digits, "-" and "_": rename the service or the stage`)
  }
  return name
}

function queueName(name: string): string {
  if (!QUEUE_NAME.test(name)) {
    throw new ConfigError('', `the queue would be named ${JSON.stringify(name)}; Cloudflare queue names are 1-63 lower-case letters, digits and "-": use a shorter or lower-case name`)
  }
  return name
}

/** An env binding name for a resource: `orders` -> `QUEUE_ORDERS`. */
export function bindingName(prefix: 'QUEUE' | 'BUCKET' | 'STORE', name: string): string {
  return `${prefix}_${name.toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_+|_+$/g, '')}`
}

/** The consumer settings of a queue: neutral defaults (10 messages, 5 receives), Cloudflare's limits checked. */
function queueSpec(name: string, config: Partial<Pick<QueueEvent, 'batchSize' | 'maxReceiveCount' | 'maximumBatchingWindow'>>): QueueSpec {
  const batchSize = config.batchSize ?? 10
  if (batchSize > QUEUE_LIMITS.batchSize) {
    throw new ConfigError('', `batchSize ${batchSize} is more than a Cloudflare Queues consumer takes (${QUEUE_LIMITS.batchSize})`)
  }
  const receives = config.maxReceiveCount ?? 5
  if (receives - 1 > QUEUE_LIMITS.maxRetries) {
    throw new ConfigError('', `maxReceiveCount ${receives} is more than Cloudflare Queues retry (${QUEUE_LIMITS.maxRetries} retries after the first delivery)`)
  }
  const waitSeconds = config.maximumBatchingWindow ?? 5
  if (waitSeconds > QUEUE_LIMITS.maxWaitSeconds) {
    throw new ConfigError('', `maximumBatchingWindow ${waitSeconds} is longer than a Cloudflare Queues batch waits (${QUEUE_LIMITS.maxWaitSeconds} s)`)
  }
  const queue = queueName(name)
  return { name: queue, batchSize, maxRetries: receives - 1, maxWaitMs: waitSeconds * 1000, deadLetterQueue: queueName(`${queue}-dlq`) }
}

/** Weekdays (0 = Sunday) as Cloudflare-safe names, consecutive days as ranges: [1..5] -> `MON-FRI`. */
function weekdayNames(days: readonly number[]): string {
  const parts: string[] = []
  for (let i = 0; i < days.length; ) {
    let j = i
    while (j + 1 < days.length && (days[j + 1] as number) === (days[j] as number) + 1) j++
    const first = DAYS[days[i] as number] as string
    const last = DAYS[days[j] as number] as string
    parts.push(j - i >= 2 ? `${first}-${last}` : j === i ? first : `${first},${last}`)
    i = j + 1
  }
  return parts.join(',')
}

/**
 * A neutral schedule as a Cloudflare Cron Trigger. Cloudflare numbers weekdays 1-7 from Sunday (standard cron: 0-6
 * from Sunday), so weekdays are written as names, which both read the same: `0 9 * * 1-5` -> `0 9 * * MON-FRI`. A
 * rate becomes the cron that fires at that interval (clock-aligned), when one exists; a cron restricting both
 * day-of-month and day-of-week is refused, as on AWS.
 */
export function toCloudflareCron(schedule: Schedule): string {
  if (schedule.kind === 'rate') {
    const { value, unit } = schedule
    if (unit === 'minute' && 60 % value === 0) return value === 1 ? '* * * * *' : `*/${value} * * * *`
    if (unit === 'hour' && 24 % value === 0) return value === 1 ? '0 * * * *' : `0 */${value} * * *`
    if (unit === 'day' && value === 1) return '0 0 * * *'
    throw new ScheduleError(
      `rate(${value} ${unit}${value === 1 ? '' : 's'}) has no Cron Trigger equivalent: Cloudflare runs crons only; use minutes dividing an hour, hours dividing a day, 1 day, or a cron`,
    )
  }
  const [minute, hour, dayOfMonth, month] = schedule.fields
  const days = schedule.weekdays
  if (days === undefined || days.length === 7) return `${minute} ${hour} ${dayOfMonth} ${month} *`
  if (dayOfMonth !== '*') {
    throw new ScheduleError('restricts both day-of-month and day-of-week; standard cron runs when either matches, which a Cron Trigger does not: use two cron events')
  }
  return `${minute} ${hour} * ${month} ${weekdayNames(days)}`
}

const R2_ACTIONS: Readonly<Record<'created' | 'deleted' | 'all', readonly R2Action[]>> = {
  created: ['PutObject', 'CopyObject', 'CompleteMultipartUpload'],
  deleted: ['DeleteObject', 'LifecycleDeletion'],
  all: ['PutObject', 'CopyObject', 'CompleteMultipartUpload', 'DeleteObject', 'LifecycleDeletion'],
}

const EXCLUDE = 'or keep this function off Cloudflare with "excludeFrom: [cloudflare]"'

/** A function name as part of a queue name: `getNote` -> `get-note`. */
function slug(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '')
}

/** What a neutral event of function `fn` is on Cloudflare; errors have an empty path (the caller locates them). */
export function neutralPlan(event: NeutralEvent, fn: string, names: CloudflareNames): EventPlan {
  const prefix = `${names.service}-${names.stage}`
  switch (event.kind) {
    case 'route':
      return { sources: [FETCH], kinds: ['http'], native: { type: 'route', method: event.method, path: event.path } }
    case 'cron': {
      if (!event.enabled) throw new ConfigError('', 'a disabled cron (enabled: false) has no Cron Trigger equivalent on Cloudflare: remove the event instead')
      return { sources: [SCHEDULED], kinds: ['schedule'], native: { type: 'cron', cron: toCloudflareCron(event.schedule), expression: event.expression } }
    }
    case 'queue': {
      const name = event.name as string
      if (event.fifo) {
        throw new ConfigError('', `Cloudflare Queues have no FIFO queues (delivery order is not guaranteed): drop "fifo", ${EXCLUDE}`)
      }
      return {
        sources: [QUEUE],
        kinds: ['queue'],
        native: { type: 'queue', queue: queueSpec(event.resource?.deployedName ?? `${prefix}-${name}`, event), binding: bindingName('QUEUE', name), alias: name },
      }
    }
    case 'bucket': {
      const index = event.index
      const queue = queueSpec(`${prefix}-${slug(fn)}-r2${index === 0 ? '' : `-${index}`}`, {})
      return {
        sources: [R2],
        kinds: ['storage'],
        native: {
          type: 'bucket',
          bucket: event.name,
          existing: event.existing,
          // A declared bucket's binding is named after its logical name, as its code names it.
          binding: bindingName('BUCKET', event.resource?.name ?? event.name),
          queue,
          actions: R2_ACTIONS[event.on],
          prefix: event.prefix || undefined,
          suffix: event.suffix || undefined,
        },
      }
    }
    case 'topic':
      throw new ConfigError(
        '',
        `Cloudflare has no pub/sub topics (no fan-out of one message to several subscribers): consume a Cloudflare Queue with "fromQueue" and have the publisher send to it, ${EXCLUDE}`,
      )
    case 'changes':
      throw new ConfigError(
        '',
        `Cloudflare has no database change feed (D1 and KV publish no changes): have the writer send each change to a Cloudflare Queue and consume it with "fromQueue", ${EXCLUDE}`,
      )
  }
}
