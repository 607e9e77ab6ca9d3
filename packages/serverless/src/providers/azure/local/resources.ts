/**
 * What `serverless offline` on Azure serves besides the host: the Storage and Service Bus entities the triggers read
 * and the functions' code uses (`custom.polycloud.resources`), locally. Containers and Storage queues live in azurite
 * (created at start, so a first `put` or `send` finds them); Service Bus queues and topics in the local Service Bus
 * stand-in (`service-bus.ts`), whose deliveries run the Service Bus trigger of each subscribed function, as the host's
 * Service Bus extension would: the message's body, its metadata, a failed run delivered again up to the entity's
 * MaxDeliveryCount. Polycloud's clients reach both through `PolycloudStorage` and `PolycloudServiceBus`, the
 * triggers through `AzureWebJobsStorage` and `ServiceBusConnection`: the same local connection strings.
 */
import type { Stoppable } from '../../../local.js'
import type { HostLog, LocalHost } from '../host.js'
import { RESOURCE_CONNECTIONS, type AzurePlan } from '../plan.js'
import { serviceBusMetadata, triggerOf, type RpcTypedDataShape } from '../rpc.js'
import type { LocalServiceBus, ServiceBusDelivery } from './service-bus.js'

/** The entities the app needs locally, by service. */
export interface LocalEntities {
  readonly containers: readonly string[]
  readonly storageQueues: readonly string[]
  readonly busQueues: readonly string[]
  /** Each topic with the subscriptions of the functions that read it (none for a topic the code only publishes to). */
  readonly busTopics: ReadonlyArray<{ readonly name: string; readonly subscriptions: readonly string[] }>
  /** MaxDeliveryCount of the queues and subscriptions (`<queue>`, `<topic>/Subscriptions/<subscription>`). */
  readonly maxDeliveryCounts: Readonly<Record<string, number>>
  /** Whether the code of some function uses a container or Storage queue, a Service Bus queue or topic. */
  readonly usesStorage: boolean
  readonly usesServiceBus: boolean
}

/** The triggers' resources, the declared ones and those the functions use (an `existing` one too: locally nothing exists). */
export function localEntities(plan: Pick<AzurePlan, 'app' | 'declared' | 'grants'>): LocalEntities {
  const containers = new Set<string>()
  const storageQueues = new Set<string>()
  const busQueues = new Set<string>()
  const topics = new Map<string, Set<string>>()
  const maxDeliveryCounts: Record<string, number> = {}
  const topic = (name: string) => topics.get(name) ?? topics.set(name, new Set()).get(name) as Set<string>
  for (const resource of [...plan.app.flatMap((fn) => fn.trigger.resources), ...plan.declared()]) {
    if (resource.kind === 'container') containers.add(resource.name)
    else if (resource.kind === 'storageQueue') storageQueues.add(resource.name)
    else if (resource.kind === 'serviceBusQueue') {
      busQueues.add(resource.name)
      maxDeliveryCounts[resource.name] = resource.maxDeliveryCount
    } else if (resource.kind === 'serviceBusTopic') {
      const subscriptions = topic(resource.topic)
      if (resource.subscription !== undefined) {
        subscriptions.add(resource.subscription)
        maxDeliveryCounts[`${resource.topic}/Subscriptions/${resource.subscription}`] = resource.maxDeliveryCount
      }
    }
  }
  const grants = plan.grants()
  for (const grant of grants) {
    if (grant.scope === 'container') containers.add(grant.entity)
    else if (grant.scope === 'storageQueue') storageQueues.add(grant.entity)
    else if (grant.scope === 'serviceBusQueue') busQueues.add(grant.entity)
    else topic(grant.entity)
  }
  return {
    containers: [...containers],
    storageQueues: [...storageQueues],
    busQueues: [...busQueues],
    busTopics: [...topics].map(([name, subscriptions]) => ({ name, subscriptions: [...subscriptions] })),
    maxDeliveryCounts,
    usesStorage: grants.some((grant) => grant.scope === 'container' || grant.scope === 'storageQueue'),
    usesServiceBus: grants.some((grant) => grant.scope === 'serviceBusQueue' || grant.scope === 'serviceBusTopic'),
  }
}

/** Creates the containers and Storage queues in azurite (those there already are kept as they are). */
export async function createStorageEntities(connectionString: string, entities: LocalEntities): Promise<void> {
  if (entities.containers.length === 0 && entities.storageQueues.length === 0) return
  const [{ BlobServiceClient }, { QueueServiceClient }] = await Promise.all([import('@azure/storage-blob'), import('@azure/storage-queue')])
  const blobs = BlobServiceClient.fromConnectionString(connectionString)
  const queues = QueueServiceClient.fromConnectionString(connectionString)
  await Promise.all([
    ...entities.containers.map((name) => blobs.getContainerClient(name).createIfNotExists()),
    ...entities.storageQueues.map((name) => queues.getQueueClient(name).createIfNotExists()),
  ])
}

/** A message body as the host hands it to the Node worker: text when it is UTF-8, else bytes. */
function bodyData(body: Buffer): RpcTypedDataShape {
  const text = body.toString('utf8')
  return Buffer.byteLength(text) === body.length && !text.includes('\uFFFD') ? { string: text } : { bytes: new Uint8Array(body) }
}

/**
 * The local Service Bus with the entities, each delivery run by the function whose Service Bus trigger reads that
 * queue or subscription (a throw, or a failed run, is a failed delivery, delivered again). The returned
 * connection string is what `ServiceBusConnection` and `PolycloudServiceBus` take.
 */
export async function startBusDelivery(host: () => LocalHost, entities: LocalEntities, env: Readonly<Record<string, string | undefined>>, log: HostLog): Promise<Stoppable & { readonly connectionString: string; readonly endpoint: string; readonly bus: LocalServiceBus }> {
  const { startLocalServiceBus } = await import('./service-bus.js')
  const setting = (value: unknown) => String(value ?? '').replace(/%([^%]+)%/g, (_, name: string) => env[name] ?? '')
  const readerOf = (delivery: ServiceBusDelivery) =>
    host().functions.find((fn) => {
      const trigger = triggerOf(fn)
      if (trigger.type.toLowerCase() !== 'servicebustrigger') return false
      if (delivery.queue !== undefined) return setting(trigger.queueName) === delivery.queue
      return setting(trigger.topicName) === delivery.topic && setting(trigger.subscriptionName) === delivery.subscription
    })
  const bus = await startLocalServiceBus({
    queues: entities.busQueues,
    topics: entities.busTopics,
    maxDeliveryCounts: entities.maxDeliveryCounts,
    // A message from the command line (curl): locally there is no identity to check a token against.
    acceptBearer: true,
    log: (line) => log('warn', line),
    async deliver(delivery) {
      const fn = readerOf(delivery)
      if (fn === undefined) return
      const { message } = delivery
      const result = await host().invoke({
        functionName: fn.name,
        reason: `Trigger fired for ${delivery.entityPath}`,
        details: `Trigger Details: MessageId: ${message.messageId}, SequenceNumber: ${message.sequenceNumber}, DeliveryCount: ${message.deliveryCount}`,
        data: bodyData(message.body),
        metadata: serviceBusMetadata({
          messageId: message.messageId,
          deliveryCount: message.deliveryCount,
          enqueuedTimeUtc: message.enqueuedTimeUtc,
          applicationProperties: message.applicationProperties,
          sequenceNumber: message.sequenceNumber,
          contentType: message.contentType,
          subject: message.label,
          correlationId: message.correlationId,
          sessionId: message.sessionId,
        }),
      })
      if (!result.succeeded) throw new Error(`function ${fn.name} failed`)
    },
  })
  log('info', `Service Bus (local stand-in): ${bus.endpoint}, queues ${entities.busQueues.join(', ') || '-'}, topics ${entities.busTopics.map((topic) => topic.name).join(', ') || '-'}`)
  return { connectionString: bus.connectionString, endpoint: bus.endpoint, bus, stop: () => bus.stop() }
}

/** The local connections of Polycloud's clients, for the app's environment. */
export function resourceConnections(storage: string | undefined, serviceBus: string | undefined): Record<string, string> {
  return {
    ...(storage === undefined ? {} : { AzureWebJobsStorage: storage, [RESOURCE_CONNECTIONS.storage]: storage }),
    ...(serviceBus === undefined ? {} : { ServiceBusConnection: serviceBus, [RESOURCE_CONNECTIONS.serviceBus]: serviceBus }),
  }
}
