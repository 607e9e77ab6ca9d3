import { expect } from 'chai'
import { storage, type StorageEvent } from '@polycloud/core'
import { BatchFailedError, InvalidRecord } from '@polycloud/core/adapter'
import { createAzureHandler, eventGridBlob, type EventGridInput } from '@polycloud/azure'
import { azureInput, invocation } from './support.ts'

const GRID = { type: 'eventGridTrigger' }
const ACCOUNT = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct'

function gridBlobEvent(eventType: string, name: string, data: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: `${eventType}-${name}`,
    topic: ACCOUNT,
    subject: `/blobServices/default/containers/photos/blobs/${name}`,
    eventType,
    eventTime: '2024-05-01T10:00:00Z',
    data: { api: 'PutBlob', eTag: '"0x8DC"', contentType: 'image/jpeg', contentLength: 2048, url: `https://acct.blob.core.windows.net/photos/${encodeURI(name)}`, ...data },
    dataVersion: '',
    metadataVersion: '1',
  }
}

describe('azure/event-grid-blob', () => {
  it('recognises Blob Storage events in either schema and nothing else', () => {
    expect(eventGridBlob.canHandle(azureInput(gridBlobEvent('Microsoft.Storage.BlobCreated', 'a.jpg'), GRID))).to.equal(true)
    expect(eventGridBlob.canHandle(azureInput([gridBlobEvent('Microsoft.Storage.BlobDeleted', 'a.jpg')]))).to.equal(true)
    const cloud = { specversion: '1.0', id: 'c', source: ACCOUNT, type: 'Microsoft.Storage.BlobCreated', subject: 'blobServices/default/containers/photos/blobs/a.jpg', data: {} }
    expect(eventGridBlob.canHandle(azureInput(cloud, GRID))).to.equal(true)
    expect(eventGridBlob.canHandle(azureInput({ ...cloud, type: 'Contoso.Thing' }, GRID))).to.equal(false)
    expect(eventGridBlob.canHandle(azureInput({ ...cloud, subject: '/queueServices/default/queues/q' }, GRID))).to.equal(false)
    expect(eventGridBlob.canHandle(azureInput(cloud, { type: 'blobTrigger' }))).to.equal(false)
  })

  it('maps created, deleted and other blob events; the name comes from the subject, unencoded', () => {
    const events = eventGridBlob.getEvents(
      azureInput<unknown>(
        [
          gridBlobEvent('Microsoft.Storage.BlobCreated', 'trips/2024/sea side.jpg'),
          gridBlobEvent('Microsoft.Storage.BlobDeleted', 'old.jpg', { api: 'DeleteBlob', eTag: undefined, contentLength: undefined }),
          gridBlobEvent('Microsoft.Storage.BlobTierChanged', 'cold.jpg'),
        ],
        GRID,
      ) as EventGridInput,
    ) as StorageEvent[]
    expect(events.map(({ native: _native, ...event }) => event)).to.deep.equal([
      {
        kind: 'storage',
        id: 'Microsoft.Storage.BlobCreated-trips/2024/sea side.jpg',
        time: '2024-05-01T10:00:00Z',
        source: ACCOUNT,
        type: 'created',
        action: 'Microsoft.Storage.BlobCreated',
        bucket: 'photos',
        key: 'trips/2024/sea side.jpg',
        size: 2048,
        etag: '0x8DC',
        contentType: 'image/jpeg',
        versionId: undefined,
      },
      {
        kind: 'storage',
        id: 'Microsoft.Storage.BlobDeleted-old.jpg',
        time: '2024-05-01T10:00:00Z',
        source: ACCOUNT,
        type: 'deleted',
        action: 'Microsoft.Storage.BlobDeleted',
        bucket: 'photos',
        key: 'old.jpg',
        size: undefined,
        etag: undefined,
        contentType: 'image/jpeg',
        versionId: undefined,
      },
      {
        kind: 'storage',
        id: 'Microsoft.Storage.BlobTierChanged-cold.jpg',
        time: '2024-05-01T10:00:00Z',
        source: ACCOUNT,
        type: 'other',
        action: 'Microsoft.Storage.BlobTierChanged',
        bucket: 'photos',
        key: 'cold.jpg',
        size: 2048,
        etag: '0x8DC',
        contentType: 'image/jpeg',
        versionId: undefined,
      },
    ])
  })

  it('fails, not drops, an event in the delivery that is not a blob event', () => {
    const records = eventGridBlob.getEvents(
      azureInput<unknown>(
        [
          gridBlobEvent('Microsoft.Storage.BlobCreated', 'a.jpg'),
          { id: 'sb-1', topic: 't', subject: 'topics/t1', eventType: 'Microsoft.ServiceBus.ActiveMessagesAvailableWithNoListeners', eventTime: '2024-05-01T10:00:00Z', data: {} },
          { ...gridBlobEvent('Microsoft.Storage.BlobCreated', 'x'), id: 'weird', subject: '/blobServices/default/containers/photos' },
        ],
        GRID,
      ) as EventGridInput,
    )
    expect(records[0]).to.not.be.instanceOf(InvalidRecord)
    expect((records[1] as InvalidRecord).error.message).to.equal('azure:event-grid-blob: input[1] ("sb-1"): Microsoft.ServiceBus.ActiveMessagesAvailableWithNoListeners is not a Blob Storage event')
    expect((records[2] as InvalidRecord).error.message).to.equal(
      'azure:event-grid-blob: input[2] ("weird"): subject "/blobServices/default/containers/photos" does not name a blob (/blobServices/default/containers/<container>/blobs/<name>)',
    )
  })

  it('fails the invocation when the handler throws', async () => {
    const handler = createAzureHandler(
      storage(() => {
        throw new Error('thumbnailer down')
      }),
      [eventGridBlob],
    )
    const error = await handler(gridBlobEvent('Microsoft.Storage.BlobCreated', 'a.jpg'), invocation(GRID).context).catch((caught: unknown) => caught)
    expect(error).to.be.instanceOf(BatchFailedError)
    expect((error as BatchFailedError).failedIds).to.deep.equal(['Microsoft.Storage.BlobCreated-a.jpg'])
  })

  it('refuses an event whose id, time, size, eTag or content type is of the wrong type, naming the field', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ eventTime: 'now' }, 'eventTime must be an RFC 3339 timestamp, got the string "now"'],
      [{ data: { contentLength: -1 } }, 'data.contentLength must be a non-negative integer, got the number -1'],
      [{ data: { eTag: 5 } }, 'data.eTag must be a string, got the number 5'],
      [{ data: { contentType: {} } }, 'data.contentType must be a string, got an object'],
      [{ data: 'x' }, 'data must be an object, got the string "x"'],
    ]
    const base = gridBlobEvent('Microsoft.Storage.BlobCreated', 'a.jpg')
    for (const [fields, problem] of cases) {
      const event = { ...base, ...fields, data: typeof fields.data === 'object' ? { ...(base.data as object), ...fields.data } : (fields.data ?? base.data) }
      const [item] = eventGridBlob.getEvents(azureInput(event, GRID) as EventGridInput)
      expect((item as InvalidRecord).error.message).to.equal(`azure:event-grid-blob: event "Microsoft.Storage.BlobCreated-a.jpg": ${problem}`)
    }
    const [noId] = eventGridBlob.getEvents(azureInput({ ...base, id: '' }, GRID) as EventGridInput)
    expect((noId as InvalidRecord).error.message).to.equal('azure:event-grid-blob: id must be a non-empty string, got the empty string')
  })
})
