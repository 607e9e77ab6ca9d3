import { expect } from 'chai'
import { BatchFailedError, EventError, type ChangeEvent } from '@polycloud/core/adapter'
import { fromFirestoreFields, fromFirestoreValue, gcpFirestore, type DocumentEventData } from '@polycloud/gcp'
import { fixture } from '../../helpers/fixtures.ts'
import { encodeDocumentEventData } from './protobuf-encoder.ts'
import { envelope, invalid, single, thrown } from './support.ts'

const SOURCE = '//firestore.googleapis.com/projects/p/databases/(default)'

function firestoreEvent(action: string, data: unknown, extra: Record<string, unknown> = {}) {
  return envelope(`google.cloud.firestore.document.v1.${action}`, data, { source: SOURCE, subject: 'documents/users/ada', ...extra })
}

const doc = (fields: Record<string, unknown>) => ({ name: 'projects/p/databases/(default)/documents/users/ada', fields })

describe('gcp/firestore', () => {
  describe('fromFirestoreValue', () => {
    it('turns each typed Value into plain JSON', () => {
      expect(fromFirestoreValue({ stringValue: 'text' }, 'f')).to.equal('text')
      expect(fromFirestoreValue({ integerValue: '50' }, 'f')).to.equal(50)
      expect(fromFirestoreValue({ integerValue: '-7' }, 'f')).to.equal(-7)
      expect(fromFirestoreValue({ integerValue: 12 }, 'f')).to.equal(12)
      // Beyond 2^53 a number would lose digits: the exact decimal string is kept.
      expect(fromFirestoreValue({ integerValue: '9007199254740993' }, 'f')).to.equal('9007199254740993')
      expect(fromFirestoreValue({ doubleValue: 5.5 }, 'f')).to.equal(5.5)
      expect(fromFirestoreValue({ doubleValue: '2.5' }, 'f')).to.equal(2.5)
      expect(fromFirestoreValue({ doubleValue: 'NaN' }, 'f')).to.equal('NaN')
      expect(fromFirestoreValue({ doubleValue: '-Infinity' }, 'f')).to.equal('-Infinity')
      expect(fromFirestoreValue({ booleanValue: false }, 'f')).to.equal(false)
      expect(fromFirestoreValue({ nullValue: null }, 'f')).to.equal(null)
      expect(fromFirestoreValue({ nullValue: 'NULL_VALUE' }, 'f')).to.equal(null)
      expect(fromFirestoreValue({ timestampValue: '2020-04-23T14:23:53.241Z' }, 'f')).to.equal('2020-04-23T14:23:53.241Z')
      expect(fromFirestoreValue({ referenceValue: 'projects/p/databases/(default)/documents/a/b' }, 'f')).to.equal('projects/p/databases/(default)/documents/a/b')
      expect(fromFirestoreValue({ bytesValue: 'AP8=' }, 'f')).to.equal('AP8=')
      expect(fromFirestoreValue({ geoPointValue: { latitude: 51.4543, longitude: -0.9781 } }, 'f')).to.deep.equal({ latitude: 51.4543, longitude: -0.9781 })
      expect(fromFirestoreValue({ geoPointValue: { longitude: 3 } }, 'f')).to.deep.equal({ latitude: 0, longitude: 3 })
      expect(fromFirestoreValue({ arrayValue: {} }, 'f')).to.deep.equal([])
      expect(fromFirestoreValue({ arrayValue: { values: [{ integerValue: '1' }, { stringValue: 'x' }] } }, 'f')).to.deep.equal([1, 'x'])
      expect(fromFirestoreValue({ mapValue: {} }, 'f')).to.deep.equal({})
      expect(fromFirestoreValue({ mapValue: { fields: { a: { mapValue: { fields: { b: { booleanValue: true } } } } } } }, 'f')).to.deep.equal({ a: { b: true } })
    })

    it('keeps a field named __proto__ as an own key', () => {
      const fields = JSON.parse('{"__proto__":{"stringValue":"x"},"a":{"integerValue":"1"}}') as Record<string, unknown>
      const out = fromFirestoreFields(fields)
      expect(Object.keys(out)).to.deep.equal(['__proto__', 'a'])
      expect(Object.getPrototypeOf(out)).to.equal(Object.prototype)
    })

    it('names the field path of a malformed value', () => {
      expect(thrown(() => fromFirestoreValue({}, 'a.b')).message).to.equal('gcp:firestore: field a.b has no known Value kind (no keys)')
      expect(thrown(() => fromFirestoreValue({ weird: 1 }, 'f')).message).to.equal('gcp:firestore: field f has no known Value kind (keys: weird)')
      expect(thrown(() => fromFirestoreValue({ integerValue: '1.5' }, 'n')).message).to.equal('gcp:firestore: field n: integerValue "1.5" is not an integer')
      expect(thrown(() => fromFirestoreValue({ stringValue: 3 }, 's')).message).to.equal('gcp:firestore: field s is not a string')
      expect(thrown(() => fromFirestoreValue({ doubleValue: 'x' }, 'd')).message).to.equal('gcp:firestore: field d: doubleValue "x" is not a number')
      expect(thrown(() => fromFirestoreValue({ arrayValue: { values: [{ stringValue: 1 }] } }, 'list')).message).to.equal('gcp:firestore: field list[0] is not a string')
      expect(thrown(() => fromFirestoreFields({ m: { mapValue: { fields: { x: 5 } } } })).message).to.equal('gcp:firestore: field m.x is not a Firestore Value')
      expect(thrown(() => fromFirestoreValue('text', 'f'))).to.be.instanceOf(EventError)
    })
  })

  describe('gcp:firestore', () => {
    it('accepts Firestore document events only', () => {
      expect(gcpFirestore.canHandle(firestoreEvent('written', {}))).to.equal(true)
      expect(gcpFirestore.canHandle(firestoreEvent('created.withAuthContext', {}))).to.equal(true)
      expect(gcpFirestore.canHandle(fixture('gcp/storage/gce__StorageObjectDataWorkflows.json'))).to.equal(false)
      expect(gcpFirestore.canHandle(fixture('gcp/pubsub/gce__MessagePublishedData.json'))).to.equal(false)
      expect(gcpFirestore.canHandle(fixture('gcp/firestore/gce__DocumentEventData-simple.json'))).to.equal(false)
      expect(gcpFirestore.canHandle(fixture('gcp/firestore/ffc__firestore_simple-legacy-input.json'))).to.equal(false)
    })

    it('maps created, updated and deleted to insert, modify and remove', () => {
      const created = single<ChangeEvent>(gcpFirestore.getEvents(firestoreEvent('created', { value: doc({ n: { integerValue: '1' } }) })))
      expect(created).to.deep.include({ kind: 'changes', type: 'insert', table: 'users', keys: { id: 'ada' }, newImage: { n: 1 }, oldImage: undefined })
      expect(created).to.deep.include({ id: 'evt-1', time: '2024-05-01T10:00:00.123Z', source: SOURCE })
      const updated = single<ChangeEvent>(gcpFirestore.getEvents(firestoreEvent('updated', { value: doc({ n: { integerValue: '2' } }), oldValue: doc({ n: { integerValue: '1' } }), updateMask: { fieldPaths: ['n'] } })))
      expect(updated).to.deep.include({ type: 'modify', newImage: { n: 2 }, oldImage: { n: 1 } })
      const deleted = single<ChangeEvent>(gcpFirestore.getEvents(firestoreEvent('deleted', { oldValue: doc({ n: { integerValue: '2' } }) })))
      expect(deleted).to.deep.include({ type: 'remove', newImage: undefined, oldImage: { n: 2 } })
      const withAuth = single<ChangeEvent>(gcpFirestore.getEvents(firestoreEvent('deleted.withAuthContext', { oldValue: doc({}) }, { authtype: 'service_account', authid: 'sa@p' })))
      expect(withAuth).to.deep.include({ type: 'remove', oldImage: {} })
    })

    it('tells a written event apart by the documents present ({} is no document)', () => {
      const insert = single<ChangeEvent>(gcpFirestore.getEvents(firestoreEvent('written', { value: doc({}), oldValue: {}, updateMask: {} })))
      const modify = single<ChangeEvent>(gcpFirestore.getEvents(firestoreEvent('written', { value: doc({}), oldValue: doc({}) })))
      const remove = single<ChangeEvent>(gcpFirestore.getEvents(firestoreEvent('written', { oldValue: doc({ a: { nullValue: null } }) })))
      expect([insert.type, modify.type, remove.type]).to.deep.equal(['insert', 'modify', 'remove'])
      expect(remove.oldImage).to.deep.equal({ a: null })
    })

    it('finds the document in the document attribute, the subject, or the document name, in that order', () => {
      const data = { value: { name: 'projects/p/databases/(default)/documents/from/name', fields: {} } }
      const byAttribute = single<ChangeEvent>(gcpFirestore.getEvents(firestoreEvent('created', data, { document: 'users/u1/orders/o9' })))
      expect(byAttribute).to.deep.include({ table: 'users/u1/orders', keys: { id: 'o9' } })
      const bySubject = single<ChangeEvent>(gcpFirestore.getEvents(firestoreEvent('created', data, { subject: 'documents/a/b' })))
      expect(bySubject).to.deep.include({ table: 'a', keys: { id: 'b' } })
      const byName = single<ChangeEvent>(gcpFirestore.getEvents(firestoreEvent('created', data, { subject: undefined })))
      expect(byName).to.deep.include({ table: 'from', keys: { id: 'name' } })
      const named = single<ChangeEvent>(gcpFirestore.getEvents(firestoreEvent('created', { value: { name: 'projects/p/databases/orders-db/documents/c/d' } }, { subject: undefined })))
      expect(named).to.deep.include({ table: 'c', keys: { id: 'd' } })
    })

    it('decodes protobuf data: a Buffer (binary mode) or data_base64 (structured mode)', () => {
      const json = fixture<DocumentEventData>('gcp/firestore/gce__DocumentEventData-simple.json')
      const bytes = encodeDocumentEventData(json)
      const expected = { type: 'modify', table: 'gcf-test', keys: { id: '2Vm2mI1d0wIaK2Waj5to' }, newImage: { 'another test': 'asd', count: 4, foo: 'bar' }, oldImage: { 'another test': 'asd', count: 3, foo: 'bar' } }
      const buffer = single<ChangeEvent>(gcpFirestore.getEvents(firestoreEvent('updated', Buffer.from(bytes), { subject: undefined })))
      expect(buffer).to.deep.include(expected)
      const structured = firestoreEvent('updated', undefined, { subject: undefined, datacontenttype: 'application/protobuf', data_base64: Buffer.from(bytes).toString('base64') })
      delete structured.data
      expect(single<ChangeEvent>(gcpFirestore.getEvents(structured))).to.deep.include(expected)
    })

    it('makes malformed events invalid records naming the problem', () => {
      const noDocument = invalid(gcpFirestore.getEvents(firestoreEvent('created', { value: { fields: {} } }, { subject: undefined })))
      expect(noDocument.id).to.equal('evt-1')
      expect(noDocument.error.message).to.match(/^gcp:firestore: event evt-1 names no document/)
      expect(invalid(gcpFirestore.getEvents(firestoreEvent('created', 'text'))).error.message).to.equal('gcp:firestore: event evt-1 has no DocumentEventData')
      expect(invalid(gcpFirestore.getEvents(firestoreEvent('created', Buffer.from([0x0a, 0x05])))).error.message).to.match(/DocumentEventData: malformed protobuf/)
      expect(invalid(gcpFirestore.getEvents(firestoreEvent('moved', {}))).error.message).to.equal('gcp:firestore: event evt-1: unknown event type google.cloud.firestore.document.v1.moved')
      expect(invalid(gcpFirestore.getEvents(firestoreEvent('created', { value: doc({ n: { integerValue: 'x' } }) }))).error.message).to.match(/field n: integerValue "x"/)
      const badBase64 = firestoreEvent('created', undefined, { data_base64: '!!!' })
      expect(invalid(gcpFirestore.getEvents(badBase64)).error.message).to.equal('gcp:firestore: event "evt-1": data_base64 is not valid base64')
    })

    it('throws BatchFailedError for a failed event so FF answers 500', () => {
      const event = firestoreEvent('created', { value: doc({}) })
      const items = gcpFirestore.getEvents(event)
      expect(gcpFirestore.getResult(event, [])).to.equal(undefined)
      expect(() => gcpFirestore.getResult(event, items)).to.throw(BatchFailedError, 'gcp:firestore: 1 event(s) failed: evt-1')
    })
  })
})
