/**
 * Read-only query parameters with the reading half of `URLSearchParams` (`get`, `getAll`, `has`, iteration,
 * `toString`). Parsed on first use with the same rules (application/x-www-form-urlencoded: `+` is a space,
 * malformed percent escapes are kept as written) at a fraction of the cost of constructing a URLSearchParams.
 */
export class PortableQuery implements Iterable<[string, string]> {
  #raw: string | undefined
  #keys: string[] | undefined
  #values: string[] | undefined

  private constructor(raw: string | undefined, keys?: string[], values?: string[]) {
    this.#raw = raw
    this.#keys = keys
    this.#values = values
  }

  /** From a raw query string, with or without the leading `?`. */
  static parse(raw: string | null | undefined): PortableQuery {
    return new PortableQuery(raw ? (raw.charCodeAt(0) === 63 ? raw.slice(1) : raw) : '')
  }

  /** From already-decoded name/value pairs. */
  static fromPairs(pairs: Iterable<readonly [string, string]>): PortableQuery {
    const keys: string[] = []
    const values: string[] = []
    for (const [key, value] of pairs) {
      keys.push(key)
      values.push(value)
    }
    return new PortableQuery(undefined, keys, values)
  }

  get size(): number {
    return this.#parsed()[0].length
  }

  get(name: string): string | null {
    const [keys, values] = this.#parsed()
    const index = keys.indexOf(name)
    return index === -1 ? null : (values[index] as string)
  }

  getAll(name: string): string[] {
    const [keys, values] = this.#parsed()
    const out: string[] = []
    for (let i = 0; i < keys.length; i++) if (keys[i] === name) out.push(values[i] as string)
    return out
  }

  has(name: string, value?: string): boolean {
    if (value === undefined) return this.#parsed()[0].includes(name)
    return this.getAll(name).includes(value)
  }

  *entries(): IterableIterator<[string, string]> {
    const [keys, values] = this.#parsed()
    for (let i = 0; i < keys.length; i++) yield [keys[i] as string, values[i] as string]
  }

  keys(): IterableIterator<string> {
    return this.#parsed()[0][Symbol.iterator]()
  }

  values(): IterableIterator<string> {
    return this.#parsed()[1][Symbol.iterator]()
  }

  forEach(callback: (value: string, name: string, query: PortableQuery) => void): void {
    for (const [name, value] of this.entries()) callback(value, name, this)
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries()
  }

  /** A standard `URLSearchParams` copy. */
  toURLSearchParams(): URLSearchParams {
    return new URLSearchParams([...this.entries()])
  }

  /** Serialised as `URLSearchParams` does (the raw string when it was given one). */
  toString(): string {
    if (this.#raw !== undefined) return this.#raw
    return this.toURLSearchParams().toString()
  }

  get [Symbol.toStringTag](): string {
    return 'PortableQuery'
  }

  #parsed(): [string[], string[]] {
    if (this.#keys === undefined || this.#values === undefined) {
      const keys: string[] = []
      const values: string[] = []
      const raw = this.#raw ?? ''
      let start = 0
      while (start <= raw.length) {
        let end = raw.indexOf('&', start)
        if (end === -1) end = raw.length
        if (end > start) {
          const eq = raw.indexOf('=', start)
          const split = eq === -1 || eq > end ? end : eq
          keys.push(decodeFormComponent(raw.slice(start, split)))
          values.push(split === end ? '' : decodeFormComponent(raw.slice(split + 1, end)))
        }
        start = end + 1
      }
      this.#keys = keys
      this.#values = values
    }
    return [this.#keys, this.#values]
  }
}

const HEX = /%[0-9A-Fa-f]{2}/g

/** Decodes one form-encoded component: `+` is a space; invalid escapes and broken UTF-8 stay as written. */
export function decodeFormComponent(text: string): string {
  const hasPlus = text.includes('+')
  if (!hasPlus && !text.includes('%')) return text
  const plain = hasPlus ? text.replace(/\+/g, ' ') : text
  try {
    return decodeURIComponent(plain)
  } catch {
    // Decode each run of valid escapes on its own and keep what is not valid, as URLSearchParams does.
    return plain.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run)
      } catch {
        return run.replace(HEX, (escape) => {
          const byte = parseInt(escape.slice(1), 16)
          return byte < 0x80 ? String.fromCharCode(byte) : '\uFFFD'
        })
      }
    })
  }
}
