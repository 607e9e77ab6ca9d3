/**
 * The declared types of the neutral events' fields, as data: one table, checked against the interfaces of
 * `events.ts` by the compiler (a field added, removed or retyped there fails to compile here until its rule
 * follows), and the check that an event's fields hold what the table says. Adapters give every field its type when
 * they parse the native payload, with the readers of `readers.ts`; this table is what tests and the fuzzer hold
 * every event that reaches a handler to.
 */
import { isRfc3339 } from './cloud-event.js'
import type { EventKind, JsonObject, NeutralEvent } from './events.js'
import { typeOf } from './readers.js'

/** What a field holds. */
export type FieldRule =
  /** A non-empty string. */
  | 'id'
  /** An RFC 3339 timestamp, or '' when the provider gives none. */
  | 'time'
  /** Any string ('' included). */
  | 'string'
  /** A string, or undefined. */
  | 'string?'
  /** An integer, 1 or more. */
  | 'count'
  /** A non-negative safe integer, or undefined. */
  | 'size?'
  /** An object whose own values are all strings. */
  | 'strings'
  /** An object whose own values are booleans, 32-bit integers or strings (CloudEvent extension attributes). */
  | 'extensions'
  /** A JSON object (not null, not an array). */
  | 'object'
  /** A JSON object, or undefined. */
  | 'object?'
  /** Anything (`native`, a CloudEvent's `data`). */
  | 'any'
  /** One of the keys of this record (a literal union: `kind`, a storage or change `type`). */
  | { readonly oneOf: Readonly<Record<string, true>> }

/** The rules a field of type `T` may have: the compiler checks each table entry against its field's type. */
export type RuleFor<T> = unknown extends T
  ? 'any'
  : [T] extends [string]
    ? string extends T
      ? 'id' | 'time' | 'string'
      : { readonly oneOf: Readonly<Record<T & string, true>> }
    : [T] extends [string | undefined]
      ? 'string?'
      : [T] extends [number]
        ? 'count'
        : [T] extends [number | undefined]
          ? 'size?'
          : [T] extends [Readonly<Record<string, string>>]
            ? 'strings'
            : [T] extends [JsonObject]
              ? 'object'
              : [T] extends [JsonObject | undefined]
                ? 'object?'
                : [T] extends [Readonly<Record<string, unknown>>]
                  ? 'extensions'
                  : never

/** The data fields of an event type (its methods, `json()` and `bytes()`, left out), each with its rule. */
export type FieldRules<E> = {
  readonly [F in keyof E as E[F] extends (...args: never[]) => unknown ? never : F]-?: RuleFor<E[F]>
}

/** One entry per event kind, one rule per field. */
export type FieldTable = { readonly [K in EventKind]: FieldRules<Extract<NeutralEvent, { kind: K }>> }

const base = { id: 'id', time: 'time', source: 'string', native: 'any' } as const

/** Every neutral event field's declared type. */
export const NEUTRAL_FIELDS: FieldTable = {
  schedule: { ...base, kind: { oneOf: { schedule: true } }, schedule: 'string?', name: 'string?' },
  queue: {
    ...base,
    kind: { oneOf: { queue: true } },
    body: 'string',
    queue: 'string',
    attributes: 'strings',
    attempt: 'count',
    groupId: 'string?',
  },
  topic: { ...base, kind: { oneOf: { topic: true } }, body: 'string', topic: 'string', subject: 'string?', attributes: 'strings' },
  storage: {
    ...base,
    kind: { oneOf: { storage: true } },
    type: { oneOf: { created: true, deleted: true, other: true } },
    action: 'string',
    bucket: 'string',
    key: 'string',
    size: 'size?',
    etag: 'string?',
    contentType: 'string?',
    versionId: 'string?',
  },
  changes: {
    ...base,
    kind: { oneOf: { changes: true } },
    type: { oneOf: { insert: true, modify: true, remove: true, upsert: true } },
    table: 'string',
    keys: 'object',
    newImage: 'object?',
    oldImage: 'object?',
  },
  cloudEvent: {
    ...base,
    kind: { oneOf: { cloudEvent: true } },
    specversion: 'string',
    type: 'string',
    subject: 'string?',
    datacontenttype: 'string?',
    dataschema: 'string?',
    data: 'any',
    extensions: 'extensions',
  },
}

const INT32_MIN = -2147483648
const INT32_MAX = 2147483647

/** Whether a value is a plain record: an object, not null, not an array. */
function isObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Whether a value holds what a rule says. */
export function fits(rule: FieldRule, value: unknown): boolean {
  switch (rule) {
    case 'id':
      return typeof value === 'string' && value !== ''
    case 'time':
      return typeof value === 'string' && (value === '' || isRfc3339(value))
    case 'string':
      return typeof value === 'string'
    case 'string?':
      return value === undefined || typeof value === 'string'
    case 'count':
      return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1
    case 'size?':
      return value === undefined || (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0)
    case 'strings':
      return isObject(value) && Object.values(value).every((item) => typeof item === 'string')
    case 'extensions':
      return (
        isObject(value) &&
        Object.values(value).every(
          (item) =>
            typeof item === 'string' ||
            typeof item === 'boolean' ||
            (typeof item === 'number' && Number.isInteger(item) && item >= INT32_MIN && item <= INT32_MAX),
        )
      )
    case 'object':
      return isObject(value)
    case 'object?':
      return value === undefined || isObject(value)
    case 'any':
      return true
    default:
      return typeof value === 'string' && Object.hasOwn(rule.oneOf, value)
  }
}

/**
 * The fields of an event that do not hold their declared type, each as `<field>: <what it holds>` (empty when
 * every field does). A field whose getter throws (a message body flagged base64 that is not) counts as holding its
 * type: reading it fails with an error naming the message, as a handler would see.
 */
export function fieldProblems(event: NeutralEvent): string[] {
  const rules = (NEUTRAL_FIELDS as Readonly<Record<string, Readonly<Record<string, FieldRule>>>>)[
    (event as { readonly kind?: unknown }).kind as string
  ]
  if (rules === undefined) return [`kind: ${String((event as { readonly kind?: unknown }).kind)} is no event kind`]
  const problems: string[] = []
  for (const field of Object.keys(rules)) {
    let value: unknown
    try {
      value = (event as unknown as Readonly<Record<string, unknown>>)[field]
    } catch {
      continue
    }
    if (!fits(rules[field] as FieldRule, value)) problems.push(`${field}: ${typeOf(value)}`)
  }
  return problems
}
