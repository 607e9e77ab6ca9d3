/**
 * JSON schemas of the neutral events, registered with the framework's config validation so a malformed event
 * fails before anything runs, with the function and field in the message. Semantic checks (cron ranges, methods,
 * path parameters) follow in the plugin, with the same kind of message.
 *
 * Each event has a short form (a string) and an object form. The fields every provider understands are here; a
 * provider adds its own (`api` and `arn` on AWS, `serviceBus` on Azure, ...) through its target's `eventOptions`.
 */

type Json = Record<string, unknown>

const name = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$', maxLength: 80 }
const schedule = { type: 'string', pattern: '^\\s*(@[a-z]+|rate\\(.*\\)|\\S+(\\s+\\S+){4})\\s*$' }
const bucketName = { type: 'string', pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$' }

interface EventShape {
  /** The short form. */
  readonly short: Json
  /** The object form's shared properties. */
  readonly properties: Json
  /** Alternatives of required properties: the object must have all of one of them. */
  readonly required: ReadonlyArray<readonly string[]>
}

const SHAPES = {
  /** `GET /notes/{id}` or `{ method, path }`. */
  route: {
    short: { type: 'string', pattern: '^\\s*\\S+\\s+/\\S*\\s*$' },
    properties: { method: { type: 'string' }, path: { type: 'string', pattern: '^/' } },
    required: [['method', 'path']],
  },
  /** 5-field cron, @daily and friends, or rate(N unit); `{ schedule, enabled }`. */
  cron: {
    short: schedule,
    properties: { schedule, enabled: { type: 'boolean' } },
    required: [['schedule']],
  },
  /** A queue whose messages the function consumes, created by the deploy. */
  fromQueue: {
    short: name,
    properties: {
      name,
      batchSize: { type: 'integer', minimum: 1, maximum: 10000 },
      maximumBatchingWindow: { type: 'integer', minimum: 0, maximum: 300 },
      fifo: { type: 'boolean' },
      maxReceiveCount: { type: 'integer', minimum: 1, maximum: 1000 },
    },
    required: [['name']],
  },
  /** A pub/sub topic the function subscribes to. */
  topic: {
    short: name,
    properties: { name },
    required: [['name']],
  },
  /** Object events of a bucket: `uploads`, or `{ name, on: created|deleted|all, prefix, suffix, existing }`. */
  bucket: {
    short: bucketName,
    properties: {
      name: bucketName,
      on: { enum: ['created', 'deleted', 'all'] },
      prefix: { type: 'string' },
      suffix: { type: 'string' },
      existing: { type: 'boolean' },
    },
    required: [['name']],
  },
  /** A database change stream: a table (or container, collection) by name, or `{ table, batchSize, startingPosition }`. */
  changes: {
    short: { type: 'string', minLength: 1 },
    properties: {
      table: { type: 'string', minLength: 1 },
      batchSize: { type: 'integer', minimum: 1, maximum: 10000 },
      startingPosition: { enum: ['LATEST', 'TRIM_HORIZON'] },
    },
    required: [['table']],
  },
} as const satisfies Record<string, EventShape>

export type NeutralEventName = keyof typeof SHAPES

/** The object form of a `fromQueue` event, as the schema allows it (a provider adds its own fields: `arn` on AWS). */
export interface QueueEventConfig {
  name?: string
  batchSize?: number
  maximumBatchingWindow?: number
  fifo?: boolean
  maxReceiveCount?: number
}

/** The object form of a `bucket` event, as the schema allows it. */
export interface BucketEventConfig {
  name: string
  on?: 'created' | 'deleted' | 'all'
  prefix?: string
  suffix?: string
  existing?: boolean
}

/** The object form of a `changes` event, as the schema allows it (a provider adds its own fields: `arn` on AWS). */
export interface ChangesEventConfig {
  table?: string
  batchSize?: number
  startingPosition?: 'LATEST' | 'TRIM_HORIZON'
}

export const NEUTRAL_EVENT_NAMES = Object.keys(SHAPES) as NeutralEventName[]

export function isNeutralEvent(key: string): key is NeutralEventName {
  return (NEUTRAL_EVENT_NAMES as string[]).includes(key)
}

/** A provider's additions to one neutral event's object form. */
export interface EventExtension {
  /** Extra properties. */
  readonly properties?: Json
  /** Extra alternatives of required properties (`[['arn']]`: an `arn` instead of a `name`). */
  readonly required?: ReadonlyArray<readonly string[]>
}

/** The schema of a neutral event on a provider: the shared fields plus the provider's own. */
export function neutralEventSchema(event: NeutralEventName, extension: EventExtension = {}): Json {
  const shape: EventShape = SHAPES[event]
  const required = [...shape.required, ...(extension.required ?? [])]
  const object: Json = {
    type: 'object',
    properties: { ...shape.properties, ...extension.properties },
    additionalProperties: false,
  }
  if (required.length === 1) object.required = required[0]
  else object.anyOf = required.map((names) => ({ required: names }))
  return { anyOf: [shape.short, object] }
}

/**
 * `custom.polycloud`: one block per provider (`custom.polycloud.aws`, `custom.polycloud.azure`, ...). The active
 * provider's block is checked against its schema; the others are left for the deploys to their providers, so one
 * serverless.yml serves every cloud.
 */
export function customSchema(provider: string, providers: readonly string[], own: Json | undefined): Json {
  const properties: Json = Object.fromEntries(providers.map((name) => [name, { type: 'object' }]))
  if (own) properties[provider] = own
  return { properties: { polycloud: { type: 'object', properties, additionalProperties: false } } }
}

/**
 * `functions.<name>.polycloud: false` keeps a function native (its handler and events untouched);
 * `functions.<name>.excludeFrom: [cloudflare]` leaves it out of the deploys to those providers (for a trigger a
 * provider cannot honour, such as a topic on Cloudflare).
 */
export const FUNCTION_SCHEMA = {
  properties: {
    polycloud: { type: 'boolean' },
    excludeFrom: { type: 'array', items: { enum: ['aws', 'azure', 'google', 'gcp', 'cloudflare'] }, uniqueItems: true, minItems: 1 },
  },
} as const
