// The local Cloud Storage (packages/serverless/src/providers/google/local/storage.ts) driven by Google's own client,
// @google-cloud/storage 7.22.0 (the last release on Node 20): uploads of every kind, metadata, downloads with their
// hash checked, ranges, listing pages, deletes, preconditions, Google's error shape, tokens, notifications.
import { expect } from 'chai'
import { Storage } from '@google-cloud/storage'
import { crc32c, startLocalStorage, type LocalStorage, type StorageNotification } from '../../../../../packages/serverless/src/providers/google/local/storage.ts'

/**
 * An auth client with a fixed token, in the shape the library's google-auth-library 9 asks of one (its
 * `getRequestHeaders` answers a plain object; version 10's OAuth2Client answers a Headers the library cannot spread).
 */
function authWith(token: string): never {
  return { getRequestHeaders: async () => ({ Authorization: `Bearer ${token}` }), getProjectId: async () => 'p' } as never
}

describe('local Cloud Storage with @google-cloud/storage', function () {
  this.timeout(30_000)
  let local: LocalStorage
  let storage: Storage
  const notifications: StorageNotification[] = []

  before(async () => {
    local = await startLocalStorage({ buckets: ['uploads'], tokens: ['token-1'], notify: (notification) => notifications.push(notification) })
    storage = new Storage({ apiEndpoint: local.url, projectId: 'p', authClient: authWith('token-1'), useAuthWithCustomEndpoint: true })
  })

  after(() => local.stop())

  it('stores with save() in one request, with the content type and metadata', async () => {
    const file = storage.bucket('uploads').file('dir/multipart.txt')
    await file.save('multipart body', { resumable: false, contentType: 'text/plain', metadata: { metadata: { owner: 'me' } } })
    const [metadata] = await file.getMetadata()
    expect(metadata).to.include({ name: 'dir/multipart.txt', bucket: 'uploads', contentType: 'text/plain', size: '14' })
    expect(metadata.metadata).to.deep.equal({ owner: 'me' })
    const simple = storage.bucket('uploads').file('dir/simple.bin')
    await simple.save(Buffer.from([0, 1, 2, 255]), { resumable: false, contentType: 'application/x-bin' })
    const [bytes] = await simple.download()
    expect([...bytes]).to.deep.equal([0, 1, 2, 255])
    const [again] = await file.download()
    expect(again.toString()).to.equal('multipart body')
  })

  it('stores with save()\'s default resumable upload, as an emulator (no credentials: STORAGE_EMULATOR_HOST)', async () => {
    const emulator = await startLocalStorage({ buckets: ['uploads'] })
    try {
      const client = new Storage({ apiEndpoint: emulator.url, projectId: 'p' })
      const file = client.bucket('uploads').file('resumable.txt')
      await file.save('resumable body', { contentType: 'text/plain', metadata: { metadata: { owner: 'me' } } })
      const [metadata] = await file.getMetadata()
      expect(metadata).to.include({ name: 'resumable.txt', contentType: 'text/plain', size: '14' })
      expect(metadata.metadata).to.deep.equal({ owner: 'me' })
      const [bytes] = await file.download()
      expect(bytes.toString()).to.equal('resumable body')
      const big = Buffer.alloc(300 * 1024, 7)
      await client.bucket('uploads').file('chunked.bin').save(big, { chunkSize: 256 * 1024 })
      const [back] = await client.bucket('uploads').file('chunked.bin').download()
      expect(back.equals(big)).to.equal(true)
    } finally {
      await emulator.stop()
    }
  })

  it('answers the hashes the client checks, and ranges', async () => {
    const file = storage.bucket('uploads').file('hash.txt')
    await file.save('0123456789', { resumable: false })
    const [metadata] = await file.getMetadata()
    expect(metadata.crc32c).to.equal(crc32c(Buffer.from('0123456789')))
    const [part] = await file.download({ start: 2, end: 5 })
    expect(part.toString()).to.equal('2345')
    expect(crc32c(Buffer.from('123456789'))).to.equal(Buffer.from([0xe3, 0x06, 0x92, 0x83]).toString('base64'))
  })

  it('lists with a prefix a page at a time, and with a delimiter', async () => {
    for (const n of [0, 1, 2, 3, 4]) await storage.bucket('uploads').file(`list/p${n}`).save(String(n), { resumable: false })
    const pages: string[][] = []
    type Query = { prefix: string; maxResults: number; autoPaginate: false; pageToken?: string }
    let query: Query | null = { prefix: 'list/', maxResults: 2, autoPaginate: false }
    while (query !== null) {
      const [files, next]: [Array<{ name: string }>, Query | null] = (await storage.bucket('uploads').getFiles(query)) as unknown as [Array<{ name: string }>, Query | null]
      pages.push(files.map((file) => file.name))
      query = next ?? null
    }
    expect(pages).to.deep.equal([['list/p0', 'list/p1'], ['list/p2', 'list/p3'], ['list/p4']])
    const [, , response] = (await storage.bucket('uploads').getFiles({ delimiter: '/', autoPaginate: false })) as unknown as [unknown, unknown, { prefixes?: string[] }]
    expect(response.prefixes).to.include.members(['dir/', 'list/'])
  })

  it('deletes, answers 404 in Google\'s error shape, and honours ifGenerationMatch', async () => {
    const file = storage.bucket('uploads').file('gone.txt')
    await file.save('x', { resumable: false })
    await file.delete()
    const error = await file.download().then(() => undefined, (caught: unknown) => caught as { code: number; message: string })
    expect(error?.code).to.equal(404)
    expect(error?.message).to.include('No such object: uploads/gone.txt')
    const [exists] = await file.exists()
    expect(exists).to.equal(false)
    const missingBucket = await storage.bucket('nope').file('x').download().then(() => undefined, (caught: unknown) => caught as { code: number; message: string })
    expect(missingBucket?.message).to.include('The specified bucket does not exist.')
    await file.save('first', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } })
    const again = await file.save('second', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } }).then(() => undefined, (caught: unknown) => caught as { code: number })
    expect(again?.code).to.equal(412)
  })

  it('refuses a wrong token with 401, as Cloud Storage does', async () => {
    const stranger = new Storage({ apiEndpoint: local.url, projectId: 'p', authClient: authWith('token-2'), useAuthWithCustomEndpoint: true, retryOptions: { autoRetry: false } })
    const error = await stranger.bucket('uploads').file('hash.txt').download().then(() => undefined, (caught: unknown) => caught as { code: number; message: string })
    expect(error?.code).to.equal(401)
    expect(error?.message).to.include('Invalid Credentials')
  })

  it('notifies each finalized and deleted object with the object resource', () => {
    const kinds = notifications.filter((n) => n.object.name === 'gone.txt').map((n) => n.type)
    expect(kinds.slice(0, 2)).to.deep.equal(['google.cloud.storage.object.v1.finalized', 'google.cloud.storage.object.v1.deleted'])
    const stored = notifications.find((n) => n.object.name === 'dir/multipart.txt')
    expect(stored?.object).to.include({ bucket: 'uploads', contentType: 'text/plain', size: '14' })
  })

  it('takes a media upload from curl-like requests', async () => {
    const response = await fetch(`${local.url}/upload/storage/v1/b/uploads/o?uploadType=media&name=${encodeURIComponent('curl/a b.txt')}`, {
      method: 'POST',
      headers: { authorization: 'Bearer token-1', 'content-type': 'text/csv' },
      body: 'a,b\n',
    })
    expect(response.status).to.equal(200)
    const object = (await response.json()) as { name: string; contentType: string; size: string; md5Hash: string }
    expect(object).to.include({ name: 'curl/a b.txt', contentType: 'text/csv', size: '4' })
    const media = await fetch(`${local.url}/storage/v1/b/uploads/o/${encodeURIComponent('curl/a b.txt')}?alt=media`, { headers: { authorization: 'Bearer token-1', range: 'bytes=-2' } })
    expect(media.status).to.equal(206)
    expect(await media.text()).to.equal('b\n')
  })
})
