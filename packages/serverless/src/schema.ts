/**
 * JSON schemas of the neutral events, registered with the framework's config validation so a malformed event
 * fails before anything runs, with the function and field in the message. Semantic checks (cron ranges, methods,
 * path parameters) follow in the plugin, with the same kind of message.
 */

const name = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$', maxLength: 80 }
const arn = { anyOf: [{ type: 'string', pattern: '^arn:' }, { type: 'object' }] }

export const NEUTRAL_EVENTS = {
  /** `GET /notes/{id}` or `{ method, path, api }`. */
  route: {
    anyOf: [
      { type: 'string', pattern: '^\\s*\\S+\\s+/\\S*\\s*$' },
      {
        type: 'object',
        properties: {
          method: { type: 'string' },
          path: { type: 'string', pattern: '^/' },
          api: { enum: ['http-api', 'rest-api'] },
        },
        required: ['method', 'path'],
        additionalProperties: false,
      },
    ],
  },
  /** 5-field cron, @daily and friends, or rate(N unit); `{ schedule, enabled }`. */
  cron: {
    anyOf: [
      { type: 'string', pattern: '^\\s*(@[a-z]+|rate\\(.*\\)|\\S+(\\s+\\S+){4})\\s*$' },
      {
        type: 'object',
        properties: {
          schedule: { type: 'string', pattern: '^\\s*(@[a-z]+|rate\\(.*\\)|\\S+(\\s+\\S+){4})\\s*$' },
          enabled: { type: 'boolean' },
        },
        required: ['schedule'],
        additionalProperties: false,
      },
    ],
  },
  /** A queue whose messages the function consumes, created unless an ARN is given. */
  fromQueue: {
    anyOf: [
      name,
      {
        type: 'object',
        properties: {
          name,
          arn,
          batchSize: { type: 'integer', minimum: 1, maximum: 10000 },
          maximumBatchingWindow: { type: 'integer', minimum: 0, maximum: 300 },
          fifo: { type: 'boolean' },
          maxReceiveCount: { type: 'integer', minimum: 1, maximum: 1000 },
        },
        anyOf: [{ required: ['name'] }, { required: ['arn'] }],
        additionalProperties: false,
      },
    ],
  },
  /** A pub/sub topic the function subscribes to. */
  topic: {
    anyOf: [
      name,
      {
        type: 'object',
        properties: { name, arn, filterPolicy: { type: 'object' } },
        anyOf: [{ required: ['name'] }, { required: ['arn'] }],
        additionalProperties: false,
      },
    ],
  },
  /** Object events of a bucket: `uploads`, or `{ name, on: created|deleted|all, prefix, suffix, existing }`. */
  bucket: {
    anyOf: [
      { type: 'string', pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$' },
      {
        type: 'object',
        properties: {
          name: { type: 'string', pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$' },
          on: { enum: ['created', 'deleted', 'all'] },
          prefix: { type: 'string' },
          suffix: { type: 'string' },
          existing: { type: 'boolean' },
        },
        required: ['name'],
        additionalProperties: false,
      },
    ],
  },
  /** A database change stream: a table of the stack (`Notes`, its logical id), or `{ table | arn, ... }`. */
  changes: {
    anyOf: [
      { type: 'string', minLength: 1 },
      {
        type: 'object',
        properties: {
          table: { type: 'string', minLength: 1 },
          arn,
          batchSize: { type: 'integer', minimum: 1, maximum: 10000 },
          startingPosition: { enum: ['LATEST', 'TRIM_HORIZON'] },
        },
        anyOf: [{ required: ['table'] }, { required: ['arn'] }],
        additionalProperties: false,
      },
    ],
  },
} as const

export type NeutralEventName = keyof typeof NEUTRAL_EVENTS

export const NEUTRAL_EVENT_NAMES = Object.keys(NEUTRAL_EVENTS) as NeutralEventName[]

/** `custom.polycloud`. */
export const CUSTOM_SCHEMA = {
  properties: {
    polycloud: {
      type: 'object',
      properties: {
        aws: {
          type: 'object',
          properties: {
            /** Which API Gateway serves `route` events: HTTP API (payload 2.0, default) or REST API (1.0). */
            routes: { enum: ['http-api', 'rest-api'] },
          },
          additionalProperties: false,
        },
      },
      additionalProperties: false,
    },
  },
} as const

/** `functions.<name>.polycloud: false` keeps a function native (its handler and events untouched). */
export const FUNCTION_SCHEMA = { properties: { polycloud: { type: 'boolean' } } } as const
