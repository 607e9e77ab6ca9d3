import { JsonLogger, LEVELS, contextMembers, line, logSettings, summaryMembers, type LogSink, type Logger, type Observability } from './log.js'
import { parseTraceparent, startTrace, type IncomingTrace, type Trace, type TraceContext } from './trace.js'
import { currentTracer } from './tracer.js'

export type Provider = 'aws' | 'azure' | 'gcp' | 'cloudflare' // the adapters' ids, as context.provider names them (Google Cloud's is gcp)

export type { LogLevel, LogFields, LogSink, Logger, Observability } from './log.js'
export type { TraceContext } from './trace.js'

/** The provider-specific part of a context, kept as the provider gave it. */
export interface NativeContext {
  readonly provider: Provider
  /** The native event, request or trigger input. */
  readonly event: unknown
  /** The native context object (Lambda context, Azure InvocationContext, Workers ExecutionContext, ...). */
  readonly context: unknown
  /** Anything else the provider passes (Workers `env` bindings, the Express response on GCP, ...). */
  readonly extra?: unknown
}

/** What every portable handler receives beside its request or event. */
export interface Context {
  readonly provider: Provider
  readonly requestId: string
  readonly functionName: string
  /** Time (ms since the epoch) by which the invocation must finish. */
  readonly deadline: number
  /** Milliseconds left before {@link deadline}, never negative. */
  remainingTime(): number
  readonly log: Logger
  /** Environment variables (string values only). */
  readonly env: Readonly<Record<string, string | undefined>>
  /**
   * The W3C trace context of this invocation: continued from the request's `traceparent` (or the platform's own
   * trace header), from the message or object that triggered it, or started fresh. Every log line carries its ids;
   * messages sent and objects written through `@polycloud/resources` carry its `traceparent`.
   */
  readonly trace: TraceContext
  /**
   * Keeps the invocation alive until the promise settles. Workers continue it after the response is sent; the
   * other providers finish it before returning, because they freeze or throttle the instance afterwards.
   */
  waitUntil(promise: Promise<unknown>): void
  readonly native: NativeContext
}

export interface ContextInit {
  readonly provider: Provider
  /** The request id, or a function giving it (called once, when something first reads it). */
  readonly requestId: string | (() => string)
  readonly functionName: string
  /** The deadline, or a function giving the milliseconds left (read only when the handler asks). */
  readonly deadline: number | (() => number)
  readonly env: Readonly<Record<string, string | undefined>>
  readonly native: NativeContext
  readonly sink?: LogSink
  /** Provider's own waitUntil; without one, promises are collected and awaited by {@link PortableContext.settle}. */
  readonly waitUntil?: (promise: Promise<unknown>) => void
  /** The provider's log fields and trace header (a constant object per adapter). */
  readonly observability?: Observability
  /**
   * The trace the platform started for this invocation (the `_X_AMZN_TRACE_ID` of Lambda, the Functions host's
   * `traceContext`, a CloudEvent's `traceparent`): read only when the trace is first needed.
   */
  readonly incoming?: () => IncomingTrace | undefined
}

/**
 * A deadline for providers that do not pass one: the POLYCLOUD_TIMEOUT_SECONDS variable (the Serverless plugin
 * sets it from the function's timeout), else the provider's default, counted from now.
 */
export function deadlineFromEnv(env: Readonly<Record<string, string | undefined>>, defaultSeconds: number): number {
  const seconds = Number(env.POLYCLOUD_TIMEOUT_SECONDS)
  return Date.now() + (Number.isFinite(seconds) && seconds > 0 ? seconds : defaultSeconds) * 1000
}

export const consoleSink: LogSink = (level, line) => {
  if (level === 'error') console.error(line)
  else if (level === 'warn') console.warn(line)
  else console.log(line)
}

const PLAIN: Observability = Object.freeze({})

/** Whether the next invocation this instance (process, isolate) serves is its first. */
let firstInvocation = true

/** Headers of an incoming request, read for the trace only when it is needed. */
interface HeadersOf {
  readonly headers: { get(name: string): string | null }
  /** One header (a lower-case name) without building `headers` (see `BaseRequest.header`), where the request can. */
  header?(name: string): string | null
}

/** One header of a request, for the trace: without building its headers where the request can. */
function headerOf(request: HeadersOf, name: string): string | null {
  return request.header === undefined ? request.headers.get(name) : request.header(name)
}

/** How an invocation, or one message of a batch run in its own trace, ended (see {@link PortableContext.end}). */
export interface Ending {
  /** HTTP: the status answered (5xx is a failure). */
  readonly status?: number | undefined
  /** What failed it. */
  readonly error?: unknown
  /** A message of a batch: its id, for its message line (instead of the invocation's summary line). */
  readonly eventId?: string
  /** When the message's work started (default: the invocation's start). */
  readonly started?: number
}

/** The context adapters create for each invocation. Everything not read by the handler stays uncomputed. */
export class PortableContext implements Context {
  readonly provider: Provider
  readonly functionName: string
  readonly env: Readonly<Record<string, string | undefined>>
  readonly native: NativeContext
  /** When the invocation started (ms since the epoch). */
  readonly started: number
  /** Whether this is the first invocation the instance serves. */
  readonly coldStart: boolean
  readonly #init: ContextInit
  #requestId: string | (() => string)
  #deadline: number | (() => number)
  readonly #sink: LogSink
  readonly #waitUntil: ((promise: Promise<unknown>) => void) | undefined
  #pending: Promise<unknown>[] | undefined
  #log: Logger | undefined
  #trace: Trace | undefined
  #members: string | undefined
  #request: HeadersOf | undefined
  #direct: (() => IncomingTrace | undefined) | undefined
  #events = -1
  #failed = 0

  constructor(init: ContextInit, coldStart?: boolean) {
    this.provider = init.provider
    this.#requestId = init.requestId
    this.functionName = init.functionName
    this.#deadline = init.deadline
    this.env = init.env
    this.native = init.native
    this.#sink = init.sink ?? consoleSink
    this.#waitUntil = init.waitUntil
    this.#init = init
    this.started = Date.now()
    this.coldStart = coldStart ?? firstInvocation
    firstInvocation = false
  }

  get requestId(): string {
    const id = this.#requestId
    // Only a function is called: an id is passed on as the platform gave it, whatever its type (a hostile input's).
    return typeof id === 'function' ? (this.#requestId = id()) : id
  }

  get deadline(): number {
    const deadline = this.#deadline
    return typeof deadline === 'number' ? deadline : (this.#deadline = Date.now() + deadline())
  }

  remainingTime(): number {
    return Math.max(0, this.deadline - Date.now())
  }

  get log(): Logger {
    return (this.#log ??= new JsonLogger(this.#sink, logSettings(this.env).threshold, this.#init.observability ?? PLAIN, () => this.#lineMembers()))
  }

  get trace(): TraceContext {
    return (this.#trace ??= this.#startTrace())
  }

  /** The request whose `traceparent` (or platform trace header) this invocation continues; read when needed. */
  useRequest(request: HeadersOf): void {
    this.#request = request
  }

  /**
   * Continues the trace `direct` reads (a message's, an object's: a batch of one is that message's work). No effect
   * once the trace was read.
   */
  continueTrace(direct: () => IncomingTrace | undefined): void {
    if (this.#trace === undefined) this.#direct = direct
  }

  /**
   * The context of one event of a batch that carries its own trace (`direct`): the same invocation (id, deadline,
   * environment, `waitUntil`) in the event's trace, its log lines carrying that trace's ids.
   */
  derive(direct: () => IncomingTrace | undefined): PortableContext {
    const child = new PortableContext({ ...this.#init, requestId: this.requestId, waitUntil: (promise) => this.waitUntil(promise) }, this.coldStart)
    child.#deadline = this.#deadline
    child.#direct = direct
    return child
  }

  #startTrace(): Trace {
    const format = this.#init.observability
    let direct: IncomingTrace | undefined
    let request: HeadersOf | undefined
    let platform: IncomingTrace | undefined
    try {
      if (this.#direct !== undefined) direct = this.#direct()
      else if (this.#request !== undefined) {
        request = this.#request
        const traceparent = headerOf(request, 'traceparent')
        if (traceparent !== null) direct = parseTraceparent(traceparent, headerOf(request, 'tracestate'))
      }
      // The platform's trace: the request's own platform header first (API Gateway's X-Amzn-Trace-Id, Cloud Run's
      // X-Cloud-Trace-Context: the trace the platform continues, read without the cost of an environment variable),
      // else what the platform gives the invocation (Lambda's _X_AMZN_TRACE_ID, the Functions host's trace context).
      if (direct === undefined && request !== undefined && format?.traceHeader !== undefined) {
        const value = headerOf(request, format.traceHeader)
        if (value !== null) platform = format.parseTraceHeader?.(value)
      }
      platform ??= this.#init.incoming?.()
    } catch {
      // A trace header that cannot even be read is ignored, never an error: what was read is used.
    }
    return startTrace(direct, platform, currentTracer()?.sampler)
  }

  #lineMembers(): string {
    return (this.#members ??= contextMembers(this.#init.observability ?? PLAIN, this.requestId, this.functionName, this.trace, this.env))
  }

  waitUntil(promise: Promise<unknown>): void {
    if (this.#waitUntil) return this.#waitUntil(promise)
    ;(this.#pending ??= []).push(promise)
  }

  /** Whether promises passed to {@link waitUntil} are waiting for {@link settle}. */
  get pending(): boolean {
    return this.#pending !== undefined && this.#pending.length > 0
  }

  /** Waits for every promise passed to {@link waitUntil}; rejections are logged, not thrown. */
  async settle(): Promise<void> {
    while (this.#pending && this.#pending.length > 0) {
      const batch = this.#pending
      this.#pending = undefined
      const results = await Promise.allSettled(batch)
      for (const result of results) {
        if (result.status === 'rejected') this.log.error('waitUntil promise rejected', { error: result.reason })
      }
    }
  }

  /** Records how a batch went, for the summary line: how many events it held and how many failed. */
  recordBatch(events: number, failed: number): void {
    this.#events = events
    this.#failed = failed
  }

  /**
   * Ends the invocation (or, with `eventId`, one message of a batch that ran in its own trace): writes its summary
   * line (message line) as POLYCLOUD_LOG_SUMMARY says (by default every invocation) and LOG_LEVEL lets through, and
   * hands its span to the installed tracer. Returns the tracer's flush when the invocation must wait for it before
   * returning (on Workers it goes to `waitUntil`).
   */
  end(kind: string, ending: Ending = {}): Promise<void> | undefined {
    const { status, eventId } = ending
    const failed = ending.error !== undefined || (status !== undefined && status >= 500) || (eventId === undefined && this.#failed > 0)
    const settings = logSettings(this.env)
    const tracer = currentTracer()
    const write = (settings.summary === 'all' || (failed && settings.summary === 'errors')) && (failed ? LEVELS.error : LEVELS.info) >= settings.threshold
    if (!write && tracer === undefined) return undefined // an invocation that went well: nothing more to do
    const now = Date.now()
    if (write) {
      const members = summaryMembers(kind, failed, status, eventId, this.#events, this.#failed, now - (ending.started ?? this.started), this.coldStart)
      this.#sink(failed ? 'error' : 'info', line(this.#init.observability ?? PLAIN, failed ? 'error' : 'info', eventId === undefined ? '"invocation"' : '"message"', this.#lineMembers(), members, now))
    }
    const flushing = tracer?.end(this, kind, failed, ending, now)
    if (flushing === undefined || this.#waitUntil === undefined) return flushing
    this.#waitUntil(flushing)
    return undefined
  }
}
