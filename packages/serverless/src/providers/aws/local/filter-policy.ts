/**
 * SNS subscription filter policies, as the Amazon SNS Developer Guide documents them ("Amazon SNS message
 * filtering" and its pages on string, numeric and key matching, AND/OR logic and policy constraints):
 *
 * - a policy maps property names to a list of conditions: the properties AND, a property's conditions OR;
 * - conditions: exact strings, numbers, `true`/`false`/`null`; `{"prefix"}`, `{"suffix"}`, `{"equals-ignore-case"}`;
 *   `{"anything-but": value | [values] | {"prefix"} | {"suffix"}}`; `{"numeric": ["=", n]}` and ranges such as
 *   `[">", 0, "<=", 150]`; `{"exists": true | false}`; `{"cidr": "10.0.0.0/24"}`; `"$or": [policy, policy, ...]`;
 * - scope `MessageAttributes` (the default): top-level names against the message attributes, of type String,
 *   String.Array (each element on its own) and Number; Binary attributes are ignored;
 * - scope `MessageBody`: nested names against the JSON object the message is (a list matches when one element
 *   does); a body that is not a JSON object matches nothing.
 *
 * Constraints checked when a policy is set: at most five top-level keys, at most 150 combinations (the product of
 * each list's length, summed over `$or` branches), numbers within ±10^9, no nesting in MessageAttributes scope.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net'
import { AwsError } from './http.js'

export type FilterPolicyScope = 'MessageAttributes' | 'MessageBody'

type Json = string | number | boolean | null | Json[] | { [key: string]: Json }

type Condition =
  | { kind: 'equals'; value: string | number | boolean | null }
  | { kind: 'prefix' | 'suffix'; value: string }
  | { kind: 'equals-ignore-case'; value: string }
  | { kind: 'anything-but'; values: Array<string | number> }
  | { kind: 'anything-but-prefix' | 'anything-but-suffix'; value: string }
  | { kind: 'numeric'; checks: Array<[string, number]> }
  | { kind: 'exists'; value: boolean }
  | { kind: 'cidr'; list: BlockList }

/** One way a message can match: every property's conditions (one of each list must hold). */
type Branch = Array<{ path: string; conditions: Condition[] }>

export interface FilterPolicy {
  readonly scope: FilterPolicyScope
  readonly branches: readonly Branch[]
}

/** A message attribute as SNS takes it (a binary value as base64). */
export interface SnsMessageAttribute {
  readonly DataType: string
  readonly StringValue?: string
  readonly BinaryValue?: string
}

const NUMERIC_LIMIT = 1e9

function refuse(reason: string): AwsError {
  return new AwsError('InvalidParameter', `Invalid parameter: FilterPolicy: ${reason}`)
}

/** Parses and checks a filter policy (Subscribe, SetSubscriptionAttributes); an AwsError names what is wrong. */
export function parseFilterPolicy(text: string, scope: FilterPolicyScope = 'MessageAttributes'): FilterPolicy {
  let policy: unknown
  try {
    policy = JSON.parse(text)
  } catch {
    throw refuse('failed to parse JSON')
  }
  if (typeof policy !== 'object' || policy === null || Array.isArray(policy)) throw refuse('the filter policy must be a JSON object')
  if (Object.keys(policy).length > 5) throw refuse('Filter policy can not have more than 5 keys')
  const branches = compile(policy as Record<string, Json>, '', scope)
  const combinations = branches.reduce((sum, branch) => sum + branch.reduce((product, entry) => product * entry.conditions.length, 1), 0)
  if (combinations > 150) throw refuse(`Filter policy is too complex (${combinations} combinations; at most 150)`)
  return { scope, branches }
}

/** The branches of a policy object: `$or` multiplies them, nested objects (body scope) extend the path. */
function compile(policy: Record<string, Json>, prefix: string, scope: FilterPolicyScope): Branch[] {
  let branches: Branch[] = [[]]
  for (const [key, value] of Object.entries(policy)) {
    if (key === '$or') {
      if (!Array.isArray(value) || value.length < 2 || !value.every((item) => typeof item === 'object' && item !== null && !Array.isArray(item))) {
        throw refuse('"$or" must be a list of at least two policy objects')
      }
      const alternatives = value.flatMap((item) => compile(item as Record<string, Json>, prefix, scope))
      branches = branches.flatMap((branch) => alternatives.map((alternative) => [...branch, ...alternative]))
      continue
    }
    const path = `${prefix}${key}`
    if (Array.isArray(value)) {
      if (value.length === 0) throw refuse(`"${path}": empty arrays are not allowed`)
      const conditions = value.map((item) => condition(item, path))
      for (const branch of branches) branch.push({ path, conditions })
    } else if (typeof value === 'object' && value !== null) {
      if (scope === 'MessageAttributes') throw refuse('Filter policy scope MessageAttributes does not support nested filter policy')
      const nested = compile(value, `${path}.`, scope)
      branches = branches.flatMap((branch) => nested.map((inner) => [...branch, ...inner]))
    } else {
      throw refuse(`"${path}" must be an object or an array`)
    }
  }
  return branches
}

function checkNumber(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw refuse(`"${path}": a number is expected`)
  if (Math.abs(value) > NUMERIC_LIMIT) throw refuse(`"${path}": numbers must be within -1000000000 and 1000000000`)
  return value
}

function condition(item: Json, path: string): Condition {
  if (typeof item === 'number') return { kind: 'equals', value: checkNumber(item, path) }
  if (item === null || typeof item === 'string' || typeof item === 'boolean') return { kind: 'equals', value: item }
  if (Array.isArray(item)) throw refuse(`"${path}": a match condition cannot be a list`)
  const keys = Object.keys(item)
  if (keys.length !== 1) throw refuse(`"${path}": a match condition has exactly one operator, got ${keys.length}`)
  const operator = keys[0] as string
  const operand = item[operator] as Json
  switch (operator) {
    case 'prefix':
    case 'suffix':
    case 'equals-ignore-case':
      if (typeof operand !== 'string') throw refuse(`"${path}": ${operator} match pattern must be a string`)
      return { kind: operator, value: operand }
    case 'exists':
      if (typeof operand !== 'boolean') throw refuse(`"${path}": exists match pattern must be either true or false`)
      return { kind: 'exists', value: operand }
    case 'anything-but': {
      if (typeof operand === 'string') return { kind: 'anything-but', values: [operand] }
      if (typeof operand === 'number') return { kind: 'anything-but', values: [checkNumber(operand, path)] }
      if (Array.isArray(operand)) {
        if (operand.length === 0 || !operand.every((value) => typeof value === 'string' || typeof value === 'number')) {
          throw refuse(`"${path}": anything-but list must contain strings or numbers`)
        }
        return { kind: 'anything-but', values: operand as Array<string | number> }
      }
      if (typeof operand === 'object' && operand !== null) {
        const inner = Object.keys(operand)
        const value = inner.length === 1 ? operand[inner[0] as string] : undefined
        if ((inner[0] === 'prefix' || inner[0] === 'suffix') && typeof value === 'string') return { kind: `anything-but-${inner[0]}`, value }
      }
      throw refuse(`"${path}": Unsupported anything-but pattern`)
    }
    case 'numeric': {
      if (!Array.isArray(operand) || operand.length === 0 || operand.length % 2 !== 0 || operand.length > 4) throw refuse(`"${path}": Value of numeric must be an array of operator and value pairs`)
      const checks: Array<[string, number]> = []
      for (let i = 0; i < operand.length; i += 2) {
        const op = operand[i]
        if (op !== '=' && op !== '<' && op !== '<=' && op !== '>' && op !== '>=') throw refuse(`"${path}": Unrecognized numeric range operator: ${JSON.stringify(op)}`)
        checks.push([op, checkNumber(operand[i + 1], path)])
      }
      const [first, second] = checks
      if (second !== undefined && !(first?.[0].startsWith('>') && second[0].startsWith('<') && first[1] < second[1])) {
        throw refuse(`"${path}": a numeric range is a lower bound (> or >=) then a greater upper bound (< or <=)`)
      }
      if (first?.[0] === '=' && second !== undefined) throw refuse(`"${path}": numeric = takes one value`)
      return { kind: 'numeric', checks }
    }
    case 'cidr': {
      if (typeof operand !== 'string') throw refuse(`"${path}": cidr must be a string`)
      const [address, bits, extra] = operand.split('/')
      const family = isIPv4(address ?? '') ? 'ipv4' : isIPv6(address ?? '') ? 'ipv6' : undefined
      const prefix = Number(bits)
      if (family === undefined || extra !== undefined || !/^\d+$/.test(bits ?? '') || prefix > (family === 'ipv4' ? 32 : 128)) throw refuse(`"${path}": Malformed CIDR, one '/' required`)
      const list = new BlockList()
      list.addSubnet(address as string, prefix, family)
      return { kind: 'cidr', list }
    }
    default:
      throw refuse(`"${path}": Unrecognized match type ${operator}`)
  }
}

type Value = string | number | boolean | null

function holds(condition: Condition, value: Value): boolean {
  switch (condition.kind) {
    case 'equals':
      return value === condition.value
    case 'prefix':
      return typeof value === 'string' && value.startsWith(condition.value)
    case 'suffix':
      return typeof value === 'string' && value.endsWith(condition.value)
    case 'equals-ignore-case':
      return typeof value === 'string' && value.toLowerCase() === condition.value.toLowerCase()
    case 'anything-but':
      return (typeof value === 'string' || typeof value === 'number') && !condition.values.includes(value)
    case 'anything-but-prefix':
      return typeof value === 'string' && !value.startsWith(condition.value)
    case 'anything-but-suffix':
      return typeof value === 'string' && !value.endsWith(condition.value)
    case 'numeric':
      return typeof value === 'number' && condition.checks.every(([op, bound]) => (op === '=' ? value === bound : op === '<' ? value < bound : op === '<=' ? value <= bound : op === '>' ? value > bound : value >= bound))
    case 'cidr':
      return typeof value === 'string' && (isIPv4(value) ? condition.list.check(value, 'ipv4') : isIPv6(value) && condition.list.check(value, 'ipv6'))
    case 'exists':
      return condition.value
  }
}

/** Whether one property's conditions hold for its values (undefined: the property is absent). */
function propertyMatches(conditions: readonly Condition[], values: readonly Value[] | undefined): boolean {
  return conditions.some((condition) => {
    if (condition.kind === 'exists') return condition.value === (values !== undefined)
    return values !== undefined && values.some((value) => holds(condition, value))
  })
}

/** The values of each message attribute a policy can match (Binary ones are ignored, as SNS does). */
function attributeValues(attributes: Readonly<Record<string, SnsMessageAttribute>>): Map<string, Value[]> {
  const out = new Map<string, Value[]>()
  for (const [name, attribute] of Object.entries(attributes)) {
    const type = attribute.DataType
    const text = attribute.StringValue
    if (text === undefined || type.startsWith('Binary')) continue
    if (type === 'String.Array') {
      try {
        const list: unknown = JSON.parse(text)
        if (Array.isArray(list)) out.set(name, list.filter((item): item is Value => item === null || ['string', 'number', 'boolean'].includes(typeof item)))
      } catch {
        // Checked at publish time; nothing to match otherwise.
      }
    } else if (type.startsWith('Number')) {
      out.set(name, [Number(text)])
    } else {
      out.set(name, [text])
    }
  }
  return out
}

/** Every leaf of a JSON body by its dotted path; a list contributes each element (nested lists flattened). */
function bodyValues(body: unknown, prefix = '', out = new Map<string, Value[]>()): Map<string, Value[]> {
  if (Array.isArray(body)) {
    for (const item of body) bodyValues(item, prefix, out)
    return out
  }
  if (typeof body === 'object' && body !== null) {
    for (const [key, value] of Object.entries(body)) bodyValues(value, prefix === '' ? key : `${prefix}.${key}`, out)
    return out
  }
  const values = out.get(prefix) ?? []
  values.push(body as Value)
  out.set(prefix, values)
  return out
}

/** Whether a published message passes a subscription's filter policy. */
export function matchesFilterPolicy(policy: FilterPolicy, message: { readonly body: string; readonly attributes: Readonly<Record<string, SnsMessageAttribute>> }): boolean {
  let values: Map<string, Value[]>
  if (policy.scope === 'MessageBody') {
    let body: unknown
    try {
      body = JSON.parse(message.body)
    } catch {
      return false
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return false
    values = bodyValues(body)
  } else {
    values = attributeValues(message.attributes)
  }
  return policy.branches.some((branch) => branch.every(({ path, conditions }) => propertyMatches(conditions, values.get(path))))
}
