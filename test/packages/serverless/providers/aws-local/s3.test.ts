/**
 * The local S3 against the official @aws-sdk/client-s3 and @aws-sdk/lib-storage with their current defaults
 * (flexible checksums: a CRC32 header, or an aws-chunked body with the checksum as a trailer for streams), the
 * behaviour of the Amazon S3 API Reference, and the event notifications S3 sends (compared with a recorded S3
 * event and read by the AWS adapter).
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketLocationCommand,
  GetBucketNotificationConfigurationCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  UploadPartCommand,
  paginateListObjectsV2,
  type S3Client,
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { s3 as s3Source } from '@polycloud/aws'
import { expect } from 'chai'
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { checksumOf } from 'serverless-polycloud/providers/aws/local/checksums'
import { LocalS3, notificationKey, type NotificationRule, type NotificationTarget, type S3EventRecord } from 'serverless-polycloud/providers/aws/local/s3'
import { listen, type LocalServer } from 'serverless-polycloud/providers/aws/local/server'
import { ACCOUNT, REGION, rejection, s3Client } from './support.ts'

const FIXTURE = join(import.meta.dirname, '../../../../fixtures/events/aws/s3/lgo__s3-event.json')

interface Running {
  s3: LocalS3
  server: LocalServer
  client: S3Client
  events: Array<{ target: NotificationTarget; record: S3EventRecord }>
  tests: string[]
  lines: string[]
  stop(): Promise<void>
}

async function start(stateDir?: string): Promise<Running> {
  const events: Running['events'] = []
  const tests: string[] = []
  const lines: string[] = []
  const s3 = new LocalS3({
    region: REGION,
    accountId: ACCOUNT,
    log: (line) => lines.push(line),
    notify: (target, event) => events.push({ target, record: event.Records[0] }),
    destinationExists: (target) => !JSON.stringify(target).includes('missing'),
    testEvent: (_queue, body) => tests.push(body),
    ...(stateDir ? { stateDir } : {}),
  })
  let url = ''
  const none = async (): Promise<void> => {
    throw new Error('not for this test')
  }
  const server = await listen('127.0.0.1', 0, { s3: (req, res) => s3.handle(req, res, url), sqs: none, sns: none, control: none }, (line) => lines.push(line))
  url = server.url
  const client = s3Client(url)
  return {
    s3,
    server,
    client,
    events,
    tests,
    lines,
    async stop() {
      client.destroy()
      await server.close()
      await s3.stop()
    },
  }
}

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex')

describe('serverless/providers/aws/local: S3', function () {
  this.timeout(30_000)
  let local: Running
  let client: S3Client
  let counter = 0
  const bucket = async (): Promise<string> => {
    const name = `bucket-${++counter}`
    await client.send(new CreateBucketCommand({ Bucket: name }))
    return name
  }
  const text = async (Bucket: string, Key: string, extra: Partial<ConstructorParameters<typeof GetObjectCommand>[0]> = {}) =>
    (await client.send(new GetObjectCommand({ Bucket, Key, ...extra }))).Body?.transformToString()

  before(async () => {
    local = await start()
    client = local.client
  })
  after(() => local.stop())
  beforeEach(() => {
    local.events.length = 0
  })

  describe('buckets', () => {
    it('creates, lists, heads, locates and deletes buckets', async () => {
      const name = await bucket()
      expect((await client.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)).to.include(name)
      expect((await client.send(new HeadBucketCommand({ Bucket: name }))).$metadata.httpStatusCode).to.equal(200)
      expect((await client.send(new GetBucketLocationCommand({ Bucket: name }))).LocationConstraint).to.equal(REGION)
      // Outside us-east-1, creating a bucket you own again is BucketAlreadyOwnedByYou (409).
      expect(await rejection(client.send(new CreateBucketCommand({ Bucket: name })))).to.include({ name: 'BucketAlreadyOwnedByYou', status: 409 })
      await client.send(new PutObjectCommand({ Bucket: name, Key: 'k', Body: 'x' }))
      expect(await rejection(client.send(new DeleteBucketCommand({ Bucket: name })))).to.include({ name: 'BucketNotEmpty', status: 409 })
      await client.send(new DeleteObjectCommand({ Bucket: name, Key: 'k' }))
      await client.send(new DeleteBucketCommand({ Bucket: name }))
      expect(await rejection(client.send(new HeadBucketCommand({ Bucket: name })))).to.include({ status: 404 })
      expect(await rejection(client.send(new PutObjectCommand({ Bucket: name, Key: 'k', Body: 'x' })))).to.include({ name: 'NoSuchBucket', status: 404 })
      expect(await rejection(client.send(new CreateBucketCommand({ Bucket: 'Bad_Name' })))).to.include({ name: 'InvalidBucketName', status: 400 })
    })
  })

  describe('objects', () => {
    it('puts and gets an object with the SDK\'s default CRC32 checksum, its metadata and headers', async () => {
      const name = await bucket()
      const put = await client.send(new PutObjectCommand({ Bucket: name, Key: 'a/héllo wörld.txt', Body: 'hello world', ContentType: 'text/plain', Metadata: { owner: 'ada' }, CacheControl: 'max-age=60' }))
      expect(put.ETag).to.equal('"5eb63bbbe01eeed093cb22bb8f5acdc3"')
      expect(put.ChecksumCRC32).to.be.a('string')
      const got = await client.send(new GetObjectCommand({ Bucket: name, Key: 'a/héllo wörld.txt', ChecksumMode: 'ENABLED' }))
      // The SDK validates the returned CRC32 against the body as it reads it.
      expect(await got.Body?.transformToString()).to.equal('hello world')
      expect(got).to.deep.include({ ContentType: 'text/plain', ContentLength: 11, ETag: put.ETag, Metadata: { owner: 'ada' }, CacheControl: 'max-age=60', ChecksumCRC32: put.ChecksumCRC32 })
      const head = await client.send(new HeadObjectCommand({ Bucket: name, Key: 'a/héllo wörld.txt' }))
      expect(head).to.deep.include({ ContentLength: 11, ETag: put.ETag, ContentType: 'text/plain' })
      expect(head.LastModified?.getTime()).to.be.closeTo(Date.now(), 10_000)
      expect(await rejection(client.send(new GetObjectCommand({ Bucket: name, Key: 'missing' })))).to.include({ name: 'NoSuchKey', status: 404 })
      expect(await rejection(client.send(new HeadObjectCommand({ Bucket: name, Key: 'missing' })))).to.include({ name: 'NotFound', status: 404 })
    })

    it('decodes aws-chunked stream bodies with their trailing checksum (what the SDK sends for a stream)', async () => {
      const name = await bucket()
      const body = Buffer.concat([Buffer.from('hello '), Buffer.alloc(70_000, 7), Buffer.from('stream')])
      const chunks = [body.subarray(0, 6), body.subarray(6, 65_000), body.subarray(65_000)]
      await client.send(new PutObjectCommand({ Bucket: name, Key: 'streamed', Body: Readable.from(chunks), ContentLength: body.length }))
      const got = await client.send(new GetObjectCommand({ Bucket: name, Key: 'streamed', ChecksumMode: 'ENABLED' }))
      const bytes = await got.Body?.transformToByteArray()
      expect(sha256(bytes as Uint8Array)).to.equal(sha256(body))
      expect(got.ContentLength).to.equal(body.length)
    })

    it('refuses a body whose checksum or Content-MD5 does not match (BadDigest)', async () => {
      const name = await bucket()
      expect(await rejection(client.send(new PutObjectCommand({ Bucket: name, Key: 'k', Body: 'data', ChecksumCRC32: 'AAAAAA==' })))).to.include({ name: 'BadDigest', status: 400 })
      expect(await rejection(client.send(new PutObjectCommand({ Bucket: name, Key: 'k', Body: 'data', ContentMD5: createHash('md5').update('other').digest('base64') })))).to.include({ name: 'BadDigest' })
      await client.send(new PutObjectCommand({ Bucket: name, Key: 'k', Body: 'data', ChecksumAlgorithm: 'SHA256' }))
      // The SDK computes the CRC32C and the server checks it (else BadDigest); the standard check value of "123456789" is 0xE3069283.
      const crc32c = await client.send(new PutObjectCommand({ Bucket: name, Key: 'k2', Body: 'data', ChecksumAlgorithm: 'CRC32C' }))
      expect((await client.send(new GetObjectCommand({ Bucket: name, Key: 'k2', ChecksumMode: 'ENABLED' }))).ChecksumCRC32C).to.equal(crc32c.ChecksumCRC32C)
      expect(checksumOf('CRC32C', Buffer.from('123456789'))).to.equal(Buffer.from('e3069283', 'hex').toString('base64'))
      expect(checksumOf('CRC32', Buffer.from('123456789'))).to.equal(Buffer.from('cbf43926', 'hex').toString('base64'))
    })

    it('answers single ranges with 206 and Content-Range, and 416 InvalidRange past the end', async () => {
      const name = await bucket()
      await client.send(new PutObjectCommand({ Bucket: name, Key: 'r', Body: 'hello world' }))
      const first = await client.send(new GetObjectCommand({ Bucket: name, Key: 'r', Range: 'bytes=0-4' }))
      expect(await first.Body?.transformToString()).to.equal('hello')
      expect(first).to.deep.include({ ContentRange: 'bytes 0-4/11', ContentLength: 5 })
      expect(first.$metadata.httpStatusCode).to.equal(206)
      expect(await text(name, 'r', { Range: 'bytes=6-' })).to.equal('world')
      expect(await text(name, 'r', { Range: 'bytes=-3' })).to.equal('rld')
      expect(await text(name, 'r', { Range: 'bytes=6-100' })).to.equal('world')
      expect(await rejection(client.send(new GetObjectCommand({ Bucket: name, Key: 'r', Range: 'bytes=11-' })))).to.include({ name: 'InvalidRange', status: 416 })
    })

    it('honours conditional requests: If-Match, If-None-Match (304), and a conditional write', async () => {
      const name = await bucket()
      const { ETag } = await client.send(new PutObjectCommand({ Bucket: name, Key: 'c', Body: 'v1' }))
      expect(await text(name, 'c', { IfMatch: ETag })).to.equal('v1')
      expect(await rejection(client.send(new GetObjectCommand({ Bucket: name, Key: 'c', IfMatch: '"other"' })))).to.include({ name: 'PreconditionFailed', status: 412 })
      expect(await rejection(client.send(new GetObjectCommand({ Bucket: name, Key: 'c', IfNoneMatch: ETag })))).to.include({ status: 304 })
      expect(await rejection(client.send(new PutObjectCommand({ Bucket: name, Key: 'c', Body: 'v2', IfNoneMatch: '*' })))).to.include({ name: 'PreconditionFailed', status: 412 })
      expect(await text(name, 'c')).to.equal('v1')
    })

    it('copies, deletes and deletes in a batch', async () => {
      const name = await bucket()
      await client.send(new PutObjectCommand({ Bucket: name, Key: 'src key', Body: 'copied', ContentType: 'text/plain', Metadata: { a: 'b' } }))
      const copy = await client.send(new CopyObjectCommand({ Bucket: name, Key: 'dst', CopySource: `${name}/${encodeURIComponent('src key')}` }))
      expect(copy.CopyObjectResult?.ETag).to.equal(`"${createHash('md5').update('copied').digest('hex')}"`)
      const got = await client.send(new GetObjectCommand({ Bucket: name, Key: 'dst' }))
      expect(await got.Body?.transformToString()).to.equal('copied')
      expect(got).to.deep.include({ ContentType: 'text/plain', Metadata: { a: 'b' } })
      await client.send(new DeleteObjectCommand({ Bucket: name, Key: 'dst' }))
      // Deleting a key that is not there succeeds (204), as S3 does.
      expect((await client.send(new DeleteObjectCommand({ Bucket: name, Key: 'dst' }))).$metadata.httpStatusCode).to.equal(204)
      const batch = await client.send(new DeleteObjectsCommand({ Bucket: name, Delete: { Objects: [{ Key: 'src key' }, { Key: 'never' }] } }))
      expect(batch.Deleted?.map((d) => d.Key)).to.deep.equal(['src key', 'never'])
      expect((await client.send(new ListObjectsV2Command({ Bucket: name }))).KeyCount).to.equal(0)
    })
  })

  describe('listing', () => {
    let name: string
    before(async () => {
      name = await bucket()
      for (const key of ['a.txt', 'b/1.txt', 'b/2.txt', 'c/x/1.txt', 'd.txt', 'e f.txt']) await client.send(new PutObjectCommand({ Bucket: name, Key: key, Body: key }))
    })

    it('pages ListObjectsV2 with continuation tokens until the end', async () => {
      const keys: string[] = []
      const pages: number[] = []
      for await (const page of paginateListObjectsV2({ client, pageSize: 2 }, { Bucket: name })) {
        pages.push(page.KeyCount ?? 0)
        keys.push(...(page.Contents ?? []).map((object) => object.Key as string))
      }
      expect(keys).to.deep.equal(['a.txt', 'b/1.txt', 'b/2.txt', 'c/x/1.txt', 'd.txt', 'e f.txt'])
      expect(pages).to.deep.equal([2, 2, 2])
      const first = await client.send(new ListObjectsV2Command({ Bucket: name, MaxKeys: 4 }))
      expect(first).to.deep.include({ IsTruncated: true, KeyCount: 4, MaxKeys: 4 })
      const rest = await client.send(new ListObjectsV2Command({ Bucket: name, MaxKeys: 4, ContinuationToken: first.NextContinuationToken }))
      expect(rest).to.deep.include({ IsTruncated: false, ContinuationToken: first.NextContinuationToken, KeyCount: 2 })
      expect(rest.Contents?.[0]).to.deep.include({ Key: 'd.txt', Size: 5, StorageClass: 'STANDARD' })
      expect(await rejection(client.send(new ListObjectsV2Command({ Bucket: name, ContinuationToken: 'bogus' })))).to.include({ name: 'InvalidArgument', status: 400 })
    })

    it('groups keys by delimiter into common prefixes, across pages, and starts after a key', async () => {
      const all = await client.send(new ListObjectsV2Command({ Bucket: name, Delimiter: '/' }))
      expect(all.Contents?.map((object) => object.Key)).to.deep.equal(['a.txt', 'd.txt', 'e f.txt'])
      expect(all.CommonPrefixes?.map((p) => p.Prefix)).to.deep.equal(['b/', 'c/'])
      expect(all.KeyCount).to.equal(5)
      const paged: string[] = []
      for await (const page of paginateListObjectsV2({ client, pageSize: 1 }, { Bucket: name, Delimiter: '/' })) {
        paged.push(...(page.Contents ?? []).map((o) => o.Key as string), ...(page.CommonPrefixes ?? []).map((p) => p.Prefix as string))
      }
      expect(paged).to.deep.equal(['a.txt', 'b/', 'c/', 'd.txt', 'e f.txt'])
      const under = await client.send(new ListObjectsV2Command({ Bucket: name, Prefix: 'c/', Delimiter: '/' }))
      expect(under.CommonPrefixes?.map((p) => p.Prefix)).to.deep.equal(['c/x/'])
      const after = await client.send(new ListObjectsV2Command({ Bucket: name, StartAfter: 'b/2.txt' }))
      expect(after.Contents?.map((o) => o.Key)).to.deep.equal(['c/x/1.txt', 'd.txt', 'e f.txt'])
      const v1 = await client.send(new ListObjectsCommand({ Bucket: name, Marker: 'c/x/1.txt' }))
      expect(v1.Contents?.map((o) => o.Key)).to.deep.equal(['d.txt', 'e f.txt'])
    })
  })

  describe('multipart uploads', () => {
    it('uploads a large object in parts with lib-storage (the <md5 of md5s>-<n> ETag)', async () => {
      const name = await bucket()
      const body = Buffer.alloc(12 * 1024 * 1024)
      for (let i = 0; i < body.length; i += 4096) body[i] = i % 251
      const upload = new Upload({ client, params: { Bucket: name, Key: 'big.bin', Body: body, ContentType: 'application/octet-stream' }, partSize: 5 * 1024 * 1024, queueSize: 2 })
      const done = await upload.done()
      expect(done.ETag).to.match(/^"[0-9a-f]{32}-3"$/)
      const got = await client.send(new GetObjectCommand({ Bucket: name, Key: 'big.bin', ChecksumMode: 'ENABLED' }))
      expect(got.ContentLength).to.equal(body.length)
      expect(sha256((await got.Body?.transformToByteArray()) as Uint8Array)).to.equal(sha256(body))
      expect(got.ChecksumCRC32).to.match(/-3$/)
    })

    it('refuses parts out of order, unknown parts and small parts, and aborts', async () => {
      const name = await bucket()
      const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: name, Key: 'm' }))
      const one = await client.send(new UploadPartCommand({ Bucket: name, Key: 'm', UploadId, PartNumber: 1, Body: 'small' }))
      const two = await client.send(new UploadPartCommand({ Bucket: name, Key: 'm', UploadId, PartNumber: 2, Body: 'parts' }))
      const complete = (parts: Array<{ PartNumber: number; ETag?: string }>) => client.send(new CompleteMultipartUploadCommand({ Bucket: name, Key: 'm', UploadId, MultipartUpload: { Parts: parts } }))
      expect(await rejection(complete([{ PartNumber: 2, ETag: two.ETag }, { PartNumber: 1, ETag: one.ETag }]))).to.include({ name: 'InvalidPartOrder' })
      expect(await rejection(complete([{ PartNumber: 1, ETag: '"0"' }]))).to.include({ name: 'InvalidPart' })
      expect(await rejection(complete([{ PartNumber: 1, ETag: one.ETag }, { PartNumber: 2, ETag: two.ETag }]))).to.include({ name: 'EntityTooSmall' })
      // A single small part is a valid (last) part.
      const single = await complete([{ PartNumber: 2, ETag: two.ETag }])
      expect(single.ETag).to.match(/-1"$/)
      expect(await text(name, 'm')).to.equal('parts')
      const other = await client.send(new CreateMultipartUploadCommand({ Bucket: name, Key: 'n' }))
      await client.send(new AbortMultipartUploadCommand({ Bucket: name, Key: 'n', UploadId: other.UploadId }))
      expect(await rejection(client.send(new UploadPartCommand({ Bucket: name, Key: 'n', UploadId: other.UploadId, PartNumber: 1, Body: 'x' })))).to.include({ name: 'NoSuchUpload', status: 404 })
    })
  })

  describe('event notifications', () => {
    const fn = (name: string): string => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`
    const rule = (extra: Partial<NotificationRule>): NotificationRule => ({ id: 'thumbnails', events: ['s3:ObjectCreated:*'], target: { functionArn: fn('thumbnails') }, ...extra })

    it('sends ObjectCreated for keys under the prefix with the suffix, in the shape S3 sends, which the adapter reads', async () => {
      const name = await bucket()
      await local.s3.ensureBucket(name, [rule({ prefix: 'images/', suffix: '.jpg' })])
      const put = await client.send(new PutObjectCommand({ Bucket: name, Key: 'images/Happy Face.jpg', Body: 'jpeg bytes' }))
      await client.send(new PutObjectCommand({ Bucket: name, Key: 'docs/readme.jpg', Body: 'outside the prefix' }))
      await client.send(new PutObjectCommand({ Bucket: name, Key: 'images/readme.txt', Body: 'without the suffix' }))
      expect(local.events).to.have.length(1)
      const { target, record } = local.events[0] as Running['events'][number]
      expect(target).to.deep.equal({ functionArn: fn('thumbnails') })
      // The same fields, nested the same way, as a recorded S3 event.
      const recorded = (JSON.parse(readFileSync(FIXTURE, 'utf8')) as { Records: Array<Record<string, unknown>> }).Records[0] as Record<string, Record<string, unknown>>
      const shape = (value: unknown): unknown => (typeof value === 'object' && value !== null ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape(v)])) : typeof value)
      const { versionId: _version, ...objectShape } = shape((recorded.s3 as Record<string, unknown>).object) as Record<string, unknown>
      expect(shape({ ...record, s3: { ...record.s3, object: {} } })).to.deep.equal(shape({ ...recorded, s3: { ...recorded.s3, object: {} } }))
      expect(shape(record.s3.object)).to.deep.equal(objectShape)
      expect(record).to.deep.include({ eventVersion: '2.1', eventName: 'ObjectCreated:Put', awsRegion: REGION })
      expect(record.s3).to.deep.include({ configurationId: 'thumbnails', bucket: { name, ownerIdentity: { principalId: ACCOUNT }, arn: `arn:aws:s3:::${name}` } })
      expect(record.s3.object).to.deep.include({ key: 'images/Happy+Face.jpg', size: 10, eTag: put.ETag?.replace(/"/g, '') })
      const [event] = s3Source.getEvents({ Records: [record] } as never) as Array<{ key: string; type: string; bucket: string; size: number }>
      expect(event).to.deep.include({ key: 'images/Happy Face.jpg', type: 'created', bucket: name, size: 10 })
    })

    it('names each way an object is created or removed, in increasing sequencer order', async () => {
      const name = await bucket()
      await local.s3.ensureBucket(name, [rule({ events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'] })])
      await client.send(new PutObjectCommand({ Bucket: name, Key: 'a', Body: 'x' }))
      await client.send(new CopyObjectCommand({ Bucket: name, Key: 'b', CopySource: `${name}/a` }))
      const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: name, Key: 'c' }))
      const part = await client.send(new UploadPartCommand({ Bucket: name, Key: 'c', UploadId, PartNumber: 1, Body: 'y' }))
      await client.send(new CompleteMultipartUploadCommand({ Bucket: name, Key: 'c', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }))
      await client.send(new DeleteObjectCommand({ Bucket: name, Key: 'a' }))
      await client.send(new DeleteObjectsCommand({ Bucket: name, Delete: { Objects: [{ Key: 'b' }] } }))
      expect(local.events.map(({ record }) => [record.eventName, record.s3.object.key])).to.deep.equal([
        ['ObjectCreated:Put', 'a'],
        ['ObjectCreated:Copy', 'b'],
        ['ObjectCreated:CompleteMultipartUpload', 'c'],
        ['ObjectRemoved:Delete', 'a'],
        ['ObjectRemoved:Delete', 'b'],
      ])
      const removed = local.events[3]?.record.s3.object
      expect(removed).to.not.have.property('size')
      const sequencers = local.events.map(({ record }) => BigInt(`0x${record.s3.object.sequencer}`))
      expect([...sequencers].sort((a, b) => (a < b ? -1 : 1))).to.deep.equal(sequencers)
    })

    it('sets and answers the notification configuration through the API, refusing unknown destinations', async () => {
      const name = await bucket()
      const queueArn = `arn:aws:sqs:${REGION}:${ACCOUNT}:uploads`
      await client.send(
        new PutBucketNotificationConfigurationCommand({
          Bucket: name,
          NotificationConfiguration: {
            QueueConfigurations: [{ Id: 'to-queue', QueueArn: queueArn, Events: ['s3:ObjectCreated:*'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'in/' }] } } }],
            LambdaFunctionConfigurations: [{ Id: 'to-fn', LambdaFunctionArn: fn('f'), Events: ['s3:ObjectRemoved:Delete'] }],
          },
        }),
      )
      // S3 sends a test event to each queue destination when the configuration is set.
      expect(JSON.parse(local.tests.at(-1) as string)).to.deep.include({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: name })
      const config = await client.send(new GetBucketNotificationConfigurationCommand({ Bucket: name }))
      expect(config.QueueConfigurations).to.deep.equal([{ Id: 'to-queue', QueueArn: queueArn, Events: ['s3:ObjectCreated:*'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'in/' }] } } }])
      expect(config.LambdaFunctionConfigurations?.[0]).to.deep.include({ Id: 'to-fn', LambdaFunctionArn: fn('f') })
      await client.send(new PutObjectCommand({ Bucket: name, Key: 'in/x', Body: '1' }))
      await client.send(new PutObjectCommand({ Bucket: name, Key: 'out/x', Body: '1' }))
      await client.send(new DeleteObjectCommand({ Bucket: name, Key: 'in/x' }))
      expect(local.events.map(({ target, record }) => [Object.values(target)[0], record.eventName, record.s3.object.key])).to.deep.equal([
        [queueArn, 'ObjectCreated:Put', 'in/x'],
        [fn('f'), 'ObjectRemoved:Delete', 'in/x'],
      ])
      const missing = await rejection(client.send(new PutBucketNotificationConfigurationCommand({ Bucket: name, NotificationConfiguration: { QueueConfigurations: [{ QueueArn: `${queueArn}-missing`, Events: ['s3:ObjectCreated:*'] }] } })))
      expect(missing).to.include({ name: 'InvalidArgument', status: 400 })
    })

    it('encodes keys in notifications as S3 does', () => {
      expect(notificationKey('images/Happy Face.jpg')).to.equal('images/Happy+Face.jpg')
      expect(notificationKey('a+b=c&d/é')).to.equal('a%2Bb%3Dc%26d/%C3%A9')
    })
  })

  describe('state', () => {
    it('keeps buckets and objects across a restart, and sets torn metadata aside with a message', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'polycloud-s3-state-'))
      try {
        const first = await start(dir)
        await first.client.send(new CreateBucketCommand({ Bucket: 'kept' }))
        await first.client.send(new PutObjectCommand({ Bucket: 'kept', Key: 'one', Body: 'first' }))
        await first.client.send(new PutObjectCommand({ Bucket: 'kept', Key: 'two', Body: 'second' }))
        await first.client.send(new PutObjectCommand({ Bucket: 'kept', Key: 'one', Body: 'first, rewritten' }))
        await first.stop()
        // One body file per object: the replaced body is gone.
        expect(readdirSync(join(dir, 'kept', 'objects')).filter((file) => file.endsWith('.blob'))).to.have.length(2)
        const second = await start(dir)
        expect(await (await second.client.send(new GetObjectCommand({ Bucket: 'kept', Key: 'one' }))).Body?.transformToString()).to.equal('first, rewritten')
        await second.stop()
        const torn = readdirSync(join(dir, 'kept', 'objects')).find((file) => file.endsWith('.json') && readFileSync(join(dir, 'kept', 'objects', file), 'utf8').includes('"two"')) as string
        writeFileSync(join(dir, 'kept', 'objects', torn), '{"key":"tw')
        const third = await start(dir)
        expect((await third.client.send(new ListObjectsV2Command({ Bucket: 'kept' }))).Contents?.map((o) => o.Key)).to.deep.equal(['one'])
        expect(third.lines.join('\n')).to.match(/object metadata in .+ could not be read .+ moved to .+\.corrupt-/)
        await third.stop()
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
  })
})
