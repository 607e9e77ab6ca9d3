/** Header values as providers deliver them: one string, or several for a repeated header. */
export type HeaderRecord = Readonly<Record<string, string | readonly string[] | null | undefined>>

const UPPER = /[A-Z]/

/**
 * Read-only, Fetch-`Headers`-shaped view of request headers: case-insensitive `get`/`has`, repeated headers joined
 * with ", ", and iteration in name order with lower-case names. Built without copying when the provider already
 * delivers lower-case single values (API Gateway v2, Function URLs).
 */
export class PortableHeaders implements Iterable<[string, string]> {
  readonly #values: Readonly<Record<string, unknown>>

  private constructor(values: Readonly<Record<string, unknown>>) {
    this.#values = values
  }

  /**
   * Headers from a record whose names may be in any case and whose values may be lists. Values that are neither
   * strings nor lists of strings (which no provider sends) are left out, as is a "record" that is not an object.
   */
  static from(record: HeaderRecord | null | undefined, multi?: HeaderRecord | null): PortableHeaders {
    if (!isObject(record)) record = undefined
    if (!isObject(multi)) multi = undefined
    if (!multi && record && isLowerCaseSingle(record)) return new PortableHeaders(record)
    const values: Record<string, string> = Object.create(null)
    // Multi-value records hold every value; single-value ones only the last. Prefer the multi-value form.
    if (multi) addAll(values, multi)
    if (record) {
      for (const name in record) {
        const lower = name.toLowerCase()
        if (multi && lower in values) continue
        add(values, lower, record[name])
      }
    }
    return new PortableHeaders(values)
  }

  /**
   * What `PortableHeaders.from(record).get(name)` gives for a lower-case `name`, without building the headers: the
   * values of every name equal to it in any case, joined in record order (one pass comparing lengths first).
   */
  static lookup(record: HeaderRecord | null | undefined, name: string): string | null {
    if (!isObject(record)) return null
    let joined: string | undefined
    for (const key in record) {
      if (key.length !== name.length || (key !== name && key.toLowerCase() !== name)) continue
      const value = record[key]
      let text: string | undefined
      if (typeof value === 'string') text = value
      else if (Array.isArray(value)) {
        for (const item of value as readonly unknown[]) if (typeof item === 'string') text = text === undefined ? item : `${text}, ${item}`
      }
      if (text !== undefined) joined = joined === undefined ? text : `${joined}, ${text}`
    }
    return joined ?? null
  }

  /** Headers from name/value pairs; repeated names are joined. */
  static fromEntries(entries: Iterable<readonly [string, string]>): PortableHeaders {
    const values: Record<string, string> = Object.create(null)
    for (const [name, value] of entries) add(values, name.toLowerCase(), value)
    return new PortableHeaders(values)
  }

  get(name: string): string | null {
    const value = this.#values[name] ?? this.#values[name.toLowerCase()]
    return typeof value === 'string' ? value : null
  }

  has(name: string): boolean {
    return this.get(name) !== null
  }

  /** Request headers never repeat Set-Cookie meaningfully; present for Fetch `Headers` parity. */
  getSetCookie(): string[] {
    const value = this.get('set-cookie')
    return value === null ? [] : [value]
  }

  *entries(): IterableIterator<[string, string]> {
    const names = Object.keys(this.#values).sort()
    for (const name of names) {
      const value = this.#values[name]
      if (typeof value === 'string') yield [name, value]
    }
  }

  *keys(): IterableIterator<string> {
    for (const [name] of this.entries()) yield name
  }

  *values(): IterableIterator<string> {
    for (const [, value] of this.entries()) yield value
  }

  forEach(callback: (value: string, name: string, headers: PortableHeaders) => void): void {
    for (const [name, value] of this.entries()) callback(value, name, this)
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries()
  }

  get [Symbol.toStringTag](): string {
    return 'PortableHeaders'
  }
}

function isLowerCaseSingle(record: HeaderRecord): boolean {
  for (const name in record) {
    if (UPPER.test(name)) return false
    const value = record[name]
    if (typeof value !== 'string' && value != null) return false
  }
  return true
}

function addAll(values: Record<string, string>, record: HeaderRecord): void {
  for (const name in record) add(values, name.toLowerCase(), record[name])
}

function isObject(value: unknown): value is HeaderRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function add(values: Record<string, string>, lower: string, value: string | readonly string[] | null | undefined): void {
  let joined: string | undefined
  if (typeof value === 'string') joined = value
  else if (Array.isArray(value)) {
    for (const item of value as readonly unknown[]) if (typeof item === 'string') joined = joined === undefined ? item : `${joined}, ${item}`
  }
  if (joined === undefined) return
  const previous = values[lower]
  values[lower] = previous === undefined ? joined : `${previous}, ${joined}`
}

/**
 * The last entry of an X-Forwarded-For header: the address the provider's own front end appended (the entries
 * before it are whatever the client sent). Undefined when there is none.
 */
export function lastForwardedFor(header: string | null): string | undefined {
  if (!header) return undefined
  const last = header.slice(header.lastIndexOf(',') + 1).trim()
  return last === '' ? undefined : last
}
