/**
 * A local Firestore: the REST API's documents methods (https://cloud.google.com/firestore/docs/reference/rest) that
 * Google's client library in REST mode (`@google-cloud/firestore` with `preferRest: true`), the Polycloud driver and
 * `curl` use, on 127.0.0.1. Firestore's own emulator needs Java and a download, which this machine cannot have; this
 * answers in the published API's shapes instead (google/firestore/v1/firestore.proto, document.proto, query.proto,
 * write.proto), its errors in Google's JSON error shape:
 *
 *   GET    /v1/projects/<p>/databases/<d>/documents/<collection>/<id>          a document (`mask.fieldPaths`)
 *   PATCH  /v1/projects/<p>/databases/<d>/documents/<collection>/<id>          writes it (`updateMask.fieldPaths`,
 *                                                                                `currentDocument.exists` / `.updateTime`)
 *   DELETE /v1/projects/<p>/databases/<d>/documents/<collection>/<id>          deletes it (`currentDocument.*`)
 *   GET    /v1/projects/<p>/databases/<d>/documents/<collection>               lists (`pageSize`, `pageToken`, `orderBy`,
 *                                                                                `showMissing`)
 *   POST   /v1/projects/<p>/databases/<d>/documents/<parent...>/<collection>   creates (`documentId`)
 *   POST   /v1/projects/<p>/databases/<d>/documents:commit                      writes atomically, with preconditions
 *                                                                                and transforms (`transaction`)
 *   POST   /v1/projects/<p>/databases/<d>/documents:batchGet                    documents, streamed as a JSON array
 *   POST   /v1/projects/<p>/databases/<d>/documents[/<path>]:runQuery           a structured query, streamed
 *   POST   /v1/projects/<p>/databases/<d>/documents[/<path>]:runAggregationQuery   count, sum, avg
 *   POST   /v1/projects/<p>/databases/<d>/documents:beginTransaction | :rollback
 *
 * Semantics kept: a commit is all or nothing; `currentDocument.exists: false` on an existing document is
 * ALREADY_EXISTS (409), `exists: true` on a missing one NOT_FOUND (404, "No document to update"), an `updateTime`
 * that is not the stored one FAILED_PRECONDITION (400); update times are unique, microsecond, and unchanged by a
 * write that changes nothing; documents at most 1 MiB by Firestore's storage size rules; queries with filters,
 * implicit and explicit orders, cursors, offset, limit and projections, in Firestore's value order; transactions are
 * optimistic (a commit whose reads changed since is ABORTED, 409). Not served: `readTime` reads, listeners (gRPC
 * only), partition queries, TTL deletion (Firestore's own deletes within a day; readers filter), indexes (every
 * query is answered, as if its index existed), the admin API. With `stateDir`, the documents are kept in
 * `<stateDir>/firestore.json` between runs. With `tokens`, requests need `Authorization: Bearer <one of them>`.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { buffer } from 'node:stream/consumers'

/** A Firestore value (document.proto `Value`) as JSON. */
export type Value =
  | { readonly nullValue: null | 0 | 'NULL_VALUE' }
  | { readonly booleanValue: boolean }
  | { readonly integerValue: string }
  | { readonly doubleValue: number | string }
  | { readonly timestampValue: string }
  | { readonly stringValue: string }
  | { readonly bytesValue: string }
  | { readonly referenceValue: string }
  | { readonly geoPointValue: { readonly latitude?: number; readonly longitude?: number } }
  | { readonly arrayValue: { readonly values?: readonly Value[] } }
  | { readonly mapValue: { readonly fields?: Readonly<Record<string, Value>> } }

export type Fields = Readonly<Record<string, Value>>

/** A document as the API answers it. */
export interface Document {
  readonly name: string
  readonly fields: Fields
  readonly createTime: string
  readonly updateTime: string
}

export interface LocalFirestoreOptions {
  /** 127.0.0.1 (the loopback interface is the only one allowed). */
  readonly host?: string
  /** 0 (the default) picks a free port. */
  readonly port?: number
  /** Where documents are kept between runs (`.polycloud/state/google`); in memory when undefined. */
  readonly stateDir?: string
  /** Bearer tokens accepted; without, requests need no credentials (as an emulator). */
  readonly tokens?: readonly string[]
  readonly log?: (line: string) => void
}

export interface LocalFirestore {
  /** `http://127.0.0.1:<port>`: the REST base; `FIRESTORE_EMULATOR_HOST` takes `127.0.0.1:<port>`. */
  readonly url: string
  readonly port: number
  /** The documents of a database, by name (`projects/<p>/databases/<d>/documents/...`). */
  documents(project: string, database?: string): ReadonlyMap<string, Document>
  stop(): Promise<void>
}

/** Google's status names and their HTTP statuses (google/rpc/code.proto). */
const STATUS: Readonly<Record<string, number>> = {
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  OUT_OF_RANGE: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  ABORTED: 409,
  ALREADY_EXISTS: 409,
  RESOURCE_EXHAUSTED: 429,
  INTERNAL: 500,
  UNIMPLEMENTED: 501,
  UNAVAILABLE: 503,
}

class ApiError extends Error {
  constructor(
    readonly status: keyof typeof STATUS & string,
    message: string,
  ) {
    super(message)
  }
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1'])
/** Firestore's limits (https://firebase.google.com/docs/firestore/quotas#limits). */
const MAX_DOCUMENT_BYTES = 1_048_576
const MAX_ID_BYTES = 1500
const MAX_WRITES = 500
const DEFAULT_PAGE = 300

interface Stored {
  readonly fields: Fields
  readonly createTime: bigint
  readonly updateTime: bigint
}

interface Transaction {
  readonly reads: Map<string, bigint | undefined>
  readonly readOnly: boolean
}

interface Database {
  readonly docs: Map<string, Stored>
}

// ---------------------------------------------------------------------------------------------------------------
// Times: microseconds since the epoch, as bigints; RFC 3339 with 0, 3, 6 or 9 fractional digits, as Google writes.

function formatTime(micros: bigint): string {
  const ms = Number(micros / 1000n)
  const rest = Number(micros % 1000n)
  const iso = new Date(ms).toISOString()
  if (rest === 0) return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso
  return `${iso.slice(0, -1)}${String(rest).padStart(3, '0')}Z`
}

function parseTime(text: unknown, what: string): bigint {
  const match = typeof text === 'string' ? /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(text) : null
  const seconds = match === null ? Number.NaN : Date.parse(`${match[1]}${match[3]}`)
  if (match === null || Number.isNaN(seconds)) throw new ApiError('INVALID_ARGUMENT', `Invalid value at '${what}' (type.googleapis.com/google.protobuf.Timestamp), Field '${what}', Illegal timestamp format; timestamps must end with 'Z' or have a valid timezone offset.`)
  // Firestore keeps microseconds: nanoseconds past them are dropped.
  const micros = (match[2] ?? '').padEnd(9, '0').slice(0, 6)
  return BigInt(seconds) * 1000n + BigInt(micros)
}

// ---------------------------------------------------------------------------------------------------------------
// Values: validation, order (https://firebase.google.com/docs/firestore/manage-data/data-types#value_type_ordering),
// equality and storage size (https://firebase.google.com/docs/firestore/storage-size).

const KINDS = ['nullValue', 'booleanValue', 'integerValue', 'doubleValue', 'timestampValue', 'stringValue', 'bytesValue', 'referenceValue', 'geoPointValue', 'arrayValue', 'mapValue'] as const
type Kind = (typeof KINDS)[number]

function kindOf(value: Value, where = 'value'): Kind {
  if (typeof value !== 'object' || value === null) throw new ApiError('INVALID_ARGUMENT', `${where}: a Value must be an object`)
  const present = KINDS.filter((kind) => kind in value)
  if (present.length !== 1) throw new ApiError('INVALID_ARGUMENT', `${where}: a Value must set exactly one of ${KINDS.join(', ')}`)
  return present[0] as Kind
}

function numberOf(value: Value): number {
  if ('integerValue' in value) return Number(value.integerValue)
  const double = (value as { doubleValue: number | string }).doubleValue
  return typeof double === 'number' ? double : double === 'NaN' ? Number.NaN : double === 'Infinity' ? Infinity : double === '-Infinity' ? -Infinity : Number(double)
}

/** A value as stored: checked, integers as decimal strings, timestamps normalised. */
function normalise(value: Value, where: string): Value {
  const kind = kindOf(value, where)
  switch (kind) {
    case 'nullValue':
      return { nullValue: null }
    case 'booleanValue':
      if (typeof (value as { booleanValue: unknown }).booleanValue !== 'boolean') throw new ApiError('INVALID_ARGUMENT', `${where}: booleanValue must be a boolean`)
      return value
    case 'integerValue': {
      const raw = (value as { integerValue: unknown }).integerValue
      let int: bigint
      try {
        int = BigInt(typeof raw === 'number' ? Math.trunc(raw) : String(raw))
      } catch {
        throw new ApiError('INVALID_ARGUMENT', `${where}: integerValue ${JSON.stringify(raw)} is not an integer`)
      }
      if (int > 9223372036854775807n || int < -9223372036854775808n) throw new ApiError('INVALID_ARGUMENT', `${where}: integerValue out of the int64 range`)
      return { integerValue: int.toString() }
    }
    case 'doubleValue': {
      const number = numberOf(value)
      if (typeof number !== 'number') throw new ApiError('INVALID_ARGUMENT', `${where}: doubleValue must be a number`)
      return { doubleValue: Number.isFinite(number) ? number : String(number) }
    }
    case 'timestampValue':
      return { timestampValue: formatTime(parseTime((value as { timestampValue: unknown }).timestampValue, where)) }
    case 'stringValue':
      if (typeof (value as { stringValue: unknown }).stringValue !== 'string') throw new ApiError('INVALID_ARGUMENT', `${where}: stringValue must be a string`)
      return value
    case 'bytesValue':
      if (typeof (value as { bytesValue: unknown }).bytesValue !== 'string') throw new ApiError('INVALID_ARGUMENT', `${where}: bytesValue must be base64`)
      return { bytesValue: Buffer.from((value as { bytesValue: string }).bytesValue, 'base64').toString('base64') }
    case 'referenceValue':
      parseName((value as { referenceValue: unknown }).referenceValue, 'document', `${where}.referenceValue`)
      return value
    case 'geoPointValue': {
      const point = (value as { geoPointValue: { latitude?: unknown; longitude?: unknown } }).geoPointValue
      const latitude = Number(point?.latitude ?? 0)
      const longitude = Number(point?.longitude ?? 0)
      if (!(latitude >= -90 && latitude <= 90 && longitude >= -180 && longitude <= 180)) throw new ApiError('INVALID_ARGUMENT', `${where}: a geo point's latitude is within [-90, 90] and its longitude within [-180, 180]`)
      return { geoPointValue: { latitude, longitude } }
    }
    case 'arrayValue': {
      const values = (value as { arrayValue: { values?: Value[] } }).arrayValue?.values ?? []
      return { arrayValue: { values: values.map((item, index) => {
        if ('arrayValue' in item) throw new ApiError('INVALID_ARGUMENT', `${where}[${index}]: Cannot have nested arrays`)
        return normalise(item, `${where}[${index}]`)
      }) } }
    }
    case 'mapValue':
      return { mapValue: { fields: normaliseFields((value as { mapValue: { fields?: Fields } }).mapValue?.fields ?? {}, where) } }
  }
}

function normaliseFields(fields: unknown, where: string): Fields {
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) throw new ApiError('INVALID_ARGUMENT', `${where}: fields must be an object of values`)
  const out: Record<string, Value> = {}
  for (const [name, value] of Object.entries(fields as Record<string, Value>)) {
    if (name === '' || (/^__.*__$/.test(name) && where === 'document')) throw new ApiError('INVALID_ARGUMENT', `${where}: field name ${JSON.stringify(name)} is not allowed`)
    out[name] = normalise(value, where === 'document' ? name : `${where}.${name}`)
  }
  return out
}

const TYPE_ORDER: Readonly<Record<Kind, number>> = {
  nullValue: 0,
  booleanValue: 1,
  integerValue: 3,
  doubleValue: 3,
  timestampValue: 4,
  stringValue: 5,
  bytesValue: 6,
  referenceValue: 7,
  geoPointValue: 8,
  arrayValue: 9,
  mapValue: 10,
}

function typeOrder(value: Value): number {
  const kind = kindOf(value)
  if (kind === 'doubleValue' && Number.isNaN(numberOf(value))) return 2
  return TYPE_ORDER[kind]
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number)
  return a.length - b.length
}

/** Strings compare by their UTF-8 bytes. */
function compareStrings(a: string, b: string): number {
  if (a === b) return 0
  return compareBytes(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

/** Document names compare segment by segment. */
function compareNames(a: string, b: string): number {
  const x = a.split('/')
  const y = b.split('/')
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const order = compareStrings(x[i] as string, y[i] as string)
    if (order !== 0) return order
  }
  return x.length - y.length
}

function compareValues(a: Value, b: Value): number {
  const ta = typeOrder(a)
  const tb = typeOrder(b)
  if (ta !== tb) return ta - tb
  if ('booleanValue' in a) return Number(a.booleanValue) - Number((b as { booleanValue: boolean }).booleanValue)
  if (ta === 3) {
    if ('integerValue' in a && 'integerValue' in b) {
      const x = BigInt(a.integerValue)
      const y = BigInt(b.integerValue)
      return x < y ? -1 : x > y ? 1 : 0
    }
    const x = numberOf(a)
    const y = numberOf(b)
    return x < y ? -1 : x > y ? 1 : 0
  }
  if ('timestampValue' in a) {
    const x = parseTime(a.timestampValue, 'value')
    const y = parseTime((b as { timestampValue: string }).timestampValue, 'value')
    return x < y ? -1 : x > y ? 1 : 0
  }
  if ('stringValue' in a) return compareStrings(a.stringValue, (b as { stringValue: string }).stringValue)
  if ('bytesValue' in a) return compareBytes(Buffer.from(a.bytesValue, 'base64'), Buffer.from((b as { bytesValue: string }).bytesValue, 'base64'))
  if ('referenceValue' in a) return compareNames(a.referenceValue, (b as { referenceValue: string }).referenceValue)
  if ('geoPointValue' in a) {
    const x = a.geoPointValue
    const y = (b as { geoPointValue: { latitude?: number; longitude?: number } }).geoPointValue
    return (x.latitude ?? 0) - (y.latitude ?? 0) || (x.longitude ?? 0) - (y.longitude ?? 0)
  }
  if ('arrayValue' in a) {
    const x = a.arrayValue.values ?? []
    const y = (b as { arrayValue: { values?: Value[] } }).arrayValue.values ?? []
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      const order = compareValues(x[i] as Value, y[i] as Value)
      if (order !== 0) return order
    }
    return x.length - y.length
  }
  if ('mapValue' in a) {
    const x = a.mapValue.fields ?? {}
    const y = (b as { mapValue: { fields?: Fields } }).mapValue.fields ?? {}
    const xk = Object.keys(x).sort(compareStrings)
    const yk = Object.keys(y).sort(compareStrings)
    for (let i = 0; i < Math.min(xk.length, yk.length); i++) {
      const order = compareStrings(xk[i] as string, yk[i] as string) || compareValues(x[xk[i] as string] as Value, y[yk[i] as string] as Value)
      if (order !== 0) return order
    }
    return xk.length - yk.length
  }
  return 0
}

function equalValues(a: Value, b: Value): boolean {
  if (typeOrder(a) !== typeOrder(b)) return false
  if (typeOrder(a) === 2) return false
  return compareValues(a, b) === 0
}

function equalFields(a: Fields, b: Fields): boolean {
  const keys = Object.keys(a)
  if (keys.length !== Object.keys(b).length) return false
  return keys.every((key) => key in b && kindOf(a[key] as Value) === kindOf(b[key] as Value) && equalValues(a[key] as Value, b[key] as Value))
}

function utf8(text: string): number {
  return Buffer.byteLength(text, 'utf8')
}

/** A document name's storage size: each segment's bytes plus one, plus 16. */
function nameSize(name: string): number {
  const path = name.slice(name.indexOf('/documents/') + '/documents/'.length)
  return path.split('/').reduce((sum, segment) => sum + utf8(segment) + 1, 16)
}

function valueSize(value: Value): number {
  const kind = kindOf(value)
  switch (kind) {
    case 'nullValue':
    case 'booleanValue':
      return 1
    case 'integerValue':
    case 'doubleValue':
    case 'timestampValue':
      return 8
    case 'stringValue':
      return utf8((value as { stringValue: string }).stringValue) + 1
    case 'bytesValue':
      return Buffer.from((value as { bytesValue: string }).bytesValue, 'base64').length
    case 'referenceValue':
      return nameSize((value as { referenceValue: string }).referenceValue)
    case 'geoPointValue':
      return 16
    case 'arrayValue':
      return ((value as { arrayValue: { values?: Value[] } }).arrayValue.values ?? []).reduce((sum, item) => sum + valueSize(item), 0)
    case 'mapValue':
      return fieldsSize((value as { mapValue: { fields?: Fields } }).mapValue.fields ?? {})
  }
}

function fieldsSize(fields: Fields): number {
  let size = 0
  for (const [name, value] of Object.entries(fields)) size += utf8(name) + 1 + valueSize(value)
  return size
}

// ---------------------------------------------------------------------------------------------------------------
// Names and field paths.

interface Name {
  readonly database: string
  /** `projects/<p>/databases/<d>/documents` */
  readonly root: string
  /** The segments after `documents`. */
  readonly segments: readonly string[]
}

function parseName(text: unknown, kind: 'document' | 'parent' | 'collection', what: string): Name {
  const match = typeof text === 'string' ? /^(projects\/([^/]+)\/databases\/([^/]+))\/documents(?:\/(.*))?$/.exec(text) : null
  if (match === null) throw new ApiError('INVALID_ARGUMENT', `${what}: ${JSON.stringify(text)} is not a resource name of the form projects/{project_id}/databases/{database_id}/documents/{document_path}`)
  const segments = match[4] === undefined || match[4] === '' ? [] : match[4].split('/')
  for (const segment of segments) {
    if (segment === '' || segment === '.' || segment === '..' || /^__.*__$/.test(segment) || utf8(segment) > MAX_ID_BYTES) {
      throw new ApiError('INVALID_ARGUMENT', `${what}: ${JSON.stringify(segment)} is not a valid document or collection id (non-empty, at most 1,500 bytes, not "." or "..", not __.*__)`)
    }
  }
  const even = segments.length % 2 === 0
  if (kind === 'document' && (segments.length === 0 || !even)) throw new ApiError('INVALID_ARGUMENT', `${what}: ${text as string} is not a document name (a document path has an even number of segments)`)
  if (kind === 'parent' && !even) throw new ApiError('INVALID_ARGUMENT', `${what}: ${text as string} is not a database root or a document`)
  if (kind === 'collection' && even) throw new ApiError('INVALID_ARGUMENT', `${what}: ${text as string} is not a collection`)
  return { database: match[1] as string, root: `${match[1] as string}/documents`, segments }
}

/** `a.b`, `` `a.b`.c `` as segments. */
function fieldPath(path: unknown, what: string): string[] {
  if (typeof path !== 'string' || path === '') throw new ApiError('INVALID_ARGUMENT', `${what}: a field path is a non-empty string`)
  const out: string[] = []
  let i = 0
  while (i < path.length) {
    let segment = ''
    if (path[i] === '`') {
      i++
      while (i < path.length && path[i] !== '`') {
        if (path[i] === '\\') i++
        segment += path[i] ?? ''
        i++
      }
      if (path[i] !== '`') throw new ApiError('INVALID_ARGUMENT', `${what}: unterminated backtick in field path ${JSON.stringify(path)}`)
      i++
    } else {
      while (i < path.length && path[i] !== '.') segment += path[i++]
      if (!/^[A-Za-z_][A-Za-z_0-9]*$/.test(segment)) throw new ApiError('INVALID_ARGUMENT', `${what}: invalid field path ${JSON.stringify(path)} (quote segments other than [A-Za-z_][A-Za-z_0-9]* with backticks)`)
    }
    out.push(segment)
    if (i < path.length) {
      if (path[i] !== '.') throw new ApiError('INVALID_ARGUMENT', `${what}: invalid field path ${JSON.stringify(path)}`)
      i++
      if (i === path.length) throw new ApiError('INVALID_ARGUMENT', `${what}: invalid field path ${JSON.stringify(path)}`)
    }
  }
  return out
}

function getField(fields: Fields, path: readonly string[]): Value | undefined {
  let current: Fields | undefined = fields
  for (let i = 0; i < path.length; i++) {
    const value: Value | undefined = current?.[path[i] as string]
    if (value === undefined) return undefined
    if (i === path.length - 1) return value
    current = 'mapValue' in value ? (value.mapValue.fields ?? {}) : undefined
  }
  return undefined
}

function setField(fields: Record<string, Value>, path: readonly string[], value: Value | undefined): void {
  const [head, ...rest] = path as [string, ...string[]]
  if (rest.length === 0) {
    if (value === undefined) delete fields[head]
    else fields[head] = value
    return
  }
  const current = fields[head]
  const inner: Record<string, Value> = current !== undefined && 'mapValue' in current ? { ...(current.mapValue.fields ?? {}) } : {}
  if (value === undefined && (current === undefined || !('mapValue' in current))) return
  setField(inner, rest, value)
  fields[head] = { mapValue: { fields: inner } }
}

/** A document's value of a field path; `__name__` is its name as a reference. */
function valueAt(name: string, fields: Fields, path: readonly string[]): Value | undefined {
  if (path.length === 1 && path[0] === '__name__') return { referenceValue: name }
  return getField(fields, path)
}

function project(fields: Fields, paths: ReadonlyArray<readonly string[]> | undefined): Fields {
  if (paths === undefined) return fields
  const out: Record<string, Value> = {}
  for (const path of paths) {
    const value = getField(fields, path)
    if (value !== undefined) setField(out, path, value)
  }
  return out
}

// ---------------------------------------------------------------------------------------------------------------
// Queries (query.proto `StructuredQuery`).

const FIELD_OPS = ['OPERATOR_UNSPECIFIED', 'LESS_THAN', 'LESS_THAN_OR_EQUAL', 'GREATER_THAN', 'GREATER_THAN_OR_EQUAL', 'EQUAL', 'NOT_EQUAL', 'ARRAY_CONTAINS', 'IN', 'ARRAY_CONTAINS_ANY', 'NOT_IN'] as const
const UNARY_OPS = ['OPERATOR_UNSPECIFIED', '', 'IS_NAN', 'IS_NULL', 'IS_NOT_NAN', 'IS_NOT_NULL'] as const
const COMPOSITE_OPS = ['OPERATOR_UNSPECIFIED', 'AND', 'OR'] as const
const DIRECTIONS = ['DIRECTION_UNSPECIFIED', 'ASCENDING', 'DESCENDING'] as const
const INEQUALITY = new Set(['LESS_THAN', 'LESS_THAN_OR_EQUAL', 'GREATER_THAN', 'GREATER_THAN_OR_EQUAL', 'NOT_EQUAL', 'NOT_IN'])

/** An enum as sent: its name, or its number (`$alt=json;enum-encoding=int`). */
function enumName<T extends readonly string[]>(names: T, value: unknown, what: string): T[number] {
  const name = typeof value === 'number' ? names[value] : typeof value === 'string' ? value : undefined
  if (name === undefined || name === '' || !names.includes(name) || name.endsWith('UNSPECIFIED')) throw new ApiError('INVALID_ARGUMENT', `${what}: ${JSON.stringify(value)} is not one of ${names.filter((n) => n !== '' && !n.endsWith('UNSPECIFIED')).join(', ')}`)
  return name as T[number]
}

type Filter = (name: string, fields: Fields) => boolean

interface RawFilter {
  readonly fieldFilter?: { readonly field?: { readonly fieldPath?: string }; readonly op?: unknown; readonly value?: Value }
  readonly unaryFilter?: { readonly field?: { readonly fieldPath?: string }; readonly op?: unknown }
  readonly compositeFilter?: { readonly op?: unknown; readonly filters?: readonly RawFilter[] }
}

function compileFilter(raw: RawFilter, inequalities: Set<string>): Filter {
  if (raw.compositeFilter !== undefined) {
    const op = enumName(COMPOSITE_OPS, raw.compositeFilter.op, 'compositeFilter.op')
    const filters = (raw.compositeFilter.filters ?? []).map((filter) => compileFilter(filter, inequalities))
    if (filters.length === 0) throw new ApiError('INVALID_ARGUMENT', 'compositeFilter.filters must not be empty')
    return op === 'AND' ? (n, f) => filters.every((filter) => filter(n, f)) : (n, f) => filters.some((filter) => filter(n, f))
  }
  if (raw.unaryFilter !== undefined) {
    const op = enumName(UNARY_OPS, raw.unaryFilter.op, 'unaryFilter.op')
    const path = fieldPath(raw.unaryFilter.field?.fieldPath, 'unaryFilter.field')
    if (op === 'IS_NOT_NAN' || op === 'IS_NOT_NULL') inequalities.add(raw.unaryFilter.field?.fieldPath as string)
    return (name, fields) => {
      const value = valueAt(name, fields, path)
      if (value === undefined) return false
      const isNan = 'doubleValue' in value && Number.isNaN(numberOf(value))
      if (op === 'IS_NAN') return isNan
      if (op === 'IS_NULL') return 'nullValue' in value
      if (op === 'IS_NOT_NAN') return !isNan
      return !('nullValue' in value)
    }
  }
  if (raw.fieldFilter !== undefined) {
    const op = enumName(FIELD_OPS, raw.fieldFilter.op, 'fieldFilter.op')
    const path = fieldPath(raw.fieldFilter.field?.fieldPath, 'fieldFilter.field')
    const operand = normalise(raw.fieldFilter.value as Value, 'fieldFilter.value')
    if (INEQUALITY.has(op)) inequalities.add(raw.fieldFilter.field?.fieldPath as string)
    const list = (): Value[] => {
      if (!('arrayValue' in operand)) throw new ApiError('INVALID_ARGUMENT', `fieldFilter: ${op} takes an array value`)
      return [...(operand.arrayValue.values ?? [])]
    }
    const members = op === 'IN' || op === 'NOT_IN' || op === 'ARRAY_CONTAINS_ANY' ? list() : []
    return (name, fields) => {
      const value = valueAt(name, fields, path)
      if (value === undefined) return false
      switch (op) {
        case 'EQUAL':
          return equalValues(value, operand)
        case 'NOT_EQUAL':
          return !('nullValue' in value) && !equalValues(value, operand)
        case 'LESS_THAN':
        case 'LESS_THAN_OR_EQUAL':
        case 'GREATER_THAN':
        case 'GREATER_THAN_OR_EQUAL': {
          // Range filters match values of the operand's type only.
          if (typeOrder(value) !== typeOrder(operand) || typeOrder(value) === 2) return false
          const order = compareValues(value, operand)
          return op === 'LESS_THAN' ? order < 0 : op === 'LESS_THAN_OR_EQUAL' ? order <= 0 : op === 'GREATER_THAN' ? order > 0 : order >= 0
        }
        case 'ARRAY_CONTAINS':
          return 'arrayValue' in value && (value.arrayValue.values ?? []).some((item) => equalValues(item, operand))
        case 'ARRAY_CONTAINS_ANY':
          return 'arrayValue' in value && (value.arrayValue.values ?? []).some((item) => members.some((member) => equalValues(item, member)))
        case 'IN':
          return members.some((member) => equalValues(value, member))
        case 'NOT_IN':
          return !('nullValue' in value) && !members.some((member) => equalValues(value, member))
      }
      return false
    }
  }
  throw new ApiError('INVALID_ARGUMENT', 'a filter must set fieldFilter, unaryFilter or compositeFilter')
}

interface RawQuery {
  readonly select?: { readonly fields?: ReadonlyArray<{ readonly fieldPath?: string }> }
  readonly from?: ReadonlyArray<{ readonly collectionId?: string; readonly allDescendants?: boolean }>
  readonly where?: RawFilter
  readonly orderBy?: ReadonlyArray<{ readonly field?: { readonly fieldPath?: string }; readonly direction?: unknown }>
  readonly startAt?: { readonly values?: readonly Value[]; readonly before?: boolean }
  readonly endAt?: { readonly values?: readonly Value[]; readonly before?: boolean }
  readonly offset?: number
  readonly limit?: number | { readonly value?: number }
  readonly findNearest?: unknown
}

interface QueryResult {
  readonly name: string
  readonly stored: Stored
}

function runStructuredQuery(db: Database, parent: Name, query: RawQuery): { results: QueryResult[]; select: string[][] | undefined } {
  if (query.findNearest !== undefined) throw new ApiError('UNIMPLEMENTED', 'findNearest (vector search) is not served by the local Firestore')
  const from = query.from ?? []
  if (from.length !== 1 || typeof from[0]?.collectionId !== 'string') throw new ApiError('INVALID_ARGUMENT', 'structuredQuery.from must name exactly one collection')
  const collection = from[0].collectionId
  const descendants = from[0].allDescendants === true
  const base = parent.segments.length === 0 ? parent.root : `${parent.root}/${parent.segments.join('/')}`
  const inequalities = new Set<string>()
  const filter = query.where === undefined ? () => true : compileFilter(query.where, inequalities)
  const orders: Array<{ path: string[]; raw: string; descending: boolean }> = (query.orderBy ?? []).map((order, index) => ({
    path: fieldPath(order.field?.fieldPath, `orderBy[${index}].field`),
    raw: order.field?.fieldPath as string,
    descending: (order.direction === undefined ? 'ASCENDING' : enumName(DIRECTIONS, order.direction, `orderBy[${index}].direction`)) === 'DESCENDING',
  }))
  // Firestore orders by the inequality fields first (when not ordered explicitly), then by name.
  const ordered = new Set(orders.map((order) => order.raw))
  const lastDirection = orders.at(-1)?.descending ?? false
  for (const raw of [...inequalities].sort(compareStrings)) {
    if (!ordered.has(raw) && raw !== '__name__') orders.push({ path: fieldPath(raw, 'filter'), raw, descending: lastDirection })
  }
  if (!orders.some((order) => order.raw === '__name__')) orders.push({ path: ['__name__'], raw: '__name__', descending: lastDirection })

  let results: QueryResult[] = []
  for (const [name, stored] of db.docs) {
    if (!name.startsWith(`${base}/`)) continue
    const segments = name.slice(base.length + 1).split('/')
    if (segments.at(-2) !== collection || (!descendants && segments.length !== 2)) continue
    if (!filter(name, stored.fields)) continue
    // A document without an ordered field is not in the results.
    if (orders.some((order) => valueAt(name, stored.fields, order.path) === undefined)) continue
    results.push({ name, stored })
  }
  const key = (result: QueryResult): Value[] => orders.map((order) => valueAt(result.name, result.stored.fields, order.path) as Value)
  const compareKeys = (a: readonly Value[], b: readonly Value[]): number => {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const order = compareValues(a[i] as Value, b[i] as Value) * ((orders[i] as { descending: boolean }).descending ? -1 : 1)
      if (order !== 0) return order
    }
    return 0
  }
  results.sort((a, b) => compareKeys(key(a), key(b)))
  const cursorValues = (cursor: { values?: readonly Value[] }, what: string): Value[] => {
    const values = (cursor.values ?? []).map((value, index) => normalise(value, `${what}.values[${index}]`))
    if (values.length > orders.length) throw new ApiError('INVALID_ARGUMENT', `${what}: more cursor values than orderBy fields`)
    return values
  }
  if (query.startAt !== undefined) {
    const values = cursorValues(query.startAt, 'startAt')
    const before = query.startAt.before === true
    results = results.filter((result) => {
      const order = compareKeys(key(result).slice(0, values.length), values)
      return before ? order >= 0 : order > 0
    })
  }
  if (query.endAt !== undefined) {
    const values = cursorValues(query.endAt, 'endAt')
    const before = query.endAt.before === true
    results = results.filter((result) => {
      const order = compareKeys(key(result).slice(0, values.length), values)
      return before ? order < 0 : order <= 0
    })
  }
  const offset = Number(query.offset ?? 0)
  if (!Number.isInteger(offset) || offset < 0) throw new ApiError('INVALID_ARGUMENT', 'offset must be a non-negative integer')
  results = results.slice(offset)
  const limit = query.limit === undefined ? undefined : Number(typeof query.limit === 'object' ? query.limit.value : query.limit)
  if (limit !== undefined) {
    if (!Number.isInteger(limit) || limit < 0) throw new ApiError('INVALID_ARGUMENT', 'limit must be a non-negative integer')
    results = results.slice(0, limit)
  }
  const select = query.select?.fields === undefined ? undefined : query.select.fields.filter((field) => field.fieldPath !== '__name__').map((field, index) => fieldPath(field.fieldPath, `select.fields[${index}]`))
  return { results, select }
}

// ---------------------------------------------------------------------------------------------------------------
// Writes (write.proto).

interface RawWrite {
  readonly update?: { readonly name?: string; readonly fields?: Fields }
  readonly delete?: string
  readonly transform?: { readonly document?: string; readonly fieldTransforms?: readonly RawTransform[] }
  readonly updateMask?: { readonly fieldPaths?: readonly string[] }
  readonly updateTransforms?: readonly RawTransform[]
  readonly currentDocument?: { readonly exists?: boolean; readonly updateTime?: string }
}

interface RawTransform {
  readonly fieldPath?: string
  readonly setToServerValue?: unknown
  readonly increment?: Value
  readonly maximum?: Value
  readonly minimum?: Value
  readonly appendMissingElements?: { readonly values?: readonly Value[] }
  readonly removeAllFromArray?: { readonly values?: readonly Value[] }
}

function applyTransform(current: Value | undefined, transform: RawTransform, now: bigint, where: string): Value {
  if (transform.setToServerValue !== undefined) {
    if (enumName(['SERVER_VALUE_UNSPECIFIED', 'REQUEST_TIME'] as const, transform.setToServerValue, `${where}.setToServerValue`) === 'REQUEST_TIME') return { timestampValue: formatTime(now) }
  }
  const numeric = (operand: Value | undefined, combine: (a: number | bigint, b: number | bigint) => number | bigint): Value => {
    const by = normalise(operand as Value, where)
    if (!('integerValue' in by) && !('doubleValue' in by)) throw new ApiError('INVALID_ARGUMENT', `${where}: a numeric transform takes a number`)
    const base = current !== undefined && ('integerValue' in current || 'doubleValue' in current) ? current : undefined
    if (base === undefined) return by
    if ('integerValue' in base && 'integerValue' in by) {
      const result = combine(BigInt(base.integerValue), BigInt(by.integerValue)) as bigint
      const clamped = result > 9223372036854775807n ? 9223372036854775807n : result < -9223372036854775808n ? -9223372036854775808n : result
      return { integerValue: clamped.toString() }
    }
    return { doubleValue: combine(numberOf(base), numberOf(by)) as number }
  }
  if (transform.increment !== undefined) return numeric(transform.increment, (a, b) => (typeof a === 'bigint' ? a + (b as bigint) : a + (b as number)))
  if (transform.maximum !== undefined) return numeric(transform.maximum, (a, b) => (a >= b ? a : b))
  if (transform.minimum !== undefined) return numeric(transform.minimum, (a, b) => (a <= b ? a : b))
  const items = current !== undefined && 'arrayValue' in current ? [...(current.arrayValue.values ?? [])] : []
  if (transform.appendMissingElements !== undefined) {
    for (const item of (transform.appendMissingElements.values ?? []).map((value) => normalise(value, where))) if (!items.some((existing) => equalValues(existing, item))) items.push(item)
    return { arrayValue: { values: items } }
  }
  if (transform.removeAllFromArray !== undefined) {
    const remove = (transform.removeAllFromArray.values ?? []).map((value) => normalise(value, where))
    return { arrayValue: { values: items.filter((item) => !remove.some((value) => equalValues(item, value))) } }
  }
  throw new ApiError('INVALID_ARGUMENT', `${where}: a field transform must set one transform`)
}

// ---------------------------------------------------------------------------------------------------------------
// The server.

function documentOf(name: string, stored: Stored, mask?: ReadonlyArray<readonly string[]>): Document {
  return { name, fields: project(stored.fields, mask), createTime: formatTime(stored.createTime), updateTime: formatTime(stored.updateTime) }
}

function maskOf(params: URLSearchParams, name: string): string[][] | undefined {
  const paths = params.getAll(`${name}.fieldPaths`)
  return paths.length === 0 && !params.has(`${name}.fieldPaths`) ? undefined : paths.map((path, index) => fieldPath(path, `${name}.fieldPaths[${index}]`))
}

function bool(value: string | null, what: string): boolean | undefined {
  if (value === null) return undefined
  if (value === 'true' || value === 'false') return value === 'true'
  throw new ApiError('INVALID_ARGUMENT', `${what}: ${JSON.stringify(value)} is not a boolean`)
}

export async function startLocalFirestore(options: LocalFirestoreOptions = {}): Promise<LocalFirestore> {
  const host = options.host ?? '127.0.0.1'
  if (!LOOPBACK.has(host)) throw new Error(`the local Firestore listens on the loopback interface only, not ${host}`)
  const log = options.log ?? (() => {})
  const databases = new Map<string, Database>()
  const transactions = new Map<string, Transaction>()
  let clock = 0n

  /** A commit time: microseconds, unique and increasing. */
  const tick = (): bigint => {
    const now = BigInt(Date.now()) * 1000n
    clock = now > clock ? now : clock + 1n
    return clock
  }

  const file = options.stateDir === undefined ? undefined : join(options.stateDir, 'firestore.json')
  if (file !== undefined) {
    mkdirSync(options.stateDir as string, { recursive: true })
    let saved: { clock?: string; databases?: Record<string, Array<[string, { fields: Fields; createTime: string; updateTime: string }]>> } = {}
    try {
      saved = JSON.parse(readFileSync(file, 'utf8')) as typeof saved
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`the local Firestore could not read ${file}: ${(error as Error).message}`, { cause: error })
    }
    clock = BigInt(saved.clock ?? '0')
    for (const [id, docs] of Object.entries(saved.databases ?? {})) {
      databases.set(id, { docs: new Map(docs.map(([name, doc]) => [name, { fields: doc.fields, createTime: BigInt(doc.createTime), updateTime: BigInt(doc.updateTime) }])) })
    }
  }
  let dirty = false
  let saving: NodeJS.Immediate | undefined
  const save = (): void => {
    saving = undefined
    if (file === undefined || !dirty) return
    dirty = false
    const out: Record<string, Array<[string, { fields: Fields; createTime: string; updateTime: string }]>> = {}
    for (const [id, db] of databases) out[id] = [...db.docs].map(([name, doc]) => [name, { fields: doc.fields, createTime: String(doc.createTime), updateTime: String(doc.updateTime) }])
    writeFileSync(`${file}.tmp`, JSON.stringify({ clock: String(clock), databases: out }))
    renameSync(`${file}.tmp`, file)
  }
  const changed = (): void => {
    dirty = true
    if (file !== undefined) saving ??= setImmediate(save)
  }

  const databaseOf = (id: string): Database => {
    let db = databases.get(id)
    if (db === undefined) databases.set(id, (db = { docs: new Map() }))
    return db
  }

  const transactionOf = (token: unknown): [string, Transaction] => {
    const id = typeof token === 'string' ? token : ''
    const transaction = transactions.get(id)
    if (transaction === undefined) throw new ApiError('INVALID_ARGUMENT', 'The referenced transaction has expired or is no longer valid.')
    return [id, transaction]
  }

  const begin = (options: { readOnly?: unknown; readWrite?: unknown } | undefined): string => {
    if (options !== undefined && (options as { readOnly?: { readTime?: unknown } }).readOnly !== undefined && (options as { readOnly: { readTime?: unknown } }).readOnly.readTime !== undefined) {
      throw new ApiError('UNIMPLEMENTED', 'reads at a past readTime are not served by the local Firestore')
    }
    const id = randomBytes(16).toString('base64')
    transactions.set(id, { reads: new Map(), readOnly: options?.readOnly !== undefined })
    return id
  }

  /** The transaction of a read (`transaction` or `newTransaction`), recording what it read. */
  const readScope = (body: { transaction?: unknown; newTransaction?: { readOnly?: unknown; readWrite?: unknown }; readTime?: unknown }): { id: string | undefined; started: boolean; record: (name: string, stored: Stored | undefined) => void } => {
    if (body.readTime !== undefined) throw new ApiError('UNIMPLEMENTED', 'reads at a past readTime are not served by the local Firestore')
    let id: string | undefined
    let started = false
    if (body.transaction !== undefined) id = transactionOf(body.transaction)[0]
    else if (body.newTransaction !== undefined) {
      id = begin(body.newTransaction)
      started = true
    }
    const transaction = id === undefined ? undefined : transactions.get(id)
    return { id, started, record: (name, stored) => transaction?.reads.set(name, stored?.updateTime) }
  }

  const commit = (database: string, writes: readonly RawWrite[], token: unknown): { writeResults: Array<Record<string, unknown>>; commitTime: string } => {
    if (!Array.isArray(writes)) throw new ApiError('INVALID_ARGUMENT', 'writes must be an array')
    if (writes.length > MAX_WRITES) throw new ApiError('INVALID_ARGUMENT', `maximum ${MAX_WRITES} writes allowed per request`)
    const db = databaseOf(database)
    // A transaction ends with its commit; a failed one stays open for the client's rollback.
    let ended: string | undefined
    if (token !== undefined) {
      const [id, transaction] = transactionOf(token)
      if (transaction.readOnly && writes.length > 0) throw new ApiError('INVALID_ARGUMENT', 'Cannot modify entities in a read-only transaction.')
      for (const [name, time] of transaction.reads) {
        if (db.docs.get(name)?.updateTime !== time) throw new ApiError('ABORTED', 'Transaction lock timeout: a document read by the transaction has changed since; retry the transaction.')
      }
      ended = id
    }
    const now = tick()
    const seen = new Set<string>()
    // Compute every write against the state as it is (and as earlier writes of the commit leave it), then apply.
    const staged = new Map<string, Stored | undefined>()
    const current = (name: string): Stored | undefined => (staged.has(name) ? staged.get(name) : db.docs.get(name))
    const results: Array<Record<string, unknown>> = []
    writes.forEach((write, index) => {
      const target = write.update?.name ?? write.delete ?? write.transform?.document
      const name = parseName(target, 'document', `writes[${index}]`)
      const full = `${name.root}/${name.segments.join('/')}`
      if (name.database !== database) throw new ApiError('INVALID_ARGUMENT', `writes[${index}]: the document is not in ${database}`)
      if (seen.has(full)) throw new ApiError('INVALID_ARGUMENT', `writes[${index}]: a commit cannot write to ${full} twice`)
      seen.add(full)
      const existing = current(full)
      const precondition = write.currentDocument
      if (precondition?.exists !== undefined) {
        if (precondition.exists && existing === undefined) throw new ApiError('NOT_FOUND', `No document to update: ${full}`)
        if (!precondition.exists && existing !== undefined) throw new ApiError('ALREADY_EXISTS', `Document already exists: ${full}`)
      }
      if (precondition?.updateTime !== undefined) {
        const wanted = parseTime(precondition.updateTime, `writes[${index}].currentDocument.updateTime`)
        if (existing?.updateTime !== wanted) {
          throw new ApiError('FAILED_PRECONDITION', `the stored version (${existing === undefined ? 0 : formatTime(existing.updateTime)}) does not match the required base version (${formatTime(wanted)})`)
        }
      }
      if (write.delete !== undefined) {
        staged.set(full, undefined)
        results.push({})
        return
      }
      let fields: Record<string, Value>
      if (write.update !== undefined) {
        const given = normaliseFields(write.update.fields ?? {}, 'document')
        if (write.updateMask === undefined) fields = { ...given }
        else {
          fields = { ...(existing?.fields ?? {}) }
          for (const raw of write.updateMask.fieldPaths ?? []) setField(fields, fieldPath(raw, `writes[${index}].updateMask`), getField(given, fieldPath(raw, 'updateMask')))
        }
      } else {
        if (existing === undefined && write.transform === undefined) throw new ApiError('INVALID_ARGUMENT', `writes[${index}]: no operation`)
        fields = { ...(existing?.fields ?? {}) }
      }
      const transforms: readonly RawTransform[] = write.updateTransforms ?? write.transform?.fieldTransforms ?? []
      const transformResults = transforms.map((transform, t) => {
        const path = fieldPath(transform.fieldPath, `writes[${index}].updateTransforms[${t}].fieldPath`)
        const value = applyTransform(getField(fields, path), transform, now, `writes[${index}].updateTransforms[${t}]`)
        setField(fields, path, value)
        return value
      })
      const size = nameSize(full) + fieldsSize(fields) + 32
      if (size > MAX_DOCUMENT_BYTES) throw new ApiError('INVALID_ARGUMENT', `Document '${full}' cannot be written because its size (${size.toLocaleString('en-US')} bytes) exceeds the maximum allowed size of 1,048,576 bytes.`)
      // A write that changes nothing keeps the document's update time.
      const unchanged = existing !== undefined && equalFields(existing.fields, fields)
      const stored: Stored = { fields, createTime: existing?.createTime ?? now, updateTime: unchanged ? existing.updateTime : now }
      staged.set(full, stored)
      results.push({ updateTime: formatTime(stored.updateTime), ...(transformResults.length === 0 ? {} : { transformResults }) })
    })
    for (const [name, stored] of staged) {
      if (stored === undefined) db.docs.delete(name)
      else db.docs.set(name, stored)
    }
    if (ended !== undefined) transactions.delete(ended)
    if (staged.size > 0) changed()
    return { writeResults: results, commitTime: formatTime(now) }
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const params = url.searchParams
    const method = req.method ?? 'GET'
    if (options.tokens !== undefined) {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
      if (token === undefined || !options.tokens.includes(token)) throw new ApiError('UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.')
    }
    const text = (await buffer(req)).toString('utf8')
    let body: Record<string, unknown> = {}
    if (text.trim() !== '') {
      try {
        body = JSON.parse(text) as Record<string, unknown>
      } catch {
        throw new ApiError('INVALID_ARGUMENT', 'Invalid JSON payload received.')
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ApiError('INVALID_ARGUMENT', 'Invalid JSON payload received: the body must be an object.')
    }
    const path = decodeURIComponent(url.pathname)
    const match = /^\/v1\/(projects\/[^/]+\/databases\/[^/]+\/documents(?:\/.*?)?)(?::(\w+))?$/.exec(path)
    if (match === null) throw new ApiError('NOT_FOUND', `No such method: ${method} ${url.pathname}`)
    const resource = match[1] as string
    const action = match[2]
    const answer = (status: number, value: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' }).end(JSON.stringify(value))
    }

    if (action !== undefined) {
      if (method !== 'POST') throw new ApiError('NOT_FOUND', `No such method: ${method} ${url.pathname}`)
      const name = parseName(resource, 'parent', 'parent')
      const atRoot = name.segments.length === 0
      const db = databaseOf(name.database)
      switch (action) {
        case 'commit':
          if (!atRoot) break
          return answer(200, commit(name.database, (body.writes ?? []) as RawWrite[], body.transaction))
        case 'batchGet': {
          if (!atRoot) break
          const scope = readScope(body as Parameters<typeof readScope>[0])
          const mask = (body.mask as { fieldPaths?: string[] } | undefined)?.fieldPaths?.map((p, i) => fieldPath(p, `mask.fieldPaths[${i}]`))
          const readTime = formatTime(tick())
          const out: Array<Record<string, unknown>> = ((body.documents ?? []) as unknown[]).map((raw, index) => {
            const doc = parseName(raw, 'document', `documents[${index}]`)
            const full = `${doc.root}/${doc.segments.join('/')}`
            const stored = db.docs.get(full)
            scope.record(full, stored)
            return stored === undefined ? { missing: full, readTime } : { found: documentOf(full, stored, mask), readTime }
          })
          if (scope.started) out.unshift({ transaction: scope.id })
          return answer(200, out)
        }
        case 'runQuery':
        case 'runAggregationQuery': {
          const scope = readScope(body as Parameters<typeof readScope>[0])
          const readTime = formatTime(tick())
          if (action === 'runAggregationQuery') {
            const aggregation = body.structuredAggregationQuery as { structuredQuery?: RawQuery; aggregations?: Array<{ alias?: string; count?: { upTo?: unknown }; sum?: { field?: { fieldPath?: string } }; avg?: { field?: { fieldPath?: string } } }> } | undefined
            if (aggregation?.structuredQuery === undefined) throw new ApiError('INVALID_ARGUMENT', 'structuredAggregationQuery.structuredQuery is required')
            const { results } = runStructuredQuery(db, name, aggregation.structuredQuery)
            for (const result of results) scope.record(result.name, result.stored)
            const aggregateFields: Record<string, Value> = {}
            for (const [index, item] of (aggregation.aggregations ?? []).entries()) {
              const alias = item.alias ?? `field_${index + 1}`
              if (item.count !== undefined) {
                const upTo = item.count.upTo === undefined ? Infinity : Number(typeof item.count.upTo === 'object' ? (item.count.upTo as { value?: unknown }).value : item.count.upTo)
                aggregateFields[alias] = { integerValue: String(Math.min(results.length, upTo)) }
                continue
              }
              const spec = item.sum ?? item.avg
              if (spec === undefined) throw new ApiError('INVALID_ARGUMENT', `aggregations[${index}]: count, sum or avg`)
              const path = fieldPath(spec.field?.fieldPath, `aggregations[${index}].field`)
              const numbers = results.map((result) => getField(result.stored.fields, path)).filter((value): value is Value => value !== undefined && ('integerValue' in value || 'doubleValue' in value))
              const allIntegers = numbers.every((value) => 'integerValue' in value)
              if (item.sum !== undefined) aggregateFields[alias] = allIntegers ? { integerValue: numbers.reduce((sum, value) => sum + BigInt((value as { integerValue: string }).integerValue), 0n).toString() } : { doubleValue: numbers.reduce((sum, value) => sum + numberOf(value), 0) }
              else aggregateFields[alias] = numbers.length === 0 ? { nullValue: null } : { doubleValue: numbers.reduce((sum, value) => sum + numberOf(value), 0) / numbers.length }
            }
            return answer(200, [{ result: { aggregateFields }, readTime, ...(scope.started ? { transaction: scope.id } : {}) }])
          }
          if (body.structuredQuery === undefined) throw new ApiError('INVALID_ARGUMENT', 'structuredQuery is required')
          const { results, select } = runStructuredQuery(db, name, body.structuredQuery as RawQuery)
          const out: Array<Record<string, unknown>> = results.map((result) => {
            scope.record(result.name, result.stored)
            return { document: documentOf(result.name, result.stored, select), readTime }
          })
          if (out.length === 0) out.push({ readTime })
          if (scope.started) (out[0] as Record<string, unknown>).transaction = scope.id
          return answer(200, out)
        }
        case 'beginTransaction':
          if (!atRoot) break
          return answer(200, { transaction: begin(body.options as Parameters<typeof begin>[0]) })
        case 'rollback':
          if (!atRoot) break
          transactionOf(body.transaction)
          transactions.delete(body.transaction as string)
          return answer(200, {})
        case 'listCollectionIds': {
          const prefix = name.segments.length === 0 ? `${name.root}/` : `${name.root}/${name.segments.join('/')}/`
          const ids = new Set<string>()
          for (const doc of db.docs.keys()) if (doc.startsWith(prefix)) ids.add(doc.slice(prefix.length).split('/')[0] as string)
          return answer(200, { collectionIds: [...ids].sort(compareStrings) })
        }
        default:
          throw new ApiError('UNIMPLEMENTED', `${action} is not served by the local Firestore (served: commit, batchGet, runQuery, runAggregationQuery, beginTransaction, rollback, listCollectionIds)`)
      }
      throw new ApiError('NOT_FOUND', `No such method: ${method} ${url.pathname}`)
    }

    const segments = resource.split('/').length - 5
    const isDocument = segments > 0 && segments % 2 === 0
    if (isDocument) {
      const name = parseName(resource, 'document', 'name')
      const full = `${name.root}/${name.segments.join('/')}`
      const db = databaseOf(name.database)
      if (method === 'GET') {
        if (params.has('readTime')) throw new ApiError('UNIMPLEMENTED', 'reads at a past readTime are not served by the local Firestore')
        const transaction = params.get('transaction')
        const stored = db.docs.get(full)
        if (transaction !== null) transactionOf(transaction)[1].reads.set(full, stored?.updateTime)
        if (stored === undefined) throw new ApiError('NOT_FOUND', `Document "${full}" not found.`)
        return answer(200, documentOf(full, stored, maskOf(params, 'mask')))
      }
      const precondition: { exists?: boolean; updateTime?: string } = {}
      const exists = bool(params.get('currentDocument.exists'), 'currentDocument.exists')
      if (exists !== undefined) precondition.exists = exists
      const updateTime = params.get('currentDocument.updateTime')
      if (updateTime !== null) precondition.updateTime = updateTime
      const current = Object.keys(precondition).length === 0 ? undefined : precondition
      if (method === 'PATCH') {
        const given = body as { name?: string; fields?: Fields }
        if (given.name !== undefined && given.name !== full) throw new ApiError('INVALID_ARGUMENT', `document.name ${given.name} is not the name in the URL, ${full}`)
        const mask = params.has('updateMask.fieldPaths') ? { fieldPaths: params.getAll('updateMask.fieldPaths') } : undefined
        commit(name.database, [{ update: { name: full, fields: given.fields ?? {} }, ...(mask === undefined ? {} : { updateMask: mask }), ...(current === undefined ? {} : { currentDocument: current }) }], undefined)
        return answer(200, documentOf(full, db.docs.get(full) as Stored, maskOf(params, 'mask')))
      }
      if (method === 'DELETE') {
        commit(name.database, [{ delete: full, ...(current === undefined ? {} : { currentDocument: current }) }], undefined)
        return answer(200, {})
      }
      throw new ApiError('NOT_FOUND', `No such method: ${method} ${url.pathname}`)
    }

    const collection = parseName(resource, 'collection', 'parent')
    const db = databaseOf(collection.database)
    const parentSegments = collection.segments.slice(0, -1)
    const parent: Name = { ...collection, segments: parentSegments }
    const collectionId = collection.segments.at(-1) as string
    if (method === 'POST') {
      const id = params.get('documentId') ?? randomBytes(15).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, 20).padEnd(20, 'x')
      const full = `${collection.root}/${[...collection.segments, id].join('/')}`
      parseName(full, 'document', 'documentId')
      commit(collection.database, [{ update: { name: full, fields: ((body as { fields?: Fields }).fields ?? {}) }, currentDocument: { exists: false } }], undefined)
      return answer(200, documentOf(full, db.docs.get(full) as Stored, maskOf(params, 'mask')))
    }
    if (method === 'GET') {
      const size = params.has('pageSize') ? Number(params.get('pageSize')) : DEFAULT_PAGE
      if (!Number.isInteger(size) || size < 0) throw new ApiError('INVALID_ARGUMENT', 'pageSize must be a non-negative integer')
      const offset = params.has('pageToken') ? Number(Buffer.from(params.get('pageToken') as string, 'base64url').toString('utf8')) : 0
      if (!Number.isInteger(offset) || offset < 0) throw new ApiError('INVALID_ARGUMENT', 'pageToken is not one this server gave')
      const orderBy = (params.get('orderBy') ?? '').split(',').map((part) => part.trim()).filter((part) => part !== '').map((part) => {
        const [field, direction] = part.split(/\s+/)
        return { field: { fieldPath: field as string }, direction: direction?.toLowerCase() === 'desc' ? 'DESCENDING' : 'ASCENDING' }
      })
      const showMissing = bool(params.get('showMissing'), 'showMissing') === true
      if (showMissing && orderBy.length > 0) throw new ApiError('INVALID_ARGUMENT', 'showMissing cannot be combined with orderBy')
      const { results } = runStructuredQuery(db, parent, { from: [{ collectionId }], orderBy })
      const mask = maskOf(params, 'mask')
      let documents: Array<Document | { name: string }> = results.map((result) => documentOf(result.name, result.stored, mask))
      if (showMissing) {
        // Documents that do not exist but have documents under them (in subcollections): listed by name only.
        const prefix = `${collection.root}/${collection.segments.join('/')}/`
        const missing = new Set<string>()
        for (const name of db.docs.keys()) {
          if (!name.startsWith(prefix)) continue
          const ancestor = `${prefix}${name.slice(prefix.length).split('/')[0] as string}`
          if (!db.docs.has(ancestor)) missing.add(ancestor)
        }
        documents = [...documents, ...[...missing].map((name) => ({ name }))].sort((a, b) => compareNames(a.name, b.name))
      }
      const page = documents.slice(offset, size === 0 ? undefined : offset + size)
      const next = size !== 0 && offset + size < documents.length ? Buffer.from(String(offset + size)).toString('base64url') : undefined
      return answer(200, { documents: page, ...(next === undefined ? {} : { nextPageToken: next }) })
    }
    throw new ApiError('NOT_FOUND', `No such method: ${method} ${url.pathname}`)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const api = error instanceof ApiError ? error : new ApiError('INTERNAL', (error as Error).message)
      if (!(error instanceof ApiError)) log(`firestore: ${(error as Error).stack ?? String(error)}`)
      if (!res.headersSent) {
        const code = STATUS[api.status] ?? 500
        res.writeHead(code, { 'content-type': 'application/json; charset=UTF-8' }).end(JSON.stringify({ error: { code, message: api.message, status: api.status } }))
      }
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://${host === 'localhost' ? '127.0.0.1' : host}:${port}`,
    port,
    documents(project: string, database = '(default)') {
      const out = new Map<string, Document>()
      for (const [name, stored] of databases.get(`projects/${project}/databases/${database}`)?.docs ?? []) out.set(name, documentOf(name, stored))
      return out
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (saving !== undefined) clearImmediate(saving)
        save()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
