import { expect } from 'chai'
import { inspect } from '@polycloud/testing'
import { adapter, fromJson, queueBatch, r2Notification, scheduled } from '@polycloud/cloudflare'
import { r2Body } from './helpers.ts'

describe('cloudflare fromJson / polycloud inspect', () => {
  it('reads { cron, scheduledTime } as a ScheduledController (ms or ISO time)', () => {
    const fromMs = fromJson({ cron: '*/5 * * * *', scheduledTime: 1700000000000 })
    expect(scheduled.canHandle(fromMs)).to.equal(true)
    const fromIso = fromJson({ cron: '*/5 * * * *', scheduledTime: '2023-11-14T22:13:20Z' })
    expect(fromIso).to.include({ cron: '*/5 * * * *', scheduledTime: 1700000000000 })
  })

  it('reads { queue, messages } as a MessageBatch whose ack and retry do nothing', () => {
    const batch = fromJson({
      queue: 'orders',
      messages: [{ id: 'm1', timestamp: '2024-05-24T19:36:44.379Z', body: { n: 1 }, attempts: 2 }, { id: 'm2', timestamp: 0, body: 'x' }],
    })
    expect(queueBatch.canHandle(batch)).to.equal(true)
    expect(r2Notification.canHandle(batch)).to.equal(false)
    const events = queueBatch.getEvents(batch as Parameters<typeof queueBatch.getEvents>[0])
    expect(events.map((e) => [e.id, (e as { time: string }).time, (e as { attempt: number }).attempt])).to.deep.equal([
      ['m1', '2024-05-24T19:36:44.379Z', 2],
      ['m2', '1970-01-01T00:00:00.000Z', 1],
    ])
    expect(() => queueBatch.getResult(batch as Parameters<typeof queueBatch.getResult>[0], events)).to.not.throw()
  })

  it('leaves anything else as it is (no HTTP from JSON)', () => {
    const request = { method: 'GET', url: 'https://example.com/' }
    expect(fromJson(request)).to.equal(request)
    expect(fromJson([1])).to.deep.equal([1])
    expect(fromJson(null)).to.equal(null)
    expect(adapter.fromJson).to.equal(fromJson)
    expect(adapter.provider).to.equal('cloudflare')
    expect(adapter.sources.map((s) => s.name)).to.deep.equal([
      'cloudflare:fetch',
      'cloudflare:scheduled',
      'cloudflare:queue',
      'cloudflare:r2-notification',
    ])
  })

  it('inspect: a cron tick', async () => {
    const result = await inspect('cloudflare', { cron: '0 3 * * *', scheduledTime: '2024-05-24T03:00:00.000Z' })
    expect(result).to.deep.equal({
      provider: 'cloudflare',
      adapter: 'cloudflare:scheduled',
      kind: 'schedule',
      events: [
        {
          kind: 'schedule',
          id: '0 3 * * *@2024-05-24T03:00:00.000Z',
          time: '2024-05-24T03:00:00.000Z',
          source: '0 3 * * *',
          schedule: '0 3 * * *',
        },
      ],
      invalid: 0,
    })
  })

  it('inspect: an R2 batch is queue messages by default and storage events with --kind storage', async () => {
    const json = {
      queue: 'bucket-events',
      messages: [
        { id: 'n1', timestamp: '2024-05-24T19:36:45.000Z', body: r2Body('r2-copy-object') },
        { id: 'n2', timestamp: '2024-05-24T19:36:46.000Z', body: { not: 'r2' } },
      ],
    }
    const asQueue = await inspect('cloudflare', json)
    expect(asQueue.adapter).to.equal('cloudflare:queue')
    expect(asQueue.events[0]).to.include({ kind: 'queue', id: 'n1', queue: 'bucket-events', attempt: 1 })
    expect(JSON.parse((asQueue.events[0] as { body: string }).body)).to.deep.equal(r2Body('r2-copy-object'))
    const asStorage = await inspect('cloudflare', json, { kind: 'storage' })
    expect(asStorage.adapter).to.equal('cloudflare:r2-notification')
    expect(asStorage.invalid).to.equal(1)
    expect(asStorage.events).to.deep.equal([
      {
        kind: 'storage',
        id: 'n1',
        time: '2024-05-24T19:36:44.379Z',
        source: 'my-bucket',
        type: 'created',
        action: 'CopyObject',
        bucket: 'my-bucket',
        key: 'my-new-object',
        size: 65536,
        etag: 'c846ff7a18f28c2e262116d6e8719ef0',
      },
      {
        invalid: true,
        id: 'n2',
        error: 'cloudflare:r2-notification: messages[1]: message n2 is not an R2 event notification; its body is an object with keys: not',
      },
    ])
  })

  it('inspect: a message without a valid timestamp is reported, not thrown', async () => {
    const result = await inspect('cloudflare', { queue: 'q', messages: [{ id: 'm1', body: 'x', timestamp: 'yesterday' }] })
    expect(result.invalid).to.equal(1)
    expect(result.events[0]).to.deep.equal({
      invalid: true,
      id: 'm1',
      error: 'cloudflare:queue: messages[0] ("m1"): timestamp must be a valid Date (from year 0 to 9999), got an invalid Date',
    })
  })

  it('inspect: a payload of another cloud names the formats tried', async () => {
    const error = await inspect('cloudflare', { Records: [] }).catch((e: unknown) => e)
    expect((error as Error).message).to.equal(
      'cloudflare: no adapter recognises this input (tried: cloudflare:fetch, cloudflare:scheduled, cloudflare:queue, cloudflare:r2-notification); it is an object with keys: Records',
    )
  })
})
