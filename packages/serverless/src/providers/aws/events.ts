/**
 * The AWS mapping: neutral events to osls's native events (and the resources they need), and every event of a
 * function to the @polycloud/aws formats its generated entry reads.
 */
import { ConfigError, locate } from '../../errors.js'
import type { EventPlan as Plan, Kind, SourceRef } from '../../provider.js'
import { parseRoute } from '../../route.js'
import { parseSchedule, toAwsSchedule } from '../../schedule.js'
import type { BucketEventConfig, ChangesEventConfig, QueueEventConfig } from '../../schema.js'

type Json = Record<string, unknown>

/** What an event is on AWS: the osls events it becomes, the @polycloud/aws formats, the handler kinds. */
export type EventPlan = Plan<Json[]>

export interface AwsSettings {
  readonly service: string
  readonly stage: string
  /** Default API for `route` events. */
  readonly routes: 'http-api' | 'rest-api'
  /** The function's timeout in seconds (osls default 6). */
  readonly timeout: number
  /** `resources.Resources` of the service; new resources are added to it. */
  readonly resources: Json
  /** The HTTP API JWT authorizer the function's routes use, when API Gateway verifies their tokens. */
  readonly authorizer?: { readonly name: string; readonly scopes: readonly string[] } | undefined
}

const src = (name: string, module: string): SourceRef => ({ name, module })
const V2 = src('apiGatewayV2', 'api-gateway-v2')
const V1 = src('apiGatewayV1', 'api-gateway-v1')
const ALB = src('alb', 'alb')
const FUNCTION_URL = src('functionUrl', 'function-url')
const SCHEDULE = src('eventBridgeSchedule', 'eventbridge')
const EVENTBRIDGE = src('eventBridge', 'eventbridge')
const S3_EVENTBRIDGE = src('s3EventBridge', 's3-eventbridge')
const SQS = src('sqs', 'sqs')
const SQS_SNS = src('sqsSns', 'sqs-sns')
const SQS_S3 = src('sqsS3', 'sqs-s3')
const SNS = src('sns', 'sns')
const S3 = src('s3', 's3')
const DYNAMODB = src('dynamodbStreams', 'dynamodb-streams')
const DYNAMODB_KINESIS = src('dynamodbKinesis', 'dynamodb-kinesis')

/** Native AWS events a portable handler can serve, with the formats their payloads come in. */
const NATIVE: Record<string, { sources: SourceRef[]; kinds: Kind[] }> = {
  httpApi: { sources: [V2], kinds: ['http'] },
  http: { sources: [V1], kinds: ['http'] },
  alb: { sources: [ALB], kinds: ['http'] },
  schedule: { sources: [SCHEDULE], kinds: ['schedule'] },
  eventBridge: { sources: [SCHEDULE, S3_EVENTBRIDGE, EVENTBRIDGE], kinds: ['schedule', 'storage', 'cloudEvent'] },
  cloudwatchEvent: { sources: [SCHEDULE, S3_EVENTBRIDGE, EVENTBRIDGE], kinds: ['schedule', 'storage', 'cloudEvent'] },
  sqs: { sources: [SQS, SQS_SNS, SQS_S3], kinds: ['queue', 'topic', 'storage'] },
  sns: { sources: [SNS], kinds: ['topic'] },
  s3: { sources: [S3], kinds: ['storage'] },
}

/** The formats and kinds of a native AWS event, or undefined when Polycloud cannot serve it. */
export function nativePlan(key: string, event: unknown): EventPlan | undefined {
  if (key === 'stream') {
    const config = typeof event === 'string' ? event : ((event as Json).arn ?? '')
    const type = typeof event === 'object' && event !== null ? (event as Json).type : undefined
    const kinesis = type === 'kinesis' || (typeof config === 'string' && config.includes(':kinesis:'))
    return { native: [{ stream: event }], sources: [kinesis ? DYNAMODB_KINESIS : DYNAMODB], kinds: ['changes'] }
  }
  const known = NATIVE[key]
  return known && { native: [{ [key]: event }], sources: known.sources, kinds: known.kinds }
}

/** A function URL (`url: true` on the function) is served in payload 2.0 on its own domain. */
export const FUNCTION_URL_PLAN: EventPlan = { native: [], sources: [FUNCTION_URL], kinds: ['http'] }

/** CloudFormation-safe name: `orders-v2` -> `OrdersV2`. */
export function logicalName(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('')
}

/** Translates one neutral event; `path` locates it for error messages. */
export function neutralPlan(key: string, value: unknown, path: string, settings: AwsSettings): EventPlan {
  try {
    switch (key) {
      case 'route':
        return route(value as string | { method: string; path: string; api?: 'http-api' | 'rest-api' }, settings)
      case 'cron':
        return cron(value as string | { schedule: string; enabled?: boolean })
      case 'fromQueue':
        return fromQueue(value as string | QueueConfig, settings)
      case 'topic':
        return topic(value as string | { name?: string; arn?: unknown; filterPolicy?: Json })
      case 'bucket':
        return bucket(value as string | BucketConfig)
      case 'changes':
        return changes(value as string | ChangesConfig, settings)
      default:
        throw new ConfigError(path, `unknown neutral event ${JSON.stringify(key)}`)
    }
  } catch (error) {
    throw locate(path, error)
  }
}

function route(value: string | { method: string; path: string; api?: 'http-api' | 'rest-api' }, settings: AwsSettings): EventPlan {
  const parsed = parseRoute(value)
  const api = (typeof value === 'object' ? value.api : undefined) ?? settings.routes
  if (api === 'rest-api') {
    // osls writes REST paths without the leading slash; `ANY` is `any`.
    return {
      native: [{ http: { method: parsed.method === 'ANY' ? 'any' : parsed.method.toLowerCase(), path: parsed.path } }],
      sources: [V1],
      kinds: ['http'],
    }
  }
  const httpApi: Json = { method: parsed.method === 'ANY' ? '*' : parsed.method, path: parsed.path }
  // A CORS preflight carries no token: its OPTIONS route stays open (the entry answers it without the handler).
  if (settings.authorizer && parsed.method !== 'OPTIONS') {
    httpApi.authorizer = settings.authorizer.scopes.length > 0 ? { name: settings.authorizer.name, scopes: [...settings.authorizer.scopes] } : { name: settings.authorizer.name }
  }
  return { native: [{ httpApi }], sources: [V2], kinds: ['http'] }
}

function cron(value: string | { schedule: string; enabled?: boolean }): EventPlan {
  const expression = typeof value === 'string' ? value : value.schedule
  const schedule = { rate: [toAwsSchedule(parseSchedule(expression))], enabled: typeof value === 'string' ? true : value.enabled !== false }
  return { native: [{ schedule }], sources: [SCHEDULE], kinds: ['schedule'] }
}

interface QueueConfig extends QueueEventConfig {
  arn?: unknown
}

/**
 * A queue consumer. Without an ARN the queue is created in the stack with a dead-letter queue (after
 * `maxReceiveCount` receives, default 5) and a visibility timeout of six times the function's timeout, as AWS
 * advises for Lambda consumers. Partial batch failures are always on.
 */
function fromQueue(value: string | QueueConfig, settings: AwsSettings): EventPlan {
  const config: QueueConfig = typeof value === 'string' ? { name: value } : value
  let arn = config.arn
  if (arn === undefined) {
    const name = config.name as string
    const fifo = config.fifo === true || name.endsWith('.fifo')
    const base = name.replace(/\.fifo$/, '')
    const id = `PolycloudQueue${logicalName(base)}`
    const queueName = `${settings.service}-${settings.stage}-${base}`
    const suffix = fifo ? '.fifo' : ''
    const dlq = { Type: 'AWS::SQS::Queue', Properties: { QueueName: `${queueName}-dlq${suffix}`, MessageRetentionPeriod: 1209600, ...(fifo ? { FifoQueue: true } : {}) } }
    const queue = {
      Type: 'AWS::SQS::Queue',
      Properties: {
        QueueName: `${queueName}${suffix}`,
        VisibilityTimeout: Math.min(43200, Math.max(30, settings.timeout * 6)),
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [`${id}Dlq`, 'Arn'] }, maxReceiveCount: config.maxReceiveCount ?? 5 },
        ...(fifo ? { FifoQueue: true } : {}),
      },
    }
    addResource(settings, id, queue)
    addResource(settings, `${id}Dlq`, dlq)
    arn = { 'Fn::GetAtt': [id, 'Arn'] }
  }
  const sqs: Json = { arn, batchSize: config.batchSize ?? 10, functionResponseType: 'ReportBatchItemFailures' }
  if (config.maximumBatchingWindow !== undefined) sqs.maximumBatchingWindow = config.maximumBatchingWindow
  return { native: [{ sqs }], sources: [SQS], kinds: ['queue'] }
}

/** Adds a resource; the same resource twice (two consumers of one queue) is fine, a different one is not. */
function addResource(settings: AwsSettings, id: string, resource: Json): void {
  const existing = settings.resources[id]
  if (existing !== undefined && JSON.stringify(existing) !== JSON.stringify(resource)) {
    throw new ConfigError('', `resource ${id} is already defined differently; give the queue an arn, or use the same settings everywhere`)
  }
  settings.resources[id] = resource
}

function topic(value: string | { name?: string; arn?: unknown; filterPolicy?: Json }): EventPlan {
  const config = typeof value === 'string' ? { name: value } : value
  const sns: Json = config.arn !== undefined ? { arn: config.arn } : { topicName: config.name }
  if (config.filterPolicy) sns.filterPolicy = config.filterPolicy
  return { native: [{ sns }], sources: [SNS], kinds: ['topic'] }
}

type BucketConfig = BucketEventConfig

const S3_EVENTS = { created: ['s3:ObjectCreated:*'], deleted: ['s3:ObjectRemoved:*'], all: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'] }

function bucket(value: string | BucketConfig): EventPlan {
  const config: BucketConfig = typeof value === 'string' ? { name: value } : value
  const rules: Json[] = []
  if (config.prefix) rules.push({ prefix: config.prefix })
  if (config.suffix) rules.push({ suffix: config.suffix })
  const native = S3_EVENTS[config.on ?? 'created'].map((event) => {
    const s3: Json = { bucket: config.name, event }
    if (rules.length > 0) s3.rules = rules
    if (config.existing) s3.existing = true
    return { s3 }
  })
  return { native, sources: [S3], kinds: ['storage'] }
}

interface ChangesConfig extends ChangesEventConfig {
  arn?: unknown
}

/**
 * A DynamoDB stream: `table` names an AWS::DynamoDB::Table of the stack (its stream is turned on, with new and old
 * images, if it is off), or `arn` gives a stream ARN. Changes run in order; failures are reported per record.
 */
function changes(value: string | ChangesConfig, settings: AwsSettings): EventPlan {
  const config: ChangesConfig = typeof value === 'string' ? { table: value } : value
  let arn = config.arn
  if (arn === undefined) {
    const id = config.table as string
    const table = settings.resources[id] as { Type?: string; Properties?: Json } | undefined
    if (table?.Type !== 'AWS::DynamoDB::Table') {
      throw new ConfigError('', `table ${JSON.stringify(id)} is not an AWS::DynamoDB::Table in resources.Resources; name its logical id, or give a stream arn`)
    }
    table.Properties ??= {}
    table.Properties.StreamSpecification ??= { StreamViewType: 'NEW_AND_OLD_IMAGES' }
    arn = { 'Fn::GetAtt': [id, 'StreamArn'] }
  }
  const stream: Json = {
    type: 'dynamodb',
    arn,
    startingPosition: config.startingPosition ?? 'LATEST',
    batchSize: config.batchSize ?? 100,
    functionResponseType: 'ReportBatchItemFailures',
  }
  return { native: [{ stream }], sources: [DYNAMODB], kinds: ['changes'] }
}
