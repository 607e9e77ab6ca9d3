import { expect } from 'chai'
import { BatchFailedError, EventError, type CloudEvent } from '@polycloud/core/adapter'
import { bareDataSchema, gcpCloudEvent, isCloudEvent, missingAttributes, notACloudEvent, toCloudEvent } from '@polycloud/gcp'
import { resourceName } from '@polycloud/gcp/cloud-event'
import { fixture } from '../../helpers/fixtures.ts'
import { envelope, invalid, single } from './support.ts'

describe('gcp/cloud-event', () => {
  it('recognises an event by its four required attributes', () => {
    expect(isCloudEvent(envelope('t', {}))).to.equal(true)
    expect(isCloudEvent({ specversion: '1.0', id: '', source: 's', type: 't' })).to.equal(false)
    expect(isCloudEvent({ specversion: '1.0', id: 'i', source: 's' })).to.equal(false)
    expect(isCloudEvent(fixture('gcp/storage/gce__StorageObjectData-simple.json'))).to.equal(false)
    expect(isCloudEvent(fixture('gcp/pubsub/ffc__pubsub_text-legacy-input.json'))).to.equal(false)
    expect(isCloudEvent('text')).to.equal(false)
  })

  it('names the missing attributes of a bare payload', () => {
    expect(missingAttributes({ specversion: '1.0', id: 'x' })).to.deep.equal(['source', 'type'])
    expect(missingAttributes(null)).to.deep.equal(['specversion', 'id', 'source', 'type'])
    const error = notACloudEvent('gcp', { customData: 'AA==' })
    expect(error).to.be.instanceOf(EventError)
    expect(error.message).to.equal(
      'gcp: a bare SchedulerJobData (google.cloud.scheduler.job.v1.executed) payload, not a CloudEvent: missing the required attribute(s) ' +
        'specversion, id, source, type. An event\'s data must come in its envelope: { "specversion": "1.0", "id", "source", "type", "data": <payload> }',
    )
    expect(notACloudEvent('gcp', { a: 1, source: 's' }).message).to.match(/^gcp: not a CloudEvent: missing the required attribute\(s\) specversion, id, type\. /)
  })

  it('knows the bare data payloads of Google event schemas by their fields', () => {
    expect(bareDataSchema(fixture('gcp/firestore/gce__DocumentEventData-complex.json'))).to.match(/^DocumentEventData/)
    expect(bareDataSchema(fixture('gcp/storage/gce__StorageObjectData-complex.json'))).to.match(/^StorageObjectData/)
    expect(bareDataSchema(fixture('gcp/scheduler/gce__SchedulerJobData-simple.json'))).to.match(/^SchedulerJobData/)
    expect(bareDataSchema(fixture('gcp/firebase-rtdb/gce__ReferenceEventData-simple.json'))).to.match(/^ReferenceEventData/)
    expect(bareDataSchema((fixture('gcp/audit-log/gce__LogEntryData-bigqueryjobcompleted.json') as { data: unknown }).data)).to.match(/^LogEntryData/)
    expect(bareDataSchema({ message: { data: 'AA==' } })).to.match(/^MessagePublishedData/)
    expect(bareDataSchema(fixture('gcp/pubsub/gce__MessagePublishedData.json'))).to.equal(undefined)
    expect(bareDataSchema(fixture('aws/sqs/lgo__sqs-event.json'))).to.equal(undefined)
    expect(bareDataSchema({})).to.equal(undefined)
  })

  it('keeps every attribute: context ones as fields, the rest (traceparent included) as extensions', () => {
    const event = envelope('google.cloud.audit.log.v1.written', { a: 1 }, { subject: 's/1', dataschema: 'https://schema', traceparent: '00-abc', methodname: 'm', database: '(default)' })
    expect(toCloudEvent(event)).to.deep.equal({
      kind: 'cloudEvent',
      id: 'evt-1',
      time: '2024-05-01T10:00:00.123Z',
      source: '//example.googleapis.com/projects/p',
      native: event,
      specversion: '1.0',
      type: 'google.cloud.audit.log.v1.written',
      subject: 's/1',
      datacontenttype: 'application/json',
      dataschema: 'https://schema',
      data: { a: 1 },
      extensions: { traceparent: '00-abc', methodname: 'm', database: '(default)' },
    })
  })

  it('gives binary data as bytes: data_base64 decoded, a binary-mode Buffer as it is; no time is ""', () => {
    const structured = { specversion: '1.0', id: 'b', source: 's', type: 't', data_base64: 'AP8=' }
    const event = single<CloudEvent>(gcpCloudEvent.getEvents(structured))
    expect(event.data).to.be.instanceOf(Uint8Array)
    expect([...(event.data as Uint8Array)]).to.deep.equal([0, 255])
    expect(event.time).to.equal('')
    expect(event.extensions).to.deep.equal({})
    const buffer = Buffer.from([1, 2])
    expect(single<CloudEvent>(gcpCloudEvent.getEvents({ ...structured, data_base64: undefined, data: buffer })).data).to.equal(buffer)
  })

  it('makes an event with invalid data_base64 an invalid record', () => {
    const record = invalid(gcpCloudEvent.getEvents({ specversion: '1.0', id: 'b', source: 's', type: 't', data_base64: 'A' }))
    expect(record.id).to.equal('b')
    expect(record.error.message).to.equal('gcp:cloud-event: event "b": data_base64 is not base64 (RFC 4648)')
  })

  it('throws BatchFailedError for a failed event', () => {
    const event = envelope('t', {})
    expect(() => gcpCloudEvent.getResult(event, gcpCloudEvent.getEvents(event))).to.throw(BatchFailedError, 'gcp:cloud-event: 1 event(s) failed: evt-1')
  })

  it('finds the id after a collection in a resource path', () => {
    expect(resourceName('//pubsub.googleapis.com/projects/p/topics/orders', 'topics')).to.equal('orders')
    expect(resourceName('projects/p/subscriptions/s', 'subscriptions')).to.equal('s')
    expect(resourceName('//cloudscheduler.googleapis.com/projects/p/locations/l/jobs/j/extra', 'jobs')).to.equal('j')
    expect(resourceName('topics/t', 'topics')).to.equal('t')
    expect(resourceName('//pubsub.googleapis.com/', 'topics')).to.equal(undefined)
    expect(resourceName('projects/p/topics/', 'topics')).to.equal(undefined)
    expect(resourceName(undefined, 'topics')).to.equal(undefined)
  })
})
