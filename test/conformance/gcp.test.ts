/**
 * Conformance on real GCP payloads (test/fixtures/events/gcp, provenance in MANIFEST.tsv), through `polycloud
 * inspect` (`adapter.fromJson` + the sources): every fixture is translated and its neutral form checked field by
 * field against values read off the payload.
 *
 * - ffc__*: the Functions Framework conformance suite. `*-legacy-input.json` (and the legacy outputs) are legacy
 *   background events, `*-cloudevent-output.json` what FF makes of them: both must give the same neutral result.
 * - gce__*: google-cloudevents. Most are bare `data` payloads, which are not events and are refused with an error
 *   naming the missing envelope attributes; they are checked wrapped in the envelope Eventarc would send. The
 *   MessagePublishedData ones have exactly the shape of a Pub/Sub push body and are read as one (as FF reads
 *   them). LogEntryData, MessagePublishedData.json and StorageObjectDataWorkflows.json are full events.
 */
import { expect } from 'chai'
import type { SourceKind } from '@polycloud/core/adapter'
import type { DocumentEventData } from '@polycloud/gcp'
import { inspect, type Inspection } from '@polycloud/testing'
import { fixture, fixturePaths } from '../helpers/fixtures.ts'
import { encodeDocumentEventData } from '../adapters/gcp/protobuf-encoder.ts'

type Described = Record<string, unknown>

const covered = new Set<string>()

async function run(json: unknown, kind?: SourceKind): Promise<Inspection> {
  return inspect('gcp', json, kind === undefined ? {} : { kind })
}

/** The one neutral event a fixture (or a payload made from it) becomes for a handler of `kind`. */
async function one(json: unknown, kind: SourceKind, adapter: string): Promise<Described> {
  const result = await run(json, kind)
  expect(result.adapter).to.equal(adapter)
  expect(result.invalid).to.equal(0)
  expect(result.events).to.have.length(1)
  return result.events[0] as Described
}

function load(path: string): unknown {
  covered.add(path)
  return fixture(path)
}

async function refusal(json: unknown, kind?: SourceKind): Promise<string> {
  try {
    await run(json, kind)
  } catch (error) {
    return (error as Error).message
  }
  throw new Error('expected inspect to refuse the payload')
}

const BARE = (schema: string, missing: string) => `gcp: a bare ${schema} payload, not a CloudEvent: missing the required attribute(s) ${missing}. `

function wrap(type: string, data: unknown, attributes: Record<string, unknown>): Record<string, unknown> {
  return { specversion: '1.0', id: 'wrapped-1', time: '2024-05-01T10:00:00Z', datacontenttype: 'application/json', type, data, ...attributes }
}

const LEGACY_ID = 'aaaaaa-1111-bbbb-2222-cccccccccccc'
const LEGACY_TIME = '2020-09-29T11:32:00.123Z'

describe('conformance: GCP', () => {
  describe('Pub/Sub', () => {
    const SAMPLE_TOPIC = '//pubsub.googleapis.com/projects/sample-project/topics/gcf-test'

    for (const name of ['ffc__legacy_pubsub-legacy-input.json', 'ffc__legacy_pubsub-legacy-output-converted.json', 'ffc__legacy_pubsub-cloudevent-output.json']) {
      it(`${name}: topic message and queue message with one attribute and a text body`, async () => {
        const json = load(`gcp/pubsub/${name}`)
        expect(await one(json, 'topic', 'gcp:pubsub')).to.deep.equal({
          kind: 'topic',
          id: LEGACY_ID,
          time: LEGACY_TIME,
          source: SAMPLE_TOPIC,
          topic: 'gcf-test',
          attributes: { attribute1: 'value1' },
          body: 'This is a sample message',
        })
        expect(await one(json, 'queue', 'gcp:pubsub-queue')).to.deep.equal({
          kind: 'queue',
          id: LEGACY_ID,
          time: LEGACY_TIME,
          source: SAMPLE_TOPIC,
          queue: 'gcf-test',
          attempt: 1,
          attributes: { attribute1: 'value1' },
          body: 'This is a sample message',
        })
      })
    }

    for (const name of ['ffc__pubsub_binary-legacy-input.json', 'ffc__pubsub_binary-cloudevent-output.json']) {
      it(`${name}: binary data 01 02 03 04, no attributes`, async () => {
        expect(await one(load(`gcp/pubsub/${name}`), 'topic', 'gcp:pubsub')).to.deep.equal({
          kind: 'topic',
          id: LEGACY_ID,
          time: LEGACY_TIME,
          source: SAMPLE_TOPIC,
          topic: 'gcf-test',
          attributes: {},
          bodyBase64: 'AQIDBA==',
        })
      })
    }

    for (const name of ['ffc__pubsub_text-legacy-input.json', 'ffc__pubsub_text-legacy-output.json', 'ffc__pubsub_text-cloudevent-output.json', 'ffc__pubsub_text-cloudevent-input.json']) {
      it(`${name}: "test message 3" with attr1`, async () => {
        expect(await one(load(`gcp/pubsub/${name}`), 'topic', 'gcp:pubsub')).to.deep.equal({
          kind: 'topic',
          id: LEGACY_ID,
          time: LEGACY_TIME,
          source: SAMPLE_TOPIC,
          topic: 'gcf-test',
          attributes: { attr1: 'attr1-value' },
          body: 'test message 3',
        })
      })
    }

    it('ffc__pubsub_text-cloudevent-input.json: as a queue message, the subscription is the queue', async () => {
      expect(await one(load('gcp/pubsub/ffc__pubsub_text-cloudevent-input.json'), 'queue', 'gcp:pubsub-queue')).to.deep.include({
        id: LEGACY_ID,
        source: 'projects/sample-project/subscriptions/sample-subscription',
        queue: 'sample-subscription',
        attempt: 1,
      })
    })

    it('gce__MessagePublishedData.json (full event): every kind a Pub/Sub event feeds', async () => {
      const json = load('gcp/pubsub/gce__MessagePublishedData.json')
      const source = '//pubsub.googleapis.com/projects/test-project/topics/my-topic'
      expect(await one(json, 'topic', 'gcp:pubsub')).to.deep.equal({
        kind: 'topic',
        id: 'message-id',
        time: '2021-02-05T04:06:14.109Z',
        source,
        topic: 'my-topic',
        attributes: { attr1: 'attr1-value' },
        body: 'test message 3',
      })
      expect(await one(json, 'queue', 'gcp:pubsub-queue')).to.deep.equal({
        kind: 'queue',
        id: 'message-id',
        time: '2021-02-05T04:06:14.109Z',
        source: 'projects/test-project/subscriptions/my-subscription',
        queue: 'my-subscription',
        attempt: 1,
        groupId: 'ordering-key',
        attributes: { attr1: 'attr1-value' },
        body: 'test message 3',
      })
      expect(await one(json, 'schedule', 'gcp:scheduler-pubsub')).to.deep.equal({
        kind: 'schedule',
        id: 'message-id',
        time: '2021-02-05T04:06:14.109Z',
        source,
        name: 'my-topic',
      })
      expect(await one(json, 'cloudEvent', 'gcp:cloud-event')).to.deep.include({
        id: '3103425958877813',
        time: '2021-02-05T04:06:14.109Z',
        source,
        type: 'google.cloud.pubsub.topic.v1.messagePublished',
        datacontenttype: 'application/json',
        extensions: {},
      })
    })

    const pushBodies: Array<[string, Described]> = [
      ['gce__MessagePublishedData-text.json', { attributes: { attr1: 'attr1-value' }, body: 'test message 3' }],
      ['gce__MessagePublishedData-binary.json', { attributes: {}, bodyBase64: 'AQIDBA==' }],
      ['gce__MessagePublishedData-duplicatedFields.json', { attributes: {}, bodyBase64: 'AQIDBA==' }],
      ['gce__MessagePublishedData-complex.json', { attributes: { attr1: 'attr1-value' }, body: 'test message 3' }],
    ]
    for (const [name, payload] of pushBodies) {
      it(`${name}: read as the Pub/Sub push body it is shaped as, and wrapped as an Eventarc event`, async () => {
        const json = load(`gcp/pubsub/${name}`) as { subscription: string }
        const subscription = json.subscription
        expect(await one(json, 'topic', 'gcp:pubsub')).to.deep.equal({
          kind: 'topic',
          id: 'message-id',
          time: '2021-02-05T04:06:14.109Z',
          source: subscription,
          topic: '',
          ...payload,
        })
        const queued = await one(json, 'queue', 'gcp:pubsub-queue')
        expect(queued).to.deep.include({ id: 'message-id', queue: 'my-subscription', attempt: 1, source: subscription, ...payload })
        expect(queued.groupId).to.equal(name.includes('complex') ? 'ordering-key' : undefined)
        const wrapped = wrap('google.cloud.pubsub.topic.v1.messagePublished', json, { source: '//pubsub.googleapis.com/projects/my-project/topics/my-topic' })
        expect(await one(wrapped, 'topic', 'gcp:pubsub')).to.deep.equal({
          kind: 'topic',
          id: 'message-id',
          time: '2021-02-05T04:06:14.109Z',
          source: '//pubsub.googleapis.com/projects/my-project/topics/my-topic',
          topic: 'my-topic',
          ...payload,
        })
      })
    }
  })

  describe('Cloud Storage', () => {
    const expected = {
      kind: 'storage',
      id: LEGACY_ID,
      time: LEGACY_TIME,
      source: '//storage.googleapis.com/projects/_/buckets/some-bucket',
      type: 'created',
      action: 'google.cloud.storage.object.v1.finalized',
      bucket: 'some-bucket',
      key: 'folder/Test.cs',
      size: 352,
      etag: 'CNHZkbuF/ugCEAE=',
      contentType: 'text/plain',
      versionId: '1587627537231057',
    }

    for (const name of ['ffc__storage-legacy-input.json', 'ffc__storage-cloudevent-output.json']) {
      it(`${name}: folder/Test.cs finalized in some-bucket, size "352"`, async () => {
        const json = load(`gcp/storage/${name}`)
        expect(await one(json, 'storage', 'gcp:storage')).to.deep.equal(expected)
        expect(await one(json, 'cloudEvent', 'gcp:cloud-event')).to.deep.include({ subject: 'objects/folder/Test.cs', type: 'google.cloud.storage.object.v1.finalized' })
      })
    }

    it('gce__StorageObjectData-simple.json: bare data is refused; wrapped, the same object', async () => {
      const json = load('gcp/storage/gce__StorageObjectData-simple.json')
      expect(await refusal(json)).to.include(BARE('StorageObjectData (google.cloud.storage.object.v1.*)', 'specversion, source, type'))
      const wrapped = wrap('google.cloud.storage.object.v1.finalized', json, { source: '//storage.googleapis.com/projects/_/buckets/some-bucket', subject: 'objects/folder/Test.cs' })
      expect(await one(wrapped, 'storage', 'gcp:storage')).to.deep.equal({ ...expected, id: 'wrapped-1', time: '2024-05-01T10:00:00Z' })
    })

    it('gce__StorageObjectData-complex.json: int64 fields as numbers, size 0, deleted', async () => {
      const json = load('gcp/storage/gce__StorageObjectData-complex.json')
      expect(await refusal(json, 'storage')).to.include(BARE('StorageObjectData (google.cloud.storage.object.v1.*)', 'specversion, source, type'))
      const wrapped = wrap('google.cloud.storage.object.v1.deleted', json, { source: '//storage.googleapis.com/projects/_/buckets/sample-bucket', subject: 'objects/MyFile' })
      expect(await one(wrapped, 'storage', 'gcp:storage')).to.deep.equal({
        kind: 'storage',
        id: 'wrapped-1',
        time: '2024-05-01T10:00:00Z',
        source: '//storage.googleapis.com/projects/_/buckets/sample-bucket',
        type: 'deleted',
        action: 'google.cloud.storage.object.v1.deleted',
        bucket: 'sample-bucket',
        key: 'MyFile',
        size: 0,
        etag: 'COu8mb3Dn+kCEAE=',
        contentType: 'esse commodo',
        versionId: '96883251',
      })
    })

    it('gce__StorageObjectDataWorkflows.json (full event): numbers for int64, a bucket extension, mediaLink kept as sent', async () => {
      const json = load('gcp/storage/gce__StorageObjectDataWorkflows.json')
      expect(await one(json, 'storage', 'gcp:storage')).to.deep.equal({
        kind: 'storage',
        id: '1234567',
        time: '2021-11-25T21:04:32.279744Z',
        source: '//storage.googleapis.com/projects/_/buckets/sample-bucket',
        type: 'created',
        action: 'google.cloud.storage.object.v1.finalized',
        bucket: 'sample-bucket',
        key: 'MyFile',
        size: 0,
        etag: 'COu8mb3Dn+kCEAE=',
        contentType: 'text/plain',
        versionId: '96883251',
      })
      const event = await one(json, 'cloudEvent', 'gcp:cloud-event')
      expect(event.extensions).to.deep.equal({ bucket: 'sample-bucket' })
      expect(event.subject).to.equal('objects/MyFile')
      // The payload's double-escaped "\\u0026" is data, not an escape: it reaches the handler as backslash-u0026.
      expect((event.data as Record<string, string>).mediaLink).to.equal(
        'https://www.googleapis.com/download/storage/v1/b/projectid-sample-bucket/o/MyFile?generation=1588778055917163\\u0026alt=media',
      )
    })
  })

  describe('Firestore', () => {
    const complexImage = {
      arrayValue: [1, 2],
      booleanValue: true,
      doubleValue: 5.5,
      geoPointValue: { latitude: 51.4543, longitude: -0.9781 },
      intValue: 50,
      mapValue: { field1: 'x', field2: ['x', 1] },
      nullValue: null,
      referenceValue: 'projects/project-id/databases/(default)/documents/foo/bar/baz/qux',
      stringValue: 'text',
      timestampValue: '2020-04-23T14:23:53.241Z',
    }
    const simple = {
      type: 'modify',
      table: 'gcf-test',
      keys: { id: '2Vm2mI1d0wIaK2Waj5to' },
      newImage: { 'another test': 'asd', count: 4, foo: 'bar' },
      oldImage: { 'another test': 'asd', count: 3, foo: 'bar' },
    }
    const SOURCE = '//firestore.googleapis.com/projects/project-id/databases/(default)'

    for (const name of ['ffc__firestore_complex-legacy-input.json', 'ffc__firestore_complex-cloudevent-output.json']) {
      it(`${name}: a written document with every value kind, no old document (insert)`, async () => {
        expect(await one(load(`gcp/firestore/${name}`), 'changes', 'gcp:firestore')).to.deep.equal({
          kind: 'changes',
          id: LEGACY_ID,
          time: LEGACY_TIME,
          source: SOURCE,
          type: 'insert',
          table: 'gcf-test',
          keys: { id: 'IH75dRdeYJKd4uuQiqch' },
          newImage: complexImage,
        })
      })
    }

    for (const name of ['ffc__firestore_simple-legacy-input.json', 'ffc__firestore_simple-cloudevent-output.json']) {
      it(`${name}: count 3 -> 4 (modify), a field name with a space`, async () => {
        expect(await one(load(`gcp/firestore/${name}`), 'changes', 'gcp:firestore')).to.deep.equal({
          kind: 'changes',
          id: LEGACY_ID,
          time: LEGACY_TIME,
          source: SOURCE,
          ...simple,
        })
      })
    }

    for (const [name, expected] of [
      ['gce__DocumentEventData-complex.json', { type: 'insert', table: 'gcf-test', keys: { id: 'IH75dRdeYJKd4uuQiqch' }, newImage: complexImage }],
      ['gce__DocumentEventData-simple.json', simple],
    ] as const) {
      it(`${name}: bare data is refused; wrapped as JSON and as protobuf, the same change`, async () => {
        const json = load(`gcp/firestore/${name}`)
        expect(await refusal(json, 'changes')).to.include(BARE('DocumentEventData (google.cloud.firestore.document.v1.*)', 'specversion, id, source, type'))
        const attributes = { source: '//firestore.googleapis.com/projects/project-id/databases/(default)', subject: `documents/gcf-test/${expected.keys.id}` }
        const base = { kind: 'changes', id: 'wrapped-1', time: '2024-05-01T10:00:00Z', source: attributes.source, ...expected }
        expect(await one(wrap('google.cloud.firestore.document.v1.written', json, attributes), 'changes', 'gcp:firestore')).to.deep.equal(base)
        const protobuf = wrap('google.cloud.firestore.document.v1.written', undefined, {
          ...attributes,
          datacontenttype: 'application/protobuf',
          data_base64: Buffer.from(encodeDocumentEventData(json as DocumentEventData)).toString('base64'),
        })
        delete protobuf.data
        expect(await one(protobuf, 'changes', 'gcp:firestore')).to.deep.equal(base)
      })
    }
  })

  describe('Firebase (CloudEvents only)', () => {
    it('ffc__firebase-auth: legacy input and expected output are the same user.created event, metadata renamed', async () => {
      const legacy = await one(load('gcp/firebase-auth/ffc__firebase-auth-legacy-input.json'), 'cloudEvent', 'gcp:cloud-event')
      const output = await one(load('gcp/firebase-auth/ffc__firebase-auth-cloudevent-output.json'), 'cloudEvent', 'gcp:cloud-event')
      expect(legacy).to.deep.equal(output)
      expect(output).to.deep.include({
        id: LEGACY_ID,
        time: LEGACY_TIME,
        source: '//firebaseauth.googleapis.com/projects/my-project-id',
        type: 'google.firebase.auth.user.v1.created',
        subject: 'users/UUpby3s4spZre6kHsgVSPetzQ8l2',
        datacontenttype: 'application/json',
        extensions: {},
      })
      const data = output.data as Record<string, unknown>
      expect(data.metadata).to.deep.equal({ createTime: '2020-05-26T10:42:27Z', lastSignInTime: '2020-10-24T11:00:00Z' })
      expect(data.uid).to.equal('UUpby3s4spZre6kHsgVSPetzQ8l2')
      expect(data.email).to.equal('test@nowhere.com')
      expect(await refusal(load('gcp/firebase-auth/ffc__firebase-auth-legacy-input.json'), 'topic')).to.match(/^gcp: no adapter for topic handlers recognises this input \(tried: gcp:pubsub\)/)
    })

    for (const [name, location, type, data] of [
      ['ffc__firebase-db1', 'us-central1', 'written', { data: null, delta: { grandchild: 'other' } }],
      ['ffc__firebase-db2', 'europe-west1', 'written', { data: { grandchild: 'other' }, delta: { grandchild: 'other changed' } }],
      ['ffc__firebase-dbdelete1', 'us-central1', 'deleted', { data: { grandchild: 'other changed' }, delta: null }],
    ] as const) {
      it(`${name}: ref.${type} in ${location}, legacy input and expected output alike`, async () => {
        const legacy = await one(load(`gcp/firebase-rtdb/${name}-legacy-input.json`), 'cloudEvent', 'gcp:cloud-event')
        const output = await one(load(`gcp/firebase-rtdb/${name}-cloudevent-output.json`), 'cloudEvent', 'gcp:cloud-event')
        expect(legacy).to.deep.equal(output)
        expect(output).to.deep.include({
          id: LEGACY_ID,
          time: LEGACY_TIME,
          source: `//firebasedatabase.googleapis.com/projects/_/locations/${location}/instances/my-project-id`,
          type: `google.firebase.database.ref.v1.${type}`,
          subject: 'refs/gcf-test/xyz',
        })
        expect(output.data).to.deep.equal(data)
      })
    }

    it('gce__ReferenceEventData-simple.json: bare data is refused; wrapped, data and delta as sent', async () => {
      const json = load('gcp/firebase-rtdb/gce__ReferenceEventData-simple.json')
      expect(await refusal(json)).to.include(BARE('ReferenceEventData (google.firebase.database.ref.v1.*)', 'specversion, id, source, type'))
      const event = await one(
        wrap('google.firebase.database.ref.v1.updated', json, { source: '//firebasedatabase.googleapis.com/projects/_/locations/us-central1/instances/db', subject: 'refs/gcf-test/xyz' }),
        'cloudEvent',
        'gcp:cloud-event',
      )
      const data = event.data as { data: Described; delta: Described }
      expect(data.data).to.deep.equal({ deeply: { nested: { text: 'This is deeply nested', text2: 'Second value' } }, grandchild: 'other changed' })
      expect(data.delta).to.deep.equal({ deeply: { abc: 'def' } })
    })
  })

  describe('Cloud Scheduler', () => {
    it('gce__SchedulerJobData-simple.json: bare data is refused; wrapped in executed, a tick named for the job', async () => {
      const json = load('gcp/scheduler/gce__SchedulerJobData-simple.json')
      expect(await refusal(json, 'schedule')).to.include(BARE('SchedulerJobData (google.cloud.scheduler.job.v1.executed)', 'specversion, id, source, type'))
      const wrapped = wrap('google.cloud.scheduler.job.v1.executed', json, { source: '//cloudscheduler.googleapis.com/projects/p/locations/us-central1/jobs/nightly' })
      expect(await one(wrapped, 'schedule', 'gcp:scheduler')).to.deep.equal({
        kind: 'schedule',
        id: 'wrapped-1',
        time: '2024-05-01T10:00:00Z',
        source: '//cloudscheduler.googleapis.com/projects/p/locations/us-central1/jobs/nightly',
        name: 'nightly',
      })
      const event = await one(wrapped, 'cloudEvent', 'gcp:cloud-event')
      expect(event.data).to.deep.equal({ customData: 'bXkgYmFzZTY0IGRhdGE=' })
      expect(Buffer.from('bXkgYmFzZTY0IGRhdGE=', 'base64').toString()).to.equal('my base64 data')
    })
  })

  describe('Audit logs (CloudEvents only)', () => {
    it('gce__LogEntryData-bigqueryjobcompleted.json: camelCase extension names make it an invalid CloudEvent; lower-cased (as binary mode delivers them), every attribute and the audit entry', async () => {
      const json = load('gcp/audit-log/gce__LogEntryData-bigqueryjobcompleted.json') as Record<string, unknown>
      const refusedEvent = await run(json)
      expect(refusedEvent.adapter).to.equal('gcp:cloud-event')
      // CloudEvents 1.0: attribute names MUST be lower-case letters and digits. This documentation sample writes
      // methodName, recordedTime, ...; Eventarc sends them as ce-methodname, ... headers (binary mode).
      expect(refusedEvent.events).to.deep.equal([
        {
          invalid: true,
          id: 'projects/test-project/logs/cloudaudit.googleapis.com%2Fdata_access1234567123456789',
          error:
            'gcp:cloud-event: event "projects/test-project/logs/cloudaudit.googleapis.com%2Fdata_access1234567123456789": extension attribute "methodName": names are lower-case letters and digits only',
        },
      ])
      const lowered = Object.fromEntries(Object.entries(json).map(([name, value]) => [name === 'data_base64' ? name : name.toLowerCase(), value]))
      const result = await run(lowered)
      const event = result.events[0] as Described
      expect(event).to.deep.include({
        kind: 'cloudEvent',
        id: 'projects/test-project/logs/cloudaudit.googleapis.com%2Fdata_access1234567123456789',
        time: '2021-11-25T21:56:00.653866570Z',
        source: '//cloudaudit.googleapis.com/projects/test-project/logs/data_access',
        specversion: '1.0',
        type: 'google.cloud.audit.log.v1.written',
        subject: 'bigquery.googleapis.com/projects/test-project/jobs/sample-job',
        datacontenttype: 'application/json; charset=utf-8',
        dataschema: 'https://googleapis.github.io/google-cloudevents/jsonschema/google/events/cloud/audit/v1/LogEntryData.json',
      })
      expect(event.extensions).to.deep.equal({
        methodname: 'jobservice.jobcompleted',
        recordedtime: '2021-11-25T21:56:00.276607Z',
        resourcename: 'projects/test-project/jobs/sample-job',
        servicename: 'bigquery.googleapis.com',
      })
      const data = event.data as { protoPayload: Described; severity: string; insertId: string }
      expect(data.insertId).to.equal('1234567')
      expect(data.severity).to.equal('INFO')
      expect(data.protoPayload.methodName).to.equal('jobservice.jobcompleted')
      expect(await refusal(json, 'storage')).to.match(/^gcp: no adapter for storage handlers recognises this input \(tried: gcp:storage\)/)
    })
  })

  // Last suite (mocha runs a suite's own tests before its child suites): every fixture was checked above.
  describe('coverage', () => {
    it('covers every GCP fixture', () => {
      expect([...covered].sort()).to.deep.equal(fixturePaths('gcp'))
    })
  })
})
