/**
 * What a cloud driver implements for a key-value store (`store('sessions')`), and the rules every store keeps the
 * same. The neutral client (store.ts) checks keys, values, TTLs and versions before it calls a driver, composes the
 * version a handler sees, filters expired entries and retries; a driver does one provider call per method, except
 * where a condition needs a second look (an expired entry where `put(..., { ifAbsent })` wants none).
 */
import type { Call } from './driver.js'

/**
 * The portable rules, the strictest every store honours unchanged (and the same order of keys on every cloud):
 *
 * - keys: 1-512 printable ASCII characters (U+0020-U+007E) except `/`, `\`, `#` and `?`. Azure Table Storage refuses
 *   those four and control characters in a RowKey, whose limit is 1 KiB of UTF-16 (512 characters); Firestore
 *   refuses `/` in a document id; ASCII sorts the same by UTF-8 bytes (DynamoDB, Firestore, SQLite) and by UTF-16
 *   code units (Table Storage). Encode other keys (`encodeURIComponent` gives keys of this alphabet).
 * - values: JSON whose text is at most 400,000 bytes of UTF-8: a DynamoDB item is at most 400 KB (409,600 bytes)
 *   with its attribute names, key and version; the other stores take more (Table Storage 1 MiB per entity, Firestore
 *   1 MiB per document, D1 2,000,000 bytes per row).
 */
export const STORE_LIMITS = {
  maxKeyLength: 512,
  maxValueBytes: 400_000,
  /** At most this many entries per `list` page. */
  maxListLimit: 1000,
  /** The longest TTL: 100 years (keeps the expiry inside every store's timestamp range). */
  maxTtlSeconds: 100 * 365 * 24 * 3600,
  sources: [
    'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-items (400 KB per item, names and values in UTF-8; sort key 1024 bytes)',
    'https://learn.microsoft.com/rest/api/storageservices/understanding-the-table-service-data-model (1 MiB per entity, 64 KiB per string property, PartitionKey and RowKey 1 KiB each without / \\ # ? or control characters)',
    'https://firebase.google.com/docs/firestore/quotas#limits (1 MiB per document, document ids up to 1,500 bytes without /)',
    'https://developers.cloudflare.com/d1/platform/limits/ (2,000,000 bytes per row, string or BLOB; 100 bound parameters; 100 KB of SQL text)',
  ],
} as const

/** An entry as a driver reads it: the JSON text, the store's own version, the expiry and the writer's id. */
export interface StoreRecord {
  /** The value's JSON text, as it was written. */
  readonly json: string
  /**
   * The store's own version of the entry: a token it compares in conditional writes (a random id written with the
   * entry on DynamoDB and D1, the ETag on Table Storage, the update time on Firestore).
   */
  readonly version: string
  /** When the entry expires (epoch seconds), or undefined when it does not. */
  readonly expires: number | undefined
  /** The id of the write that stored it (see {@link StoreWrite.writer}), when the store keeps it. */
  readonly writer: string | undefined
}

/** One write, as the client hands it to a driver. */
export interface StoreWrite {
  readonly json: string
  /** Epoch seconds, or undefined for an entry that does not expire. */
  readonly expires: number | undefined
  /**
   * A random id of this write, stored with the entry: after an answer lost on the way (a retried call), the client
   * reads the entry back and knows whether its own write went through. Drivers whose versions they choose use it as
   * the version.
   */
  readonly writer: string
}

/**
 * When a write or delete may happen: always; only when the key holds no live entry (an expired one counts as none:
 * `now` is the client's clock, epoch seconds); or only while it holds this version (the store's own token).
 */
export type StoreCondition =
  | { readonly type: 'none' }
  | { readonly type: 'absent'; readonly now: number }
  | { readonly type: 'version'; readonly version: string }

/** One entry of a listing page. */
export interface ListedRecord {
  readonly key: string
  readonly record: StoreRecord
}

export interface StoreBackend {
  /**
   * The entry under the key, or null when there is none. A driver may leave expired entries in (the client drops
   * them); `now` (epoch seconds) lets it filter them where the store can.
   */
  get(key: string, now: number, call: Call): Promise<StoreRecord | null>
  /**
   * Writes the entry when the condition holds; answers the store's new version. A condition that does not hold
   * throws a `Conflict` DriverError.
   */
  put(key: string, write: StoreWrite, condition: StoreCondition, call: Call): Promise<string>
  /**
   * Deletes the entry when the condition (none or version) holds; deleting a key that holds nothing without a
   * condition succeeds, with a version it is a `Conflict`.
   */
  delete(key: string, condition: StoreCondition, call: Call): Promise<void>
  /**
   * A page of the entries whose keys start with `prefix`, in key order, after `cursor` (the driver's own, from a
   * previous page), at most `limit`; `cursor` in the answer when more may follow. A page may hold fewer (expired
   * entries are skipped; DynamoDB stops a page at 1 MB).
   */
  list(prefix: string, cursor: string | undefined, limit: number, now: number, call: Call): Promise<{ readonly entries: readonly ListedRecord[]; readonly cursor: string | undefined }>
}

/** Whether an entry that expires at `expires` (epoch seconds) has expired at `now` (epoch seconds, whole). */
export function expired(expires: number | undefined, now: number): boolean {
  return expires !== undefined && expires <= now
}

/**
 * The first key after every key that starts with `prefix` (keys are printable ASCII): the prefix less its trailing
 * `~`, its last character the next one (`"p:"` -> `"p;"`); undefined when there is none (`""`, `"~~"`). A prefix's
 * keys are the range `[prefix, prefixSuccessor(prefix))`.
 */
export function prefixSuccessor(prefix: string): string | undefined {
  const stem = prefix.replace(/~+$/, '')
  if (stem === '') return undefined
  return `${stem.slice(0, -1)}${String.fromCharCode(stem.charCodeAt(stem.length - 1) + 1)}`
}
