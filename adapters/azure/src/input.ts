import {
  EventError,
  describeShape,
  isRecord,
  isRfc3339,
  readEpochTime,
  readId,
  readTime,
  unrecognisedInput,
  type Source,
} from '@polycloud/core/adapter'

/**
 * The members of an Azure Functions `InvocationContext` the sources read. A real `InvocationContext` fits, and so
 * does a plain object (what `adapter.fromJson` builds for `polycloud inspect`).
 */
export interface AzureContext {
  readonly invocationId: string
  readonly functionName: string
  /** Trigger metadata as the v4 library delivers it: keys (and nested keys) with a lower-cased first letter. */
  readonly triggerMetadata?: Readonly<Record<string, unknown>> | undefined
  /** The function's registered bindings; `trigger.type` (e.g. `queueTrigger`) says how to read the input. */
  readonly options: {
    readonly trigger: { readonly type: string; readonly name: string; readonly [option: string]: unknown }
  }
}

/**
 * What every Azure source reads: the trigger input the handler was called with and its invocation context. The
 * trigger type decides the interpretation (a queue message and a Service Bus message can both be a bare string).
 */
export interface AzureInput<T = unknown> {
  readonly input: T
  readonly context: AzureContext
}

export function isAzureInput(value: unknown): value is AzureInput {
  if (!isRecord(value) || !('input' in value)) return false
  const context = value.context
  return isRecord(context) && isRecord(context.options) && isRecord(context.options.trigger)
}

/**
 * The trigger type in lower case (`queuetrigger`, `servicebustrigger`, ...), or undefined when the context does not
 * say (the library's test-mode default is `unknown`): sources then go by the payload's shape.
 */
export function triggerType(input: AzureInput): string | undefined {
  const type = input.context.options.trigger.type
  if (typeof type !== 'string' || type === '' || type === 'unknown') return undefined
  return type.toLowerCase()
}

/**
 * Whether the input is of the given trigger type: when the context states a type, it must be this one and
 * `stated` must accept the input (default: `shape`); when it does not, `shape` decides from the payload and metadata.
 */
export function isTrigger(
  value: unknown,
  type: string,
  shape: (input: AzureInput) => boolean,
  stated: (input: AzureInput) => boolean = shape,
): value is AzureInput {
  if (!isAzureInput(value)) return false
  const declared = triggerType(value)
  if (declared === undefined) return shape(value)
  return declared === type && stated(value)
}

/** For `isTrigger`: any payload of the stated type will do (its translation reports what is missing). */
export const anyPayload = (): boolean => true

/** The trigger metadata, or an empty record (HTTP and timer triggers have none). */
export function metadata(input: AzureInput): Readonly<Record<string, unknown>> {
  const meta = input.context.triggerMetadata
  return isRecord(meta) ? meta : EMPTY
}

const EMPTY: Readonly<Record<string, unknown>> = Object.freeze({})

/** A string option of the trigger binding (`queueName`, `containerName`, ...), with `%AppSetting%` resolved. */
export function triggerOption(input: AzureInput, name: string): string | undefined {
  const value = input.context.options.trigger[name]
  return typeof value === 'string' && value !== '' ? resolveSetting(value) : undefined
}

const SETTING = /%([^%]+)%/g

/**
 * Resolves `%Name%` references the way the host does for binding expressions: from the app settings, which the
 * worker sees as environment variables. An unknown setting is left as written.
 */
export function resolveSetting(value: string): string {
  if (!value.includes('%')) return value
  return value.replace(SETTING, (whole, name: string) => process.env[name] ?? whole)
}

/**
 * A metadata id as a string. The library JSON-parses every metadata value, so a numeric-looking id such as
 * `"12345"` arrives as a number; it is turned back into its decimal form.
 */
export function idString(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  return undefined
}

/** A metadata id read by the id rule (a non-empty string), a number turned back into its decimal form first. */
export function metadataId(value: unknown, field: string): string {
  return readId(idString(value) ?? value, field)
}

const ZONED = /(?:Z|[+-]\d{2}:?\d{2})$/i
const BASIC_OFFSET = /([+-]\d{2})(\d{2})$/

/**
 * A time as ISO 8601 UTC, read by the time rule (see `readTime`): UTC timestamps are kept as sent (Event Grid's
 * seven fractional digits included), other offsets converted. Azure writes some offsets without a colon
 * (`+0000`), the Service Bus extension drops the `Z` of its UTC times (a time without a zone is UTC), and a number
 * is milliseconds since the epoch. '' when absent; anything else is refused, naming `field`.
 */
export function isoTime(value: unknown, field: string): string {
  if (typeof value === 'number') return readEpochTime(value, field)
  if (typeof value !== 'string' || value === '') return readTime(value, field)
  const text = ZONED.test(value) ? value.replace(BASIC_OFFSET, '$1:$2') : `${value}+00:00`
  // A time that is not one even so is refused as it was sent.
  return readTime(isRfc3339(text) ? text : value, field)
}

/**
 * The error for an input none of the sources recognises: the core message (provider, handler kind, formats
 * tried, the trigger input's shape) plus the trigger type and the metadata keys, never their values.
 */
export function unrecognisedAzureInput(kind: string, sources: readonly Source[], input: unknown, context: unknown): EventError {
  const base = unrecognisedInput('azure', kind, sources, input)
  const options = isRecord(context) && isRecord(context.options) ? context.options : undefined
  const trigger = options && isRecord(options.trigger) ? options.trigger : undefined
  const type = typeof trigger?.type === 'string' ? trigger.type : 'not stated'
  const meta = isRecord(context) ? context.triggerMetadata : undefined
  const keys = meta === undefined ? 'none' : describeShape(meta)
  return new EventError(`${base.message}; trigger type: ${type}; trigger metadata: ${keys}`)
}
