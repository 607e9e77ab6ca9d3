/**
 * Key-value stores on Azure Table Storage over its REST API (https://learn.microsoft.com/rest/api/storageservices/table-service-rest-api):
 * Query Entities, Insert Entity, Insert Or Replace / Update Entity with `If-Match`, Delete Entity. Strongly
 * consistent (reads see every write acknowledged before them); conditions on the entity's ETag.
 *
 * One table per store, in the storage account of the connection: PartitionKey `kv`, RowKey the entry's key; the
 * value's JSON text in `value` (continued in `value1`, `value2`, ... past 32,768 UTF-16 code units, a string
 * property's 64 KiB), the expiry in `expires` (Int64, epoch seconds), the write's id in `writer`. Table Storage has no
 * TTL: expired entries stay until overwritten or deleted, and reads skip them.
 *
 * Authorisation: Shared Key for the Table service (a different string to sign from Blob's and Queue's), a SAS, or
 * the function app's managed identity (audience https://storage.azure.com/).
 */
import { createHmac } from 'node:crypto'
import { CloudError, DriverError, expired, prefixSuccessor, statusCode, type Call, type ListedRecord, type ResourceErrorCode, type StoreBackend, type StoreCondition, type StoreRecord, type StoreWrite } from '@polycloud/resources/driver'
import { request, type HttpResponse } from '@polycloud/resources/node-http'
import type { StorageConnection } from './connection.js'
import { STORAGE_AUDIENCE, identityToken } from './identity.js'

/** The Table service's REST version. */
export const TABLE_VERSION = '2019-02-02'
/** The partition every entry of a store's table lives in. */
export const PARTITION = 'kv'
/** A string property holds 64 KiB of UTF-16. */
const CHUNK = 32_768

type Env = Readonly<Record<string, string | undefined>>

export interface TableConfig {
  readonly table: string
  readonly connection: StorageConnection
  readonly env: Env
}

/** RFC 3986 encoding of everything but unreserved characters. */
function encodeAll(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`)
}

/** An OData string literal: quotes doubled. */
function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`
}

/** Shared Key for the Table service: `VERB\nContent-MD5\nContent-Type\nDate\nCanonicalizedResource`. */
export function tableSharedKey(method: string, url: URL, headers: Readonly<Record<string, string>>, account: string, key: Buffer): string {
  const comp = url.searchParams.get('comp')
  const resource = `/${account}${url.pathname}${comp === null ? '' : `?comp=${comp}`}`
  const toSign = `${method}\n${headers['content-md5'] ?? ''}\n${headers['content-type'] ?? ''}\n${headers['x-ms-date'] ?? ''}\n${resource}`
  return `SharedKey ${account}:${createHmac('sha256', key).update(toSign, 'utf8').digest('base64')}`
}

const CODES: Readonly<Record<string, ResourceErrorCode>> = {
  TableNotFound: 'NotFound',
  ResourceNotFound: 'NotFound',
  AuthenticationFailed: 'Denied',
  AuthorizationFailure: 'Denied',
  AuthorizationPermissionMismatch: 'Denied',
  InsufficientAccountPermissions: 'Denied',
  ServerBusy: 'Throttled',
  OperationTimedOut: 'Timeout',
  InternalError: 'Unavailable',
  EntityTooLarge: 'TooLarge',
  PropertyValueTooLarge: 'TooLarge',
  RequestBodyTooLarge: 'TooLarge',
  EntityAlreadyExists: 'Conflict',
  UpdateConditionNotSatisfied: 'Conflict',
}

/** The error code of a failed answer (its JSON `odata.error.code`, else `x-ms-error-code`) and its message. */
async function failure(response: HttpResponse): Promise<{ code: string; message: string }> {
  const text = await response.text().catch(() => '')
  let code = response.header('x-ms-error-code') ?? ''
  let message = text.trim()
  try {
    const error = (JSON.parse(text) as { 'odata.error'?: { code?: unknown; message?: { value?: unknown } } })['odata.error']
    if (typeof error?.code === 'string') code = error.code
    if (typeof error?.message?.value === 'string') message = error.message.value
  } catch {
    // Not JSON: the text is the message.
  }
  return { code, message: message.split('\n')[0] || `HTTP ${response.status}` }
}

function tableError(status: number, { code, message }: { code: string; message: string }): DriverError {
  const mapped = CODES[code] ?? statusCode(status)
  return new DriverError(mapped, `Table Storage answered ${status}${code === '' ? '' : ` ${code}`}: ${message}`, { status, cause: new CloudError('Table Storage', code, message, status) })
}

/** The value's JSON text in properties of at most 32,768 UTF-16 code units, never splitting a surrogate pair. */
export function chunks(json: string): string[] {
  const out: string[] = []
  let at = 0
  while (at < json.length || out.length === 0) {
    let end = Math.min(json.length, at + CHUNK)
    const last = json.charCodeAt(end - 1)
    if (end < json.length && last >= 0xd800 && last <= 0xdbff) end--
    out.push(json.slice(at, end))
    at = end
  }
  return out
}

/**
 * JSON with every character past U+007E escaped (`\u00e9`): the same entity to Table Storage, and a body azurite
 * reads right (it decodes a body by its 64 KiB chunks, garbling a character split between two).
 */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

function propertyName(index: number): string {
  return index === 0 ? 'value' : `value${index}`
}

type Entity = Readonly<Record<string, unknown>>

function recordOf(entity: Entity, etag: string): StoreRecord {
  let json = ''
  for (let index = 0; typeof entity[propertyName(index)] === 'string'; index++) json += entity[propertyName(index)] as string
  if (typeof entity.value !== 'string') throw new DriverError('Invalid', 'Table Storage answered an entity without the value a store writes (is the table a store\'s?)')
  const expires = entity.expires === undefined || entity.expires === null ? undefined : Number(entity.expires)
  return { json, version: etag, expires: Number.isFinite(expires) ? expires : undefined, writer: typeof entity.writer === 'string' ? entity.writer : undefined }
}

export function openTable(config: TableConfig): StoreBackend {
  const { connection, env } = config
  const table = encodeAll(config.table)
  const entityPath = (key: string): string => `/${table}(PartitionKey=${encodeAll(literal(PARTITION))},RowKey=${encodeAll(literal(key))})`

  const send = async (method: string, path: string, call: Call, extra: { query?: ReadonlyArray<readonly [string, string]>; headers?: Record<string, string>; body?: string; metadata?: boolean } = {}): Promise<HttpResponse> => {
    const url = new URL(`${connection.endpoint}${path}`)
    for (const [name, value] of extra.query ?? []) url.searchParams.append(name, value)
    const headers: Record<string, string> = {
      ...extra.headers,
      accept: `application/json;odata=${extra.metadata === true ? 'minimalmetadata' : 'nometadata'}`,
      'x-ms-version': TABLE_VERSION,
      'x-ms-date': new Date().toUTCString(),
      dataserviceversion: '3.0;NetFx',
      maxdataserviceversion: '3.0;NetFx',
    }
    if (extra.body !== undefined) {
      headers['content-type'] = 'application/json'
      headers['content-length'] = String(Buffer.byteLength(extra.body))
    }
    const { auth } = connection
    if (auth.type === 'sharedKey') headers.authorization = tableSharedKey(method, url, headers, auth.account, auth.key)
    else if (auth.type === 'sas') url.search = url.search === '' ? `?${auth.token}` : `${url.search}&${auth.token}`
    else headers.authorization = `Bearer ${await identityToken(env, STORAGE_AUDIENCE, auth.clientId, call.signal)}`
    return request({ method, url, headers, body: extra.body, signal: call.signal })
  }

  const entityOf = (key: string, write: StoreWrite): string => {
    const entity: Record<string, string> = { PartitionKey: PARTITION, RowKey: key }
    chunks(write.json).forEach((chunk, index) => {
      entity[propertyName(index)] = chunk
    })
    if (write.expires !== undefined) {
      entity['expires@odata.type'] = 'Edm.Int64'
      entity.expires = String(write.expires)
    }
    entity.writer = write.writer
    return asciiJson(entity)
  }

  /** The stored entity (null when there is none) and its ETag. */
  const read = async (key: string, call: Call): Promise<{ record: StoreRecord; etag: string } | null> => {
    const response = await send('GET', entityPath(key), call)
    if (response.status === 200) {
      const etag = response.header('etag') ?? ''
      return { record: recordOf(JSON.parse(await response.text()) as Entity, etag), etag }
    }
    const error = await failure(response)
    if (response.status === 404 && error.code === 'ResourceNotFound') return null
    throw tableError(response.status, error)
  }

  /** Replaces the entity (Insert Or Replace), only while its ETag is `etag` when given; answers the new ETag. */
  const replace = async (key: string, write: StoreWrite, etag: string | undefined, call: Call): Promise<string> => {
    const response = await send('PUT', entityPath(key), call, { body: entityOf(key, write), headers: etag === undefined ? {} : { 'if-match': etag } })
    if (response.status === 204) {
      response.discard()
      return response.header('etag') ?? ''
    }
    const error = await failure(response)
    // With If-Match, a missing entity is a failed condition (the table's absence stays NotFound).
    if (etag !== undefined && (response.status === 412 || (response.status === 404 && error.code === 'ResourceNotFound'))) {
      throw new DriverError('Conflict', 'Table Storage found the condition false: the entry has another version, or none', { status: response.status, cause: new CloudError('Table Storage', error.code, error.message, response.status) })
    }
    throw tableError(response.status, error)
  }

  const insert = async (key: string, write: StoreWrite, now: number, call: Call): Promise<string> => {
    const response = await send('POST', `/${table}`, call, { body: entityOf(key, write), headers: { prefer: 'return-no-content' } })
    if (response.status === 204 || response.status === 201) {
      response.discard()
      return response.header('etag') ?? ''
    }
    const error = await failure(response)
    if (response.status !== 409 || error.code !== 'EntityAlreadyExists') throw tableError(response.status, error)
    // An expired entry counts as none: replace it, only if it is still that one.
    const current = await read(key, call)
    if (current !== null && !expired(current.record.expires, now)) throw new DriverError('Conflict', 'Table Storage found the condition false: the key holds an entry', { status: 409 })
    return current === null ? insert(key, write, now, call) : replace(key, write, current.etag, call)
  }

  return {
    async get(key: string, _now: number, call: Call): Promise<StoreRecord | null> {
      return (await read(key, call))?.record ?? null
    },
    put(key: string, write: StoreWrite, condition: StoreCondition, call: Call): Promise<string> {
      if (condition.type === 'absent') return insert(key, write, condition.now, call)
      return replace(key, write, condition.type === 'version' ? condition.version : undefined, call)
    },
    async delete(key: string, condition: StoreCondition, call: Call): Promise<void> {
      const response = await send('DELETE', entityPath(key), call, { headers: { 'if-match': condition.type === 'version' ? condition.version : '*' } })
      if (response.status === 204) return response.discard()
      const error = await failure(response)
      const missing = response.status === 404 && error.code === 'ResourceNotFound'
      if (missing && condition.type !== 'version') return
      if (missing || response.status === 412) throw new DriverError('Conflict', 'Table Storage found the condition false: the entry has another version, or none', { status: response.status })
      throw tableError(response.status, error)
    },
    async list(prefix: string, cursor: string | undefined, limit: number, _now: number, call: Call) {
      const end = prefixSuccessor(prefix)
      // Table Storage cannot test for a missing property: expired entries are skipped by the client.
      let filter = `PartitionKey eq ${literal(PARTITION)}`
      if (prefix !== '') filter += ` and RowKey ge ${literal(prefix)}`
      if (end !== undefined) filter += ` and RowKey lt ${literal(end)}`
      const query: Array<[string, string]> = [['$filter', filter], ['$top', String(limit)]]
      if (cursor !== undefined) {
        const [partition, row] = cursor.split(' ')
        if (partition) query.push(['NextPartitionKey', partition])
        if (row) query.push(['NextRowKey', row])
      }
      const response = await send('GET', `/${table}()`, call, { query, metadata: true })
      if (response.status !== 200) throw tableError(response.status, await failure(response))
      const body = JSON.parse(await response.text()) as { value?: Entity[] }
      const entries: ListedRecord[] = (body.value ?? []).map((entity) => ({ key: String(entity.RowKey), record: recordOf(entity, String(entity['odata.etag'] ?? '')) }))
      const partition = response.header('x-ms-continuation-nextpartitionkey')
      const row = response.header('x-ms-continuation-nextrowkey')
      return { entries, cursor: partition === undefined && row === undefined ? undefined : `${partition ?? ''} ${row ?? ''}` }
    },
  }
}
