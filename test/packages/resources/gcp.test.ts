// The Google driver against the local Cloud Storage (packages/serverless/src/providers/google/local/storage.ts) and
// the local Pub/Sub of the Google emulator (packages/serverless/src/providers/google/emulator.ts), its push
// subscription and Eventarc deliveries received over HTTP and translated by @polycloud/gcp's own sources; tokens from
// a metadata server stand-in.
import { expect } from 'chai'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { buffer } from 'node:stream/consumers'
import type { QueueMessage, TopicMessage } from '@polycloud/core'
import { gcpPubSub, gcpPubSubQueue } from '@polycloud/gcp'
import { GCP_LIMITS, gcpResources } from '@polycloud/gcp/resources'
import { bucket, queue, topic } from '@polycloud/resources'
import { startEmulator, type Emulator } from '../../../packages/serverless/src/providers/google/emulator.ts'
import type { ServiceLayout } from '../../../packages/serverless/src/providers/google/plan.ts'
import { MESSAGE_PUBLISHED } from '../../../packages/serverless/src/providers/google/events.ts'
import { startLocalStorage, type LocalStorage, type StorageNotification } from '../../../packages/serverless/src/providers/google/local/storage.ts'
import { behaviour, failure, invoke, type Target } from './behaviour.ts'
import { Inbox, translated } from './support.ts'

const PROJECT = 'polycloud-test'

const LAYOUT: ServiceLayout = {
  functions: [
    {
      id: 'subscriber',
      entryPoint: 'subscriber',
      function: 'subscriber',
      signature: 'cloudevent',
      trigger: { eventType: MESSAGE_PUBLISHED, topic: 'alerts', filters: [], describe: 'topic alerts' },
      timeout: 60,
      memory: undefined,
      environment: {},
      routes: [],
    },
  ],
  router: undefined,
  topics: [
    { name: 'orders', role: 'queue' },
    { name: 'alerts', role: 'topic' },
  ],
  subscriptions: [{ name: 'consumer-push', topic: 'orders', queue: 'orders', function: 'consumer', functionId: 'consumer', deadLetterTopic: 'orders-dlq', maxDeliveryAttempts: 5, ackDeadlineSeconds: 60, ordered: false }],
  deadLetters: [],
  jobs: [],
  buckets: [],
  grants: [],
}

async function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)))
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
}

interface Local {
  readonly storage: LocalStorage
  readonly emulator: Emulator
  readonly functions: Server
  readonly consumed: Inbox<QueueMessage>
  readonly published: Inbox<TopicMessage>
  readonly notifications: StorageNotification[]
}

async function startLocal(): Promise<Local> {
  const consumed = new Inbox<QueueMessage>()
  const published = new Inbox<TopicMessage>()
  const notifications: StorageNotification[] = []
  // The functions' hosts: a push subscription POSTs the push body; Eventarc a binary-mode CloudEvent.
  const functions = createServer(async (req, res) => {
    const body = JSON.parse((await buffer(req)).toString('utf8')) as Record<string, unknown>
    if (req.url === '/consumer') {
      consumed.push(...translated(gcpPubSubQueue.getEvents(body as never)))
    } else {
      const event = { specversion: '1.0', id: req.headers['ce-id'], source: req.headers['ce-source'], type: req.headers['ce-type'], time: req.headers['ce-time'], datacontenttype: 'application/json', data: body }
      published.push(...translated(gcpPubSub.getEvents(event as never)))
    }
    res.writeHead(204).end()
  })
  const port = await listen(functions)
  const emulator = await startEmulator({
    project: PROJECT,
    region: 'europe-west1',
    host: '127.0.0.1',
    port: 0,
    layout: LAYOUT,
    urls: new Map([
      ['consumer', `http://127.0.0.1:${port}/consumer`],
      ['subscriber', `http://127.0.0.1:${port}/subscriber`],
    ]),
    log: () => {},
  })
  const storage = await startLocalStorage({ buckets: ['uploads'], notify: (notification) => notifications.push(notification) })
  return { storage, emulator, functions, consumed, published, notifications }
}

async function stopLocal(local: Local): Promise<void> {
  await local.storage.stop()
  await local.emulator.stop()
  await close(local.functions)
}

const RESOURCES = JSON.stringify({
  uploads: { kind: 'bucket', name: 'uploads' },
  orders: { kind: 'queue', topic: 'orders' },
  alerts: { kind: 'topic', topic: 'alerts' },
  'missing-bucket': { kind: 'bucket', name: 'no-such-bucket' },
  'missing-queue': { kind: 'queue', topic: 'no-such-topic' },
})

behaviour('gcp', async (): Promise<Target> => {
  const local = await startLocal()
  return {
    provider: 'gcp',
    driver: gcpResources(),
    env: {
      GOOGLE_CLOUD_PROJECT: PROJECT,
      STORAGE_EMULATOR_HOST: local.storage.url,
      PUBSUB_EMULATOR_HOST: local.emulator.url.replace('http://', ''),
      POLYCLOUD_RESOURCES: RESOURCES,
    },
    limits: { objects: GCP_LIMITS.storage, queue: GCP_LIMITS.pubsub, topic: GCP_LIMITS.pubsub },
    received: (count) => local.consumed.take(count),
    receivedFromTopic: (count) => local.published.take(count),
    stop: () => stopLocal(local),
  }
})

describe('gcp resources driver: tokens and errors', function () {
  this.timeout(60_000)
  let local: Local
  let metadata: Server
  let metadataHost = ''
  let token = 'good-token'
  const fetched: string[] = []

  before(async () => {
    local = await startLocal()
    await local.storage.stop()
    local = { ...local, storage: await startLocalStorage({ buckets: ['uploads'], tokens: ['good-token'] }) }
    metadata = createServer((req, res) => {
      fetched.push(`${req.url} ${req.headers['metadata-flavor']}`)
      if (req.headers['metadata-flavor'] !== 'Google') return res.writeHead(403).end()
      if (req.url === '/computeMetadata/v1/project/project-id') return res.writeHead(200).end(PROJECT)
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: token, expires_in: 3599, token_type: 'Bearer' }))
    })
    metadataHost = `127.0.0.1:${await listen(metadata)}`
  })

  after(async () => {
    await stopLocal(local)
    await close(metadata)
  })

  const target = (): Target => ({
    provider: 'gcp',
    driver: gcpResources({ endpoints: { storage: local.storage.url, pubsub: local.emulator.url } }),
    env: { GCE_METADATA_HOST: metadataHost, POLYCLOUD_RESOURCES: RESOURCES },
    limits: { objects: GCP_LIMITS.storage, queue: GCP_LIMITS.pubsub, topic: GCP_LIMITS.pubsub },
    received: async () => [],
    stop: async () => {},
  })

  it('takes a token and the project from the metadata server, once, and sends it as a bearer token', async () => {
    const driver = target()
    await invoke(driver, async () => {
      await bucket('uploads').put('token.txt', 'with a token')
      expect(await (await bucket('uploads').get('token.txt'))?.text()).to.equal('with a token')
      await queue('orders').send('to pub/sub')
      await topic('alerts').publish('to pub/sub too')
    })
    expect(fetched).to.deep.equal(['/computeMetadata/v1/instance/service-accounts/default/token Google', '/computeMetadata/v1/project/project-id Google'])
    const [message] = await local.consumed.take(1)
    expect(message?.body).to.equal('to pub/sub')
    await local.published.take(1)
  })

  it('is Denied when Cloud Storage refuses the token', async () => {
    token = 'bad-token'
    const error = await failure(invoke(target(), () => bucket('uploads').get('token.txt')))
    expect(error.code).to.equal('Denied')
    expect(error.status).to.equal(401)
    expect(error.message).to.include('Cloud Storage answered 401 authError: Invalid Credentials')
  })

  it('calls the notification callback of the local storage for each object finalized or deleted', async () => {
    const fresh = await startLocal()
    try {
      const env = { GOOGLE_CLOUD_PROJECT: PROJECT, STORAGE_EMULATOR_HOST: fresh.storage.url, POLYCLOUD_RESOURCES: RESOURCES }
      const t: Target = { ...target(), driver: gcpResources(), env }
      await invoke(t, async () => {
        await bucket('uploads').put('n.txt', 'n', { metadata: { a: 'b' } })
        await bucket('uploads').delete('n.txt')
      })
      // The object written inside the invocation carries its trace, which the storage event's function continues.
      const traced = (metadata: unknown): string => JSON.stringify(metadata).replace(/"traceparent":"00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]"/, '"traceparent":"<trace>"')
      expect(fresh.notifications.map((n) => `${n.type} ${n.bucket} ${n.object.name} ${n.object.size} ${traced(n.object.metadata)}`)).to.deep.equal([
        'google.cloud.storage.object.v1.finalized uploads n.txt 1 {"a":"b","traceparent":"<trace>"}',
        'google.cloud.storage.object.v1.deleted uploads n.txt 1 {"a":"b","traceparent":"<trace>"}',
      ])
    } finally {
      await stopLocal(fresh)
    }
  })
})
