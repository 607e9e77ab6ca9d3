/**
 * What each event is on Azure: a neutral event of the model becomes one Azure Functions trigger (v4 programming
 * model), registered in the generated entry through @polycloud/azure's `register*` helpers, with the resources the
 * deploy creates for it. A field Azure cannot honour is refused here, at package time, with the function and the
 * field named.
 */
import { ConfigError } from '../../errors.js'
import type { BucketEvent, ChangesEvent, CronEvent, NeutralEvent, QueueEvent, RouteEvent, TopicEvent } from '../../model.js'
import type { EventPlan as Plan, Json, SourceRef } from '../../provider.js'
import { takesHead } from '../../route.js'
import { toNcrontab } from './schedule.js'

/** The app setting (or identity-based prefix) each kind of connection is read from unless the event names one. */
export const CONNECTIONS = {
  storage: 'AzureWebJobsStorage',
  serviceBus: 'ServiceBusConnection',
  cosmosDB: 'CosmosDBConnection',
} as const

/** Every method a route `ANY` stands for (`app.http` registers GET and POST when given none). */
export const ALL_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']

/** What the deploy creates for a trigger (nothing for HTTP and timers). */
export type AzureResource =
  | { readonly kind: 'storageQueue'; readonly name: string }
  | { readonly kind: 'container'; readonly name: string }
  | { readonly kind: 'serviceBusQueue'; readonly name: string; readonly maxDeliveryCount: number; readonly sessions: boolean }
  | { readonly kind: 'serviceBusTopic'; readonly topic: string; readonly subscription: string; readonly maxDeliveryCount: number }
  | {
      /** An Event Grid subscription on the storage account delivering blob events to the function. */
      readonly kind: 'blobEvents'
      readonly container: string
      readonly events: readonly string[]
      readonly prefix: string
      readonly suffix: string
      /** `blobTrigger`: through the blob extension's webhook; `eventGrid`: to the Event Grid trigger. */
      readonly destination: 'blobTrigger' | 'eventGrid'
    }

/** A blob event filter applied in the entry, for triggers that receive more than the event asked for. */
export interface BlobFilter {
  readonly container: string
  readonly prefix: string
  readonly suffix: string
  /** Event Grid event types: `Microsoft.Storage.BlobCreated`, `Microsoft.Storage.BlobDeleted`. */
  readonly events: readonly string[]
}

/** One Azure function: its trigger, the options of the `register*` helper, what the deploy creates. */
export interface AzureTrigger {
  readonly type: 'http' | 'timer' | 'storageQueue' | 'serviceBusQueue' | 'serviceBusTopic' | 'storageBlob' | 'eventGrid' | 'cosmosDB'
  /** The helper's options (JSON): `route`/`methods`, `schedule`, `queueName`/`connection`, ... */
  readonly options: Json
  readonly resources: readonly AzureResource[]
  /** App-wide host.json settings this trigger asks for (`queues.batchSize`, ...), checked for agreement. */
  readonly host?: Readonly<Record<string, number>>
  /** Timers written with `enabled: false`: the deploy sets `AzureWebJobs.<function>.Disabled`. */
  readonly disabled?: boolean
  readonly filter?: BlobFilter
}

export type EventPlan = Plan<AzureTrigger>

export interface AzureSettings {
  readonly service: string
  readonly stage: string
  /** The function's timeout in seconds when serverless.yml sets one (on the function or the provider). */
  readonly timeout?: number | undefined
  /** The path shapes the service routes `HEAD` on itself (`declaredHeads`): other GET routes take HEAD too. */
  readonly heads?: ReadonlySet<string>
}

const src = (name: string, module: string): SourceRef => ({ name, module })
const HTTP = src('azureHttp', 'http')
const TIMER = src('azureTimer', 'timer')
const STORAGE_QUEUE = src('storageQueue', 'storage-queue')
const SERVICE_BUS = src('serviceBus', 'service-bus')
const SERVICE_BUS_TOPIC = src('serviceBusTopic', 'service-bus-topic')
const BLOB = src('blob', 'blob')
const EVENT_GRID_BLOB = src('eventGridBlob', 'event-grid-blob')
const COSMOS_DB = src('cosmosDb', 'cosmos-db')

/** A Storage queue or container name: 3-63 lower-case letters, digits and single hyphens, starting and ending alphanumeric. */
const STORAGE_NAME = /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/

/** The Storage queue name of a neutral queue: `<service>-<stage>-<name>`, lower case, `.` and `_` as `-`. */
export function storageQueueName(name: string, settings: AzureSettings): string {
  const queue = `${settings.service}-${settings.stage}-${name}`.toLowerCase().replace(/[._]/g, '-')
  if (!STORAGE_NAME.test(queue)) {
    throw new ConfigError('', `the Storage queue name ${JSON.stringify(queue)} is not valid on Azure (3-63 lower-case letters, digits and single hyphens)`)
  }
  return queue
}

/** The names users give Service Bus entities: letters, digits, `.`, `-`, `_`, starting and ending alphanumeric. */
const SERVICE_BUS_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,258}[A-Za-z0-9])?$/

function checkField(value: unknown, field: string, why: string): void {
  if (value !== undefined) throw new ConfigError('', `${field} cannot be honoured on Azure: ${why}`)
}

/** What a neutral event of function `fn` is on Azure; errors have an empty path, which the caller fills in. */
export function neutralPlan(event: NeutralEvent, fn: string, settings: AzureSettings): EventPlan {
  switch (event.kind) {
    case 'route':
      return route(event, settings)
    case 'cron':
      return cron(event)
    case 'queue':
      return fromQueue(event, settings)
    case 'topic':
      return topic(event, fn)
    case 'bucket':
      return bucket(event)
    case 'changes':
      return changes(event)
  }
}

/** The Functions route template of a neutral path: no leading slash, a greedy `{path+}` as the catch-all `{*path}`. */
export function routeTemplate(path: string): string {
  return path.replace(/^\//, '').replace(/\{([A-Za-z_][A-Za-z0-9_]*)\+\}/, '{*$1}')
}

/** HTTP responses end after 230 s on every Azure plan (the front end's idle timeout), whatever functionTimeout says. */
export const HTTP_TIMEOUT_LIMIT = 230

function route(event: RouteEvent, settings: AzureSettings): EventPlan {
  if (settings.timeout !== undefined && settings.timeout > HTTP_TIMEOUT_LIMIT) {
    throw new ConfigError('', `timeout ${settings.timeout} s cannot be honoured for an HTTP function on Azure: responses end after ${HTTP_TIMEOUT_LIMIT} s`)
  }
  const authLevel = (event.options.authLevel as string | undefined) ?? 'anonymous'
  // The host routes HEAD to a trigger only when its methods list HEAD: a GET route takes it too (HEAD is GET without
  // a body; the host sends the status and headers only).
  const methods = event.method === 'ANY' ? ALL_METHODS : takesHead(event, settings.heads ?? new Set()) ? [event.method, 'HEAD'] : [event.method]
  return { native: { type: 'http', options: { route: routeTemplate(event.path), methods, authLevel }, resources: [] }, sources: [HTTP], kinds: ['http'] }
}

function cron(event: CronEvent): EventPlan {
  const disabled = !event.enabled
  const native: AzureTrigger = { type: 'timer', options: { schedule: toNcrontab(event.schedule), useMonitor: true }, resources: [], ...(disabled ? { disabled } : {}) }
  return { native, sources: [TIMER], kinds: ['schedule'] }
}

/** Storage queues: at most 32 messages fetched per poll (host.json `queues.batchSize`). */
const STORAGE_BATCH_LIMIT = 32

/**
 * A queue consumer. Storage queue by default: one invocation per message, retried (`queues.maxDequeueCount`,
 * default 5) and then moved to `<queue>-poison`; `batchSize` is how many messages run at once. With `serviceBus:
 * true`, a Service Bus queue (`maxReceiveCount` -> its MaxDeliveryCount, then its dead-letter queue; `fifo` ->
 * sessions, ordered per session id).
 */
function fromQueue(event: QueueEvent, settings: AzureSettings): EventPlan {
  const own = event.options as { serviceBus?: boolean; connection?: string }
  const written = event.name as string
  checkField(event.maximumBatchingWindow, 'maximumBatchingWindow', 'queue triggers run each message as it arrives and have no batching window')
  if (own.serviceBus) {
    const name = storageQueueName(written, settings)
    const sessions = event.fifo
    const options: Json = { queueName: name.replace(/-fifo$/, ''), connection: own.connection ?? CONNECTIONS.serviceBus, ...(sessions ? { isSessionsEnabled: true } : {}) }
    return {
      native: {
        type: 'serviceBusQueue',
        options,
        resources: [{ kind: 'serviceBusQueue', name: options.queueName as string, maxDeliveryCount: event.maxReceiveCount ?? 10, sessions }],
        ...(event.batchSize === undefined ? {} : { host: { 'serviceBus.maxConcurrentCalls': event.batchSize } }),
      },
      sources: [SERVICE_BUS],
      kinds: ['queue'],
    }
  }
  if (event.fifo) {
    throw new ConfigError('', 'fifo cannot be honoured by a Storage queue (no ordering): set serviceBus: true to use a Service Bus queue with sessions')
  }
  if (event.batchSize !== undefined && event.batchSize > STORAGE_BATCH_LIMIT) {
    throw new ConfigError('', `batchSize ${event.batchSize} cannot be honoured by a Storage queue trigger (at most ${STORAGE_BATCH_LIMIT} messages at once)`)
  }
  const queueName = storageQueueName(written, settings)
  const host: Record<string, number> = {}
  if (event.batchSize !== undefined) host['queues.batchSize'] = event.batchSize
  if (event.maxReceiveCount !== undefined) host['queues.maxDequeueCount'] = event.maxReceiveCount
  return {
    native: {
      type: 'storageQueue',
      options: { queueName, connection: own.connection ?? CONNECTIONS.storage },
      resources: [{ kind: 'storageQueue', name: queueName }],
      ...(Object.keys(host).length > 0 ? { host } : {}),
    },
    sources: [STORAGE_QUEUE],
    kinds: ['queue'],
  }
}

/** A Service Bus topic, with a subscription of its own for the function (named after it unless given). */
function topic(event: TopicEvent, fn: string): EventPlan {
  const config = { name: event.name as string, ...(event.options as { connection?: string; subscription?: string; maxReceiveCount?: number }) }
  if (!SERVICE_BUS_NAME.test(config.name)) throw new ConfigError('', `topic name ${JSON.stringify(config.name)} is not a valid Service Bus topic name`)
  const subscription = config.subscription ?? fn
  if (!/^[A-Za-z0-9]([A-Za-z0-9._-]{0,48}[A-Za-z0-9])?$/.test(subscription)) {
    throw new ConfigError('', `subscription name ${JSON.stringify(subscription)} is not valid on Service Bus (1-50 letters, digits, ".", "-", "_"): set subscription`)
  }
  return {
    native: {
      type: 'serviceBusTopic',
      options: { topicName: config.name, subscriptionName: subscription, connection: config.connection ?? CONNECTIONS.serviceBus },
      resources: [{ kind: 'serviceBusTopic', topic: config.name, subscription, maxDeliveryCount: config.maxReceiveCount ?? 10 }],
    },
    sources: [SERVICE_BUS_TOPIC],
    kinds: ['topic'],
  }
}

const BLOB_EVENTS = { created: ['Microsoft.Storage.BlobCreated'], deleted: ['Microsoft.Storage.BlobDeleted'], all: ['Microsoft.Storage.BlobCreated', 'Microsoft.Storage.BlobDeleted'] }

/**
 * A container's blob events. Created blobs: a blob trigger on `<container>/<prefix>{name}<suffix>` with the Event
 * Grid source (what Flex Consumption supports). Deletions (`on: deleted|all`): an Event Grid trigger, whose
 * subscription filters on the prefix and suffix, and the entry filters again (a manual or local delivery can carry
 * any blob).
 */
function bucket(event: BucketEvent): EventPlan {
  const config = { name: event.name, existing: event.existing, connection: event.options.connection as string | undefined }
  if (!STORAGE_NAME.test(config.name)) {
    throw new ConfigError('', `bucket name ${JSON.stringify(config.name)} is not a valid Azure container name (3-63 lower-case letters, digits and single hyphens; no dots)`)
  }
  const { prefix, suffix, on } = event
  if (/[{}]/.test(prefix + suffix)) throw new ConfigError('', 'prefix and suffix cannot contain "{" or "}" on Azure (blob path patterns)')
  const events = BLOB_EVENTS[on]
  const container = config.existing ? [] : [{ kind: 'container' as const, name: config.name }]
  if (on === 'created') {
    return {
      native: {
        type: 'storageBlob',
        options: { path: `${config.name}/${prefix}{name}${suffix}`, connection: config.connection ?? CONNECTIONS.storage, source: 'EventGrid' },
        resources: [...container, { kind: 'blobEvents', container: config.name, events, prefix, suffix, destination: 'blobTrigger' }],
      },
      sources: [BLOB],
      kinds: ['storage'],
    }
  }
  if (config.connection !== undefined) {
    throw new ConfigError('', 'connection cannot be honoured with on: deleted|all (the Event Grid trigger has no storage connection; events come from the service storage account)')
  }
  return {
    native: {
      type: 'eventGrid',
      options: {},
      resources: [...container, { kind: 'blobEvents', container: config.name, events, prefix, suffix, destination: 'eventGrid' }],
      filter: { container: config.name, prefix, suffix, events },
    },
    sources: [EVENT_GRID_BLOB],
    kinds: ['storage'],
  }
}

/**
 * A Cosmos DB change feed: `table` is `<database>/<container>` (or `database` is given), with a lease container
 * (`leases`, created if missing). Failed batches are retried (exponential backoff, 5 times) before the lease moves
 * on: the host does not retry change feed batches by itself.
 */
function changes(event: ChangesEvent): EventPlan {
  const own = event.options as { database?: string; connection?: string; leases?: string; partitionKey?: string }
  const config = { ...own, table: event.table as string, batchSize: event.batchSize, startingPosition: event.startingPosition }
  const parts = config.table.split('/')
  const [databaseName, containerName] = parts.length === 2 ? parts : [config.database, config.table]
  if (databaseName === undefined || databaseName === '' || containerName === undefined || containerName === '' || parts.length > 2) {
    throw new ConfigError('', `table ${JSON.stringify(config.table)} does not name a Cosmos DB container: write "<database>/<container>" or set database`)
  }
  const options: Json = {
    connection: config.connection ?? CONNECTIONS.cosmosDB,
    databaseName,
    containerName,
    leaseContainerName: config.leases ?? 'leases',
    createLeaseContainerIfNotExists: true,
    startFromBeginning: config.startingPosition === 'TRIM_HORIZON',
    retry: { strategy: 'exponentialBackoff', maxRetryCount: 5, minimumInterval: { seconds: 4 }, maximumInterval: { minutes: 5 } },
    ...(config.batchSize === undefined ? {} : { maxItemsPerInvocation: config.batchSize }),
    ...(config.partitionKey === undefined ? {} : { partitionKey: config.partitionKey }),
  }
  return { native: { type: 'cosmosDB', options, resources: [] }, sources: [COSMOS_DB], kinds: ['changes'] }
}

/** The properties Azure adds to the neutral events (merged into their schemas). */
export const EVENT_OPTIONS = {
  route: { properties: { authLevel: { enum: ['anonymous', 'function', 'admin'] } } },
  fromQueue: { properties: { serviceBus: { type: 'boolean' }, connection: { type: 'string', minLength: 1 } } },
  topic: {
    properties: {
      connection: { type: 'string', minLength: 1 },
      subscription: { type: 'string', minLength: 1 },
      maxReceiveCount: { type: 'integer', minimum: 1, maximum: 2000 },
    },
  },
  bucket: { properties: { connection: { type: 'string', minLength: 1 } } },
  changes: {
    properties: {
      database: { type: 'string', minLength: 1 },
      connection: { type: 'string', minLength: 1 },
      leases: { type: 'string', minLength: 1 },
      partitionKey: { type: 'string', pattern: '^/' },
    },
  },
} as const

/** The name of the Azure function serving event `index` of function `name`: the function's own for the first. */
export function azureFunctionName(name: string, index: number): string {
  return index === 0 ? name : `${name}-${index}`
}

const FUNCTION_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,127}$/

/** Checks a function's name is one Azure accepts. */
export function checkFunctionName(name: string): void {
  if (!FUNCTION_NAME.test(name)) {
    throw new ConfigError(`functions.${name}`, 'is not a valid Azure function name (a letter, then up to 127 letters, digits, "-" or "_")')
  }
}
