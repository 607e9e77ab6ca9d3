/** The one error a resource call throws: what went wrong (`code`), where (resource, operation, provider), and why. */

export type ResourceKind = 'bucket' | 'queue' | 'topic' | 'store'

/**
 * - `NotFound`: the bucket, queue or topic does not exist (a missing object is `null`, never an error).
 * - `TooLarge`: an object, message or batch over the provider's limit (checked before the call; the limit is named).
 * - `Throttled`: the provider asked to slow down (after Polycloud's retries).
 * - `Denied`: the credentials were refused or lack a permission.
 * - `Invalid`: an argument the provider would refuse, or a shape every provider cannot keep the same (checked before
 *   the call; the rule is named), or a malformed addressing entry.
 * - `Unavailable`: the provider failed or could not be reached (after Polycloud's retries).
 * - `Timeout`: the call's signal aborted it, or the invocation's deadline came.
 * - `NotDeclared`: the function does not declare the resource (the `serverless.yml` line to add is named), or no
 *   driver was installed.
 * - `Conflict`: a store's conditional write or delete found another version (or an entry where none was wanted), or
 *   `update` ran out of attempts.
 */
export type ResourceErrorCode = 'NotFound' | 'TooLarge' | 'Throttled' | 'Denied' | 'Invalid' | 'Unavailable' | 'Timeout' | 'NotDeclared' | 'Conflict'

const DRIVER_ERROR = Symbol.for('polycloud.resources.DriverError')
const RESOURCE_ERROR = Symbol.for('polycloud.resources.ResourceError')

/** Whether a value is a DriverError (of any copy of this package). */
export function isDriverError(value: unknown): value is DriverError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[DRIVER_ERROR] === true
}

/** Whether a value is a ResourceError (of any copy of this package). */
export function isResourceError(value: unknown): value is ResourceError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[RESOURCE_ERROR] === true
}

/** The codes worth trying again later. */
const RETRYABLE: ReadonlySet<ResourceErrorCode> = new Set(['Throttled', 'Unavailable', 'Timeout'])

export interface ResourceErrorInit {
  readonly kind: ResourceKind
  /** The logical name (`uploads`). */
  readonly resource: string
  /** `put`, `get`, `head`, `delete`, `list`, `send`, `sendBatch`, `publish`; a store's `getEntry`, `update`. */
  readonly operation: string
  /** `aws`, `azure`, `gcp`, `cloudflare`, `memory`, or '' before a driver is known. */
  readonly provider: string
  /** The HTTP status the provider answered with, when it answered. */
  readonly status?: number | undefined
  /** The provider's own error (its code and message), or the exception that stopped the call. */
  readonly cause?: unknown
  /** sendBatch: the indexes of the messages that were not sent (the others were). */
  readonly failed?: readonly number[] | undefined
}

/**
 * `bucket('uploads').get("a.txt"): access denied by S3 (403 AccessDenied: Access Denied)`: the resource, the operation
 * and the reason in the message, the cloud's own error as `cause`.
 */
export class ResourceError extends Error {
  override readonly name = 'ResourceError'
  readonly [RESOURCE_ERROR] = true
  readonly code: ResourceErrorCode
  readonly kind: ResourceKind
  readonly resource: string
  readonly operation: string
  readonly provider: string
  readonly status: number | undefined
  /** sendBatch only: the indexes of the messages that were not sent; the others were. */
  readonly failed: readonly number[] | undefined

  constructor(code: ResourceErrorCode, detail: string, init: ResourceErrorInit) {
    super(`${init.kind}(${JSON.stringify(init.resource)}).${init.operation}: ${detail}`, init.cause === undefined ? undefined : { cause: init.cause })
    this.code = code
    this.kind = init.kind
    this.resource = init.resource
    this.operation = init.operation
    this.provider = init.provider
    this.status = init.status
    this.failed = init.failed
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return isResourceError(value)
  }

  /** Whether trying again later may succeed (`Throttled`, `Unavailable`, `Timeout`). */
  get retryable(): boolean {
    return RETRYABLE.has(this.code)
  }
}

/**
 * What a driver throws: a code and the reason, without the resource's names (the client adds them). Anything else a
 * driver throws becomes `Unavailable` (or `Timeout` when the call was aborted).
 */
export class DriverError extends Error {
  override readonly name = 'DriverError'
  /** Recognised by brand, not `instanceof`: a driver may load another copy of this module (a dynamic import). */
  readonly [DRIVER_ERROR] = true
  readonly code: ResourceErrorCode
  readonly status: number | undefined
  readonly failed: readonly number[] | undefined

  static override [Symbol.hasInstance](value: unknown): boolean {
    return isDriverError(value)
  }

  constructor(code: ResourceErrorCode, detail: string, options: { readonly status?: number | undefined; readonly cause?: unknown; readonly failed?: readonly number[] } = {}) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.status = options.status
    this.failed = options.failed
  }
}
