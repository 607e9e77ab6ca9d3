import { expect } from 'chai'
import { BatchFailedError, InvalidRecord } from '@polycloud/core/adapter'
import type { QueueMessage } from '@polycloud/core'
import { queueBatch } from '@polycloud/cloudflare'
import { fixture, fixturePaths } from '../../helpers/fixtures.ts'
import { fakeBatch } from './helpers.ts'

function messages(batch: Parameters<typeof queueBatch.getEvents>[0]): QueueMessage[] {
  const events = queueBatch.getEvents(batch)
  for (const event of events) expect(event).to.not.be.instanceOf(InvalidRecord)
  return events as QueueMessage[]
}

describe('cloudflare:queue', () => {
  describe('canHandle', () => {
    it('accepts a MessageBatch, and an empty one', () => {
      expect(queueBatch.canHandle(fakeBatch('orders', [{ id: 'm1', body: 'x' }]).batch)).to.equal(true)
      expect(queueBatch.canHandle(fakeBatch('orders', []).batch)).to.equal(true)
    })

    it('rejects other shapes and every JSON fixture of the other clouds', () => {
      expect(queueBatch.canHandle({ queue: 'q', messages: [{ id: 'm1', body: 'x' }] })).to.equal(false)
      expect(queueBatch.canHandle({ queue: 'q', messages: 'x' })).to.equal(false)
      expect(queueBatch.canHandle({ messages: [] })).to.equal(false)
      expect(queueBatch.canHandle({ cron: '* * * * *', scheduledTime: 0 })).to.equal(false)
      for (const path of fixturePaths()) expect(queueBatch.canHandle(fixture(path)), path).to.equal(false)
    })
  })

  describe('getEvents', () => {
    it('maps each message: id, time, queue, attempt, native', () => {
      const { batch } = fakeBatch('orders', [
        { id: 'a1', body: { n: 1 }, timestamp: new Date('2024-05-24T19:36:44.379Z'), attempts: 1 },
        { id: 'b2', body: { n: 2 }, timestamp: new Date('2024-05-24T19:36:45.001Z'), attempts: 3 },
      ])
      const [first, second] = messages(batch)
      expect(first?.kind).to.equal('queue')
      expect(first?.id).to.equal('a1')
      expect(first?.time).to.equal('2024-05-24T19:36:44.379Z')
      expect(first?.source).to.equal('orders')
      expect(first?.queue).to.equal('orders')
      expect(first?.attempt).to.equal(1)
      expect(first?.groupId).to.equal(undefined)
      expect(first?.attributes).to.deep.equal({})
      expect(first?.native).to.equal(batch.messages[0])
      expect(second?.id).to.equal('b2')
      expect(second?.attempt).to.equal(3)
      expect(second?.time).to.equal('2024-05-24T19:36:45.001Z')
    })

    it('json content: json() returns the value itself, body is its JSON text, bytes its UTF-8', () => {
      const value = { order: 7, items: ['a', 'é'] }
      const [message] = messages(fakeBatch('q', [{ id: 'm', body: value }]).batch)
      expect(message?.json()).to.equal(value)
      expect(message?.body).to.equal('{"order":7,"items":["a","é"]}')
      expect(message?.bytes()).to.deep.equal(new TextEncoder().encode('{"order":7,"items":["a","é"]}'))
    })

    it('json scalars: a number, a boolean and null', () => {
      const [n, b, z] = messages(
        fakeBatch('q', [
          { id: 'n', body: 42 },
          { id: 'b', body: false },
          { id: 'z', body: null },
        ]).batch,
      )
      expect(n?.json()).to.equal(42)
      expect(n?.body).to.equal('42')
      expect(b?.json()).to.equal(false)
      expect(b?.body).to.equal('false')
      expect(z?.json()).to.equal(null)
      expect(z?.body).to.equal('null')
    })

    it('text content: body as is; json() parses it, and names the message when it is not JSON', () => {
      const [jsonText, plain] = messages(
        fakeBatch('q', [
          { id: 'j', body: '{"a":[1,2]}' },
          { id: 'p', body: 'hello' },
        ]).batch,
      )
      expect(jsonText?.body).to.equal('{"a":[1,2]}')
      expect(jsonText?.json()).to.deep.equal({ a: [1, 2] })
      expect(plain?.body).to.equal('hello')
      expect(() => plain?.json()).to.throw(SyntaxError, /^message p: body is not valid JSON/)
    })

    it('bytes content: an ArrayBuffer (what workerd delivers) and typed arrays keep their exact bytes', () => {
      const bytes = crypto.getRandomValues(new Uint8Array(64))
      const words = new Int16Array([1, -2, 300])
      const view = new Uint8Array(new ArrayBuffer(16), 4, 8).fill(7)
      const [ab, u8, i16, sub] = messages(
        fakeBatch('q', [
          { id: 'ab', body: bytes.slice().buffer },
          { id: 'u8', body: bytes },
          { id: 'i16', body: words },
          { id: 'sub', body: view },
        ]).batch,
      )
      expect(ab?.bytes()).to.deep.equal(bytes)
      expect(u8?.bytes()).to.equal(bytes)
      expect(i16?.bytes()).to.deep.equal(new Uint8Array(words.buffer))
      expect(sub?.bytes()).to.deep.equal(new Uint8Array(8).fill(7))
      const text = messages(fakeBatch('q', [{ id: 't', body: new TextEncoder().encode('{"x":1}').buffer }]).batch)[0]
      expect(text?.body).to.equal('{"x":1}')
      expect(text?.json()).to.deep.equal({ x: 1 })
    })

    it('v8 content: json() returns the structured-clone value itself (a Date, a Map)', () => {
      const date = new Date('2024-01-02T03:04:05.000Z')
      const map = new Map([['k', 1]])
      const [d, m] = messages(
        fakeBatch('q', [
          { id: 'd', body: date },
          { id: 'm', body: map },
        ]).batch,
      )
      expect(d?.json()).to.equal(date)
      expect(d?.body).to.equal('"2024-01-02T03:04:05.000Z"')
      expect(m?.json()).to.equal(map)
      // JSON cannot represent a Map: the value is there, its text is not.
      expect(m?.body).to.equal('{}')
    })

    it('a malformed message fails alone as an InvalidRecord naming the problem', () => {
      const { batch } = fakeBatch('q', [
        { id: 'ok', body: 'fine' },
        { id: '', body: 'no id' },
        { id: 'zero', body: 'x', attempts: 0 },
        { id: 'late', body: 'x', timestamp: new Date(NaN) },
      ])
      const [ok, noId, zero, late] = queueBatch.getEvents(batch)
      expect((ok as QueueMessage).body).to.equal('fine')
      expect(noId).to.be.instanceOf(InvalidRecord)
      expect((noId as InvalidRecord).id).to.equal('messages[1]')
      expect((noId as InvalidRecord).error.message).to.equal('cloudflare:queue: messages[1]: the message of queue q has no id')
      expect((zero as InvalidRecord).error.message).to.equal(
        'cloudflare:queue: messages[2] ("zero"): attempts must be an integer of 1 or more, got the number 0',
      )
      expect((late as InvalidRecord).id).to.equal('late')
      expect((late as InvalidRecord).ref).to.equal(batch.messages[3])
      expect((late as InvalidRecord).error.message).to.equal(
        'cloudflare:queue: messages[3] ("late"): timestamp must be a valid Date (from year 0 to 9999), got an invalid Date',
      )
    })
  })

  describe('getResult', () => {
    it('acks each succeeded message and retries each failed one', () => {
      const { batch, settled } = fakeBatch('q', [
        { id: 'm1', body: 1 },
        { id: 'm2', body: 2 },
        { id: 'm3', body: 3 },
        { id: '', body: 4 },
      ])
      const events = queueBatch.getEvents(batch)
      const failed = [events[1], events[3]].filter((e) => e !== undefined)
      queueBatch.getResult(batch, failed)
      expect(settled.acked).to.deep.equal(['m1', 'm3'])
      expect(settled.retried).to.deep.equal(['m2', ''])
    })

    it('acks every message when none failed', () => {
      const { batch, settled } = fakeBatch('q', [
        { id: 'a', body: 1 },
        { id: 'b', body: 2 },
      ])
      queueBatch.getResult(batch, [])
      expect(settled).to.deep.equal({ acked: ['a', 'b'], retried: [] })
    })
  })

  describe('a failed item that is no message (null)', () => {
    it('retries the whole batch and fails the invocation with the reason: it cannot be retried alone', () => {
      const calls: string[] = []
      const message = (id: string): unknown => ({ id, timestamp: new Date(0), attempts: 1, body: id, ack: () => calls.push(`ack ${id}`), retry: () => calls.push(`retry ${id}`) })
      const batch = { queue: 'q', messages: [message('a'), null, message('c')], ackAll: () => calls.push('ackAll'), retryAll: () => calls.push('retryAll') }
      const items = queueBatch.getEvents(batch as never)
      expect((items[1] as InvalidRecord).error.message).to.equal('cloudflare:queue: messages[1]: it is null, not an object')
      expect(() => queueBatch.getResult(batch as never, [items[1]!])).to.throw(BatchFailedError, 'cloudflare:queue: 1 event(s) failed: messages[1]; a failed item of the batch is no message to retry alone, so the whole batch is retried')
      expect(calls).to.deep.equal(['retryAll'])
    })
  })
})
