// The library is a CommonJS bundle whose named exports Node cannot detect from ESM: import its default export.
import azureFunctions from '@azure/functions'
import type {
  CosmosDBFunctionOptions,
  EventGridFunctionOptions,
  FunctionHandler,
  HttpFunctionOptions,
  ServiceBusQueueFunctionOptions,
  ServiceBusTopicFunctionOptions,
  SetupOptions,
  StorageBlobFunctionOptions,
  StorageQueueFunctionOptions,
  TimerFunctionOptions,
} from '@azure/functions'
import type {
  ChangesHandler,
  CloudEventHandler,
  HttpHandler,
  QueueHandler,
  ScheduleHandler,
  StorageHandler,
  TopicHandler,
} from '@polycloud/core'
import { declareSchedules, type DeclaredSchedule } from '@polycloud/core/schedule'
import { blob } from './blob.js'
import { cosmosDbSource, type CosmosDbSourceOptions } from './cosmos-db.js'
import { eventGrid } from './event-grid.js'
import { eventGridBlob } from './event-grid-blob.js'
import { createAzureHandler, setHttpStreaming, type AzureHandlerOptions } from './handler.js'
import { azureHttp } from './http.js'
import { serviceBus, serviceBusTopic } from './service-bus.js'
import { storageQueue } from './storage-queue.js'
import { azureTimer } from './timer.js'

const { app } = azureFunctions

/** Options without the parts the helper provides (the handler, the trigger) or refuses. */
type Options<T, Refused extends string = never> = T extends unknown ? Omit<T, 'handler' | 'trigger' | Refused> : never

export type HttpOptions = Options<HttpFunctionOptions> & Pick<AzureHandlerOptions, 'stream'>
export type TimerOptions = Options<TimerFunctionOptions>
export type StorageQueueOptions = Options<StorageQueueFunctionOptions>
/** Cardinality is always `one`, so each message fails on its own; SDK-typed bindings are not supported. */
export type ServiceBusQueueOptions = Options<ServiceBusQueueFunctionOptions, 'cardinality' | 'sdkBinding'>
export type ServiceBusTopicOptions = Options<ServiceBusTopicFunctionOptions, 'cardinality' | 'sdkBinding'>
export type StorageBlobOptions = Options<StorageBlobFunctionOptions, 'sdkBinding'>
export type EventGridOptions = Options<EventGridFunctionOptions>
export type CosmosDBOptions = Options<CosmosDBFunctionOptions> & CosmosDbSourceOptions

/**
 * `app.setup` that also tells Polycloud whether HTTP streaming is on, so streamed response bodies are passed to
 * the host as streams (and buffered otherwise). Call it at startup, before registering functions.
 */
export function setup(options: SetupOptions): void {
  app.setup(options)
  if (options.enableHttpStream !== undefined) setHttpStreaming(options.enableHttpStream)
}

/** The wrapped handler; a handler of the wrong kind is refused here, naming the function. */
function wrap(name: string, handler: Parameters<typeof createAzureHandler>[0], sources: Parameters<typeof createAzureHandler>[1], stream?: boolean): FunctionHandler {
  const options: AzureHandlerOptions = { label: `the handler of function ${JSON.stringify(name)}`, ...(stream === undefined ? {} : { stream }) }
  return createAzureHandler(handler, sources, options) as FunctionHandler
}

function refuse(options: object, name: string, allowed: unknown, why: string): void {
  const value = (options as Record<string, unknown>)[name]
  if (value !== undefined && value !== allowed) throw new TypeError(`azure: ${name} ${JSON.stringify(value)} is not supported: ${why}`)
}

/** An HTTP function (`route`, `methods`, `authLevel`; defaults: anonymous, GET and POST). */
export function registerHttp(name: string, handler: HttpHandler, options: HttpOptions = {}): void {
  const { stream, ...rest } = options
  app.http(name, { ...rest, handler: wrap(name, handler, [azureHttp], stream) })
}

/**
 * A timer function; `schedule` is a six-field NCRONTAB expression (checked here), a TimeSpan or `%AppSetting%`.
 * `declared`: the schedule as serverless.yml declares it, which the events then report (`schedule`, `name`) instead
 * of the NCRONTAB expression and the Azure function's name.
 */
export function registerTimer(name: string, handler: ScheduleHandler, options: TimerOptions, declared?: DeclaredSchedule): void {
  const source = declared === undefined ? azureTimer : declareSchedules(azureTimer, [declared])
  app.timer(name, { ...options, schedule: checkSchedule(options.schedule), handler: wrap(name, handler, [source]) })
}

/** A Storage queue function (`queueName`, `connection`). */
export function registerStorageQueue(name: string, handler: QueueHandler, options: StorageQueueOptions): void {
  app.storageQueue(name, { ...options, handler: wrap(name, handler, [storageQueue]) })
}

const ONE = "each message must fail on its own; Polycloud registers Service Bus triggers with cardinality 'one'"
const SDK = 'the handler would receive SDK message objects, which Polycloud does not translate'

/** A Service Bus queue function (`queueName`, `connection`, `isSessionsEnabled`, ...), one message per invocation. */
export function registerServiceBusQueue(name: string, handler: QueueHandler, options: ServiceBusQueueOptions): void {
  refuse(options, 'cardinality', 'one', ONE)
  refuse(options, 'sdkBinding', false, SDK)
  app.serviceBusQueue(name, { ...options, cardinality: 'one', handler: wrap(name, handler, [serviceBus]) })
}

/**
 * A Service Bus topic subscription function (`topicName`, `subscriptionName`, `connection`), one message per
 * invocation: a topic handler gets topic messages, a queue handler queue messages (the subscription is a queue).
 */
export function registerServiceBusTopic(name: string, handler: TopicHandler | QueueHandler, options: ServiceBusTopicOptions): void {
  refuse(options, 'cardinality', 'one', ONE)
  refuse(options, 'sdkBinding', false, SDK)
  app.serviceBusTopic(name, { ...options, cardinality: 'one', handler: wrap(name, handler, [serviceBus, serviceBusTopic]) })
}

/** A blob trigger function (`path` such as `uploads/{name}`, `connection`, `source`). */
export function registerStorageBlob(name: string, handler: StorageHandler, options: StorageBlobOptions): void {
  refuse(options, 'sdkBinding', false, SDK)
  app.storageBlob(name, { ...options, handler: wrap(name, handler, [blob]) })
}

/** An Event Grid function: a storage handler gets Blob Storage events, a CloudEvent handler any event. */
export function registerEventGrid(name: string, handler: StorageHandler | CloudEventHandler, options: EventGridOptions = {}): void {
  app.eventGrid(name, { ...options, handler: wrap(name, handler, [eventGridBlob, eventGrid]) })
}

/**
 * A Cosmos DB change feed function (`connection`, `databaseName`, `containerName`, lease options, `retry`), plus
 * `partitionKey` for the change's `keys`. The host does not retry a failed batch unless `retry` is set.
 */
export function registerCosmosDB(name: string, handler: ChangesHandler, options: CosmosDBOptions): void {
  const { partitionKey, ...rest } = options
  refuse(rest, 'changeFeedMode', 'LatestVersion', "Polycloud reads the latest-version change feed ('LatestVersion')")
  const source = cosmosDbSource(partitionKey === undefined ? {} : { partitionKey })
  app.cosmosDB(name, { ...rest, handler: wrap(name, handler, [source]) } as CosmosDBFunctionOptions)
}

const TIME_SPAN = /^(\d+\.)?\d{1,2}:\d{2}(:\d{2})?$/
const FIELD = /^[0-9A-Za-z*,/-]+$/
const NAMES = ['second', 'minute', 'hour', 'day', 'month', 'day-of-week']

/**
 * Checks a timer schedule: six NCRONTAB fields `{second} {minute} {hour} {day} {month} {day-of-week}`, a TimeSpan
 * (App Service plans) or an `%AppSetting%`. A five-field cron expression is refused with the six-field form to use.
 */
export function checkSchedule(schedule: string): string {
  const trimmed = schedule.trim()
  if (/^%[^%]+%$/.test(trimmed) || TIME_SPAN.test(trimmed)) return trimmed
  const fields = trimmed.split(/\s+/)
  if (fields.length === 5) {
    throw new RangeError(
      `azure: timer schedule ${JSON.stringify(schedule)} has 5 fields; NCRONTAB has 6 ({second} {minute} {hour} {day} {month} {day-of-week}): did you mean "0 ${fields.join(' ')}"?`,
    )
  }
  if (fields.length !== 6) {
    throw new RangeError(`azure: timer schedule ${JSON.stringify(schedule)} has ${fields.length} fields; NCRONTAB has 6 (${NAMES.join(' ')})`)
  }
  fields.forEach((field, i) => {
    if (!FIELD.test(field)) {
      throw new RangeError(`azure: timer schedule ${JSON.stringify(schedule)}: invalid ${NAMES[i]} field ${JSON.stringify(field)}`)
    }
  })
  for (const part of (fields[5] as string).split(',')) {
    const range = part.split('/')[0] as string
    if (range.split('-').some((day) => /^\d+$/.test(day) && Number(day) > 6)) {
      throw new RangeError(`azure: timer schedule ${JSON.stringify(schedule)}: day-of-week runs from 0 (Sunday) to 6; got ${JSON.stringify(fields[5])}`)
    }
  }
  return trimmed
}
