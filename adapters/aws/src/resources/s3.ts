/**
 * Objects on S3 over its REST API (https://docs.aws.amazon.com/AmazonS3/latest/API/): PutObject, GetObject,
 * HeadObject, DeleteObject, ListObjectsV2, signed with SigV4. Virtual-hosted URLs on AWS, path-style when an endpoint
 * is overridden (`AWS_ENDPOINT_URL_S3`, as the SDK's `forcePathStyle` for local S3s) or the bucket name has a dot.
 */
import {
  DriverError,
  bareEtag,
  isoTime,
  objectList,
  storedObject,
  xmlElements,
  xmlValue,
  type BucketBackend,
  type Call,
  type ObjectLimits,
} from '@polycloud/resources/driver'
import { request, type HttpResponse } from '@polycloud/resources/node-http'
import type { ObjectInfo, ObjectList, PutResult, StoredObject } from '@polycloud/resources'
import { awsError } from './errors.js'
import { xrayOf } from './message.js'
import { EMPTY_SHA256, canonicalQuery, sha256Hex, sign, uriEncode, type Credentials } from './sigv4.js'

/** Bodies up to this size are read with the response headers; larger ones are streamed on demand. */
export const EAGER_BYTES = 1024 * 1024

export interface S3Config {
  readonly bucket: string
  readonly region: string
  readonly credentials: Credentials
  /** An endpoint override (path-style), or undefined for AWS's own. */
  readonly endpoint: string | undefined
  readonly limits: ObjectLimits
}

export function openS3(config: S3Config): BucketBackend {
  return new S3Bucket(config)
}

class S3Bucket implements BucketBackend {
  readonly limits: ObjectLimits
  readonly #config: S3Config
  readonly #base: string

  constructor(config: S3Config) {
    this.#config = config
    this.limits = config.limits
    const { bucket, region, endpoint } = config
    if (endpoint !== undefined) this.#base = `${endpoint.replace(/\/+$/, '')}/${uriEncode(bucket)}`
    else if (bucket.includes('.')) this.#base = `https://s3.${region}.amazonaws.com/${uriEncode(bucket)}`
    else this.#base = `https://${bucket}.s3.${region}.amazonaws.com`
  }

  async #send(method: string, key: string | undefined, query: ReadonlyArray<readonly [string, string]>, headers: Record<string, string>, body: Uint8Array | undefined, call: Call): Promise<HttpResponse> {
    const url = new URL(`${this.#base}/${key === undefined ? '' : uriEncode(key, true)}`)
    if (query.length > 0) url.search = canonicalQuery(query)
    const payloadHash = body === undefined ? EMPTY_SHA256 : sha256Hex(body)
    headers['x-amz-content-sha256'] = payloadHash
    sign({ method, url, headers, payloadHash, region: this.#config.region, service: 's3', credentials: this.#config.credentials })
    return request({ method, url, headers, body, signal: call.signal })
  }

  /** The error of a failed answer: S3's `<Error><Code>` (none for HEAD). */
  async #fail(response: HttpResponse): Promise<never> {
    const text = await response.text()
    throw awsError('S3', response.status, xmlValue(text, 'Code') ?? '', xmlValue(text, 'Message') ?? (text.trim() || `HTTP ${response.status}`))
  }

  async put(key: string, body: Uint8Array, contentType: string, metadata: Readonly<Record<string, string>>, call: Call): Promise<PutResult> {
    const headers: Record<string, string> = { 'content-type': contentType, 'content-length': String(body.length) }
    for (const name of Object.keys(metadata)) headers[`x-amz-meta-${name}`] = metadata[name] as string
    // S3 passes the X-Ray header to the object's event notifications: the function they invoke continues the trace.
    const trace = xrayOf(metadata.traceparent)
    if (trace !== undefined) headers['x-amzn-trace-id'] = trace
    const response = await this.#send('PUT', key, [], headers, body, call)
    if (response.status !== 200) return this.#fail(response)
    response.discard()
    return { key, size: body.length, etag: bareEtag(response.header('etag')) }
  }

  #info(key: string, response: HttpResponse): ObjectInfo {
    const metadata: Record<string, string> = {}
    for (const name of Object.keys(response.headers)) {
      if (name.startsWith('x-amz-meta-')) metadata[name.slice(11)] = response.header(name) as string
    }
    return {
      key,
      size: Number(response.header('content-length') ?? 0),
      etag: bareEtag(response.header('etag')),
      contentType: response.header('content-type'),
      metadata,
      uploaded: isoTime(response.header('last-modified')),
    }
  }

  async get(key: string, call: Call): Promise<StoredObject | null> {
    const response = await this.#send('GET', key, [], {}, undefined, call)
    if (response.status === 404) {
      const text = await response.text()
      if (xmlValue(text, 'Code') === 'NoSuchKey') return null
      throw awsError('S3', 404, xmlValue(text, 'Code') ?? '', xmlValue(text, 'Message') ?? text)
    }
    if (response.status !== 200) return this.#fail(response)
    const info = this.#info(key, response)
    if (info.size <= EAGER_BYTES) return storedObject(info, { bytes: await response.bytes() })
    return storedObject(info, { stream: () => response.stream(), read: () => response.bytes() })
  }

  async head(key: string, call: Call): Promise<ObjectInfo | null> {
    const response = await this.#send('HEAD', key, [], {}, undefined, call)
    response.discard()
    // HEAD answers have no body: a 404 is a missing key (or bucket: `list` tells them apart).
    if (response.status === 404) return null
    if (response.status !== 200) throw awsError('S3', response.status, response.status === 403 ? 'AccessDenied' : '', `HEAD answered ${response.status}`)
    return this.#info(key, response)
  }

  async delete(key: string, call: Call): Promise<void> {
    const response = await this.#send('DELETE', key, [], {}, undefined, call)
    if (response.status !== 204 && response.status !== 200) return this.#fail(response)
    response.discard()
  }

  async list(prefix: string, cursor: string | undefined, limit: number, call: Call): Promise<ObjectList> {
    const query: Array<[string, string]> = [['list-type', '2'], ['encoding-type', 'url'], ['max-keys', String(limit)]]
    if (prefix !== '') query.push(['prefix', prefix])
    if (cursor !== undefined) query.push(['continuation-token', cursor])
    const response = await this.#send('GET', undefined, query, {}, undefined, call)
    if (response.status !== 200) return this.#fail(response)
    const xml = await response.text()
    const objects = xmlElements(xml, 'Contents').map((item) => {
      const key = xmlValue(item, 'Key') ?? ''
      return { key: decodeKey(key), size: Number(xmlValue(item, 'Size') ?? 0), etag: bareEtag(xmlValue(item, 'ETag')), uploaded: isoTime(xmlValue(item, 'LastModified')) }
    })
    if (objects.some((item) => item.key === '')) throw new DriverError('Unavailable', 'S3 answered a listing with an object without a key')
    return objectList(objects, xmlValue(xml, 'IsTruncated') === 'true' ? xmlValue(xml, 'NextContinuationToken') : undefined)
  }
}

/** A key of an `encoding-type=url` listing (form-encoded: `+` is a space). */
function decodeKey(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '))
}
