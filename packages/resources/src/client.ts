/**
 * The neutral clients: `bucket(name)`, `queue(name)`, `topic(name)`. A handle is made once (module scope) and finds,
 * on each call, the invocation it runs in, the driver, the function's addressing entry and the opened resource
 * (opened once per process). Every call checks its arguments and the provider's limits first, is bounded by its
 * signal and the invocation's deadline, retries what the provider answered as throttled or unavailable, and fails
 * with a ResourceError naming the resource and the operation.
 */
import { RESOURCES_VARIABLE, parseAddressing, type ResourceAddress } from './addressing.js'
import { checkAttributes, checkContentType, checkKey, checkMetadata, objectBytes, outgoingMessage } from './content.js'
import { metadataBytes, userMetadata, type BucketBackend, type Call, type EncodedMessage, type MessageBackend, type OpenContext, type ResourceDriver } from './driver.js'
import type { StoreBackend } from './store-driver.js'
import { DriverError, ResourceError, type ResourceErrorCode, type ResourceKind } from './errors.js'
import { currentScope, defaultDriver, type InvocationScope } from './scope.js'
import { currentTracer, type OutgoingSpan, type TraceContext, type Tracer } from '@polycloud/core/adapter'
import type {
  BatchMessage,
  Bucket,
  CallOptions,
  ListOptions,
  MessageContent,
  ObjectBody,
  ObjectInfo,
  ObjectList,
  PublishOptions,
  PutOptions,
  PutResult,
  Queue,
  SendOptions,
  StoredObject,
  Topic,
} from './types.js'

/** A call is aborted this long before the invocation's deadline, so the handler can still act on the Timeout. */
export const DEADLINE_MARGIN_MS = 100
/** Attempts of a call the provider answered as throttled or unavailable (as the cloud SDKs' standard retry mode). */
export const MAX_ATTEMPTS = 3
const BACKOFF_MS = 100

const LOGICAL_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,126}[A-Za-z0-9])?$/

type Backend = BucketBackend | MessageBackend | StoreBackend

interface Opened {
  readonly text: string | undefined
  readonly backend: Promise<Backend>
  /** The backend once opened: later calls take it without waiting. */
  value?: Backend
}

const opened = new WeakMap<ResourceDriver, Map<string, Opened>>()
const processEnv: Readonly<Record<string, string | undefined>> = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {}

export function checkName(kind: ResourceKind, name: unknown): string {
  if (typeof name !== 'string' || !LOGICAL_NAME.test(name)) {
    throw new TypeError(`${kind}(${JSON.stringify(name)}): a resource's logical name is 1-128 letters, digits, ".", "_" and "-" (the name serverless.yml gives it)`)
  }
  return name
}

/** The pieces of one call: where it goes and how to describe it (shared by every kind of handle). */
export class Target {
  readonly kind: ResourceKind
  readonly name: string
  provider = ''
  readonly #key: string
  /** The resource this handle opened last, with the driver and addressing text it was opened from. */
  #last: { readonly driver: ResourceDriver; readonly text: string | undefined; readonly backend: Backend } | undefined

  constructor(kind: ResourceKind, name: string) {
    this.kind = kind
    this.name = name
    this.#key = `${kind}\u0000${name}`
  }

  error(code: ResourceErrorCode, detail: string, operation: string, extra: { status?: number | undefined; cause?: unknown; failed?: readonly number[] | undefined } = {}): ResourceError {
    return new ResourceError(code, detail, { kind: this.kind, resource: this.name, operation, provider: this.provider, ...extra })
  }

  /**
   * The driver, the opened resource and the call's scope, or the NotDeclared error naming the fix. Synchronous once
   * the resource is open (the common case: nothing to wait for).
   */
  open<B extends Backend>(operation: string): { backend: B; scope: InvocationScope | undefined } | Promise<{ backend: B; scope: InvocationScope | undefined }> {
    const scope = currentScope()
    const driver = scope?.driver ?? defaultDriver()
    if (driver === undefined) {
      throw this.error(
        'NotDeclared',
        `no resource driver: declare the resource on the function in serverless.yml (uses: [${this.name}]), or in tests install one with useResources(memoryResources()) from @polycloud/testing`,
        operation,
      )
    }
    this.provider = driver.provider
    if (scope !== undefined && !scope.uses.has(this.name)) {
      const fn = scope.context.functionName
      throw this.error('NotDeclared', `function ${JSON.stringify(fn)} does not declare ${this.kind} ${JSON.stringify(this.name)}: add it to the function's uses in serverless.yml (uses: [${[...scope.uses, this.name].join(', ')}])`, operation)
    }
    const env = scope?.context.env ?? processEnv
    const text = env[RESOURCES_VARIABLE]
    const last = this.#last
    if (last !== undefined && last.driver === driver && last.text === text) return { backend: last.backend as B, scope }
    let byName = opened.get(driver)
    if (byName === undefined) opened.set(driver, (byName = new Map()))
    const key = this.#key
    let entry = byName.get(key)
    if (entry !== undefined && entry.text === text && entry.value !== undefined) {
      this.#last = { driver, text, backend: entry.value }
      return { backend: entry.value as B, scope }
    }
    if (entry === undefined || entry.text !== text) {
      const current: Opened = { text, backend: this.#openBackend(driver, text, { env }, operation) }
      byName.set(key, (entry = current))
      const map = byName
      current.backend.then(
        (backend) => {
          current.value = backend
        },
        () => {
          // A failed open (a malformed entry) is not kept: the next call reports it again.
          if (map.get(key) === current) map.delete(key)
        },
      )
    }
    return entry.backend.then(
      (backend) => ({ backend: backend as B, scope }),
      (error: unknown) => {
        throw this.wrap(error, operation, undefined)
      },
    )
  }

  /** See {@link Declared.declared}: the checks `open` makes, answered instead of thrown. */
  declared(): boolean {
    const scope = currentScope()
    const driver = scope?.driver ?? defaultDriver()
    if (driver === undefined || (scope !== undefined && !scope.uses.has(this.name))) return false
    let address: ResourceAddress | undefined = driver.locate?.(this.kind, this.name)
    if (address === undefined) {
      try {
        const addressing = parseAddressing((scope?.context.env ?? processEnv)[RESOURCES_VARIABLE])
        address = Object.hasOwn(addressing, this.name) ? addressing[this.name] : undefined
      } catch {
        return false
      }
    }
    return address?.kind === this.kind
  }

  async #openBackend(driver: ResourceDriver, text: string | undefined, context: OpenContext, operation: string): Promise<Backend> {
    let address: ResourceAddress | undefined = driver.locate?.(this.kind, this.name)
    if (address === undefined) {
      const addressing = parseAddressing(text)
      address = Object.hasOwn(addressing, this.name) ? addressing[this.name] : undefined
    }
    if (address === undefined) {
      throw this.error(
        'NotDeclared',
        `${RESOURCES_VARIABLE} has no ${JSON.stringify(this.name)}: declare the resource in serverless.yml and add it to the function's uses (uses: [${this.name}])`,
        operation,
      )
    }
    if (address.kind !== this.kind) throw this.error('Invalid', `${JSON.stringify(this.name)} is declared as a ${address.kind}, not a ${this.kind}`, operation)
    if (this.kind === 'bucket') return driver.bucket(this.name, address, context)
    if (this.kind === 'queue') return driver.queue(this.name, address, context)
    if (this.kind === 'store') {
      if (driver.store === undefined) throw this.error('Invalid', `the ${driver.provider} driver has no key-value stores`, operation)
      return driver.store(this.name, address, context)
    }
    return driver.topic(this.name, address, context)
  }

  /** Any failure as the ResourceError to throw. */
  wrap(error: unknown, operation: string, aborted: AbortReason | undefined): ResourceError {
    if (error instanceof ResourceError) return error
    if (aborted !== undefined) return this.error('Timeout', aborted.detail, operation, { cause: aborted.cause })
    if (error instanceof DriverError) {
      return this.error(error.code, error.message, operation, { status: error.status, cause: error.cause ?? error, failed: error.failed })
    }
    if (isAbort(error)) return this.error('Timeout', 'the call was aborted', operation, { cause: error })
    return this.error('Unavailable', `the call failed: ${error instanceof Error ? error.message : String(error)}`, operation, { cause: error })
  }

  /**
   * Runs one operation: `prepare` once (checks, encoding), then `attempt` until it succeeds, fails for good, runs out
   * of attempts or time. The signal combines the caller's and the invocation's deadline.
   */
  async run<B extends Backend, P, R>(
    operation: string,
    options: CallOptions | undefined,
    prepare: (backend: B, signal: AbortSignal | undefined, scope: InvocationScope | undefined) => P | Promise<P>,
    attempt: (backend: B, prepared: P, call: Call) => Promise<R>,
  ): Promise<R> {
    const target = this.open<B>(operation)
    const { backend, scope } = target instanceof Promise ? await target : target
    const user = options?.signal
    const signal = callSignal(user, scope)
    const call: Call = { signal, bindings: bindingsOf(scope) }
    // With the OpenTelemetry opt-in, the call is a span of the invocation's trace, and what it sends carries it.
    const tracer = scope === undefined ? undefined : currentTracer()
    const span = tracer === undefined ? undefined : this.#span(tracer, (scope as InvocationScope).context, operation)
    try {
      const preparing = prepare(backend, signal, span === undefined ? scope : withSpan(scope as InvocationScope, span.trace))
      const prepared = preparing instanceof Promise ? await preparing : preparing
      for (let number = 1; ; number++) {
        try {
          const result = await attempt(backend, prepared, call)
          span?.end()
          return result
        } catch (error) {
          const code = error instanceof DriverError ? error.code : 'Unavailable'
          const retry = (code === 'Throttled' || code === 'Unavailable') && !(error instanceof DriverError && error.failed !== undefined) && !isAbort(error)
          const wait = BACKOFF_MS * 2 ** (number - 1) * (0.5 + Math.random())
          if (!retry || number >= MAX_ATTEMPTS || signal?.aborted || !leaves(scope, wait)) throw error
          await sleep(wait, signal)
        }
      }
    } catch (error) {
      const wrapped = this.wrap(error, operation, abortReason(user, scope))
      span?.end(wrapped)
      throw wrapped
    }
  }

  /**
   * The span of one call: a producer span for a message sent or published (`send orders`), a client span otherwise
   * (`put uploads`), named and attributed as OpenTelemetry's messaging conventions say where they apply.
   */
  #span(tracer: Tracer, context: InvocationScope['context'], operation: string): OutgoingSpan {
    const messaging = this.kind === 'queue' || this.kind === 'topic'
    const attributes: Record<string, string> = { 'polycloud.resource.kind': this.kind, 'polycloud.resource.name': this.name, 'polycloud.operation': operation, 'cloud.provider': this.provider }
    if (messaging) {
      attributes['messaging.destination.name'] = this.name
      attributes['messaging.operation.type'] = operation.startsWith('publish') ? 'publish' : 'send'
      if (operation.endsWith('Batch')) attributes['messaging.operation.name'] = operation
    }
    return tracer.outgoing(context, messaging ? 'producer' : 'client', `${operation} ${this.name}`, attributes)
  }
}

interface AbortReason {
  readonly detail: string
  readonly cause: unknown
}

/**
 * The invocation's deadline (less the margin) as one signal, made on its first call and shared by every call of the
 * invocation: a call costs no timer of its own.
 */
function deadlineSignal(scope: InvocationScope | undefined): AbortSignal | undefined {
  if (scope === undefined) return undefined
  if (scope.deadline !== undefined) return scope.deadline
  const deadline = scope.context.deadline
  if (!Number.isFinite(deadline)) return undefined
  const left = deadline - DEADLINE_MARGIN_MS - Date.now()
  const signal = left > 0 ? AbortSignal.timeout(left) : AbortSignal.abort(new DOMException('the deadline has passed', 'TimeoutError'))
  // Every concurrent call of the invocation listens to it: Node would warn of a leak past 10 listeners.
  nodeEvents?.setMaxListeners(0, signal)
  return (scope.deadline = signal)
}

/** node:events where there is one (Node, workerd with nodejs_compat), for setMaxListeners. */
const nodeEvents = (() => {
  const getBuiltin = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule
  try {
    return typeof getBuiltin === 'function' ? (getBuiltin('node:events') as { setMaxListeners(n: number, ...targets: EventTarget[]): void }) : undefined
  } catch {
    return undefined
  }
})()

/** A call's signal: the caller's, the invocation's deadline, or both. */
function callSignal(user: AbortSignal | undefined, scope: InvocationScope | undefined): AbortSignal | undefined {
  const deadline = deadlineSignal(scope)
  if (deadline === undefined) return user
  return user === undefined ? deadline : AbortSignal.any([user, deadline])
}

/** Why a call was aborted: the caller's signal, or the deadline (undefined when it was not aborted). */
function abortReason(user: AbortSignal | undefined, scope: InvocationScope | undefined): AbortReason | undefined {
  if (user?.aborted) return { detail: "aborted by the caller's signal", cause: user.reason }
  const deadline = scope?.deadline
  if (deadline?.aborted) return { detail: `the invocation's deadline (${new Date(scope?.context.deadline ?? 0).toISOString()}) came`, cause: deadline.reason }
  return undefined
}

/** Whether waiting `ms` more still ends before the deadline's margin. */
function leaves(scope: InvocationScope | undefined, ms: number): boolean {
  const deadline = scope?.context.deadline
  return deadline === undefined || !Number.isFinite(deadline) || Date.now() + ms < deadline - DEADLINE_MARGIN_MS
}

function bindingsOf(scope: InvocationScope | undefined): Readonly<Record<string, unknown>> | undefined {
  if (scope === undefined || scope.context.provider !== 'cloudflare') return undefined
  const extra = scope.context.native.extra
  return typeof extra === 'object' && extra !== null ? (extra as Record<string, unknown>) : undefined
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError')
}

/** Waits `ms`, or rejects with the signal's reason once it aborts (at once when it already has). */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', stop)
      resolve()
    }, ms)
    const stop = (): void => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    signal?.addEventListener('abort', stop, { once: true })
  })
}

class BucketHandle implements Bucket {
  readonly name: string
  readonly #target: Target

  constructor(name: string) {
    this.name = name
    this.#target = new Target('bucket', name)
  }

  declared(): boolean {
    return this.#target.declared()
  }

  put(key: string, body: ObjectBody, options?: PutOptions): Promise<PutResult> {
    return this.#target.run<BucketBackend, { key: string; bytes: Uint8Array; contentType: string; metadata: Readonly<Record<string, string>> }, PutResult>(
      'put',
      options,
      async (backend, signal, scope) => {
        const checked = checkKey(key)
        const metadata = checkMetadata(options?.metadata)
        const { limits } = backend
        const size = metadataBytes(metadata)
        if (size > limits.maxMetadataBytes) throw new DriverError('TooLarge', `the metadata is ${size} bytes, more than ${limits.service}'s limit of ${limits.maxMetadataBytes} bytes (names and values)`)
        const { bytes, type } = await objectBytes(body, limits.maxObjectBytes, limits.service, signal)
        return { key: checked, bytes, contentType: checkContentType(options?.contentType, type), metadata: withTraceMetadata(metadata, limits.maxMetadataBytes, scope) }
      },
      (backend, p, call) => backend.put(p.key, p.bytes, p.contentType, p.metadata, call),
    )
  }

  get(key: string, options?: CallOptions): Promise<StoredObject | null> {
    return this.#target.run<BucketBackend, string, StoredObject | null>('get', options, () => checkKey(key), (backend, checked, call) => backend.get(checked, call))
  }

  head(key: string, options?: CallOptions): Promise<ObjectInfo | null> {
    return this.#target.run<BucketBackend, string, ObjectInfo | null>('head', options, () => checkKey(key), async (backend, checked, call) => {
      const info = await backend.head(checked, call)
      return info === null ? null : { ...info, metadata: userMetadata(info.metadata) }
    })
  }

  delete(key: string, options?: CallOptions): Promise<void> {
    return this.#target.run<BucketBackend, string, void>('delete', options, () => checkKey(key), (backend, checked, call) => backend.delete(checked, call))
  }

  list(options?: ListOptions): Promise<ObjectList> {
    return this.#target.run<BucketBackend, { prefix: string; cursor: string | undefined; limit: number }, ObjectList>(
      'list',
      options,
      () => {
        const prefix = options?.prefix ?? ''
        if (typeof prefix !== 'string') throw new DriverError('Invalid', 'prefix must be a string')
        const cursor = options?.cursor
        if (cursor !== undefined && (typeof cursor !== 'string' || cursor === '')) throw new DriverError('Invalid', 'cursor must be the non-empty cursor of a previous page')
        const limit = options?.limit ?? 1000
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new DriverError('Invalid', `limit must be a whole number from 1 to 1000, got ${String(limit)}`)
        return { prefix, cursor, limit }
      },
      (backend, p, call) => backend.list(p.prefix, p.cursor, p.limit, call),
    )
  }
}

/** Checks one encoded message against the limits: its size and, for a batch, the count and total. */
function checkSizes(backend: MessageBackend, encoded: readonly EncodedMessage[], batch: boolean): void {
  const { limits } = backend
  let total = 0
  encoded.forEach((message, index) => {
    total += message.size
    if (message.size > limits.maxMessageBytes) {
      const which = batch ? `message ${index}` : 'the message'
      throw new DriverError('TooLarge', `${which} is ${message.size} bytes, more than ${limits.service}'s limit of ${limits.maxMessageBytes} bytes (${limits.sizeRule})`)
    }
  })
  if (batch && total > limits.maxBatchBytes) {
    throw new DriverError('TooLarge', `the batch is ${total} bytes, more than ${limits.service}'s limit of ${limits.maxBatchBytes} bytes per batch (${limits.sizeRule})`)
  }
}

const NO_ATTRIBUTES: Readonly<Record<string, string>> = Object.freeze({})

/**
 * The invocation's trace as attributes or metadata: `traceparent`, and `tracestate` when the trace has one. Made once
 * per invocation (its first send or put) and shared by its calls: frozen.
 */
/**
 * The scope a call with its own span prepares in: the invocation's, with the span's trace as the one to carry (made
 * for the call, not kept for the invocation's other calls).
 */
function withSpan(scope: InvocationScope, trace: TraceContext): InvocationScope {
  const record: Record<string, string> = { traceparent: trace.traceparent }
  if (trace.traceState !== undefined) record.tracestate = trace.traceState
  return { ...scope, trace: Object.freeze(record) }
}

function traceRecord(scope: InvocationScope): Readonly<Record<string, string>> {
  if (scope.trace !== undefined) return scope.trace
  const trace = scope.context.trace
  const record: Record<string, string> = { traceparent: trace.traceparent }
  if (trace.traceState !== undefined) record.tracestate = trace.traceState
  return (scope.trace = Object.freeze(record))
}

/**
 * The (checked) attributes of a message sent inside an invocation, with the invocation's trace added (`traceparent`,
 * and `tracestate` when the trace has one): the function that receives the message continues the trace (the sources
 * take them off again). A `traceparent` the caller set is kept. The trace's attributes are checked as the caller's
 * are, once per invocation.
 */
function tracedAttributes(scope: InvocationScope | undefined, checked: Readonly<Record<string, string>> | undefined): Readonly<Record<string, string>> {
  if (scope === undefined) return checked ?? NO_ATTRIBUTES
  if (checked !== undefined && Object.hasOwn(checked, 'traceparent')) return checked
  const trace = traceRecord(scope)
  if (scope.traceChecked !== true) {
    checkAttributes(trace)
    scope.traceChecked = true
  }
  return checked === undefined ? trace : { ...checked, ...trace }
}

/**
 * An object's metadata written inside an invocation, with the invocation's trace added (`traceparent`, and
 * `tracestate`), so the function its storage event reaches continues the trace where the event carries the metadata
 * (Cloud Storage, Azure blob triggers). A `traceparent` the caller set is kept; metadata the trace would take past the
 * service's limit goes without it (the write is the caller's; the trace is a courtesy).
 */
function withTraceMetadata(metadata: Readonly<Record<string, string>>, maxBytes: number, scope: InvocationScope | undefined): Readonly<Record<string, string>> {
  if (scope === undefined || Object.hasOwn(metadata, 'traceparent')) return metadata
  const trace = traceRecord(scope)
  let none = true
  for (const _name in metadata) {
    none = false
    break
  }
  const traced = none ? trace : { ...metadata, ...trace }
  return metadataBytes(traced) <= maxBytes ? traced : metadata
}

function encodeOne(backend: MessageBackend, content: MessageContent, attributes: unknown, delaySeconds: unknown, subject: unknown, scope: InvocationScope | undefined): EncodedMessage {
  const { limits } = backend
  const encoded = backend.encode(outgoingMessage(content, attributes, delaySeconds, subject, limits.maxDelaySeconds, limits.service, (checked) => tracedAttributes(scope, checked)))
  checkSizes(backend, [encoded], false)
  return encoded
}

class QueueHandle implements Queue {
  readonly name: string
  readonly #target: Target

  constructor(name: string) {
    this.name = name
    this.#target = new Target('queue', name)
  }

  declared(): boolean {
    return this.#target.declared()
  }

  send(body: MessageContent, options?: SendOptions): Promise<void> {
    return this.#target.run<MessageBackend, EncodedMessage, void>(
      'send',
      options,
      (backend, _signal, scope) => encodeOne(backend, body, options?.attributes, options?.delaySeconds, undefined, scope),
      (backend, encoded, call) => backend.send([encoded], false, call),
    )
  }

  sendBatch(messages: readonly BatchMessage[], options?: CallOptions): Promise<void> {
    return this.#target.run<MessageBackend, EncodedMessage[], void>(
      'sendBatch',
      options,
      (backend, _signal, scope) => {
        if (!Array.isArray(messages) || messages.length === 0) throw new DriverError('Invalid', 'sendBatch takes a non-empty array of { body, delaySeconds?, attributes? }')
        const { limits } = backend
        if (messages.length > limits.maxBatchMessages) {
          throw new DriverError('TooLarge', `${messages.length} messages, more than ${limits.service}'s limit of ${limits.maxBatchMessages} per batch`)
        }
        const encoded = messages.map((message, index) => {
          if (typeof message !== 'object' || message === null || !('body' in message)) throw new DriverError('Invalid', `message ${index} is not { body, delaySeconds?, attributes? }`)
          try {
            const { limits: l } = backend
            return backend.encode(outgoingMessage(message.body, message.attributes, message.delaySeconds, undefined, l.maxDelaySeconds, l.service, (checked) => tracedAttributes(scope, checked)))
          } catch (error) {
            if (error instanceof DriverError) throw new DriverError(error.code, `message ${index}: ${error.message}`, { cause: error.cause })
            throw error
          }
        })
        checkSizes(backend, encoded, true)
        return encoded
      },
      (backend, encoded, call) => backend.send(encoded, true, call),
    )
  }
}

class TopicHandle implements Topic {
  readonly name: string
  readonly #target: Target

  constructor(name: string) {
    this.name = name
    this.#target = new Target('topic', name)
  }

  declared(): boolean {
    return this.#target.declared()
  }

  publish(body: MessageContent, options?: PublishOptions): Promise<void> {
    return this.#target.run<MessageBackend, EncodedMessage, void>(
      'publish',
      options,
      (backend, _signal, scope) => encodeOne(backend, body, options?.attributes, undefined, options?.subject, scope),
      (backend, encoded, call) => backend.send([encoded], false, call),
    )
  }
}

const handles = {
  bucket: new Map<string, Bucket>(),
  queue: new Map<string, Queue>(),
  topic: new Map<string, Topic>(),
}

/** The bucket a function declares under this logical name (`uses: [uploads]`); one handle per name. */
export function bucket(name: string): Bucket {
  let handle = handles.bucket.get(name)
  if (handle === undefined) handles.bucket.set(name, (handle = new BucketHandle(checkName('bucket', name))))
  return handle
}

/** The queue a function declares under this logical name; one handle per name. */
export function queue(name: string): Queue {
  let handle = handles.queue.get(name)
  if (handle === undefined) handles.queue.set(name, (handle = new QueueHandle(checkName('queue', name))))
  return handle
}

/** The topic a function declares under this logical name; one handle per name. */
export function topic(name: string): Topic {
  let handle = handles.topic.get(name)
  if (handle === undefined) handles.topic.set(name, (handle = new TopicHandle(checkName('topic', name))))
  return handle
}
