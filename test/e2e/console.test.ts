/**
 * The local console under every provider's `serverless offline`: an invocation driven through the emulation shows on
 * its pages with its trace id, outcome, duration and cold start, and its trace as a timeline; the local queues'
 * messages show, and a dead-lettered one goes back to its queue from the console's form.
 */
import { expect } from 'chai'
import { randomBytes } from 'node:crypto'
import { encodePng } from '../../handlers/lib/png.ts'
import { ended, page, timelineFunctions } from '../helpers/console.ts'
import { join } from 'node:path'
import { QueueClient } from '@azure/storage-queue'
import { startProcess, type LocalProcess } from 'serverless-polycloud/local'
import { startAzureHost, type AzureHost } from '../helpers/azure.ts'
import { consoleUrl as consoleUrl_, freePort, ROOT, startOffline, startServerless, type Offline, type ServerlessProcess } from '../helpers/serverless.ts'
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

/** A W3C traceparent of a fresh trace, and its trace id. */
function freshTrace(): { traceId: string; traceparent: string } {
  const traceId = randomBytes(16).toString('hex')
  return { traceId, traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` }
}

/** GET /hello with a traceparent shows in the console as an ended HTTP invocation with that trace id, on its pages. */
async function helloShows(consoleUrl: string, helloUrl: string): Promise<void> {
  const { traceId, traceparent } = freshTrace()
  const response = await fetch(helloUrl, { headers: { traceparent } })
  expect(response.status).to.equal(200)
  const shown = await ended(consoleUrl, 'hello', (invocation) => invocation.traceId === traceId, 60_000)
  expect(shown).to.include({ outcome: 'ok', kind: 'http' })
  expect(shown.durationMs).to.be.a('number')
  expect(shown.coldStart).to.be.a('boolean')
  expect(await page(consoleUrl, '/')).to.include(`/traces/${traceId}`)
  const trace = await page(consoleUrl, `/traces/${traceId}`)
  expect(timelineFunctions(trace)).to.have.length(1)
  expect(timelineFunctions(trace)[0]).to.match(/hello$/)
}

/** Waits until a dead-letter queue on the console's queues page holds a message whose body includes `text`; its queue and id. */
function deadLettered(consoleUrl: string, text: string, timeoutMs = 120_000): Promise<{ queue: string; id: string }> {
  return waitFor(
    `a dead-lettered message with ${text} on the console`,
    async () => {
      const html = await page(consoleUrl, '/queues')
      for (const table of html.matchAll(/<h2>Dead-letter queue[\s\S]*?<table class="queue" data-queue="([^"]*)">([\s\S]*?)<\/table>/g)) {
        for (const row of (table[2] as string).split('<tr>')) {
          if (!row.includes(text)) continue
          const id = /name="id" value="([^"]*)"/.exec(row)?.[1]
          if (id !== undefined) return { queue: (table[1] as string).replaceAll('&amp;', '&'), id }
        }
      }
      return undefined
    },
    timeoutMs,
    500,
  )
}

/** Presses the console's Redeliver button for a message; the notice the page shows. */
async function redeliver(consoleUrl: string, queue: string, id: string): Promise<string> {
  const response = await fetch(`${consoleUrl}/queues/redeliver`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ queue, id }) })
  expect(response.status).to.equal(303)
  const html = await page(consoleUrl, response.headers.get('location') as string)
  return /<p id="notice"><strong>([\s\S]*?)<\/strong>/.exec(html)?.[1] ?? ''
}

describe('local console: Google Cloud (serverless offline)', function () {
  this.timeout(240_000)
  let offline: ServerlessProcess
  let consoleUrl: string
  let routes: string
  let events: string

  before(async () => {
    offline = await startServerless(['offline', '--port', '0', '--consolePort', '0'], { env: { POLYCLOUD_PROVIDER: 'google', POLYCLOUD_OFFLINE_RETRY_SECONDS: '1' }, timeoutMs: 120_000 })
    consoleUrl = consoleUrl_(offline)
    routes = /routes at (http:\/\/\S+):/.exec(offline.stderr())?.[1] ?? ''
    events = /events \(Pub\/Sub, Cloud Storage, Cloud Scheduler\): (http:\/\/\S+)/.exec(offline.stderr())?.[1] ?? ''
  })
  after(async () => {
    await offline?.stop()
  })

  it('shows an HTTP invocation with its trace id', async () => {
    expect(consoleUrl).to.match(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(await page(consoleUrl, '/')).to.include('Google Cloud').and.include('queue orders')
    await helloShows(consoleUrl, `${routes}/hello`)
  })

  it('shows an order that failed every push in the dead-letter subscription, and pushes it again from the form', async () => {
    const id = `bad-${randomBytes(4).toString('hex')}`
    const index = (await (await fetch(events)).json()) as { publish: string }
    const publish = `${events}${index.publish.replace('POST ', '').replace('<topic>', 'polycloud-demo-dev-orders')}`
    const published = await fetch(publish, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ data: Buffer.from(JSON.stringify({ id, items: [] })).toString('base64') }] }) })
    expect(published.status, await published.clone().text()).to.equal(200)
    const { queue, id: messageId } = await deadLettered(consoleUrl, id)
    expect(queue).to.match(/dlq/)
    expect(await redeliver(consoleUrl, queue, messageId)).to.match(new RegExp(`^Message ${messageId} pushed again to \\S+-push\\.$`))
    await waitFor('the message to leave the dead-letter subscription', async () => !(await page(consoleUrl, '/queues')).includes(`value="${messageId}"`), 30_000, 250)
  })
})

describe('local console: Azure (serverless offline)', function () {
  this.timeout(240_000)
  let host: AzureHost
  let consoleUrl: string

  before(async () => {
    const retry = process.env.POLYCLOUD_OFFLINE_RETRY_SECONDS
    process.env.POLYCLOUD_OFFLINE_RETRY_SECONDS = '1'
    try {
      host = await startAzureHost({ timeoutMs: 120_000 })
    } finally {
      if (retry === undefined) delete process.env.POLYCLOUD_OFFLINE_RETRY_SECONDS
      else process.env.POLYCLOUD_OFFLINE_RETRY_SECONDS = retry
    }
    consoleUrl = consoleUrl_(host)
  })
  after(async () => {
    await host?.stop()
  })

  it('shows an HTTP invocation with its trace id', async () => {
    expect(consoleUrl).to.match(/^http:\/\/127\.0\.0\.1:\d+$/)
    await helloShows(consoleUrl, `${host.url}/api/hello`)
  })

  it('shows an order that failed five times in the poison queue, and sends it back to its queue from the form', async () => {
    const metadata = (await (await fetch(`${host.url}/admin/functions/orders`)).json()) as { config: { bindings: Array<{ queueName?: string }> } }
    const name = metadata.config.bindings.find((binding) => binding.queueName)?.queueName as string
    const id = `bad-${randomBytes(4).toString('hex')}`
    await new QueueClient(host.connectionString as string, name).sendMessage(Buffer.from(JSON.stringify({ id, items: [] })).toString('base64'))
    const { queue, id: messageId } = await deadLettered(consoleUrl, id)
    expect(queue).to.equal(`${name}-poison`)
    expect(await redeliver(consoleUrl, queue, messageId)).to.equal(`Message ${messageId} sent back from ${name}-poison to ${name}.`)
    // Back in its queue it fails again: a new invocation of orders shows, failed.
    await ended(consoleUrl, 'orders', (invocation) => invocation.outcome === 'error' && invocation.lines.some((line) => line.text.includes(id)), 60_000)
  })
})

describe('local console: Cloudflare (serverless offline)', function () {
  this.timeout(240_000)
  let offline: LocalProcess
  let url: string
  let consoleUrl: string

  before(async () => {
    const port = await freePort()
    url = `http://127.0.0.1:${port}`
    offline = await startProcess(process.execPath, [join(ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js'), 'offline', '--port', String(port), '--consolePort', '0'], {
      ready: /Server ready: /,
      timeoutMs: 120_000,
      name: 'serverless offline (cloudflare)',
      cwd: ROOT,
      env: { POLYCLOUD_PROVIDER: 'cloudflare', SLS_TELEMETRY_DISABLED: '1', POLYCLOUD_OFFLINE_RETRY_SECONDS: '1' },
    })
    consoleUrl = /Polycloud console: (http:\/\/127\.0\.0\.1:\d+)/.exec(offline.output())?.[1] ?? ''
  })
  after(async () => {
    await offline?.stop()
  })

  it('shows an HTTP invocation with its trace id', async () => {
    expect(consoleUrl).to.match(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(await page(consoleUrl, '/')).to.include('Cloudflare')
    await helloShows(consoleUrl, `${url}/hello`)
  })

  it('shows an order the dead-letter queue received, and sends it back to its queue from the form', async () => {
    const id = `bad-${randomBytes(4).toString('hex')}`
    const sent = await fetch(`${url}/cdn-cgi/polycloud/queues/orders/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ body: { id, items: [] } }) })
    expect(sent.status, await sent.clone().text()).to.equal(200)
    const { queue, id: messageId } = await deadLettered(consoleUrl, id)
    expect(await redeliver(consoleUrl, queue, messageId)).to.match(new RegExp(`^Message ${messageId} sent back from ${queue} to \\S+orders\\.$`))
    await waitFor('the message to leave the dead-letter queue', async () => !(await page(consoleUrl, '/queues')).includes(`value="${messageId}"`), 30_000, 250)
  })
})
