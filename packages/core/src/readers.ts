/**
 * The typed readers every adapter parses a native payload's fields with, so that each neutral event field holds its
 * declared type (see `fields.ts`) whatever arrived. One rule for all: a field the payload leaves out (undefined or
 * null) takes its neutral "none" (undefined, or '' for a time); a field that is there holds what the format says or
 * the record is refused with an {@link EventError} naming the field and what it holds instead. The refusal is the
 * record's own (translateRecords makes it an InvalidRecord), so it fails, and is redelivered or dead-lettered, as
 * the platform does with a failed record.
 */
import { isRfc3339 } from './cloud-event.js'
import { EventError } from './errors.js'
import { setOwn } from './own.js'

/** What a value is, for an error message: its type, and a scalar's value (a string's first 40 characters). */
export function typeOf(value: unknown): string {
  if (value === null) return 'null'
  if (value === undefined) return 'nothing'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') {
    return value === '' ? 'the empty string' : `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`
  }
  if (typeof value === 'number' || typeof value === 'boolean') return `the ${typeof value} ${String(value)}`
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'an invalid Date' : 'a Date'
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}

function refuse(field: string, wanted: string, value: unknown): never {
  throw new EventError(`${field} must be ${wanted}, got ${typeOf(value)}`)
}

function absent(value: unknown): value is undefined | null {
  return value === undefined || value === null
}

/** An id: a non-empty string. There is no neutral "none" for an id, so an absent one is refused too. */
export function readId(value: unknown, field: string): string {
  if (typeof value === 'string' && value !== '') return value
  return refuse(field, 'a non-empty string', value)
}

/** An optional string: undefined when absent, else a string. */
export function readString(value: unknown, field: string): string | undefined {
  if (typeof value === 'string') return value
  if (absent(value)) return undefined
  return refuse(field, 'a string', value)
}

/**
 * A time given as an RFC 3339 timestamp, as ISO 8601 UTC: a UTC timestamp is kept as sent (every fractional
 * digit), one with another offset is converted (to milliseconds). '' when absent or empty.
 */
export function readTime(value: unknown, field: string): string {
  if (absent(value) || value === '') return ''
  if (typeof value !== 'string' || !isRfc3339(value)) return refuse(field, 'an RFC 3339 timestamp', value)
  const last = value[value.length - 1]
  if (last === 'Z') return value
  const ms = Date.parse(value)
  // A leap second (:60) Date cannot represent stays as sent.
  return Number.isNaN(ms) ? value : new Date(ms).toISOString()
}

/** The times ISO 8601 writes with four-digit years, 0000-01-01 to 9999-12-31, in milliseconds since the epoch. */
const MIN_MS = -62167219200000
const MAX_MS = 253402300799999

/**
 * A time given as a count since the epoch (a number, its decimal string, or a Date), as ISO 8601 UTC.
 * `msPerUnit` is 1 for milliseconds, 1000 for seconds. '' when absent or empty.
 */
export function readEpochTime(value: unknown, field: string, msPerUnit = 1): string {
  if (absent(value) || value === '') return ''
  const count = value instanceof Date ? value.getTime() / msPerUnit : typeof value === 'string' && value.trim() !== '' ? Number(value) : value
  if (typeof count !== 'number' || !(count * msPerUnit >= MIN_MS && count * msPerUnit <= MAX_MS)) {
    const wanted = value instanceof Date ? 'a valid Date' : `a time in ${msPerUnit === 1000 ? 'seconds' : 'milliseconds'} since the epoch`
    return refuse(field, `${wanted} (from year 0 to 9999)`, value)
  }
  return new Date(count * msPerUnit).toISOString()
}

const DIGITS = /^\d+$/

/** A size or length: a non-negative safe integer, or its decimal string (proto3 JSON writes int64 so). */
export function readSize(value: unknown, field: string): number | undefined {
  if (absent(value)) return undefined
  const number = typeof value === 'string' && DIGITS.test(value) ? Number(value) : value
  if (typeof number === 'number' && Number.isSafeInteger(number) && number >= 0) return number
  return refuse(field, 'a non-negative integer', value)
}

const NO_STRINGS: Readonly<Record<string, string>> = Object.freeze({})

/**
 * A map of names to strings (message attributes, properties): an object whose every entry gives a string, `pick`
 * taking it from an entry that wraps it (`{ stringValue }` on SQS, `{ Value }` on SNS), in a new record whose every
 * name is an own key (`__proto__` too). Without `pick`, the object itself once every value is checked (parsed JSON
 * keeps every name an own key). An empty, frozen record when absent.
 */
export function readStrings(
  value: unknown,
  field: string,
  pick?: (entry: unknown) => unknown,
): Readonly<Record<string, string>> {
  if (absent(value)) return NO_STRINGS
  if (typeof value !== 'object' || Array.isArray(value)) return refuse(field, 'an object', value)
  const record = value as Readonly<Record<string, unknown>>
  const out: Record<string, string> | undefined = pick === undefined ? undefined : {}
  for (const name of Object.keys(record)) {
    const entry = record[name]
    const text = pick === undefined ? entry : pick(entry)
    if (typeof text !== 'string') {
      const at = `${field}[${JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}...` : name)}]`
      refuse(at, pick === undefined ? 'a string' : 'an entry with a string value', text)
    }
    if (out !== undefined) setOwn(out, name, text as string)
  }
  return out ?? (record as Readonly<Record<string, string>>)
}

/** A count such as a delivery attempt: an integer, 1 or more (or its decimal string); undefined when absent. */
export function readCount(value: unknown, field: string): number | undefined {
  if (absent(value)) return undefined
  const number = typeof value === 'string' && DIGITS.test(value) ? Number(value) : value
  if (typeof number === 'number' && Number.isSafeInteger(number) && number >= 1) return number
  return refuse(field, 'an integer of 1 or more', value)
}

const NO_MEMBERS: Readonly<Record<string, unknown>> = Object.freeze({})

/** A nested object of the payload (a record's `attributes`, `properties`): an empty, frozen record when absent. */
export function readObject(value: unknown, field: string): Readonly<Record<string, unknown>> {
  if (absent(value)) return NO_MEMBERS
  if (typeof value === 'object' && !Array.isArray(value)) return value as Readonly<Record<string, unknown>>
  return refuse(field, 'an object', value)
}

