/**
 * The local AWS services' model of a service (`local/`'s `startLocalAws` options), read from the AWS plan: what the
 * stack would create and what its event source mappings, subscriptions, notifications and rules would deliver.
 *
 * - Queues: every `AWS::SQS::Queue` of the planned resources (the ones `fromQueue` creates, with their visibility
 *   timeout, dead-letter queue and `maxReceiveCount`, and the service's own), by `QueueName` or, without one, the
 *   name CloudFormation would give (`<service>-<stage>-<logical id>`); a queue an `sqs` event names by ARN and the
 *   stack does not create (an existing queue) is created locally with SQS's defaults.
 * - Event source mappings: each function's `sqs` events, with their batch size, batching window and partial batch
 *   responses; `enabled: false` ones are not polled.
 * - Topics: every `sns` event's topic (by name or ARN) with a `lambda` subscription per function (filter policy and
 *   its scope), every `AWS::SNS::Topic` of the resources with its inline subscriptions, and every
 *   `AWS::SNS::Subscription` (to a queue or a function, filter policy, raw delivery).
 * - Buckets: every `s3` event's bucket, with a notification rule per event (its event type, prefix and suffix) to the
 *   function, and every `AWS::S3::Bucket` with its `NotificationConfiguration` (queue, topic and function rules).
 * - Schedules: each neutral `cron` as written, and each native `schedule` (AWS's `cron(...)` read back to a
 *   standard cron, `rate(...)` as it is), named as CloudFormation names the rule when the event has no `name`.
 *
 * What cannot run locally (a queue by `Fn::ImportValue`, a DynamoDB stream, an AWS cron with `L`, `W` or `#`) is
 * returned as a warning naming the function and event; nothing is silently dropped.
 */
import type { Json } from '../../provider.js'
import { DAYS, parseSchedule } from '../../schedule.js'
import type { BucketNotificationSpec, BucketSpec, QueueMapping, QueueSpec, ScheduleSpec, SubscriptionSpec, TopicSpec } from './local/index.js'
import type { AwsPlan } from './plan.js'

export interface LocalModel {
  readonly queues: QueueSpec[]
  readonly topics: TopicSpec[]
  readonly buckets: BucketSpec[]
  readonly schedules: ScheduleSpec[]
  readonly queueMappings: QueueMapping[]
  /** What is not emulated, each naming the function or resource. */
  readonly warnings: string[]
}

export interface LocalModelInput {
  readonly plan: AwsPlan
  /** The deployed name of a function (`<service>-<stage>-<function>` unless `name` says otherwise). */
  readonly functionName: (fn: string) => string
}

type Resource = { Type?: unknown; Properties?: Json }

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)

/** osls's normalised function name (`get-note` -> `GetDashnote`), the prefix of its logical ids. */
export function normalizedFunctionName(name: string): string {
  const normalized = name.replaceAll('-', 'Dash').replaceAll('_', 'Underscore')
  return normalized.charAt(0).toUpperCase() + normalized.slice(1)
}

/** The logical id of an `Fn::GetAtt` (`[id, attr]` or `id.attr`) or a `Ref`, with the attribute. */
function reference(value: unknown): { id: string; attribute: string | undefined } | undefined {
  if (!isObject(value)) return undefined
  if (typeof value.Ref === 'string') return { id: value.Ref, attribute: undefined }
  const getAtt = value['Fn::GetAtt']
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return { id: getAtt[0], attribute: typeof getAtt[1] === 'string' ? getAtt[1] : undefined }
  if (typeof getAtt === 'string') {
    const [id = '', attribute] = getAtt.split('.')
    return { id, attribute }
  }
  return undefined
}

/** The resource name at the end of an ARN (`arn:aws:sqs:eu-west-1:123:orders` -> `orders`). */
function arnName(arn: string): string | undefined {
  if (!arn.startsWith('arn:')) return undefined
  const name = arn.split(':').slice(5).join(':')
  return name === '' ? undefined : name
}

const num = (value: unknown): number | undefined => (value === undefined || value === null || value === '' || Number.isNaN(Number(value)) ? undefined : Number(value))
const bool = (value: unknown): boolean | undefined => (value === undefined ? undefined : value === true || value === 'true')

/** A standard 5-field cron for an AWS `cron(...)` (minute hour day-of-month month day-of-week year), or why not. */
export function fromAwsCron(expression: string): { cron: string } | { problem: string } {
  const fields = expression.trim().split(/\s+/)
  if (fields.length !== 6) return { problem: `an AWS cron has 6 fields, ${JSON.stringify(expression)} has ${fields.length}` }
  const [minute, hour, dayOfMonth, month, dayOfWeek, year] = fields as [string, string, string, string, string, string]
  if (year !== '*') return { problem: `the year field (${year}) is not emulated locally` }
  if (/[LW#]/i.test(dayOfMonth) || /[L#]/i.test(dayOfWeek)) return { problem: `L, W and # are not emulated locally` }
  // AWS numbers weekdays 1-7 from Sunday; a standard cron 0-6: numbers become names, which both read alike.
  const weekday = dayOfWeek === '?' ? '*' : dayOfWeek.replace(/\d+/g, (digits) => DAYS[Number(digits) - 1] ?? digits)
  const cron = [minute, hour, dayOfMonth === '?' ? '*' : dayOfMonth, month, weekday].join(' ')
  try {
    parseSchedule(cron)
  } catch (error) {
    return { problem: (error as Error).message }
  }
  return { cron }
}

/** A neutral schedule for an EventBridge expression: `rate(...)` as it is, `cron(...)` read back; or why not. */
export function fromAwsSchedule(expression: string): { expression: string } | { problem: string } {
  const text = expression.trim()
  const cron = /^cron\((.*)\)$/.exec(text)
  if (cron) {
    const read = fromAwsCron(cron[1] as string)
    return 'cron' in read ? { expression: read.cron } : read
  }
  try {
    parseSchedule(text)
    return { expression: text }
  } catch (error) {
    return { problem: (error as Error).message }
  }
}

/** The rates of an osls `schedule` event (`rate(5 minutes)`, or `{ rate: [...], enabled, input, name }`). */
function scheduleRates(value: unknown): { rates: string[]; enabled: boolean; input: unknown; name: string | undefined } {
  if (typeof value === 'string') return { rates: [value], enabled: true, input: undefined, name: undefined }
  const event = isObject(value) ? value : {}
  const rate = event.rate
  const rates = (Array.isArray(rate) ? rate : [rate]).filter((entry): entry is string => typeof entry === 'string')
  const input = typeof event.input === 'string' ? safeJson(event.input) : event.input
  return { rates, enabled: event.enabled !== false, input, name: typeof event.name === 'string' ? event.name : undefined }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/**
 * Whether an osls `schedule` event runs on the local scheduler (every one of its rates reads as a neutral
 * schedule); serverless-offline's own scheduler is then kept from firing it too.
 */
export function runsLocally(scheduleEvent: unknown): boolean {
  const { rates } = scheduleRates(scheduleEvent)
  return rates.length > 0 && rates.every((rate) => 'expression' in fromAwsSchedule(rate))
}

/** A subscription's filter policy (an object, or its JSON), its scope and raw delivery, as CloudFormation has them. */
function subscriptionSettings(properties: Json): Pick<SubscriptionSpec, 'filterPolicy' | 'filterPolicyScope' | 'rawMessageDelivery'> {
  const policy = typeof properties.FilterPolicy === 'string' ? safeJson(properties.FilterPolicy) : properties.FilterPolicy
  const scope = properties.FilterPolicyScope
  return {
    ...(isObject(policy) ? { filterPolicy: policy } : {}),
    ...(scope === 'MessageBody' || scope === 'MessageAttributes' ? { filterPolicyScope: scope } : {}),
    ...(properties.RawMessageDelivery !== undefined ? { rawMessageDelivery: bool(properties.RawMessageDelivery) ?? false } : {}),
  }
}

/** The local services' model of the planned service. */
export function localModel({ plan, functionName }: LocalModelInput): LocalModel {
  const { service, stage } = plan.model
  const resources = Object.entries(plan.resources as Record<string, Resource>).filter(([, resource]) => isObject(resource))
  const warnings: string[] = []
  const queues = new Map<string, QueueSpec>()
  const topics = new Map<string, { spec: TopicSpec; subscriptions: SubscriptionSpec[] }>()
  const buckets = new Map<string, BucketNotificationSpec[]>()
  const schedules: ScheduleSpec[] = []
  const queueMappings: QueueMapping[] = []
  const byLogicalId = (type: string): Map<string, Json> =>
    new Map(resources.filter(([, resource]) => resource.Type === type).map(([id, resource]) => [id, resource.Properties ?? {}]))
  const queueResources = byLogicalId('AWS::SQS::Queue')
  const topicResources = byLogicalId('AWS::SNS::Topic')
  const bucketResources = byLogicalId('AWS::S3::Bucket')
  const functionsById = new Map(plan.functions.map((fn) => [`${normalizedFunctionName(fn.name)}LambdaFunction`, fn.name]))

  const queueNameOf = (id: string): string => {
    const properties = queueResources.get(id) ?? {}
    if (typeof properties.QueueName === 'string') return properties.QueueName
    return `${service}-${stage}-${id}${bool(properties.FifoQueue) ? '.fifo' : ''}`
  }
  const topicNameOf = (id: string): string => {
    const properties = topicResources.get(id) ?? {}
    if (typeof properties.TopicName === 'string') return properties.TopicName
    return `${service}-${stage}-${id}${bool(properties.FifoTopic) ? '.fifo' : ''}`
  }
  const bucketNameOf = (id: string): string => {
    const properties = bucketResources.get(id) ?? {}
    return typeof properties.BucketName === 'string' ? properties.BucketName : `${service}-${stage}-${id}`.toLowerCase()
  }
  /** The queue an ARN, `Fn::GetAtt [id, Arn]` or `Ref` (a queue URL) names; created with defaults when the stack does not. */
  const queueOf = (value: unknown): string | undefined => {
    const ref = reference(value)
    if (ref !== undefined) return queueResources.has(ref.id) ? queueNameOf(ref.id) : undefined
    const name = typeof value === 'string' ? arnName(value) : undefined
    if (name !== undefined && !queues.has(name)) queues.set(name, { name })
    return name
  }
  const topicOf = (value: unknown): string | undefined => {
    const ref = reference(value)
    if (ref !== undefined) return topicResources.has(ref.id) ? topicNameOf(ref.id) : undefined
    return typeof value === 'string' ? (arnName(value) ?? (value.includes(':') ? undefined : value)) : undefined
  }
  /** The deployed name of the function an `Fn::GetAtt [<Fn>LambdaFunction, Arn]` or a function ARN names. */
  const functionOf = (value: unknown): string | undefined => {
    const ref = reference(value)
    if (ref !== undefined) {
      const key = functionsById.get(ref.id)
      return key === undefined ? undefined : functionName(key)
    }
    // arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]
    return typeof value === 'string' ? /:function:([^:]+)/.exec(value)?.[1] : undefined
  }
  const topic = (name: string): { spec: TopicSpec; subscriptions: SubscriptionSpec[] } => {
    let entry = topics.get(name)
    if (entry === undefined) {
      entry = { spec: { name, ...(name.endsWith('.fifo') ? { fifo: true } : {}) }, subscriptions: [] }
      topics.set(name, entry)
    }
    return entry
  }
  const notifications = (bucket: string): BucketNotificationSpec[] => {
    let rules = buckets.get(bucket)
    if (rules === undefined) buckets.set(bucket, (rules = []))
    return rules
  }

  // Queues of the stack; their redrive policies name dead-letter queues by Fn::GetAtt or ARN.
  for (const [id, properties] of queueResources) {
    const name = queueNameOf(id)
    const spec: { -readonly [K in keyof QueueSpec]: QueueSpec[K] } = { name }
    if (bool(properties.FifoQueue)) spec.fifo = true
    const numbers = { visibilityTimeout: 'VisibilityTimeout', delaySeconds: 'DelaySeconds', messageRetentionPeriod: 'MessageRetentionPeriod', maximumMessageSize: 'MaximumMessageSize', receiveMessageWaitTimeSeconds: 'ReceiveMessageWaitTimeSeconds' } as const
    for (const [key, property] of Object.entries(numbers)) {
      const value = num(properties[property])
      if (value !== undefined) spec[key as keyof typeof numbers] = value
    }
    if (properties.ContentBasedDeduplication !== undefined) spec.contentBasedDeduplication = bool(properties.ContentBasedDeduplication)
    const redrive = typeof properties.RedrivePolicy === 'string' ? safeJson(properties.RedrivePolicy) : properties.RedrivePolicy
    if (isObject(redrive)) {
      const target = reference(redrive.deadLetterTargetArn)
      const dlq = target !== undefined ? (queueResources.has(target.id) ? queueNameOf(target.id) : undefined) : typeof redrive.deadLetterTargetArn === 'string' ? arnName(redrive.deadLetterTargetArn) : undefined
      if (dlq === undefined) warnings.push(`resources.${id}: its dead-letter queue ${JSON.stringify(redrive.deadLetterTargetArn)} is not emulated locally; failed messages stay in ${name}`)
      else {
        if (!queueResources.has(target?.id ?? '') && !queues.has(dlq)) queues.set(dlq, { name: dlq })
        spec.deadLetter = { queue: dlq, maxReceiveCount: num(redrive.maxReceiveCount) ?? 10 }
      }
    }
    queues.set(name, spec)
  }

  // Topics of the stack, with their inline subscriptions.
  for (const [id, properties] of topicResources) {
    const entry = topic(topicNameOf(id))
    if (bool(properties.FifoTopic)) entry.spec = { ...entry.spec, fifo: true }
    if (properties.ContentBasedDeduplication !== undefined) entry.spec = { ...entry.spec, contentBasedDeduplication: bool(properties.ContentBasedDeduplication) ?? false }
    for (const subscription of Array.isArray(properties.Subscription) ? properties.Subscription : []) {
      if (!isObject(subscription)) continue
      const spec = subscriptionSpec(subscription.Protocol, subscription.Endpoint, {})
      if (spec === undefined) warnings.push(`resources.${id}: its ${String(subscription.Protocol)} subscription is not emulated locally (sqs and lambda are)`)
      else entry.subscriptions.push(spec)
    }
  }

  function subscriptionSpec(protocol: unknown, endpoint: unknown, properties: Json): SubscriptionSpec | undefined {
    const extra = subscriptionSettings(properties)
    if (protocol === 'sqs') {
      const queue = queueOf(endpoint)
      return queue === undefined ? undefined : { protocol: 'sqs', queue, ...extra }
    }
    if (protocol === 'lambda') {
      const fn = functionOf(endpoint)
      return fn === undefined ? undefined : { protocol: 'lambda', function: fn, ...extra }
    }
    return undefined
  }

  for (const [id, resource] of resources) {
    if (resource.Type !== 'AWS::SNS::Subscription') continue
    const properties = resource.Properties ?? {}
    const topicName = topicOf(properties.TopicArn)
    const spec = subscriptionSpec(properties.Protocol, properties.Endpoint, properties)
    if (topicName === undefined || spec === undefined) warnings.push(`resources.${id}: this ${String(properties.Protocol)} subscription is not emulated locally (sqs and lambda subscriptions to topics of the stack or by ARN are)`)
    else topic(topicName).subscriptions.push(spec)
  }

  // Buckets of the stack, with their notification configurations.
  for (const [id, properties] of bucketResources) {
    const rules = notifications(bucketNameOf(id))
    const configuration = isObject(properties.NotificationConfiguration) ? properties.NotificationConfiguration : {}
    for (const [key, target] of [['QueueConfigurations', 'Queue'], ['TopicConfigurations', 'Topic'], ['LambdaConfigurations', 'Function']] as const) {
      for (const rule of Array.isArray(configuration[key]) ? configuration[key] : []) {
        if (!isObject(rule) || typeof rule.Event !== 'string') continue
        const destination = target === 'Queue' ? queueOf(rule.Queue) : target === 'Topic' ? topicOf(rule.Topic) : functionOf(rule.Function)
        if (destination === undefined) {
          warnings.push(`resources.${id}: a ${key} rule's destination is not emulated locally`)
          continue
        }
        const filterRules = (rule.Filter as { S3Key?: { Rules?: Array<{ Name?: string; Value?: string }> } } | undefined)?.S3Key?.Rules ?? []
        const prefix = filterRules.find((entry) => entry.Name?.toLowerCase() === 'prefix')?.Value
        const suffix = filterRules.find((entry) => entry.Name?.toLowerCase() === 'suffix')?.Value
        rules.push({
          events: [rule.Event],
          ...(prefix === undefined ? {} : { prefix }),
          ...(suffix === undefined ? {} : { suffix }),
          target: target === 'Queue' ? { queue: destination } : target === 'Topic' ? { topic: destination } : { function: destination },
        })
      }
    }
  }

  // Each function's events as osls deploys them.
  for (const fn of plan.functions) {
    const name = functionName(fn.name)
    let scheduleIndex = 0
    fn.events.forEach((planned, eventIndex) => {
      const at = `functions.${fn.name}.events[${eventIndex}]`
      for (const native of planned.native) {
        const [key, value] = Object.entries(native)[0] ?? []
        if (key === 'sqs') {
          const event = isObject(value) ? value : { arn: value }
          const queue = queueOf(event.arn)
          if (queue === undefined) {
            warnings.push(`${at}: the queue ${JSON.stringify(event.arn)} is not emulated locally (give a queue ARN or one of the stack's queues)`)
            continue
          }
          if (event.enabled === false) continue
          queueMappings.push({
            function: name,
            queue,
            ...(num(event.batchSize) === undefined ? {} : { batchSize: num(event.batchSize) as number }),
            ...(num(event.maximumBatchingWindow) === undefined ? {} : { maximumBatchingWindow: num(event.maximumBatchingWindow) as number }),
            reportBatchItemFailures: event.functionResponseType === 'ReportBatchItemFailures',
          })
        } else if (key === 'sns') {
          const event = isObject(value) ? value : { arn: value }
          const topicName = event.arn !== undefined ? topicOf(event.arn) : typeof event.topicName === 'string' ? event.topicName : undefined
          if (topicName === undefined) {
            warnings.push(`${at}: the topic ${JSON.stringify(event.arn ?? event.topicName)} is not emulated locally (give a topic name, an ARN or one of the stack's topics)`)
            continue
          }
          topic(topicName).subscriptions.push({ protocol: 'lambda', function: name, ...subscriptionSettings({ FilterPolicy: event.filterPolicy, FilterPolicyScope: event.filterPolicyScope }) })
        } else if (key === 's3') {
          const event = isObject(value) ? value : { bucket: value }
          if (typeof event.bucket !== 'string') {
            warnings.push(`${at}: the bucket ${JSON.stringify(event.bucket)} is not emulated locally (give its name)`)
            continue
          }
          const rules = Array.isArray(event.rules) ? (event.rules as Json[]) : []
          const prefix = rules.find((rule) => typeof rule.prefix === 'string')?.prefix as string | undefined
          const suffix = rules.find((rule) => typeof rule.suffix === 'string')?.suffix as string | undefined
          notifications(event.bucket).push({
            events: [typeof event.event === 'string' ? event.event : 's3:ObjectCreated:*'],
            ...(prefix === undefined ? {} : { prefix }),
            ...(suffix === undefined ? {} : { suffix }),
            target: { function: name },
          })
        } else if (key === 'schedule') {
          scheduleIndex++
          const { rates, enabled, input, name: ruleName } = scheduleRates(value)
          const rule = ruleName ?? `${service}-${stage}-${normalizedFunctionName(fn.name)}EventsRuleSchedule${scheduleIndex}`
          // A neutral cron runs as written; a native schedule's AWS expression is read back.
          const neutral = planned.event.kind === 'cron' ? planned.event.expression : undefined
          const read = neutral !== undefined ? [{ expression: neutral }] : rates.map(fromAwsSchedule)
          const problem = read.find((entry): entry is { problem: string } => 'problem' in entry)
          if (problem !== undefined || read.length === 0) {
            warnings.push(`${at}: ${rates.join(', ')} is left to serverless-offline's scheduler: ${problem?.problem ?? 'no rate'}`)
            continue
          }
          read.forEach((entry, index) => {
            schedules.push({
              rule: read.length === 1 ? rule : `${rule}-${index + 1}`,
              function: name,
              expression: (entry as { expression: string }).expression,
              enabled,
              ...(input === undefined ? {} : { input }),
            })
          })
        } else if (key === 'stream') {
          warnings.push(`${at}: streams are not emulated locally; run the function with serverless invoke local --path <a stream event>`)
        }
      }
    })
  }

  return {
    queues: [...queues.values()],
    topics: [...topics.values()].map(({ spec, subscriptions }) => ({ ...spec, subscriptions })),
    buckets: [...buckets.entries()].map(([name, rules]) => ({ name, notifications: rules })),
    schedules,
    queueMappings,
    warnings,
  }
}
