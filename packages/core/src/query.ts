/**
 * Read-only query parameters with the reading half of `URLSearchParams` (`get`, `getAll`, `has`, iteration,
 * `toString`), parsed on first use. A query without escapes (the common case) is split directly; one with `%` or
 * `+` is decoded by `URLSearchParams` itself, so the rules are exactly the standard's.
 */
export class PortableQuery implements Iterable<[string, string]> {
  #raw: string | undefined
  #pairs: Array<[string, string]> | undefined

  private constructor(raw: string | undefined, pairs?: Array<[string, string]>) {
    this.#raw = raw
    this.#pairs = pairs
  }

  /** From a raw query string, with or without the leading `?`. */
  static parse(raw: string | null | undefined): PortableQuery {
    return new PortableQuery(raw ? (raw[0] === '?' ? raw.slice(1) : raw) : '')
  }

  /** From already-decoded name/value pairs. */
  static fromPairs(pairs: Iterable<readonly [string, string]>): PortableQuery {
    return new PortableQuery(undefined, Array.from(pairs, ([key, value]): [string, string] => [key, value]))
  }

  get size(): number {
    return this.#list().length
  }

  get(name: string): string | null {
    // A plain query not parsed yet (the common case: a handler reading one or two parameters) is read in place.
    if (this.#pairs === undefined && isPlain(this.#raw as string)) return firstValue(this.#raw as string, name)
    for (const [key, value] of this.#list()) if (key === name) return value
    return null
  }

  getAll(name: string): string[] {
    return this.#list()
      .filter(([key]) => key === name)
      .map(([, value]) => value)
  }

  has(name: string, value?: string): boolean {
    return this.#list().some(([key, given]) => key === name && (value === undefined || given === value))
  }

  *entries(): IterableIterator<[string, string]> {
    for (const [key, value] of this.#list()) yield [key, value]
  }

  *keys(): IterableIterator<string> {
    for (const [key] of this.#list()) yield key
  }

  *values(): IterableIterator<string> {
    for (const [, value] of this.#list()) yield value
  }

  forEach(callback: (value: string, name: string, query: PortableQuery) => void): void {
    for (const [key, value] of this.#list()) callback(value, key, this)
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries()
  }

  /** A standard `URLSearchParams` copy. */
  toURLSearchParams(): URLSearchParams {
    return new URLSearchParams(this.#list())
  }

  /** Serialised as `URLSearchParams` does (the raw string when it was given one). */
  toString(): string {
    return this.#raw ?? this.toURLSearchParams().toString()
  }

  get [Symbol.toStringTag](): string {
    return 'PortableQuery'
  }

  #list(): Array<[string, string]> {
    if (this.#pairs === undefined) {
      const raw = this.#raw as string
      // A query with escapes is decoded by URLSearchParams itself; a plain one (the common case) is split here.
      this.#pairs = !isPlain(raw)
        ? [...new URLSearchParams(raw)]
        : raw
            .split('&')
            .filter(Boolean)
            .map((part): [string, string] => {
              const eq = part.indexOf('=')
              return eq === -1 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)]
            })
    }
    return this.#pairs
  }
}

/** Whether a raw query has no escapes (`%`, or `+` for a space): its names and values are as written. */
function isPlain(raw: string): boolean {
  return !raw.includes('%') && !raw.includes('+')
}

/** The value of the first `name` in a plain raw query, as splitting it on `&` and the first `=` gives it. */
function firstValue(raw: string, name: string): string | null {
  for (let start = 0; start < raw.length; ) {
    let end = raw.indexOf('&', start)
    if (end === -1) end = raw.length
    const eq = raw.indexOf('=', start)
    const keyEnd = eq === -1 || eq > end ? end : eq
    if (keyEnd - start === name.length && raw.startsWith(name, start) && end > start) return keyEnd === end ? '' : raw.slice(keyEnd + 1, end)
    start = end + 1
  }
  return null
}

/** Decodes one form-encoded component as `URLSearchParams` does: `+` is a space, invalid escapes stay as written. */
export function decodeFormComponent(text: string): string {
  return text.includes('%') || text.includes('+') ? (new URLSearchParams(`a=${text.replaceAll('&', '%26')}`).get('a') as string) : text
}
