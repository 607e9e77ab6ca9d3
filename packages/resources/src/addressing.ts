/**
 * The contract between the Serverless plugin and the drivers: how a function learns where its resources are.
 *
 * The plugin sets one environment variable (a Worker var on Cloudflare), `POLYCLOUD_RESOURCES`, to JSON naming, for
 * each resource the function may use, its kind and the provider's addressing:
 *
 * ```json
 * { "uploads": { "kind": "bucket", "name": "demo-dev-uploads" },
 *   "sessions": { "kind": "store", "table": "demo-dev-sessions" },
 *   "orders":  { "kind": "queue", "url": "https://sqs.eu-west-1.amazonaws.com/123456789012/demo-dev-orders" },
 *   "alerts":  { "kind": "topic", "arn": "arn:aws:sns:eu-west-1:123456789012:demo-dev-alerts" } }
 * ```
 *
 * Each provider's entries are typed below. The entry of a function wires the driver and the function's `uses` list
 * (`withResources(handler, driver, ['uploads'])`); a name used but not declared fails with the line to add.
 */
import { DriverError, type ResourceKind } from './errors.js'

/** The environment variable holding a function's {@link ResourceAddressing}. */
export const RESOURCES_VARIABLE = 'POLYCLOUD_RESOURCES'

/**
 * AWS: the bucket's name (`Ref`), the queue's URL (`Ref`), the topic's ARN (`Ref`), the store's DynamoDB table name
 * (`Ref`; key schema `pk` HASH + `sk` RANGE, both strings, TTL attribute `expires`).
 */
export type AwsAddress =
  | { readonly kind: 'bucket'; readonly name: string }
  | { readonly kind: 'queue'; readonly url: string }
  | { readonly kind: 'topic'; readonly arn: string }
  | { readonly kind: 'store'; readonly table: string }

/**
 * Azure: the container, Storage queue or Service Bus entity name, and the connection: the name of the app setting
 * holding a connection string (`AzureWebJobsStorage`, `ServiceBusConnection`), or the prefix of identity-based
 * settings (`<connection>__blobServiceUri`, `__queueServiceUri`, `__serviceUri`, `__fullyQualifiedNamespace`,
 * `__clientId`), exactly as the triggers read them.
 */
export type AzureAddress =
  | { readonly kind: 'bucket'; readonly name: string; readonly connection: string }
  | { readonly kind: 'queue'; readonly service: 'storage' | 'serviceBus'; readonly name: string; readonly connection: string }
  | { readonly kind: 'topic'; readonly service: 'serviceBus'; readonly name: string; readonly connection: string }
  /** A store: a table of Table Storage in the account of the connection (`<connection>__tableServiceUri` by identity). */
  | { readonly kind: 'store'; readonly table: string; readonly connection: string }

/**
 * Google: the bucket's name; the Pub/Sub topic's id (a queue is a topic with a push subscription on Google) and its
 * project when it is not the function's (`GOOGLE_CLOUD_PROJECT`).
 */
export type GoogleAddress =
  | { readonly kind: 'bucket'; readonly name: string }
  | { readonly kind: 'queue' | 'topic'; readonly topic: string; readonly project?: string }
  /** A store: a Firestore collection (in the `(default)` database unless `database` names another). */
  | { readonly kind: 'store'; readonly collection: string; readonly database?: string; readonly project?: string }

/**
 * Cloudflare: the name of the Worker's R2 bucket or Queue producer binding (topics do not exist); for a store, its D1
 * database binding and the table in it (`kv` by default; the driver creates it when missing).
 */
export type CloudflareAddress =
  | { readonly kind: 'bucket' | 'queue'; readonly binding: string }
  | { readonly kind: 'store'; readonly binding: string; readonly table?: string }

/** One resource's entry: its kind and the provider's fields (checked by the driver). */
export type ResourceAddress = AwsAddress | AzureAddress | GoogleAddress | CloudflareAddress | { readonly kind: ResourceKind; readonly [field: string]: unknown }

/** The value of `POLYCLOUD_RESOURCES`: logical name -> entry. */
export type ResourceAddressing<A extends { readonly kind: ResourceKind } = ResourceAddress> = Readonly<Record<string, A>>

let cachedText: string | undefined
let cachedValue: ResourceAddressing | undefined

/** Parses `POLYCLOUD_RESOURCES` (cached while the text is the same); a clear Invalid error when it is malformed. */
export function parseAddressing(text: string | undefined): ResourceAddressing {
  if (text === undefined || text === '') return {}
  if (text === cachedText && cachedValue !== undefined) return cachedValue
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new DriverError('Invalid', `${RESOURCES_VARIABLE} is not JSON (${(error as Error).message})`, { cause: error })
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DriverError('Invalid', `${RESOURCES_VARIABLE} must be a JSON object of logical name -> { kind, ... }`)
  }
  for (const [name, entry] of Object.entries(value)) {
    const kind = (entry as { kind?: unknown } | null)?.kind
    if (typeof entry !== 'object' || entry === null || (kind !== 'bucket' && kind !== 'queue' && kind !== 'topic' && kind !== 'store')) {
      throw new DriverError('Invalid', `${RESOURCES_VARIABLE}.${name} must be an object whose kind is "bucket", "queue", "topic" or "store"`)
    }
  }
  cachedText = text
  cachedValue = value as ResourceAddressing
  return cachedValue
}

/** A string field of an entry, or the Invalid error naming it. */
export function field(address: ResourceAddress, name: string, logical: string, what: string): string {
  const value = (address as Record<string, unknown>)[name]
  if (typeof value !== 'string' || value === '') {
    throw new DriverError('Invalid', `${RESOURCES_VARIABLE}.${logical} has no "${name}" (${what})`)
  }
  return value
}
