/**
 * The Azure driver of @polycloud/resources: Blob Storage containers, Storage queues, Service Bus queues and topics,
 * without the Azure SDKs. The entry of a function that declares resources wires it:
 * `withResources(handler, azureResources(), ['uploads'])`. Nothing is loaded until a resource is first used.
 *
 * Addressing (`POLYCLOUD_RESOURCES`): `{ kind: 'bucket', name: <container>, connection }`,
 * `{ kind: 'queue', service: 'storage' | 'serviceBus', name, connection }`, `{ kind: 'topic', service: 'serviceBus',
 * name, connection }`, `{ kind: 'store', table, connection }` (a table of Table Storage), where `connection` names the app setting the triggers read too (`AzureWebJobsStorage`,
 * `ServiceBusConnection`): a connection string (azurite's, a deployed account's, a Service Bus namespace's), or
 * identity-based settings (`<connection>__blobServiceUri`, `__queueServiceUri`, `__tableServiceUri`, `__fullyQualifiedNamespace`,
 * `__clientId`) with the function app's managed identity (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`).
 */
import type { BucketBackend, MessageBackend, MessageLimits, ObjectLimits, OpenContext, ResourceAddress, ResourceDriver, StoreBackend } from '@polycloud/resources/driver'
import { DriverError, field } from '@polycloud/resources/driver'

/** The limits checked before each call (and named in the errors), with where they come from. */
export const AZURE_LIMITS: { readonly blob: ObjectLimits; readonly storageQueue: MessageLimits; readonly serviceBus: MessageLimits } = {
  blob: {
    service: 'Blob Storage',
    maxObjectBytes: 5000 * 1024 * 1024,
    maxMetadataBytes: 8192,
    source: 'https://learn.microsoft.com/rest/api/storageservices/put-blob (5000 MiB in one Put Blob), https://learn.microsoft.com/rest/api/storageservices/setting-and-retrieving-properties-and-metadata-for-blob-resources (8 KiB of metadata)',
  },
  storageQueue: {
    service: 'Storage queues',
    maxMessageBytes: 64 * 1024,
    maxBatchMessages: 100,
    maxBatchBytes: 100 * 64 * 1024,
    maxDelaySeconds: 7 * 24 * 3600,
    sizeRule: 'the base64 message text, with Polycloud\'s envelope when the message has attributes or a body the Functions host would change',
    source: 'https://learn.microsoft.com/rest/api/storageservices/put-message (64 KiB per message, a visibility timeout of at most 7 days); no batch operation: at most 100 messages per sendBatch is Polycloud\'s own bound',
  },
  serviceBus: {
    service: 'Service Bus',
    maxMessageBytes: 256 * 1024,
    maxBatchMessages: 100,
    maxBatchBytes: 256 * 1024,
    maxDelaySeconds: 2 ** 31 - 1,
    sizeRule: 'the body, the application properties and the broker properties, in UTF-8 bytes (Standard tier)',
    source: 'https://learn.microsoft.com/azure/service-bus-messaging/service-bus-quotas (256 KB per message or batch on Standard); at most 100 messages per sendBatch is Polycloud\'s own bound',
  },
}

export function azureResources(): ResourceDriver {
  return {
    provider: 'azure',
    async bucket(name: string, address: ResourceAddress, { env }: OpenContext): Promise<BucketBackend> {
      const container = field(address, 'name', name, 'the container name')
      const connection = field(address, 'connection', name, 'the app setting of the storage connection')
      const [{ openBlob }, { storageConnection }] = await Promise.all([import('./resources/blob.js'), import('./resources/connection.js')])
      return openBlob({ container, connection: storageConnection(env, connection, 'blob'), env, limits: AZURE_LIMITS.blob })
    },
    async queue(name: string, address: ResourceAddress, { env }: OpenContext): Promise<MessageBackend> {
      const entity = field(address, 'name', name, 'the queue name')
      const connection = field(address, 'connection', name, 'the app setting of the connection')
      const service = (address as { service?: unknown }).service ?? 'storage'
      const { storageConnection, busConnection } = await import('./resources/connection.js')
      if (service === 'storage') {
        const { openStorageQueue } = await import('./resources/storage-queue.js')
        return openStorageQueue({ queue: entity, connection: storageConnection(env, connection, 'queue'), env, limits: AZURE_LIMITS.storageQueue })
      }
      if (service !== 'serviceBus') throw new DriverError('Invalid', `POLYCLOUD_RESOURCES.${name}.service must be "storage" or "serviceBus"`)
      const { openServiceBus } = await import('./resources/service-bus.js')
      return openServiceBus({ entity, connection: busConnection(env, connection), env, limits: AZURE_LIMITS.serviceBus })
    },
    async topic(name: string, address: ResourceAddress, { env }: OpenContext): Promise<MessageBackend> {
      const entity = field(address, 'name', name, 'the topic name')
      const connection = field(address, 'connection', name, 'the app setting of the Service Bus connection')
      const [{ openServiceBus }, { busConnection }] = await Promise.all([import('./resources/service-bus.js'), import('./resources/connection.js')])
      return openServiceBus({ entity, connection: busConnection(env, connection), env, limits: { ...AZURE_LIMITS.serviceBus, maxBatchMessages: 1 } })
    },
    async store(name: string, address: ResourceAddress, { env }: OpenContext): Promise<StoreBackend> {
      const table = field(address, 'table', name, 'the table name')
      if (!/^[A-Za-z][A-Za-z0-9]{2,62}$/.test(table)) throw new DriverError('Invalid', `POLYCLOUD_RESOURCES.${name}.table ${JSON.stringify(table)} is not a Table Storage table name (3-63 letters and digits, starting with a letter)`)
      const connection = field(address, 'connection', name, 'the app setting of the storage connection')
      const [{ openTable }, { storageConnection }] = await Promise.all([import('./resources/table.js'), import('./resources/connection.js')])
      return openTable({ table, connection: storageConnection(env, connection, 'table'), env })
    },
  }
}
