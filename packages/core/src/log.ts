/**
 * The JSON logger every provider shares, and the per-invocation summary line. One logger in core; each adapter
 * supplies a small {@link Observability} object naming what its platform's log console indexes (Cloud Logging's
 * `severity` and trace fields, CloudWatch's `timestamp` and X-Ray trace id, Application Insights' operation ids), and
 * a sink (stdout, the Functions invocation context, the Workers console).
 *
 * A line: `{[platform level fields]"level","message","time"|"timestamp","requestId","function","traceId","spanId",
 * ["parentSpanId"],[platform trace fields],...fields}`. Secrets never reach a line: see {@link redacted}.
 */
import type { IncomingTrace, TraceContext } from './trace.js'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

/** Fields attached to a log line. Errors are written as { name, message, stack }. */
export type LogFields = Readonly<Record<string, unknown>>

/** Where a provider's log lines go: stdout on Lambda, the invocation context on Azure, console on Workers. */
export type LogSink = (level: LogLevel, line: string) => void

type Env = Readonly<Record<string, string | undefined>>

/**
 * What a provider's log console and trace headers need beyond the shared line: supplied once per adapter (a
 * constant object; nothing is made per invocation).
 */
export interface Observability {
  /** JSON members that start every line of a level, each ending with a comma (Cloud Logging: `"severity":"INFO",`). */
  readonly levelFields?: Readonly<Record<LogLevel, string>>
  /** The name of the time field: `time` (default), or `timestamp` where the platform reads that one (Lambda). */
  readonly timeKey?: string
  /**
   * JSON members naming the trace as the platform's console indexes it, comma-separated (the X-Ray trace id on AWS,
   * `logging.googleapis.com/trace` on Google Cloud, `operation_Id` on Azure); made once per invocation.
   */
  traceFields?(trace: TraceContext, env: Env): string
  /** The request header holding the platform's own trace context (`x-amzn-trace-id`, `x-cloud-trace-context`). */
  readonly traceHeader?: string
  /** Parses {@link traceHeader}'s value. */
  parseTraceHeader?(value: string): IncomingTrace | undefined
}

export const LEVELS: Readonly<Record<LogLevel | 'silent', number>> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 }

/** What LOG_LEVEL and POLYCLOUD_LOG_SUMMARY say, read once per environment object (process.env: once per process). */
export interface LogSettings {
  readonly threshold: number
  /** Which invocations write a summary line: every one, the failed ones, or none. */
  readonly summary: SummaryPolicy
}

/**
 * POLYCLOUD_LOG_SUMMARY: `all` (the default; also `on`, `true`, `1`): every invocation ends with a summary line, the
 * line each cloud's log-based metrics count (errors, durations, cold starts); `errors`: only a failed invocation or a
 * batch with a failed message; `off` (also `false`, `0`): none. The line costs a warm AWS HTTP invocation ~29,000
 * instructions (invocations 1,001-11,000; ~16,000 in optimised code, the write ~5,000 of it; the invocation without
 * it ~22,600, bench/warm-count.ts) and its cold start ~3.7 M: `errors` keeps a successful invocation's cost to a check.
 */
export type SummaryPolicy = 'all' | 'errors' | 'off'

function summaryPolicy(value: string | undefined): SummaryPolicy {
  switch (value?.toLowerCase()) {
    case 'all':
    case 'on':
    case 'true':
    case '1':
      return 'all'
    case 'errors':
      return 'errors'
    case 'off':
    case 'false':
    case '0':
      return 'off'
    default:
      return 'all'
  }
}

// What the logs read from an environment, by environment object and reader: a process's environment does not change
// while it serves, so each reader runs once per process (see forgetLogSettings).
const memos = new WeakMap<object, Map<object, unknown>>()

/**
 * `read(env)`, computed once per environment object and reader (`read` itself is the key): for what log lines need
 * from the environment (the threshold, Google Cloud's project for trace names) without reading it per invocation.
 */
export function perEnvironment<T>(env: Env, read: (env: Env) => T): T {
  let memo = memos.get(env)
  if (memo === undefined) memos.set(env, (memo = new Map()))
  if (memo.has(read)) return memo.get(read) as T
  const value = read(env)
  memo.set(read, value)
  return value
}

function readSettings(env: Env): LogSettings {
  const level = env.LOG_LEVEL?.toLowerCase() as LogLevel | 'silent' | undefined
  return { threshold: (level !== undefined && Object.hasOwn(LEVELS, level) ? LEVELS[level] : undefined) ?? LEVELS.info, summary: summaryPolicy(env.POLYCLOUD_LOG_SUMMARY) }
}

/**
 * The log settings of an environment: the threshold from LOG_LEVEL (debug, info, warn, error, silent; default
 * info) and which invocations write a summary line (POLYCLOUD_LOG_SUMMARY: see {@link SummaryPolicy}). Read
 * once per environment object: a process's environment does not change while it serves.
 */
export function logSettings(env: Env): LogSettings {
  // Every invocation of an instance passes the same environment object: one comparison instead of two map lookups.
  if (env !== lastEnv || lastSettings === undefined) {
    lastSettings = perEnvironment(env, readSettings)
    lastEnv = env
  }
  return lastSettings
}

let lastEnv: Env | undefined
let lastSettings: LogSettings | undefined

/**
 * Forgets what the logs read from an environment object (LOG_LEVEL, POLYCLOUD_LOG_SUMMARY, the adapters' reads such
 * as Google Cloud's project), so the next invocation reads it again: for a host (or a test) that changes the
 * environment of a running process.
 */
export function forgetLogSettings(env: Env): void {
  memos.delete(env)
  if (env === lastEnv) lastSettings = undefined
}

// Times: the ISO text of the current second is kept, so a line costs a number's formatting, not a Date's.
let lastSecond = Number.NaN
let secondText = ''

/** `Date.now()` (or a given time) as ISO 8601 UTC with milliseconds, cheaply. */
export function isoTime(now = Date.now()): string {
  const second = Math.floor(now / 1000)
  if (second !== lastSecond) {
    const iso = new Date(second * 1000).toISOString()
    if (iso.length !== 24) return new Date(now).toISOString()
    lastSecond = second
    secondText = iso.slice(0, 20)
  }
  const ms = now - second * 1000
  return `${secondText}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`
}

const SAFE_TEXT = /^[\w .:/@+=-]*$/

/** A string as a JSON string: as it is when it needs no escaping (ids, names), else JSON.stringify's. */
export function jsonString(text: string): string {
  return SAFE_TEXT.test(text) ? `"${text}"` : JSON.stringify(text)
}

// The function's name is the same on every invocation of an instance: its JSON is kept.
let lastName = ''
let lastNameJson = '""'

function nameJson(name: string): string {
  if (name !== lastName) {
    lastNameJson = jsonString(name)
    lastName = name
  }
  return lastNameJson
}

// Redaction. A field whose name is a credential header or names a secret has its value replaced, at any depth of the
// logged fields (objects, arrays, Maps, Headers); a Bearer/Basic credential inside a string is replaced too.
export const REDACTED = '[REDACTED]'
const SECRET_NAME = /^(?:authorization|proxy-authorization|cookie|set-cookie|x-api-key|x-functions-key|x-goog-api-key)$|secret|token|passw(?:or)?d|api[-_]?key|credential|private[-_]?key|signature|session[-_]?key/i
const CREDENTIAL = /\b(Bearer|Basic|Digest|SharedKey|SharedAccessSignature)\s+[^\s,;"]+/gi
const extraNames = new Set<string>()

/**
 * Adds a field name whose values are always redacted (case-insensitive), besides the built-in rule: the header of a
 * route's API key (`@polycloud/auth` adds its own), or names from the POLYCLOUD_LOG_REDACT variable.
 */
export function redactField(name: string): void {
  extraNames.add(name.toLowerCase())
}

/** Whether a field of this name has its value redacted. */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name) || (extraNames.size > 0 && extraNames.has(name.toLowerCase()))
}

/** A string with the credentials it holds (`Bearer <token>`, `Basic <...>`, a SAS) replaced. */
export function redactText(text: string): string {
  return text.indexOf(' ') === -1 ? text : text.replace(CREDENTIAL, `$1 ${REDACTED}`)
}

/** `JSON.stringify`'s replacer for log fields: secrets redacted, errors as objects, bigints as text, headers and maps as objects. */
export function redacted(this: unknown, key: string, value: unknown): unknown {
  if (key !== '' && isSecretName(key)) return value === undefined ? undefined : REDACTED
  if (typeof value === 'string') return redactText(value)
  if (typeof value !== 'object' || value === null) return typeof value === 'bigint' ? value.toString() : value
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: value.message, stack: value.stack }
    if (value.cause !== undefined) out.cause = value.cause
    return out
  }
  if (value instanceof Map || isHeaders(value)) {
    const out: Record<string, unknown> = {}
    for (const [name, item] of (value as Map<unknown, unknown>).entries()) {
      Object.defineProperty(out, String(name), { value: item, enumerable: true, writable: true, configurable: true })
    }
    return out
  }
  return value
}

function isHeaders(value: object): boolean {
  const tag = (value as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag]
  return (tag === 'Headers' || tag === 'PortableHeaders') && typeof (value as { entries?: unknown }).entries === 'function'
}

/** The JSON text of log fields without the braces (`"a":1,"b":2`), redacted; '' when there are none. */
function fieldsJson(fields: LogFields | undefined): string {
  if (fields === undefined) return ''
  const text = JSON.stringify(fields, redacted)
  return text === undefined || text.length <= 2 ? '' : text.slice(1, -1)
}

/** The members of a line that are the same on every line of one invocation: request id, function, trace. */
export interface LineContext {
  /** `"requestId":...,"function":...,"traceId":...,"spanId":...,[parentSpanId],[platform fields]` (no trailing comma). */
  readonly members: string
}

/**
 * Structured JSON logger: one line per call with level, message, time, request id, function, trace ids and the
 * fields. The threshold comes from LOG_LEVEL (debug, info, warn, error, silent; default info).
 */
export interface Logger {
  debug(message: string, fields?: LogFields): void
  info(message: string, fields?: LogFields): void
  warn(message: string, fields?: LogFields): void
  error(message: string, fields?: LogFields): void
  /** A logger that adds these fields to every line. */
  child(fields: LogFields): Logger
}

export class JsonLogger implements Logger {
  readonly #sink: LogSink
  readonly #threshold: number
  readonly #format: Observability
  readonly #context: () => string
  readonly #extra: string

  /** `context` gives the invocation's members (made on the first line written). */
  constructor(sink: LogSink, threshold: number, format: Observability, context: () => string, extra = '') {
    this.#sink = sink
    this.#threshold = threshold
    this.#format = format
    this.#context = context
    this.#extra = extra
  }

  debug(message: string, fields?: LogFields): void {
    if (LEVELS.debug >= this.#threshold) this.#write('debug', message, fields)
  }

  info(message: string, fields?: LogFields): void {
    if (LEVELS.info >= this.#threshold) this.#write('info', message, fields)
  }

  warn(message: string, fields?: LogFields): void {
    if (LEVELS.warn >= this.#threshold) this.#write('warn', message, fields)
  }

  error(message: string, fields?: LogFields): void {
    if (LEVELS.error >= this.#threshold) this.#write('error', message, fields)
  }

  child(fields: LogFields): Logger {
    const own = fieldsJsonSafe(fields)
    return new JsonLogger(this.#sink, this.#threshold, this.#format, this.#context, this.#extra === '' ? own : own === '' ? this.#extra : `${this.#extra},${own}`)
  }

  #write(level: LogLevel, message: string, fields: LogFields | undefined): void {
    let own: string
    try {
      own = fieldsJson(fields)
    } catch (error) {
      own = `"logError":${JSON.stringify(`fields not serialisable: ${error instanceof Error ? error.message : 'unknown error'}`)}`
    }
    const extra = this.#extra === '' ? own : own === '' ? this.#extra : `${this.#extra},${own}`
    this.#sink(level, line(this.#format, level, jsonString(redactText(typeof message === 'string' ? message : String(message))), this.#context(), extra, Date.now()))
  }
}

function fieldsJsonSafe(fields: LogFields): string {
  try {
    return fieldsJson(fields)
  } catch (error) {
    return `"logError":${JSON.stringify(`fields not serialisable: ${error instanceof Error ? error.message : 'unknown error'}`)}`
  }
}

/** One line: the platform's level members, level, message (as JSON), time, the invocation's members, then `extra`. */
export function line(format: Observability, level: LogLevel, messageJson: string, context: string, extra: string, now: number): string {
  const prefix = format.levelFields === undefined ? '' : format.levelFields[level]
  return `{${prefix}"level":"${level}","message":${messageJson},"${format.timeKey ?? 'time'}":"${isoTime(now)}",${context}${extra === '' ? '' : `,${extra}`}}`
}

/** The members every line of an invocation carries: request id, function, the trace and the platform's trace fields. */
export function contextMembers(format: Observability, requestId: string, functionName: string, trace: TraceContext, env: Env): string {
  let members = `"requestId":${jsonString(String(requestId))},"function":${nameJson(String(functionName))},"traceId":"${trace.traceId}","spanId":"${trace.spanId}"`
  if (trace.parentSpanId !== undefined) members += `,"parentSpanId":"${trace.parentSpanId}"`
  const platform = format.traceFields?.(trace, env)
  if (platform) members += `,${platform}`
  return members
}

/** The value of the `polycloud` member that marks a summary line, and a message line. */
export const SUMMARY_MARK = 'invocation'
export const MESSAGE_MARK = 'message'

/**
 * The members of a summary line (an invocation's end): `"polycloud":"invocation"`, the kind, the outcome, the status
 * or the event counts, the duration in milliseconds and whether it was the instance's first invocation. With an
 * event id, a message line instead: one message of a batch that ran in its own trace (`"polycloud":"message"`).
 */
export function summaryMembers(kind: string, failed: boolean, status: number | undefined, eventId: string | undefined, events: number, failedEvents: number, durationMs: number, coldStart: boolean): string {
  let members = `"polycloud":"${eventId === undefined ? SUMMARY_MARK : MESSAGE_MARK}","kind":"${kind}","outcome":"${failed ? 'error' : 'ok'}"`
  if (status !== undefined) members += `,"status":${status}`
  if (eventId !== undefined) members += `,"eventId":${jsonString(eventId)}`
  else if (events >= 0) members += `,"events":${events},"failed":${failedEvents}`
  return `${members},"durationMs":${durationMs},"coldStart":${coldStart}`
}
