/**
 * Names that come from outside (headers, attributes, document fields, extension names) become own, enumerable keys
 * of the records adapters build: never the record's prototype, never dropped. Plain assignment of `__proto__` sets
 * the prototype instead (an object value) or does nothing (any other value); this does not.
 */
export function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
  else target[key] = value
}

/** A copy of a record's own enumerable string keys, `__proto__` included as an own key. */
export function ownCopy<T>(record: Readonly<Record<string, T>>): Record<string, T> {
  const out: Record<string, T> = {}
  for (const key of Object.keys(record)) setOwn(out, key, record[key] as T)
  return out
}
