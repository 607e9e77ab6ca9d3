// The Azure driver against azurite (Blob Storage, Storage queues) and the local Service Bus stand-in
// (packages/serverless/src/providers/azure/local/service-bus.ts), each message received as the Functions host hands
// it over (the text through the library's JSON parse, the metadata with lower-cased first letters) and translated by
// @polycloud/azure's own sources.
import { expect } from 'chai'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BlobServiceClient } from '@azure/storage-blob'
import { QueueServiceClient } from '@azure/storage-queue'
import type { QueueMessage, TopicMessage } from '@polycloud/core'
import { isRecord } from '@polycloud/core/adapter'
import { serviceBus, serviceBusTopic, storageQueue } from '@polycloud/azure'
import { AZURE_LIMITS, azureResources } from '@polycloud/azure/resources'
import { bucket, queue, topic } from '@polycloud/resources'
import { startStorage, type LocalStorage } from '../../../packages/serverless/src/providers/azure/storage.ts'
import type { OfflineSettings } from '../../../packages/serverless/src/providers/azure/offline.ts'
import { startLocalServiceBus, type LocalServiceBus, type ServiceBusDelivery } from '../../../packages/serverless/src/providers/azure/local/service-bus.ts'
import { azureInput } from '../../adapters/azure/support.ts'
import { behaviour, failure, invoke, type Target } from './behaviour.ts'
import { Inbox, translated, tryJsonParse } from './support.ts'

/** The library lower-cases the first letter of every metadata key, nested ones too (adapters/azure/src/input.ts). */
function lowerFirst(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(lowerFirst)
  if (!isRecord(value)) return value
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key.charAt(0).toLowerCase() + key.slice(1), lowerFirst(item)]))
}

interface Local {
  readonly storage: LocalStorage
  readonly bus: LocalServiceBus
  readonly folder: string
  readonly storageQueueInbox: Inbox<QueueMessage>
  readonly busQueueInbox: Inbox<QueueMessage>
  readonly topicInbox: Inbox<TopicMessage>
  stopPolling(): Promise<void>
}

let shared: Promise<Local> | undefined
let users = 0

/** azurite and the Service Bus stand-in, started once for the suites of this file. */
function startLocal(): Promise<Local> {
  users++
  shared ??= (async () => {
    const folder = mkdtempSync(join(tmpdir(), 'polycloud-resources-azurite-'))
    const storage = await startStorage({ host: '127.0.0.1', port: 0, storage: folder, blobPort: 0, queuePort: 0, logLevel: 'error' } as OfflineSettings, () => {})
    const blobs = BlobServiceClient.fromConnectionString(storage.connectionString)
    await blobs.getContainerClient('uploads').createIfNotExists()
    const queues = QueueServiceClient.fromConnectionString(storage.connectionString)
    const orders = queues.getQueueClient('orders')
    await orders.createIfNotExists()
    const storageQueueInbox = new Inbox<QueueMessage>()
    const busQueueInbox = new Inbox<QueueMessage>()
    const topicInbox = new Inbox<TopicMessage>()
    // The host's Storage queue trigger: receive, base64-decode to text, hand over through the library's JSON parse.
    let polling = true
    const poller = (async () => {
      while (polling) {
        const { receivedMessageItems } = await orders.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 60 }).catch(() => ({ receivedMessageItems: [] }))
        for (const item of receivedMessageItems) {
          const text = Buffer.from(item.messageText, 'base64').toString('utf8')
          const input = azureInput(tryJsonParse(text), { type: 'queueTrigger', queueName: 'orders' }, {
            triggerMetadata: { id: item.messageId, dequeueCount: item.dequeueCount, popReceipt: item.popReceipt, insertionTime: item.insertedOn.toISOString(), queueTrigger: text },
          })
          storageQueueInbox.push(...translated(storageQueue.getEvents(input)))
          await orders.deleteMessage(item.messageId, item.popReceipt)
        }
        if (receivedMessageItems.length === 0) await new Promise((resolve) => setTimeout(resolve, 100))
      }
    })()
    // The host's Service Bus trigger: the body as text (v4 hands Service Bus messages over as strings) and the metadata.
    const deliver = (delivery: ServiceBusDelivery): void => {
      const { message } = delivery
      const trigger = delivery.topic === undefined ? { type: 'serviceBusTrigger', queueName: delivery.queue } : { type: 'serviceBusTrigger', topicName: delivery.topic, subscriptionName: delivery.subscription }
      const metadata = lowerFirst({
        MessageId: message.messageId,
        DeliveryCount: message.deliveryCount,
        EnqueuedTimeUtc: message.enqueuedTimeUtc.toISOString(),
        ApplicationProperties: message.applicationProperties,
        ContentType: message.contentType,
        ...(message.label === undefined ? {} : { Subject: message.label, Label: message.label }),
        LockToken: 'lock',
      }) as Record<string, unknown>
      const input = azureInput(tryJsonParse(message.body.toString('utf8')), trigger, { triggerMetadata: metadata })
      if (delivery.topic === undefined) {
        busQueueInbox.push(...translated(serviceBus.getEvents(input)))
      } else topicInbox.push(...translated(serviceBusTopic.getEvents(input)))
    }
    const bus = await startLocalServiceBus({ queues: ['orders'], topics: [{ name: 'alerts', subscriptions: ['subscriber'] }], deliver })
    return {
      storage,
      bus,
      folder,
      storageQueueInbox,
      busQueueInbox,
      topicInbox,
      async stopPolling() {
        polling = false
        await poller
      },
    }
  })()
  return shared
}

async function release(): Promise<void> {
  if (--users > 0 || shared === undefined) return
  const local = await shared
  shared = undefined
  await local.stopPolling()
  await local.bus.stop()
  await local.storage.stop()
  rmSync(local.folder, { recursive: true, force: true })
}

function environment(local: Local, orders: 'storage' | 'serviceBus'): Record<string, string> {
  return {
    AzureWebJobsStorage: local.storage.connectionString,
    ServiceBusConnection: local.bus.connectionString,
    POLYCLOUD_RESOURCES: JSON.stringify({
      uploads: { kind: 'bucket', name: 'uploads', connection: 'AzureWebJobsStorage' },
      orders: { kind: 'queue', service: orders, name: 'orders', connection: orders === 'storage' ? 'AzureWebJobsStorage' : 'ServiceBusConnection' },
      alerts: { kind: 'topic', service: 'serviceBus', name: 'alerts', connection: 'ServiceBusConnection' },
      'missing-bucket': { kind: 'bucket', name: 'no-such-container', connection: 'AzureWebJobsStorage' },
      'missing-queue': { kind: 'queue', service: orders, name: 'no-such-queue', connection: orders === 'storage' ? 'AzureWebJobsStorage' : 'ServiceBusConnection' },
    }),
  }
}

for (const service of ['storage', 'serviceBus'] as const) {
  behaviour(`azure (queue on ${service === 'storage' ? 'a Storage queue' : 'Service Bus'})`, async (): Promise<Target> => {
    const local = await startLocal()
    const inbox = service === 'storage' ? local.storageQueueInbox : local.busQueueInbox
    return {
      provider: 'azure',
      driver: azureResources(),
      env: environment(local, service),
      limits: { objects: AZURE_LIMITS.blob, queue: service === 'storage' ? AZURE_LIMITS.storageQueue : AZURE_LIMITS.serviceBus, topic: AZURE_LIMITS.serviceBus },
      received: (count) => inbox.take(count),
      receivedFromTopic: (count) => local.topicInbox.take(count),
      stop: release,
    }
  })
}

describe('azure resources driver: wire details', function () {
  this.timeout(60_000)
  let local: Local

  before(async function () {
    this.timeout(120_000)
    local = await startLocal()
  })

  after(release)

  const target = (env: Record<string, string>): Target => ({
    provider: 'azure',
    driver: azureResources(),
    env,
    limits: { objects: AZURE_LIMITS.blob, queue: AZURE_LIMITS.storageQueue, topic: AZURE_LIMITS.serviceBus },
    received: async () => [],
    stop: async () => {},
  })

  it('is Denied by azurite with a wrong account key, and by Service Bus with a wrong SAS key', async () => {
    const env = environment(local, 'serviceBus')
    const wrongKey = env.AzureWebJobsStorage?.replace(/AccountKey=[^;]+/, `AccountKey=${Buffer.from('not the key').toString('base64')}`) as string
    const blob = await failure(invoke(target({ ...env, AzureWebJobsStorage: wrongKey }), () => bucket('uploads').get('a')))
    expect(blob.code).to.equal('Denied')
    expect(blob.status).to.equal(403)
    expect(blob.message).to.match(/AuthorizationFailure|AuthenticationFailed/)
    const bus = await failure(invoke(target({ ...env, ServiceBusConnection: env.ServiceBusConnection?.replace(/SharedAccessKey=[^;]+/, 'SharedAccessKey=wrong') as string }), () => topic('alerts').publish('x')))
    expect(bus.code).to.equal('Denied')
    expect(bus.status).to.equal(401)
  })

  it('keeps Service Bus attributes the library would change (upper-case first letter, non-ASCII) in the envelope, the others as properties', async () => {
    await invoke(target(environment(local, 'serviceBus')), () => queue('orders').send('props', { attributes: { Tenant: 'Acme', city: 'Zürich', plain: 'yes' } }))
    const [message] = await local.busQueueInbox.take(1)
    expect(message?.attributes).to.deep.equal({ Tenant: 'Acme', city: 'Zürich', plain: 'yes' })
    expect(message?.body).to.equal('props')
  })

  it('sends Service Bus properties as headers and the subject as the Label, as a curl user would', async () => {
    const response = await fetch(`${local.bus.endpoint}/alerts/messages`, {
      method: 'POST',
      headers: { authorization: 'SharedAccessSignature sr=x&sig=bad&se=1&skn=RootManageSharedAccessKey', 'content-type': 'text/plain' },
      body: 'x',
    })
    expect(response.status).to.equal(401)
    const unknown = await fetch(`${local.bus.endpoint}/nowhere/messages`, { method: 'POST', body: 'x' })
    expect(unknown.status).to.equal(410)
  })

  it('reads identity-based settings: a managed identity token for Blob Storage and Service Bus (IDENTITY_ENDPOINT)', async () => {
    const audiences: string[] = []
    const identity = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://localhost')
      audiences.push(`${url.searchParams.get('resource')} ${url.searchParams.get('api-version')} ${req.headers['x-identity-header']} ${url.searchParams.get('client_id')}`)
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 'token-for-tests', expires_on: String(Math.floor(Date.now() / 1000) + 3600) }))
    })
    const seen: string[] = []
    const service = createServer((req, res) => {
      seen.push(`${req.method} ${req.url?.split('?')[0]} ${req.headers.authorization}`)
      req.resume()
      req.on('end', () => res.writeHead(req.url?.includes('/messages') ? 201 : 404, { 'x-ms-error-code': 'BlobNotFound' }).end())
    })
    const port = async (server: ReturnType<typeof createServer>): Promise<number> => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)))
    const [identityPort, servicePort] = [await port(identity), await port(service)]
    try {
      const env = {
        IDENTITY_ENDPOINT: `http://127.0.0.1:${identityPort}/msi/token`,
        IDENTITY_HEADER: 'secret-header',
        Storage__blobServiceUri: `http://127.0.0.1:${servicePort}/account`,
        Storage__clientId: 'client-1',
        POLYCLOUD_RESOURCES: JSON.stringify({ uploads: { kind: 'bucket', name: 'c', connection: 'Storage' } }),
      }
      expect(await invoke(target(env), () => bucket('uploads').get('k'))).to.equal(null)
      expect(audiences).to.deep.equal(['https://storage.azure.com/ 2019-08-01 secret-header client-1'])
      expect(seen).to.deep.equal(['GET /account/c/k Bearer token-for-tests'])
    } finally {
      for (const server of [identity, service]) {
        server.closeAllConnections()
        await new Promise((resolve) => server.close(resolve))
      }
    }
  })
})
