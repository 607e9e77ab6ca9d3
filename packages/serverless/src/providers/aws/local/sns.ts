/**
 * A local Amazon SNS for `serverless offline`, over the Query protocol @aws-sdk/client-sns speaks (a form-encoded
 * POST with `Action=...`, XML answers in the `http://sns.amazonaws.com/doc/2010-03-31/` namespace, errors as
 * `<ErrorResponse><Error><Type/><Code/><Message/></Error>`).
 *
 * Topics (standard and FIFO), Subscribe for the `sqs` and `lambda` protocols (confirmed at once, as SNS confirms
 * them), Unsubscribe, the List operations (100 a page), topic and subscription attributes (FilterPolicy with
 * FilterPolicyScope, RawMessageDelivery), Publish and PublishBatch with message attributes and MessageStructure
 * `json`. A published message is fanned out to every subscription whose filter policy it passes:
 *
 * - to an SQS queue as SNS delivers it: the JSON notification (Type, MessageId, TopicArn, Subject when given,
 *   Message, Timestamp, SignatureVersion, Signature, SigningCertURL, UnsubscribeURL, MessageAttributes when
 *   given), or with raw delivery the message itself, its attributes as SQS message attributes;
 * - to a function as the `{"Records": [{"EventSource": "aws:sns", "Sns": {...}}]}` event Lambda receives (through
 *   the `lambda` callback, which invokes it asynchronously).
 *
 * Left out: other protocols (http/s, email, sms, application, firehose), signatures (notifications carry
 * `EXAMPLE`, as the sample events do), delivery policies and subscription dead-letter queues, data protection,
 * tags, permissions.
 */
import { setOwn } from '@polycloud/core/adapter'
import { createHash, randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { matchesFilterPolicy, parseFilterPolicy, type FilterPolicy, type FilterPolicyScope, type SnsMessageAttribute } from './filter-policy.js'
import { AwsError, el, readBody, uuid, xmlEscape } from './http.js'
import type { LocalSqs, SqsMessageAttribute, SqsMessageAttributes } from './sqs.js'
import { readJsonState, Saver } from './state.js'

export type { SnsMessageAttribute } from './filter-policy.js'

/** A subscription as the service model declares it. */
export type SubscriptionSpec = ({ readonly protocol: 'lambda'; readonly function: string } | { readonly protocol: 'sqs'; readonly queue: string }) & {
  /** The filter policy as an object (serverless.yml's `filterPolicy`). */
  readonly filterPolicy?: Readonly<Record<string, unknown>>
  readonly filterPolicyScope?: FilterPolicyScope
  readonly rawMessageDelivery?: boolean
}

export interface TopicSpec {
  readonly name: string
  readonly fifo?: boolean
  readonly contentBasedDeduplication?: boolean
  readonly subscriptions?: readonly SubscriptionSpec[]
}

/** The `Sns` object of a Lambda record. */
export interface SnsNotification {
  Type: 'Notification'
  MessageId: string
  TopicArn: string
  Subject: string | null
  Message: string
  Timestamp: string
  SignatureVersion: string
  Signature: string
  SigningCertUrl: string
  UnsubscribeUrl: string
  MessageAttributes: Record<string, { Type: string; Value: string }>
}

export interface SnsLambdaEvent {
  Records: Array<{ EventVersion: '1.0'; EventSubscriptionArn: string; EventSource: 'aws:sns'; Sns: SnsNotification }>
}

export interface PublishInput {
  readonly message: string
  readonly subject?: string
  readonly attributes?: Readonly<Record<string, SnsMessageAttribute>>
  readonly structure?: 'json'
  readonly groupId?: string
  readonly dedupId?: string
}

export interface SnsOptions {
  readonly region: string
  readonly accountId: string
  readonly baseUrl: () => string
  readonly sqs: LocalSqs
  /** Delivers a notification to a function (by its ARN): Lambda invokes it asynchronously. */
  readonly lambda: (functionArn: string, event: SnsLambdaEvent, subscriptionArn: string) => void
  readonly stateFile?: string
  readonly log: (line: string) => void
}

interface Topic {
  name: string
  attributes: Record<string, string>
  subscriptions: string[]
  dedup: Array<[string, number, string]>
  sequence: string
}

interface Subscription {
  arn: string
  topicArn: string
  protocol: 'sqs' | 'lambda'
  endpoint: string
  attributes: Record<string, string>
}

const NS = 'http://sns.amazonaws.com/doc/2010-03-31/'
const MAX_MESSAGE_BYTES = 262_144
const DEDUP_MS = 5 * 60_000
const PAGE = 100
const TOPIC_NAME = /^[A-Za-z0-9_-]{1,256}$/
const TOPIC_ATTRIBUTES = new Set(['DisplayName', 'Policy', 'DeliveryPolicy', 'KmsMasterKeyId', 'SignatureVersion', 'TracingConfig', 'FifoTopic', 'ContentBasedDeduplication', 'ArchivePolicy', 'FifoThroughputScope'])
const SUBSCRIPTION_ATTRIBUTES = new Set(['DeliveryPolicy', 'FilterPolicy', 'FilterPolicyScope', 'RawMessageDelivery', 'RedrivePolicy', 'SubscriptionRoleArn', 'ReplayPolicy'])

const invalid = (message: string): AwsError => new AwsError('InvalidParameter', message)

function isSnsState(value: unknown): value is { version: 1; topics: Topic[]; subscriptions: Subscription[] } {
  const state = value as { version?: unknown; topics?: unknown; subscriptions?: unknown } | null
  return typeof state === 'object' && state !== null && state.version === 1 && Array.isArray(state.topics) && Array.isArray(state.subscriptions)
}

/** Checks message attributes as Publish does; returns their size (name, type and value bytes). */
export function checkSnsAttributes(attributes: Readonly<Record<string, SnsMessageAttribute>>): number {
  let size = 0
  for (const [name, attribute] of Object.entries(attributes)) {
    const bad = (reason: string): AwsError => new AwsError('ParameterValueInvalid', `The message attribute '${name}' ${reason}`)
    if (!/^[A-Za-z0-9_.-]{1,256}$/.test(name) || name.startsWith('.') || name.endsWith('.') || name.includes('..') || /^(aws|amazon)\./i.test(name)) {
      throw bad('has an invalid name: use up to 256 of A-Z, a-z, 0-9, _, - and ., not starting with AWS. or Amazon.')
    }
    const type = attribute.DataType
    const base = /^(String\.Array|String|Number|Binary)(\..+)?$/.exec(type ?? '')?.[1]
    if (base === undefined) throw bad('has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.')
    if (base === 'Binary') {
      if (!attribute.BinaryValue) throw bad('must contain a non-empty message attribute value for message attribute type Binary.')
      size += Buffer.byteLength(attribute.BinaryValue, 'base64')
    } else {
      const text = attribute.StringValue
      if (text === undefined || text === '') throw bad(`must contain a non-empty message attribute value for message attribute type ${base}.`)
      if (base === 'Number' && !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw bad(`has an invalid value: ${text} is not a number.`)
      if (base === 'String.Array') {
        let list: unknown
        try {
          list = JSON.parse(text)
        } catch {
          list = undefined
        }
        if (!Array.isArray(list) || !list.every((item) => item === null || ['string', 'number', 'boolean'].includes(typeof item))) {
          throw bad('must be a JSON array of strings, numbers, true, false or null for message attribute type String.Array.')
        }
      }
      size += Buffer.byteLength(text)
    }
    size += Buffer.byteLength(name) + Buffer.byteLength(type)
  }
  return size
}

export class LocalSns {
  private readonly topics = new Map<string, Topic>()
  private readonly subscriptions = new Map<string, Subscription>()
  private readonly filters = new Map<string, FilterPolicy | undefined>()
  private readonly saver: Saver

  constructor(private readonly options: SnsOptions) {
    this.saver = new Saver(options.stateFile, () => this.snapshot(), (error) => options.log(`local SNS: could not save its state: ${(error as Error).message}`))
    const saved = options.stateFile === undefined ? undefined : readJsonState(options.stateFile, 'topics', options.log, isSnsState)
    for (const topic of saved?.topics ?? []) this.topics.set(topic.name, topic)
    for (const subscription of saved?.subscriptions ?? []) this.subscriptions.set(subscription.arn, subscription)
  }

  /** The ARNs of the topics, sorted. */
  topicArns(): string[] {
    return [...this.topics.keys()].sort().map((name) => this.topicArn(name))
  }

  topicArn(name: string): string {
    return `arn:aws:sns:${this.options.region}:${this.options.accountId}:${name}`
  }

  functionArn(name: string): string {
    return `arn:aws:lambda:${this.options.region}:${this.options.accountId}:function:${name}`
  }

  private topicOfArn(arn: unknown, what = 'TopicArn'): Topic {
    if (typeof arn !== 'string' || arn === '') throw invalid(`Invalid parameter: ${what}`)
    const prefix = `arn:aws:sns:${this.options.region}:${this.options.accountId}:`
    const topic = arn.startsWith(prefix) ? this.topics.get(arn.slice(prefix.length)) : undefined
    if (topic === undefined) {
      if (!/^arn:aws[\w-]*:sns:[\w-]+:\d{12}:[\w.-]+$/.test(arn)) throw invalid(`Invalid parameter: ${what} Reason: An ARN must have the format arn:aws:sns:<region>:<account>:<topic>`)
      throw new AwsError('NotFound', 'Topic does not exist', 404)
    }
    return topic
  }

  private subscription(arn: unknown): Subscription {
    if (typeof arn !== 'string' || arn === '') throw invalid('Invalid parameter: SubscriptionArn')
    const subscription = this.subscriptions.get(arn)
    if (subscription === undefined) throw new AwsError('NotFound', 'Subscription does not exist', 404)
    return subscription
  }

  /* ---------- topics ---------- */

  createTopic(name: unknown, attributes: Record<string, string> = {}): string {
    if (typeof name !== 'string' || name === '') throw invalid('Invalid parameter: Topic Name')
    const fifo = name.endsWith('.fifo')
    if (!TOPIC_NAME.test(fifo ? name.slice(0, -5) : name) || name.length > 256) {
      throw invalid('Invalid parameter: Topic Name must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.')
    }
    for (const key of Object.keys(attributes)) if (!TOPIC_ATTRIBUTES.has(key)) throw invalid(`Invalid parameter: Attributes Reason: Unknown attribute ${key}`)
    if ((attributes.FifoTopic === 'true') !== fifo) throw invalid('Invalid parameter: Fifo Topic names must end with .fifo and must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.')
    const existing = this.topics.get(name)
    if (existing !== undefined) {
      for (const [key, value] of Object.entries(attributes)) {
        if ((existing.attributes[key] ?? '') !== value) throw invalid('Invalid parameter: Attributes Reason: Topic already exists with different attributes')
      }
      return this.topicArn(name)
    }
    const defaults: Record<string, string> = fifo ? { FifoTopic: 'true', ContentBasedDeduplication: 'false' } : {}
    this.topics.set(name, { name, attributes: { ...defaults, ...attributes }, subscriptions: [], dedup: [], sequence: (BigInt(Date.now()) * 1_000_000n).toString() })
    this.saver.changed()
    return this.topicArn(name)
  }

  /** Creates or updates a topic of the service model with its subscriptions (the others are kept). */
  ensureTopic(spec: TopicSpec): string {
    const fifo = spec.fifo === true || spec.name.endsWith('.fifo')
    const attributes: Record<string, string> = fifo ? { FifoTopic: 'true', ContentBasedDeduplication: String(spec.contentBasedDeduplication ?? false) } : {}
    const arn = this.topics.has(spec.name) ? this.topicArn(spec.name) : this.createTopic(spec.name, attributes)
    if (this.topics.has(spec.name) && fifo) this.setTopicAttribute(arn, 'ContentBasedDeduplication', attributes.ContentBasedDeduplication as string)
    for (const subscription of spec.subscriptions ?? []) {
      const endpoint = subscription.protocol === 'lambda' ? this.functionArn(subscription.function) : this.options.sqs.queueArn(subscription.queue)
      const wanted: Record<string, string> = { RawMessageDelivery: String(subscription.rawMessageDelivery ?? false) }
      if (subscription.filterPolicy !== undefined) {
        wanted.FilterPolicy = JSON.stringify(subscription.filterPolicy)
        wanted.FilterPolicyScope = subscription.filterPolicyScope ?? 'MessageAttributes'
      }
      const existing = [...this.subscriptions.values()].find((s) => s.topicArn === arn && s.protocol === subscription.protocol && s.endpoint === endpoint)
      if (existing === undefined) {
        this.subscribe(arn, subscription.protocol, endpoint, wanted)
      } else {
        if (wanted.FilterPolicy === undefined) this.setSubscriptionAttribute(existing.arn, 'FilterPolicy', '')
        const ordered = Object.entries(wanted).sort(([a], [b]) => Number(b === 'FilterPolicyScope') - Number(a === 'FilterPolicyScope'))
        for (const [key, value] of ordered) this.setSubscriptionAttribute(existing.arn, key, value)
      }
    }
    return arn
  }

  setTopicAttribute(arn: unknown, name: unknown, value: unknown): void {
    const topic = this.topicOfArn(arn)
    if (typeof name !== 'string' || !TOPIC_ATTRIBUTES.has(name) || name === 'FifoTopic') throw invalid(`Invalid parameter: AttributeName`)
    if (name === 'ContentBasedDeduplication' && topic.attributes.FifoTopic !== 'true') throw invalid('Invalid parameter: AttributeName Reason: ContentBasedDeduplication is only valid for FIFO topics')
    topic.attributes[name] = typeof value === 'string' ? value : ''
    this.saver.changed()
  }

  topicAttributes(arn: unknown): Record<string, string> {
    const topic = this.topicOfArn(arn)
    const subscribed = topic.subscriptions.filter((s) => this.subscriptions.has(s)).length
    const topicArn = this.topicArn(topic.name)
    return {
      Policy: JSON.stringify({
        Version: '2008-10-17',
        Id: '__default_policy_ID',
        Statement: [{ Sid: '__default_statement_ID', Effect: 'Allow', Principal: { AWS: '*' }, Action: ['SNS:Publish', 'SNS:Subscribe', 'SNS:Receive', 'SNS:GetTopicAttributes'], Resource: topicArn, Condition: { StringEquals: { 'AWS:SourceOwner': this.options.accountId } } }],
      }),
      Owner: this.options.accountId,
      SubscriptionsPending: '0',
      SubscriptionsConfirmed: String(subscribed),
      SubscriptionsDeleted: '0',
      DisplayName: '',
      EffectiveDeliveryPolicy: JSON.stringify({ http: { defaultHealthyRetryPolicy: { minDelayTarget: 20, maxDelayTarget: 20, numRetries: 3, numMaxDelayRetries: 0, numNoDelayRetries: 0, numMinDelayRetries: 0, backoffFunction: 'linear' }, disableSubscriptionOverrides: false } }),
      ...topic.attributes,
      TopicArn: topicArn,
    }
  }

  deleteTopic(arn: unknown): void {
    const topic = this.topicOfArn(arn)
    for (const subscription of topic.subscriptions) this.subscriptions.delete(subscription)
    this.topics.delete(topic.name)
    this.saver.changed()
  }

  /* ---------- subscriptions ---------- */

  subscribe(topicArn: unknown, protocol: unknown, endpoint: unknown, attributes: Record<string, string> = {}): string {
    const topic = this.topicOfArn(topicArn)
    if (protocol !== 'sqs' && protocol !== 'lambda') {
      throw invalid(`Invalid parameter: Amazon SNS does not support this protocol locally: ${String(protocol)} (sqs and lambda are delivered)`)
    }
    if (typeof endpoint !== 'string' || !(protocol === 'sqs' ? /^arn:aws[\w-]*:sqs:[\w-]+:\d{12}:[\w.-]+$/ : /^arn:aws[\w-]*:lambda:[\w-]+:\d{12}:function:[\w-]+(:[\w$-]+)?$/).test(endpoint)) {
      throw invalid(`Invalid parameter: ${protocol === 'sqs' ? 'SQS endpoint ARN' : 'Lambda endpoint ARN'}`)
    }
    if (protocol === 'lambda' && topic.attributes.FifoTopic === 'true') throw invalid('Invalid parameter: Invalid protocol type: lambda (FIFO topics deliver to SQS queues only)')
    const existing = [...this.subscriptions.values()].find((s) => s.topicArn === topicArn && s.protocol === protocol && s.endpoint === endpoint)
    if (existing !== undefined) {
      for (const [key, value] of Object.entries(attributes)) {
        if ((existing.attributes[key] ?? '') !== value) throw invalid('Invalid parameter: Attributes Reason: Subscription already exists with different attributes')
      }
      return existing.arn
    }
    const subscription: Subscription = { arn: `${topicArn}:${randomUUID()}`, topicArn: topicArn as string, protocol, endpoint, attributes: { RawMessageDelivery: 'false' } }
    this.subscriptions.set(subscription.arn, subscription)
    try {
      // The scope first: the policy is checked against it.
      const ordered = Object.entries(attributes).sort(([a], [b]) => Number(b === 'FilterPolicyScope') - Number(a === 'FilterPolicyScope'))
      for (const [key, value] of ordered) this.setSubscriptionAttribute(subscription.arn, key, value, true)
    } catch (error) {
      this.subscriptions.delete(subscription.arn)
      throw error
    }
    topic.subscriptions.push(subscription.arn)
    this.saver.changed()
    return subscription.arn
  }

  unsubscribe(arn: unknown): void {
    const subscription = this.subscription(arn)
    this.subscriptions.delete(subscription.arn)
    this.filters.delete(subscription.arn)
    const topic = this.topics.get(subscription.topicArn.slice(subscription.topicArn.lastIndexOf(':') + 1))
    if (topic !== undefined) topic.subscriptions = topic.subscriptions.filter((s) => s !== subscription.arn)
    this.saver.changed()
  }

  setSubscriptionAttribute(arn: unknown, name: unknown, value: unknown, subscribing = false): void {
    const subscription = this.subscription(arn)
    const where = subscribing ? 'Invalid parameter: Attributes Reason: ' : 'Invalid parameter: '
    if (typeof name !== 'string' || !SUBSCRIPTION_ATTRIBUTES.has(name)) throw invalid(`${where}AttributeName`)
    const text = typeof value === 'string' ? value : ''
    if (name === 'RawMessageDelivery') {
      if (text !== 'true' && text !== 'false') throw invalid(`${where}RawMessageDelivery: Invalid value [${text}]. Must be true or false.`)
      if (subscription.protocol === 'lambda' && text === 'true') throw invalid(`${where}Delivery protocol [lambda] does not support raw message delivery.`)
    }
    if (name === 'FilterPolicyScope' && text !== 'MessageAttributes' && text !== 'MessageBody') throw invalid(`${where}FilterPolicyScope: Invalid value [${text}]. Please use either MessageBody or MessageAttributes`)
    const next = { ...subscription.attributes, [name]: text }
    if (name === 'FilterPolicy' && (text === '' || text === '{}')) {
      delete next.FilterPolicy
    } else if (next.FilterPolicy !== undefined) {
      next.FilterPolicyScope ??= 'MessageAttributes'
      this.filters.set(subscription.arn, parseFilterPolicy(next.FilterPolicy, next.FilterPolicyScope as FilterPolicyScope))
    }
    if (next.FilterPolicy === undefined) this.filters.set(subscription.arn, undefined)
    subscription.attributes = next
    this.saver.changed()
  }

  subscriptionAttributes(arn: unknown): Record<string, string> {
    const subscription = this.subscription(arn)
    return {
      Owner: this.options.accountId,
      SubscriptionPrincipal: `arn:aws:iam::${this.options.accountId}:root`,
      ConfirmationWasAuthenticated: 'true',
      PendingConfirmation: 'false',
      ...subscription.attributes,
      SubscriptionArn: subscription.arn,
      TopicArn: subscription.topicArn,
      Protocol: subscription.protocol,
      Endpoint: subscription.endpoint,
    }
  }

  private filterOf(subscription: Subscription): FilterPolicy | undefined {
    if (!this.filters.has(subscription.arn)) {
      const { FilterPolicy: text, FilterPolicyScope: scope } = subscription.attributes
      this.filters.set(subscription.arn, text === undefined ? undefined : parseFilterPolicy(text, (scope ?? 'MessageAttributes') as FilterPolicyScope))
    }
    return this.filters.get(subscription.arn)
  }

  /* ---------- publishing ---------- */

  /** Publishes to a topic and delivers to every subscription whose filter policy the message passes. */
  publish(topicArn: unknown, input: PublishInput): { MessageId: string; SequenceNumber?: string } {
    const topic = this.topicOfArn(topicArn)
    if (typeof input.message !== 'string' || input.message === '') throw invalid('Invalid parameter: Empty message')
    const attributes = input.attributes ?? {}
    if (Buffer.byteLength(input.message) + checkSnsAttributes(attributes) > MAX_MESSAGE_BYTES) throw invalid('Invalid parameter: Message too long')
    if (input.subject !== undefined && (input.subject === '' || input.subject.length >= 100 || /[^\x20-\x7e]/.test(input.subject) || /^\s/.test(input.subject))) {
      throw invalid('Invalid parameter: Subject must be ASCII text that begins with a letter, number, or punctuation mark; must not include line breaks or control characters; and must be less than 100 characters long.')
    }
    let perProtocol: Record<string, unknown> | undefined
    if (input.structure !== undefined) {
      if (input.structure !== 'json') throw invalid('Invalid parameter: MessageStructure')
      try {
        perProtocol = JSON.parse(input.message) as Record<string, unknown>
      } catch {
        perProtocol = undefined
      }
      if (typeof perProtocol !== 'object' || perProtocol === null || typeof perProtocol.default !== 'string') {
        throw invalid('Invalid parameter: Message Structure - JSON message body failed to parse, or has no "default" string')
      }
    }
    const now = Date.now()
    const messageId = randomUUID()
    const result: { MessageId: string; SequenceNumber?: string } = { MessageId: messageId }
    let dedupId = input.dedupId
    if (topic.attributes.FifoTopic === 'true') {
      if (input.groupId === undefined || input.groupId === '') throw invalid('Invalid parameter: The MessageGroupId parameter is required for FIFO topics')
      if (dedupId === undefined) {
        if (topic.attributes.ContentBasedDeduplication !== 'true') {
          throw invalid('Invalid parameter: The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly')
        }
        dedupId = createHash('sha256').update(input.message).digest('hex')
      }
      topic.dedup = topic.dedup.filter(([, expires]) => expires > now)
      const duplicate = topic.dedup.find(([id]) => id === dedupId)
      if (duplicate !== undefined) return { MessageId: duplicate[2] }
      topic.dedup.push([dedupId, now + DEDUP_MS, messageId])
      topic.sequence = (BigInt(topic.sequence) + 1n).toString()
      result.SequenceNumber = topic.sequence.padStart(20, '0')
      this.saver.changed()
    } else if (input.groupId !== undefined || input.dedupId !== undefined) {
      throw invalid('Invalid parameter: The request includes MessageGroupId or MessageDeduplicationId parameter that is not valid for this topic type')
    }
    const timestamp = new Date(now).toISOString()
    for (const subscriptionArn of topic.subscriptions) {
      const subscription = this.subscriptions.get(subscriptionArn)
      if (subscription === undefined) continue
      const message = perProtocol === undefined ? input.message : String(perProtocol[subscription.protocol] ?? perProtocol.default)
      const filter = this.filterOf(subscription)
      if (filter !== undefined && !matchesFilterPolicy(filter, { body: message, attributes })) continue
      const notification = this.notification(subscription, { messageId, message, subject: input.subject, timestamp, attributes })
      if (subscription.protocol === 'lambda') {
        this.options.lambda(subscription.endpoint, { Records: [{ EventVersion: '1.0', EventSubscriptionArn: subscription.arn, EventSource: 'aws:sns', Sns: notification }] }, subscription.arn)
      } else {
        this.toQueue(subscription, notification, input.groupId, dedupId)
      }
    }
    return result
  }

  private notification(subscription: Subscription, message: { messageId: string; message: string; subject: string | undefined; timestamp: string; attributes: Readonly<Record<string, SnsMessageAttribute>> }): SnsNotification {
    const attributes: Record<string, { Type: string; Value: string }> = {}
    for (const [name, attribute] of Object.entries(message.attributes)) {
      setOwn(attributes, name, { Type: attribute.DataType, Value: (attribute.DataType.startsWith('Binary') ? attribute.BinaryValue : attribute.StringValue) as string })
    }
    return {
      Type: 'Notification',
      MessageId: message.messageId,
      TopicArn: subscription.topicArn,
      Subject: message.subject ?? null,
      Message: message.message,
      Timestamp: message.timestamp,
      SignatureVersion: '1',
      Signature: 'EXAMPLE',
      SigningCertUrl: 'EXAMPLE',
      UnsubscribeUrl: `${this.options.baseUrl()}/?Action=Unsubscribe&SubscriptionArn=${encodeURIComponent(subscription.arn)}`,
      MessageAttributes: attributes,
    }
  }

  /** Sends a notification to a subscribed queue: the JSON envelope, or with raw delivery the message and its attributes. */
  private toQueue(subscription: Subscription, notification: SnsNotification, groupId: string | undefined, dedupId: string | undefined): void {
    const queue = this.options.sqs.nameOfArn(subscription.endpoint)
    if (queue === undefined || !this.options.sqs.has(queue)) {
      this.options.log(`local SNS: ${subscription.arn}: the queue ${subscription.endpoint} does not exist; message ${notification.MessageId} is not delivered to it`)
      return
    }
    const raw = subscription.attributes.RawMessageDelivery === 'true'
    let body: string
    let attributes: SqsMessageAttributes | undefined
    if (raw) {
      body = notification.Message
      attributes = {}
      for (const [name, { Type, Value }] of Object.entries(notification.MessageAttributes)) {
        // SQS takes String.Array as a String with a custom type label.
        setOwn<SqsMessageAttribute>(attributes, name, Type.startsWith('Binary') ? { DataType: Type, BinaryValue: Value } : { DataType: Type, StringValue: Value })
      }
    } else {
      const { SigningCertUrl, UnsubscribeUrl, Subject, MessageAttributes, ...rest } = notification
      const envelope: Record<string, unknown> = { Type: rest.Type, MessageId: rest.MessageId, TopicArn: rest.TopicArn }
      if (Subject !== null) envelope.Subject = Subject
      Object.assign(envelope, { Message: rest.Message, Timestamp: rest.Timestamp, SignatureVersion: rest.SignatureVersion, Signature: rest.Signature, SigningCertURL: SigningCertUrl, UnsubscribeURL: UnsubscribeUrl })
      if (Object.keys(MessageAttributes).length > 0) envelope.MessageAttributes = MessageAttributes
      body = JSON.stringify(envelope)
    }
    try {
      this.options.sqs.send(queue, { body, ...(attributes ? { attributes } : {}), ...(groupId ? { groupId } : {}), ...(groupId && dedupId ? { dedupId } : {}), sender: this.options.accountId })
    } catch (error) {
      this.options.log(`local SNS: ${subscription.arn}: the queue ${queue} refused message ${notification.MessageId}: ${(error as Error).message}`)
    }
  }

  /* ---------- the Query protocol ---------- */

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = uuid()
    try {
      const query = (req.url ?? '/').includes('?') ? (req.url ?? '').slice((req.url ?? '').indexOf('?') + 1) : ''
      const body = req.method === 'POST' ? (await readBody(req, 4 * 1024 * 1024, () => invalid('Invalid parameter: the request is too large'))).toString('utf8') : ''
      const params = new URLSearchParams(body === '' ? query : body)
      const action = params.get('Action') ?? ''
      const result = this.operate(action, params)
      res.writeHead(200, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId })
      res.end(`<${action}Response xmlns="${NS}">${result === undefined ? '' : `<${action}Result>${result}</${action}Result>`}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`)
    } catch (error) {
      const known = error instanceof AwsError
      if (!known) this.options.log(`local SNS: internal error: ${(error as Error)?.stack ?? String(error)}`)
      const status = known ? error.status : 500
      if (res.headersSent) return void res.end()
      res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId })
      res.end(
        `<ErrorResponse xmlns="${NS}"><Error><Type>${status < 500 ? 'Sender' : 'Receiver'}</Type><Code>${known ? error.code : 'InternalError'}</Code><Message>${xmlEscape(known ? error.message : 'Internal error')}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
      )
    }
  }

  /** The XML inside `<ActionResult>` (undefined for actions without a result). */
  private operate(action: string, params: URLSearchParams): string | undefined {
    const get = (name: string): string | undefined => params.get(name) ?? undefined
    switch (action) {
      case 'CreateTopic':
        return el('TopicArn', this.createTopic(get('Name'), entries(params, 'Attributes')))
      case 'DeleteTopic':
        this.deleteTopic(get('TopicArn'))
        return undefined
      case 'ListTopics':
        return this.page(
          [...this.topics.keys()].sort().map((name) => el('member', [el('TopicArn', this.topicArn(name))])),
          get('NextToken'),
          'Topics',
        )
      case 'GetTopicAttributes':
        return el('Attributes', xmlEntries(this.topicAttributes(get('TopicArn'))))
      case 'SetTopicAttributes':
        this.setTopicAttribute(get('TopicArn'), get('AttributeName'), get('AttributeValue'))
        return undefined
      case 'Subscribe':
        return el('SubscriptionArn', this.subscribe(get('TopicArn'), get('Protocol'), get('Endpoint'), entries(params, 'Attributes')))
      case 'Unsubscribe':
        this.unsubscribe(get('SubscriptionArn'))
        return undefined
      case 'ListSubscriptions':
        return this.page([...this.subscriptions.values()].map((s) => this.member(s)), get('NextToken'), 'Subscriptions')
      case 'ListSubscriptionsByTopic': {
        const topic = this.topicOfArn(get('TopicArn'))
        return this.page(topic.subscriptions.map((arn) => this.subscriptions.get(arn)).filter((s): s is Subscription => s !== undefined).map((s) => this.member(s)), get('NextToken'), 'Subscriptions')
      }
      case 'GetSubscriptionAttributes':
        return el('Attributes', xmlEntries(this.subscriptionAttributes(get('SubscriptionArn'))))
      case 'SetSubscriptionAttributes':
        this.setSubscriptionAttribute(get('SubscriptionArn'), get('AttributeName'), get('AttributeValue'))
        return undefined
      case 'Publish': {
        if (get('TargetArn') !== undefined && get('TopicArn') === undefined) throw invalid('Invalid parameter: TargetArn (only topics are published to locally)')
        if (get('PhoneNumber') !== undefined) throw invalid('Invalid parameter: PhoneNumber (SMS is not delivered locally)')
        const out = this.publish(get('TopicArn') ?? get('TargetArn'), publishInput(params, ''))
        return el('MessageId', out.MessageId) + el('SequenceNumber', out.SequenceNumber)
      }
      case 'PublishBatch':
        return this.publishBatch(get('TopicArn'), params)
      default:
        throw invalid(`Invalid parameter: Action ${action === '' ? '(none)' : action} is not supported locally`)
    }
  }

  private member(subscription: Subscription): string {
    return el('member', [
      el('SubscriptionArn', subscription.arn),
      el('Owner', this.options.accountId),
      el('Protocol', subscription.protocol),
      el('Endpoint', subscription.endpoint),
      el('TopicArn', subscription.topicArn),
    ])
  }

  private page(members: string[], token: string | undefined, list: string): string {
    const start = token === undefined ? 0 : Number.parseInt(Buffer.from(token, 'base64').toString('utf8'), 10)
    if (!Number.isInteger(start) || start < 0 || start > members.length) throw invalid('Invalid parameter: NextToken')
    const next = start + PAGE < members.length ? Buffer.from(String(start + PAGE)).toString('base64') : undefined
    return el(list, members.slice(start, start + PAGE)) + el('NextToken', next)
  }

  private publishBatch(topicArn: string | undefined, params: URLSearchParams): string {
    this.topicOfArn(topicArn)
    const count = new Set([...params.keys()].map((key) => /^PublishBatchRequestEntries\.member\.(\d+)\./.exec(key)?.[1]).filter((n) => n !== undefined)).size
    if (count === 0) throw new AwsError('EmptyBatchRequest', 'The batch request doesn\'t contain any entries.')
    if (count > 10) throw new AwsError('TooManyEntriesInBatchRequest', 'The batch request contains more entries than permissible.')
    const ids = new Set<string>()
    let total = 0
    const inputs: Array<{ id: string; input: PublishInput }> = []
    for (let n = 1; n <= count; n++) {
      const prefix = `PublishBatchRequestEntries.member.${n}.`
      const id = params.get(`${prefix}Id`) ?? ''
      if (!/^[A-Za-z0-9_-]{1,80}$/.test(id)) throw new AwsError('InvalidBatchEntryId', 'The Id of a batch entry in a batch request doesn\'t abide by the specification.')
      if (ids.has(id)) throw new AwsError('BatchEntryIdsNotDistinct', 'Two or more batch entries in the request have the same Id.')
      ids.add(id)
      const input = publishInput(params, prefix)
      total += Buffer.byteLength(input.message ?? '')
      inputs.push({ id, input })
    }
    if (total > MAX_MESSAGE_BYTES) throw new AwsError('BatchRequestTooLong', 'The length of all the messages put together is more than the limit.')
    const successful: string[] = []
    const failed: string[] = []
    for (const { id, input } of inputs) {
      try {
        const out = this.publish(topicArn, input)
        successful.push(el('member', [el('Id', id), el('MessageId', out.MessageId), el('SequenceNumber', out.SequenceNumber)]))
      } catch (error) {
        if (!(error instanceof AwsError)) throw error
        failed.push(el('member', [el('Id', id), el('Code', error.code), el('Message', error.message), el('SenderFault', error.status < 500)]))
      }
    }
    return el('Successful', successful) + el('Failed', failed)
  }

  /* ---------- state ---------- */

  private snapshot(): { version: 1; topics: Topic[]; subscriptions: Subscription[] } {
    return { version: 1, topics: [...this.topics.values()], subscriptions: [...this.subscriptions.values()] }
  }

  async stop(): Promise<void> {
    this.saver.changed()
    await this.saver.flush()
  }
}

/** A Query API map (`<prefix>.entry.N.key` / `.value`). */
function entries(params: URLSearchParams, prefix: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (let n = 1; params.has(`${prefix}.entry.${n}.key`); n++) setOwn(out, params.get(`${prefix}.entry.${n}.key`) as string, params.get(`${prefix}.entry.${n}.value`) ?? '')
  return out
}

function xmlEntries(map: Record<string, string>): string[] {
  return Object.entries(map).map(([key, value]) => el('entry', [el('key', key), el('value', value)]))
}

/** A Publish request's (or a batch entry's) message, subject, structure, attributes and FIFO ids. */
function publishInput(params: URLSearchParams, prefix: string): PublishInput {
  const get = (name: string): string | undefined => params.get(`${prefix}${name}`) ?? undefined
  const attributes: Record<string, SnsMessageAttribute> = {}
  for (let n = 1; params.has(`${prefix}MessageAttributes.entry.${n}.Name`); n++) {
    const at = `${prefix}MessageAttributes.entry.${n}.`
    const attribute: { DataType: string; StringValue?: string; BinaryValue?: string } = { DataType: params.get(`${at}Value.DataType`) ?? '' }
    const text = params.get(`${at}Value.StringValue`)
    const binary = params.get(`${at}Value.BinaryValue`)
    if (text !== null) attribute.StringValue = text
    if (binary !== null) attribute.BinaryValue = binary
    setOwn(attributes, params.get(`${at}Name`) as string, attribute)
  }
  const input: { -readonly [K in keyof PublishInput]: PublishInput[K] } = { message: get('Message') as string, attributes }
  const subject = get('Subject')
  if (subject !== undefined) input.subject = subject
  const structure = get('MessageStructure')
  if (structure !== undefined) input.structure = structure as 'json'
  const group = get('MessageGroupId')
  if (group !== undefined) input.groupId = group
  const dedup = get('MessageDeduplicationId')
  if (dedup !== undefined) input.dedupId = dedup
  return input
}
