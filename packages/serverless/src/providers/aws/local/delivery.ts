/**
 * Delivery to the functions as Lambda delivers (AWS Lambda Developer Guide):
 *
 * - SQS event source mappings ("Using Lambda with Amazon SQS"): a poller long-polls the queue, gathers up to
 *   `batchSize` messages (within `maximumBatchingWindow` seconds), invokes the function synchronously with the
 *   `{"Records": [...]}` event, and deletes the batch when the invocation succeeds. With ReportBatchItemFailures
 *   ("Handling errors for an SQS event source"), only the messages the response names in `batchItemFailures` stay;
 *   a response naming an empty, null or unknown `itemIdentifier` fails the whole batch, as does an invocation error.
 *   Messages that stay reappear after the queue's visibility timeout with `ApproximateReceiveCount` risen, and go
 *   to the dead-letter queue after the redrive policy's `maxReceiveCount` (the queue does that, as SQS does).
 * - Asynchronous invocations (SNS, S3 notifications, EventBridge schedules; "Asynchronous invocation"): the event
 *   is invoked at once; a failed invocation is retried twice, one minute then two minutes later (the delays are
 *   configurable here), then dropped with a log line.
 *
 * Each attempt is kept in a bounded delivery log (`deliveries()`, served at `GET /polycloud/deliveries`).
 */
import { setOwn } from '@polycloud/core/adapter'
import type { LocalSqs, ReceivedMessage } from './sqs.js'

/**
 * Invokes a function with an event and resolves with its result; rejects when the invocation failed (the function
 * threw, timed out, or could not be reached). `signal` aborts it when the services stop.
 */
export type Invoker = (functionName: string, event: unknown, signal: AbortSignal) => Promise<unknown>

/** A function's SQS event source mapping (serverless.yml's `fromQueue` / `sqs` event). */
export interface QueueMapping {
  readonly function: string
  readonly queue: string
  /** Messages per invocation: 1-10000 (1-10 for FIFO queues); Lambda's default 10. */
  readonly batchSize?: number
  /** Seconds to gather a batch (0-300); Lambda's default 0. */
  readonly maximumBatchingWindow?: number
  /** ReportBatchItemFailures (the plugin always sets it): only the failed messages are retried. */
  readonly reportBatchItemFailures?: boolean
  /** Batches in flight at once; 1 here, so a queue's messages reach the terminal in order (Lambda runs up to 1000). */
  readonly concurrency?: number
}

export interface DeliveryRecord {
  readonly time: string
  /** `sqs:<queue>`, `sns:<topic>`, `s3:<bucket>`, `schedule:<rule>`. */
  readonly source: string
  readonly function: string
  /** The message, notification or event ids the invocation carried. */
  readonly ids: readonly string[]
  readonly attempt: number
  outcome: 'pending' | 'succeeded' | 'partial' | 'failed' | 'retrying' | 'dropped'
  /** The messages reported failed (partial batch response). */
  failed?: string[]
  error?: string
}

export interface DeliveryOptions {
  readonly sqs: LocalSqs
  readonly region: string
  readonly invoke: Invoker
  readonly log: (line: string) => void
  /** Waits before the two retries of an asynchronous invocation; Lambda's [60000, 120000]. */
  readonly asyncRetryDelaysMs?: readonly number[]
  /** How long a poll waits for messages, in SQS seconds (Lambda long-polls for 20). */
  readonly pollWaitSeconds?: number
  /**
   * When set, a message a function failed is visible again after this many seconds instead of the queue's
   * visibility timeout (a local setting: the receives before the dead-letter queue stay the redrive policy's).
   */
  readonly retryDelaySeconds?: number
}

const MAX_RECORDS = 10_000
/** Lambda's synchronous invocation payload limit: a batch is cut before its event would exceed it. */
const MAX_EVENT_BYTES = 6 * 1024 * 1024

/** The SQS record Lambda puts in the event for a received message. */
export function sqsRecord(message: ReceivedMessage, queueArn: string, region: string): Record<string, unknown> {
  const system = message.Attributes ?? {}
  const attributes: Record<string, string> = {}
  for (const name of ['ApproximateReceiveCount', 'SentTimestamp', 'SenderId', 'ApproximateFirstReceiveTimestamp', 'SequenceNumber', 'MessageGroupId', 'MessageDeduplicationId', 'AWSTraceHeader', 'DeadLetterQueueSourceArn']) {
    if (system[name] !== undefined) attributes[name] = system[name]
  }
  const messageAttributes: Record<string, Record<string, unknown>> = {}
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    setOwn(messageAttributes, name, {
      ...(value.StringValue === undefined ? {} : { stringValue: value.StringValue }),
      ...(value.BinaryValue === undefined ? {} : { binaryValue: value.BinaryValue }),
      stringListValues: [],
      binaryListValues: [],
      dataType: value.DataType,
    })
  }
  return {
    messageId: message.MessageId,
    receiptHandle: message.ReceiptHandle,
    body: message.Body,
    attributes,
    messageAttributes,
    md5OfBody: message.MD5OfBody,
    ...(message.MD5OfMessageAttributes === undefined ? {} : { md5OfMessageAttributes: message.MD5OfMessageAttributes }),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  }
}

/**
 * The messages of a batch to keep (failed) from a partial batch response, or 'all' when the response fails the
 * whole batch: `batchItemFailures` not a list, or an entry without an itemIdentifier of the batch.
 */
export function failedItems(result: unknown, batch: readonly string[]): string[] | 'all' {
  if (result === null || result === undefined || typeof result !== 'object' || Array.isArray(result)) return []
  const failures = (result as { batchItemFailures?: unknown }).batchItemFailures
  if (failures === null || failures === undefined) return []
  if (!Array.isArray(failures)) return 'all'
  const ids: string[] = []
  for (const failure of failures) {
    const id = typeof failure === 'object' && failure !== null ? (failure as { itemIdentifier?: unknown }).itemIdentifier : undefined
    if (typeof id !== 'string' || id === '' || !batch.includes(id)) return 'all'
    ids.push(id)
  }
  return ids
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

export class DeliveryEngine {
  private readonly records: DeliveryRecord[] = []
  private readonly abort = new AbortController()
  private readonly loops: Array<Promise<void>> = []
  private readonly inflight = new Set<Promise<unknown>>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private readonly delays: readonly number[]

  constructor(private readonly options: DeliveryOptions) {
    this.delays = options.asyncRetryDelaysMs ?? [60_000, 120_000]
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted
  }

  deliveries(): readonly DeliveryRecord[] {
    return this.records
  }

  private record(entry: DeliveryRecord): DeliveryRecord {
    this.records.push(entry)
    if (this.records.length > MAX_RECORDS) this.records.splice(0, this.records.length - MAX_RECORDS)
    return entry
  }

  private invoke(functionName: string, event: unknown): Promise<unknown> {
    const call = this.options.invoke(functionName, event, this.abort.signal)
    const tracked = call.catch(() => undefined)
    this.inflight.add(tracked)
    void tracked.finally(() => this.inflight.delete(tracked))
    return call
  }

  /* ---------- SQS event source mappings ---------- */

  /** A mapping's batch size and window, checked: throws naming the function and queue when one is out of range. */
  checkQueueMapping(mapping: QueueMapping): { batchSize: number; window: number } {
    const { sqs } = this.options
    if (!sqs.has(mapping.queue)) throw new Error(`the event source mapping of ${mapping.function} names the queue ${mapping.queue}, which does not exist`)
    const fifo = mapping.queue.endsWith('.fifo')
    const batchSize = mapping.batchSize ?? 10
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > (fifo ? 10 : 10_000)) {
      throw new Error(`the batch size of ${mapping.function}'s queue ${mapping.queue} must be from 1 to ${fifo ? 10 : 10_000}, not ${batchSize}`)
    }
    const window = mapping.maximumBatchingWindow ?? 0
    if (!(window >= 0 && window <= 300)) throw new Error(`the batching window of ${mapping.function}'s queue ${mapping.queue} must be from 0 to 300 seconds, not ${window}`)
    return { batchSize, window: fifo ? 0 : window }
  }

  /** Starts polling a queue for a function. */
  startQueueMapping(mapping: QueueMapping): void {
    const { batchSize, window } = this.checkQueueMapping(mapping)
    for (let i = 0; i < Math.max(1, mapping.concurrency ?? 1); i++) {
      this.loops.push(
        this.poll(mapping, batchSize, window).catch((error: unknown) => {
          if (!this.stopped) this.options.log(`local AWS: polling ${mapping.queue} for ${mapping.function} stopped: ${describe(error)}`)
        }),
      )
    }
  }

  private async poll(mapping: QueueMapping, batchSize: number, window: number): Promise<void> {
    const { sqs } = this.options
    const wait = this.options.pollWaitSeconds ?? 20
    const receive = (max: number, waitSeconds: number) =>
      sqs.receive(mapping.queue, { max: Math.min(10, max), waitSeconds, attributeNames: ['All'], messageAttributeNames: ['All'], signal: this.abort.signal })
    while (!this.stopped) {
      const batch = await receive(batchSize, wait)
      if (batch.length === 0) continue
      const windowEnd = Date.now() + window * sqs.second
      while (batch.length < batchSize && !this.stopped) {
        const left = windowEnd - Date.now()
        if (left <= 0) break
        const more = await receive(batchSize - batch.length, 0)
        for (const message of more) {
          // Received again while the batch gathered (its visibility ran out): the latest receipt is the one to keep.
          const earlier = batch.findIndex((other) => other.MessageId === message.MessageId)
          if (earlier === -1) batch.push(message)
          else batch[earlier] = message
        }
        if (more.length > 0) continue
        await new Promise((resolve) => setTimeout(resolve, Math.min(left, sqs.second / 10)).unref())
      }
      await this.deliverBatch(mapping, batch)
    }
  }

  private async deliverBatch(mapping: QueueMapping, messages: ReceivedMessage[]): Promise<void> {
    const { sqs, region, log } = this.options
    const queueArn = sqs.queueArn(mapping.queue)
    // Lambda keeps a batch's event within the synchronous payload limit; what does not fit is received again.
    const records: Array<Record<string, unknown>> = []
    let bytes = 20
    for (const message of messages) {
      const record = sqsRecord(message, queueArn, region)
      const size = Buffer.byteLength(JSON.stringify(record)) + 1
      if (records.length > 0 && bytes + size > MAX_EVENT_BYTES) {
        try {
          sqs.changeVisibility(mapping.queue, message.ReceiptHandle, 0)
        } catch {
          // Deleted or received again meanwhile: nothing to give back.
        }
        continue
      }
      bytes += size
      records.push(record)
    }
    const ids = records.map((record) => record.messageId as string)
    const entry = this.record({ time: new Date().toISOString(), source: `sqs:${mapping.queue}`, function: mapping.function, ids, attempt: Math.max(...records.map((r) => Number((r.attributes as Record<string, string>).ApproximateReceiveCount))), outcome: 'pending' })
    let result: unknown
    try {
      result = await this.invoke(mapping.function, { Records: records })
    } catch (error) {
      if (this.stopped) {
        // Stopped mid-invocation: the batch is visible again at the next start, not after the visibility timeout.
        for (const record of records) {
          try {
            sqs.changeVisibility(mapping.queue, record.receiptHandle, 0)
          } catch {
            // Already gone.
          }
        }
        return
      }
      entry.outcome = 'failed'
      entry.error = describe(error)
      log(`local AWS: ${mapping.function} failed a batch of ${records.length} from ${mapping.queue} (${entry.error}); the messages return ${this.returnAfter()}`)
      this.retryLater(mapping.queue, records)
      return
    }
    const failed = mapping.reportBatchItemFailures === false ? [] : failedItems(result, ids)
    if (failed === 'all') {
      entry.outcome = 'failed'
      entry.error = 'the partial batch response names a message that is not in the batch, or is malformed: the whole batch is retried'
      log(`local AWS: ${mapping.function}: ${entry.error}`)
      this.retryLater(mapping.queue, records)
      return
    }
    for (const record of records) {
      if (failed.includes(record.messageId as string)) continue
      try {
        sqs.deleteMessage(mapping.queue, record.receiptHandle)
      } catch (error) {
        log(`local AWS: could not delete message ${String(record.messageId)} from ${mapping.queue}: ${describe(error)}`)
      }
    }
    entry.outcome = failed.length === 0 ? 'succeeded' : 'partial'
    if (failed.length > 0) {
      entry.failed = failed
      log(`local AWS: ${mapping.function} reported ${failed.length} of ${records.length} messages from ${mapping.queue} failed; they return ${this.returnAfter()}`)
      this.retryLater(mapping.queue, records.filter((record) => failed.includes(record.messageId as string)))
    }
  }

  private returnAfter(): string {
    const delay = this.options.retryDelaySeconds
    return delay === undefined ? 'after the visibility timeout' : `in ${delay} s (the local retry delay)`
  }

  /** With a local retry delay, failed messages are made visible again after it rather than the visibility timeout. */
  private retryLater(queue: string, records: ReadonlyArray<Record<string, unknown>>): void {
    const delay = this.options.retryDelaySeconds
    if (delay === undefined) return
    for (const record of records) {
      try {
        this.options.sqs.changeVisibility(queue, record.receiptHandle, delay)
      } catch {
        // Deleted or received again meanwhile.
      }
    }
  }

  /* ---------- asynchronous invocations ---------- */

  /** Invokes a function asynchronously (SNS, S3, EventBridge): retried twice on failure, then dropped. */
  invokeAsync(functionName: string, event: unknown, source: string, ids: readonly string[]): void {
    const attempt = (number: number): void => {
      if (this.stopped) return
      const entry = this.record({ time: new Date().toISOString(), source, function: functionName, ids, attempt: number, outcome: 'pending' })
      this.invoke(functionName, event).then(
        () => {
          entry.outcome = 'succeeded'
        },
        (error: unknown) => {
          if (this.stopped) return
          entry.error = describe(error)
          const delay = this.delays[number - 1]
          if (delay === undefined) {
            entry.outcome = 'dropped'
            this.options.log(`local AWS: ${functionName} failed ${source} event ${ids.join(', ')} ${number} times (${entry.error}); Lambda drops it now (no on-failure destination locally)`)
            return
          }
          entry.outcome = 'retrying'
          this.options.log(`local AWS: ${functionName} failed ${source} event ${ids.join(', ')} (${entry.error}); retry ${number} of ${this.delays.length} in ${Math.round(delay / 1000)} s`)
          const timer = setTimeout(() => {
            this.timers.delete(timer)
            attempt(number + 1)
          }, delay)
          timer.unref()
          this.timers.add(timer)
        },
      )
    }
    attempt(1)
  }

  /** Stops polling and retrying, aborts invocations in flight, and waits for the pollers to end. */
  async stop(): Promise<void> {
    this.abort.abort()
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
    await Promise.all(this.loops)
    // Invokers are given the abort signal; one that ignores it is not waited for past a second.
    let timer: NodeJS.Timeout | undefined
    await Promise.race([Promise.all(this.inflight), new Promise((resolve) => (timer = setTimeout(resolve, 1_000)))])
    clearTimeout(timer)
  }
}
