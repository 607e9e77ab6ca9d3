import { expect } from 'chai'
import { EventError } from '@polycloud/core/adapter'
import { adapter, legacyToCloudEvent, toEventInput, type LegacyEvent } from '@polycloud/gcp'
import { fixture, fixturePaths } from '../../helpers/fixtures.ts'
import { thrown } from './support.ts'

describe('gcp/event-input (adapter.fromJson)', () => {
  it('is the adapter fromJson', () => {
    expect(adapter.fromJson).to.equal(toEventInput)
    expect(adapter.provider).to.equal('gcp')
  })

  it('passes structured CloudEvents and Pub/Sub push bodies through untouched', () => {
    const event = fixture('gcp/pubsub/gce__MessagePublishedData.json')
    expect(toEventInput(event)).to.equal(event)
    const push = fixture('gcp/pubsub/gce__MessagePublishedData-complex.json')
    expect(toEventInput(push)).to.equal(push)
  })

  it('converts every legacy fixture by the framework rules', () => {
    for (const path of fixturePaths('gcp').filter((p) => p.includes('legacy-'))) {
      expect(toEventInput(fixture(path)), path).to.deep.equal(legacyToCloudEvent(fixture<LegacyEvent>(path)))
    }
  })

  it('refuses a bare data payload naming the missing envelope attributes', () => {
    for (const [path, schema, missing] of [
      // StorageObjectData has an `id` of its own (bucket/name/generation).
      ['gcp/storage/gce__StorageObjectData-simple.json', 'StorageObjectData (google.cloud.storage.object.v1.*)', 'specversion, source, type'],
      ['gcp/firestore/gce__DocumentEventData-simple.json', 'DocumentEventData (google.cloud.firestore.document.v1.*)', 'specversion, id, source, type'],
      ['gcp/scheduler/gce__SchedulerJobData-simple.json', 'SchedulerJobData (google.cloud.scheduler.job.v1.executed)', 'specversion, id, source, type'],
      ['gcp/firebase-rtdb/gce__ReferenceEventData-simple.json', 'ReferenceEventData (google.firebase.database.ref.v1.*)', 'specversion, id, source, type'],
    ] as const) {
      const error = thrown(() => toEventInput(fixture(path)))
      expect(error, path).to.be.instanceOf(EventError)
      expect(error.message, path).to.include(`gcp: a bare ${schema} payload, not a CloudEvent: missing the required attribute(s) ${missing}. `)
    }
  })

  it('refuses a legacy event of a type the framework does not convert', () => {
    expect(thrown(() => toEventInput({ eventId: 'e', eventType: 'google.firebase.remoteconfig.update', resource: 'r', data: {} })).message).to.equal(
      'gcp: legacy event type "google.firebase.remoteconfig.update" has no CloudEvent equivalent (the Functions Framework hands it to a cloudEvent function unconverted)',
    )
  })

  it("passes other providers' payloads through, for inspect's own error naming their shape", () => {
    const sqs = fixture('aws/sqs/lgo__sqs-event.json')
    expect(toEventInput(sqs)).to.equal(sqs)
    const eventGrid = { id: '1', topic: 't', subject: 's', eventType: 'Microsoft.Storage.BlobCreated', eventTime: 'x', data: {}, dataVersion: '' }
    expect(toEventInput(eventGrid)).to.equal(eventGrid)
  })

  it('passes recorded HTTP requests and non-objects through for the sources to judge', () => {
    const request = { method: 'GET', url: '/x', headers: {} }
    expect(toEventInput(request)).to.equal(request)
    expect(toEventInput([1])).to.deep.equal([1])
    expect(toEventInput('text')).to.equal('text')
  })
})
