/**
 * Key-value stores on Firestore over its REST API (https://cloud.google.com/firestore/docs/reference/rest):
 * `documents:batchGet` to read, `documents:commit` to write and delete (with `currentDocument` preconditions:
 * `exists: false` for a key that must hold nothing, `updateTime` for the version read), `documents:runQuery` to list.
 * Reads are strongly consistent. An emulator (`FIRESTORE_EMULATOR_HOST`, as Google's client reads it) gets no
 * credentials.
 *
 * One collection per store: each entry a document whose id is `k` and the key (so `.`, `..` and `__x__` keys are ids
 * too), with the fields `key` (string: the listings' order), `value` (string: the JSON text), `expires` (timestamp:
 * the collection's TTL field) and `writer` (string). The version is the document's update time. Firestore deletes
 * expired documents within a day: reads skip them until then.
 */
import { CloudError, DriverError, expired, prefixSuccessor, type Call, type ListedRecord, type StoreBackend, type StoreCondition, type StoreRecord, type StoreWrite } from '@polycloud/resources/driver'
import { request } from '@polycloud/resources/node-http'
import type { GoogleAuth } from './auth.js'
import { googleError } from './errors.js'

export interface FirestoreConfig {
  readonly collection: string
  readonly database: string
  /** The collection's project, or undefined for the function's. */
  readonly project: string | undefined
  readonly origin: string
  readonly auth: GoogleAuth
}

type Value = { readonly stringValue: string } | { readonly timestampValue: string } | Readonly<Record<string, unknown>>

interface Document {
  readonly name: string
  readonly fields?: Readonly<Record<string, Value>>
  readonly updateTime?: string
}

/** The document id of a key. */
export function documentId(key: string): string {
  return `k${key}`
}

function recordOf(document: Document): StoreRecord {
  const fields = document.fields ?? {}
  const value = fields.value as { stringValue?: unknown } | undefined
  if (typeof value?.stringValue !== 'string' || typeof document.updateTime !== 'string') {
    throw new DriverError('Invalid', `Firestore answered a document without the value a store writes (${document.name}: is the collection a store's?)`)
  }
  const expires = (fields.expires as { timestampValue?: unknown } | undefined)?.timestampValue
  const writer = (fields.writer as { stringValue?: unknown } | undefined)?.stringValue
  return {
    json: value.stringValue,
    version: document.updateTime,
    expires: typeof expires === 'string' ? Math.floor(Date.parse(expires) / 1000) : undefined,
    writer: typeof writer === 'string' ? writer : undefined,
  }
}

function keyOf(document: Document): string {
  const key = (document.fields?.key as { stringValue?: unknown } | undefined)?.stringValue
  return typeof key === 'string' ? key : decodeURIComponent(document.name.slice(document.name.lastIndexOf('/') + 2))
}

export function openFirestore(config: FirestoreConfig): StoreBackend {
  let root: Promise<string> | undefined
  /** `projects/<p>/databases/<d>/documents`, once the project is known. */
  const rootOf = (signal: AbortSignal | undefined): Promise<string> => {
    if (root === undefined) {
      const started = (root = (config.project === undefined ? config.auth.project(signal) : Promise.resolve(config.project)).then((project) => `projects/${project}/databases/${config.database}/documents`))
      started.catch(() => {
        if (root === started) root = undefined
      })
    }
    return root
  }

  const call = async (path: string, body: unknown, { signal }: Call): Promise<{ status: number; json: unknown; text: string; error: () => Promise<DriverError> }> => {
    const url = new URL(`${config.origin}/v1/${path}`)
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    const authorization = await config.auth.authorization(signal)
    if (authorization !== undefined) headers.authorization = authorization
    const response = await request({ method: 'POST', url, headers, body: JSON.stringify(body), signal })
    const text = await response.text()
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
    return { status: response.status, json, text, error: () => googleError('Firestore', response, text) }
  }

  const nameOf = async (key: string, signal: AbortSignal | undefined): Promise<string> => `${await rootOf(signal)}/${config.collection}/${documentId(key)}`

  const read = async (key: string, options: Call): Promise<StoreRecord | null> => {
    const name = await nameOf(key, options.signal)
    const database = name.slice(0, name.indexOf('/documents/'))
    const answer = await call(`${database}/documents:batchGet`, { documents: [name] }, options)
    if (answer.status !== 200) throw await answer.error()
    const items = Array.isArray(answer.json) ? (answer.json as Array<{ found?: Document; missing?: string }>) : []
    const found = items.find((item) => item.found !== undefined)?.found
    if (found !== undefined) return recordOf(found)
    if (items.some((item) => item.missing !== undefined)) return null
    throw new DriverError('Unavailable', 'Firestore answered a batchGet without the document, found or missing')
  }

  /** Commits one write; a failed precondition is a Conflict. Answers the write's update time. */
  const commit = async (key: string, write: Record<string, unknown>, conditional: boolean, options: Call): Promise<string> => {
    const name = await nameOf(key, options.signal)
    const database = name.slice(0, name.indexOf('/documents/'))
    const answer = await call(`${database}/documents:commit`, { writes: [{ ...write, ...('delete' in write ? { delete: name } : { update: { name, fields: write.update } }) }] }, options)
    if (answer.status === 200) {
      const result = (answer.json as { writeResults?: Array<{ updateTime?: string }>; commitTime?: string } | undefined)?.writeResults?.[0]
      return result?.updateTime ?? (answer.json as { commitTime?: string } | undefined)?.commitTime ?? ''
    }
    const error = await answer.error()
    const status = (error.cause as CloudError | undefined)?.code ?? ''
    // ALREADY_EXISTS (exists: false), FAILED_PRECONDITION (another updateTime), NOT_FOUND "No document to update".
    if (conditional && (status === 'ALREADY_EXISTS' || status === 'FAILED_PRECONDITION' || (status === 'NOT_FOUND' && /no document to update/i.test(error.message)))) {
      throw new DriverError('Conflict', `Firestore found the condition false (${status})`, { status: answer.status, cause: error.cause })
    }
    if (status === 'ABORTED') throw new DriverError('Unavailable', `Firestore aborted the commit (contention): ${error.message}`, { status: answer.status, cause: error.cause })
    throw error
  }

  const fieldsOf = (key: string, write: StoreWrite): Record<string, Value> => {
    const fields: Record<string, Value> = { key: { stringValue: key }, value: { stringValue: write.json }, writer: { stringValue: write.writer } }
    if (write.expires !== undefined) fields.expires = { timestampValue: new Date(write.expires * 1000).toISOString() }
    return fields
  }

  return {
    get: (key: string, _now: number, options: Call) => read(key, options),
    async put(key: string, write: StoreWrite, condition: StoreCondition, options: Call): Promise<string> {
      const update = fieldsOf(key, write)
      if (condition.type === 'none') return commit(key, { update }, false, options)
      if (condition.type === 'version') return commit(key, { update, currentDocument: { updateTime: condition.version } }, true, options)
      try {
        return await commit(key, { update, currentDocument: { exists: false } }, true, options)
      } catch (error) {
        if (!(error instanceof DriverError) || error.code !== 'Conflict') throw error
        // An expired entry counts as none: replace it, only if it is still that one.
        const current = await read(key, options)
        if (current !== null && !expired(current.expires, condition.now)) throw error
        return commit(key, { update, currentDocument: current === null ? { exists: false } : { updateTime: current.version } }, true, options)
      }
    },
    async delete(key: string, condition: StoreCondition, options: Call): Promise<void> {
      await commit(key, { delete: true, ...(condition.type === 'version' ? { currentDocument: { updateTime: condition.version } } : {}) }, condition.type === 'version', options)
    },
    async list(prefix: string, cursor: string | undefined, limit: number, _now: number, options: Call) {
      const parent = await rootOf(options.signal)
      const filters: unknown[] = []
      const field = { fieldPath: 'key' }
      if (prefix !== '') filters.push({ fieldFilter: { field, op: 'GREATER_THAN_OR_EQUAL', value: { stringValue: prefix } } })
      const end = prefixSuccessor(prefix)
      if (end !== undefined) filters.push({ fieldFilter: { field, op: 'LESS_THAN', value: { stringValue: end } } })
      const query: Record<string, unknown> = { from: [{ collectionId: config.collection }], orderBy: [{ field, direction: 'ASCENDING' }], limit }
      if (filters.length === 1) query.where = filters[0]
      if (filters.length > 1) query.where = { compositeFilter: { op: 'AND', filters } }
      if (cursor !== undefined) query.startAt = { values: [{ stringValue: cursor }], before: false }
      const answer = await call(`${parent}:runQuery`, { structuredQuery: query }, options)
      if (answer.status !== 200) throw await answer.error()
      const items = Array.isArray(answer.json) ? (answer.json as Array<{ document?: Document }>) : []
      const entries: ListedRecord[] = []
      for (const item of items) if (item.document !== undefined) entries.push({ key: keyOf(item.document), record: recordOf(item.document) })
      return { entries, cursor: entries.length === limit ? entries.at(-1)?.key : undefined }
    },
  }
}
