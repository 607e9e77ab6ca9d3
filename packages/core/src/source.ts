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
    /** The record's native id (message id, sequence number), for the provider's failure report. */
    readonly id: string,
    readonly native: unknown,
    readonly error: Error,
  ) {}
}

export type Source = HttpSource | EventSource

/** The sources a provider has, for `inspect` and the matrix test: every source with its neutral kind. */
export type SourceKind = 'http' | EventKind

/** Thrown to make the provider redeliver a batch when some of its events failed and the source cannot say which. */
export class BatchFailedError extends Error {
  override readonly name = 'BatchFailedError'
  readonly failedIds: readonly string[]

  constructor(source: string, failed: ReadonlyArray<NeutralEvent | InvalidRecord>) {
    const ids = failed.map((event) => event.id)
    super(`${source}: ${ids.length} event(s) failed: ${ids.join(', ')}`)
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

/** Narrowing helpers for `canHandle` implementations. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function isString(value: unknown): value is string {
  return typeof value === 'string'
}

/** What a provider adapter offers tools such as `polycloud inspect`: its formats, and how to read one from JSON. */
export interface ProviderAdapter {
  readonly provider: 'aws' | 'azure' | 'gcp' | 'cloudflare'
  /** Every format, in the order the dispatcher tries them. */
  readonly sources: readonly Source[]
  /** Turns a payload read from a JSON file into the input the sources read (default: the JSON itself). */
  fromJson?(json: unknown): unknown
}
