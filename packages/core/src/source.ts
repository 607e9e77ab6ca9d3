import type { OutgoingResponse } from './response.js'
import type { EventKind, NeutralEvent } from './events.js'
import type { PortableRequest } from './request.js'
import { EventError } from './errors.js'

/**
 * One native HTTP payload format (API Gateway v2, an Azure HttpRequest, ...): whether an input is of this format,
 * the portable request for it, and the native response for a portable one.
 */
export interface HttpSource<Native = unknown, Result = unknown> {
  /** `<provider>:<format>`, e.g. `aws:api-gateway-v2`. */
  readonly name: string
  readonly kind: 'http'
  canHandle(input: unknown): input is Native
  getRequest(input: Native): PortableRequest
  /** `response.body` is never a stream here: the runner buffers it first. */
  getResponse(response: OutgoingResponse, input: Native): Result
}

/**
 * One native event format (an SQS batch, an S3 notification, a Pub/Sub CloudEvent, ...): whether an input is of
 * this format, the neutral events in it, and the native result once they ran (partial batch failures).
 */
export interface EventSource<Native = unknown, E extends NeutralEvent = NeutralEvent, Result = unknown> {
  readonly name: string
  readonly kind: E['kind']
  canHandle(input: unknown): input is Native
  /**
   * The neutral events, in delivery order. A record that cannot be translated becomes an {@link InvalidRecord}:
   * it fails on its own (and is redelivered, then dead-lettered) instead of failing the whole batch.
   */
  getEvents(input: Native): Array<E | InvalidRecord>
  /** Whether a failure must stop the batch there (FIFO queues, change streams): later events count as failed. */
  isOrdered?(input: Native): boolean
  /**
   * The native result for a run in which `failed` failed. A source that cannot report partial failures throws
   * {@link BatchFailedError} when `failed` is not empty, so the provider retries the delivery.
   */
  getResult(input: Native, failed: ReadonlyArray<E | InvalidRecord>): Result
}

/** A record of a batch that could not be translated; it counts as failed without reaching the handler. */
export class InvalidRecord {
  readonly invalid = true
  constructor(
    /** The record's native id (message id, sequence number) when it has one, for logs. */
    readonly id: string,
    /** What the source reports the failure by (see {@link failureRef}): the native record, as a rule. */
    readonly ref: unknown,
    /** Names the record and what is wrong with it. */
    readonly error: Error,
  ) {}
}

const FAILURE_REF: unique symbol = Symbol('polycloud.failureRef')

/**
 * Gives a translated event the reference its source reports a failure by (the SQS record, the stream record, the
 * Workers message): set when the event is translated, so failure reports never depend on `event.native`, the
 * user's escape hatch. Not enumerable: handlers, spreads and JSON do not see it.
 */
export function withFailureRef<E extends object>(event: E, ref: unknown): E {
  Object.defineProperty(event, FAILURE_REF, { value: ref, configurable: true })
  return event
}

/**
 * The failure reference of a record that is a record but has no id to report a failure by (an SQS message
 * without a message id, a stream record without a sequence number): such a failure fails the whole batch.
 */
export const UNNAMED: unique symbol = Symbol('polycloud.unnamedRecord')

/** The reference a translated event or an invalid record reports its failure by; undefined when it has none. */
export function failureRef(item: NeutralEvent | InvalidRecord): unknown {
  return item instanceof InvalidRecord ? item.ref : (item as { [FAILURE_REF]?: unknown })[FAILURE_REF]
}

/** How {@link translateRecords} names and reports the records of one native input. */
export interface RecordOptions<R = Readonly<Record<string, unknown>>> {
  /** The source's name (`aws:sqs`): every error message starts with it. */
  readonly source: string
  /** Where the records are, for messages: `Records` gives `Records[3]`. Without it the input is one record. */
  readonly list?: string
  /** The record's own id for logs and messages (message id, sequence number), when it has a usable one. */
  readonly id?: (record: R) => string | undefined
  /** What the source reports a failure by (default: the record itself). */
  readonly ref?: (record: unknown) => unknown
}

const SOURCE_PREFIX = /^(?:[a-z]+:[a-z0-9-]+: )+/

/**
 * Translates the records of one native input, each on its own: a record that is not an object, or that `translate`
 * rejects, becomes an {@link InvalidRecord} whose error names the source, the record (its position and id) and the
 * problem; the others go on. Every event gets its record's failure reference. `translate` may return several
 * events for one record (an S3 notification in an SQS message) or none.
 */
export function translateRecords<E extends NeutralEvent, R = Readonly<Record<string, unknown>>>(
  records: readonly unknown[],
  translate: (record: R, index: number) => E | readonly E[],
  options: RecordOptions<R>,
): Array<E | InvalidRecord> {
  const out: Array<E | InvalidRecord> = []
  const { ref, id } = options
  for (let index = 0; index < records.length; index++) {
    const record = records[index]
    const reference = ref === undefined ? record : ref(record)
    let recordId: string | undefined
    try {
      if (!isRecord(record)) throw new EventError(`it is ${describeShape(record)}, not an object`)
      recordId = id?.(record as R)
      const events = translate(record as R, index)
      if (isEventList(events)) for (const event of events) out.push(withFailureRef(event, reference))
      else out.push(withFailureRef(events, reference))
    } catch (error) {
      // Without an id of its own, a record is known by its place: `Records[3]`.
      const known = recordId ?? (options.list === undefined ? '' : `${options.list}[${index}]`)
      out.push(new InvalidRecord(known, reference, recordError(options, index, recordId, error)))
    }
  }
  return out
}

/**
 * The one neutral event of a delivery that carries a single native event (an EventBridge event, a CloudEvent), or
 * an {@link InvalidRecord} naming what was wrong with it: a malformed event then fails on its own, known by its
 * `id`, instead of crashing the invocation.
 */
export function oneEvent<E extends NeutralEvent, R>(source: string, event: R, translate: (event: R) => E): Array<E | InvalidRecord> {
  return translateRecords<E, R>([event], translate, { source, id: (record) => recordIdOf(record) })
}

function recordIdOf(record: unknown): string | undefined {
  const id = (record as { readonly id?: unknown }).id
  return typeof id === 'string' ? id : undefined
}

function isEventList<E>(value: E | readonly E[]): value is readonly E[] {
  return Array.isArray(value)
}

/**
 * The error of a record that could not be translated: `<source>: <where> (<id>): <problem>`. An EventError is
 * the source saying what is wrong; any other error is reported with its name, as a record the source did not
 * expect.
 */
function recordError<R>(options: RecordOptions<R>, index: number, id: string | undefined, error: unknown): EventError {
  const problem =
    error instanceof EventError
      ? error.message.replace(SOURCE_PREFIX, '')
      : `cannot be translated (${error instanceof Error ? `${error.name}: ${error.message}` : String(error)})`
  const where = options.list === undefined ? '' : `${options.list}[${index}]`
  // The id, unless the problem already names the record by it ("message m-1 has no body").
  const ided = id === undefined || id === '' || mentions(problem, id) ? undefined : JSON.stringify(id)
  const named = ided === undefined ? where : where === '' ? `event ${ided}` : `${where} (${ided})`
  return new EventError(`${options.source}: ${named === '' ? '' : `${named}: `}${problem}`, { cause: error })
}

function mentions(text: string, word: string): boolean {
  const at = text.indexOf(` ${word}`)
  if (at === -1) return false
  const after = text[at + word.length + 1]
  return after === undefined || after === ' ' || after === ':' || after === ','
}

export type Source = HttpSource | EventSource

/** The sources a provider has, for `inspect` and the matrix test: every source with its neutral kind. */
export type SourceKind = 'http' | EventKind

/** Thrown to make the provider redeliver a batch when some of its events failed and the source cannot say which. */
export class BatchFailedError extends Error {
  override readonly name = 'BatchFailedError'
  readonly failedIds: readonly string[]

  constructor(source: string, failed: ReadonlyArray<NeutralEvent | InvalidRecord>, reason?: string) {
    const ids = failed.map((event) => event.id)
    const shown = ids.length > 20 ? `${ids.slice(0, 20).join(', ')}, ... (${ids.length} in all)` : ids.join(', ')
    super(`${source}: ${ids.length} event(s) failed: ${shown}${reason === undefined ? '' : `; ${reason}`}`)
    this.failedIds = ids
  }
}

/**
 * The `getResult` of a source that cannot report partial failures (asynchronous invocations, single-event
 * triggers): any failure fails the invocation, so the provider retries the delivery.
 */
export function throwIfFailed(source: string, failed: ReadonlyArray<NeutralEvent | InvalidRecord>): void {
  if (failed.length > 0) throw new BatchFailedError(source, failed)
}

/** The first source that recognises the input. */
export function findSource<S extends Source>(sources: readonly S[], input: unknown): S | undefined {
  for (const source of sources) if (source.canHandle(input)) return source
  return undefined
}

/**
 * The error for an input no source recognises: names the provider, the handler kind, the formats tried and
 * the shape that was seen (the keys of an object), never its values.
 */
export function unrecognisedInput(
  provider: string,
  kind: string,
  sources: readonly Source[],
  input: unknown,
): EventError {
  const tried = sources.length === 0 ? 'none' : sources.map((source) => source.name).join(', ')
  const what = kind === 'any' ? 'adapter' : `adapter for ${kind} handlers`
  return new EventError(`${provider}: no ${what} recognises this input (tried: ${tried}); it is ${describeShape(input)}`)
}

/** A short description of a value's shape: its type, and an object's (first 20) keys. */
export function describeShape(input: unknown): string {
  if (input === null) return 'null'
  if (Array.isArray(input)) {
    const first = input[0]
    return input.length === 0
      ? 'an empty array'
      : `an array of ${input.length} item(s), the first ${describeShape(first)}`
  }
  if (typeof input !== 'object') return `a ${typeof input}`
  const keys = Object.keys(input)
  if (keys.length === 0) return 'an object with no keys'
  const shown = keys.slice(0, 20).join(', ')
  return `an object with keys: ${shown}${keys.length > 20 ? `, ... (${keys.length} in all)` : ''}`
}

/**
 * A value as an error message shows it: a string quoted (its first 100 characters), a number or boolean as it is,
 * anything else by its shape. Never throws, whatever the value (a hostile one may have no `toString`, or nest too
 * deeply for `JSON.stringify`).
 */
export function quote(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}...` : value)
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' || value === undefined) return String(value)
  return describeShape(value)
}

/** Narrowing helpers for `canHandle` implementations. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function isString(value: unknown): value is string {
  return typeof value === 'string'
}

/** What a provider adapter offers tools such as `polycloud inspect`: its formats, and how to read one from JSON. */
export interface ProviderAdapter {
  readonly provider: import('./context.js').Provider
  /** Every format, in the order the dispatcher tries them. */
  readonly sources: readonly Source[]
  /** Turns a payload read from a JSON file into the input the sources read (default: the JSON itself). */
  fromJson?(json: unknown): unknown
}
