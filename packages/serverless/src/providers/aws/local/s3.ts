/**
 * A local Amazon S3 for `serverless offline`: the REST API, path-style (`/<bucket>/<key>`), for what a serverless
 * app does with objects, tested with @aws-sdk/client-s3 and @aws-sdk/lib-storage:
 *
 * - buckets: ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation, Get/PutBucketNotificationConfiguration;
 * - objects: PutObject (plain and aws-chunked bodies, Content-MD5 and flexible checksums verified, conditional
 *   `If-None-Match: *`), GetObject (single ranges, conditional headers, response-* overrides, the stored checksum
 *   with `x-amz-checksum-mode: ENABLED`), HeadObject, DeleteObject, DeleteObjects, CopyObject, ListObjectsV2
 *   (prefix, delimiter, continuation tokens, start-after, url encoding) and ListObjects;
 * - multipart uploads: CreateMultipartUpload, UploadPart, CompleteMultipartUpload (parts in order, all but the last
 *   at least 5 MiB, the `<md5 of md5s>-<n>` ETag), AbortMultipartUpload.
 *
 * Objects are files under the state folder (a body per version, the metadata JSON written atomically after it,
 * so an object is either the old or the new one after a crash). Every change emits the S3 event notification
 * (`ObjectCreated:Put|Copy|CompleteMultipartUpload`, `ObjectRemoved:Delete`) to the destinations whose event,
 * prefix and suffix match, in the record shape S3 sends (event version 2.1).
 *
 * Left out: virtual-hosted-style addressing, versioning, ACLs and policies, tagging, encryption, object lock,
 * lifecycle, website hosting, presigned POST, UploadPartCopy, ListParts/ListMultipartUploads, checksum
 * verification of CRC64NVME (stored as sent), EventBridge notifications, authentication.
 */
import { setOwn } from '@polycloud/core/adapter'
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { copyFile, readFile, rename, rm } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Transform, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { algorithmOfHeader, ALGORITHMS, AwsChunkedDecoder, Checksum, checksumOf, type ChecksumAlgorithm } from './checksums.js'
import { AwsError, childrenNamed, childText, el, parseXml, readBody, s3HostId, s3RequestId, XML_DECLARATION, type XmlNode } from './http.js'
import { readJsonState, writeFileAtomic } from './state.js'

const NS = 'http://s3.amazonaws.com/doc/2006-03-01/'
const MAX_PUT_BYTES = 5 * 1024 ** 3
const MIN_PART_BYTES = 5 * 1024 * 1024
const MAX_XML_BYTES = 2 * 1024 * 1024
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/

/** Where a notification goes: a function, a queue or a topic, by ARN. */
export type NotificationTarget = { readonly functionArn: string } | { readonly queueArn: string } | { readonly topicArn: string }

/** A notification rule: the events (`s3:ObjectCreated:*`, `s3:ObjectRemoved:Delete`, ...), a key filter, the destination. */
export interface NotificationRule {
  readonly id: string
  readonly events: readonly string[]
  readonly prefix?: string
  readonly suffix?: string
  readonly target: NotificationTarget
}

/** One S3 event notification record (event version 2.1). */
export interface S3EventRecord {
  eventVersion: '2.1'
  eventSource: 'aws:s3'
  awsRegion: string
  eventTime: string
  eventName: string
  userIdentity: { principalId: string }
  requestParameters: { sourceIPAddress: string }
  responseElements: { 'x-amz-request-id': string; 'x-amz-id-2': string }
  s3: {
    s3SchemaVersion: '1.0'
    configurationId: string
    bucket: { name: string; ownerIdentity: { principalId: string }; arn: string }
    object: { key: string; size?: number; eTag?: string; sequencer: string }
  }
}

export interface S3Options {
  readonly region: string
  readonly accountId: string
  /** The folder objects are kept in between runs; a temporary folder (removed at stop) when undefined. */
  readonly stateDir?: string
  readonly log: (line: string) => void
  /** Delivers a notification record to a destination. */
  readonly notify: (target: NotificationTarget, event: { Records: [S3EventRecord] }, rule: NotificationRule) => void
  /** Whether a destination exists (PutBucketNotificationConfiguration refuses unknown ones, as S3 does). */
  readonly destinationExists: (target: NotificationTarget) => boolean
  /** Sends S3's `s3:TestEvent` to a queue destination set by PutBucketNotificationConfiguration. */
  readonly testEvent?: (queueArn: string, body: string) => void
}

interface ObjectMeta {
  key: string
  /** The file holding the body, in the bucket's `objects` folder. */
  blob: string
  size: number
  etag: string
  lastModified: number
  contentType: string
  headers: Record<string, string>
  metadata: Record<string, string>
  checksum?: { algorithm: ChecksumAlgorithm; value: string; type: 'FULL_OBJECT' | 'COMPOSITE' }
}

interface Bucket {
  name: string
  created: number
  notifications: NotificationRule[]
  objects: Map<string, ObjectMeta>
}

interface Upload {
  id: string
  key: string
  created: number
  contentType: string
  headers: Record<string, string>
  metadata: Record<string, string>
  algorithm?: ChecksumAlgorithm
  parts: Record<string, { etag: string; size: number; checksum?: string }>
}

/** Headers stored with an object and returned with it. */
const STORED_HEADERS = ['cache-control', 'content-disposition', 'content-encoding', 'content-language', 'expires']

const keyFile = (key: string): string => createHash('sha256').update(key).digest('hex')

/** A key as S3 writes it in notifications: URL-encoded, a space as `+`, `/` kept. */
export function notificationKey(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+').replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`)
}

function isBucketMeta(value: unknown): value is { created: number; notifications: NotificationRule[] } {
  return typeof value === 'object' && value !== null && typeof (value as { created?: unknown }).created === 'number' && Array.isArray((value as { notifications?: unknown }).notifications)
}

function isObjectMeta(value: unknown): value is ObjectMeta {
  const meta = value as Partial<ObjectMeta> | null
  return typeof meta === 'object' && meta !== null && typeof meta.key === 'string' && typeof meta.blob === 'string' && typeof meta.size === 'number' && typeof meta.etag === 'string'
}

function isUpload(value: unknown): value is Upload {
  const upload = value as Partial<Upload> | null
  return typeof upload === 'object' && upload !== null && typeof upload.id === 'string' && typeof upload.key === 'string' && typeof upload.parts === 'object'
}

const httpDate = (ms: number): string => new Date(ms).toUTCString()
const isoDate = (ms: number): string => new Date(ms).toISOString()

/** Counts and hashes the bytes streaming through (MD5 for the ETag, and one flexible checksum). */
class Digest extends Transform {
  size = 0
  readonly md5 = createHash('md5')
  readonly checksums: Checksum[]

  constructor(algorithms: readonly ChecksumAlgorithm[]) {
    super()
    this.checksums = algorithms.map((algorithm) => new Checksum(algorithm))
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.size += chunk.length
    if (this.size > MAX_PUT_BYTES) return callback(new AwsError('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed object size.'))
    this.md5.update(chunk)
    for (const checksum of this.checksums) checksum.update(chunk)
    callback(null, chunk)
  }
}

export class LocalS3 {
  private readonly buckets = new Map<string, Bucket>()
  private readonly uploads = new Map<string, Upload & { bucket: string }>()
  private readonly root: string
  private readonly temporary: boolean
  private sequencer = BigInt(Date.now()) * 1_000_000n

  constructor(private readonly options: S3Options) {
    this.temporary = options.stateDir === undefined
    this.root = options.stateDir ?? mkdtempSync(join(tmpdir(), 'polycloud-s3-'))
    mkdirSync(this.root, { recursive: true })
    this.load()
  }

  /* ---------- state ---------- */

  private bucketDir(name: string): string {
    return join(this.root, name)
  }

  /** Loads buckets, objects and uploads; removes bodies no metadata points to (a write cut short) and temporary files. */
  private load(): void {
    for (const entry of readdirSync(this.root, { withFileTypes: true })) {
      if (!entry.isDirectory() || !BUCKET_NAME.test(entry.name)) continue
      const dir = this.bucketDir(entry.name)
      const meta = readJsonState(join(dir, 'bucket.json'), `bucket ${entry.name}'s settings`, this.options.log, isBucketMeta)
      const bucket: Bucket = { name: entry.name, created: meta?.created ?? Date.now(), notifications: meta?.notifications ?? [], objects: new Map() }
      const objects = join(dir, 'objects')
      mkdirSync(objects, { recursive: true })
      const files = readdirSync(objects)
      for (const file of files.filter((name) => name.endsWith('.json'))) {
        const object = readJsonState(join(objects, file), 'object metadata', this.options.log, isObjectMeta)
        if (object !== undefined && existsSync(join(objects, object.blob))) bucket.objects.set(object.key, object)
      }
      const used = new Set([...bucket.objects.values()].map((object) => object.blob))
      for (const file of files) {
        if (!file.endsWith('.json') && !file.includes('.corrupt-') && !used.has(file)) rmSync(join(objects, file), { force: true })
      }
      const uploads = join(dir, 'uploads')
      if (existsSync(uploads)) {
        for (const id of readdirSync(uploads)) {
          const upload = readJsonState(join(uploads, id, 'upload.json'), 'multipart upload', this.options.log, isUpload)
          if (upload !== undefined) this.uploads.set(upload.id, { ...upload, bucket: bucket.name })
        }
      }
      this.buckets.set(bucket.name, bucket)
    }
  }

  private saveBucket(bucket: Bucket): Promise<void> {
    return writeFileAtomic(join(this.bucketDir(bucket.name), 'bucket.json'), JSON.stringify({ created: bucket.created, notifications: bucket.notifications }))
  }

  private saveUpload(upload: Upload & { bucket: string }): Promise<void> {
    const { bucket, ...rest } = upload
    return writeFileAtomic(join(this.bucketDir(bucket), 'uploads', upload.id, 'upload.json'), JSON.stringify(rest))
  }

  /* ---------- buckets ---------- */

  bucketNames(): string[] {
    return [...this.buckets.keys()].sort()
  }

  private bucket(name: string): Bucket {
    const bucket = this.buckets.get(name)
    if (bucket === undefined) throw new AwsError('NoSuchBucket', 'The specified bucket does not exist', 404, { BucketName: name })
    return bucket
  }

  async createBucket(name: string): Promise<void> {
    if (!BUCKET_NAME.test(name) || name.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(name) || name.startsWith('xn--') || name.endsWith('-s3alias')) {
      throw new AwsError('InvalidBucketName', 'The specified bucket is not valid.', 400, { BucketName: name })
    }
    if (this.buckets.has(name)) {
      // us-east-1 answers success to its owner (legacy); every other region BucketAlreadyOwnedByYou.
      if (this.options.region === 'us-east-1') return
      throw new AwsError('BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.', 409, { BucketName: name })
    }
    const bucket: Bucket = { name, created: Date.now(), notifications: [], objects: new Map() }
    mkdirSync(join(this.bucketDir(name), 'objects'), { recursive: true })
    await this.saveBucket(bucket)
    this.buckets.set(name, bucket)
  }

  /** Creates a bucket of the service model if missing and sets its notification rules (the model's are the configuration). */
  async ensureBucket(name: string, notifications: readonly NotificationRule[]): Promise<void> {
    if (!this.buckets.has(name)) await this.createBucket(name)
    const bucket = this.bucket(name)
    bucket.notifications = [...notifications]
    await this.saveBucket(bucket)
  }

  async deleteBucket(name: string): Promise<void> {
    const bucket = this.bucket(name)
    if (bucket.objects.size > 0 || [...this.uploads.values()].some((upload) => upload.bucket === name)) {
      throw new AwsError('BucketNotEmpty', 'The bucket you tried to delete is not empty', 409, { BucketName: name })
    }
    this.buckets.delete(name)
    await rm(this.bucketDir(name), { recursive: true, force: true })
  }

  /* ---------- notifications ---------- */

  private emit(bucket: Bucket, eventName: string, key: string, object: { size?: number; etag?: string }, context: RequestContext): void {
    for (const rule of bucket.notifications) {
      const matches = rule.events.some((event) => event === `s3:${eventName}` || (event.endsWith(':*') && `s3:${eventName}`.startsWith(event.slice(0, -1))))
      if (!matches || !key.startsWith(rule.prefix ?? '') || !key.endsWith(rule.suffix ?? '')) continue
      this.sequencer += 1n
      const record: S3EventRecord = {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: this.options.region,
        eventTime: new Date().toISOString(),
        eventName,
        userIdentity: { principalId: `AWS:${context.principal}` },
        requestParameters: { sourceIPAddress: context.sourceIp },
        responseElements: { 'x-amz-request-id': context.requestId, 'x-amz-id-2': context.hostId },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: rule.id,
          bucket: { name: bucket.name, ownerIdentity: { principalId: this.options.accountId }, arn: `arn:aws:s3:::${bucket.name}` },
          object: {
            key: notificationKey(key),
            ...(object.size === undefined ? {} : { size: object.size }),
            ...(object.etag === undefined ? {} : { eTag: object.etag.replace(/"/g, '') }),
            sequencer: this.sequencer.toString(16).toUpperCase().padStart(18, '0'),
          },
        },
      }
      try {
        this.options.notify(rule.target, { Records: [record] }, rule)
      } catch (error) {
        this.options.log(`local S3: the notification of ${eventName} on ${bucket.name}/${key} to ${JSON.stringify(rule.target)} failed: ${(error as Error).message}`)
      }
    }
  }

  /* ---------- objects ---------- */

  /** Streams a request body into a new blob of the bucket, verifying its declared length and checksums. */
  private async receive(req: IncomingMessage, dir: string): Promise<{ blob: string; size: number; md5: Buffer; checksum?: { algorithm: ChecksumAlgorithm; value: string } }> {
    const headers = req.headers
    const declaredLength = headers['content-length'] === undefined ? undefined : Number(headers['content-length'])
    if (declaredLength !== undefined && declaredLength > MAX_PUT_BYTES + 1024 * 1024) throw new AwsError('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed object size.')
    const chunked = String(headers['content-encoding'] ?? '').includes('aws-chunked') || String(headers['x-amz-content-sha256'] ?? '').startsWith('STREAMING-')
    const headerAlgorithms = Object.keys(headers).map(algorithmOfHeader).filter((a): a is ChecksumAlgorithm => a !== undefined)
    const trailer = algorithmOfHeader(String(headers['x-amz-trailer'] ?? ''))
    const algorithm = headerAlgorithms[0] ?? trailer
    const digest = new Digest(algorithm === undefined ? [] : [algorithm])
    const decoder = chunked ? new AwsChunkedDecoder() : new PassThrough()
    const blob = `${randomUUID()}.blob`
    const tmp = join(dir, `${blob}.tmp`)
    try {
      await pipeline(req, decoder, digest, createWriteStream(tmp))
    } catch (error) {
      await rm(tmp, { force: true })
      throw error
    }
    const fail = async (error: AwsError): Promise<never> => {
      await rm(tmp, { force: true })
      throw error
    }
    const decodedLength = headers['x-amz-decoded-content-length']
    if (chunked && decodedLength !== undefined && Number(decodedLength) !== digest.size) {
      await fail(new AwsError('IncompleteBody', `You did not provide the number of bytes specified by the x-amz-decoded-content-length header (${decodedLength}); ${digest.size} arrived.`))
    }
    if (!chunked && declaredLength !== undefined && declaredLength !== digest.size) await fail(new AwsError('IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header.'))
    const md5 = digest.md5.digest()
    const contentMd5 = headers['content-md5']
    if (typeof contentMd5 === 'string' && contentMd5 !== md5.toString('base64')) await fail(new AwsError('BadDigest', 'The Content-MD5 you specified did not match what we received.'))
    let checksum: { algorithm: ChecksumAlgorithm; value: string } | undefined
    if (algorithm !== undefined) {
      const header = `x-amz-checksum-${algorithm.toLowerCase()}`
      const sent = (typeof headers[header] === 'string' ? headers[header] : undefined) ?? (decoder instanceof AwsChunkedDecoder ? decoder.trailers[header] : undefined)
      const computed = digest.checksums[0]?.digest()
      if (sent === undefined) await fail(new AwsError('InvalidRequest', `The ${header} trailer was declared but not sent.`))
      if (computed !== undefined && computed !== sent) await fail(new AwsError('BadDigest', `The ${algorithm} you specified did not match the calculated checksum.`))
      checksum = { algorithm, value: sent as string }
    }
    await rename(tmp, join(dir, blob))
    return { blob, size: digest.size, md5, ...(checksum ? { checksum } : {}) }
  }

  /** Stores an object's metadata (the commit point) and drops the blob it replaces. */
  private async commit(bucket: Bucket, meta: ObjectMeta): Promise<void> {
    const objects = join(this.bucketDir(bucket.name), 'objects')
    await writeFileAtomic(join(objects, `${keyFile(meta.key)}.json`), JSON.stringify(meta))
    const previous = bucket.objects.get(meta.key)
    bucket.objects.set(meta.key, meta)
    if (previous !== undefined && previous.blob !== meta.blob) await rm(join(objects, previous.blob), { force: true })
  }

  private object(bucket: Bucket, key: string): ObjectMeta {
    const object = bucket.objects.get(key)
    if (object === undefined) throw new AwsError('NoSuchKey', 'The specified key does not exist.', 404, { Key: key })
    return object
  }

  /** Reads an object's body (for notifications' consumers and tests). */
  readObject(bucket: string, key: string): Promise<Buffer> {
    const object = this.object(this.bucket(bucket), key)
    return readFile(join(this.bucketDir(bucket), 'objects', object.blob))
  }

  private async putObject(req: IncomingMessage, res: ServerResponse, bucket: Bucket, key: string, context: RequestContext): Promise<void> {
    checkKey(key)
    if (req.headers['if-none-match'] === '*' && bucket.objects.has(key)) {
      req.resume()
      throw new AwsError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', 412, { Condition: 'If-None-Match' })
    }
    const received = await this.receive(req, join(this.bucketDir(bucket.name), 'objects'))
    const meta: ObjectMeta = {
      key,
      blob: received.blob,
      size: received.size,
      etag: `"${received.md5.toString('hex')}"`,
      lastModified: Date.now(),
      ...objectHeaders(req),
      ...(received.checksum ? { checksum: { ...received.checksum, type: 'FULL_OBJECT' as const } } : {}),
    }
    await this.commit(bucket, meta)
    const headers: Record<string, string> = { ETag: meta.etag }
    if (meta.checksum) headers[`x-amz-checksum-${meta.checksum.algorithm.toLowerCase()}`] = meta.checksum.value
    send(res, 200, context, headers)
    this.emit(bucket, 'ObjectCreated:Put', key, { size: meta.size, etag: meta.etag }, context)
  }

  private async getObject(req: IncomingMessage, res: ServerResponse, bucket: Bucket, key: string, query: URLSearchParams, context: RequestContext, head: boolean): Promise<void> {
    const object = this.object(bucket, key)
    const headers: Record<string, string> = {
      'Last-Modified': httpDate(object.lastModified),
      ETag: object.etag,
      'Content-Type': object.contentType,
      'Accept-Ranges': 'bytes',
      ...Object.fromEntries(Object.entries(object.headers).map(([name, value]) => [name, value])),
      ...Object.fromEntries(Object.entries(object.metadata).map(([name, value]) => [`x-amz-meta-${name}`, value])),
    }
    const overrides: Record<string, string> = { 'response-content-type': 'Content-Type', 'response-content-language': 'Content-Language', 'response-expires': 'Expires', 'response-cache-control': 'Cache-Control', 'response-content-disposition': 'Content-Disposition', 'response-content-encoding': 'Content-Encoding' }
    for (const [param, header] of Object.entries(overrides)) {
      const value = query.get(param)
      if (value !== null) headers[header] = value
    }
    const precondition = conditional(req, object)
    if (precondition === 412) throw new AwsError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', 412)
    if (precondition === 304) return send(res, 304, context, { ETag: object.etag, 'Last-Modified': headers['Last-Modified'] as string })
    let start = 0
    let end = object.size - 1
    let status = 200
    const range = parseRange(req.headers.range, object.size)
    if (range === 'unsatisfiable') throw new AwsError('InvalidRange', 'The requested range is not satisfiable', 416, { RangeRequested: String(req.headers.range), ActualObjectSize: String(object.size) })
    if (range !== undefined) {
      ;[start, end] = range
      status = 206
      headers['Content-Range'] = `bytes ${start}-${end}/${object.size}`
    } else if (object.checksum && req.headers['x-amz-checksum-mode'] === 'ENABLED') {
      headers[`x-amz-checksum-${object.checksum.algorithm.toLowerCase()}`] = object.checksum.value
      headers['x-amz-checksum-type'] = object.checksum.type
    }
    const length = object.size === 0 ? 0 : end - start + 1
    headers['Content-Length'] = String(length)
    res.writeHead(status, { ...baseHeaders(context), ...headers })
    if (head || length === 0) return void res.end()
    await pipeline(createReadStream(join(this.bucketDir(bucket.name), 'objects', object.blob), { start, end }), res)
  }

  private async deleteObject(res: ServerResponse, bucket: Bucket, key: string, context: RequestContext): Promise<void> {
    const existed = await this.remove(bucket, key)
    send(res, 204, context)
    if (existed) this.emit(bucket, 'ObjectRemoved:Delete', key, {}, context)
  }

  private async remove(bucket: Bucket, key: string): Promise<boolean> {
    const object = bucket.objects.get(key)
    if (object === undefined) return false
    const objects = join(this.bucketDir(bucket.name), 'objects')
    await rm(join(objects, `${keyFile(key)}.json`), { force: true })
    bucket.objects.delete(key)
    await rm(join(objects, object.blob), { force: true })
    return true
  }

  private async deleteObjects(req: IncomingMessage, res: ServerResponse, bucket: Bucket, context: RequestContext): Promise<void> {
    const body = await readBody(req, MAX_XML_BYTES, () => new AwsError('MalformedXML', 'The XML you provided was too large.'))
    const hasChecksum = req.headers['content-md5'] !== undefined || ALGORITHMS.some((algorithm) => req.headers[`x-amz-checksum-${algorithm.toLowerCase()}`] !== undefined)
    if (!hasChecksum) throw new AwsError('InvalidRequest', 'Missing required header for this request: Content-MD5 (or an x-amz-checksum-* header).')
    verifyBodyChecksums(req, body)
    const xml = parseXml(body.toString('utf8'))
    if (xml.name !== 'Delete') throw new AwsError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.')
    const keys = childrenNamed(xml, 'Object').map((object) => childText(object, 'Key') ?? '')
    if (keys.length === 0 || keys.length > 1000) throw new AwsError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.')
    const quiet = childText(xml, 'Quiet') === 'true'
    const deleted: string[] = []
    for (const key of keys) {
      if (await this.remove(bucket, key)) this.emit(bucket, 'ObjectRemoved:Delete', key, {}, context)
      if (!quiet) deleted.push(el('Deleted', [el('Key', key)]))
    }
    sendXml(res, 200, context, el('DeleteResult', deleted).replace('<DeleteResult>', `<DeleteResult xmlns="${NS}">`))
  }

  private async copyObject(req: IncomingMessage, res: ServerResponse, bucket: Bucket, key: string, context: RequestContext): Promise<void> {
    checkKey(key)
    const source = decodeURIComponent(String(req.headers['x-amz-copy-source']).split('?')[0] as string).replace(/^\//, '')
    const slash = source.indexOf('/')
    if (slash <= 0) throw new AwsError('InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey', 400)
    const from = this.bucket(source.slice(0, slash))
    const object = this.object(from, source.slice(slash + 1))
    const replace = req.headers['x-amz-metadata-directive'] === 'REPLACE'
    if (from === bucket && object.key === key && !replace) {
      throw new AwsError('InvalidRequest', 'This copy request is illegal because it is trying to copy an object to itself without changing the object\'s metadata, storage class, website redirect location or encryption attributes.')
    }
    req.resume()
    const blob = `${randomUUID()}.blob`
    await copyFile(join(this.bucketDir(from.name), 'objects', object.blob), join(this.bucketDir(bucket.name), 'objects', blob))
    const meta: ObjectMeta = { ...object, key, blob, lastModified: Date.now(), ...(replace ? objectHeaders(req) : {}) }
    await this.commit(bucket, meta)
    sendXml(res, 200, context, `<CopyObjectResult xmlns="${NS}">${el('LastModified', isoDate(meta.lastModified))}${el('ETag', meta.etag)}</CopyObjectResult>`)
    this.emit(bucket, 'ObjectCreated:Copy', key, { size: meta.size, etag: meta.etag }, context)
  }

  /* ---------- listing ---------- */

  private list(bucket: Bucket, query: URLSearchParams, context: RequestContext, res: ServerResponse): void {
    const v2 = query.get('list-type') === '2'
    const prefix = query.get('prefix') ?? ''
    const delimiter = query.get('delimiter') ?? ''
    const maxText = query.get('max-keys')
    const max = maxText === null ? 1000 : Number(maxText)
    if (!Number.isInteger(max) || max < 0) throw new AwsError('InvalidArgument', 'Provided max-keys not an integer or within integer range', 400, { ArgumentName: 'max-keys', ArgumentValue: String(maxText) })
    const limit = Math.min(max, 1000)
    const urlEncoding = query.get('encoding-type') === 'url'
    if (query.get('encoding-type') !== null && !urlEncoding) throw new AwsError('InvalidArgument', 'Invalid Encoding Method specified in Request', 400, { ArgumentName: 'encoding-type' })
    const encode = (text: string): string => (urlEncoding ? encodeURIComponent(text).replace(/%2F/g, '/') : text)
    const token = query.get('continuation-token')
    let after = v2 ? (query.get('start-after') ?? '') : (query.get('marker') ?? '')
    if (v2 && token !== null) {
      const decoded = Buffer.from(token, 'base64url').toString('utf8')
      if (!decoded.startsWith('1:')) throw new AwsError('InvalidArgument', 'The continuation token provided is incorrect', 400, { ArgumentName: 'continuation-token' })
      after = decoded.slice(2)
    }
    const keys = [...bucket.objects.keys()].filter((key) => key.startsWith(prefix) && key > after).sort()
    const contents: ObjectMeta[] = []
    const prefixes: string[] = []
    let last = ''
    let truncated = false
    for (const key of keys) {
      const rest = key.slice(prefix.length)
      const cut = delimiter === '' ? -1 : rest.indexOf(delimiter)
      const common = cut === -1 ? undefined : prefix + rest.slice(0, cut + delimiter.length)
      // A key under a common prefix already listed (or the continuation point) is part of that prefix.
      if (common !== undefined && (prefixes.at(-1) === common || after.startsWith(common))) continue
      if (contents.length + prefixes.length >= limit) {
        truncated = true
        break
      }
      if (common !== undefined) prefixes.push(common)
      else contents.push(bucket.objects.get(key) as ObjectMeta)
      last = common ?? key
    }
    const fetchOwner = !v2 || query.get('fetch-owner') === 'true'
    const owner = el('Owner', [el('ID', this.options.accountId), el('DisplayName', 'local')])
    const items = contents.map((object) =>
      el('Contents', [
        el('Key', encode(object.key)),
        el('LastModified', isoDate(object.lastModified)),
        el('ETag', object.etag),
        ...(object.checksum ? [el('ChecksumAlgorithm', object.checksum.algorithm), el('ChecksumType', object.checksum.type)] : []),
        el('Size', object.size),
        el('StorageClass', 'STANDARD'),
        fetchOwner ? owner : '',
      ]),
    )
    const common = prefixes.map((p) => el('CommonPrefixes', [el('Prefix', encode(p))]))
    const parts = [el('Name', bucket.name), el('Prefix', encode(prefix))]
    if (v2) {
      if (token !== null) parts.push(el('ContinuationToken', token))
      if (truncated) parts.push(el('NextContinuationToken', Buffer.from(`1:${last}`).toString('base64url')))
      if (query.get('start-after') !== null) parts.push(el('StartAfter', encode(query.get('start-after') as string)))
      parts.push(el('KeyCount', contents.length + prefixes.length))
    } else {
      parts.push(el('Marker', encode(query.get('marker') ?? '')))
      if (truncated && delimiter !== '') parts.push(el('NextMarker', encode(last)))
    }
    parts.push(el('MaxKeys', max))
    if (delimiter !== '') parts.push(el('Delimiter', encode(delimiter)))
    if (urlEncoding) parts.push(el('EncodingType', 'url'))
    parts.push(el('IsTruncated', truncated), ...items, ...common)
    sendXml(res, 200, context, `<ListBucketResult xmlns="${NS}">${parts.join('')}</ListBucketResult>`)
  }

  /* ---------- multipart uploads ---------- */

  private upload(bucket: Bucket, key: string, id: string | null): Upload & { bucket: string } {
    const upload = id === null ? undefined : this.uploads.get(id)
    if (upload === undefined || upload.bucket !== bucket.name || upload.key !== key) {
      throw new AwsError('NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', 404, { UploadId: id ?? '' })
    }
    return upload
  }

  private async createUpload(req: IncomingMessage, res: ServerResponse, bucket: Bucket, key: string, context: RequestContext): Promise<void> {
    checkKey(key)
    req.resume()
    const algorithm = req.headers['x-amz-checksum-algorithm'] === undefined ? undefined : String(req.headers['x-amz-checksum-algorithm']).toUpperCase()
    if (algorithm !== undefined && !ALGORITHMS.includes(algorithm as ChecksumAlgorithm)) throw new AwsError('InvalidRequest', `Checksum algorithm ${algorithm} is not supported.`)
    const id = randomBytes(24).toString('base64url')
    const upload = { id, key, bucket: bucket.name, created: Date.now(), ...objectHeaders(req), parts: {}, ...(algorithm ? { algorithm: algorithm as ChecksumAlgorithm } : {}) }
    await this.saveUpload(upload)
    this.uploads.set(id, upload)
    const headers: Record<string, string> = algorithm ? { 'x-amz-checksum-algorithm': algorithm, 'x-amz-checksum-type': 'COMPOSITE' } : {}
    sendXml(res, 200, context, `<InitiateMultipartUploadResult xmlns="${NS}">${el('Bucket', bucket.name)}${el('Key', key)}${el('UploadId', id)}</InitiateMultipartUploadResult>`, headers)
  }

  private async uploadPart(req: IncomingMessage, res: ServerResponse, bucket: Bucket, key: string, query: URLSearchParams, context: RequestContext): Promise<void> {
    const upload = this.upload(bucket, key, query.get('uploadId'))
    const number = Number(query.get('partNumber'))
    if (!Number.isInteger(number) || number < 1 || number > 10_000) {
      req.resume()
      throw new AwsError('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', 400, { ArgumentName: 'partNumber', ArgumentValue: String(query.get('partNumber')) })
    }
    const dir = join(this.bucketDir(bucket.name), 'uploads', upload.id)
    mkdirSync(dir, { recursive: true })
    const received = await this.receive(req, dir)
    await rename(join(dir, received.blob), join(dir, `part-${number}`))
    const etag = `"${received.md5.toString('hex')}"`
    upload.parts[String(number)] = { etag, size: received.size, ...(received.checksum ? { checksum: received.checksum.value } : {}) }
    await this.saveUpload(upload)
    const headers: Record<string, string> = { ETag: etag }
    if (received.checksum) headers[`x-amz-checksum-${received.checksum.algorithm.toLowerCase()}`] = received.checksum.value
    send(res, 200, context, headers)
  }

  private async completeUpload(req: IncomingMessage, res: ServerResponse, bucket: Bucket, key: string, query: URLSearchParams, context: RequestContext): Promise<void> {
    const upload = this.upload(bucket, key, query.get('uploadId'))
    const xml = parseXml((await readBody(req, MAX_XML_BYTES, () => new AwsError('MalformedXML', 'The XML you provided was too large.'))).toString('utf8'))
    const listed = childrenNamed(xml, 'Part').map((part) => ({ number: Number(childText(part, 'PartNumber')), etag: childText(part, 'ETag') ?? '' }))
    if (xml.name !== 'CompleteMultipartUpload' || listed.length === 0) throw new AwsError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.')
    for (let i = 0; i < listed.length; i++) {
      const part = listed[i] as { number: number; etag: string }
      if (i > 0 && part.number <= (listed[i - 1] as { number: number }).number) throw new AwsError('InvalidPartOrder', 'The list of parts was not in ascending order. Parts must be ordered by part number.')
      const stored = upload.parts[String(part.number)]
      if (stored === undefined || stored.etag.replace(/"/g, '') !== part.etag.replace(/"/g, '')) {
        throw new AwsError('InvalidPart', 'One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part\'s entity tag.', 400, { PartNumber: String(part.number) })
      }
    }
    for (const part of listed.slice(0, -1)) {
      const size = (upload.parts[String(part.number)] as { size: number }).size
      if (size < MIN_PART_BYTES) {
        throw new AwsError('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.', 400, { PartNumber: String(part.number), MinSizeAllowed: String(MIN_PART_BYTES), ProposedSize: String(size) })
      }
    }
    const dir = join(this.bucketDir(bucket.name), 'uploads', upload.id)
    const blob = `${randomUUID()}.blob`
    const objects = join(this.bucketDir(bucket.name), 'objects')
    const out = createWriteStream(join(objects, `${blob}.tmp`))
    const md5s: Buffer[] = []
    const partChecksums: Buffer[] = []
    let size = 0
    for (const part of listed) {
      const stored = upload.parts[String(part.number)] as { etag: string; size: number; checksum?: string }
      md5s.push(Buffer.from(stored.etag.replace(/"/g, ''), 'hex'))
      if (stored.checksum !== undefined) partChecksums.push(Buffer.from(stored.checksum, 'base64'))
      size += stored.size
      await pipeline(createReadStream(join(dir, `part-${part.number}`)), out, { end: false })
    }
    await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())))
    await rename(join(objects, `${blob}.tmp`), join(objects, blob))
    const etag = `"${createHash('md5').update(Buffer.concat(md5s)).digest('hex')}-${listed.length}"`
    const meta: ObjectMeta = { key, blob, size, etag, lastModified: Date.now(), contentType: upload.contentType, headers: upload.headers, metadata: upload.metadata }
    // A composite checksum: the checksum of the parts' checksums, with the part count (S3's COMPOSITE type).
    if (upload.algorithm !== undefined && partChecksums.length === listed.length) {
      const value = checksumOf(upload.algorithm, Buffer.concat(partChecksums))
      if (value !== undefined) meta.checksum = { algorithm: upload.algorithm, value: `${value}-${listed.length}`, type: 'COMPOSITE' }
    }
    await this.commit(bucket, meta)
    this.uploads.delete(upload.id)
    await rm(dir, { recursive: true, force: true })
    sendXml(res, 200, context, `<CompleteMultipartUploadResult xmlns="${NS}">${el('Location', `${context.baseUrl}/${bucket.name}/${encodeURIComponent(key)}`)}${el('Bucket', bucket.name)}${el('Key', key)}${el('ETag', etag)}</CompleteMultipartUploadResult>`)
    this.emit(bucket, 'ObjectCreated:CompleteMultipartUpload', key, { size, etag }, context)
  }

  private async abortUpload(res: ServerResponse, bucket: Bucket, key: string, query: URLSearchParams, context: RequestContext): Promise<void> {
    const upload = this.upload(bucket, key, query.get('uploadId'))
    this.uploads.delete(upload.id)
    await rm(join(this.bucketDir(bucket.name), 'uploads', upload.id), { recursive: true, force: true })
    send(res, 204, context)
  }

  /* ---------- notification configuration ---------- */

  private async putNotifications(req: IncomingMessage, res: ServerResponse, bucket: Bucket, context: RequestContext): Promise<void> {
    const xml = parseXml((await readBody(req, MAX_XML_BYTES, () => new AwsError('MalformedXML', 'The XML you provided was too large.'))).toString('utf8'))
    if (xml.name !== 'NotificationConfiguration') throw new AwsError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.')
    const rules: NotificationRule[] = []
    const kinds: Array<[string, string, (arn: string) => NotificationTarget]> = [
      ['QueueConfiguration', 'Queue', (arn) => ({ queueArn: arn })],
      ['TopicConfiguration', 'Topic', (arn) => ({ topicArn: arn })],
      ['CloudFunctionConfiguration', 'CloudFunction', (arn) => ({ functionArn: arn })],
    ]
    for (const [element, field, target] of kinds) {
      for (const config of childrenNamed(xml, element)) {
        const arn = childText(config, field) ?? ''
        const events = childrenNamed(config, 'Event').map((event) => event.text)
        if (events.length === 0 || events.some((event) => !/^s3:(ObjectCreated|ObjectRemoved):(\*|Put|Post|Copy|CompleteMultipartUpload|Delete|DeleteMarkerCreated)$/.test(event))) {
          throw new AwsError('InvalidArgument', 'The event is not supported for notifications', 400, { ArgumentName: 'Event' })
        }
        const rule: { -readonly [K in keyof NotificationRule]: NotificationRule[K] } = { id: childText(config, 'Id') ?? randomUUID(), events, target: target(arn) }
        for (const filterRule of filterRules(config)) {
          const name = (childText(filterRule, 'Name') ?? '').toLowerCase()
          const value = childText(filterRule, 'Value') ?? ''
          if ((name !== 'prefix' && name !== 'suffix') || rule[name] !== undefined) throw new AwsError('InvalidArgument', 'FilterRule name must be either prefix or suffix, at most once each', 400, { ArgumentName: 'FilterRule' })
          rule[name] = value
        }
        if (!this.options.destinationExists(rule.target)) {
          throw new AwsError('InvalidArgument', 'Unable to validate the following destination configurations', 400, { ArgumentName: arn, ArgumentValue: 'The destination does not exist' })
        }
        rules.push(rule)
      }
    }
    bucket.notifications = rules
    await this.saveBucket(bucket)
    send(res, 200, context)
    // S3 sends a test message to each queue destination when the configuration is set.
    for (const rule of rules) {
      if ('queueArn' in rule.target) {
        this.options.testEvent?.(rule.target.queueArn, JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Time: new Date().toISOString(), Bucket: bucket.name, RequestId: context.requestId, HostId: context.hostId }))
      }
    }
  }

  private getNotifications(res: ServerResponse, bucket: Bucket, context: RequestContext): void {
    const configs = bucket.notifications.map((rule) => {
      const [element, field, arn] = 'queueArn' in rule.target ? ['QueueConfiguration', 'Queue', rule.target.queueArn] : 'topicArn' in rule.target ? ['TopicConfiguration', 'Topic', rule.target.topicArn] : ['CloudFunctionConfiguration', 'CloudFunction', rule.target.functionArn]
      const filters = (['prefix', 'suffix'] as const).filter((name) => rule[name] !== undefined).map((name) => el('FilterRule', [el('Name', name), el('Value', rule[name])]))
      return el(element, [el('Id', rule.id), el(field, arn), ...rule.events.map((event) => el('Event', event)), filters.length > 0 ? el('Filter', [el('S3Key', filters)]) : ''])
    })
    sendXml(res, 200, context, `<NotificationConfiguration xmlns="${NS}">${configs.join('')}</NotificationConfiguration>`)
  }

  /* ---------- the REST API ---------- */

  async handle(req: IncomingMessage, res: ServerResponse, baseUrl: string): Promise<void> {
    const context: RequestContext = {
      requestId: s3RequestId(),
      hostId: s3HostId(),
      baseUrl,
      sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
      principal: /Credential=([^/,\s]+)\//.exec(req.headers.authorization ?? '')?.[1] ?? this.options.accountId,
      head: req.method === 'HEAD',
    }
    try {
      await this.route(req, res, context)
    } catch (error) {
      if (!req.complete) req.resume()
      const known = error instanceof AwsError
      if (!known) this.options.log(`local S3: internal error: ${(error as Error)?.stack ?? String(error)}`)
      if (res.headersSent) return void res.destroy()
      const aws = known ? error : new AwsError('InternalError', 'We encountered an internal error. Please try again.', 500)
      const extra = Object.entries(aws.extra).map(([name, value]) => el(name, value))
      const body = context.head ? '' : `${XML_DECLARATION}<Error>${el('Code', aws.code)}${el('Message', aws.message)}${extra.join('')}${el('RequestId', context.requestId)}${el('HostId', context.hostId)}</Error>`
      res.writeHead(aws.status, { ...baseHeaders(context), 'Content-Type': 'application/xml', 'Content-Length': String(Buffer.byteLength(body)) })
      res.end(body)
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse, context: RequestContext): Promise<void> {
    const url = req.url ?? '/'
    const question = url.indexOf('?')
    const path = question === -1 ? url : url.slice(0, question)
    const query = new URLSearchParams(question === -1 ? '' : url.slice(question + 1))
    const slash = path.indexOf('/', 1)
    const bucketName = decodeURIComponent(slash === -1 ? path.slice(1) : path.slice(1, slash))
    let key: string
    try {
      key = slash === -1 ? '' : decodeURIComponent(path.slice(slash + 1))
    } catch {
      throw new AwsError('InvalidURI', 'Couldn\'t parse the specified URI.', 400)
    }
    const method = req.method ?? 'GET'
    if (bucketName === '') {
      if (method !== 'GET') throw new AwsError('MethodNotAllowed', 'The specified method is not allowed against this resource.', 405)
      const buckets = this.bucketNames().map((name) => el('Bucket', [el('Name', name), el('CreationDate', isoDate((this.buckets.get(name) as Bucket).created)), el('BucketRegion', this.options.region)]))
      return sendXml(res, 200, context, `<ListAllMyBucketsResult xmlns="${NS}">${el('Owner', [el('ID', this.options.accountId), el('DisplayName', 'local')])}${el('Buckets', buckets)}</ListAllMyBucketsResult>`)
    }
    if (key === '') {
      if (method === 'PUT' && query.has('notification')) return this.putNotifications(req, res, this.bucket(bucketName), context)
      if (method === 'PUT') {
        await readBody(req, MAX_XML_BYTES, () => new AwsError('MalformedXML', 'The XML you provided was too large.'))
        await this.createBucket(bucketName)
        return send(res, 200, context, { Location: `/${bucketName}` })
      }
      const bucket = this.bucket(bucketName)
      if (method === 'HEAD') return send(res, 200, context, { 'x-amz-bucket-region': this.options.region })
      if (method === 'DELETE') return this.deleteBucket(bucket.name).then(() => send(res, 204, context))
      if (method === 'POST' && query.has('delete')) return this.deleteObjects(req, res, bucket, context)
      if (method === 'GET' && query.has('notification')) return this.getNotifications(res, bucket, context)
      if (method === 'GET' && query.has('location')) {
        return sendXml(res, 200, context, `<LocationConstraint xmlns="${NS}">${this.options.region === 'us-east-1' ? '' : this.options.region}</LocationConstraint>`)
      }
      if (method === 'GET' && [...query.keys()].every((name) => ['list-type', 'prefix', 'delimiter', 'max-keys', 'continuation-token', 'start-after', 'encoding-type', 'fetch-owner', 'marker', 'x-id'].includes(name))) {
        return this.list(bucket, query, context, res)
      }
      throw new AwsError('NotImplemented', `This bucket operation (${method} ?${[...query.keys()].join('&')}) is not implemented locally.`, 501)
    }
    const bucket = this.bucket(bucketName)
    if (method === 'PUT' && query.has('partNumber')) return this.uploadPart(req, res, bucket, key, query, context)
    if (method === 'PUT' && req.headers['x-amz-copy-source'] !== undefined) return this.copyObject(req, res, bucket, key, context)
    if (method === 'PUT' && [...query.keys()].every((name) => name === 'x-id')) return this.putObject(req, res, bucket, key, context)
    if (method === 'POST' && query.has('uploads')) return this.createUpload(req, res, bucket, key, context)
    if (method === 'POST' && query.has('uploadId')) return this.completeUpload(req, res, bucket, key, query, context)
    if (method === 'DELETE' && query.has('uploadId')) return this.abortUpload(res, bucket, key, query, context)
    if (method === 'DELETE') return this.deleteObject(res, bucket, key, context)
    if ((method === 'GET' || method === 'HEAD') && !query.has('uploadId') && !query.has('tagging') && !query.has('acl')) return this.getObject(req, res, bucket, key, query, context, method === 'HEAD')
    throw new AwsError('NotImplemented', `This object operation (${method} ?${[...query.keys()].join('&')}) is not implemented locally.`, 501)
  }

  /** Removes the temporary folder of a service without state. */
  async stop(): Promise<void> {
    if (this.temporary) await rm(this.root, { recursive: true, force: true })
  }
}

interface RequestContext {
  requestId: string
  hostId: string
  baseUrl: string
  sourceIp: string
  principal: string
  head: boolean
}

function baseHeaders(context: RequestContext): Record<string, string> {
  return { 'x-amz-request-id': context.requestId, 'x-amz-id-2': context.hostId, Server: 'AmazonS3' }
}

function send(res: ServerResponse, status: number, context: RequestContext, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...baseHeaders(context), 'Content-Length': '0', ...headers })
  res.end()
}

function sendXml(res: ServerResponse, status: number, context: RequestContext, xml: string, headers: Record<string, string> = {}): void {
  const body = `${XML_DECLARATION}${xml}`
  res.writeHead(status, { ...baseHeaders(context), 'Content-Type': 'application/xml', 'Content-Length': String(Buffer.byteLength(body)), ...headers })
  res.end(body)
}

function checkKey(key: string): void {
  if (Buffer.byteLength(key) > 1024) throw new AwsError('KeyTooLongError', 'Your key is too long', 400)
}

/** Content type, stored headers and user metadata of a PUT (or a multipart upload's creation). */
function objectHeaders(req: IncomingMessage): Pick<ObjectMeta, 'contentType' | 'headers' | 'metadata'> {
  const headers: Record<string, string> = {}
  for (const name of STORED_HEADERS) {
    const value = req.headers[name]
    if (typeof value !== 'string') continue
    // aws-chunked is the transfer's encoding, not the object's.
    const kept = name === 'content-encoding' ? value.split(',').map((part) => part.trim()).filter((part) => part !== 'aws-chunked').join(', ') : value
    if (kept !== '') headers[name] = kept
  }
  const metadata: Record<string, string> = {}
  for (const [name, value] of Object.entries(req.headers)) if (name.startsWith('x-amz-meta-') && typeof value === 'string') setOwn(metadata, name.slice(11), value)
  return { contentType: typeof req.headers['content-type'] === 'string' ? req.headers['content-type'] : 'binary/octet-stream', headers, metadata }
}

/** A single `bytes=` range within the object, 'unsatisfiable', or undefined (none, or one S3 ignores). */
export function parseRange(header: string | undefined, size: number): [number, number] | 'unsatisfiable' | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header?.trim() ?? '')
  if (match === null) return undefined
  const [, from, to] = match as unknown as [string, string, string]
  if (from === '' && to === '') return undefined
  if (from === '') {
    const suffix = Number(to)
    if (suffix === 0) return 'unsatisfiable'
    return size === 0 ? 'unsatisfiable' : [Math.max(0, size - suffix), size - 1]
  }
  const start = Number(from)
  if (start >= size) return 'unsatisfiable'
  const end = to === '' ? size - 1 : Math.min(Number(to), size - 1)
  if (end < start) return undefined
  return [start, end]
}

/** RFC 7232 preconditions as S3 applies them: 412, 304 or undefined (go on). */
function conditional(req: IncomingMessage, object: ObjectMeta): 304 | 412 | undefined {
  const ifMatch = req.headers['if-match']
  const ifNoneMatch = req.headers['if-none-match']
  const etags = (value: string): string[] => value.split(',').map((tag) => tag.trim().replace(/^W\//, ''))
  if (typeof ifMatch === 'string' && !etags(ifMatch).some((tag) => tag === '*' || tag === object.etag)) return 412
  const modified = Math.floor(object.lastModified / 1000) * 1000
  const since = (name: string): number | undefined => {
    const value = req.headers[name]
    const time = typeof value === 'string' ? Date.parse(value) : Number.NaN
    return Number.isNaN(time) ? undefined : time
  }
  const unmodifiedSince = since('if-unmodified-since')
  if (ifMatch === undefined && unmodifiedSince !== undefined && modified > unmodifiedSince) return 412
  if (typeof ifNoneMatch === 'string' && etags(ifNoneMatch).some((tag) => tag === '*' || tag === object.etag)) return 304
  const modifiedSince = since('if-modified-since')
  if (ifNoneMatch === undefined && modifiedSince !== undefined && modified <= modifiedSince) return 304
  return undefined
}

/** Checks the Content-MD5 and x-amz-checksum-* headers of a small body read whole. */
function verifyBodyChecksums(req: IncomingMessage, body: Buffer): void {
  const md5 = req.headers['content-md5']
  if (typeof md5 === 'string' && md5 !== createHash('md5').update(body).digest('base64')) throw new AwsError('BadDigest', 'The Content-MD5 you specified did not match what we received.')
  for (const algorithm of ALGORITHMS) {
    const sent = req.headers[`x-amz-checksum-${algorithm.toLowerCase()}`]
    const computed = typeof sent === 'string' ? checksumOf(algorithm, body) : undefined
    if (computed !== undefined && computed !== sent) throw new AwsError('BadDigest', `The ${algorithm} you specified did not match the calculated checksum.`)
  }
}

function filterRules(config: XmlNode): XmlNode[] {
  const filter = childrenNamed(config, 'Filter')[0]
  const key = filter === undefined ? undefined : (childrenNamed(filter, 'S3Key')[0] ?? childrenNamed(filter, 'Key')[0])
  return key === undefined ? [] : childrenNamed(key, 'FilterRule')
}
