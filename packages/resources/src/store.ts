/**
 * The neutral key-value store: `store('sessions')`, JSON values by key, on DynamoDB, Azure Table Storage, Firestore
 * and Cloudflare D1 alike. Every call checks its arguments before the provider is called (one rule for keys, values
 * and TTLs on every cloud), reads its own writes, and can be made conditional on the version it read, or on the key
 * holding nothing, so that concurrent writers never lose an update (`update` does the read-modify-write loop).
 * Expired entries are never returned, whatever the store's own TTL deletion lags behind.
 */
import type { JsonValue } from '@polycloud/core'
import { Target, checkName, sleep } from './client.js'
import { utf8Length } from './driver.js'
import { DriverError, ResourceError } from './errors.js'
import { STORE_LIMITS, expired, type StoreBackend, type StoreCondition, type StoreRecord, type StoreWrite } from './store-driver.js'
import type { CallOptions } from './types.js'

/** An entry and its version, as `getEntry`, `list` and `put` describe it. */
export interface StoreEntry<T = JsonValue> {
  readonly key: string
  readonly value: T
  /**
   * The entry's version: an opaque token (letters, digits, `-` and `_`, safe in a header) that changes with every
   * write. Pass it as `ifVersion` to write only if nobody wrote since.
   */
  readonly version: string
  /** When the entry expires (ISO 8601, UTC), or undefined when it does not. */
  readonly expires: string | undefined
}

export interface StorePutOptions extends CallOptions {
  /**
   * Seconds the entry lives (a whole number from 1 to 100 years). It expires at the first whole second after the
   * write time plus `ttlSeconds`, by the function's clock; from then on it is never returned. Without it the entry
   * never expires (a `put` replaces the earlier TTL).
   */
  readonly ttlSeconds?: number
  /** Writes only while the entry still has this version (from `getEntry`, `list` or `put`); else `Conflict`. */
  readonly ifVersion?: string
  /** Writes only when the key holds no entry (an expired one counts as none); else `Conflict`. */
  readonly ifAbsent?: boolean
}

export interface StoreDeleteOptions extends CallOptions {
  /** Deletes only while the entry still has this version; else `Conflict` (also when the key holds nothing). */
  readonly ifVersion?: string
}

export interface StoreListOptions extends CallOptions {
  /** Only keys starting with it (the key alphabet applies). */
  readonly prefix?: string
  /** The `cursor` of the previous page. */
  readonly cursor?: string
  /** At most this many entries (1-1000, default 100). A page may hold fewer, even none, with more to come. */
  readonly limit?: number
}

/** A page of a listing, in key order. */
export interface StoreList<T = JsonValue> {
  readonly entries: ReadonlyArray<StoreEntry<T>>
  /** Pass it as `cursor` for the next page; undefined on the last one. */
  readonly cursor: string | undefined
}

export interface StoreUpdateOptions extends CallOptions {
  /** The TTL of the written entry (as `put`'s). */
  readonly ttlSeconds?: number
  /** Reads and conditional writes before giving up with `Conflict` (default 16). */
  readonly attempts?: number
}

/** What `put` stored. */
export interface StorePutResult {
  readonly key: string
  readonly version: string
  readonly expires: string | undefined
}

/**
 * A key-value store: DynamoDB, Azure Table Storage, Firestore, Cloudflare D1. `T` is the type of its values (JSON;
 * checked at run time, not against `T`).
 */
export interface Store<T = JsonValue> {
  /** The logical name. */
  readonly name: string
  /** The value under the key, or null when there is none (or it expired). A stored `null` reads as null too. */
  get(key: string, options?: CallOptions): Promise<T | null>
  /** The entry with its version, or null when there is none (or it expired). */
  getEntry(key: string, options?: CallOptions): Promise<StoreEntry<T> | null>
  /** Stores the value (JSON) under the key; with `ifVersion` or `ifAbsent`, only when that holds. */
  put(key: string, value: T, options?: StorePutOptions): Promise<StorePutResult>
  /** Deletes the entry; a key that holds nothing is not an error (unless `ifVersion` is given). */
  delete(key: string, options?: StoreDeleteOptions): Promise<void>
  /** A page of entries in key order; pass `cursor` back for the next. */
  list(options?: StoreListOptions): Promise<StoreList<T>>
  /**
   * Reads the entry, calls `change` with its value (null when there is none) and writes what it returns, only if
   * nobody wrote in between; otherwise reads again and calls `change` again (so it must do nothing but compute the
   * next value), at most `attempts` times. Returning `undefined` leaves the entry as it is. Answers the value stored.
   */
  update(key: string, change: (current: T | null) => T | Promise<T>, options?: StoreUpdateOptions): Promise<T>
  update(key: string, change: (current: T | null) => T | undefined | Promise<T | undefined>, options?: StoreUpdateOptions): Promise<T | null>
}

const DEFAULT_LIST_LIMIT = 100
const DEFAULT_ATTEMPTS = 16
/** The longest wait between two attempts of `update` (jittered, doubling from 5 ms). */
const MAX_CONFLICT_WAIT_MS = 200
const MAX_DEPTH = 1000
// Printable ASCII, less what some store refuses in a key (Table Storage: / \ # ?; Firestore: /).
const KEY_CHARACTERS = /^[\u0020-\u007e]*$/
const KEY_FORBIDDEN = /[/\\#?]/

function describe(key: string): string {
  return JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}...` : key)
}

/** A key every store keeps, and orders, the same; or the Invalid error naming the rule. */
export function checkStoreKey(key: unknown, what = 'key'): string {
  if (typeof key !== 'string') throw new DriverError('Invalid', `the ${what} must be a string`)
  if (what === 'key' && key === '') throw new DriverError('Invalid', 'the key must be a non-empty string')
  if (key.length > STORE_LIMITS.maxKeyLength) throw new DriverError('Invalid', `${what} ${describe(key)} is longer than ${STORE_LIMITS.maxKeyLength} characters (Table Storage's RowKey holds 1 KiB of UTF-16)`)
  if (!KEY_CHARACTERS.test(key) || KEY_FORBIDDEN.test(key)) {
    throw new DriverError(
      'Invalid',
      `${what} ${describe(key)}: keys are printable ASCII (U+0020-U+007E) without "/", "\\", "#" or "?" (what Table Storage and Firestore keep unchanged, in the same order everywhere); encode others, e.g. with encodeURIComponent`,
    )
  }
  return key
}

/** The JSON text of a value, checked to come back the same from every store; or the Invalid / TooLarge error. */
export function storeJson(value: unknown): string {
  checkJson(value, 'value', 0)
  const text = JSON.stringify(value)
  const size = utf8Length(text)
  if (size > STORE_LIMITS.maxValueBytes) {
    throw new DriverError('TooLarge', `the value is ${size} bytes of JSON, more than the ${STORE_LIMITS.maxValueBytes} every store takes (DynamoDB's item limit of 400 KB, with the key and version)`)
  }
  return text
}

function checkJson(value: unknown, path: string, depth: number): void {
  if (depth > MAX_DEPTH) throw new DriverError('Invalid', `${path}: nested deeper than ${MAX_DEPTH} levels`)
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new DriverError('Invalid', `${path}: ${value} is not a JSON number (JSON.stringify would store null)`)
    return
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) throw new DriverError('Invalid', `${path}[${i}]: a hole in the array is not JSON (JSON.stringify would store null)`)
      checkJson(value[i], `${path}[${i}]`, depth + 1)
    }
    return
  }
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value) as unknown
    if (proto !== Object.prototype && proto !== null) {
      const name = (value as { constructor?: { name?: unknown } }).constructor?.name
      throw new DriverError('Invalid', `${path}: a ${typeof name === 'string' ? name : 'non-plain object'} is not a JSON value (it would not read back the same): store plain objects, arrays, strings, numbers, booleans and null`)
    }
    for (const name of Object.keys(value)) {
      const item = (value as Record<string, unknown>)[name]
      const at = /^[A-Za-z_$][\w$]*$/.test(name) ? `${path}.${name}` : `${path}[${JSON.stringify(name)}]`
      if (item === undefined) throw new DriverError('Invalid', `${at}: undefined is not JSON (JSON.stringify would drop it)`)
      checkJson(item, at, depth + 1)
    }
    return
  }
  throw new DriverError('Invalid', `${path}: a ${typeof value} is not JSON`)
}

function checkTtl(ttl: unknown): number | undefined {
  if (ttl === undefined) return undefined
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > STORE_LIMITS.maxTtlSeconds) {
    throw new DriverError('Invalid', `ttlSeconds must be a whole number of seconds from 1 to ${STORE_LIMITS.maxTtlSeconds} (100 years), got ${String(ttl)}`)
  }
  return ttl
}

/** Epoch seconds, whole, by the function's clock. */
function nowSeconds(): number {
  return Math.floor(Date.now() / 1000)
}

/** The expiry of an entry written now with this TTL: the first whole second at or after now + ttl. */
function expiryOf(ttl: number | undefined): number | undefined {
  return ttl === undefined ? undefined : Math.ceil((Date.now() + ttl * 1000) / 1000)
}

const isoOf = (expires: number | undefined): string | undefined => (expires === undefined ? undefined : new Date(expires * 1000).toISOString())

let counter = 0

/** A write's id: unique enough to tell this write from any other of the key (the time in ms, a counter, 52 random bits). */
function writerId(): string {
  counter = (counter + 1) % 1_679_616
  return `${Date.now().toString(36)}${counter.toString(36).padStart(4, '0')}${Math.floor(Math.random() * 2 ** 52).toString(36).padStart(11, '0')}`
}

function base64url(text: string): string {
  return btoa(text).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
}

function fromBase64url(text: string): string | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return undefined
  try {
    return atob(text.replaceAll('-', '+').replaceAll('_', '/'))
  } catch {
    return undefined
  }
}

/**
 * The version a handler sees: the store's own token and the entry's expiry, base64url. The expiry in it lets a
 * conditional write on an entry that has expired since it was read fail the same on every store (it no longer
 * exists), before any call.
 */
function versionToken(record: Pick<StoreRecord, 'version' | 'expires'>): string {
  return base64url(`${record.expires === undefined ? '' : record.expires.toString(36)}:${record.version}`)
}

function parseVersion(token: unknown): { version: string; expires: number | undefined } {
  const text = typeof token === 'string' && token.length <= 2048 ? fromBase64url(token) : undefined
  const at = text?.indexOf(':') ?? -1
  const expires = at > 0 ? parseInt((text as string).slice(0, at), 36) : undefined
  if (text === undefined || at < 0 || at === text.length - 1 || (expires !== undefined && !Number.isSafeInteger(expires))) {
    throw new DriverError('Invalid', 'ifVersion must be a version read from this store (getEntry, list or put)')
  }
  return { version: text.slice(at + 1), expires }
}

/** The entry a record is, or null when it has expired. */
function entryOf<T>(key: string, record: StoreRecord | null, now: number): StoreEntry<T> | null {
  if (record === null || expired(record.expires, now)) return null
  let value: T
  try {
    value = JSON.parse(record.json) as T
  } catch {
    throw new DriverError('Invalid', `the entry under ${describe(key)} is not JSON (was it written by something else?)`)
  }
  return { key, value, version: versionToken(record), expires: isoOf(record.expires) }
}

function isConflict(error: unknown): boolean {
  return (error instanceof DriverError || error instanceof ResourceError) && error.code === 'Conflict'
}

interface PreparedPut {
  readonly key: string
  readonly write: StoreWrite
  readonly condition: StoreCondition
}

class StoreHandle<T> implements Store<T> {
  readonly name: string
  readonly #target: Target

  constructor(name: string) {
    this.name = name
    this.#target = new Target('store', name)
  }

  async get(key: string, options?: CallOptions): Promise<T | null> {
    const entry = await this.#read('get', key, options)
    return entry === null ? null : entry.value
  }

  getEntry(key: string, options?: CallOptions): Promise<StoreEntry<T> | null> {
    return this.#read('getEntry', key, options)
  }

  #read(operation: string, key: string, options: CallOptions | undefined): Promise<StoreEntry<T> | null> {
    return this.#target.run<StoreBackend, string, StoreEntry<T> | null>(
      operation,
      options,
      () => checkStoreKey(key),
      async (backend, checked, call) => {
        const now = nowSeconds()
        return entryOf<T>(checked, await backend.get(checked, now, call), now)
      },
    )
  }

  put(key: string, value: T, options?: StorePutOptions): Promise<StorePutResult> {
    let attempted = false
    return this.#target.run<StoreBackend, PreparedPut, StorePutResult>(
      'put',
      options,
      () => {
        const checked = checkStoreKey(key)
        const json = storeJson(value)
        const ttl = checkTtl(options?.ttlSeconds)
        if (options?.ifVersion !== undefined && options.ifAbsent === true) throw new DriverError('Invalid', 'ifVersion and ifAbsent cannot both be given')
        if (options?.ifAbsent !== undefined && typeof options.ifAbsent !== 'boolean') throw new DriverError('Invalid', 'ifAbsent must be true or false')
        let condition: StoreCondition = { type: 'none' }
        if (options?.ifVersion !== undefined) {
          const read = parseVersion(options.ifVersion)
          // The entry of that version has expired since: it no longer exists, whatever the store still holds.
          if (expired(read.expires, nowSeconds())) throw new DriverError('Conflict', `the entry under ${describe(checked)} has expired since that version was read`)
          condition = { type: 'version', version: read.version }
        } else if (options?.ifAbsent === true) condition = { type: 'absent', now: nowSeconds() }
        return { key: checked, write: { json, expires: expiryOf(ttl), writer: writerId() }, condition }
      },
      async (backend, p, call) => {
        const retried = attempted
        attempted = true
        const condition: StoreCondition = p.condition.type === 'absent' ? { type: 'absent', now: nowSeconds() } : p.condition
        let version: string
        try {
          version = await backend.put(p.key, p.write, condition, call)
        } catch (error) {
          // A retried conditional write finding another version: was it this write, whose answer was lost?
          if (!retried || !isConflict(error) || p.condition.type === 'none') throw error
          const stored = await backend.get(p.key, nowSeconds(), call)
          if (stored === null || stored.writer !== p.write.writer) throw error
          version = stored.version
        }
        return { key: p.key, version: versionToken({ version, expires: p.write.expires }), expires: isoOf(p.write.expires) }
      },
    )
  }

  delete(key: string, options?: StoreDeleteOptions): Promise<void> {
    let attempted = false
    return this.#target.run<StoreBackend, { key: string; condition: StoreCondition }, void>(
      'delete',
      options,
      () => {
        const checked = checkStoreKey(key)
        if (options?.ifVersion === undefined) return { key: checked, condition: { type: 'none' } }
        const read = parseVersion(options.ifVersion)
        if (expired(read.expires, nowSeconds())) throw new DriverError('Conflict', `the entry under ${describe(checked)} has expired since that version was read`)
        return { key: checked, condition: { type: 'version', version: read.version } }
      },
      async (backend, p, call) => {
        const retried = attempted
        attempted = true
        try {
          await backend.delete(p.key, p.condition, call)
        } catch (error) {
          // A retried delete finding nothing: the first attempt's answer was lost on the way.
          if (!retried || !isConflict(error) || (await backend.get(p.key, nowSeconds(), call)) !== null) throw error
        }
      },
    )
  }

  list(options?: StoreListOptions): Promise<StoreList<T>> {
    return this.#target.run<StoreBackend, { prefix: string; cursor: string | undefined; limit: number }, StoreList<T>>(
      'list',
      options,
      () => {
        const prefix = checkStoreKey(options?.prefix ?? '', 'prefix')
        const given = options?.cursor
        let cursor: string | undefined
        if (given !== undefined) {
          cursor = typeof given === 'string' ? fromBase64url(given) : undefined
          if (cursor === undefined || cursor === '') throw new DriverError('Invalid', 'cursor must be the cursor of a previous page')
        }
        const limit = options?.limit ?? DEFAULT_LIST_LIMIT
        if (!Number.isInteger(limit) || limit < 1 || limit > STORE_LIMITS.maxListLimit) throw new DriverError('Invalid', `limit must be a whole number from 1 to ${STORE_LIMITS.maxListLimit}, got ${String(limit)}`)
        return { prefix, cursor, limit }
      },
      async (backend, p, call) => {
        const now = nowSeconds()
        const page = await backend.list(p.prefix, p.cursor, p.limit, now, call)
        const entries: Array<StoreEntry<T>> = []
        for (const { key, record } of page.entries) {
          const entry = entryOf<T>(key, record, now)
          if (entry !== null) entries.push(entry)
        }
        return { entries, cursor: page.cursor === undefined || page.cursor === '' ? undefined : base64url(page.cursor) }
      },
    )
  }

  update(key: string, change: (current: T | null) => T | Promise<T>, options?: StoreUpdateOptions): Promise<T>
  update(key: string, change: (current: T | null) => T | undefined | Promise<T | undefined>, options?: StoreUpdateOptions): Promise<T | null>
  async update(key: string, change: (current: T | null) => T | undefined | Promise<T | undefined>, options?: StoreUpdateOptions): Promise<T | null> {
    const attempts = options?.attempts ?? DEFAULT_ATTEMPTS
    if (!Number.isInteger(attempts) || attempts < 1 || attempts > 1000) {
      throw this.#target.error('Invalid', `attempts must be a whole number from 1 to 1000, got ${String(attempts)}`, 'update')
    }
    if (typeof change !== 'function') throw this.#target.error('Invalid', 'update takes a function of the current value', 'update')
    const signal = options?.signal
    const call = signal === undefined ? undefined : { signal }
    for (let attempt = 1; ; attempt++) {
      let entry: StoreEntry<T> | null
      try {
        entry = await this.getEntry(key, call)
      } catch (error) {
        throw this.#asUpdate(error, 'reading the entry')
      }
      const next = await change(entry === null ? null : entry.value)
      if (next === undefined) return entry === null ? null : entry.value
      try {
        await this.put(key, next, {
          ...(options?.ttlSeconds === undefined ? {} : { ttlSeconds: options.ttlSeconds }),
          ...(entry === null ? { ifAbsent: true } : { ifVersion: entry.version }),
          ...(signal === undefined ? {} : { signal }),
        })
        return next
      } catch (error) {
        if (!isConflict(error)) throw this.#asUpdate(error, 'writing the entry')
        if (attempt >= attempts) {
          throw this.#target.error('Conflict', `the entry under ${describe(key)} kept changing: ${attempts} attempts, each overtaken by another write (raise attempts, or write less often to one key)`, 'update', { cause: error })
        }
      }
      try {
        await sleep(Math.random() * Math.min(MAX_CONFLICT_WAIT_MS, 5 * 2 ** attempt), signal)
      } catch (error) {
        throw this.#target.error('Timeout', "aborted by the caller's signal", 'update', { cause: error })
      }
    }
  }

  /**
   * The failure of one of update's steps as update's own, as every other operation reports its failures: the code,
   * status and the cloud's error kept, the step named (`store("kv").update: writing the entry: ...`).
   */
  #asUpdate(error: unknown, step: string): unknown {
    if (!(error instanceof ResourceError) || error.operation === 'update') return error
    const detail = error.message.slice(error.message.indexOf(': ') + 2)
    return this.#target.error(error.code, `${step}: ${detail}`, 'update', { status: error.status, cause: error.cause, failed: error.failed })
  }
}

const handles = new Map<string, Store<unknown>>()

/**
 * The key-value store a function declares under this logical name (`uses: [sessions]`); one handle per name. `T`
 * types its values for the handler's code (they are JSON, checked at run time).
 */
export function store<T = JsonValue>(name: string): Store<T> {
  let handle = handles.get(name)
  if (handle === undefined) handles.set(name, (handle = new StoreHandle<unknown>(checkName('store', name))))
  return handle as Store<T>
}
