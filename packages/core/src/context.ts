import { setOwn } from './own.js'

export type Provider = 'aws' | 'azure' | 'gcp' | 'cloudflare' // the adapters' ids, as context.provider names them (Google Cloud's is gcp)

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

/** Fields attached to a log line. Errors are written as { name, message, stack }. */
export type LogFields = Readonly<Record<string, unknown>>

/**
 * Structured JSON logger: one line per call with level, message, time, request id, function and the fields.
 * The threshold comes from the LOG_LEVEL environment variable (debug, info, warn, error, silent; default info).
 */
export interface Logger {
  debug(message: string, fields?: LogFields): void
  info(message: string, fields?: LogFields): void
  warn(message: string, fields?: LogFields): void
  error(message: string, fields?: LogFields): void
  /** A logger that adds these fields to every line. */
  child(fields: LogFields): Logger
}

/** Where a provider's log lines go: stdout on Lambda, the invocation context on Azure, console on Workers. */
export type LogSink = (level: LogLevel, line: string) => void

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
   * Keeps the invocation alive until the promise settles. Workers continue it after the response is sent; the
   * other providers finish it before returning, because they freeze or throttle the instance afterwards.
   */
  waitUntil(promise: Promise<unknown>): void
  readonly native: NativeContext
}

const LEVELS: Record<LogLevel | 'silent', number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 }

export interface ContextInit {
  readonly provider: Provider
  readonly requestId: string
  readonly functionName: string
  /** The deadline, or a function giving the milliseconds left (read only when the handler asks). */
  readonly deadline: number | (() => number)
  readonly env: Readonly<Record<string, string | undefined>>
  readonly native: NativeContext
  readonly sink?: LogSink
  /** Provider's own waitUntil; without one, promises are collected and awaited by {@link PortableContext.settle}. */
  readonly waitUntil?: (promise: Promise<unknown>) => void
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

/** The context adapters create for each invocation. Everything not read by the handler stays uncomputed. */
export class PortableContext implements Context {
  readonly provider: Provider
  readonly requestId: string
  readonly functionName: string
  readonly env: Readonly<Record<string, string | undefined>>
  readonly native: NativeContext
  #deadline: number | (() => number)
  readonly #sink: LogSink
  readonly #waitUntil: ((promise: Promise<unknown>) => void) | undefined
  #pending: Promise<unknown>[] | undefined
  #log: Logger | undefined

  constructor(init: ContextInit) {
    this.provider = init.provider
    this.requestId = init.requestId
    this.functionName = init.functionName
    this.#deadline = init.deadline
    this.env = init.env
    this.native = init.native
    this.#sink = init.sink ?? consoleSink
    this.#waitUntil = init.waitUntil
  }

  get deadline(): number {
    const deadline = this.#deadline
    return typeof deadline === 'number' ? deadline : (this.#deadline = Date.now() + deadline())
  }

  remainingTime(): number {
    return Math.max(0, this.deadline - Date.now())
  }

  get log(): Logger {
    return (this.#log ??= new JsonLogger(
      this.#sink,
      LEVELS[(this.env.LOG_LEVEL?.toLowerCase() as LogLevel | undefined) ?? 'info'] ?? LEVELS.info,
      { requestId: this.requestId, function: this.functionName },
    ))
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
}

class JsonLogger implements Logger {
  readonly #sink: LogSink
  readonly #threshold: number
  readonly #fields: LogFields

  constructor(sink: LogSink, threshold: number, fields: LogFields) {
    this.#sink = sink
    this.#threshold = threshold
    this.#fields = fields
  }

  debug(message: string, fields?: LogFields): void {
    this.#write('debug', message, fields)
  }

  info(message: string, fields?: LogFields): void {
    this.#write('info', message, fields)
  }

  warn(message: string, fields?: LogFields): void {
    this.#write('warn', message, fields)
  }

  error(message: string, fields?: LogFields): void {
    this.#write('error', message, fields)
  }

  child(fields: LogFields): Logger {
    return new JsonLogger(this.#sink, this.#threshold, { ...this.#fields, ...fields })
  }

  #write(level: LogLevel, message: string, fields: LogFields | undefined): void {
    if (LEVELS[level] < this.#threshold) return
    const record: Record<string, unknown> = { level, message, time: new Date().toISOString(), ...this.#fields }
    if (fields) for (const key in fields) setOwn(record, key, fields[key])
    let line: string
    try {
      line = JSON.stringify(record, replaceErrors)
    } catch (error) {
      const problem = `fields not serialisable: ${error instanceof Error ? error.message : 'unknown error'}`
      try {
        line = JSON.stringify({ level, message, ...this.#fields, logError: problem })
      } catch {
        // Not even the context's own fields (a request id the platform gave as something else): the bare line.
        line = JSON.stringify({ level, message, logError: problem })
      }
    }
    this.#sink(level, line)
  }
}

function replaceErrors(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: value.message, stack: value.stack }
    if (value.cause !== undefined) out.cause = value.cause
    return out
  }
  if (typeof value === 'bigint') return value.toString()
  return value
}
