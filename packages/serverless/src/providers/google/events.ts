/**
 * The Google Cloud mapping: each neutral event to what Cloud Functions (gen 2) and the services around it make of
 * it, and to the @polycloud/gcp formats its payloads come in. Checked here, at package time: a setting Google
 * cannot honour fails with the function and the field named.
 */
import { ConfigError } from '../../errors.js'
import type { EventPlan, FunctionInfo, Kind, SourceRef } from '../../provider.js'
import { parseRoute } from '../../route.js'
import { parseSchedule, type Schedule } from '../../schedule.js'
import type { BucketEventConfig, ChangesEventConfig, QueueEventConfig } from '../../schema.js'

type Json = Record<string, unknown>

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

/** Translates one neutral event (errors have an empty path: the caller fills in the event's). */
export function neutralPlan(key: string, value: unknown, settings: MappingSettings): GooglePlan {
  switch (key) {
    case 'route': {
      const route = parseRoute(value as string | { method: string; path: string })
      return { native: { type: 'route', method: route.method, path: route.path }, sources: [HTTP], kinds: ['http'] }
    }
    case 'cron':
      return cron(value as string | { schedule: string; enabled?: boolean; timeZone?: string }, settings)
    case 'fromQueue':
      return queue(value as string | QueueEventConfig, settings)
    case 'topic': {
      const topic = typeof value === 'string' ? value : (value as { name: string }).name
      checkTopic(topic)
      return { native: { type: 'topic', topic }, sources: [TOPIC], kinds: ['topic'] }
    }
    case 'bucket':
      return bucket(value as string | BucketEventConfig)
    case 'changes':
      return changes(value as string | ChangesConfig)
    default:
      throw new ConfigError('', `unknown neutral event ${JSON.stringify(key)}`)
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

function cron(value: string | { schedule: string; enabled?: boolean; timeZone?: string }, settings: MappingSettings): GooglePlan {
  const config = typeof value === 'string' ? { schedule: value } : value
  const schedule = toGoogleSchedule(parseSchedule(config.schedule))
  const timeZone = ('timeZone' in config ? config.timeZone : undefined) ?? settings.timeZone ?? 'UTC'
  return {
    native: { type: 'cron', schedule, timeZone, enabled: config.enabled !== false },
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
function queue(value: string | QueueEventConfig, settings: MappingSettings): GooglePlan {
  const config = typeof value === 'string' ? { name: value } : value
  const name = config.name as string
  const attempts = config.maxReceiveCount ?? DELIVERY_ATTEMPTS.min
  if (attempts < DELIVERY_ATTEMPTS.min || attempts > DELIVERY_ATTEMPTS.max) {
    throw new ConfigError(
      '',
      `maxReceiveCount ${attempts} is outside what Pub/Sub allows for a dead-letter policy (${DELIVERY_ATTEMPTS.min}-${DELIVERY_ATTEMPTS.max} delivery attempts)`,
    )
  }
  const fifo = config.fifo === true || name.endsWith('.fifo')
  const base = name.replace(/\.fifo$/, '')
  const topic = `${settings.service}-${settings.stage}-${base}`
  checkTopic(`${topic}-dlq`)
  return {
    native: { type: 'queue', name, topic, deadLetterTopic: `${topic}-dlq`, maxDeliveryAttempts: attempts, ordered: fifo },
    sources: [QUEUE],
    kinds: ['queue'],
  }
}

const STORAGE_TYPES = { created: [STORAGE_FINALIZED], deleted: [STORAGE_DELETED], all: [STORAGE_FINALIZED, STORAGE_DELETED] }

function bucket(value: string | BucketEventConfig): GooglePlan {
  const config: BucketEventConfig = typeof value === 'string' ? { name: value } : value
  return {
    native: { type: 'bucket', bucket: config.name, eventTypes: STORAGE_TYPES[config.on ?? 'created'], prefix: config.prefix ?? '', suffix: config.suffix ?? '' },
    sources: [STORAGE],
    kinds: ['storage'],
  }
}

interface ChangesConfig extends ChangesEventConfig {
  database?: string
  location?: string
}

/**
 * A Firestore collection's changes: `table` is the collection path (`users`, or `users/{user}/orders` for a
 * subcollection), every document in it is watched (`document.v1.written`).
 */
function changes(value: string | ChangesConfig): GooglePlan {
  const config: ChangesConfig = typeof value === 'string' ? { table: value } : value
  const table = config.table as string
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

/** Cloud Functions gen 2 limits checked at package time. */
export const LIMITS = {
  /** Seconds: HTTP functions up to 60 minutes, event-driven ones up to 9. */
  httpTimeout: 3600,
  eventTimeout: 540,
  /** MB values of `memorySize` and the gen 2 memory each becomes. */
  memory: { 128: '128Mi', 256: '256Mi', 512: '512Mi', 1024: '1Gi', 2048: '2Gi', 4096: '4Gi', 8192: '8Gi', 16384: '16Gi', 32768: '32Gi' } as Record<number, string>,
}

/** The regions Cloud Run functions (gen 2) deploy to. */
export const REGIONS: readonly string[] = [
  'africa-south1', 'asia-east1', 'asia-east2', 'asia-northeast1', 'asia-northeast2', 'asia-northeast3', 'asia-south1', 'asia-south2',
  'asia-southeast1', 'asia-southeast2', 'australia-southeast1', 'australia-southeast2', 'europe-central2', 'europe-north1',
  'europe-north2', 'europe-southwest1', 'europe-west1', 'europe-west2', 'europe-west3', 'europe-west4', 'europe-west6', 'europe-west8',
  'europe-west9', 'europe-west10', 'europe-west12', 'me-central1', 'me-central2', 'me-west1', 'northamerica-northeast1',
  'northamerica-northeast2', 'northamerica-south1', 'southamerica-east1', 'southamerica-west1', 'us-central1', 'us-east1', 'us-east4',
  'us-east5', 'us-south1', 'us-west1', 'us-west2', 'us-west3', 'us-west4',
]

/** Checks a function's timeout and memory against gen 2's limits; the error names the function and the field. */
export function checkLimits(fn: FunctionInfo, kinds: readonly Kind[]): void {
  const http = kinds.includes('http')
  const max = http ? LIMITS.httpTimeout : LIMITS.eventTimeout
  const field = fn.config.timeout !== undefined ? `functions.${fn.name}.timeout` : 'provider.timeout'
  if (!Number.isFinite(fn.timeout) || fn.timeout < 1 || fn.timeout > max) {
    throw new ConfigError(
      field,
      `${fn.timeout} s is beyond Cloud Functions gen 2's limit for ${http ? 'HTTP' : 'event-driven'} functions (1-${max} s)${http ? '' : '; an HTTP function may run up to 3600 s'}`,
    )
  }
  if (fn.memorySize !== undefined && LIMITS.memory[fn.memorySize] === undefined) {
    throw new ConfigError(
      fn.config.memorySize !== undefined ? `functions.${fn.name}.memorySize` : 'provider.memorySize',
      `${fn.memorySize} MB is not a Cloud Functions gen 2 memory size (${Object.keys(LIMITS.memory).join(', ')})`,
    )
  }
}

/** Checks the region, naming where it was set. */
export function checkRegion(region: string, where: string): void {
  if (!REGIONS.includes(region)) {
    throw new ConfigError(where, `${JSON.stringify(region)} is not a Cloud Run functions region (such as europe-west1, us-central1, asia-northeast1; see https://cloud.google.com/functions/docs/locations)`)
  }
}

/** `custom.polycloud.google` as the target reads it. */
export interface GoogleCustom {
  readonly project?: string
  readonly region?: string
  readonly runtime?: string
  readonly functionUrls?: boolean
  readonly public?: boolean
  readonly serviceAccount?: string
  readonly timeZone?: string
  readonly labels?: Readonly<Record<string, string>>
}

export function googleCustom(custom: Readonly<Json>): GoogleCustom {
  return custom as GoogleCustom
}
