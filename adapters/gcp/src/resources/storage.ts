/**
 * Objects on Cloud Storage over its JSON API (https://cloud.google.com/storage/docs/json_api/v1/objects): a multipart
 * upload (metadata and bytes in one request), the object's metadata then its bytes pinned to that generation,
 * delete, list. An emulator (`STORAGE_EMULATOR_HOST`) gets no credentials, as with Google's own clients.
 */
import { randomBytes } from 'node:crypto'
import { utf8Encode } from '@polycloud/core/adapter'
import { isoTime, objectList, storedObject, type BucketBackend, type Call, type ObjectLimits } from '@polycloud/resources/driver'
import { request, type HttpResponse } from '@polycloud/resources/node-http'
import type { ObjectInfo, ObjectList, PutResult, StoredObject } from '@polycloud/resources'
import type { GoogleAuth } from './auth.js'
import { googleError } from './errors.js'

/** Bodies up to this size are read with the response headers; larger ones are streamed on demand. */
const EAGER_BYTES = 1024 * 1024

export interface GcsConfig {
  readonly bucket: string
  /** `https://storage.googleapis.com`, or an emulator's origin. */
  readonly origin: string
  readonly auth: GoogleAuth
  readonly limits: ObjectLimits
}

interface GcsObject {
  name?: string
  size?: string
  etag?: string
  contentType?: string
  metadata?: Record<string, string>
  updated?: string
  generation?: string
}

export function openGcs(config: GcsConfig): BucketBackend {
  const { auth } = config
  const bucketPath = `/storage/v1/b/${encodeURIComponent(config.bucket)}/o`
  const send = async (method: string, path: string, query: Array<[string, string]>, call: Call, extra: { headers?: Record<string, string>; body?: Uint8Array } = {}): Promise<HttpResponse> => {
    const url = new URL(`${config.origin}${path}`)
    for (const [name, value] of query) url.searchParams.append(name, value)
    const headers: Record<string, string> = { ...extra.headers }
    const authorization = await auth.authorization(call.signal)
    if (authorization !== undefined) headers.authorization = authorization
    if (extra.body !== undefined) headers['content-length'] = String(extra.body.length)
    return request({ method, url, headers, body: extra.body, signal: call.signal })
  }
  const objectPath = (key: string): string => `${bucketPath}/${encodeURIComponent(key)}`

  /** The object's metadata, null for a missing object, NotFound for a missing bucket. */
  const describe = async (key: string, call: Call): Promise<GcsObject | null> => {
    const response = await send('GET', objectPath(key), [], call)
    const text = await response.text()
    if (response.status === 404 && !/bucket/i.test(text)) return null
    if (response.status !== 200) throw await googleError('Cloud Storage', response, text)
    return JSON.parse(text) as GcsObject
  }

  const info = (key: string, object: GcsObject): ObjectInfo => ({
    key,
    size: Number(object.size ?? 0),
    etag: object.etag ?? '',
    contentType: object.contentType,
    metadata: object.metadata ?? {},
    uploaded: isoTime(object.updated),
  })

  return {
    limits: config.limits,
    async put(key: string, body: Uint8Array, contentType: string, metadata: Readonly<Record<string, string>>, call: Call): Promise<PutResult> {
      const resource = JSON.stringify({ name: key, contentType, ...(Object.keys(metadata).length > 0 ? { metadata } : {}) })
      let boundary = `polycloud-${randomBytes(12).toString('hex')}`
      while (Buffer.from(body.buffer, body.byteOffset, body.byteLength).includes(boundary)) boundary = `polycloud-${randomBytes(12).toString('hex')}`
      const head = utf8Encode(`--${boundary}\r\ncontent-type: application/json; charset=UTF-8\r\n\r\n${resource}\r\n--${boundary}\r\ncontent-type: ${contentType}\r\n\r\n`)
      const tail = utf8Encode(`\r\n--${boundary}--\r\n`)
      const payload = Buffer.concat([head, body, tail])
      const url = `/upload${bucketPath}`
      const response = await send('POST', url, [['uploadType', 'multipart']], call, { headers: { 'content-type': `multipart/related; boundary=${boundary}` }, body: payload })
      const text = await response.text()
      if (response.status !== 200) throw await googleError('Cloud Storage', response, text)
      const object = JSON.parse(text) as GcsObject
      return { key, size: Number(object.size ?? body.length), etag: object.etag ?? '' }
    },
    async get(key: string, call: Call): Promise<StoredObject | null> {
      const object = await describe(key, call)
      if (object === null) return null
      const query: Array<[string, string]> = [['alt', 'media']]
      if (object.generation !== undefined) query.push(['generation', object.generation])
      const response = await send('GET', objectPath(key), query, call)
      if (response.status === 404) {
        response.discard()
        return null
      }
      if (response.status !== 200) throw await googleError('Cloud Storage', response)
      const described = info(key, object)
      if (described.size <= EAGER_BYTES) return storedObject(described, { bytes: await response.bytes() })
      return storedObject(described, { stream: () => response.stream(), read: () => response.bytes() })
    },
    async head(key: string, call: Call): Promise<ObjectInfo | null> {
      const object = await describe(key, call)
      return object === null ? null : info(key, object)
    },
    async delete(key: string, call: Call): Promise<void> {
      const response = await send('DELETE', objectPath(key), [], call)
      const text = await response.text()
      if (response.status === 204 || response.status === 200) return
      if (response.status === 404 && !/bucket/i.test(text)) return
      throw await googleError('Cloud Storage', response, text)
    },
    async list(prefix: string, cursor: string | undefined, limit: number, call: Call): Promise<ObjectList> {
      const query: Array<[string, string]> = [['maxResults', String(limit)], ['fields', 'items(name,size,etag,updated),nextPageToken']]
      if (prefix !== '') query.push(['prefix', prefix])
      if (cursor !== undefined) query.push(['pageToken', cursor])
      const response = await send('GET', bucketPath, query, call)
      const text = await response.text()
      if (response.status !== 200) throw await googleError('Cloud Storage', response, text)
      const page = JSON.parse(text) as { items?: GcsObject[]; nextPageToken?: string }
      const objects = (page.items ?? []).map((item) => ({ key: item.name ?? '', size: Number(item.size ?? 0), etag: item.etag ?? '', uploaded: isoTime(item.updated) }))
      return objectList(objects, page.nextPageToken)
    },
  }
}
