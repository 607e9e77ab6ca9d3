/**
 * The local AWS services and the delivery to the functions, started together on one endpoint of 127.0.0.1:
 * `startLocalAws(options)` takes the service model as plain data (queues, topics with their subscriptions, buckets
 * with their notification rules, schedules, queue mappings) and an invoker, and returns the endpoint and `stop()`.
 *
 * The endpoint serves S3, SQS, SNS, DynamoDB when the service has stores (dynalite behind it, see `dynamodb.ts`; what `--endpoint-url` and the SDKs' `endpoint` take) and the control API:
 *
 *   GET  /polycloud                        the services, queues, topics, buckets and schedules
 *   GET  /polycloud/schedules              the schedules with their next run
 *   POST /polycloud/schedules/<name>       fires a rule (or every rule of a function) now
 *   GET  /polycloud/deliveries             each invocation and its outcome
 *
 * State (queues and their messages, topics and subscriptions, buckets and objects, the stores' tables) is kept in `stateDir` between
 * runs; `stop()` stops the pollers, schedules and retries, closes the server and saves the state.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join } from 'node:path'
import { DeliveryEngine, type DeliveryRecord, type Invoker, type QueueMapping } from './delivery.js'
import { dynamoProxy, type DynamoProxy } from './dynamodb.js'
import { LocalS3, type NotificationRule, type NotificationTarget } from './s3.js'
import { LocalSchedules, type ScheduleSpec } from './schedules.js'
import { listen } from './server.js'
import { LocalSns, type TopicSpec } from './sns.js'
import { LocalSqs, type QueueSpec } from './sqs.js'

export type { DeliveryRecord, Invoker, QueueMapping } from './delivery.js'
export { lambdaInvoker, InvocationError } from './invoker.js'
export type { ScheduleSpec } from './schedules.js'
export type { SubscriptionSpec, TopicSpec } from './sns.js'
export type { QueueSpec } from './sqs.js'

/** A bucket notification rule of the service model; the destination by name. */
export interface BucketNotificationSpec {
  readonly id?: string
  /** `s3:ObjectCreated:*`, `s3:ObjectRemoved:*`, or one event (`s3:ObjectCreated:Put`, ...). */
  readonly events: readonly string[]
  readonly prefix?: string
  readonly suffix?: string
  readonly target: { readonly function: string } | { readonly queue: string } | { readonly topic: string }
}

export interface BucketSpec {
  readonly name: string
  readonly notifications?: readonly BucketNotificationSpec[]
}

export interface LocalAwsOptions {
  /** 127.0.0.1 (the loopback interface is the only one allowed). */
  readonly host?: string
  /** The port; 0 (the default) picks a free one. */
  readonly port?: number
  readonly region?: string
  readonly accountId?: string
  /** Where state is kept between runs (`.polycloud/state/aws`); in memory (S3 in a temporary folder) when undefined. */
  readonly stateDir?: string
  readonly queues?: readonly QueueSpec[]
  readonly topics?: readonly TopicSpec[]
  readonly buckets?: readonly BucketSpec[]
  /** The stores' DynamoDB tables (`pk` + `sk`), created when missing; DynamoDB is served only when there is one. */
  readonly tables?: readonly string[]
  readonly schedules?: readonly ScheduleSpec[]
  /** The functions' SQS event source mappings. */
  readonly queueMappings?: readonly QueueMapping[]
  /** Invokes a function (e.g. `lambdaInvoker('http://127.0.0.1:3002')`, serverless-offline's Lambda endpoint). */
  readonly invoke: Invoker
  readonly log?: (line: string) => void
  /**
   * Tests shorten time: milliseconds per SQS second, the asynchronous retries' delays, the pollers' wait.
   * `retryDelaySeconds` is the local retry delay (`POLYCLOUD_OFFLINE_RETRY_SECONDS`): a failed queue message is
   * visible again after it instead of the visibility timeout, and an asynchronous invocation is retried after it
   * instead of one and two minutes; the number of attempts stays as deployed.
   */
  readonly timing?: { readonly second?: number; readonly asyncRetryDelaysMs?: readonly number[]; readonly pollWaitSeconds?: number; readonly retryDelaySeconds?: number }
  /**
   * Serve at once but deliver nothing (no queue polling, no schedules) until `startDelivery()`: for a caller whose
   * functions are not reachable yet (serverless-offline starts its Lambda endpoint after the services' endpoint
   * has to be known).
   */
  readonly deferDelivery?: boolean
}

export interface LocalAws {
  /** `http://127.0.0.1:<port>`: S3, SQS, SNS and the control API. */
  readonly endpoint: string
  readonly port: number
  readonly region: string
  readonly accountId: string
  readonly sqs: LocalSqs
  readonly sns: LocalSns
  readonly s3: LocalS3
  queueUrl(name: string): string
  queueArn(name: string): string
  topicArn(name: string): string
  functionArn(name: string): string
  /** Fires a schedule now, by rule or function name; the rules fired (none when the name is unknown). */
  fireSchedule(name: string): Array<{ rule: string; function: string; id: string }>
  deliveries(): readonly DeliveryRecord[]
  /** Lines describing what runs, for the terminal. */
  summary(): string[]
  /** Starts polling the queues and firing the schedules (at once unless `deferDelivery`); once. */
  startDelivery(): void
  stop(): Promise<void>
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body, null, 2)}\n`
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) })
  res.end(text)
}

/** The function name of a function ARN (`arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`). */
export function functionNameOfArn(arn: string): string {
  const match = /:function:([^:]+)/.exec(arn)
  return match?.[1] ?? arn
}

export async function startLocalAws(options: LocalAwsOptions): Promise<LocalAws> {
  const region = options.region ?? 'us-east-1'
  const accountId = options.accountId ?? '000000000000'
  const log = options.log ?? ((line: string) => console.log(line))
  const state = options.stateDir
  let endpoint = ''
  const baseUrl = (): string => endpoint

  const sqs = new LocalSqs({ region, accountId, baseUrl, log, ...(state ? { stateFile: join(state, 'sqs.json') } : {}), ...(options.timing?.second ? { second: options.timing.second } : {}) })
  const retryDelay = options.timing?.retryDelaySeconds
  const asyncRetryDelaysMs = options.timing?.asyncRetryDelaysMs ?? (retryDelay === undefined ? undefined : [retryDelay * 1000, retryDelay * 1000])
  const engine = new DeliveryEngine({
    sqs,
    region,
    invoke: options.invoke,
    log,
    ...(asyncRetryDelaysMs ? { asyncRetryDelaysMs } : {}),
    ...(options.timing?.pollWaitSeconds !== undefined ? { pollWaitSeconds: options.timing.pollWaitSeconds } : {}),
    ...(retryDelay !== undefined ? { retryDelaySeconds: retryDelay } : {}),
  })
  const sns = new LocalSns({
    region,
    accountId,
    baseUrl,
    sqs,
    log,
    lambda: (arn, event) => engine.invokeAsync(functionNameOfArn(arn), event, `sns:${event.Records[0]?.Sns.TopicArn.split(':').pop()}`, [event.Records[0]?.Sns.MessageId ?? '']),
    ...(state ? { stateFile: join(state, 'sns.json') } : {}),
  })
  const s3 = new LocalS3({
    region,
    accountId,
    log,
    ...(state ? { stateDir: join(state, 's3') } : {}),
    notify: (target, event) => deliverS3(target, event),
    destinationExists: (target) => ('queueArn' in target ? sqs.has(sqs.nameOfArn(target.queueArn) ?? '') : 'topicArn' in target ? sns.topicArns().includes(target.topicArn) : true),
    testEvent: (queueArn, body) => {
      const name = sqs.nameOfArn(queueArn)
      if (name !== undefined && sqs.has(name)) sqs.send(name, { body, sender: accountId })
    },
  })
  /** An S3 notification to its destination: a function (asynchronously), a queue, or a topic. */
  const deliverS3 = (target: NotificationTarget, event: { Records: [{ s3: { bucket: { name: string }; object: { key: string; sequencer: string } } }] }): void => {
    const record = event.Records[0]
    if ('functionArn' in target) {
      engine.invokeAsync(functionNameOfArn(target.functionArn), event, `s3:${record.s3.bucket.name}`, [`${record.s3.object.key}@${record.s3.object.sequencer}`])
    } else if ('queueArn' in target) {
      const name = sqs.nameOfArn(target.queueArn)
      if (name === undefined || !sqs.has(name)) return log(`local S3: the notification queue ${target.queueArn} does not exist`)
      sqs.send(name, { body: JSON.stringify(event), sender: accountId, ...(name.endsWith('.fifo') ? { groupId: record.s3.bucket.name, dedupId: record.s3.object.sequencer } : {}) })
    } else {
      sns.publish(target.topicArn, { message: JSON.stringify(event), subject: 'Amazon S3 Notification' })
    }
  }

  // The service model: dead-letter queues first (a redrive policy names an existing queue), then the others.
  const queues = [...(options.queues ?? [])].sort((a, b) => Number(a.deadLetter !== undefined) - Number(b.deadLetter !== undefined))
  for (const queue of queues) sqs.ensureQueue(queue)
  for (const topic of options.topics ?? []) sns.ensureTopic(topic)
  for (const bucket of options.buckets ?? []) {
    const rules: NotificationRule[] = (bucket.notifications ?? []).map((rule, index) => ({
      id: rule.id ?? `${bucket.name}-${index + 1}`,
      events: rule.events,
      ...(rule.prefix === undefined ? {} : { prefix: rule.prefix }),
      ...(rule.suffix === undefined ? {} : { suffix: rule.suffix }),
      target: 'function' in rule.target ? { functionArn: sns.functionArn(rule.target.function) } : 'queue' in rule.target ? { queueArn: sqs.queueArn(rule.target.queue) } : { topicArn: sns.topicArn(rule.target.topic) },
    }))
    await s3.ensureBucket(bucket.name, rules)
  }
  const schedules = new LocalSchedules({
    region,
    accountId,
    specs: options.schedules ?? [],
    log,
    fire: (spec, event, id) => engine.invokeAsync(spec.function, event, `schedule:${spec.rule}`, [id]),
  })

  const control = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] as string
    const fire = /^\/polycloud\/schedules\/([^/]+)$/.exec(path)
    if (fire && req.method === 'POST') {
      req.resume()
      const name = decodeURIComponent(fire[1] as string)
      const fired = schedules.fire(name)
      if (fired.length === 0) return json(res, 404, { error: `no schedule named ${JSON.stringify(name)} (by rule or function)`, schedules: schedules.list().map((s) => s.rule) })
      return json(res, 202, { fired })
    }
    if (req.method !== 'GET') return json(res, 405, { error: `${req.method} ${path} is not served; the control API is GET /polycloud, GET /polycloud/schedules, POST /polycloud/schedules/<name>, GET /polycloud/deliveries` })
    if (path === '/polycloud' || path === '/polycloud/') {
      return json(res, 200, { endpoint, region, accountId, queues: sqs.names().map((name) => sqs.queueUrl(name)), topics: sns.topicArns(), buckets: s3.bucketNames(), tables: dynamodb.tables, schedules: schedules.list() })
    }
    if (path === '/polycloud/schedules') return json(res, 200, schedules.list())
    if (path === '/polycloud/deliveries') return json(res, 200, engine.deliveries())
    return json(res, 404, { error: `${path} is not served; the control API is GET /polycloud, GET /polycloud/schedules, POST /polycloud/schedules/<name>, GET /polycloud/deliveries` })
  }

  let dynamodb: DynamoProxy
  try {
    dynamodb = await dynamoProxy(options.tables ?? [], state ? join(state, 'dynamodb') : undefined)
  } catch (error) {
    await Promise.all([sqs.stop(), sns.stop(), s3.stop()])
    throw error
  }
  let server: Awaited<ReturnType<typeof listen>>
  try {
    server = await listen(options.host ?? '127.0.0.1', options.port ?? 0, {
      sqs: (req, res) => sqs.handle(req, res),
      sns: (req, res) => sns.handle(req, res),
      s3: (req, res) => s3.handle(req, res, endpoint),
      dynamodb: (req, res) => dynamodb.handle(req, res),
      control,
    }, log)
  } catch (error) {
    await Promise.all([sqs.stop(), sns.stop(), s3.stop(), dynamodb.stop()])
    throw error
  }
  endpoint = server.url
  // Checked now, whether delivery starts now or later: a mapping out of range fails the start, naming it.
  try {
    for (const mapping of options.queueMappings ?? []) engine.checkQueueMapping(mapping)
  } catch (error) {
    await server.close()
    await Promise.all([sqs.stop(), sns.stop(), s3.stop(), dynamodb.stop()])
    throw error
  }
  let delivering = false
  let stopping: Promise<void> | undefined
  const startDelivery = (): void => {
    if (delivering || stopping) return
    delivering = true
    for (const mapping of options.queueMappings ?? []) engine.startQueueMapping(mapping)
    schedules.start()
  }
  if (!options.deferDelivery) {
    try {
      startDelivery()
    } catch (error) {
      await engine.stop()
      await server.close()
      await Promise.all([sqs.stop(), sns.stop(), s3.stop(), dynamodb.stop()])
      throw error
    }
  }

  return {
    endpoint,
    port: server.port,
    region,
    accountId,
    sqs,
    sns,
    s3,
    queueUrl: (name) => sqs.queueUrl(name),
    queueArn: (name) => sqs.queueArn(name),
    topicArn: (name) => sns.topicArn(name),
    functionArn: (name) => sns.functionArn(name),
    fireSchedule: (name) => schedules.fire(name),
    deliveries: () => engine.deliveries(),
    summary: () => [
      `local AWS on ${endpoint} (S3, SQS, SNS${dynamodb.tables.length > 0 ? ', DynamoDB' : ''}; region ${region}, account ${accountId}${state ? `; state in ${state}` : ''})`,
      ...sqs.names().map((name) => `  queue  ${sqs.queueUrl(name)}`),
      ...sns.topicArns().map((arn) => `  topic  ${arn}`),
      ...s3.bucketNames().map((name) => `  bucket ${endpoint}/${name}`),
      ...dynamodb.tables.map((name) => `  store  DynamoDB table ${name}`),
      ...schedules.list().map((s) => `  schedule ${s.rule} (${s.expression}) -> ${s.function}: POST ${endpoint}/polycloud/schedules/${encodeURIComponent(s.rule)} fires it now`),
    ],
    startDelivery,
    stop() {
      stopping ??= (async () => {
        await schedules.stop()
        await engine.stop()
        await Promise.all([sqs.stop(), sns.stop()])
        await server.close()
        await Promise.all([s3.stop(), dynamodb.stop()])
      })()
      return stopping
    },
  }
}
