/**
 * What the demo's handlers share about JSON bodies: whether a parsed value is the JSON object they expect, and how a
 * value that is not is named in the 400 they answer (`null`, `42`, `"x"`, `true`, `an array`), the same on every
 * provider since every provider hands `request.json()` the value the client sent.
 */

/** The value when it is a JSON object (not null, not an array), else undefined. */
export function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
}

/** A JSON value named for an error message: scalars as JSON (a long string only as "a string"), containers by kind. */
export function shown(value: unknown): string {
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object' && value !== null) return 'an object'
  const text = JSON.stringify(value)
  return text.length <= 40 ? text : `a ${typeof value}`
}
