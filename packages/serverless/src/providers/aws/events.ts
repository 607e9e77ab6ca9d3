/**
 * What each event is on AWS: a neutral event of the model as osls's native AWS events (and the CloudFormation
 * resources they need), a native event as it is, and each with the @polycloud/aws formats its payloads come in.
 */
import { createHash } from 'node:crypto'
import { ConfigError } from '../../errors.js'
import type { BucketEvent, ChangesEvent, CronEvent, NeutralEvent, QueueEvent, RouteEvent, TopicEvent } from '../../model.js'
import type { EventPlan as Plan, Json, Kind, SourceRef } from '../../provider.js'
import { takesHead } from '../../route.js'
import { toAwsSchedule } from '../../schedule.js'

/** What an event is on AWS: the osls events it becomes, the @polycloud/aws formats, the handler kinds. */
export type EventPlan = Plan<Json[]>

export interface AwsSettings {
  readonly service: string
  readonly stage: string
  /** Default API for `route` events. */
  readonly routes: 'http-api' | 'rest-api'
  /** The function's timeout in seconds (osls default 6). */
  readonly timeout: number
  /** `resources.Resources` of the service as planned so far; new resources are added to it, a table's stream turned on. */
  readonly resources: Json
  /** The HTTP API JWT authorizer the function's routes use, when API Gateway verifies their tokens. */
  readonly authorizer?: { readonly name: string; readonly scopes: readonly string[] } | undefined
  /** The path shapes the service routes `HEAD` on itself (`declaredHeads`): other GET routes take HEAD too. */
  readonly heads?: ReadonlySet<string>
  /** The EventBridge rule a `cron` event becomes (`scheduleRule`): its ARN names it in every event it sends. */
  readonly rule?: string
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

/** What a neutral event is on AWS; errors have an empty path (the caller locates them). */
export function neutralPlan(event: NeutralEvent, settings: AwsSettings): EventPlan {
  switch (event.kind) {
    case 'route':
      return route(event, settings)
    case 'cron':
      return cron(event, settings.rule)
    case 'queue':
      return fromQueue(event, settings)
    case 'topic':
      return topic(event)
    case 'bucket':
      return bucket(event)
    case 'changes':
      return changes(event, settings)
  }
}

/** Which API Gateway serves a route: its own `api`, else the service's default. */
export function routeApi(event: RouteEvent, fallback: AwsSettings['routes']): AwsSettings['routes'] {
  return (event.options.api as AwsSettings['routes'] | undefined) ?? fallback
}

/**
 * A route as API Gateway's. Neither API routes HEAD to a GET route (an HTTP API answers 404, a REST API 403), so a
 * GET route is declared for HEAD too (`takesHead`), with the same authorizer: HEAD is GET without a body, and API
 * Gateway sends the function's status and headers without the body.
 */
function route(event: RouteEvent, settings: AwsSettings): EventPlan {
  const methods = takesHead(event, settings.heads ?? NO_HEADS) ? [event.method, 'HEAD'] : [event.method]
  const api = routeApi(event, settings.routes)
  if (api === 'rest-api') {
    // osls writes REST paths without the leading slash; `ANY` is `any`.
    return {
      native: methods.map((method) => ({ http: { method: method === 'ANY' ? 'any' : method.toLowerCase(), path: event.path } })),
      sources: [V1],
      kinds: ['http'],
    }
  }
  const native = methods.map((method) => {
    const httpApi: Json = { method: method === 'ANY' ? '*' : method, path: event.path }
    // A CORS preflight carries no token: its OPTIONS route stays open (the entry answers it without the handler).
    if (settings.authorizer && method !== 'OPTIONS') {
      httpApi.authorizer = settings.authorizer.scopes.length > 0 ? { name: settings.authorizer.name, scopes: [...settings.authorizer.scopes] } : { name: settings.authorizer.name }
    }
    return { httpApi }
  })
  return { native, sources: [V2], kinds: ['http'] }
}

const NO_HEADS: ReadonlySet<string> = new Set()

function cron(event: CronEvent, rule: string | undefined): EventPlan {
  const schedule = { rate: [toAwsSchedule(event.schedule)], enabled: event.enabled, ...(rule === undefined ? {} : { name: rule }) }
  return { native: [{ schedule }], sources: [SCHEDULE], kinds: ['schedule'] }
}

/** EventBridge rule names: at most 64 of these characters. */
const RULE_NAME = /^[.\-_A-Za-z0-9]{1,64}$/

/**
 * The EventBridge rule of a function's `cron` event (`ordinal`: its place among the function's crons):
 * `<service>-<stage>-<function>`, then `-2`, `-3`, ... for further crons, as Google's jobs are named. A name over 64
 * characters keeps its first 55 and a hash of the whole. The rule's ARN in each event names it: the entry tells a
 * function's schedules apart by it.
 */
export function scheduleRule(service: string, stage: string, fn: string, ordinal: number): string {
  const name = `${service}-${stage}-${fn}${ordinal === 0 ? '' : `-${ordinal + 1}`}`.replace(/[^.\-_A-Za-z0-9]/g, '-')
  return RULE_NAME.test(name) ? name : `${name.slice(0, 55)}-${createHash('sha256').update(name).digest('hex').slice(0, 8)}`
}

/**
 * A queue consumer. Without an ARN the queue is created in the stack with a dead-letter queue (after
 * `maxReceiveCount` receives, default 5) and a visibility timeout of six times the function's timeout, as AWS
 * advises for Lambda consumers. Partial batch failures are always on.
 */
function fromQueue(event: QueueEvent, settings: AwsSettings): EventPlan {
  let arn = event.options.arn
  const declared = event.resource
  if (declared?.existing) arn = existingArn('sqs', `${declared.deployedName}${declared.fifo ? '.fifo' : ''}`)
  else if (arn === undefined) {
    const name = event.name as string
    const base = name.replace(/\.fifo$/, '')
    const queue = { id: queueId(base), name: declared?.deployedName ?? `${settings.service}-${settings.stage}-${base}`, fifo: event.fifo, maxReceiveCount: event.maxReceiveCount }
    for (const [id, resource] of Object.entries(queueResources(queue, settings.timeout))) addResource(settings, id, resource as Json)
    arn = { 'Fn::GetAtt': [queue.id, 'Arn'] }
  }
  const sqs: Json = { arn, batchSize: event.batchSize ?? 10, functionResponseType: 'ReportBatchItemFailures' }
  if (event.maximumBatchingWindow !== undefined) sqs.maximumBatchingWindow = event.maximumBatchingWindow
  return { native: [{ sqs }], sources: [SQS], kinds: ['queue'] }
}

/** The logical id of the queue `<service>-<stage>-<name>` (a `fromQueue` queue, or a declared one). */
export function queueId(name: string): string {
  return `PolycloudQueue${logicalName(name)}`
}

/** An ARN of the stack's account and region: `arn:<partition>:<service>:<region>:<account>:<name>`. */
export function existingArn(service: 'sqs' | 'sns', name: string): Json {
  return { 'Fn::Sub': `arn:\${AWS::Partition}:${service}:\${AWS::Region}:\${AWS::AccountId}:${name}` }
}

/**
 * A queue and its dead-letter queue (after `maxReceiveCount` receives, default 5), with a visibility timeout of six
 * times its consumer's timeout, as AWS advises for Lambda consumers (SQS's default, 30 s, without one).
 */
export function queueResources(queue: { readonly id: string; readonly name: string; readonly fifo: boolean; readonly maxReceiveCount: number | undefined }, consumerTimeout: number | undefined): Json {
  const suffix = queue.fifo ? '.fifo' : ''
  const fifo = queue.fifo ? { FifoQueue: true } : {}
  return {
    [queue.id]: {
      Type: 'AWS::SQS::Queue',
      Properties: {
        QueueName: `${queue.name}${suffix}`,
        VisibilityTimeout: consumerTimeout === undefined ? 30 : Math.min(43200, Math.max(30, consumerTimeout * 6)),
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [`${queue.id}Dlq`, 'Arn'] }, maxReceiveCount: queue.maxReceiveCount ?? 5 },
        ...fifo,
      },
    },
    [`${queue.id}Dlq`]: { Type: 'AWS::SQS::Queue', Properties: { QueueName: `${queue.name}-dlq${suffix}`, MessageRetentionPeriod: 1209600, ...fifo } },
  }
}

/** Adds a resource; the same resource twice (two consumers of one queue) is fine, a different one is not. */
export function addResource(settings: Pick<AwsSettings, 'resources'>, id: string, resource: Json): void {
  const existing = settings.resources[id]
  if (existing !== undefined && JSON.stringify(existing) !== JSON.stringify(resource)) {
    throw new ConfigError('', `resource ${id} is already defined differently; give the queue an arn, or use the same settings everywhere`)
  }
  settings.resources[id] = resource
}

function topic(event: TopicEvent): EventPlan {
  // osls creates a topic it knows by name only; a declared existing one is subscribed to by its ARN.
  const existing = event.resource?.existing ? { arn: existingArn('sns', event.resource.deployedName), topicName: event.resource.deployedName } : undefined
  const sns: Json = existing ?? (event.options.arn !== undefined ? { arn: event.options.arn } : { topicName: event.name })
  if (event.options.filterPolicy) sns.filterPolicy = event.options.filterPolicy
  return { native: [{ sns }], sources: [SNS], kinds: ['topic'] }
}

const S3_EVENTS = { created: ['s3:ObjectCreated:*'], deleted: ['s3:ObjectRemoved:*'], all: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'] }

function bucket(event: BucketEvent): EventPlan {
  const rules: Json[] = []
  if (event.prefix) rules.push({ prefix: event.prefix })
  if (event.suffix) rules.push({ suffix: event.suffix })
  const native = S3_EVENTS[event.on].map((type) => {
    const s3: Json = { bucket: event.name, event: type }
    if (rules.length > 0) s3.rules = rules
    if (event.existing) s3.existing = true
    return { s3 }
  })
  return { native, sources: [S3], kinds: ['storage'] }
}

/**
 * A DynamoDB stream: `table` names an AWS::DynamoDB::Table of the stack (its stream is turned on, with new and old
 * images, if it is off), or `arn` gives a stream ARN. Changes run in order; failures are reported per record.
 */
function changes(event: ChangesEvent, settings: AwsSettings): EventPlan {
  let arn = event.options.arn
  if (arn === undefined) {
    const id = event.table as string
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
    startingPosition: event.startingPosition ?? 'LATEST',
    batchSize: event.batchSize ?? 100,
    functionResponseType: 'ReportBatchItemFailures',
  }
  return { native: [{ stream }], sources: [DYNAMODB], kinds: ['changes'] }
}
