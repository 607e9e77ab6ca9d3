import {
  EventError,
  isRecord,
  oneEvent,
  readTime,
  quote,
  setOwn,
  type ChangeEvent,
  type EventSource,
  type JsonObject,
  type JsonValue,
  throwIfFailed,
} from '@polycloud/core/adapter'
import { cloudEventData, isCloudEventOfType, type GcpCloudEvent } from './cloud-event.js'
import { decodeDocumentEventData } from './firestore-protobuf.js'

export const FIRESTORE_EVENT_PREFIX = 'google.cloud.firestore.document.v1.'

/** A Firestore Value in proto3 JSON form: exactly one of these keys. */
export interface FirestoreValue {
  nullValue?: null | string | number
  booleanValue?: boolean
  /** int64: a decimal string in JSON. */
  integerValue?: string | number
  /** A number, or "NaN" / "Infinity" / "-Infinity" in JSON. */
  doubleValue?: number | string
  timestampValue?: string
  stringValue?: string
  /** Base64. */
  bytesValue?: string
  referenceValue?: string
  geoPointValue?: { latitude?: number; longitude?: number }
  arrayValue?: { values?: FirestoreValue[] }
  mapValue?: { fields?: Record<string, FirestoreValue> }
}

export interface FirestoreDocument {
  /** `projects/P/databases/D/documents/PATH`. */
  name?: string
  fields?: Record<string, FirestoreValue>
  createTime?: string
  updateTime?: string
}

/** The data of a Firestore document event: `value` is absent for deletes, `oldValue` for creates. */
export interface DocumentEventData {
  value?: FirestoreDocument
  oldValue?: FirestoreDocument
  updateMask?: { fieldPaths?: string[] }
}

const DIGITS = /^-?\d+$/

/** Firestore nests maps and arrays at most 20 levels deep. */
const MAX_DEPTH = 20

/**
 * A typed Firestore Value as plain JSON: integers as numbers (as decimal strings beyond 2^53, where a number would
 * lose digits), doubles as numbers (NaN and the infinities as the strings JSON uses for them), timestamps and
 * references as strings, bytes as base64, geo points as `{ latitude, longitude }`, arrays and maps as such.
 */
export function fromFirestoreValue(value: unknown, path: string, depth = 0): JsonValue {
  if (!isRecord(value)) throw new EventError(`gcp:firestore: field ${path} is not a Firestore Value`)
  if (depth > MAX_DEPTH) throw new EventError(`gcp:firestore: field ${path} nests deeper than ${MAX_DEPTH} levels, Firestore's limit`)
  if ('stringValue' in value) return checked(value.stringValue, 'string', path)
  if ('integerValue' in value) return integer(value.integerValue, path)
  if ('doubleValue' in value) {
    const double = value.doubleValue
    if (typeof double === 'number') return double
    if (double === 'NaN' || double === 'Infinity' || double === '-Infinity') return double
    if (typeof double === 'string' && double.trim() !== '' && Number.isFinite(Number(double))) return Number(double)
    throw new EventError(`gcp:firestore: field ${path}: doubleValue ${quote(double)} is not a number`)
  }
  if ('booleanValue' in value) return checked(value.booleanValue, 'boolean', path)
  if ('nullValue' in value) return null
  if ('timestampValue' in value) return checked(value.timestampValue, 'string', path)
  if ('referenceValue' in value) return checked(value.referenceValue, 'string', path)
  if ('bytesValue' in value) return checked(value.bytesValue, 'string', path)
  if ('mapValue' in value) {
    const map = value.mapValue
    if (!isRecord(map)) throw new EventError(`gcp:firestore: field ${path}: mapValue is not an object`)
    return fromFirestoreFields(map.fields, path, depth + 1)
  }
  if ('arrayValue' in value) {
    const array = value.arrayValue
    if (!isRecord(array)) throw new EventError(`gcp:firestore: field ${path}: arrayValue is not an object`)
    const values = array.values ?? []
    if (!Array.isArray(values)) throw new EventError(`gcp:firestore: field ${path}: arrayValue.values is not an array`)
    return values.map((item, index) => fromFirestoreValue(item, `${path}[${index}]`, depth + 1))
  }
  if ('geoPointValue' in value) {
    const point = value.geoPointValue
    if (!isRecord(point)) throw new EventError(`gcp:firestore: field ${path}: geoPointValue is not an object`)
    // proto3 JSON leaves out zero values.
    return {
      latitude: checked(point.latitude ?? 0, 'number', `${path}.latitude`),
      longitude: checked(point.longitude ?? 0, 'number', `${path}.longitude`),
    }
  }
  const keys = Object.keys(value)
  throw new EventError(
    `gcp:firestore: field ${path} has no known Value kind (${keys.length === 0 ? 'no keys' : `keys: ${keys.join(', ')}`})`,
  )
}

/** A document's or map's `fields` as a plain JSON object. */
export function fromFirestoreFields(fields: unknown, path = '', depth = 0): JsonObject {
  const out: JsonObject = {}
  if (fields === undefined || fields === null) return out
  if (!isRecord(fields)) throw new EventError(`gcp:firestore: ${path || 'document'} fields is not an object`)
  for (const key of Object.keys(fields)) setOwn(out, key, fromFirestoreValue(fields[key], path ? `${path}.${key}` : key, depth))
  return out
}

function checked<T extends 'string' | 'boolean' | 'number'>(
  value: unknown,
  type: T,
  path: string,
): T extends 'string' ? string : T extends 'boolean' ? boolean : number {
  if (typeof value !== type) throw new EventError(`gcp:firestore: field ${path} is not a ${type}`)
  return value as T extends 'string' ? string : T extends 'boolean' ? boolean : number
}

function integer(value: unknown, path: string): number | string {
  if (typeof value === 'number' && Number.isInteger(value)) return value
  if (typeof value === 'string' && DIGITS.test(value)) {
    const number = Number(value)
    return Number.isSafeInteger(number) ? number : value
  }
  throw new EventError(`gcp:firestore: field ${path}: integerValue ${quote(value)} is not an integer`)
}

/** A document as sent, or undefined for an absent or empty one (`{}` stands for "no document"). */
function documentOf(value: unknown, field: string, id: string): FirestoreDocument | undefined {
  if (value === undefined || value === null) return undefined
  if (!isRecord(value)) throw new EventError(`gcp:firestore: event ${id}: ${field} is not a Document`)
  for (const _key in value) return value as FirestoreDocument
  return undefined
}

/** The document's path below `documents/`: the `document` attribute, the subject, or a document's name. */
function documentPath(event: GcpCloudEvent, documents: Array<FirestoreDocument | undefined>): string | undefined {
  if (typeof event.document === 'string' && event.document !== '') return event.document
  const subject = event.subject
  if (typeof subject === 'string' && subject.startsWith('documents/')) return subject.slice('documents/'.length)
  for (const document of documents) {
    const name = document?.name
    const at = typeof name === 'string' ? name.indexOf('/documents/') : -1
    if (at !== -1) return (name as string).slice(at + '/documents/'.length)
  }
  return undefined
}

const TYPES: Readonly<Record<string, ChangeEvent['type'] | 'written'>> = {
  created: 'insert',
  updated: 'modify',
  deleted: 'remove',
  written: 'written',
}

function toChangeEvent(event: GcpCloudEvent): ChangeEvent {
  const raw = cloudEventData(event)
  const data = raw instanceof Uint8Array ? decodeDocumentEventData(raw) : raw
  if (!isRecord(data)) throw new EventError(`gcp:firestore: event ${event.id} has no DocumentEventData`)
  const action = event.type.slice(FIRESTORE_EVENT_PREFIX.length).split('.')[0] as string
  const kind = Object.hasOwn(TYPES, action) ? TYPES[action] : undefined
  if (kind === undefined) throw new EventError(`gcp:firestore: event ${event.id}: unknown event type ${event.type}`)
  const value = documentOf(data.value, 'value', event.id)
  const oldValue = documentOf(data.oldValue, 'oldValue', event.id)
  const path = documentPath(event, [value, oldValue])
  const slash = path === undefined ? -1 : path.lastIndexOf('/')
  if (path === undefined || slash <= 0 || slash === path.length - 1) {
    throw new EventError(
      `gcp:firestore: event ${event.id} names no document (the document attribute, a documents/ subject or a document name)`,
    )
  }
  return {
    kind: 'changes',
    id: event.id,
    time: readTime(event.time, 'time'),
    source: event.source,
    native: event,
    type: kind !== 'written' ? kind : value && oldValue ? 'modify' : value ? 'insert' : 'remove',
    table: path.slice(0, slash),
    keys: { id: path.slice(slash + 1) },
    newImage: value && fromFirestoreFields(value.fields),
    oldImage: oldValue && fromFirestoreFields(oldValue.fields),
  }
}

/**
 * A Firestore document change (`google.cloud.firestore.document.v1.created|updated|deleted|written`, also the
 * `.withAuthContext` variants). The data is DocumentEventData as JSON, or as protobuf (a Buffer in binary mode,
 * `data_base64` in structured mode). `table` is the collection path, `keys.id` the document id, the images the
 * documents' fields as plain JSON. `written` is an insert, modify or remove by which documents are present.
 */
export const gcpFirestore: EventSource<GcpCloudEvent, ChangeEvent, void> = {
  name: 'gcp:firestore',
  kind: 'changes',
  canHandle: (input): input is GcpCloudEvent => isCloudEventOfType(input, FIRESTORE_EVENT_PREFIX),
  getEvents: (event) => oneEvent('gcp:firestore', event, toChangeEvent),
  getResult: (_event, failed) => throwIfFailed('gcp:firestore', failed),
}
