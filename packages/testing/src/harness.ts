import type { NeutralEvent, Provider } from '@polycloud/core'
import {
  BaseRequest,
  PortableContext,
  PortableHeaders,
  PortableQuery,
  PortableQueueMessage,
  PortableTopicMessage,
  runEvents,
  runHttp,
  utf8Decode,
  utf8Encode,
  type BodySource,
  type ChangeEvent,
  type CloudEvent,
  type EventHandler,
  type HttpHandler,
  type LogLevel,
  type OutgoingResponse,
  type QueueMessage,
  type ScheduleEvent,
  type StorageEvent,
  type TopicMessage,
} from '@polycloud/core/adapter'

/** One captured log line. */
export interface LogRecord {
  level: LogLevel
  message: string
  [field: string]: unknown
}

export interface HarnessOptions {
  /** Provider the context reports (default `aws`). */
  provider?: Provider
  env?: Record<string, string | undefined>
  /** Milliseconds before the deadline (default 30000). */
  timeout?: number
}

function createContext(options: HarnessOptions, logs: LogRecord[]): PortableContext {
  const provider = options.provider ?? 'aws'
  return new PortableContext({
    provider,
    requestId: `test-${Math.random().toString(36).slice(2, 10)}`,
    functionName: 'test',
    deadline: Date.now() + (options.timeout ?? 30_000),
    env: options.env ?? {},
    native: { provider, event: null, context: null },
    sink: (_level, line) => logs.push(JSON.parse(line) as LogRecord),
  })
}

export interface RequestInit {
  method?: string
  /** Absolute, or a path (`/notes/1?x=y`) on http://localhost. */
  url?: string
  headers?: Record<string, string | string[]>
  /** A string or bytes as they are; any other value is sent as JSON (with a JSON content type). */
  body?: string | Uint8Array | unknown
  params?: Record<string, string>
}

class HarnessRequest extends BaseRequest<RequestInit> {
  readonly method: string
  readonly #url: string
  readonly #headers: PortableHeaders
  readonly #body: BodySource

  constructor(init: RequestInit) {
    super(init)
    this.method = (init.method ?? 'GET').toUpperCase()
    this.#url = new URL(init.url ?? '/', 'http://localhost').href
    const headers: Record<string, string | string[]> = { ...init.headers }
    const body = init.body
    if (body === undefined || body === null) this.#body = null
    else if (typeof body === 'string' || body instanceof Uint8Array) this.#body = body
    else {
      this.#body = JSON.stringify(body)
      if (!Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json'
    }
    this.#headers = PortableHeaders.from(headers)
  }

  override get params(): Readonly<Record<string, string>> {
    return this.native.params ?? super.params
  }

  protected readUrl(): string {
    return this.#url
  }

  protected readHeaders(): PortableHeaders {
    return this.#headers
  }

  protected readQuery(): PortableQuery {
    return PortableQuery.parse(new URL(this.#url).search)
  }

  protected readBody(): BodySource {
    return this.#body
  }
}

/** A response as a test sees it. */
export interface TestResponse {
  status: number
  headers: Record<string, string>
  cookies: string[]
  bytes: Uint8Array
  text(): string
  json<T = unknown>(): T
  logs: LogRecord[]
}

/**
 * Calls a portable HTTP handler with a request, the way every adapter does (errors become responses, the body is
 * buffered), without any provider. For unit tests of handlers.
 */
export async function request(handler: HttpHandler, init: RequestInit = {}, options: HarnessOptions = {}): Promise<TestResponse> {
  const logs: LogRecord[] = []
  const req = new HarnessRequest(init)
  const context = createContext(options, logs)
  context.useRequest(req) // a traceparent header is continued, as the adapters do
  const out: OutgoingResponse = await runHttp(handler, req, context)
  const bytes = out.body === null ? new Uint8Array(0) : typeof out.body === 'string' ? utf8Encode(out.body) : (out.body as Uint8Array)
  return {
    status: out.status,
    headers: out.headers,
    cookies: out.cookies,
    bytes,
    text: () => utf8Decode(bytes),
    json: <T>() => JSON.parse(utf8Decode(bytes)) as T,
    logs,
  }
}

/** Runs an event handler over events, the way adapters do; returns the ids of the events that failed. */
export async function send<E extends NeutralEvent>(
  handler: EventHandler<E>,
  events: E | E[],
  options: HarnessOptions & { ordered?: boolean } = {},
): Promise<{ failed: string[]; logs: LogRecord[] }> {
  const logs: LogRecord[] = []
  const list = Array.isArray(events) ? events : [events]
  const failed = await runEvents(handler, list, createContext(options, logs), options.ordered ?? false)
  return { failed: failed.map((event) => event.id), logs }
}

const NOW = () => new Date().toISOString()
let sequence = 0
const nextId = () => `test-${++sequence}`

/** A queue message with defaults for what the test does not care about. */
export function queueMessage(init: { body: string | object; id?: string; queue?: string; attempt?: number; attributes?: Record<string, string> }): QueueMessage {
  const body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body)
  return new PortableQueueMessage({
    id: init.id ?? nextId(),
    time: NOW(),
    source: init.queue ?? 'test-queue',
    native: null,
    payload: { text: body },
    attributes: init.attributes ?? {},
    queue: init.queue ?? 'test-queue',
    attempt: init.attempt ?? 1,
  })
}

export function topicMessage(init: { body: string | object; id?: string; topic?: string; subject?: string; attributes?: Record<string, string> }): TopicMessage {
  const body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body)
  return new PortableTopicMessage({
    id: init.id ?? nextId(),
    time: NOW(),
    source: init.topic ?? 'test-topic',
    native: null,
    payload: { text: body },
    attributes: init.attributes ?? {},
    topic: init.topic ?? 'test-topic',
    subject: init.subject,
  })
}

export function storageEvent(init: Partial<Omit<StorageEvent, 'kind'>> & { key: string }): StorageEvent {
  return {
    kind: 'storage',
    id: nextId(),
    time: NOW(),
    source: `test-bucket`,
    native: null,
    type: 'created',
    action: 'created',
    bucket: 'test-bucket',
    size: undefined,
    etag: undefined,
    contentType: undefined,
    versionId: undefined,
    ...init,
  }
}

export function changeEvent(init: Partial<Omit<ChangeEvent, 'kind'>> & Pick<ChangeEvent, 'type' | 'keys'>): ChangeEvent {
  return { kind: 'changes', id: nextId(), time: NOW(), source: 'test-table', native: null, table: 'test-table', newImage: undefined, oldImage: undefined, ...init }
}

export function scheduleEvent(init: Partial<Omit<ScheduleEvent, 'kind'>> = {}): ScheduleEvent {
  return { kind: 'schedule', id: nextId(), time: NOW(), source: 'test-schedule', native: null, schedule: undefined, name: undefined, ...init }
}

export function cloudEventOf(init: Partial<Omit<CloudEvent, 'kind'>> & Pick<CloudEvent, 'type'>): CloudEvent {
  return {
    kind: 'cloudEvent',
    id: nextId(),
    time: NOW(),
    source: 'test',
    native: null,
    specversion: '1.0',
    subject: undefined,
    datacontenttype: 'application/json',
    dataschema: undefined,
    data: undefined,
    extensions: {},
    ...init,
  }
}

