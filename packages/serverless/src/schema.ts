/**
 * JSON schemas of the neutral events, registered with the framework's config validation so a malformed event
 * fails before anything runs, with the function and field in the message. Semantic checks (cron ranges, methods,
 * path parameters) follow in the plugin, with the same kind of message.
 *
 * Each event has a short form (a string) and an object form. The fields every provider understands are here; a
 * provider adds its own (`api` and `arn` on AWS, `serviceBus` on Azure, ...) through its definition's `eventOptions`.
 */
import { resourcesSchema, USES_SCHEMA } from './resources.js'
import { parseRoute, RouteError } from './route.js'
import { parseSchedule, ScheduleError } from './schedule.js'

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

const url = { type: 'string', pattern: '^https?://\\S+$' }
const names = { anyOf: [{ type: 'string', minLength: 1 }, { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 }] }

/** Who may call a route: `none`, `key` (an API key header), `{ key: { header } }` or `{ jwt: { issuer, audience, scopes } }`. */
const auth = {
  anyOf: [
    { enum: ['none', 'key'] },
    {
      type: 'object',
      properties: { key: { type: 'object', properties: { header: { type: 'string', pattern: '^[A-Za-z0-9-]+$' } }, additionalProperties: false } },
      required: ['key'],
      additionalProperties: false,
    },
    {
      type: 'object',
      properties: {
        jwt: {
          type: 'object',
          properties: { issuer: url, audience: names, scopes: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 }, jwksUri: url },
          required: ['issuer', 'audience'],
          additionalProperties: false,
        },
      },
      required: ['jwt'],
      additionalProperties: false,
    },
  ],
}

/** Which browser origins may call a route: `true` (any) or `{ origins, methods, headers, exposeHeaders, credentials, maxAge }`. */
const cors = {
  anyOf: [
    { type: 'boolean' },
    {
      type: 'object',
      properties: {
        origins: { anyOf: [{ const: '*' }, { type: 'array', items: { type: 'string', pattern: '^https?://[^/]+$' }, minItems: 1 }] },
        methods: { type: 'array', items: { type: 'string' }, minItems: 1 },
        headers: { type: 'array', items: { type: 'string' } },
        exposeHeaders: { type: 'array', items: { type: 'string' } },
        credentials: { type: 'boolean' },
        maxAge: { type: 'integer', minimum: 0 },
      },
      additionalProperties: false,
    },
  ],
}

/** A route's security, on the route or (`custom.polycloud.http`) for every route of the service. */
export const SECURITY_PROPERTIES = { auth, cors, maxBodySize: { type: 'integer', minimum: 0 } } as const

const SHAPES = {
  /** `GET /notes/{id}` or `{ method, path, auth, cors, maxBodySize }`. */
  route: {
    short: { type: 'string', pattern: '^\\s*\\S+\\s+/\\S*\\s*$' },
    properties: { method: { type: 'string' }, path: { type: 'string', pattern: '^/' }, ...SECURITY_PROPERTIES },
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

/** The fields of a neutral event's object form that every provider reads (the others are a provider's own). */
export function sharedFields(event: NeutralEventName): readonly string[] {
  return Object.keys(SHAPES[event].properties)
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
 * serverless.yml serves every cloud. `custom.polycloud.http` is every provider's: the security of every route
 * (`auth`, `cors`, `maxBodySize`) and the API keys by name; so is `custom.polycloud.resources`, the resources the
 * functions use.
 */
export function customSchema(provider: string, providers: readonly string[], own: Json | undefined, resources: { readonly own?: Json | undefined; readonly spellings: readonly string[] } = { spellings: providers }): Json {
  const properties: Json = Object.fromEntries(providers.map((name) => [name, { type: 'object' }]))
  if (own) properties[provider] = own
  // Every provider's: the resources the functions use, declared once (resources.ts).
  properties.resources = resourcesSchema(providers, provider, resources.own, resources.spellings)
  // Every provider's: the security of every route (each route may say otherwise), and the API keys by name.
  properties.http = {
    type: 'object',
    properties: { ...SECURITY_PROPERTIES, keys: { type: 'object', additionalProperties: { type: 'string', minLength: 1 } } },
    additionalProperties: false,
  }
  // Every provider's: the OpenTelemetry opt-in, checked by the model (telemetry.ts) with messages naming the key.
  properties.telemetry = { type: 'object' }
  return { properties: { polycloud: { type: 'object', properties, additionalProperties: false } } }
}

/**
 * `functions.<name>.polycloud: false` keeps a function native (its handler and events untouched);
 * `functions.<name>.excludeFrom: [cloudflare]` leaves it out of the deploys to those providers (for a trigger a
 * provider cannot honour, such as a topic on Cloudflare), each provider named as `provider.name` or as its handlers'
 * `context.provider` names it (`google` or `gcp`); `functions.<name>.uses: [uploads]` names the declared resources
 * its code uses.
 */
export function functionSchema(providers: readonly string[]): Json {
  return {
    properties: {
      polycloud: { type: 'boolean' },
      uses: USES_SCHEMA,
      excludeFrom: { type: 'array', items: { enum: [...providers] }, uniqueItems: true, minItems: 1 },
    },
  }
}

/** The schema error messages of the framework the plugin explains (osls's ConfigSchemaHandler). */
export interface SchemaMessages {
  handleErrorMessages?(messages: string[]): void
}

/**
 * Makes the framework's schema errors about events sentences: osls reports them as the regular expression or the
 * schema keyword that failed (`must match pattern "^\s*(@[a-z]+|..."`, `unsupported function event`). Each message
 * about an event is explained from the value the user wrote; the others stay as they are.
 */
export function explainSchemaErrors(handler: SchemaMessages, functions: () => Readonly<Record<string, { events?: unknown[] }>> | undefined, provider: EventVocabulary): void {
  const show = handler.handleErrorMessages?.bind(handler)
  if (show === undefined) return
  handler.handleErrorMessages = (messages) => show([...new Set(messages.map((message) => explainSchemaMessage(message, functions() ?? {}, provider)))])
}

/** What a provider adds to the events users can write: its fields on neutral events, its native events. */
export interface EventVocabulary {
  readonly title: string
  readonly extensions?: Readonly<Partial<Record<NeutralEventName, EventExtension>>>
  readonly natives?: readonly string[]
}

/** One osls schema message (`at 'functions.a.events.0.cron': ...`), explained when it is about an event. */
export function explainSchemaMessage(message: string, functions: Readonly<Record<string, { events?: unknown[] }>>, provider: EventVocabulary): string {
  const extensions = provider.extensions ?? {}
  const match = /^at 'functions\.([^.']+)\.events\.(\d+)(?:\.([^.']+))?[^']*': (.*)$/s.exec(message)
  if (!match) return message
  const [, fn, index, key, detail] = match as unknown as [string, string, string, string | undefined, string]
  const event = functions[fn]?.events?.[Number(index)]
  if (typeof event !== 'object' || event === null) return message
  const written = Object.keys(event)[0]
  if (written === undefined) return message
  const where = `at 'functions.${fn}.events.${index}${key ? `.${key}` : ''}'`
  if (key === undefined) {
    if (isNeutralEvent(written)) return message
    const near = nearest(written, NEUTRAL_EVENT_NAMES) ?? nearest(written, provider.natives ?? [])
    return (
      `${where}: ${JSON.stringify(written)} is not an event Polycloud or ${provider.title} knows${near ? `; did you mean ${JSON.stringify(near)}?` : '.'} ` +
      `The neutral events, for every provider, are ${NEUTRAL_EVENT_NAMES.join(', ')}`
    )
  }
  if (!isNeutralEvent(key)) return message
  const problem = eventProblem(key, (event as Json)[key], extensions[key] ?? {})
  return problem === undefined ? `${where}: ${detail}` : `${where}: ${problem}`
}

const EXAMPLES: Readonly<Record<NeutralEventName, string>> = {
  route: '"GET /notes/{id}" or { method: GET, path: /notes/{id} }',
  cron: '"0 3 * * *" or { schedule: "0 3 * * *", enabled: true }',
  fromQueue: 'orders or { name: orders, batchSize: 10 }',
  topic: 'alerts or { name: alerts }',
  bucket: 'uploads or { name: uploads, on: created, prefix: images/ }',
  changes: 'NotesTable or { table: NotesTable, batchSize: 100 }',
}

/** What is wrong with a neutral event's value, as a sentence; undefined when nothing the plugin can name is. */
function eventProblem(event: NeutralEventName, value: unknown, extension: EventExtension): string | undefined {
  const shape: EventShape = SHAPES[event]
  if (typeof value === 'string') return valueProblem(event, event, value)
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return `${event} is written as ${EXAMPLES[event]}, not ${JSON.stringify(value)}`
  }
  const properties = { ...shape.properties, ...extension.properties }
  const fields = Object.keys(properties)
  for (const field of Object.keys(value)) {
    if (field in properties) continue
    const near = nearest(field, fields)
    return `${event} has no field ${JSON.stringify(field)}${near ? `; did you mean ${JSON.stringify(near)}?` : ''} (its fields: ${fields.join(', ')})`
  }
  const alternatives = [...shape.required, ...(extension.required ?? [])]
  if (!alternatives.some((names) => names.every((name) => name in value))) {
    return `${event} needs ${alternatives.map((names) => names.join(' and ')).join(', or ')}; e.g. ${EXAMPLES[event]}`
  }
  if (event === 'route') {
    const { method, path } = value as { method: unknown; path: unknown }
    if (typeof method === 'string' && typeof path === 'string') return routeProblem({ method, path })
  }
  for (const [field, written] of Object.entries(value)) {
    const schema = properties[field] as { enum?: unknown[]; type?: string; minimum?: number; maximum?: number } | undefined
    if (schema?.enum && !schema.enum.includes(written)) return `${event}.${field} is one of ${schema.enum.join(', ')}, not ${JSON.stringify(written)}`
    if (typeof written === 'string') {
      const problem = valueProblem(event, field, written)
      if (problem !== undefined) return problem
    }
    if ((schema?.type === 'integer' || schema?.type === 'number') && typeof written === 'number') {
      if (schema.type === 'integer' && !Number.isInteger(written)) return `${event}.${field} is a whole number, not ${written}`
      if (schema.minimum !== undefined && written < schema.minimum) return `${event}.${field} is at least ${schema.minimum}, not ${written}`
      if (schema.maximum !== undefined && written > schema.maximum) return `${event}.${field} is at most ${schema.maximum}, not ${written}`
    }
    if (schema?.type !== undefined && typeof written !== (schema.type === 'integer' ? 'number' : schema.type)) {
      return `${event}.${field} is a ${schema.type === 'integer' ? 'whole number' : schema.type}, not ${JSON.stringify(written)}`
    }
  }
  return undefined
}

/** A string value of an event (its short form, or a field of its object form) checked as its field says. */
function valueProblem(event: NeutralEventName, field: string, value: string): string | undefined {
  if (event === 'route' && field === 'route') return routeProblem(value)
  if (event === 'cron' && (field === 'cron' || field === 'schedule')) return messageOf(() => parseSchedule(value), ScheduleError)
  if ((event === 'fromQueue' || event === 'topic') && (field === event || field === 'name') && !new RegExp(name.pattern).test(value)) {
    return `${event === 'topic' ? 'topic' : 'queue'} name ${JSON.stringify(value)} may hold letters, digits, ".", "_" and "-", starting with a letter or digit (at most ${name.maxLength} characters)`
  }
  if (event === 'fromQueue' && value.length > name.maxLength) return `queue name ${JSON.stringify(value)} is longer than ${name.maxLength} characters`
  if (event === 'bucket' && (field === 'bucket' || field === 'name') && !new RegExp(bucketName.pattern).test(value)) {
    return `bucket name ${JSON.stringify(value)} must be 3 to 63 lower-case letters, digits, "." and "-", starting and ending with a letter or digit`
  }
  return undefined
}

function routeProblem(route: string | { method: string; path: string }): string | undefined {
  return messageOf(() => parseRoute(route), RouteError)
}

/** The message of the error of class `kind` that `run` throws (others are thrown on), or undefined. */
function messageOf(run: () => unknown, kind: abstract new (...args: never[]) => Error): string | undefined {
  try {
    run()
  } catch (error) {
    if (error instanceof kind) return error.message
    throw error
  }
  return undefined
}

/** The candidate nearest to `word` (case ignored) when it is near enough to be a slip of the keyboard. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase())
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length] as number
}
