/**
 * A local Amazon SQS for `serverless offline`: queues as the SQS API reference describes them, over the AWS JSON
 * protocol the current SDKs and CLI speak (`POST /` with `x-amz-target: AmazonSQS.<Operation>` and
 * `application/x-amz-json-1.0`; errors with `__type` and the Query API's code in `x-amzn-query-error`, which the
 * SDK turns into `QueueDoesNotExist` and the like).
 *
 * Semantics (Amazon SQS API Reference and Developer Guide): visibility timeouts, a new receipt handle on every
 * receive, `ApproximateReceiveCount`, `ApproximateFirstReceiveTimestamp`, `SentTimestamp`, the MD5 of the body and
 * of the message attributes ("Calculating the MD5 message digest for message attributes"), per-message and queue
 * delays, long polling, the redrive policy (a message received `maxReceiveCount` times moves to the dead-letter
 * queue on its next receive), FIFO queues (message groups in order, one group's messages in flight at a time,
 * deduplication by id or content for five minutes, sequence numbers), PurgeQueue once a minute, and the batch
 * operations with their limits and per-entry errors.
 *
 * Left out: the Query (XML) protocol, permissions and policies (accepted, not enforced), tags, message move tasks,
 * ReceiveRequestAttemptId, KMS (attributes accepted and returned), fair queues, 12-hour visibility ceilings.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { setOwn } from '@polycloud/core/adapter'
import { AwsError, readBody, signedService, uuid } from './http.js'
import { readJsonState, Saver } from './state.js'

/** A message attribute as the JSON protocol carries it (a binary value as base64). */
export interface SqsMessageAttribute {
  DataType: string
  StringValue?: string
  BinaryValue?: string
}

export type SqsMessageAttributes = Record<string, SqsMessageAttribute>

/** A queue as the service model declares it (serverless.yml's `fromQueue`, or a queue the stack creates). */
export interface QueueSpec {
  readonly name: string
  readonly fifo?: boolean
  /** Seconds (0-43200); SQS's default 30. */
  readonly visibilityTimeout?: number
  readonly delaySeconds?: number
  readonly messageRetentionPeriod?: number
  readonly maximumMessageSize?: number
  readonly receiveMessageWaitTimeSeconds?: number
  readonly contentBasedDeduplication?: boolean
  /** The redrive policy: the dead-letter queue (by name) and the receives before a message moves there. */
  readonly deadLetter?: { readonly queue: string; readonly maxReceiveCount: number }
}

/** A message as the local console shows it (see {@link LocalSqs.peek}). */
export interface PeekedMessage {
  readonly id: string
  readonly body: string
  readonly attributes: SqsMessageAttributes
  readonly receiveCount: number
  readonly sent: number
  readonly inFlight: boolean
  /** In a dead-letter queue: the queue it came from. */
  readonly deadLetterSource?: string
}

/** A message as SQS keeps it. */
interface StoredMessage {
  id: string
  body: string
  md5: string
  attributes: SqsMessageAttributes
  trace?: string
  sender: string
  sent: number
  visibleAt: number
  receiveCount: number
  firstReceive?: number
  receipt?: string
  groupId?: string
  dedupId?: string
  sequence?: string
  deadLetterSource?: string
}

interface Queue {
  readonly name: string
  attributes: Record<string, string>
  readonly created: number
  modified: number
  messages: StoredMessage[]
  /** FIFO deduplication: key -> when it expires, and the message it was. */
  dedup: Map<string, { expires: number; id: string; sequence?: string }>
  sequence: bigint
  lastPurge?: number
  readonly waiters: Set<() => void>
}

/** A received message as the API answers it. */
export interface ReceivedMessage {
  MessageId: string
  ReceiptHandle: string
  MD5OfBody: string
  Body: string
  Attributes?: Record<string, string>
  MD5OfMessageAttributes?: string
  MessageAttributes?: SqsMessageAttributes
}

export interface SendInput {
  readonly body: string
  readonly attributes?: SqsMessageAttributes
  readonly delaySeconds?: number
  readonly groupId?: string
  readonly dedupId?: string
  readonly trace?: string
  readonly sender?: string
}

export interface SendResult {
  MessageId: string
  MD5OfMessageBody: string
  MD5OfMessageAttributes?: string
  MD5OfMessageSystemAttributes?: string
  SequenceNumber?: string
}

export interface ReceiveInput {
  readonly max?: number
  readonly visibilityTimeout?: number
  /** Seconds to wait for a message (long polling, at most 20); the queue's ReceiveMessageWaitTimeSeconds if unset. */
  readonly waitSeconds?: number
  /** System attributes to return (`All` for every one). */
  readonly attributeNames?: readonly string[]
  /** Message attributes to return (`All`, `.*`, `prefix.*` or names). */
  readonly messageAttributeNames?: readonly string[]
  /** Ends the wait (nothing is received once it is aborted). */
  readonly signal?: AbortSignal
}

export interface SqsOptions {
  readonly region: string
  readonly accountId: string
  /** The service's base URL (queue URLs are `<base>/<account>/<name>`), known once the server listens. */
  readonly baseUrl: () => string
  /** Where the queues and their messages are saved between runs; in memory only when undefined. */
  readonly stateFile?: string
  readonly log: (line: string) => void
  /** Milliseconds in one SQS second (visibility timeouts, delays, waits, retention): 1000 but in tests. */
  readonly second?: number
}

const MAX_MESSAGE_BYTES = 1_048_576
const MAX_BATCH_BYTES = 1_048_576
const MAX_WAIT_SECONDS = 20
const DEDUP_MS = 5 * 60_000
/** A JSON request (a batch of ten 1 MiB messages, escaped) is refused beyond this. */
const MAX_REQUEST_BYTES = 16 * 1024 * 1024

const DEFAULTS: Record<string, string> = {
  DelaySeconds: '0',
  MaximumMessageSize: String(MAX_MESSAGE_BYTES),
  MessageRetentionPeriod: '345600',
  ReceiveMessageWaitTimeSeconds: '0',
  VisibilityTimeout: '30',
  SqsManagedSseEnabled: 'true',
}

const FIFO_DEFAULTS: Record<string, string> = { ContentBasedDeduplication: 'false', DeduplicationScope: 'queue', FifoThroughputLimit: 'perQueue' }

const RANGES: Record<string, [number, number]> = {
  DelaySeconds: [0, 900],
  MaximumMessageSize: [1024, MAX_MESSAGE_BYTES],
  MessageRetentionPeriod: [60, 1_209_600],
  ReceiveMessageWaitTimeSeconds: [0, 20],
  VisibilityTimeout: [0, 43_200],
  KmsDataKeyReusePeriodSeconds: [60, 86_400],
}

const SETTABLE = new Set([
  ...Object.keys(RANGES),
  'Policy',
  'RedrivePolicy',
  'RedriveAllowPolicy',
  'KmsMasterKeyId',
  'SqsManagedSseEnabled',
  'FifoQueue',
  'ContentBasedDeduplication',
  'DeduplicationScope',
  'FifoThroughputLimit',
])

const COMPUTED = [
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
  'CreatedTimestamp',
  'LastModifiedTimestamp',
  'QueueArn',
]

const SYSTEM_ATTRIBUTES = [
  'SenderId',
  'SentTimestamp',
  'ApproximateReceiveCount',
  'ApproximateFirstReceiveTimestamp',
  'SequenceNumber',
  'MessageDeduplicationId',
  'MessageGroupId',
  'AWSTraceHeader',
  'DeadLetterQueueSourceArn',
]

/** The characters SQS accepts in a body or string attribute (SendMessage: #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF). */
// eslint-disable-next-line no-control-regex -- the allowed control characters are the point.
const INVALID_CHARACTER = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u
const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}$/
const BATCH_ID = /^[A-Za-z0-9_-]{1,80}$/
const ATTRIBUTE_NAME = /^[A-Za-z0-9_.-]{1,256}$/
const DEDUP_ID = /^[!-~]{1,128}$/
const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/

const md5Hex = (data: string | Uint8Array): string => createHash('md5').update(data).digest('hex')

function lengthPrefixed(parts: Buffer[], bytes: Buffer): void {
  const length = Buffer.alloc(4)
  length.writeUInt32BE(bytes.length)
  parts.push(length, bytes)
}

/**
 * The MD5 of message attributes as SQS computes it (Developer Guide, "Calculating the MD5 message digest for
 * message attributes"): attributes sorted by name; for each, the name, the data type (with any custom suffix), a
 * transport byte (1 for String and Number, 2 for Binary) and the value, each length-prefixed (4 bytes, big-endian)
 * UTF-8 (binary values as their raw bytes). Undefined when there are none.
 */
export function md5OfMessageAttributes(attributes: SqsMessageAttributes): string | undefined {
  const names = Object.keys(attributes).sort()
  if (names.length === 0) return undefined
  const parts: Buffer[] = []
  for (const name of names) {
    const attribute = attributes[name] as SqsMessageAttribute
    lengthPrefixed(parts, Buffer.from(name, 'utf8'))
    lengthPrefixed(parts, Buffer.from(attribute.DataType, 'utf8'))
    if (attribute.DataType.startsWith('Binary')) {
      parts.push(Buffer.of(2))
      lengthPrefixed(parts, Buffer.from(attribute.BinaryValue ?? '', 'base64'))
    } else {
      parts.push(Buffer.of(1))
      lengthPrefixed(parts, Buffer.from(attribute.StringValue ?? '', 'utf8'))
    }
  }
  return md5Hex(Buffer.concat(parts))
}

const invalid = (message: string): AwsError => new AwsError('InvalidParameterValue', message)
const missing = (name: string): AwsError => new AwsError('MissingParameter', `The request must contain the parameter ${name}.`)

/** Checks message attributes as SendMessage does; returns their size in bytes (name, type and value). */
export function checkMessageAttributes(attributes: unknown, system = false): number {
  if (attributes === undefined || attributes === null) return 0
  if (typeof attributes !== 'object' || Array.isArray(attributes)) throw invalid('MessageAttributes must be a map of name to attribute value.')
  const entries = Object.entries(attributes as Record<string, unknown>)
  if (entries.length > 10) throw invalid(`Number of message attributes [${entries.length}] exceeds the allowed maximum [10].`)
  let size = 0
  for (const [name, value] of entries) {
    const lower = name.toLowerCase()
    if (!ATTRIBUTE_NAME.test(name) || name.startsWith('.') || name.endsWith('.') || name.includes('..') || (!system && (lower.startsWith('aws.') || lower.startsWith('amazon.')))) {
      throw invalid(`Message (user) attribute name '${name}' is invalid: use up to 256 of A-Z, a-z, 0-9, _, - and ., not starting with AWS. or Amazon., without leading, trailing or repeated periods.`)
    }
    if (typeof value !== 'object' || value === null) throw invalid(`The message attribute '${name}' must contain a non-empty message attribute value.`)
    const { DataType: type, StringValue: text, BinaryValue: binary } = value as Record<string, unknown>
    if (typeof type !== 'string' || type === '') throw invalid(`The message attribute '${name}' must contain a non-empty message attribute type.`)
    const base = /^(String|Number|Binary)(\..+)?$/.exec(type)?.[1]
    if (base === undefined || type.length > 256) throw invalid(`The type of message (user) attribute '${name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String.`)
    if (base === 'Binary') {
      if (typeof binary !== 'string' || binary === '') throw invalid(`The message attribute '${name}' with type 'Binary' must use field 'Binary'.`)
      size += Buffer.byteLength(binary, 'base64')
    } else {
      if (typeof text !== 'string' || text === '') throw invalid(`The message attribute '${name}' with type '${base}' must use field 'String'.`)
      if (INVALID_CHARACTER.test(text)) throw new AwsError('InvalidMessageContents', `Invalid characters found in the value of message attribute '${name}'.`)
      if (base === 'Number' && (!NUMBER.test(text) || text.replace(/[^0-9]/g, '').replace(/^0+/, '').length > 38)) {
        throw invalid(`Can't cast the value of message (user) attribute '${name}' to a number.`)
      }
      size += Buffer.byteLength(text)
    }
    size += Buffer.byteLength(name) + Buffer.byteLength(type)
  }
  return size
}

function copyAttributes(attributes: SqsMessageAttributes | undefined): SqsMessageAttributes {
  const out: SqsMessageAttributes = {}
  for (const [name, value] of Object.entries(attributes ?? {})) {
    setOwn<SqsMessageAttribute>(out, name, value.DataType.startsWith('Binary') ? { DataType: value.DataType, BinaryValue: value.BinaryValue as string } : { DataType: value.DataType, StringValue: value.StringValue as string })
  }
  return out
}

function isQueueState(value: unknown): value is { version: 1; queues: PersistedQueue[] } {
  return typeof value === 'object' && value !== null && (value as { version?: unknown }).version === 1 && Array.isArray((value as { queues?: unknown }).queues)
}

interface PersistedQueue {
  name: string
  attributes: Record<string, string>
  created: number
  modified: number
  sequence: string
  messages: StoredMessage[]
  dedup: Array<[string, { expires: number; id: string; sequence?: string }]>
}

export class LocalSqs {
  private readonly queues = new Map<string, Queue>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private readonly saver: Saver
  private stopped = false
  readonly second: number

  constructor(private readonly options: SqsOptions) {
    this.second = options.second ?? 1000
    this.saver = new Saver(options.stateFile, () => this.snapshot(), (error) => options.log(`local SQS: could not save its state: ${(error as Error).message}`))
    const saved = options.stateFile === undefined ? undefined : readJsonState(options.stateFile, 'queues', options.log, isQueueState)
    for (const queue of saved?.queues ?? []) {
      this.queues.set(queue.name, { ...queue, sequence: BigInt(queue.sequence), dedup: new Map(queue.dedup), waiters: new Set() })
    }
  }

  /* ---------- names ---------- */

  queueArn(name: string): string {
    return `arn:aws:sqs:${this.options.region}:${this.options.accountId}:${name}`
  }

  queueUrl(name: string): string {
    return `${this.options.baseUrl()}/${this.options.accountId}/${name}`
  }

  /** The queue name of an ARN of this region and account, or undefined. */
  nameOfArn(arn: string): string | undefined {
    const prefix = `arn:aws:sqs:${this.options.region}:${this.options.accountId}:`
    return arn.startsWith(prefix) ? arn.slice(prefix.length) : undefined
  }

  names(): string[] {
    return [...this.queues.keys()].sort()
  }

  has(name: string): boolean {
    return this.queues.has(name)
  }

  private queue(name: string): Queue {
    const queue = this.queues.get(name)
    if (queue === undefined) throw new AwsError('AWS.SimpleQueueService.NonExistentQueue', 'The specified queue does not exist.')
    return queue
  }

  /** The queue a QueueUrl names (`<any host>/<account>/<name>`; a bare name is accepted too). */
  private queueOfUrl(url: unknown): Queue {
    if (typeof url !== 'string' || url === '') throw missing('QueueUrl')
    let path = url
    if (/^https?:\/\//.test(url)) {
      try {
        path = new URL(url).pathname
      } catch {
        throw invalid(`Value ${url} for parameter QueueUrl is invalid. Reason: Not a valid URL.`)
      }
    }
    const parts = path.split('/').filter(Boolean)
    const name = parts[parts.length - 1] ?? ''
    if (parts.length === 2 && parts[0] !== this.options.accountId) throw new AwsError('AWS.SimpleQueueService.NonExistentQueue', 'The specified queue does not exist.')
    return this.queue(decodeURIComponent(name))
  }

  /* ---------- queues ---------- */

  /** Creates a queue, or checks that the existing one has these attributes (CreateQueue). Returns its URL. */
  createQueue(name: string, given: Record<string, string> = {}): string {
    if (typeof name !== 'string' || name === '') throw missing('QueueName')
    const fifo = name.endsWith('.fifo')
    if (!QUEUE_NAME.test(fifo ? name.slice(0, -5) : name) || name.length > 80) {
      throw invalid('Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length')
    }
    const attributes = this.checkAttributes(given, true)
    if ((attributes.FifoQueue === 'true') !== fifo) {
      throw invalid(fifo ? 'The queue name ends with .fifo: set the FifoQueue attribute to true for a FIFO queue.' : 'The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.')
    }
    const existing = this.queues.get(name)
    if (existing !== undefined) {
      for (const [key, value] of Object.entries(attributes)) {
        if (key !== 'FifoQueue' && (existing.attributes[key] ?? DEFAULTS[key] ?? FIFO_DEFAULTS[key]) !== value) {
          throw new AwsError('QueueAlreadyExists', `A queue already exists with the same name and a different value for attribute ${key}`)
        }
      }
      return this.queueUrl(name)
    }
    const now = Date.now()
    const seconds = Math.floor(now / 1000)
    this.queues.set(name, {
      name,
      attributes: { ...DEFAULTS, ...(fifo ? FIFO_DEFAULTS : {}), ...attributes },
      created: seconds,
      modified: seconds,
      messages: [],
      dedup: new Map(),
      sequence: BigInt(now) * 1_000_000n,
      waiters: new Set(),
    })
    this.saver.changed()
    return this.queueUrl(name)
  }

  /** Creates or updates a queue of the service model (its messages kept); dead-letter queues must exist first. */
  ensureQueue(spec: QueueSpec): string {
    const attributes: Record<string, string> = {}
    const set = (key: string, value: number | boolean | undefined): void => {
      if (value !== undefined) attributes[key] = String(value)
    }
    set('VisibilityTimeout', spec.visibilityTimeout)
    set('DelaySeconds', spec.delaySeconds)
    set('MessageRetentionPeriod', spec.messageRetentionPeriod)
    set('MaximumMessageSize', spec.maximumMessageSize)
    set('ReceiveMessageWaitTimeSeconds', spec.receiveMessageWaitTimeSeconds)
    const fifo = spec.fifo === true || spec.name.endsWith('.fifo')
    if (fifo) {
      attributes.FifoQueue = 'true'
      set('ContentBasedDeduplication', spec.contentBasedDeduplication ?? false)
    }
    if (spec.deadLetter !== undefined) {
      attributes.RedrivePolicy = JSON.stringify({ deadLetterTargetArn: this.queueArn(spec.deadLetter.queue), maxReceiveCount: spec.deadLetter.maxReceiveCount })
    }
    if (!this.queues.has(spec.name)) return this.createQueue(spec.name, attributes)
    const { FifoQueue: _fifo, ...settable } = attributes
    this.setAttributes(spec.name, settable)
    return this.queueUrl(spec.name)
  }

  /** Validates queue attributes (CreateQueue, SetQueueAttributes); returns them normalised. */
  private checkAttributes(given: unknown, creating: boolean, queue?: Queue): Record<string, string> {
    if (given === undefined || given === null) return {}
    if (typeof given !== 'object' || Array.isArray(given)) throw invalid('Attributes must be a map of attribute name to value.')
    const out: Record<string, string> = {}
    const fifo = creating ? (given as Record<string, unknown>).FifoQueue === 'true' : queue?.attributes.FifoQueue === 'true'
    for (const [key, raw] of Object.entries(given as Record<string, unknown>)) {
      if (!SETTABLE.has(key)) throw new AwsError('InvalidAttributeName', `Unknown Attribute ${key}.`)
      const value = String(raw)
      const range = RANGES[key]
      if (range !== undefined) {
        const number = Number(value)
        if (!/^\d+$/.test(value) || number < range[0] || number > range[1]) {
          throw new AwsError('InvalidAttributeValue', `Invalid value for the parameter ${key}. Reason: must be an integer from ${range[0]} to ${range[1]}.`)
        }
      } else if (key === 'FifoQueue') {
        if (!creating) throw new AwsError('InvalidAttributeName', 'Invalid attribute name FifoQueue: it can only be set when the queue is created.')
        if (value !== 'true' && value !== 'false') throw new AwsError('InvalidAttributeValue', 'Invalid value for the parameter FifoQueue.')
      } else if (key === 'ContentBasedDeduplication' || key === 'SqsManagedSseEnabled') {
        if (value !== 'true' && value !== 'false') throw new AwsError('InvalidAttributeValue', `Invalid value for the parameter ${key}.`)
        if (key === 'ContentBasedDeduplication' && !fifo) throw new AwsError('InvalidAttributeName', 'Unknown Attribute ContentBasedDeduplication.')
      } else if (key === 'DeduplicationScope' || key === 'FifoThroughputLimit') {
        const allowed = key === 'DeduplicationScope' ? ['messageGroup', 'queue'] : ['perQueue', 'perMessageGroupId']
        if (!fifo) throw new AwsError('InvalidAttributeName', `Unknown Attribute ${key}.`)
        if (!allowed.includes(value)) throw new AwsError('InvalidAttributeValue', `Invalid value for the parameter ${key}.`)
      } else if (key === 'RedrivePolicy' && value !== '') {
        this.checkRedrivePolicy(value, fifo)
      } else if ((key === 'Policy' || key === 'RedriveAllowPolicy') && value !== '') {
        try {
          JSON.parse(value)
        } catch {
          throw new AwsError('InvalidAttributeValue', `Invalid value for the parameter ${key}.`)
        }
      }
      out[key] = value
    }
    return out
  }

  private checkRedrivePolicy(value: string, fifo: boolean): void {
    const refuse = (reason: string): AwsError => new AwsError('InvalidParameterValue', `Value ${value} for parameter RedrivePolicy is invalid. Reason: ${reason}`)
    let policy: { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown }
    try {
      policy = JSON.parse(value) as typeof policy
    } catch {
      throw refuse('Redrive policy is not a valid JSON map.')
    }
    const count = Number(policy.maxReceiveCount)
    if (!Number.isInteger(count) || count < 1 || count > 1000) throw refuse('Invalid value for maxReceiveCount: must be an integer from 1 to 1000.')
    const target = typeof policy.deadLetterTargetArn === 'string' ? this.nameOfArn(policy.deadLetterTargetArn) : undefined
    const dlq = target === undefined ? undefined : this.queues.get(target)
    if (dlq === undefined) throw refuse('Dead letter target does not exist.')
    if ((dlq.attributes.FifoQueue === 'true') !== fifo) throw refuse('Dead-letter queue must be the same type of queue as the source.')
  }

  setAttributes(name: string, given: Record<string, string>): void {
    const queue = this.queue(name)
    const attributes = this.checkAttributes(given, false, queue)
    for (const [key, value] of Object.entries(attributes)) {
      if (value === '' && (key === 'RedrivePolicy' || key === 'Policy' || key === 'RedriveAllowPolicy')) delete queue.attributes[key]
      else queue.attributes[key] = value
    }
    queue.modified = Math.floor(Date.now() / 1000)
    this.saver.changed()
  }

  getAttributes(name: string, names: readonly string[] = []): Record<string, string> {
    const queue = this.queue(name)
    const now = Date.now()
    this.expire(queue, now)
    const all: Record<string, string> = {
      ...queue.attributes,
      QueueArn: this.queueArn(name),
      ApproximateNumberOfMessages: String(queue.messages.filter((m) => m.visibleAt <= now).length),
      ApproximateNumberOfMessagesNotVisible: String(queue.messages.filter((m) => m.visibleAt > now && m.receipt !== undefined).length),
      ApproximateNumberOfMessagesDelayed: String(queue.messages.filter((m) => m.visibleAt > now && m.receipt === undefined).length),
      CreatedTimestamp: String(queue.created),
      LastModifiedTimestamp: String(queue.modified),
    }
    const known = new Set([...SETTABLE, ...COMPUTED, 'All'])
    for (const requested of names) if (!known.has(requested)) throw new AwsError('InvalidAttributeName', `Unknown Attribute ${requested}.`)
    if (names.includes('All')) return all
    const out: Record<string, string> = {}
    for (const requested of names) if (all[requested] !== undefined) out[requested] = all[requested]
    return out
  }

  deleteQueue(name: string): void {
    const queue = this.queue(name)
    this.queues.delete(name)
    for (const wake of queue.waiters) wake()
    this.saver.changed()
  }

  purge(name: string): void {
    const queue = this.queue(name)
    const now = Date.now()
    if (queue.lastPurge !== undefined && now - queue.lastPurge < 60_000) {
      throw new AwsError('AWS.SimpleQueueService.PurgeQueueInProgress', `Only one PurgeQueue operation on ${name} is allowed every 60 seconds.`, 403)
    }
    queue.lastPurge = now
    queue.messages = []
    this.saver.changed()
  }

  /** The source queues whose redrive policy names this queue (ListDeadLetterSourceQueues). */
  deadLetterSources(name: string): string[] {
    const arn = this.queueArn(this.queue(name).name)
    return this.names().filter((source) => {
      const policy = this.queues.get(source)?.attributes.RedrivePolicy
      return policy !== undefined && (JSON.parse(policy) as { deadLetterTargetArn?: string }).deadLetterTargetArn === arn
    })
  }

  /* ---------- messages ---------- */

  /** Sends a message (SendMessage); a FIFO duplicate within five minutes is accepted and not delivered again. */
  send(name: string, input: SendInput): SendResult {
    const queue = this.queue(name)
    const fifo = queue.attributes.FifoQueue === 'true'
    if (typeof input.body !== 'string') throw missing('MessageBody')
    if (input.body === '') throw invalid('The request must contain a non-empty message body.')
    if (INVALID_CHARACTER.test(input.body)) {
      throw new AwsError('InvalidMessageContents', 'Invalid binary character in the message body: allowed are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF.')
    }
    const size = Buffer.byteLength(input.body) + checkMessageAttributes(input.attributes)
    const limit = Number(queue.attributes.MaximumMessageSize)
    if (size > limit) throw invalid(`One or more parameters are invalid. Reason: Message must be shorter than ${limit} bytes.`)
    let delay = Number(queue.attributes.DelaySeconds)
    if (input.delaySeconds !== undefined) {
      if (!Number.isInteger(input.delaySeconds) || input.delaySeconds < 0 || input.delaySeconds > 900) {
        throw invalid(`Value ${input.delaySeconds} for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.`)
      }
      if (fifo && input.delaySeconds !== 0) throw invalid(`Value ${input.delaySeconds} for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.`)
      delay = input.delaySeconds
    }
    const now = Date.now()
    const attributes = copyAttributes(input.attributes)
    const result: SendResult = { MessageId: '', MD5OfMessageBody: md5Hex(input.body) }
    const md5Attributes = md5OfMessageAttributes(attributes)
    if (md5Attributes !== undefined) result.MD5OfMessageAttributes = md5Attributes
    if (input.trace !== undefined) result.MD5OfMessageSystemAttributes = md5OfMessageAttributes({ AWSTraceHeader: { DataType: 'String', StringValue: input.trace } }) as string
    const message: StoredMessage = { id: randomUUID(), body: input.body, md5: result.MD5OfMessageBody, attributes, sender: input.sender ?? this.options.accountId, sent: now, visibleAt: now + delay * this.second, receiveCount: 0 }
    if (input.trace !== undefined) message.trace = input.trace
    if (fifo) {
      if (input.groupId === undefined || input.groupId === '') throw missing('MessageGroupId')
      if (!DEDUP_ID.test(input.groupId)) throw invalid(`Value ${input.groupId} for parameter MessageGroupId is invalid. Reason: up to 128 alphanumeric or punctuation characters.`)
      let dedupId = input.dedupId
      if (dedupId === undefined) {
        if (queue.attributes.ContentBasedDeduplication !== 'true') {
          throw invalid('The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly')
        }
        // Content-based deduplication: a SHA-256 of the body, not of the attributes (SendMessage).
        dedupId = createHash('sha256').update(input.body).digest('hex')
      } else if (!DEDUP_ID.test(dedupId)) {
        throw invalid(`Value ${dedupId} for parameter MessageDeduplicationId is invalid. Reason: up to 128 alphanumeric or punctuation characters.`)
      }
      const key = queue.attributes.DeduplicationScope === 'messageGroup' ? `${input.groupId}\n${dedupId}` : dedupId
      for (const [seen, entry] of queue.dedup) if (entry.expires <= now) queue.dedup.delete(seen)
      const duplicate = queue.dedup.get(key)
      if (duplicate !== undefined) {
        result.MessageId = duplicate.id
        if (duplicate.sequence !== undefined) result.SequenceNumber = duplicate.sequence
        return result
      }
      queue.sequence += 1n
      message.groupId = input.groupId
      message.dedupId = dedupId
      message.sequence = queue.sequence.toString().padStart(20, '0')
      queue.dedup.set(key, { expires: now + DEDUP_MS, id: message.id, sequence: message.sequence })
      result.SequenceNumber = message.sequence
    } else if (input.dedupId !== undefined) {
      throw invalid('The request includes the parameter MessageDeduplicationId, which is valid only for FIFO queues.')
    } else if (input.groupId !== undefined) {
      message.groupId = input.groupId
    }
    result.MessageId = message.id
    queue.messages.push(message)
    this.wake(queue)
    this.saver.changed()
    return result
  }

  /**
   * Receives messages (ReceiveMessage): each becomes invisible for the visibility timeout with a new receipt
   * handle; one received `maxReceiveCount` times moves to the dead-letter queue instead. Waits up to
   * `waitSeconds` for a message when none is there (long polling).
   */
  async receive(name: string, input: ReceiveInput = {}): Promise<ReceivedMessage[]> {
    const max = input.max ?? 1
    if (!Number.isInteger(max) || max < 1 || max > 10) throw invalid(`Value ${max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.`)
    if (input.visibilityTimeout !== undefined && (!Number.isInteger(input.visibilityTimeout) || input.visibilityTimeout < 0 || input.visibilityTimeout > 43_200)) {
      throw invalid(`Value ${input.visibilityTimeout} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided.`)
    }
    const wait = input.waitSeconds ?? Number(this.queue(name).attributes.ReceiveMessageWaitTimeSeconds)
    if (!Number.isInteger(wait) || wait < 0 || wait > MAX_WAIT_SECONDS) throw invalid(`Value ${wait} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.`)
    const deadline = Date.now() + wait * this.second
    for (;;) {
      if (this.stopped || input.signal?.aborted) return []
      const queue = this.queue(name)
      const messages = this.take(queue, max, input)
      const now = Date.now()
      if (messages.length > 0 || now >= deadline) return messages
      const next = Math.min(deadline, ...queue.messages.map((message) => message.visibleAt).filter((at) => at > now))
      await this.changeOrTimeout(queue, next - now, input.signal)
    }
  }

  private take(queue: Queue, max: number, input: ReceiveInput): ReceivedMessage[] {
    const now = Date.now()
    this.expire(queue, now)
    const fifo = queue.attributes.FifoQueue === 'true'
    const redrive = queue.attributes.RedrivePolicy === undefined ? undefined : (JSON.parse(queue.attributes.RedrivePolicy) as { deadLetterTargetArn: string; maxReceiveCount: number })
    const visibility = input.visibilityTimeout ?? Number(queue.attributes.VisibilityTimeout)
    // FIFO: a group with a message in flight returns nothing until that message is deleted or visible again.
    const blocked = new Set<string>()
    if (fifo) for (const message of queue.messages) if (message.visibleAt > now && message.receipt !== undefined) blocked.add(message.groupId as string)
    const taken: StoredMessage[] = []
    for (const message of [...queue.messages]) {
      if (taken.length >= max) break
      if (message.visibleAt > now) {
        if (fifo) blocked.add(message.groupId as string)
        continue
      }
      if (fifo && blocked.has(message.groupId as string)) continue
      if (redrive !== undefined && message.receiveCount >= Number(redrive.maxReceiveCount) && this.deadLetter(queue, message, redrive.deadLetterTargetArn)) continue
      message.receiveCount += 1
      message.firstReceive ??= now
      message.receipt = Buffer.from(JSON.stringify([queue.name, message.id, randomBytes(12).toString('base64')])).toString('base64')
      message.visibleAt = now + visibility * this.second
      taken.push(message)
    }
    if (taken.length > 0) {
      this.saver.changed()
      // A message whose visibility runs out must wake the long polls waiting on this queue.
      this.wakeAt(queue, visibility * this.second)
    }
    return taken.map((message) => this.view(queue, message, input))
  }

  /**
   * The messages a queue holds, as they are (the local console's view): nothing is received, made invisible or
   * counted. `inFlight`: received and not yet deleted (being delivered), or delayed.
   */
  peek(name: string): PeekedMessage[] {
    const now = Date.now()
    return this.queue(name).messages.map((message) => ({
      id: message.id,
      body: message.body,
      attributes: message.attributes,
      receiveCount: message.receiveCount,
      sent: message.sent,
      inFlight: message.visibleAt > now,
      ...(message.deadLetterSource === undefined ? {} : { deadLetterSource: this.nameOfArn(message.deadLetterSource) ?? message.deadLetterSource }),
    }))
  }

  /**
   * Sends one message of a dead-letter queue back to the queue it came from (SQS's redrive, for one message): it
   * leaves the dead-letter queue and is visible at once in its source with its body, attributes and trace, its
   * receive count back to zero. Returns the source queue's name.
   */
  redrive(name: string, id: string): string {
    const queue = this.queue(name)
    const message = queue.messages.find((candidate) => candidate.id === id)
    if (message === undefined) throw new AwsError('ResourceNotFoundException', `No message ${id} waits in ${name}.`, 404)
    const sourceName = (message.deadLetterSource === undefined ? undefined : this.nameOfArn(message.deadLetterSource)) ?? this.deadLetterSources(name)[0]
    const source = sourceName === undefined ? undefined : this.queues.get(sourceName)
    if (source === undefined) throw new AwsError('ResourceNotFoundException', `${name} is not the dead-letter queue of a queue here: the message stays.`, 400)
    queue.messages.splice(queue.messages.indexOf(message), 1)
    const moved: StoredMessage = { ...message, receiveCount: 0, visibleAt: Date.now() }
    delete moved.receipt
    delete moved.firstReceive
    delete moved.deadLetterSource
    source.messages.push(moved)
    this.options.log(`local SQS: message ${id} sent back from ${name} to ${source.name}`)
    this.wake(source)
    this.saver.changed()
    return source.name
  }

  /** Moves a message to the dead-letter queue (the redrive policy); false when that queue is gone. */
  private deadLetter(source: Queue, message: StoredMessage, targetArn: string): boolean {
    const target = this.queues.get(this.nameOfArn(targetArn) ?? '')
    if (target === undefined) {
      this.options.log(`local SQS: ${source.name}'s dead-letter queue ${targetArn} does not exist; message ${message.id} stays`)
      return false
    }
    source.messages.splice(source.messages.indexOf(message), 1)
    const moved: StoredMessage = { ...message, receiveCount: 0, visibleAt: Date.now(), deadLetterSource: this.queueArn(source.name) }
    delete moved.receipt
    delete moved.firstReceive
    target.messages.push(moved)
    this.options.log(`local SQS: message ${message.id} moved from ${source.name} to its dead-letter queue ${target.name} after ${message.receiveCount} receives`)
    this.wake(target)
    return true
  }

  private view(queue: Queue, message: StoredMessage, input: ReceiveInput): ReceivedMessage {
    const out: ReceivedMessage = { MessageId: message.id, ReceiptHandle: message.receipt as string, MD5OfBody: message.md5, Body: message.body }
    const wanted = input.attributeNames ?? []
    if (wanted.length > 0) {
      const all: Record<string, string | undefined> = {
        SenderId: message.sender,
        SentTimestamp: String(message.sent),
        ApproximateReceiveCount: String(message.receiveCount),
        ApproximateFirstReceiveTimestamp: String(message.firstReceive),
        SequenceNumber: message.sequence,
        MessageDeduplicationId: message.dedupId,
        MessageGroupId: message.groupId,
        AWSTraceHeader: message.trace,
        DeadLetterQueueSourceArn: message.deadLetterSource,
      }
      const attributes: Record<string, string> = {}
      for (const name of SYSTEM_ATTRIBUTES) {
        const value = all[name]
        if (value !== undefined && (wanted.includes('All') || wanted.includes(name))) attributes[name] = value
      }
      if (queue.attributes.SqsManagedSseEnabled === 'true' && (wanted.includes('All') || wanted.includes('SqsManagedSseEnabled'))) attributes.SqsManagedSseEnabled = 'true'
      out.Attributes = attributes
    }
    const names = input.messageAttributeNames ?? []
    if (names.length > 0) {
      const selected: SqsMessageAttributes = {}
      for (const [name, value] of Object.entries(message.attributes)) {
        const chosen = names.some((pattern) => pattern === 'All' || pattern === '.*' || pattern === name || (pattern.endsWith('.*') && name.startsWith(pattern.slice(0, -1))))
        if (chosen) setOwn(selected, name, value)
      }
      const md5 = md5OfMessageAttributes(selected)
      if (md5 !== undefined) {
        out.MessageAttributes = selected
        out.MD5OfMessageAttributes = md5
      }
    }
    return out
  }

  /** The message a receipt handle names, checked: malformed handles are ReceiptHandleIsInvalid. */
  private byReceipt(queue: Queue, receipt: unknown): StoredMessage | undefined {
    if (typeof receipt !== 'string' || receipt === '') throw missing('ReceiptHandle')
    let parsed: unknown
    try {
      parsed = JSON.parse(Buffer.from(receipt, 'base64').toString('utf8'))
    } catch {
      parsed = undefined
    }
    if (!Array.isArray(parsed) || parsed.length !== 3 || parsed[0] !== queue.name || typeof parsed[1] !== 'string') {
      throw new AwsError('ReceiptHandleIsInvalid', `The input receipt handle "${receipt}" is not a valid receipt handle.`, 404)
    }
    return queue.messages.find((message) => message.id === parsed[1])
  }

  /**
   * Deletes a message (DeleteMessage). A handle of a message received again since (an older handle) succeeds
   * without deleting it, as SQS documents ("the request succeeds, but the message might not be deleted"); a
   * message already deleted succeeds too.
   */
  deleteMessage(name: string, receipt: unknown): void {
    const queue = this.queue(name)
    const message = this.byReceipt(queue, receipt)
    if (message === undefined || message.receipt !== receipt) return
    queue.messages.splice(queue.messages.indexOf(message), 1)
    this.wake(queue)
    this.saver.changed()
  }

  /** Changes a message's visibility timeout (ChangeMessageVisibility); 0 makes it visible now. */
  changeVisibility(name: string, receipt: unknown, seconds: unknown): void {
    const queue = this.queue(name)
    if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 0 || seconds > 43_200) {
      throw invalid(`Value ${String(seconds)} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200.`)
    }
    const message = this.byReceipt(queue, receipt)
    const now = Date.now()
    if (message === undefined || message.receipt !== receipt || message.visibleAt <= now) {
      throw new AwsError('AWS.SimpleQueueService.MessageNotInflight', 'Message does not exist or is not available for visibility timeout change.')
    }
    message.visibleAt = now + seconds * this.second
    this.wakeAt(queue, seconds * this.second)
    this.saver.changed()
  }

  /** Drops messages older than the retention period. */
  private expire(queue: Queue, now: number): void {
    const oldest = now - Number(queue.attributes.MessageRetentionPeriod) * this.second
    if (queue.messages.some((message) => message.sent < oldest)) {
      queue.messages = queue.messages.filter((message) => message.sent >= oldest)
      this.saver.changed()
    }
  }

  /* ---------- waiting ---------- */

  private wake(queue: Queue): void {
    for (const wake of [...queue.waiters]) wake()
  }

  private wakeAt(queue: Queue, ms: number): void {
    if (this.stopped || queue.waiters.size === 0) return
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      this.wake(queue)
    }, ms + 1)
    timer.unref()
    this.timers.add(timer)
  }

  /** Resolves when the queue changes, after `ms`, when the signal aborts or when the service stops. */
  private changeOrTimeout(queue: Queue, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        this.timers.delete(timer)
        queue.waiters.delete(done)
        signal?.removeEventListener('abort', done)
        resolve()
      }
      const timer = setTimeout(done, Math.max(1, ms + 1))
      timer.unref()
      this.timers.add(timer)
      queue.waiters.add(done)
      signal?.addEventListener('abort', done, { once: true })
    })
  }

  /* ---------- the JSON protocol ---------- */

  /** Serves one AWS JSON protocol request (`x-amz-target: AmazonSQS.<Operation>`). */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = uuid()
    try {
      const raw = await readBody(req, MAX_REQUEST_BYTES, () => invalid('The request is too large.'))
      let input: Record<string, unknown>
      try {
        const parsed: unknown = raw.length === 0 ? {} : JSON.parse(raw.toString('utf8'))
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object')
        input = parsed as Record<string, unknown>
      } catch {
        throw new AwsError('MalformedQueryString', 'The request body is not a JSON object.')
      }
      const target = String(req.headers['x-amz-target'] ?? '')
      const operation = target.slice(target.indexOf('.') + 1)
      const sender = /Credential=([^/,\s]+)\//.exec(req.headers.authorization ?? '')?.[1]
      const output = await this.operate(operation, input, signedService(req.headers.authorization) === undefined ? undefined : sender)
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': requestId })
      res.end(JSON.stringify(output))
    } catch (error) {
      sendJsonError(res, error, requestId, this.options.log)
    }
  }

  private async operate(operation: string, input: Record<string, unknown>, sender: string | undefined): Promise<unknown> {
    switch (operation) {
      case 'CreateQueue':
        return { QueueUrl: this.createQueue(input.QueueName as string, input.Attributes as Record<string, string> | undefined) }
      case 'GetQueueUrl': {
        if (typeof input.QueueName !== 'string') throw missing('QueueName')
        if (input.QueueOwnerAWSAccountId !== undefined && input.QueueOwnerAWSAccountId !== this.options.accountId) {
          throw new AwsError('AWS.SimpleQueueService.NonExistentQueue', 'The specified queue does not exist.')
        }
        return { QueueUrl: this.queueUrl(this.queue(input.QueueName).name) }
      }
      case 'ListQueues':
        return this.listQueues(input)
      case 'DeleteQueue':
        this.deleteQueue(this.queueOfUrl(input.QueueUrl).name)
        return {}
      case 'GetQueueAttributes':
        return { Attributes: this.getAttributes(this.queueOfUrl(input.QueueUrl).name, stringList(input.AttributeNames, 'AttributeNames')) }
      case 'SetQueueAttributes': {
        const queue = this.queueOfUrl(input.QueueUrl)
        if (typeof input.Attributes !== 'object' || input.Attributes === null) throw missing('Attributes')
        this.setAttributes(queue.name, input.Attributes as Record<string, string>)
        return {}
      }
      case 'PurgeQueue':
        this.purge(this.queueOfUrl(input.QueueUrl).name)
        return {}
      case 'ListDeadLetterSourceQueues':
        return { queueUrls: this.deadLetterSources(this.queueOfUrl(input.QueueUrl).name).map((name) => this.queueUrl(name)) }
      case 'SendMessage': {
        const queue = this.queueOfUrl(input.QueueUrl)
        return this.send(queue.name, sendInput(input, sender))
      }
      case 'SendMessageBatch':
        return this.batch(input, 'SendMessage', (queue, entry) => ({ Id: entry.Id, ...this.send(queue.name, sendInput(entry, sender)) }), MAX_BATCH_BYTES)
      case 'ReceiveMessage': {
        const queue = this.queueOfUrl(input.QueueUrl)
        const messages = await this.receive(queue.name, {
          max: optionalInteger(input.MaxNumberOfMessages, 'MaxNumberOfMessages'),
          visibilityTimeout: optionalInteger(input.VisibilityTimeout, 'VisibilityTimeout'),
          waitSeconds: optionalInteger(input.WaitTimeSeconds, 'WaitTimeSeconds'),
          attributeNames: [...stringList(input.AttributeNames, 'AttributeNames'), ...stringList(input.MessageSystemAttributeNames, 'MessageSystemAttributeNames')],
          messageAttributeNames: stringList(input.MessageAttributeNames, 'MessageAttributeNames'),
        })
        return messages.length === 0 ? {} : { Messages: messages }
      }
      case 'DeleteMessage':
        this.deleteMessage(this.queueOfUrl(input.QueueUrl).name, input.ReceiptHandle)
        return {}
      case 'DeleteMessageBatch':
        return this.batch(input, 'DeleteMessage', (queue, entry) => (this.deleteMessage(queue.name, entry.ReceiptHandle), { Id: entry.Id }))
      case 'ChangeMessageVisibility':
        this.changeVisibility(this.queueOfUrl(input.QueueUrl).name, input.ReceiptHandle, input.VisibilityTimeout)
        return {}
      case 'ChangeMessageVisibilityBatch':
        return this.batch(input, 'ChangeMessageVisibility', (queue, entry) => (this.changeVisibility(queue.name, entry.ReceiptHandle, entry.VisibilityTimeout), { Id: entry.Id }))
      default:
        throw new AwsError('InvalidAction', `The action ${operation || '(none)'} is not valid for this endpoint.`)
    }
  }

  private listQueues(input: Record<string, unknown>): { QueueUrls?: string[]; NextToken?: string } {
    const prefix = typeof input.QueueNamePrefix === 'string' ? input.QueueNamePrefix : ''
    const max = optionalInteger(input.MaxResults, 'MaxResults')
    if (max !== undefined && (max < 1 || max > 1000)) throw invalid(`Value ${max} for parameter MaxResults is invalid. Reason: must be between 1 and 1000.`)
    const names = this.names().filter((name) => name.startsWith(prefix))
    const start = typeof input.NextToken === 'string' ? Number.parseInt(Buffer.from(input.NextToken, 'base64').toString('utf8'), 10) || 0 : 0
    const page = names.slice(start, start + (max ?? 1000))
    const out: { QueueUrls?: string[]; NextToken?: string } = {}
    if (page.length > 0) out.QueueUrls = page.map((name) => this.queueUrl(name))
    if (max !== undefined && start + page.length < names.length) out.NextToken = Buffer.from(String(start + page.length)).toString('base64')
    return out
  }

  /** A batch operation: the documented batch checks, then each entry on its own (Successful / Failed). */
  private batch(input: Record<string, unknown>, what: string, each: (queue: Queue, entry: Record<string, unknown> & { Id: string }) => object, maxBytes?: number): { Successful: object[]; Failed: object[] } {
    const queue = this.queueOfUrl(input.QueueUrl)
    const entries = input.Entries
    if (!Array.isArray(entries) || entries.length === 0) throw new AwsError('AWS.SimpleQueueService.EmptyBatchRequest', `There should be at least one ${what}BatchRequestEntry in the request.`)
    if (entries.length > 10) throw new AwsError('AWS.SimpleQueueService.TooManyEntriesInBatchRequest', `Maximum number of entries per request are 10. You have sent ${entries.length}.`)
    const ids = new Set<string>()
    for (const entry of entries as Array<Record<string, unknown>>) {
      const id = typeof entry === 'object' && entry !== null ? entry.Id : undefined
      if (typeof id !== 'string' || !BATCH_ID.test(id)) {
        throw new AwsError('AWS.SimpleQueueService.InvalidBatchEntryId', 'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.')
      }
      if (ids.has(id)) throw new AwsError('AWS.SimpleQueueService.BatchEntryIdsNotDistinct', `Id ${id} repeated.`)
      ids.add(id)
    }
    if (maxBytes !== undefined) {
      const total = (entries as Array<Record<string, unknown>>).reduce((sum, entry) => sum + Buffer.byteLength(String(entry.MessageBody ?? '')) + safeAttributeSize(entry.MessageAttributes), 0)
      if (total > maxBytes) throw new AwsError('AWS.SimpleQueueService.BatchRequestTooLong', `Batch requests cannot be longer than ${maxBytes} bytes. You have sent ${total} bytes.`)
    }
    const Successful: object[] = []
    const Failed: object[] = []
    for (const entry of entries as Array<Record<string, unknown> & { Id: string }>) {
      try {
        Successful.push(each(queue, entry))
      } catch (error) {
        if (!(error instanceof AwsError)) throw error
        Failed.push({ Id: entry.Id, SenderFault: error.status < 500, Code: error.code, Message: error.message })
      }
    }
    return { Successful, Failed }
  }

  /* ---------- state ---------- */

  private snapshot(): { version: 1; queues: PersistedQueue[] } {
    return {
      version: 1,
      queues: [...this.queues.values()].map((queue) => ({
        name: queue.name,
        attributes: queue.attributes,
        created: queue.created,
        modified: queue.modified,
        sequence: queue.sequence.toString(),
        messages: queue.messages,
        dedup: [...queue.dedup],
      })),
    }
  }

  /** Wakes every long poll, clears timers and saves the state. */
  async stop(): Promise<void> {
    this.stopped = true
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
    for (const queue of this.queues.values()) this.wake(queue)
    this.saver.changed()
    await this.saver.flush()
  }
}

function safeAttributeSize(attributes: unknown): number {
  try {
    return checkMessageAttributes(attributes)
  } catch {
    return 0
  }
}

function stringList(value: unknown, name: string): string[] {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw invalid(`${name} must be a list of strings.`)
  return value as string[]
}

function optionalInteger(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(`Value ${String(value)} for parameter ${name} is invalid. Reason: must be an integer.`)
  return value
}

function sendInput(input: Record<string, unknown>, sender: string | undefined): SendInput {
  const system = input.MessageSystemAttributes as Record<string, { DataType?: string; StringValue?: string }> | undefined
  if (system !== undefined && system !== null) {
    checkMessageAttributes(system, true)
    const names = Object.keys(system)
    if (names.some((name) => name !== 'AWSTraceHeader') || system.AWSTraceHeader?.DataType !== 'String') {
      throw invalid('Message system attribute name is invalid: the only supported message system attribute is AWSTraceHeader, of type String.')
    }
  }
  const out: { -readonly [K in keyof SendInput]: SendInput[K] } = { body: input.MessageBody as string }
  if (input.MessageAttributes !== undefined && input.MessageAttributes !== null) out.attributes = input.MessageAttributes as SqsMessageAttributes
  const delay = optionalInteger(input.DelaySeconds, 'DelaySeconds')
  if (delay !== undefined) out.delaySeconds = delay
  if (typeof input.MessageGroupId === 'string') out.groupId = input.MessageGroupId
  if (typeof input.MessageDeduplicationId === 'string') out.dedupId = input.MessageDeduplicationId
  if (system?.AWSTraceHeader?.StringValue !== undefined) out.trace = system.AWSTraceHeader.StringValue
  if (sender !== undefined) out.sender = sender
  return out
}

/**
 * The SQS model's error shapes by the Query API code `x-amzn-query-error` carries (the SDK maps the code back to
 * the shape: `AWS.SimpleQueueService.NonExistentQueue` is `QueueDoesNotExist`).
 */
const SHAPES: Record<string, string> = {
  'AWS.SimpleQueueService.NonExistentQueue': 'QueueDoesNotExist',
  QueueAlreadyExists: 'QueueNameExists',
  ReceiptHandleIsInvalid: 'ReceiptHandleIsInvalid',
  'AWS.SimpleQueueService.MessageNotInflight': 'MessageNotInflight',
  'AWS.SimpleQueueService.PurgeQueueInProgress': 'PurgeQueueInProgress',
  'AWS.SimpleQueueService.EmptyBatchRequest': 'EmptyBatchRequest',
  'AWS.SimpleQueueService.TooManyEntriesInBatchRequest': 'TooManyEntriesInBatchRequest',
  'AWS.SimpleQueueService.BatchEntryIdsNotDistinct': 'BatchEntryIdsNotDistinct',
  'AWS.SimpleQueueService.BatchRequestTooLong': 'BatchRequestTooLong',
  'AWS.SimpleQueueService.InvalidBatchEntryId': 'InvalidBatchEntryId',
  'AWS.SimpleQueueService.UnsupportedOperation': 'UnsupportedOperation',
  InvalidAttributeName: 'InvalidAttributeName',
  InvalidAttributeValue: 'InvalidAttributeValue',
  InvalidMessageContents: 'InvalidMessageContents',
}

/** An error in the AWS JSON protocol, query-compatible (as SQS answers). Unexpected errors are a logged 500. */
export function sendJsonError(res: ServerResponse, error: unknown, requestId: string, log: (line: string) => void): void {
  const known = error instanceof AwsError
  if (!known) log(`local SQS: internal error: ${(error as Error)?.stack ?? String(error)}`)
  const code = known ? error.code : 'InternalError'
  const status = known ? error.status : 500
  const shape = SHAPES[code] ?? code
  if (res.headersSent) return void res.end()
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'x-amzn-requestid': requestId,
    'x-amzn-query-error': `${code};${status < 500 ? 'Sender' : 'Receiver'}`,
  })
  res.end(JSON.stringify({ __type: `com.amazonaws.sqs#${shape}`, message: known ? error.message : 'We encountered an internal error. Please try again.' }))
}
