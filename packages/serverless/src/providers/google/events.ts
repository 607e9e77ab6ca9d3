/**
 * What each event is on Google Cloud: a neutral event of the model as what Cloud Functions (gen 2) and the services
 * around it make of it, with the @polycloud/gcp formats its payloads come in. Checked here, at package time: a
 * setting Google cannot honour fails with the function and the field named.
 */
import { ConfigError } from '../../errors.js'
import type { BucketEvent, ChangesEvent, CronEvent, NeutralEvent, QueueEvent } from '../../model.js'
import type { EventPlan, SourceRef } from '../../provider.js'
import type { Schedule } from '../../schedule.js'

/** What one event is on Google Cloud. */
export type GoogleEvent =
  | { readonly type: 'route'; readonly method: string; readonly path: string }
  | {
      readonly type: 'cron'
      /** The 5-field cron Cloud Scheduler runs. */
      readonly schedule: string
      /** IANA time zone of the schedule (UTC unless set). */
      readonly timeZone: string
      readonly enabled: boolean
    }
  | {
      readonly type: 'queue'
      /** The queue as the user named it. */
      readonly name: string
      /** The Pub/Sub topic the queue is, and its dead-letter topic. */
      readonly topic: string
      readonly deadLetterTopic: string
      readonly maxDeliveryAttempts: number
      /** FIFO: messages with one ordering key are pushed in order. */
      readonly ordered: boolean
    }
  | { readonly type: 'topic'; readonly topic: string }
  | {
      readonly type: 'bucket'
      readonly bucket: string
      /** Eventarc event types: `google.cloud.storage.object.v1.finalized` and/or `.deleted`. */
      readonly eventTypes: readonly string[]
      /** Eventarc filters on the bucket only: the key filters run in the entry. */
      readonly prefix: string
      readonly suffix: string
    }
  | {
      readonly type: 'changes'
      /** Firestore database id, `(default)` unless set. */
      readonly database: string
      /** The document path pattern: `users/{document}`. */
      readonly document: string
      /** The database's location, where the trigger must live (`nam5`, `eur3`, a region); the function's region unless set. */
      readonly location: string | undefined
    }

export type GooglePlan = EventPlan<GoogleEvent>

const src = (name: string, module: string): SourceRef => ({ name, module })
export const HTTP = src('gcpHttp', 'http')
const SCHEDULER_PUBSUB = src('gcpSchedulerPubSub', 'scheduler')
const QUEUE = src('gcpPubSubQueue', 'pubsub')
const TOPIC = src('gcpPubSub', 'pubsub')
const STORAGE = src('gcpStorage', 'storage')
const FIRESTORE = src('gcpFirestore', 'firestore')

export const MESSAGE_PUBLISHED = 'google.cloud.pubsub.topic.v1.messagePublished'
export const STORAGE_FINALIZED = 'google.cloud.storage.object.v1.finalized'
export const STORAGE_DELETED = 'google.cloud.storage.object.v1.deleted'
export const FIRESTORE_WRITTEN = 'google.cloud.firestore.document.v1.written'

/** Pub/Sub's bounds on a subscription's maximum delivery attempts. */
const DELIVERY_ATTEMPTS = { min: 5, max: 100 }

/** Pub/Sub topic ids: 3-255 characters, a letter first, no `goog` prefix. */
const TOPIC_ID = /^[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$/

export interface MappingSettings {
  readonly service: string
  readonly stage: string
  /** `custom.polycloud.google.timeZone`: the default time zone of schedules. */
  readonly timeZone: string | undefined
}

/** What a neutral event is on Google Cloud (errors have an empty path: the caller fills in the event's). */
export function neutralPlan(event: NeutralEvent, settings: MappingSettings): GooglePlan {
  switch (event.kind) {
    case 'route':
      return { native: { type: 'route', method: event.method, path: event.path }, sources: [HTTP], kinds: ['http'] }
    case 'cron':
      return cron(event, settings)
    case 'queue':
      return queue(event, settings)
    case 'topic': {
      const topic = event.name as string
      checkTopic(topic)
      return { native: { type: 'topic', topic }, sources: [TOPIC], kinds: ['topic'] }
    }
    case 'bucket':
      return bucket(event)
    case 'changes':
      return changes(event)
  }
}

function checkTopic(topic: string): void {
  if (!TOPIC_ID.test(topic) || topic.toLowerCase().startsWith('goog')) {
    throw new ConfigError('', `${JSON.stringify(topic)} is not a Pub/Sub topic id (3-255 characters, a letter first, not starting with "goog")`)
  }
}

/**
 * A schedule as Cloud Scheduler's unix-cron. A rate becomes the cron that fires at the same times when one exists
 * (rate(15 minutes) -> `*\/15 * * * *`); other rates are refused, naming the nearest crons.
 */
export function toGoogleSchedule(schedule: Schedule): string {
  if (schedule.kind === 'cron') return schedule.fields.join(' ')
  const { value, unit } = schedule
  if (unit === 'minute' && 60 % value === 0) return value === 60 ? '0 * * * *' : `*/${value} * * * *`
  if (unit === 'hour' && 24 % value === 0) return value === 24 ? '0 0 * * *' : `0 */${value} * * *`
  if (unit === 'day' && value === 1) return '0 0 * * *'
  throw new ConfigError(
    '',
    `rate(${value} ${unit}${value === 1 ? '' : 's'}) has no Cloud Scheduler (unix-cron) equivalent: use a rate that divides an hour or a day, or a cron`,
  )
}

function cron(event: CronEvent, settings: MappingSettings): GooglePlan {
  const schedule = toGoogleSchedule(event.schedule)
  const timeZone = (event.options.timeZone as string | undefined) ?? settings.timeZone ?? 'UTC'
  return {
    native: { type: 'cron', schedule, timeZone, enabled: event.enabled },
    sources: [SCHEDULER_PUBSUB],
    kinds: ['schedule'],
  }
}

/**
 * A queue is a Pub/Sub topic `<service>-<stage>-<name>` with a push subscription to the function; a message the
 * function fails is pushed again, and after `maxReceiveCount` attempts (default 5; Pub/Sub allows 5-100) it goes
 * to the dead-letter topic `<topic>-dlq`. Push subscriptions deliver one message per request: `batchSize` and
 * `maximumBatchingWindow` have no effect.
 */
function queue(event: QueueEvent, settings: MappingSettings): GooglePlan {
  const name = event.name as string
  const attempts = event.maxReceiveCount ?? DELIVERY_ATTEMPTS.min
  if (attempts < DELIVERY_ATTEMPTS.min || attempts > DELIVERY_ATTEMPTS.max) {
    throw new ConfigError(
      '',
      `maxReceiveCount ${attempts} is outside what Pub/Sub allows for a dead-letter policy (${DELIVERY_ATTEMPTS.min}-${DELIVERY_ATTEMPTS.max} delivery attempts)`,
    )
  }
  const fifo = event.fifo
  const base = name.replace(/\.fifo$/, '')
  const topic = event.resource?.deployedName ?? `${settings.service}-${settings.stage}-${base}`
  checkTopic(`${topic}-dlq`)
  return {
    native: { type: 'queue', name, topic, deadLetterTopic: `${topic}-dlq`, maxDeliveryAttempts: attempts, ordered: fifo },
    sources: [QUEUE],
    kinds: ['queue'],
  }
}

const STORAGE_TYPES = { created: [STORAGE_FINALIZED], deleted: [STORAGE_DELETED], all: [STORAGE_FINALIZED, STORAGE_DELETED] }

function bucket(event: BucketEvent): GooglePlan {
  return {
    native: { type: 'bucket', bucket: event.name, eventTypes: STORAGE_TYPES[event.on], prefix: event.prefix, suffix: event.suffix },
    sources: [STORAGE],
    kinds: ['storage'],
  }
}

/**
 * A Firestore collection's changes: `table` is the collection path (`users`, or `users/{user}/orders` for a
 * subcollection), every document in it is watched (`document.v1.written`).
 */
function changes(event: ChangesEvent): GooglePlan {
  const config = event.options as { database?: string; location?: string }
  const table = event.table as string
  const segments = table.split('/')
  if (segments.some((segment) => segment === '') || segments.length % 2 === 0) {
    throw new ConfigError('', `table ${JSON.stringify(table)} is not a Firestore collection path (collection, or collection/{doc}/subcollection)`)
  }
  // The wildcard of the watched document, named apart from the parent path's own wildcards.
  const param = table.includes('{document}') ? 'changedDocument' : 'document'
  return {
    native: { type: 'changes', database: config.database ?? '(default)', document: `${table}/{${param}}`, location: config.location },
    sources: [FIRESTORE],
    kinds: ['changes'],
  }
}
