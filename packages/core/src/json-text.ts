import { EventError } from './errors.js'

/**
 * JSON text for a value, exactly as `JSON.stringify` writes it, for any nesting depth: `JSON.stringify` recurses and
 * throws a RangeError past a few thousand levels, which `JSON.parse` (and so a queue's JSON body) does not have.
 * The common case is `JSON.stringify` itself; only a value nested too deeply for it is written iteratively.
 */
export function jsonText(value: unknown): string | undefined {
  try {
    return JSON.stringify(value)
  } catch (error) {
    if (!(error instanceof RangeError)) throw error
    return stringifyDeep(value)
  }
}

interface Frame {
  readonly value: object
  /** Array items, or the object's keys. */
  readonly keys: readonly string[] | undefined
  index: number
  wrote: boolean
}

/** JSON.stringify without recursion: toJSON, boxed primitives, undefined/function/symbol members, cycles. */
function stringifyDeep(root: unknown): string | undefined {
  const parts: string[] = []
  const stack: Frame[] = []
  const open = new Set<object>()
  // Writes a value; pushes a frame for an array or object and returns false when the value is omitted.
  const write = (key: string, raw: unknown, inArray: boolean): boolean => {
    let value = raw
    if (value !== null && (typeof value === 'object' || typeof value === 'bigint')) {
      const toJSON = (value as { toJSON?: unknown }).toJSON
      if (typeof toJSON === 'function') value = (toJSON as (key: string) => unknown).call(value, key)
    }
    if (value instanceof Number) value = Number(value)
    else if (value instanceof String) value = String(value)
    else if (value instanceof Boolean) value = value.valueOf()
    if (value === null) parts.push('null')
    else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') parts.push(JSON.stringify(value))
    else if (typeof value === 'bigint') throw new TypeError('Do not know how to serialize a BigInt')
    else if (typeof value === 'object') {
      if (open.has(value)) throw new TypeError('Converting circular structure to JSON')
      open.add(value)
      const isArray = Array.isArray(value)
      parts.push(isArray ? '[' : '{')
      stack.push({ value, keys: isArray ? undefined : Object.keys(value), index: 0, wrote: false })
    } else if (inArray) parts.push('null')
    else return false
    return true
  }
  if (!write('', root, false)) return undefined
  while (stack.length > 0) {
    const frame = stack[stack.length - 1] as Frame
    const { value, keys } = frame
    if (keys === undefined) {
      const array = value as unknown[]
      if (frame.index >= array.length) {
        parts.push(']')
        open.delete(value)
        stack.pop()
        continue
      }
      const i = frame.index++
      if (i > 0) parts.push(',')
      write(String(i), array[i], true)
    } else {
      if (frame.index >= keys.length) {
        parts.push('}')
        open.delete(value)
        stack.pop()
        continue
      }
      const key = keys[frame.index++] as string
      const at = parts.length
      parts.push(frame.wrote ? ',' : '', `${JSON.stringify(key)}:`)
      if (write(key, (value as Record<string, unknown>)[key], false)) frame.wrote = true
      else parts.length = at
    }
  }
  return parts.join('')
}

/**
 * Whether a JSON value nests deeper than `limit` arrays and objects, measured without recursion (a value read with
 * `JSON.parse` can nest far deeper than recursive code can walk).
 */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]]
  while (stack.length > 0) {
    const [item, depth] = stack.pop() as [unknown, number]
    // Bytes (a binary-mode event's data) are one value, not a list to walk.
    if (typeof item !== 'object' || item === null || ArrayBuffer.isView(item)) continue
    if (depth + 1 > limit) return true
    for (const child of Array.isArray(item) ? item : Object.values(item)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1])
    }
  }
  return false
}

/**
 * How deeply a JSON value handed to a handler may nest: far beyond any real event (Firestore stops at 20 levels,
 * DynamoDB at 32, Cosmos DB at 128), and well within what `JSON.stringify`, `structuredClone` and a handler's own
 * recursive code can walk (they throw `RangeError: Maximum call stack size exceeded` some thousands of levels down).
 */
export const MAX_JSON_DEPTH = 1000

/** The one error text for JSON nested deeper than {@link MAX_JSON_DEPTH}; `what` names the value. */
export function tooDeepMessage(what: string): string {
  return `${what} nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep; no provider's event does`
}

/**
 * A parsed JSON value a handler receives as it is (a CloudEvent's `data`, a document), refused with an
 * {@link EventError} naming `field` when it nests deeper than {@link MAX_JSON_DEPTH}: a handler never meets a value
 * its own `JSON.stringify` cannot write.
 */
export function readJson<T>(value: T, field: string): T {
  if (typeof value === 'object' && value !== null && nestsDeeperThan(value, MAX_JSON_DEPTH)) throw new EventError(tooDeepMessage(field))
  return value
}
