import { expect } from 'chai'
import { InvalidRecord } from '@polycloud/core/adapter'
import type { StorageEvent } from '@polycloud/core'
import { isR2Notification, queueBatch, r2Notification, r2StorageType } from '@polycloud/cloudflare'
import { fixture, fixturePaths } from '../../helpers/fixtures.ts'
import { fakeBatch, r2Body } from './helpers.ts'

describe('cloudflare:r2-notification', () => {
  describe('canHandle', () => {
    it('accepts a batch whose first body is an R2 event notification', () => {
      const { batch } = fakeBatch('bucket-events', [{ id: 'm1', body: r2Body('r2-put-object') }])
      expect(r2Notification.canHandle(batch)).to.equal(true)
      // The same batch is also a plain queue batch: the handler's kind decides.
      expect(queueBatch.canHandle(batch)).to.equal(true)
    })

    it('rejects plain queue batches, empty batches and every JSON fixture of the other clouds', () => {
      expect(r2Notification.canHandle(fakeBatch('q', [{ id: 'm1', body: { key: 'x' } }]).batch)).to.equal(false)
      expect(r2Notification.canHandle(fakeBatch('q', [{ id: 'm1', body: JSON.stringify(r2Body('r2-put-object')) }]).batch)).to.equal(false)
      expect(r2Notification.canHandle(fakeBatch('q', []).batch)).to.equal(false)
      for (const path of fixturePaths()) expect(r2Notification.canHandle(fixture(path)), path).to.equal(false)
    })

    it('recognises a body by account, action, bucket and object.key', () => {
      const body = r2Body('r2-delete-object')
      expect(isR2Notification(body)).to.equal(true)
      for (const field of ['account', 'action', 'bucket', 'object']) {
        const { [field]: _dropped, ...rest } = body
        expect(isR2Notification(rest), field).to.equal(false)
      }
      expect(isR2Notification({ ...body, object: { size: 1 } })).to.equal(false)
    })
  })

  describe('getEvents', () => {
    it('maps a PutObject notification to a created storage event', () => {
      const { batch } = fakeBatch('bucket-events', [{ id: '8a7b', body: r2Body('r2-put-object') }])
      const [event] = r2Notification.getEvents(batch) as StorageEvent[]
      expect(event).to.deep.equal({
        kind: 'storage',
        id: '8a7b',
        time: '2024-05-24T19:36:44.379Z',
        source: 'my-bucket',
        native: batch.messages[0],
        type: 'created',
        action: 'PutObject',
        bucket: 'my-bucket',
        key: 'my-original-object',
        size: 65536,
        etag: 'c846ff7a18f28c2e262116d6e8719ef0',
        contentType: undefined,
        versionId: undefined,
      })
    })

    it('maps deletions without size or eTag', () => {
      const { batch } = fakeBatch('bucket-events', [
        { id: 'd1', body: r2Body('r2-delete-object') },
        { id: 'd2', body: r2Body('r2-lifecycle-deletion') },
      ])
      const [deleted, expired] = r2Notification.getEvents(batch) as StorageEvent[]
      expect(deleted?.type).to.equal('deleted')
      expect(deleted?.action).to.equal('DeleteObject')
      expect(deleted?.key).to.equal('my-original-object')
      expect(deleted?.size).to.equal(undefined)
      expect(deleted?.etag).to.equal(undefined)
      expect(expired?.type).to.equal('deleted')
      expect(expired?.action).to.equal('LifecycleDeletion')
      expect(expired?.key).to.equal('my-new-object')
    })

    it('classifies every documented action, and anything else as other', () => {
      expect(r2StorageType('PutObject')).to.equal('created')
      expect(r2StorageType('CopyObject')).to.equal('created')
      expect(r2StorageType('CompleteMultipartUpload')).to.equal('created')
      expect(r2StorageType('DeleteObject')).to.equal('deleted')
      expect(r2StorageType('LifecycleDeletion')).to.equal('deleted')
      expect(r2StorageType('AbortMultipartUpload')).to.equal('other')
      expect(r2StorageType('deleteobject')).to.equal('other')
    })

    it('keeps keys as sent (no URL decoding)', () => {
      const body = { ...r2Body('r2-put-object'), object: { key: 'photos/a+b%20c ü.png', size: 1, eTag: 'e' } }
      const [event] = r2Notification.getEvents(fakeBatch('b', [{ id: 'k', body }]).batch) as StorageEvent[]
      expect(event?.key).to.equal('photos/a+b%20c ü.png')
    })

    it('falls back to the message timestamp when eventTime is missing', () => {
      const { eventTime: _t, ...body } = r2Body('r2-put-object')
      const [event] = r2Notification.getEvents(
        fakeBatch('b', [{ id: 't', body, timestamp: new Date('2024-05-24T19:36:45.500Z') }]).batch,
      ) as StorageEvent[]
      expect(event?.time).to.equal('2024-05-24T19:36:45.500Z')
    })

    it('a message that is not a notification fails alone, with an error naming its shape', () => {
      const { batch } = fakeBatch('bucket-events', [
        { id: 'good', body: r2Body('r2-copy-object') },
        { id: 'bad', body: { hello: 'world' } },
        { id: 'text', body: 'PutObject' },
      ])
      const [good, bad, text] = r2Notification.getEvents(batch)
      expect((good as StorageEvent).action).to.equal('CopyObject')
      expect(bad).to.be.instanceOf(InvalidRecord)
      expect((bad as InvalidRecord).id).to.equal('bad')
      expect((bad as InvalidRecord).error.message).to.equal(
        'cloudflare:r2-notification: messages[1]: message bad is not an R2 event notification; its body is an object with keys: hello',
      )
      expect((text as InvalidRecord).error.message).to.equal(
        'cloudflare:r2-notification: messages[2]: message text is not an R2 event notification; its body is a string',
      )
    })
  })

  describe('getResult', () => {
    it('acks each message whose event succeeded and retries the failed and untranslatable ones', () => {
      const { batch, settled } = fakeBatch('bucket-events', [
        { id: 'm1', body: r2Body('r2-put-object') },
        { id: 'm2', body: r2Body('r2-copy-object') },
        { id: 'm3', body: { not: 'r2' } },
        { id: 'm4', body: r2Body('r2-delete-object') },
      ])
      const events = r2Notification.getEvents(batch)
      r2Notification.getResult(batch, [events[1], events[2]].filter((e) => e !== undefined))
      expect(settled.acked).to.deep.equal(['m1', 'm4'])
      expect(settled.retried).to.deep.equal(['m2', 'm3'])
    })
  })

  describe('fields of the wrong type', () => {
    it('refuse the message alone, naming the field and what it holds', () => {
      const body = r2Body('r2-put-object') as Record<string, unknown> & { object: Record<string, unknown> }
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ eventTime: 'lunchtime' }, 'body.eventTime must be an RFC 3339 timestamp, got the string "lunchtime"'],
        [{ object: { ...body.object, size: -1 } }, 'body.object.size must be a non-negative integer, got the number -1'],
        [{ object: { ...body.object, eTag: 5 } }, 'body.object.eTag must be a string, got the number 5'],
      ]
      for (const [fields, problem] of cases) {
        const { batch } = fakeBatch('bucket-events', [{ id: 'ok', body }, { id: 'bad', body: { ...body, ...fields } }])
        const [ok, bad] = r2Notification.getEvents(batch)
        expect(ok).to.not.be.instanceOf(InvalidRecord)
        expect((bad as InvalidRecord).error.message).to.equal(`cloudflare:r2-notification: messages[1] ("bad"): ${problem}`)
      }
    })
  })
})
