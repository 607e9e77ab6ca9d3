import { expect } from 'chai'
import { BatchFailedError, type StorageEvent } from '@polycloud/core/adapter'
import { gcpStorage } from '@polycloud/gcp'
import { fixture } from '../../helpers/fixtures.ts'
import { envelope, invalid, single } from './support.ts'

const SOURCE = '//storage.googleapis.com/projects/_/buckets/uploads'

function storageEvent(action: string, data: unknown, extra: Record<string, unknown> = {}) {
  return envelope(`google.cloud.storage.object.v1.${action}`, data, { source: SOURCE, subject: 'objects/photos/cat.png', ...extra })
}

const object = { bucket: 'uploads', name: 'photos/cat.png', size: '2048', etag: 'CNHZkbuF/ugCEAE=', contentType: 'image/png', generation: '1714557600000001' }

describe('gcp/storage', () => {
  it('accepts Cloud Storage object events only', () => {
    expect(gcpStorage.canHandle(storageEvent('finalized', object))).to.equal(true)
    expect(gcpStorage.canHandle(fixture('gcp/pubsub/gce__MessagePublishedData.json'))).to.equal(false)
    expect(gcpStorage.canHandle(fixture('gcp/storage/gce__StorageObjectData-simple.json'))).to.equal(false)
    expect(gcpStorage.canHandle(fixture('gcp/storage/ffc__storage-legacy-input.json'))).to.equal(false)
    expect(gcpStorage.canHandle(envelope('google.cloud.storage.bucket.v1.created', {}))).to.equal(false)
  })

  it('translates an object event field by field', () => {
    const event = single<StorageEvent>(gcpStorage.getEvents(storageEvent('finalized', object)))
    expect(event).to.deep.equal({
      kind: 'storage',
      id: 'evt-1',
      time: '2024-05-01T10:00:00.123Z',
      source: SOURCE,
      native: storageEvent('finalized', object),
      type: 'created',
      action: 'google.cloud.storage.object.v1.finalized',
      bucket: 'uploads',
      key: 'photos/cat.png',
      size: 2048,
      etag: 'CNHZkbuF/ugCEAE=',
      contentType: 'image/png',
      versionId: '1714557600000001',
    })
  })

  it('maps finalized, deleted, archived and metadataUpdated', () => {
    const types = ['finalized', 'deleted', 'archived', 'metadataUpdated'].map((action) => single<StorageEvent>(gcpStorage.getEvents(storageEvent(action, object))).type)
    expect(types).to.deep.equal(['created', 'deleted', 'other', 'other'])
  })

  it('reads int64 fields as strings (real events) or numbers (some examples)', () => {
    const size = (value: unknown) => single<StorageEvent>(gcpStorage.getEvents(storageEvent('finalized', { ...object, size: value }))).size
    expect([size('352'), size(0), size(undefined), size(null)]).to.deep.equal([352, 0, undefined, undefined])
    expect(single<StorageEvent>(gcpStorage.getEvents(storageEvent('finalized', { ...object, size: 7, generation: 96883251 })))).to.deep.include({ size: 7, versionId: '96883251' })
  })

  it('falls back to the bucket attribute or source and to the subject when data lacks them', () => {
    const event = single<StorageEvent>(gcpStorage.getEvents(storageEvent('deleted', { size: '1' }, { subject: 'objects/a/objects/b.txt' })))
    expect(event).to.deep.include({ bucket: 'uploads', key: 'a/objects/b.txt', size: 1, etag: undefined, contentType: undefined, versionId: undefined })
    const attribute = single<StorageEvent>(gcpStorage.getEvents(storageEvent('deleted', {}, { bucket: 'from-attribute' })))
    expect(attribute.bucket).to.equal('from-attribute')
  })

  it('makes malformed events invalid records naming the problem', () => {
    expect(invalid(gcpStorage.getEvents(storageEvent('finalized', { ...object, size: '-1' }))).error.message).to.equal('gcp:storage: event "evt-1": data.size must be a non-negative integer, got the string "-1"')
    expect(invalid(gcpStorage.getEvents(storageEvent('finalized', { ...object, size: '12abc' }))).error.message).to.equal('gcp:storage: event "evt-1": data.size must be a non-negative integer, got the string "12abc"')
    expect(invalid(gcpStorage.getEvents(storageEvent('finalized', { ...object, size: 1.5 }))).error.message).to.match(/data.size must be a non-negative integer, got the number 1.5$/)
    expect(invalid(gcpStorage.getEvents(storageEvent('finalized', { ...object, etag: 5 }))).error.message).to.match(/data.etag must be a string, got the number 5$/)
    expect(invalid(gcpStorage.getEvents(storageEvent('finalized', object, { time: 'noon' }))).error.message).to.match(/: time must be an RFC 3339 timestamp, got the string "noon"$/)
    expect(invalid(gcpStorage.getEvents(storageEvent('finalized', {}, { subject: undefined }))).error.message).to.equal('gcp:storage: event evt-1 names no object (data.bucket and data.name, or the subject)')
    expect(invalid(gcpStorage.getEvents(storageEvent('finalized', Buffer.from([1])))).error.message).to.equal('gcp:storage: event evt-1 has no StorageObjectData (data is binary)')
    expect(invalid(gcpStorage.getEvents(storageEvent('finalized', undefined))).error.message).to.equal('gcp:storage: event evt-1 has no StorageObjectData (data is undefined)')
  })

  it('throws BatchFailedError for a failed event', () => {
    const event = storageEvent('finalized', object)
    expect(() => gcpStorage.getResult(event, gcpStorage.getEvents(event))).to.throw(BatchFailedError, 'gcp:storage: 1 event(s) failed: evt-1')
  })
})
