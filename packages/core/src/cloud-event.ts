/**
 * CloudEvents 1.0 as the specification defines them (cloudevents/spec `cloudevents/spec.md`, context attributes and
 * type system, and `cloudevents/formats/json-format.md`, the JSON format): the validation of a structured-mode event
 * every provider that hands over CloudEvents applies, and the neutral event made from a valid one.
 */
import { base64ToBytes, isBase64 } from '#encoding'
import { EventError } from './errors.js'
import type { CloudEvent } from './events.js'
import { setOwn } from './own.js'
import { readJson } from './json-text.js'

/** The context attributes and JSON members of the specification; every other member is an extension attribute. */
const RESERVED = new Set(['specversion', 'id', 'source', 'type', 'datacontenttype', 'dataschema', 'subject', 'time', 'data', 'data_base64'])

/** The value of `count` ASCII digits at `at`, or -1 when one of them is not a digit. */
function digits(text: string, at: number, count: number): number {
  let value = 0
  for (let i = at; i < at + count; i++) {
    const digit = text.charCodeAt(i) - 48
    if (!(digit >= 0 && digit <= 9)) return -1
    value = value * 10 + digit
  }
  return value
}

function daysIn(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31
}

/**
 * Whether a string is an RFC 3339 `date-time` (section 5.6), with every field in its range: full-date "T"
 * full-time, seconds required (60 for a leap second), a fraction of any length, and "Z" or a numeric offset ("T" and
 * "Z" may be lower case). Read character by character: every event's time goes through here.
 */
export function isRfc3339(text: string): boolean {
  if (text.length < 20) return false
  if (text[4] !== '-' || text[7] !== '-' || text[13] !== ':' || text[16] !== ':') return false
  const t = text[10]
  if (t !== 'T' && t !== 't') return false
  const year = digits(text, 0, 4)
  const month = digits(text, 5, 2)
  const day = digits(text, 8, 2)
  const hour = digits(text, 11, 2)
  const minute = digits(text, 14, 2)
  const second = digits(text, 17, 2)
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return false
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60) return false
  let at = 19
  if (text[at] === '.') {
    const start = ++at
    while (at < text.length && digits(text, at, 1) !== -1) at++
    if (at === start) return false
  }
  const zone = text[at]
  if (zone === 'Z' || zone === 'z') return at + 1 === text.length
  if ((zone !== '+' && zone !== '-') || at + 6 !== text.length || text[at + 3] !== ':') return false
  const offsetHour = digits(text, at + 1, 2)
  const offsetMinute = digits(text, at + 4, 2)
  return offsetHour >= 0 && offsetHour <= 23 && offsetMinute >= 0 && offsetMinute <= 59
}

// RFC 3986 URI-reference: the characters it allows (unreserved, reserved, percent escapes), and a scheme when the
// first segment before ':' is one (otherwise a relative reference, whose first segment has no ':').
const URI_CHARS = /^(?:[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$/
const SCHEME = /^[A-Za-z][A-Za-z0-9+\-.]*:/

/** Whether a string is an RFC 3986 URI-reference (absolute URI or relative reference). */
export function isUriReference(text: string): boolean {
  if (!URI_CHARS.test(text)) return false
  const end = text.search(/[/?#]/)
  const first = end === -1 ? text : text.slice(0, end)
  return !first.includes(':') || SCHEME.test(text)
}

/** Whether a string is an RFC 3986 URI: a URI-reference with a scheme. */
export function isAbsoluteUri(text: string): boolean {
  return SCHEME.test(text) && isUriReference(text)
}

// RFC 2045 section 5.1 / RFC 2046: type "/" subtype *(";" attribute "=" value), value a token or a quoted string.
const MEDIA_TYPE =
  /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+\/[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:[ \t]*;[ \t]*[!#$%&'*+\-.^_`|~0-9A-Za-z]+=(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+|"(?:[^"\\\r\n]|\\.)*"))*[ \t]*$/

/** Whether a string is a media type as RFC 2046 writes one (`application/json; charset=utf-8`). */
export function isMediaType(text: string): boolean {
  return MEDIA_TYPE.test(text)
}

const EXTENSION_NAME = /^[a-z0-9]+$/
const INT32_MIN = -2147483648
const INT32_MAX = 2147483647

function describeType(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'number') return Number.isInteger(value) ? `the integer ${value}, out of range` : `the number ${value}`
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}

function required(event: Readonly<Record<string, unknown>>, name: string): string {
  const value = event[name]
  if (value === undefined || value === null) throw new EventError(`the required attribute ${name} is missing`)
  if (typeof value !== 'string') throw new EventError(`${name} must be a string, got ${describeType(value)}`)
  if (value === '') throw new EventError(`${name} must be a non-empty string`)
  return value
}

/** An OPTIONAL string attribute: null or absent is unset; present, it is a non-empty string `valid` accepts. */
function optional(event: Readonly<Record<string, unknown>>, name: string, valid?: (text: string) => boolean, rule?: string): string | undefined {
  const value = event[name]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') throw new EventError(`${name} must be a string, got ${describeType(value)}`)
  if (value === '') throw new EventError(`${name} must be a non-empty string when present`)
  if (valid !== undefined && !valid(value)) throw new EventError(`${name} ${JSON.stringify(value.slice(0, 100))} is not ${rule}`)
  return value
}

/**
 * Validates a structured-mode CloudEvent (its JSON object, or the attributes a binary-mode message carries) as the
 * specification does, and returns the neutral event: every attribute and extension kept, `time` as given,
 * `data_base64` decoded to bytes. Throws an {@link EventError} naming the attribute and the rule it breaks:
 * a missing or empty `id`, `source`, `type` or `specversion`; a `specversion` other than 1.0; a `source` that is
 * not a URI-reference; a `time` that is not RFC 3339; an empty or malformed `datacontenttype`; an empty or
 * relative `dataschema`; an empty `subject`; an extension whose name is not lower-case letters and digits or
 * whose value is not a boolean, integer or string; `data` and `data_base64` together; `data` nested deeper than
 * any real event's (see `readJson`).
 */
export function toCloudEvent(event: Readonly<Record<string, unknown>>, native: unknown = event): CloudEvent {
  const specversion = required(event, 'specversion')
  if (specversion !== '1.0') throw new EventError(`specversion ${JSON.stringify(specversion.slice(0, 20))} is not 1.0, the version handled`)
  const id = required(event, 'id')
  const source = required(event, 'source')
  if (!isUriReference(source)) throw new EventError(`source ${JSON.stringify(source.slice(0, 100))} is not a URI-reference (RFC 3986)`)
  const type = required(event, 'type')
  const time = optional(event, 'time', isRfc3339, 'an RFC 3339 timestamp')
  const datacontenttype = optional(event, 'datacontenttype', isMediaType, 'a media type (RFC 2046)')
  const dataschema = optional(event, 'dataschema', isAbsoluteUri, 'an absolute URI (RFC 3986)')
  const subject = optional(event, 'subject')
  const extensions: Record<string, unknown> = {}
  for (const name of Object.keys(event)) {
    if (RESERVED.has(name)) continue
    if (!EXTENSION_NAME.test(name)) {
      throw new EventError(`extension attribute ${JSON.stringify(name.slice(0, 100))}: names are lower-case letters and digits only`)
    }
    const value = event[name]
    if (value === null || value === undefined) continue
    if (typeof value === 'boolean' || typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX)) {
      setOwn(extensions, name, value)
    } else {
      throw new EventError(`extension attribute ${name} is ${describeType(value)}; attribute values are booleans, 32-bit integers or strings`)
    }
  }
  const base64 = event.data_base64
  let data: unknown = readJson(event.data, 'data')
  if (base64 !== undefined && base64 !== null) {
    if ('data' in event) throw new EventError('data and data_base64 are both present; an event has one or the other')
    if (typeof base64 !== 'string' || !isBase64(base64)) throw new EventError('data_base64 is not base64 (RFC 4648)')
    data = base64ToBytes(base64)
  }
  return {
    kind: 'cloudEvent',
    id,
    time: time ?? '',
    source,
    native,
    specversion,
    type,
    subject,
    datacontenttype,
    dataschema,
    data,
    extensions,
  }
}

/**
 * Checks the attributes of a CloudEvent a provider mapped from its own format (EventBridge, the Event Grid schema)
 * by the same rules: what a handler receives is a valid CloudEvents 1.0 event whatever it came from.
 */
export function checkCloudEvent(event: CloudEvent): CloudEvent {
  const attributes: Record<string, unknown> = { specversion: event.specversion, id: event.id, source: event.source, type: event.type }
  if (event.time !== '') attributes.time = event.time
  if (event.subject !== undefined) attributes.subject = event.subject
  if (event.datacontenttype !== undefined) attributes.datacontenttype = event.datacontenttype
  if (event.dataschema !== undefined) attributes.dataschema = event.dataschema
  for (const name of Object.keys(event.extensions)) setOwn(attributes, name, event.extensions[name])
  toCloudEvent(attributes)
  readJson(event.data, 'data')
  return event
}
