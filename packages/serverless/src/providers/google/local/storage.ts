/**
 * A local Cloud Storage: the subset of the JSON API (https://cloud.google.com/storage/docs/json_api/v1/objects) that
 * Google's client library (`@google-cloud/storage`), the Polycloud driver and `curl` use, in memory, on 127.0.0.1:
 *
 *   POST   /upload/storage/v1/b/<bucket>/o?uploadType=media&name=<key>     the body is the object
 *   POST   /upload/storage/v1/b/<bucket>/o?uploadType=multipart            multipart/related: JSON metadata, then the media
 *   POST   /upload/storage/v1/b/<bucket>/o?uploadType=resumable            starts a session (its URL in `Location`),
 *   PUT    <session URL>                                                     then the bytes, in one or more chunks
 *   GET    /storage/v1/b/<bucket>/o/<key>                                  the object's metadata
 *   GET    /storage/v1/b/<bucket>/o/<key>?alt=media                        its bytes (`Range` honoured; also under /download)
 *   GET    /storage/v1/b/<bucket>/o?prefix=&delimiter=&maxResults=&pageToken=   a listing page
 *   DELETE /storage/v1/b/<bucket>/o/<key>
 *   GET    /storage/v1/b/<bucket>                                          the bucket
 *
 * Objects have generations, metagenerations, etags, MD5 and CRC32C hashes (`x-goog-hash`, which the client checks),
 * custom metadata; `generation` and `ifGenerationMatch` / `ifGenerationNotMatch` are honoured. Errors are Google's
 * JSON error shape. With `tokens`, requests need `Authorization: Bearer <one of them>` (401 otherwise). `notify` is
 * called for each object finalized or deleted, with the event type Eventarc uses and the object resource (its data).
 */
import { createHash, randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { buffer } from 'node:stream/consumers'

export const OBJECT_FINALIZED = 'google.cloud.storage.object.v1.finalized'
export const OBJECT_DELETED = 'google.cloud.storage.object.v1.deleted'

/** An object resource as the JSON API answers it. */
export interface StorageObject {
  readonly kind: 'storage#object'
  readonly id: string
  readonly selfLink: string
  readonly mediaLink: string
  readonly name: string
  readonly bucket: string
  readonly generation: string
  readonly metageneration: string
  readonly contentType: string
  readonly storageClass: 'STANDARD'
  readonly size: string
  readonly md5Hash: string
  readonly crc32c: string
  readonly etag: string
  readonly timeCreated: string
  readonly updated: string
  readonly timeStorageClassUpdated: string
  readonly metadata?: Readonly<Record<string, string>>
}

export interface StorageNotification {
  readonly type: typeof OBJECT_FINALIZED | typeof OBJECT_DELETED
  readonly bucket: string
  readonly object: StorageObject
}

export interface LocalStorageOptions {
  /** 127.0.0.1 (the loopback interface is the only one allowed). */
  readonly host?: string
  /** 0 (the default) picks a free port. */
  readonly port?: number
  /** The buckets that exist; any other answers 404. */
  readonly buckets: readonly string[]
  /** Bearer tokens accepted; without, requests need no credentials (as an emulator). */
  readonly tokens?: readonly string[]
  /** Each object finalized (created or overwritten) or deleted. */
  readonly notify?: (notification: StorageNotification) => void
  readonly log?: (line: string) => void
}

export interface LocalStorage {
  /** `http://127.0.0.1:<port>`: the `apiEndpoint` of Google's client, `STORAGE_EMULATOR_HOST`. */
  readonly url: string
  readonly port: number
  /** The objects of a bucket, by name. */
  objects(bucket: string): ReadonlyMap<string, StorageObject>
  stop(): Promise<void>
}

interface Stored {
  readonly resource: StorageObject
  readonly bytes: Buffer
}

interface Session {
  readonly bucket: string
  readonly resource: Partial<Record<string, unknown>>
  readonly query: URLSearchParams
  chunks: Buffer[]
  received: number
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message)
  }
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1'])
const MAX_RESULTS = 1000

/** CRC32C (Castagnoli), as Cloud Storage's `crc32c` (big-endian, base64). */
const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

export function crc32c(bytes: Uint8Array): string {
  let crc = 0xffffffff
  for (const byte of bytes) crc = (CRC32C_TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8)
  const out = Buffer.alloc(4)
  out.writeUInt32BE((crc ^ 0xffffffff) >>> 0)
  return out.toString('base64')
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': String(Buffer.byteLength(text)), ...headers })
  res.end(text)
}

/** Google's JSON error (https://cloud.google.com/storage/docs/json_api/v1/status-codes). */
function sendError(res: ServerResponse, error: ApiError): void {
  sendJson(res, error.status, { error: { code: error.status, message: error.message, errors: [{ message: error.message, domain: 'global', reason: error.reason }] } })
}

/** The parts of a `multipart/related` body: each part's headers (lower-case) and bytes. */
export function multipartParts(body: Buffer, contentType: string): Array<{ headers: Record<string, string>; body: Buffer }> {
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType)
  if (!match) throw new ApiError(400, 'invalid', 'Missing boundary in the multipart/related content type')
  const boundary = Buffer.from(`--${match[1] ?? match[2]}`)
  const parts: Array<{ headers: Record<string, string>; body: Buffer }> = []
  let at = body.indexOf(boundary)
  while (at !== -1) {
    let start = at + boundary.length
    if (body.subarray(start, start + 2).toString() === '--') break
    if (body.subarray(start, start + 2).toString() === '\r\n') start += 2
    const next = body.indexOf(boundary, start)
    if (next === -1) throw new ApiError(400, 'invalid', 'The multipart body has no closing boundary')
    let end = next
    if (body.subarray(end - 2, end).toString() === '\r\n') end -= 2
    const part = body.subarray(start, end)
    const split = part.indexOf('\r\n\r\n')
    if (split === -1) throw new ApiError(400, 'invalid', 'A multipart part has no header block')
    const headers: Record<string, string> = {}
    for (const line of part.subarray(0, split).toString('utf8').split('\r\n')) {
      const colon = line.indexOf(':')
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
    }
    parts.push({ headers, body: part.subarray(split + 4) })
    at = next
  }
  return parts
}

function parseJson(bytes: Buffer, what: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8') || '{}')
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>
  } catch {
    // Reported below.
  }
  throw new ApiError(400, 'parseError', `${what} is not a JSON object`)
}

export async function startLocalStorage(options: LocalStorageOptions): Promise<LocalStorage> {
  const host = options.host ?? '127.0.0.1'
  if (!LOOPBACK.has(host)) throw new Error(`the local Cloud Storage listens on the loopback interface only (127.0.0.1), not ${JSON.stringify(host)}`)
  const buckets = new Map(options.buckets.map((name) => [name, new Map<string, Stored>()]))
  const sessions = new Map<string, Session>()
  const tokens = options.tokens === undefined ? undefined : new Set(options.tokens)
  const log = options.log ?? (() => {})
  let generation = BigInt(Date.now()) * 1000n
  let url = ''

  const bucketOf = (name: string): Map<string, Stored> => {
    const bucket = buckets.get(name)
    if (bucket === undefined) throw new ApiError(404, 'notFound', 'The specified bucket does not exist.')
    return bucket
  }

  const authorize = (req: IncomingMessage): void => {
    if (tokens === undefined) return
    const header = req.headers.authorization
    if (header === undefined) throw new ApiError(401, 'required', 'Anonymous caller does not have storage.objects access. Login Required.')
    const token = /^Bearer\s+(.+)$/i.exec(header)?.[1]
    if (token === undefined || !tokens.has(token)) throw new ApiError(401, 'authError', 'Invalid Credentials')
  }

  /** Checks `ifGenerationMatch` / `ifGenerationNotMatch` against the current object (0: must not exist). */
  const preconditions = (query: URLSearchParams, current: Stored | undefined): void => {
    const match = query.get('ifGenerationMatch')
    const notMatch = query.get('ifGenerationNotMatch')
    const now = current?.resource.generation ?? '0'
    if (match !== null && match !== now) throw new ApiError(412, 'conditionNotMet', 'At least one of the pre-conditions you specified did not hold.')
    if (notMatch !== null && notMatch === now) throw new ApiError(304, 'notModified', 'Not modified')
  }

  const store = (bucketName: string, name: unknown, bytes: Buffer, contentType: unknown, metadata: unknown, query: URLSearchParams): StorageObject => {
    if (typeof name !== 'string' || name === '') throw new ApiError(400, 'required', 'Required parameter: name')
    if (Buffer.byteLength(name) > 1024 || /[\r\n]/.test(name) || name === '.' || name === '..') throw new ApiError(400, 'invalid', `Invalid object name: ${name}`)
    if (metadata !== undefined && metadata !== null && (typeof metadata !== 'object' || Array.isArray(metadata))) throw new ApiError(400, 'invalid', 'Invalid value for metadata: an object of strings')
    const bucket = bucketOf(bucketName)
    const current = bucket.get(name)
    preconditions(query, current)
    generation += 1n
    const now = new Date().toISOString()
    const encoded = encodeURIComponent(name)
    const custom: Record<string, string> = {}
    for (const [key, value] of Object.entries((metadata ?? {}) as Record<string, unknown>)) if (value !== null && value !== undefined) custom[key] = String(value)
    const resource: StorageObject = {
      kind: 'storage#object',
      id: `${bucketName}/${name}/${generation}`,
      selfLink: `${url}/storage/v1/b/${bucketName}/o/${encoded}`,
      mediaLink: `${url}/download/storage/v1/b/${bucketName}/o/${encoded}?generation=${generation}&alt=media`,
      name,
      bucket: bucketName,
      generation: String(generation),
      metageneration: '1',
      contentType: typeof contentType === 'string' && contentType !== '' ? contentType : 'application/octet-stream',
      storageClass: 'STANDARD',
      size: String(bytes.length),
      md5Hash: createHash('md5').update(bytes).digest('base64'),
      crc32c: crc32c(bytes),
      etag: Buffer.from(`${generation}/1`).toString('base64'),
      timeCreated: now,
      updated: now,
      timeStorageClassUpdated: now,
      ...(Object.keys(custom).length > 0 ? { metadata: custom } : {}),
    }
    bucket.set(name, { resource, bytes })
    notify({ type: OBJECT_FINALIZED, bucket: bucketName, object: resource })
    return resource
  }

  const notify = (notification: StorageNotification): void => {
    try {
      options.notify?.(notification)
    } catch (error) {
      log(`local Cloud Storage: the notification of ${notification.object.name} failed: ${(error as Error).message}`)
    }
  }

  const upload = async (req: IncomingMessage, res: ServerResponse, bucketName: string, query: URLSearchParams): Promise<void> => {
    const type = query.get('uploadType') ?? 'media'
    const body = await buffer(req)
    const contentType = req.headers['content-type'] ?? ''
    if (type === 'media') return sendJson(res, 200, store(bucketName, query.get('name'), body, contentType, undefined, query))
    if (type === 'multipart') {
      if (!/^multipart\/related/i.test(contentType)) throw new ApiError(400, 'invalid', 'uploadType=multipart needs a multipart/related body')
      const parts = multipartParts(body, contentType)
      if (parts.length !== 2) throw new ApiError(400, 'invalid', `A multipart upload has 2 parts (metadata, media), not ${parts.length}`)
      const [meta, media] = parts as [{ body: Buffer }, { headers: Record<string, string>; body: Buffer }]
      const resource = parseJson(meta.body, 'The metadata part')
      return sendJson(res, 200, store(bucketName, resource.name ?? query.get('name'), media.body, resource.contentType ?? media.headers['content-type'], resource.metadata, query))
    }
    if (type === 'resumable') {
      bucketOf(bucketName)
      const id = randomUUID()
      const resource = parseJson(body, 'The resumable upload\'s metadata')
      if (resource.name === undefined && query.get('name') !== null) resource.name = query.get('name')
      if (resource.contentType === undefined && req.headers['x-upload-content-type'] !== undefined) resource.contentType = req.headers['x-upload-content-type']
      sessions.set(id, { bucket: bucketName, resource, query, chunks: [], received: 0 })
      res.writeHead(200, { location: `${url}/upload/storage/v1/b/${encodeURIComponent(bucketName)}/o?uploadType=resumable&upload_id=${id}`, 'content-length': '0' })
      res.end()
      return
    }
    throw new ApiError(400, 'invalid', `Invalid upload type: ${type}`)
  }

  /**
   * A request of a resumable session. `Content-Range: bytes a-b/total` is a chunk (`total` `*` while unknown); `bytes
   * a-*\/total` the rest of the data in this request (`*\/*`: its end is the object's end); `bytes *\/*` (or
   * `*\/total` without a body) asks how much was received. The request that completes the data stores the object.
   */
  const resume = async (req: IncomingMessage, res: ServerResponse, id: string): Promise<void> => {
    const session = sessions.get(id)
    if (session === undefined) throw new ApiError(404, 'notFound', 'No such upload session')
    const body = await buffer(req)
    const range = String(req.headers['content-range'] ?? `bytes 0-${body.length - 1}/${body.length}`)
    const match = /^bytes (?:(\d+)-(\d+|\*)|\*)\/(\d+|\*)$/.exec(range)
    if (!match) throw new ApiError(400, 'invalid', `Invalid Content-Range: ${range}`)
    if (match[1] !== undefined && Number(match[1]) !== session.received) throw new ApiError(400, 'invalid', `The chunk starts at ${match[1]}, expected ${session.received}`)
    if (match[1] !== undefined) {
      session.chunks.push(body)
      session.received += body.length
    }
    const total = match[3] === '*' ? (match[2] === '*' ? session.received : undefined) : Number(match[3])
    if (total === undefined || session.received < total) {
      res.writeHead(308, session.received > 0 ? { range: `bytes=0-${session.received - 1}`, 'content-length': '0' } : { 'content-length': '0' })
      res.end()
      return
    }
    sessions.delete(id)
    const { resource } = session
    sendJson(res, 200, store(session.bucket, resource.name, Buffer.concat(session.chunks), resource.contentType, resource.metadata, session.query))
  }

  const objectOf = (bucketName: string, name: string, query: URLSearchParams): Stored => {
    const stored = bucketOf(bucketName).get(name)
    const wanted = query.get('generation')
    if (stored === undefined || (wanted !== null && wanted !== stored.resource.generation)) throw new ApiError(404, 'notFound', `No such object: ${bucketName}/${name}`)
    preconditions(query, stored)
    return stored
  }

  const media = (req: IncomingMessage, res: ServerResponse, stored: Stored): void => {
    const { resource, bytes } = stored
    const headers: Record<string, string> = {
      'content-type': resource.contentType,
      etag: resource.etag,
      'x-goog-generation': resource.generation,
      'x-goog-metageneration': resource.metageneration,
      'x-goog-stored-content-length': resource.size,
      'x-goog-stored-content-encoding': 'identity',
      'x-goog-storage-class': resource.storageClass,
      'x-goog-hash': `crc32c=${resource.crc32c},md5=${resource.md5Hash}`,
      'last-modified': new Date(resource.updated).toUTCString(),
      'accept-ranges': 'bytes',
    }
    for (const [key, value] of Object.entries(resource.metadata ?? {})) if (/^[\u0020-\u007e]*$/.test(value)) headers[`x-goog-meta-${key}`] = value
    const range = req.headers.range
    const match = range === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(range)
    if (match && (match[1] !== '' || match[2] !== '')) {
      const size = bytes.length
      let start = match[1] === '' ? Math.max(0, size - Number(match[2])) : Number(match[1])
      let end = match[1] === '' || match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1)
      if (start >= size || start > end) {
        res.writeHead(416, { 'content-range': `bytes */${size}`, 'content-length': '0' })
        res.end()
        return
      }
      start = Math.max(0, start)
      end = Math.max(start, end)
      delete headers['x-goog-hash']
      res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': String(end - start + 1) })
      res.end(req.method === 'HEAD' ? undefined : bytes.subarray(start, end + 1))
      return
    }
    res.writeHead(200, { ...headers, 'content-length': String(bytes.length) })
    res.end(req.method === 'HEAD' ? undefined : bytes)
  }

  const list = (res: ServerResponse, bucketName: string, query: URLSearchParams): void => {
    const bucket = bucketOf(bucketName)
    const prefix = query.get('prefix') ?? ''
    const delimiter = query.get('delimiter') ?? ''
    const max = Math.min(MAX_RESULTS, Number(query.get('maxResults') ?? MAX_RESULTS))
    if (!Number.isInteger(max) || max < 1) throw new ApiError(400, 'invalid', `Invalid value for maxResults: ${query.get('maxResults')}`)
    const token = query.get('pageToken')
    const after = token === null ? '' : Buffer.from(token, 'base64url').toString('utf8')
    const names = [...bucket.keys()].filter((name) => name.startsWith(prefix) && name > after).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    const items: StorageObject[] = []
    const prefixes: string[] = []
    let last = ''
    let more = false
    for (const name of names) {
      const cut = delimiter === '' ? -1 : name.indexOf(delimiter, prefix.length)
      const common = cut === -1 ? undefined : name.slice(0, cut + delimiter.length)
      if (common !== undefined && (prefixes.at(-1) === common || after.startsWith(common))) continue
      if (items.length + prefixes.length >= max) {
        more = true
        break
      }
      if (common !== undefined) prefixes.push(common)
      else items.push((bucket.get(name) as Stored).resource)
      last = common ?? name
    }
    sendJson(res, 200, {
      kind: 'storage#objects',
      ...(items.length > 0 ? { items } : {}),
      ...(prefixes.length > 0 ? { prefixes } : {}),
      ...(more ? { nextPageToken: Buffer.from(last).toString('base64url') } : {}),
    })
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const parsed = new URL(req.url ?? '/', 'http://localhost')
    const query = parsed.searchParams
    const segments = parsed.pathname.split('/').map((segment) => decodeURIComponent(segment))
    const path = segments.join('/')
    authorize(req)
    let match: RegExpExecArray | null
    if ((match = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(parsed.pathname))) {
      const bucketName = decodeURIComponent(match[1] as string)
      const session = query.get('upload_id')
      if (session !== null && req.method === 'PUT') return resume(req, res, session)
      if (req.method === 'POST') return upload(req, res, bucketName, query)
    }
    if ((match = /^\/(?:download\/)?storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(parsed.pathname))) {
      const bucketName = decodeURIComponent(match[1] as string)
      const name = decodeURIComponent(match[2] as string)
      if (req.method === 'GET' || req.method === 'HEAD') {
        const stored = objectOf(bucketName, name, query)
        if (query.get('alt') === 'media' || parsed.pathname.startsWith('/download/')) return media(req, res, stored)
        return sendJson(res, 200, stored.resource)
      }
      if (req.method === 'DELETE') {
        const stored = objectOf(bucketName, name, query)
        bucketOf(bucketName).delete(name)
        const now = new Date().toISOString()
        notify({ type: OBJECT_DELETED, bucket: bucketName, object: { ...stored.resource, updated: now } })
        res.writeHead(204, { 'content-length': '0' })
        res.end()
        return
      }
    }
    if ((match = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(parsed.pathname)) && req.method === 'GET') return list(res, decodeURIComponent(match[1] as string), query)
    if ((match = /^\/storage\/v1\/b\/([^/]+)$/.exec(parsed.pathname)) && req.method === 'GET') {
      const name = decodeURIComponent(match[1] as string)
      bucketOf(name)
      return sendJson(res, 200, { kind: 'storage#bucket', id: name, name, location: 'US', storageClass: 'STANDARD', metageneration: '1', timeCreated: new Date(0).toISOString() })
    }
    throw new ApiError(404, 'notFound', `No such endpoint: ${req.method} ${path}`)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (error instanceof ApiError) return sendError(res, error)
      log(`local Cloud Storage: ${req.method} ${req.url}: ${(error as Error)?.stack ?? String(error)}`)
      sendError(res, new ApiError(500, 'backendError', 'Internal error'))
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => resolve())
  })
  const { port } = server.address() as AddressInfo
  url = `http://${host}:${port}`
  return {
    url,
    port,
    objects: (bucket) => new Map([...(buckets.get(bucket) ?? new Map<string, Stored>())].map(([name, stored]) => [name, stored.resource])),
    async stop() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
