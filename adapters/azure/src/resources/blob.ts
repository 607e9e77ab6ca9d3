/**
 * Objects on Azure Blob Storage over its REST API (https://learn.microsoft.com/rest/api/storageservices/blob-service-rest-api):
 * Put Blob (block blobs), Get Blob, Get Blob Properties, Delete Blob, List Blobs.
 */
import { bareEtag, isoTime, objectList, storedObject, xmlElements, xmlValue, type BucketBackend, type Call, type ObjectLimits } from '@polycloud/resources/driver'
import type { HttpResponse } from '@polycloud/resources/node-http'
import type { ObjectInfo, ObjectList, PutResult, StoredObject } from '@polycloud/resources'
import type { StorageConnection } from './connection.js'
import { encodePath, storageError, storageRequest } from './storage.js'

/** Bodies up to this size are read with the response headers; larger ones are streamed on demand. */
const EAGER_BYTES = 1024 * 1024

export interface BlobConfig {
  readonly container: string
  readonly connection: StorageConnection
  readonly env: Readonly<Record<string, string | undefined>>
  readonly limits: ObjectLimits
}

export function openBlob(config: BlobConfig): BucketBackend {
  const { connection, env } = config
  const base = `/${encodePath(config.container)}`
  const send = (method: string, key: string | undefined, call: Call, extra: { query?: Array<[string, string]>; headers?: Record<string, string>; body?: Uint8Array } = {}): Promise<HttpResponse> =>
    storageRequest(connection, env, { method, path: key === undefined ? base : `${base}/${encodePath(key)}`, ...extra }, call.signal)

  const info = (key: string, response: HttpResponse): ObjectInfo => {
    const metadata: Record<string, string> = {}
    for (const name of Object.keys(response.headers)) if (name.startsWith('x-ms-meta-')) metadata[name.slice(10)] = response.header(name) as string
    return {
      key,
      size: Number(response.header('content-length') ?? 0),
      etag: bareEtag(response.header('etag')),
      contentType: response.header('content-type'),
      metadata,
      uploaded: isoTime(response.header('last-modified')),
    }
  }

  /** A 404 for the blob itself (null) rather than its container (NotFound). */
  const missingBlob = (response: HttpResponse): boolean => response.status === 404 && response.header('x-ms-error-code') === 'BlobNotFound'

  return {
    limits: config.limits,
    async put(key: string, body: Uint8Array, contentType: string, metadata: Readonly<Record<string, string>>, call: Call): Promise<PutResult> {
      const headers: Record<string, string> = { 'x-ms-blob-type': 'BlockBlob', 'x-ms-blob-content-type': contentType }
      for (const name of Object.keys(metadata)) headers[`x-ms-meta-${name}`] = metadata[name] as string
      const response = await send('PUT', key, call, { headers, body })
      if (response.status !== 201) throw await storageError('Blob Storage', response)
      response.discard()
      return { key, size: body.length, etag: bareEtag(response.header('etag')) }
    },
    async get(key: string, call: Call): Promise<StoredObject | null> {
      const response = await send('GET', key, call)
      if (missingBlob(response)) {
        response.discard()
        return null
      }
      if (response.status !== 200) throw await storageError('Blob Storage', response)
      const described = info(key, response)
      if (described.size <= EAGER_BYTES) return storedObject(described, { bytes: await response.bytes() })
      return storedObject(described, { stream: () => response.stream(), read: () => response.bytes() })
    },
    async head(key: string, call: Call): Promise<ObjectInfo | null> {
      const response = await send('HEAD', key, call)
      if (response.status !== 200 && !missingBlob(response)) throw await storageError('Blob Storage', response)
      response.discard()
      return missingBlob(response) ? null : info(key, response)
    },
    async delete(key: string, call: Call): Promise<void> {
      const response = await send('DELETE', key, call)
      if (missingBlob(response)) return response.discard()
      if (response.status !== 202) throw await storageError('Blob Storage', response)
      response.discard()
    },
    async list(prefix: string, cursor: string | undefined, limit: number, call: Call): Promise<ObjectList> {
      const query: Array<[string, string]> = [['restype', 'container'], ['comp', 'list'], ['maxresults', String(limit)]]
      if (prefix !== '') query.push(['prefix', prefix])
      if (cursor !== undefined) query.push(['marker', cursor])
      const response = await send('GET', undefined, call, { query })
      if (response.status !== 200) throw await storageError('Blob Storage', response)
      const xml = await response.text()
      const objects = xmlElements(xml, 'Blob').map((item) => ({
        key: xmlValue(item, 'Name') ?? '',
        size: Number(xmlValue(item, 'Content-Length') ?? 0),
        etag: bareEtag(xmlValue(item, 'Etag')),
        uploaded: isoTime(xmlValue(item, 'Last-Modified')),
      }))
      return objectList(objects, xmlValue(xml, 'NextMarker'))
    },
  }
}
