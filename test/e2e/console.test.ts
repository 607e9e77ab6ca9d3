/**
 * The local console under every provider's `serverless offline`: an invocation driven through the emulation shows on
 * its pages with its trace id, outcome, duration and cold start, and its trace as a timeline; the local queues'
 * messages show, and a dead-lettered one goes back to its queue from the console's form.
 */
import { expect } from 'chai'
import { randomBytes } from 'node:crypto'
import { encodePng } from '../../handlers/lib/png.ts'
import { ended, page, timelineFunctions } from '../helpers/console.ts'
import { startOffline, type Offline } from '../helpers/serverless.ts'
import { waitFor } from '../portability/target.ts'
import { GetQueueUrlCommand, SendMessageCommand } from '@aws-sdk/client-sqs'
import { sqsClient } from '../packages/serverless/providers/aws-local/support.ts'

/** A small PNG of its own for each run. */
async function image(): Promise<Uint8Array> {
  const width = 64
  const height = 48
  const data = new Uint8Array(width * height * 4)
  const seed = randomBytes(1)[0] as number
  for (let i = 0; i < width * height; i++) data.set([(i * 7) & 0xff, seed, (i >> 3) & 0xff, 255], i * 4)
  return encodePng({ width, height, data })
}

describe('local console: AWS (serverless offline)', function () {
  this.timeout(240_000)
  let offline: Offline

  before(async () => {
    offline = await startOffline({ routes: 'http-api' }, 120_000, undefined, undefined, { POLYCLOUD_OFFLINE_RETRY_SECONDS: '1' })
  })
  after(async () => {
    await offline?.stop()
  })

  it('prints its address and lists the functions with their triggers', async () => {
    expect(offline.console).to.match(/^http:\/\/127\.0\.0\.1:\d+$/)
    const html = await page(offline.console, '/')
    expect(html).to.include('<td>uploads</td>').and.include('POST /uploads').and.include('bucket polycloud-demo-dev-uploads (created images/*)').and.include('queue orders')
  })

  it('shows an upload with the trace id of its traceparent, and the thumbnail it leads to', async () => {
    const traceId = randomBytes(16).toString('hex')
    const response = await fetch(`${offline.url}/uploads`, { method: 'POST', headers: { 'content-type': 'image/png', traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` }, body: Buffer.from(await image()) })
    expect(response.status).to.equal(201)
    const { key } = (await response.json()) as { key: string }
    const upload = await ended(offline.console, '-uploads', (invocation) => invocation.traceId === traceId)
    expect(upload).to.include({ outcome: 'ok', kind: 'http', traceId })
    expect(upload.durationMs).to.be.a('number')
    expect(upload.coldStart).to.be.a('boolean')
    // S3 event notifications carry no object metadata: on AWS the thumbnail runs in a trace of its own.
    const thumbnail = await ended(offline.console, '-thumbnails', (invocation) => invocation.lines.some((line) => line.text.includes(key)))
    expect(thumbnail).to.include({ outcome: 'ok', kind: 'storage' })
    const overview = await page(offline.console, '/')
    expect(overview).to.include(`/traces/${traceId}`).and.include(`/traces/${thumbnail.traceId}`)
    const trace = await page(offline.console, `/traces/${traceId}`)
    expect(timelineFunctions(trace)).to.deep.equal(['polycloud-demo-dev-uploads'])
    expect(trace).to.include('upload stored')
  })

  it('draws an order and the alert it publishes as one trace across both functions', async () => {
    const traceId = randomBytes(16).toString('hex')
    const sqs = sqsClient(offline.services)
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: 'polycloud-demo-dev-orders' }))
    const id = `big-${randomBytes(4).toString('hex')}`
    await sqs.send(
      new SendMessageCommand({
        QueueUrl,
        MessageBody: JSON.stringify({ id, items: [{ sku: 'a' }], total: 5000 }),
        MessageAttributes: { traceparent: { DataType: 'String', StringValue: `00-${traceId}-${randomBytes(8).toString('hex')}-01` } },
      }),
    )
    await ended(offline.console, '-orders', (invocation) => invocation.traceId === traceId)
    await ended(offline.console, '-alerts', (invocation) => invocation.traceId === traceId)
    const trace = await page(offline.console, `/traces/${traceId}`)
    expect(timelineFunctions(trace)).to.deep.equal(['polycloud-demo-dev-orders', 'polycloud-demo-dev-alerts'])
    expect(trace).to.include('alert published')
    const traces = await page(offline.console, '/traces')
    expect(traces).to.include(`polycloud-demo-dev-orders → polycloud-demo-dev-alerts`)
  })

  it('shows a failing order in the dead-letter queue and sends it back to its queue from the form', async () => {
    const id = `bad-${randomBytes(4).toString('hex')}`
    const sqs = sqsClient(offline.services)
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: 'polycloud-demo-dev-orders' }))
    const { MessageId } = await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: JSON.stringify({ id, items: [] }) }))
    const dlq = await waitFor(
      'the order in the dead-letter queue',
      async () => {
        const queues = await page(offline.console, '/queues')
        const table = [...queues.matchAll(/<h2>Dead-letter queue[\s\S]*?<table class="queue" data-queue="([^"]*)">([\s\S]*?)<\/table>/g)].find((match) => (match[2] as string).includes(MessageId as string))
        return table?.[1]
      },
      120_000,
      500,
    )
    const redeliver = await fetch(`${offline.console}/queues/redeliver`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ queue: dlq, id: MessageId as string }) })
    expect(redeliver.status).to.equal(303)
    const notice = decodeURIComponent(/notice=(.*)$/.exec(redeliver.headers.get('location') ?? '')?.[1] ?? '')
    expect(notice).to.match(new RegExp(`^Message ${MessageId} sent back from \\S+ to polycloud-demo-dev-orders\\.$`))
    // Back in its queue, it fails again: its new attempt is an invocation of orders in the console.
    await ended(offline.console, '-orders', (invocation) => invocation.outcome === 'error')
  })
})
