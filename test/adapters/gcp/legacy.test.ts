import { expect } from 'chai'
import { EventError } from '@polycloud/core/adapter'
import { isLegacyEvent, legacyToCloudEvent, type LegacyEvent } from '@polycloud/gcp'
import { fixture } from '../../helpers/fixtures.ts'
import { thrown } from './support.ts'

const PAIRS = [
  ['firebase-auth/ffc__firebase-auth', 'firebase-auth/ffc__firebase-auth'],
  ['firebase-rtdb/ffc__firebase-db1', 'firebase-rtdb/ffc__firebase-db1'],
  ['firebase-rtdb/ffc__firebase-db2', 'firebase-rtdb/ffc__firebase-db2'],
  ['firebase-rtdb/ffc__firebase-dbdelete1', 'firebase-rtdb/ffc__firebase-dbdelete1'],
  ['firestore/ffc__firestore_complex', 'firestore/ffc__firestore_complex'],
  ['firestore/ffc__firestore_simple', 'firestore/ffc__firestore_simple'],
  ['pubsub/ffc__legacy_pubsub', 'pubsub/ffc__legacy_pubsub'],
  ['pubsub/ffc__pubsub_binary', 'pubsub/ffc__pubsub_binary'],
  ['pubsub/ffc__pubsub_text', 'pubsub/ffc__pubsub_text'],
  ['storage/ffc__storage', 'storage/ffc__storage'],
] as const

const legacy = (context: Record<string, unknown>, data: unknown, extra: Record<string, unknown> = {}): LegacyEvent => ({
  context: { eventId: 'e1', timestamp: '2020-01-01T00:00:00Z', ...context },
  data,
  ...extra,
})

describe('gcp/legacy', () => {
  for (const [input, output] of PAIRS) {
    it(`converts ${input}-legacy-input.json to exactly the framework's expected ${output}-cloudevent-output.json`, () => {
      expect(legacyToCloudEvent(fixture(`gcp/${input}-legacy-input.json`))).to.deep.equal(fixture(`gcp/${output}-cloudevent-output.json`))
    })
  }

  it('converts the conformance suite legacy outputs (legacy events themselves) to the same CloudEvents', () => {
    expect(legacyToCloudEvent(fixture('gcp/pubsub/ffc__legacy_pubsub-legacy-output-converted.json'))).to.deep.equal(fixture('gcp/pubsub/ffc__legacy_pubsub-cloudevent-output.json'))
    expect(legacyToCloudEvent(fixture('gcp/pubsub/ffc__pubsub_text-legacy-output.json'))).to.deep.equal(fixture('gcp/pubsub/ffc__pubsub_text-cloudevent-output.json'))
  })

  it('does not modify its input', () => {
    const input = fixture<LegacyEvent>('gcp/pubsub/ffc__pubsub_text-legacy-input.json')
    const copy = structuredClone(input)
    legacyToCloudEvent(input)
    expect(input).to.deep.equal(copy)
    const auth = fixture<LegacyEvent>('gcp/firebase-auth/ffc__firebase-auth-legacy-input.json')
    const authCopy = structuredClone(auth)
    legacyToCloudEvent(auth)
    expect(auth).to.deep.equal(authCopy)
  })

  it('recognises legacy events by a known eventType, a resource and data', () => {
    expect(isLegacyEvent(fixture('gcp/storage/ffc__storage-legacy-input.json'))).to.equal(true)
    expect(isLegacyEvent(fixture('gcp/firebase-rtdb/ffc__firebase-db1-legacy-input.json'))).to.equal(true)
    expect(isLegacyEvent(legacy({ eventType: 'google.storage.object.finalize', resource: 'projects/_/buckets/b/objects/o' }, {}))).to.equal(true)
    expect(isLegacyEvent(legacy({ eventType: 'google.storage.object.finalize' }, {}))).to.equal(false)
    expect(isLegacyEvent({ eventType: 'foo.bar', resource: 'r', data: {} })).to.equal(false)
    expect(isLegacyEvent({ eventType: 'google.pubsub.topic.publish', resource: 'r' })).to.equal(false)
    expect(isLegacyEvent(fixture('gcp/pubsub/ffc__pubsub_text-cloudevent-output.json'))).to.equal(false)
  })

  it('maps every storage type and finds the service from the eventType when the resource is a string', () => {
    const resource = 'projects/_/buckets/b/objects/dir/o.txt'
    const types = ['finalize', 'delete', 'archive', 'metadataUpdate'].map((t) => legacyToCloudEvent(legacy({ eventType: `google.storage.object.${t}`, resource }, {})).type)
    expect(types).to.deep.equal([
      'google.cloud.storage.object.v1.finalized',
      'google.cloud.storage.object.v1.deleted',
      'google.cloud.storage.object.v1.archived',
      'google.cloud.storage.object.v1.metadataUpdated',
    ])
    const change = legacyToCloudEvent({ eventId: 'e4', timestamp: 't', eventType: 'providers/cloud.storage/eventTypes/object.change', resource, data: { bucket: 'b' } })
    expect(change).to.deep.equal({
      id: 'e4',
      time: 't',
      specversion: '1.0',
      datacontenttype: 'application/json',
      type: 'google.cloud.storage.object.v1.finalized',
      source: '//storage.googleapis.com/projects/_/buckets/b',
      subject: 'objects/dir/o.txt',
      data: { bucket: 'b' },
    })
  })

  it('keeps a Pub/Sub message id and publish time that are already there', () => {
    const event = legacyToCloudEvent(legacy({ eventType: 'google.pubsub.topic.publish', resource: { service: 'pubsub.googleapis.com', name: 'projects/p/topics/t' } }, { data: 'aGk=', messageId: 'own', publishTime: 'own-time' }))
    expect(event.data).to.deep.equal({ message: { data: 'aGk=', messageId: 'own', publishTime: 'own-time' } })
    expect(event.source).to.equal('//pubsub.googleapis.com/projects/p/topics/t')
    expect(event).not.to.have.property('subject')
  })

  it('converts Firebase Analytics events and auth events without metadata (no subject then)', () => {
    const analytics = legacyToCloudEvent(legacy({ eventType: 'providers/google.firebase.analytics/eventTypes/event.log', resource: 'projects/p/events/purchase' }, { x: 1 }))
    expect(analytics).to.deep.include({ type: 'google.firebase.analytics.log.v1.written', source: '//firebase.googleapis.com/projects/p', subject: 'events/purchase' })
    const deleted = legacyToCloudEvent(legacy({ eventType: 'providers/firebase.auth/eventTypes/user.delete', resource: 'projects/p' }, { uid: 'u1' }))
    expect(deleted).to.deep.include({ type: 'google.firebase.auth.user.v1.deleted', source: '//firebaseauth.googleapis.com/projects/p' })
    expect(deleted).not.to.have.property('subject')
  })

  it('refuses what the framework refuses, naming the problem', () => {
    const storage = thrown(() => legacyToCloudEvent(legacy({ eventType: 'google.storage.object.finalize', resource: 'projects/my-project/buckets/b/objects/o' }, {})))
    expect(storage).to.be.instanceOf(EventError)
    expect(storage.message).to.equal('gcp: legacy google.storage.object.finalize event: resource "projects/my-project/buckets/b/objects/o" does not match /^(projects\\/[^/]\\/buckets\\/[^/]+)\\/(objects\\/.+)$/')
    const named = thrown(() => legacyToCloudEvent(legacy({ eventType: 'providers/cloud.firestore/eventTypes/document.write', resource: 'projects/p/databases/orders/documents/a/b' }, {})))
    expect(named.message).to.match(/resource "projects\/p\/databases\/orders\/documents\/a\/b" does not match/)
    const domain = thrown(() => legacyToCloudEvent(legacy({ eventType: 'providers/google.firebase.database/eventTypes/ref.write', resource: 'projects/_/instances/db/refs/a' }, {}, { domain: 'example.com' })))
    expect(domain.message).to.equal('gcp: legacy Realtime Database event: domain "example.com" is neither firebaseio.com nor <location>.firebasedatabase.app')
    const noDomain = thrown(() => legacyToCloudEvent(legacy({ eventType: 'providers/google.firebase.database/eventTypes/ref.write', resource: 'projects/_/instances/db/refs/a' }, {})))
    expect(noDomain.message).to.match(/domain undefined is neither/)
    const pubsub = thrown(() => legacyToCloudEvent(legacy({ eventType: 'google.pubsub.topic.publish', resource: 'projects/p/topics/t' }, 'text')))
    expect(pubsub.message).to.equal('gcp: legacy google.pubsub.topic.publish event: data must be an object (the PubsubMessage)')
    const noId = thrown(() => legacyToCloudEvent({ context: { eventType: 'google.pubsub.topic.publish', resource: 'projects/p/topics/t' }, data: {} }))
    expect(noId.message).to.equal('gcp: legacy google.pubsub.topic.publish event has no eventId')
    const unknown = thrown(() => legacyToCloudEvent({ eventId: 'x', eventType: 'foo.bar', resource: 'r', data: {} }))
    expect(unknown.message).to.equal('gcp: legacy event type "foo.bar" has no CloudEvent equivalent')
  })
})
