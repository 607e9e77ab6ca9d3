import { EventError, isRecord, quote, setOwn, type JsonObject, type JsonValue } from '@polycloud/core/adapter'

/** A DynamoDB attribute value in the wire format (`{ "S": "x" }`, `{ "N": "1" }`, ...). */
export type AttributeValue =
  | { S: string }
  | { N: string }
  | { B: string }
  | { SS: string[] }
  | { NS: string[] }
  | { BS: string[] }
  | { M: Record<string, AttributeValue> }
  | { L: AttributeValue[] }
  | { NULL: boolean }
  | { BOOL: boolean }

const INTEGER = /^-?\d+$/

/** DynamoDB nests documents (maps and lists) at most 32 levels deep. */
const MAX_DEPTH = 32

/**
 * A DynamoDB number as JSON without losing precision: a number when a double holds it exactly (integers up to
 * 2^53, decimals up to 15 significant digits), otherwise the decimal string DynamoDB sent (it allows 38 digits).
 */
export function dynamoNumber(text: string): number | string {
  const value = Number(text)
  if (text.trim() === '' || !Number.isFinite(value)) throw new EventError(`DynamoDB number is not a number: ${quote(text)}`)
  if (INTEGER.test(text)) return Number.isSafeInteger(value) ? value : text
  const digits = text.replace(/^-/, '').replace(/e.*$/i, '').replace('.', '').replace(/^0+/, '')
  return digits.length <= 15 ? value : text
}

/**
 * Converts one attribute value to plain JSON: sets become arrays, binary values stay base64 strings, NULL is null.
 * An unknown type is an error naming the attribute path.
 */
export function fromAttributeValue(value: unknown, path: string, depth = 0): JsonValue {
  if (!isRecord(value)) throw new EventError(`DynamoDB attribute ${path} is not an attribute value`)
  if (depth > MAX_DEPTH) throw new EventError(`DynamoDB attribute ${path} nests deeper than ${MAX_DEPTH} levels, DynamoDB's limit`)
  const types = Object.keys(value)
  if (types.length !== 1) throw new EventError(`DynamoDB attribute ${path} has ${types.length} type keys: ${types.join(', ')}`)
  const type = types[0] as string
  const inner = value[type]
  switch (type) {
    case 'S':
    case 'B':
      return text(inner, path, type)
    case 'N':
      return dynamoNumber(text(inner, path, type))
    case 'BOOL':
      return inner === true
    case 'NULL':
      return null
    case 'SS':
    case 'BS':
      return asArray(inner, path).map((item) => text(item, path, type))
    case 'NS':
      return asArray(inner, path).map((item) => dynamoNumber(text(item, path, type)))
    case 'L':
      return asArray(inner, path).map((item, index) => fromAttributeValue(item, `${path}[${index}]`, depth + 1))
    case 'M':
      if (!isRecord(inner)) throw new EventError(`DynamoDB attribute ${path} has an M that is not a map`)
      return unmarshall(inner, path, depth + 1)
    default:
      throw new EventError(`DynamoDB attribute ${path} has an unknown type ${quote(type)}`)
  }
}

/** A string of the wire format (S, B and N values, and the items of sets, are strings). */
function text(value: unknown, path: string, type: string): string {
  if (typeof value !== 'string') throw new EventError(`DynamoDB attribute ${path}: a ${type} value must be a string, got ${quote(value)}`)
  return value
}

function asArray(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw new EventError(`DynamoDB attribute ${path} should hold a list`)
  return value
}

/** An item (map of attribute values) as a plain JSON object; every attribute name an own key (`__proto__` too). */
export function unmarshall(item: Readonly<Record<string, unknown>>, path = '', depth = 0): JsonObject {
  const out: JsonObject = {}
  for (const name of Object.keys(item)) setOwn(out, name, fromAttributeValue(item[name], path === '' ? name : `${path}.${name}`, depth))
  return out
}
