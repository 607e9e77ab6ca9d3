import { expect } from 'chai'
import { http, queue, type QueueMessage } from '@polycloud/core'
import { createPushFunction, eventFromRequest, gcp, gcpSources, toPushFunction } from '@polycloud/gcp'
import { fixture } from '../../helpers/fixtures.ts'
import { PUBLISHED, binaryHeaders, captureOutput, published, serve, type TestServer } from './support.ts'

describe('gcp/push (event handlers behind an HTTP function, through the Functions Framework)', () => {
  const received: Array<Record<string, unknown>> = []
  let fail = false
  let server: TestServer
  let output: ReturnType<typeof captureOutput>

  before(async () => {
    gcp.http(
      'pcPush',
      queue((message: QueueMessage) => {
        received.push({ id: message.id, queue: message.queue, attempt: message.attempt, groupId: message.groupId, body: message.body, source: message.source })
        if (fail) throw new Error('try again later')
      }),
    )
    server = await serve('pcPush')
  })

  beforeEach(() => {
    received.length = 0
    fail = false
    output = captureOutput()
  })

  afterEach(() => output.restore())

  after(() => server.close())

  const push = {
    message: {
      data: Buffer.from('job 7').toString('base64'),
      messageId: '9001',
      message_id: '9001',
      publishTime: '2024-05-02T00:00:00Z',
      orderingKey: 'customer-1',
    },
    subscription: 'projects/p/subscriptions/jobs-worker',
    deliveryAttempt: 3,
  }

  it('keeps the subscription and deliveryAttempt FF would drop, and acks with 204', async () => {
    const response = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(push) })
    expect(response.status).to.equal(204)
    expect(received).to.deep.equal([
      { id: '9001', queue: 'jobs-worker', attempt: 3, groupId: 'customer-1', body: 'job 7', source: 'projects/p/subscriptions/jobs-worker' },
    ])
  })

  it('nacks a failed message with a 500 that names no internals', async () => {
    fail = true
    const response = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', 'function-execution-id': 'x-1' }, body: JSON.stringify(push) })
    expect(response.status).to.equal(500)
    const body = (await response.json()) as { requestId: string }
    expect(body).to.deep.equal({ error: 'Event processing failed', requestId: body.requestId })
    expect(body.requestId).to.not.equal('x-1')
  })

  it('accepts a binary-mode CloudEvent', async () => {
    const event = published('via http')
    const response = await fetch(server.url, { method: 'POST', headers: binaryHeaders(event, 'application/json'), body: JSON.stringify(event.data) })
    expect(response.status).to.equal(204)
    expect(received).to.deep.equal([
      { id: 'm-1', queue: 'orders-sub', attempt: 1, groupId: undefined, body: 'via http', source: 'projects/p/subscriptions/orders-sub' },
    ])
  })

  it('answers 400 naming the problem for a body that is no event', async () => {
    const notJson = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: 'hello' })
    expect(notJson.status).to.equal(400)
    expect(((await notJson.json()) as Record<string, string>).error).to.match(/request body is not JSON/)
    const bare = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ bucket: 'b', name: 'o' }) })
    expect(bare.status).to.equal(400)
    expect(((await bare.json()) as Record<string, string>).error).to.match(/not a CloudEvent: missing the required attribute\(s\) specversion, id, source, type/)
    expect(received).to.deep.equal([])
  })
  it('refuses an http handler', () => {
    expect(() => createPushFunction(http(() => null), gcpSources)).to.throw(TypeError, /an http handler is not an event handler/)
    expect(toPushFunction(queue(() => {}))).to.be.a('function')
  })

  it('reads the event of a request: binary-mode headers, a JSON body, a JSON Buffer; refuses anything else', () => {
    const headers = binaryHeaders(published('b'), 'application/json')
    const binary = eventFromRequest({ method: 'POST', url: '/', headers, body: { message: {} } }) as Record<string, unknown>
    expect(binary).to.deep.include({ specversion: '1.0', id: 'ce-1', type: PUBLISHED, datacontenttype: 'application/json', data: { message: {} } })
    const bytes = Buffer.from([1, 2])
    const proto = eventFromRequest({ method: 'POST', url: '/', headers: binaryHeaders(published('b'), 'application/protobuf'), body: bytes, rawBody: bytes }) as Record<string, unknown>
    expect(proto.data).to.equal(bytes)
    expect(eventFromRequest({ method: 'POST', url: '/', headers: {}, body: Buffer.from(JSON.stringify(published('s'))) })).to.deep.equal(published('s'))
    const legacy = fixture('gcp/storage/ffc__storage-legacy-input.json')
    expect(eventFromRequest({ method: 'POST', url: '/', headers: {}, body: legacy })).to.deep.equal(fixture('gcp/storage/ffc__storage-cloudevent-output.json'))
    expect(() => eventFromRequest({ method: 'POST', url: '/', headers: {}, body: [1] })).to.throw(/no JSON object body/)
    expect(() => eventFromRequest({ method: 'POST', url: '/', headers: {}, body: Buffer.from('{') })).to.throw(/not JSON/)
  })
})
