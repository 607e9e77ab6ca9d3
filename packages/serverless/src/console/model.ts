/**
 * The local console's model: what the functions print, read back. Every Polycloud log line is one JSON object
 * (`packages/core/src/log.ts`) carrying the function, request id, trace id and span id; each invocation ends with a
 * summary line (`"polycloud":"invocation"`, or `"message"` for one message of a batch run in its own trace) with
 * its kind, outcome, duration and cold start. The console groups lines by span into invocations (the last
 * {@link ConsoleModel.limit}, oldest dropped first) and invocations by trace id into traces.
 *
 * Lines are hostile input: they are parsed, never evaluated, and kept as text bounded in size; the HTML escapes them.
 */

/** One JSON log line a function printed. */
export interface LogRecord {
  /** Milliseconds since the epoch: the line's own `time` / `timestamp`, else when it was read. */
  readonly time: number
  readonly level: string
  readonly message: string
  /** The line as printed, at most {@link MAX_LINE} characters. */
  readonly text: string
}

export type Outcome = 'ok' | 'error' | 'running'

/** One invocation of a function (or one message of a batch that ran in its own trace). */
export interface Invocation {
  /** The span id, else the request id: what its lines share. */
  readonly key: string
  readonly function: string
  readonly requestId: string | undefined
  readonly traceId: string | undefined
  readonly spanId: string | undefined
  readonly parentSpanId: string | undefined
  /** From the summary line: `http`, `queue`, `storage`, ... ; undefined until it ends. */
  kind: string | undefined
  outcome: Outcome
  status: number | undefined
  /** For a batch: its events and how many failed. */
  events: number | undefined
  failed: number | undefined
  start: number
  end: number | undefined
  durationMs: number | undefined
  coldStart: boolean | undefined
  readonly lines: LogRecord[]
  /** Lines dropped past {@link MAX_LINES_PER_INVOCATION}. */
  dropped: number
}

/** A trace: the invocations sharing a trace id, in order of start. */
export interface Trace {
  readonly traceId: string
  readonly invocations: readonly Invocation[]
  readonly start: number
  readonly end: number
  readonly functions: readonly string[]
  readonly failed: boolean
}

export const MAX_LINE = 8_192
export const MAX_LINES_PER_INVOCATION = 200
export const DEFAULT_LIMIT = 200
/** The characters of lines kept in all: past it, the oldest invocations go first (however few the invocations). */
export const MAX_TEXT = 16 * 1024 * 1024

const SUMMARY = new Set(['invocation', 'message'])

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value.slice(0, 256) : undefined
}

function number(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined
}

/**
 * The JSON object a printed line holds: the whole line, or what follows a prefix a host adds (`[time] {...}`).
 * Undefined for anything else (the framework's own output, a stack trace, a partial object).
 */
export function parseLine(line: string): Record<string, unknown> | undefined {
  const end = line.trimEnd()
  if (!end.endsWith('}')) return undefined
  const start = end.indexOf('{')
  if (start === -1 || end.length - start > 1_048_576) return undefined
  try {
    const value: unknown = JSON.parse(end.slice(start))
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

function timeOf(fields: Record<string, unknown>, now: number): number {
  const written = fields.time ?? fields.timestamp
  if (typeof written === 'string' || typeof written === 'number') {
    const time = new Date(written).getTime()
    if (Number.isFinite(time)) return time
  }
  return now
}

/** The last invocations, their lines, and their traces. */
export class ConsoleModel {
  readonly #invocations = new Map<string, Invocation>()
  /** The characters of the lines kept. */
  #text = 0

  constructor(
    readonly limit = DEFAULT_LIMIT,
    private readonly now: () => number = Date.now,
  ) {}

  /** Reads one printed line; returns the invocation it belongs to, or undefined when it is not a Polycloud line. */
  add(line: string): Invocation | undefined {
    const fields = parseLine(line)
    if (fields === undefined) return undefined
    const fn = text(fields.function)
    const requestId = text(fields.requestId)
    const spanId = text(fields.spanId)
    const key = spanId ?? requestId
    if (fn === undefined || key === undefined) return undefined
    const time = timeOf(fields, this.now())
    const mapKey = `${fn}\n${key}`
    let invocation = this.#invocations.get(mapKey)
    if (invocation === undefined) {
      invocation = {
        key,
        function: fn,
        requestId,
        traceId: text(fields.traceId),
        spanId,
        parentSpanId: text(fields.parentSpanId),
        kind: undefined,
        outcome: 'running',
        status: undefined,
        events: undefined,
        failed: undefined,
        start: time,
        end: undefined,
        durationMs: undefined,
        coldStart: undefined,
        lines: [],
        dropped: 0,
      }
      this.#invocations.set(mapKey, invocation)
    }
    const record: LogRecord = { time, level: text(fields.level) ?? text(fields.severity)?.toLowerCase() ?? 'info', message: text(fields.message) ?? '', text: line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}…` : line }
    if (invocation.lines.length < MAX_LINES_PER_INVOCATION) {
      invocation.lines.push(record)
      this.#text += record.text.length
    } else invocation.dropped += 1
    this.#evict(mapKey)
    if (typeof fields.polycloud === 'string' && SUMMARY.has(fields.polycloud)) {
      invocation.kind = text(fields.kind)
      invocation.outcome = fields.outcome === 'error' ? 'error' : 'ok'
      invocation.status = number(fields.status)
      invocation.events = number(fields.events)
      invocation.failed = number(fields.failed)
      invocation.durationMs = number(fields.durationMs)
      invocation.coldStart = typeof fields.coldStart === 'boolean' ? fields.coldStart : undefined
      invocation.end = time
      if (invocation.durationMs !== undefined) invocation.start = Math.min(invocation.start, time - invocation.durationMs)
    }
    return invocation
  }

  /** Drops the oldest invocations (never `keep`, the one just written) past the limit or the text budget. */
  #evict(keep: string): void {
    for (const [key, invocation] of this.#invocations) {
      if (this.#invocations.size <= this.limit && this.#text <= MAX_TEXT) return
      if (key === keep) continue
      this.#invocations.delete(key)
      for (const line of invocation.lines) this.#text -= line.text.length
    }
  }

  /** The invocations kept, newest first. */
  invocations(): Invocation[] {
    return [...this.#invocations.values()].sort((a, b) => b.start - a.start)
  }

  /** The invocation of a function with this span (or request) id. */
  invocation(fn: string, key: string): Invocation | undefined {
    return this.#invocations.get(`${fn}\n${key}`)
  }

  /** The traces of the invocations kept, newest first. */
  traces(): Trace[] {
    const byId = new Map<string, Invocation[]>()
    for (const invocation of this.#invocations.values()) {
      if (invocation.traceId === undefined) continue
      const list = byId.get(invocation.traceId) ?? []
      list.push(invocation)
      byId.set(invocation.traceId, list)
    }
    return [...byId.entries()].map(([id, list]) => traceOf(id, list)).sort((a, b) => b.start - a.start)
  }

  trace(traceId: string): Trace | undefined {
    const list = [...this.#invocations.values()].filter((invocation) => invocation.traceId === traceId)
    return list.length === 0 ? undefined : traceOf(traceId, list)
  }
}

function traceOf(traceId: string, list: Invocation[]): Trace {
  const invocations = [...list].sort((a, b) => a.start - b.start)
  const start = Math.min(...invocations.map((invocation) => invocation.start))
  const end = Math.max(...invocations.map((invocation) => invocation.end ?? invocation.lines.at(-1)?.time ?? invocation.start))
  const functions = [...new Set(invocations.map((invocation) => invocation.function))]
  return { traceId, invocations, start, end, functions, failed: invocations.some((invocation) => invocation.outcome === 'error') }
}

/** A queue (or dead-letter queue) of the local emulation and the messages waiting in it. */
export interface QueueView {
  readonly name: string
  /** `dead-letter` for a dead-letter queue (a Pub/Sub dead-letter topic's subscription, a poison queue). */
  readonly role: 'queue' | 'dead-letter'
  /** For a dead-letter queue: the queue its messages came from, where redelivery sends them. */
  readonly source?: string
  /** What the provider's emulation shows of it, when it is not every message (e.g. "messages being delivered are not shown"). */
  readonly note?: string
  readonly messages: readonly MessageView[]
  /** Whether a message of it can be sent back to its source from the console. */
  readonly redeliver: boolean
}

export interface MessageView {
  readonly id: string
  readonly body: string
  readonly attributes: Readonly<Record<string, string>>
  readonly receiveCount?: number
  readonly sentAt?: number
  /** The trace id of its `traceparent`, when it carries one. */
  readonly traceId?: string
}

/** Where a provider's local queues come from: given by each provider's offline to the console. */
export interface QueueSource {
  /** A line naming what the console shows of the provider's queues. */
  readonly description: string
  list(): Promise<QueueView[]>
  /** Sends a dead-lettered message back to its source queue; resolves with what was done, for the page. */
  redeliver(queue: string, id: string): Promise<string>
}

/**
 * The provider's queue sources as one (Azure has Storage queues in azurite and the Service Bus stand-in): their
 * queues listed together, a redelivery sent to the source that lists the queue.
 */
export function combineQueueSources(sources: readonly QueueSource[]): QueueSource | undefined {
  if (sources.length <= 1) return sources[0]
  const owners = new Map<string, QueueSource>()
  const list = async (): Promise<QueueView[]> => {
    const lists = await Promise.all(sources.map(async (source) => ({ source, queues: await source.list() })))
    owners.clear()
    for (const { source, queues } of lists) for (const queue of queues) owners.set(queue.name, source)
    return lists.flatMap(({ queues }) => queues)
  }
  return {
    description: sources.map((source) => source.description).join(' '),
    list,
    async redeliver(queue, id) {
      if (!owners.has(queue)) await list()
      const owner = owners.get(queue)
      if (owner === undefined) throw new Error(`there is no local queue ${queue}`)
      return owner.redeliver(queue, id)
    },
  }
}

/** The trace id of a W3C `traceparent` value, or undefined. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  const match = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}/.exec(traceparent?.trim() ?? '')
  return match === null || /^0+$/.test(match[1] as string) ? undefined : match[1]
}
