/**
 * The local Pub/Sub, Eventarc and Scheduler of the Google target, against a recording function server: the exact
 * formats Google delivers, redelivery with backoff (shortened here), the dead-letter topic after the maximum
 * delivery attempts, and the API-shaped publish endpoint's refusals.
 */
import { expect } from 'chai'
import { rmSync } from 'node:fs'
import { startEmulator, type Emulator } from 'serverless-polycloud/providers/google/emulator'
import { googleSettings } from 'serverless-polycloud/providers/google/plan'
import { startStandIn, type RecordedRequest, type StandIn } from '../../../helpers/stand-in.ts'
import { googleContext } from './google-support.ts'

describe('serverless/providers/google: local events', function () {
  this.timeout(20_000)
  let fn: StandIn
  let emulator: Emulator
  let failing = new Set<string>()
  const lines: string[] = []
  const ctx = googleContext()

  /** The function answers 500 for a body holding one of the `failing` markers, 204 otherwise. */
  const received = (): RecordedRequest[] => fn.requests

  before(async () => {
    fn = await startStandIn((request) => ({ status: [...failing].some((marker) => request.body.toString().includes(Buffer.from(marker).toString('base64'))) ? 500 : 204 }))
    const { layout } = googleSettings(ctx)
    const urls = new Map(layout.functions.map((spec) => [spec.id, `${fn.url}/${spec.id}`]))
    emulator = await startEmulator({ project: 'p', region: 'europe-west1', host: '127.0.0.1', port: 0, layout, urls, log: (line) => lines.push(line), backoff: { minMs: 20, maxMs: 80 } })
  })

  after(async () => {
    await emulator?.stop()
    await fn?.stop()
    rmSync(ctx.workDir.replace(/\/\.polycloud\/google$/, ''), { recursive: true, force: true })
  })

  beforeEach(() => {
    fn.requests.length = 0
    failing = new Set()
  })

  const publish = async (topic: string, body: unknown) =>
    fetch(`${emulator.url}/v1/projects/p/topics/${topic}:publish`, { method: 'POST', body: JSON.stringify(body) })

  const until = async (check: () => boolean): Promise<void> => {
    const deadline = Date.now() + 10_000
    while (!check()) {
      if (Date.now() > deadline) throw new Error('timed out')
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }

  it('pushes a queue message as Pub/Sub does: the push envelope, one message per request', async () => {
    const response = await publish('polycloud-demo-dev-orders', { messages: [{ data: Buffer.from('{"id":"o-1"}').toString('base64'), attributes: { a: 'b' } }] })
    const { messageIds } = (await response.json()) as { messageIds: string[] }
    expect(messageIds).to.have.length(1)
    await until(() => received().length === 1)
    const [push] = received()
    expect(push?.path).to.equal('/polycloud-demo-dev-orders')
    expect(push?.headers['content-type']).to.equal('application/json')
    const body = JSON.parse(push!.body.toString()) as Record<string, unknown>
    expect(body).to.deep.equal({
      message: {
        attributes: { a: 'b' },
        data: Buffer.from('{"id":"o-1"}').toString('base64'),
        messageId: messageIds[0],
        message_id: messageIds[0],
        publishTime: (body.message as { publishTime: string }).publishTime,
        publish_time: (body.message as { publishTime: string }).publishTime,
      },
      subscription: 'projects/p/subscriptions/polycloud-demo-dev-orders-push',
      deliveryAttempt: 1,
    })
  })

  it('redelivers a failed message with a growing deliveryAttempt, then dead-letters it after the maximum attempts', async () => {
    failing.add('bad order')
    const response = await publish('polycloud-demo-dev-orders', { messages: [{ data: Buffer.from('bad order').toString('base64') }, { data: Buffer.from('good order').toString('base64') }] })
    const [bad] = ((await response.json()) as { messageIds: string[] }).messageIds
    await until(() => emulator.deliveries.some((delivery) => delivery.id === bad && delivery.outcome === 'dead-lettered'))
    const attempts = received()
      .map((request) => JSON.parse(request.body.toString()) as { message: { messageId: string }; deliveryAttempt: number })
      .filter((body) => body.message.messageId === bad)
      .map((body) => body.deliveryAttempt)
    expect(attempts).to.deep.equal([1, 2, 3, 4, 5])
    expect(emulator.deliveries.filter((delivery) => delivery.id === bad).map((delivery) => delivery.outcome)).to.deep.equal(['retry', 'retry', 'retry', 'retry', 'dead-lettered'])
    expect(lines.at(-1)).to.equal(`subscription polycloud-demo-dev-orders-push: ${bad} failed 5 times: published to the dead-letter topic polycloud-demo-dev-orders-dlq`)
    // The good one was delivered once.
    expect(received().filter((request) => request.body.includes(Buffer.from('good order').toString('base64')))).to.have.length(1)
  })

  it("keeps dead letters in the dead-letter topic's pull subscription: pulled with Google's source attributes, hidden for the ack deadline, then acknowledged", async () => {
    failing.add('doomed order')
    const response = await publish('polycloud-demo-dev-orders', { messages: [{ data: Buffer.from('doomed order').toString('base64'), attributes: { tenant: 'acme' } }] })
    const [doomed] = ((await response.json()) as { messageIds: string[] }).messageIds
    await until(() => emulator.deliveries.some((delivery) => delivery.id === doomed && delivery.outcome === 'dead-lettered'))
    const subscription = `${emulator.url}/v1/projects/p/subscriptions/polycloud-demo-dev-orders-dlq`
    const pull = async () => (await (await fetch(`${subscription}:pull`, { method: 'POST', body: JSON.stringify({ maxMessages: 10 }) })).json()) as { receivedMessages?: Array<{ ackId: string; message: { data: string; attributes: Record<string, string> } }> }
    const pulled = (await pull()).receivedMessages ?? []
    const ours = pulled.filter(({ message }) => Buffer.from(message.data, 'base64').toString() === 'doomed order')
    expect(ours).to.have.length(1)
    expect(ours[0]?.message.attributes).to.deep.include({ tenant: 'acme', CloudPubSubDeadLetterSourceDeliveryCount: '5', CloudPubSubDeadLetterSourceSubscription: 'polycloud-demo-dev-orders-push' })
    // Pulled: not answered again within the ack deadline.
    expect((await pull()).receivedMessages ?? []).to.deep.equal([])
    const ack = await fetch(`${subscription}:acknowledge`, { method: 'POST', body: JSON.stringify({ ackIds: pulled.map(({ ackId }) => ackId) }) })
    expect(ack.status).to.equal(200)
    expect((await fetch(`${emulator.url}/v1/projects/p/subscriptions/nope:pull`, { method: 'POST', body: '{"maxMessages":1}' })).status).to.equal(404)
    expect((await fetch(`${subscription}:pull`, { method: 'POST', body: '{}' })).status).to.equal(400)
  })

  it('delivers a topic message through Eventarc: a binary-mode CloudEvent with the MessagePublishedData body', async () => {
    await publish('polycloud-demo-dev-alerts', { messages: [{ data: Buffer.from('disk full').toString('base64'), attributes: { severity: 'warning' } }] })
    await until(() => received().length === 1)
    const [event] = received()
    expect(event?.path).to.equal('/polycloud-demo-dev-alerts')
    expect(event?.headers).to.include({
      'ce-specversion': '1.0',
      'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
      'ce-source': '//pubsub.googleapis.com/projects/p/topics/polycloud-demo-dev-alerts',
      'content-type': 'application/json; charset=utf-8',
    })
    const body = JSON.parse(event!.body.toString()) as { message: { messageId: string; attributes: unknown }; subscription: string }
    expect(event?.headers['ce-id']).to.equal(body.message.messageId)
    expect(body.message.attributes).to.deep.equal({ severity: 'warning' })
    expect(body.subscription).to.equal('projects/p/subscriptions/eventarc-europe-west1-polycloud-demo-dev-alerts-sub')
  })

  it('turns an upload and a delete into Eventarc storage events (the function subscribed to finalized only gets that)', async () => {
    const upload = await fetch(`${emulator.url}/upload/storage/v1/b/polycloud-demo-dev-uploads/o?uploadType=media&name=${encodeURIComponent('images/cat 1.png')}`, {
      method: 'POST',
      headers: { 'content-type': 'image/png' },
      body: new Uint8Array(2048),
    })
    const object = (await upload.json()) as Record<string, unknown>
    expect(object).to.include({ kind: 'storage#object', bucket: 'polycloud-demo-dev-uploads', name: 'images/cat 1.png', size: '2048', contentType: 'image/png' })
    await until(() => received().length === 1)
    const [event] = received()
    expect(event?.headers).to.include({
      'ce-type': 'google.cloud.storage.object.v1.finalized',
      'ce-source': '//storage.googleapis.com/projects/_/buckets/polycloud-demo-dev-uploads',
      'ce-subject': 'objects/images/cat 1.png',
      'ce-bucket': 'polycloud-demo-dev-uploads',
    })
    expect(JSON.parse(event!.body.toString())).to.deep.equal(object)
    const removed = await fetch(`${emulator.url}/storage/v1/b/polycloud-demo-dev-uploads/o/${encodeURIComponent('images/cat 1.png')}`, { method: 'DELETE' })
    expect(removed.status).to.equal(204)
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(received()).to.have.length(1)
  })

  it('runs a Scheduler job: a message on the schedule topic, delivered through Eventarc', async () => {
    const run = await fetch(`${emulator.url}/v1/projects/p/locations/europe-west1/jobs/polycloud-demo-dev-report-cron:run`, { method: 'POST' })
    expect(await run.json()).to.deep.include({ schedule: '0 3 * * *', timeZone: 'UTC', state: 'ENABLED' })
    await until(() => received().length === 1)
    expect(received()[0]?.headers['ce-source']).to.equal('//pubsub.googleapis.com/projects/p/topics/polycloud-demo-dev-report-schedule')
  })

  it("refuses what Pub/Sub refuses, in Google's error shape", async () => {
    const cases: Array<[string, unknown, number, string]> = [
      ['nope', { messages: [{ data: 'eA==' }] }, 404, 'NOT_FOUND'],
      ['polycloud-demo-dev-alerts', { messages: [] }, 400, 'INVALID_ARGUMENT'],
      ['polycloud-demo-dev-alerts', { messages: [{ data: 'not base64!' }] }, 400, 'INVALID_ARGUMENT'],
      ['polycloud-demo-dev-alerts', { messages: [{}] }, 400, 'INVALID_ARGUMENT'],
    ]
    for (const [topic, body, code, status] of cases) {
      const response = await publish(topic, body)
      expect(response.status).to.equal(code)
      expect(((await response.json()) as { error: { status: string } }).error.status).to.equal(status)
    }
    const text = await fetch(`${emulator.url}/v1/projects/p/topics/polycloud-demo-dev-alerts:publish`, { method: 'POST', body: '{' })
    expect(text.status).to.equal(400)
  })
})
