import { expect } from 'chai'
import { storage, type StorageEvent } from '@polycloud/core'
import { BatchFailedError, InvalidRecord } from '@polycloud/core/adapter'
import { blob, createAzureHandler, eventGridBlob, type AzureInput } from '@polycloud/azure'
import { azureFixtures, azureInput, invocation } from './support.ts'

const BLOB = { type: 'blobTrigger', path: 'uploads/{name}', connection: 'AzureWebJobsStorage' }

/** Metadata as the v4 library delivers it for a blob trigger (extension 5: Azure.Storage.Blobs properties). */
function meta(changes: Record<string, unknown> = {}, properties: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    blobTrigger: 'uploads/reports/2024/may report.pdf',
    uri: 'https://acct.blob.core.windows.net/uploads/reports/2024/may%20report.pdf',
    name: 'reports/2024/may report.pdf',
    properties: {
      contentType: 'application/pdf',
      eTag: '"0x8DC69D6C5B2E5A1"',
      contentLength: 5,
      lastModified: '2024-05-01T10:00:00+00:00',
      createdOn: '2024-04-30T09:00:00+00:00',
      blobType: 'Block',
      ...properties,
    },
    metadata: { owner: 'me' },
    ...changes,
  }
}

function only(input: AzureInput): StorageEvent {
  const events = blob.getEvents(input)
  expect(events).to.have.length(1)
  return events[0] as StorageEvent
}

describe('azure/blob', () => {
  it('recognises a blob trigger, or blob metadata when no type is stated, and nothing else', () => {
    const content = Buffer.from('bytes')
    expect(blob.canHandle(azureInput(content, BLOB))).to.equal(true)
    expect(blob.canHandle(azureInput(content, undefined, { triggerMetadata: meta() }))).to.equal(true)
    expect(blob.canHandle(azureInput(content, { type: 'queueTrigger' }, { triggerMetadata: meta() }))).to.equal(false)
    expect(blob.canHandle(azureInput(content))).to.equal(false)
    expect(eventGridBlob.canHandle(azureInput(content, BLOB, { triggerMetadata: meta() }))).to.equal(false)
    for (const [path, input] of azureFixtures()) expect(blob.canHandle(input), path).to.equal(false)
  })

  it('translates the blob: container, name with slashes and spaces, size, bare ETag, type, time; content on native', () => {
    const content = Buffer.from('%PDF-')
    const input = azureInput(content, BLOB, { triggerMetadata: meta() })
    expect(only(input)).to.deep.equal({
      kind: 'storage',
      id: 'uploads/reports/2024/may report.pdf@0x8DC69D6C5B2E5A1',
      time: '2024-05-01T10:00:00.000Z',
      source: 'https://acct.blob.core.windows.net/uploads',
      native: input,
      type: 'created',
      action: 'Microsoft.Storage.BlobCreated',
      bucket: 'uploads',
      key: 'reports/2024/may report.pdf',
      size: 5,
      etag: '0x8DC69D6C5B2E5A1',
      contentType: 'application/pdf',
      versionId: undefined,
    })
    expect((only(input).native as AzureInput).input).to.equal(content)
  })

  it('reads older property names and falls back to the content length and the invocation id', () => {
    const content = Buffer.from('twelve bytes')
    const older = only(azureInput(content, BLOB, { triggerMetadata: meta({}, { contentLength: undefined, length: 99, eTag: undefined, etag: '0x1', versionId: '2024-05-01T10:00:00.0000000Z' }) }))
    expect([older.size, older.etag, older.versionId]).to.deep.equal([99, '0x1', '2024-05-01T10:00:00.0000000Z'])
    const input = azureInput(content, BLOB, { triggerMetadata: { blobTrigger: 'uploads/a.txt' } })
    const bare = only(input)
    expect(bare).to.deep.include({ id: input.context.invocationId, size: 12, etag: undefined, contentType: undefined, time: '', source: 'uploads', key: 'a.txt' })
  })

  it('reports metadata without a <container>/<blob> path as invalid', () => {
    for (const path of [undefined, 'no-slash', '/leading', 'trailing/']) {
      const [record] = blob.getEvents(azureInput(Buffer.from(''), BLOB, { triggerMetadata: { blobTrigger: path } }))
      expect(record, String(path)).to.be.instanceOf(InvalidRecord)
      expect((record as InvalidRecord).error.message).to.match(/^azure:blob: (event "[^"]*": )?the trigger metadata has no blobTrigger path/)
    }
  })

  it('fails the invocation when the handler throws, so the host retries the blob then poisons it', async () => {
    const handler = createAzureHandler(
      storage(() => {
        throw new Error('unreadable')
      }),
      [blob],
    )
    const run = invocation(BLOB, { triggerMetadata: meta() })
    const error = await handler(Buffer.from('x'), run.context).catch((caught: unknown) => caught)
    expect(error).to.be.instanceOf(BatchFailedError)
    expect((error as BatchFailedError).failedIds).to.deep.equal(['uploads/reports/2024/may report.pdf@0x8DC69D6C5B2E5A1'])
  })

  it('refuses blob properties of the wrong type, naming the field and what it holds', () => {
    const cases: Array<[Record<string, unknown>, Record<string, unknown>, string]> = [
      [{}, { contentLength: 1.5 }, 'triggerMetadata.properties.contentLength must be a non-negative integer, got the number 1.5'],
      [{}, { lastModified: 'last week' }, 'triggerMetadata.properties.lastModified must be an RFC 3339 timestamp, got the string "last week"'],
      [{}, { contentType: 5 }, 'triggerMetadata.properties.contentType must be a string, got the number 5'],
      [{}, { eTag: ['x'] }, 'triggerMetadata.properties.eTag must be a string, got an array'],
      [{ properties: 'x' }, {}, 'triggerMetadata.properties must be an object, got the string "x"'],
    ]
    for (const [changes, properties, problem] of cases) {
      const [item] = blob.getEvents(azureInput(Buffer.from('x'), BLOB, { triggerMetadata: meta(changes, properties) }))
      expect((item as InvalidRecord).error.message).to.equal(`azure:blob: event "uploads/reports/2024/may report.pdf": ${problem}`)
    }
    // An absent length falls back to the content's; a null time to the creation time.
    expect(only(azureInput(Buffer.from('abc'), BLOB, { triggerMetadata: meta({}, { contentLength: undefined, lastModified: null }) }))).to.deep.include({ size: 3, time: '2024-04-30T09:00:00.000Z' })
  })
})
