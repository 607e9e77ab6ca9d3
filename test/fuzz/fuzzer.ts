/**
 * A seeded mutation fuzzer over every payload in test/fixtures/events (and the R2 bodies of
 * test/fixtures/cloudflare-extra), through every module of every adapter, by the providers' own runtime entry
 * points (the dispatcher each uses). Each fixture is carried to each provider as that provider hands payloads over:
 * as it is (read with the adapter's `fromJson`, as `polycloud inspect` does), and inside the envelopes the provider
 * wraps payloads in (an Azure trigger input with its invocation context, a Workers queue message, a Functions
 * Framework request, an HTTP request body). Each event is one random mutation of one carried payload.
 *
 * What is checked on every event (a failure is a defect, named with the seed, the fixture and the mutation):
 * - no exception escapes a module's `canHandle`, or a dispatcher, other than the named refusals (an EventError or a
 *   BatchFailedError whose message starts with the provider or the format);
 * - an HTTP dispatcher always answers, with a 2xx or a 4xx: a 500 means a malformed request crashed the adapter;
 * - `Object.prototype` gains or loses nothing;
 * - nothing hangs (every dispatch settles within a time limit);
 * - every record that could not be translated is refused with an error naming the format and the problem (an
 *   EventError raised by the format, not a TypeError it did not expect);
 * - partial failures name only the bad records: the records refused are those refused without the mutation, plus at
 *   most the one record the mutation touched;
 * - every event that reaches a handler has each neutral field of its declared type (`NEUTRAL_FIELDS` in core, the
 *   one table the compiler checks against the event interfaces): a field of the wrong type is `defect:wrong-type`,
 *   counted per format and field in `wrongFields`.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ServerResponse } from 'node:http'
import { validateHeaderName, validateHeaderValue } from 'node:http'
import { changes, cloudEvent, http, json, queue, schedule, storage, topic, type PortableHandler } from '@polycloud/core'
import { BatchFailedError, EventError, InvalidRecord, fieldProblems, type EventSource, type NeutralEvent, type ProviderAdapter, type Source, type SourceKind } from '@polycloud/core/adapter'
import { adapter as aws, createLambdaHandler } from '@polycloud/aws'
import { adapter as azure, createAzureHandler, fromJson as azureFromJson } from '@polycloud/azure'
import { adapter as gcp, createCloudEventFunction, createHttpFunction, type FrameworkRequest } from '@polycloud/gcp'
import { adapter as cloudflare, createWorker, fromJson as cloudflareFromJson } from '@polycloud/cloudflare'
import { EVENTS_DIR, fixturePaths } from '../helpers/fixtures.ts'
import { straight, throughStream } from '../helpers/stdout.ts'

export type Outcome =
  | 'not-recognised'
  | 'translated'
  | 'partial'
  | 'refused'
  | 'http-2xx'
  | 'http-4xx'
  | 'defect:uncaught'
  | 'defect:unnamed-rejection'
  | 'defect:http-5xx'
  | 'defect:prototype'
  | 'defect:hang'
  | 'defect:unnamed-invalid-record'
  | 'defect:partial-beyond-mutation'
  | 'defect:wrong-type'

export interface Defect {
  readonly outcome: Outcome
  readonly seed: number
  readonly event: number
  readonly fixture: string
  readonly carrier: string
  readonly source: string
  readonly mutation: string
  readonly detail: string
}

export interface FuzzResult {
  readonly events: number
  /** One count per (event, module that recognised it) pair, plus `not-recognised` per (event, provider). */
  readonly counts: Record<Outcome, number>
  readonly defects: Defect[]
  /** Events that reached a handler with a field of the wrong type, per `<format> <field>`. */
  readonly wrongFields: Record<string, number>
  readonly ms: number
}

// ------------------------------------------------------------------------------------------------------------
// Seeded randomness

function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type Path = Array<string | number>

const HOSTILE_STRINGS = [
  '',
  ' ',
  '__proto__',
  'constructor',
  'a\r\nx-injected: 1',
  'nul\u0000byte',
  '../../etc/passwd',
  '/a/../b',
  '%2e%2e/%00',
  '!!!not base64!!!',
  'AAAA====',
  '\u{1F600}\uD800',
  'x'.repeat(10_000),
  '1e309',
  '-0',
  'NaN',
  '2024-13-45T99:99:99Z',
  'lunchtime',
  'javascript:alert(1)',
  '{"__proto__":{"isAdmin":true}}',
  '[[[[[[[[[[',
]

const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'Bad Key', 'UPPER', '']

function deepValue(depth: number): Json {
  let value: Json = 'bottom'
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { n: value }
  return value
}

/** Every path to a value in a JSON document (the root is []). */
function paths(value: Json, path: Path = [], out: Path[] = []): Path[] {
  out.push(path)
  if (out.length > 5000) return out
  if (Array.isArray(value)) value.forEach((item, i) => paths(item, [...path, i], out))
  else if (value !== null && typeof value === 'object') for (const key of Object.keys(value)) paths(value[key] as Json, [...path, key], out)
  return out
}

function get(root: Json, path: Path): Json {
  let value: Json = root
  for (const step of path) value = (value as Record<string | number, Json>)[step] as Json
  return value
}

/** Sets a member as an own property (so a `__proto__` key stays one, as JSON.parse would make it). */
function put(target: Json, key: string | number, value: Json): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

interface Mutation {
  readonly description: string
  /** The first array index on the mutated path: which record of a batch the mutation touched, if any. */
  readonly recordIndex: number | undefined
}

/** Applies one random mutation to a deep copy of `root`; returns the copy and what was done. */
function mutate(root: Json, random: () => number): { value: Json; mutation: Mutation } {
  const copy = JSON.parse(JSON.stringify(root)) as Json
  const all = paths(copy)
  const path = all[Math.floor(random() * all.length)] as Path
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T
  const target = get(copy, path)
  const parentPath = path.slice(0, -1)
  const key = path[path.length - 1]
  const parent = path.length === 0 ? undefined : get(copy, parentPath)
  const recordIndex = path.find((step): step is number => typeof step === 'number')
  const replace = (value: Json, what: string): { value: Json; mutation: Mutation } => {
    if (parent === undefined || key === undefined) return { value, mutation: { description: `root := ${what}`, recordIndex: undefined } }
    put(parent, key, value)
    return { value: copy, mutation: { description: `${JSON.stringify(path)} := ${what}`, recordIndex } }
  }
  switch (Math.floor(random() * 10)) {
    case 0:
      if (parent !== undefined && key !== undefined) {
        if (Array.isArray(parent)) parent.splice(key as number, 1)
        else delete (parent as Record<string, Json>)[key]
        return { value: copy, mutation: { description: `delete ${JSON.stringify(path)}`, recordIndex } }
      }
      return replace(null, 'null')
    case 1:
      return replace(null, 'null')
    case 2: {
      const choices: Array<[Json, string]> = [[0, '0'], [-1, '-1'], [1.5, '1.5'], [2 ** 53 + 1, '2^53+1'], [true, 'true'], [[], '[]'], [{}, '{}'], ['5', '"5"']]
      const [value, what] = pick(choices)
      return replace(value, what)
    }
    case 3: {
      const value = pick(HOSTILE_STRINGS)
      return replace(value, JSON.stringify(value.slice(0, 40)))
    }
    case 4: {
      const host = typeof target === 'object' && target !== null && !Array.isArray(target) ? target : parent
      const hostPath = host === target ? path : parentPath
      if (host !== undefined && host !== null && typeof host === 'object' && !Array.isArray(host)) {
        const name = pick(HOSTILE_KEYS)
        const value: Json = random() < 0.5 ? { isAdmin: true, S: 'x', stringValue: 'y' } : 'polluted'
        put(host, name, value)
        return { value: copy, mutation: { description: `${JSON.stringify(hostPath)}[${JSON.stringify(name)}] := ${JSON.stringify(value)}`, recordIndex: hostPath.find((s): s is number => typeof s === 'number') } }
      }
      return replace({ __proto__: null } as unknown as Json, 'object')
    }
    case 5: {
      const depth = pick([50, 1000, 5000])
      return replace(deepValue(depth), `nested ${depth} deep`)
    }
    case 6: {
      if (Array.isArray(target)) {
        const value = pick<Json>([null, 5, 'text', [], {}])
        const at = Math.floor(random() * (target.length + 1))
        target.splice(at, 0, value)
        return { value: copy, mutation: { description: `insert ${JSON.stringify(value)} at ${JSON.stringify([...path, at])}`, recordIndex: path.find((s): s is number => typeof s === 'number') ?? at } }
      }
      return replace([target], 'wrapped in an array')
    }
    case 7:
      if (typeof target === 'string') return replace(`${target}\r\n\u0000`, 'string + CRLF NUL')
      return replace(String(target), 'as a string')
    case 8:
      if (Array.isArray(target) && target.length > 0) {
        const many: Json[] = []
        for (let i = 0; i < 50; i++) many.push(JSON.parse(JSON.stringify(target[i % target.length])) as Json)
        return replace(many, `repeated to 50 items`)
      }
      return replace(typeof target === 'number' ? -target : 'swapped', 'negated or swapped')
    default:
      if (typeof target === 'string' && target.length > 0) {
        const at = Math.floor(random() * target.length)
        return replace(target.slice(0, at) + pick(['%', '"', '\\', '/../', '\u0000', '=', '@', '\uFFFF']) + target.slice(at + 1), 'one character changed')
      }
      return replace(pick(HOSTILE_STRINGS), 'hostile string')
  }
}

// ------------------------------------------------------------------------------------------------------------
// Carriers: a fixture as each provider hands it over

interface Carried {
  readonly carrier: string
  readonly json: Json
  /** Builds the provider's native input from the (mutated) JSON; may throw, a refusal before any adapter runs. */
  readonly toInput: (json: Json) => unknown
  /** Whether `toInput` is this harness's own construction (a Fetch Request), not the adapter's `fromJson`. */
  readonly harness?: boolean
}

function carriers(provider: string, adapter: ProviderAdapter, payload: Json): Carried[] {
  const fromJson = (json: Json): unknown => (adapter.fromJson ? adapter.fromJson(json) : json)
  const out: Carried[] = [{ carrier: 'as is', json: payload, toInput: fromJson }]
  const text = JSON.stringify(payload)
  if (provider === 'azure') {
    const envelope = (type: string, metadata: Json, input: Json = payload, options: Record<string, Json> = {}): Carried => ({
      carrier: `azure ${type}`,
      json: { input, context: { invocationId: 'inv-1', functionName: 'fuzz', triggerMetadata: metadata, options: { trigger: { type, name: 't', ...options } } } },
      toInput: (json) => azureFromJson(json),
    })
    out.push(
      envelope('queueTrigger', { id: 'q-1', dequeueCount: 1, popReceipt: 'p', insertionTime: '2024-01-01T00:00:00Z' }, payload, { queueName: 'jobs' }),
      envelope('serviceBusTrigger', { messageId: 'sb-1', deliveryCount: 1, lockToken: 'l', enqueuedTimeUtc: '2024-01-01T00:00:00', applicationProperties: { k: 'v' } }, payload, { queueName: 'jobs' }),
      envelope('blobTrigger', { blobTrigger: 'box/a.json', uri: 'https://acct.blob.core.windows.net/box/a.json', properties: { contentLength: 3, eTag: '"0x1"' } }),
      envelope('eventGridTrigger', null),
      envelope('cosmosDBTrigger', null, Array.isArray(payload) ? payload : [{ id: 'doc-1', ...(typeof payload === 'object' && payload !== null ? payload : { value: payload }) }], { containerName: 'items', databaseName: 'db' }),
      envelope('httpTrigger', null, { method: 'POST', url: 'https://app.azurewebsites.net/api/items/1?a=1&a=2', headers: { 'content-type': 'application/json', cookie: 'a=1', 'x-forwarded-for': '6.6.6.6, 1.2.3.4:5' }, body: { string: text } }),
    )
  } else if (provider === 'cloudflare') {
    out.push({
      carrier: 'workers queue message',
      json: { queue: 'jobs', messages: [{ id: 'm-1', timestamp: 1716579404379, body: payload, attempts: 1 }, { id: 'm-2', timestamp: '2024-05-24T19:36:44.379Z', body: 'plain', attempts: 2 }] },
      toInput: (json) => cloudflareFromJson(json),
    })
    out.push({ carrier: 'workers scheduled', json: { cron: '*/5 * * * *', scheduledTime: 1716579404379 }, toInput: (json) => cloudflareFromJson(json) })
    out.push({
      carrier: 'workers request',
      json: { method: 'POST', url: 'https://worker.example/items/1?a=1', headers: { 'content-type': 'application/json', 'cf-connecting-ip': '1.2.3.4', 'cf-ray': 'ray-1' }, body: text },
      // What the runtime hands a Worker is always a valid Request: a mutation Fetch refuses is no input at all.
      harness: true,
      toInput: (json) => {
        const init = json as { method: string; url: string; headers: Record<string, string>; body: string }
        return new Request(init.url, { method: init.method, headers: init.headers, body: init.method === 'GET' || init.method === 'HEAD' ? null : init.body })
      },
    })
  } else if (provider === 'gcp') {
    out.push({
      carrier: 'functions framework request',
      json: { method: 'POST', originalUrl: '/items/1?a=1&a=2', headers: { host: 'fn.a.run.app', 'content-type': 'application/json', 'x-forwarded-for': '6.6.6.6, 1.2.3.4' }, body: payload, rawBody: text },
      harness: true,
      toInput: (json) => {
        const request = { ...(json as Record<string, unknown>) } as unknown as FrameworkRequest & { rawBody?: unknown }
        if (typeof request.rawBody === 'string') request.rawBody = Buffer.from(request.rawBody)
        return request
      },
    })
  } else if (provider === 'aws') {
    out.push({
      carrier: 'api gateway body',
      json: { version: '2.0', routeKey: '$default', rawPath: '/items/1', rawQueryString: 'a=1&a=2', headers: { host: 'x.example', 'content-type': 'application/json' }, requestContext: { domainName: 'x.example', http: { method: 'POST', path: '/items/1', sourceIp: '1.2.3.4' }, requestId: 'r' }, body: text, isBase64Encoded: false },
      toInput: (json) => json,
    })
  }
  return out
}

// ------------------------------------------------------------------------------------------------------------
// Handlers that read everything a handler can read, and succeed

async function touchRequest(request: Parameters<Parameters<typeof http>[0]>[0]): Promise<Record<string, unknown>> {
  const seen: Record<string, unknown> = {
    method: request.method,
    url: request.url,
    path: request.path,
    headers: [...request.headers],
    query: [...request.query],
    cookies: [...request.cookies],
    params: { ...request.params },
    ip: request.ip,
  }
  seen.length = (await request.text()).length
  return seen
}

function touch(value: unknown): void {
  JSON.stringify(value, (_key, inner: unknown) => (inner instanceof Uint8Array ? inner.byteLength : typeof inner === 'bigint' ? String(inner) : inner))
}

/** The field problems of the events that reached a handler during the current dispatch. */
let reached: string[] = []

/** The oracle on every event a handler receives: each neutral field has its declared type. */
function checkFields(event: NeutralEvent): void {
  for (const problem of fieldProblems(event)) reached.push(problem)
}

const HANDLERS: Record<SourceKind, PortableHandler> = {
  http: http(async (request) => json(await touchRequest(request))),
  schedule: schedule((event) => {
    checkFields(event)
    touch(event.name)
  }),
  queue: queue((message) => {
    checkFields(message)
    touch([message.body, message.bytes().length, message.attributes, message.attempt, message.groupId])
    try {
      message.json()
    } catch {
      // Not JSON: the handler's business.
    }
  }),
  topic: topic((message) => {
    checkFields(message)
    touch([message.body, message.bytes().length, message.attributes, message.subject])
  }),
  storage: storage((event) => {
    checkFields(event)
    touch([event.bucket, event.key, event.size, event.etag])
  }),
  changes: changes((event) => {
    checkFields(event)
    touch([event.keys, event.newImage, event.oldImage])
  }),
  cloudEvent: cloudEvent((event) => {
    checkFields(event)
    touch([event.data, event.extensions, event.time])
  }),
}

// ------------------------------------------------------------------------------------------------------------
// Running one input through one module by its provider's entry point

const lambdaContext = { awsRequestId: 'fuzz', functionName: 'fuzz', getRemainingTimeInMillis: () => 30_000 }
const executionContext = { waitUntil: () => {}, passThroughOnException: () => {} }

/** A ServerResponse stand-in that refuses headers as Node does and records what is written. */
function fakeResponse(): ServerResponse & { written: { status: number } } {
  const headers = new Map<string, unknown>()
  const listeners = new Map<string, () => void>()
  const res = {
    statusCode: 200,
    written: { status: 0 },
    headersSent: false,
    writableEnded: false,
    setHeader(name: string, value: string | string[]) {
      validateHeaderName(name)
      for (const item of Array.isArray(value) ? value : [value]) validateHeaderValue(name, item)
      headers.set(name.toLowerCase(), value)
      return res
    },
    removeHeader(name: string) {
      headers.delete(name.toLowerCase())
    },
    getHeaderNames: () => [...headers.keys()],
    write: () => true,
    end() {
      res.written.status = res.statusCode
      res.writableEnded = true
      return res
    },
    once(event: string, listener: () => void) {
      listeners.set(event, listener)
      return res
    },
    on(event: string, listener: () => void) {
      listeners.set(event, listener)
      return res
    },
    off(event: string) {
      listeners.delete(event)
      return res
    },
    destroy() {
      res.written.status = -1
    },
  }
  return res as unknown as ServerResponse & { written: { status: number } }
}

type Run = { kind: 'http'; status: number } | { kind: 'events'; result: unknown }

/** Runs one native input through the provider's entry point for one module; resolves with what it answered. */
async function runEntry(provider: string, source: Source, input: unknown): Promise<Run> {
  const handler = HANDLERS[source.kind]
  switch (provider) {
    case 'aws': {
      const result = await createLambdaHandler(handler, [source])(input, lambdaContext)
      return source.kind === 'http' ? { kind: 'http', status: (result as { statusCode: number }).statusCode } : { kind: 'events', result }
    }
    case 'azure': {
      const { input: trigger, context } = input as { input: unknown; context: Parameters<ReturnType<typeof createAzureHandler>>[1] }
      const result = await createAzureHandler(handler, [source])(trigger, context)
      return source.kind === 'http' ? { kind: 'http', status: (result as { status: number }).status } : { kind: 'events', result }
    }
    case 'gcp': {
      if (source.kind === 'http') {
        const res = fakeResponse()
        await createHttpFunction(handler as Parameters<typeof createHttpFunction>[0], [source])(input as FrameworkRequest, res)
        return { kind: 'http', status: res.written.status }
      }
      return { kind: 'events', result: await createCloudEventFunction(handler, [source])(input as never) }
    }
    default: {
      const worker = createWorker(handler, [source]) as unknown as Record<string, ((input: unknown, env: unknown, ctx: unknown) => Promise<unknown>) | undefined>
      if (source.kind === 'http') {
        const response = (await worker.fetch?.(input, {}, executionContext)) as Response
        await response.arrayBuffer()
        return { kind: 'http', status: response.status }
      }
      const method = source.kind === 'schedule' ? worker.scheduled : worker.queue
      return { kind: 'events', result: await method?.(input, {}, executionContext) }
    }
  }
}

/** A refusal that names its problem: an EventError or BatchFailedError whose message starts with a provider. */
function isNamedRefusal(error: unknown): boolean {
  return (error instanceof EventError || error instanceof BatchFailedError) && /^(aws|azure|gcp|cloudflare)(:[a-z0-9-]+)?: /.test(error.message)
}

/**
 * The positions of the records a source refused, as their errors name them (`Records[3]`, `input[0]`,
 * `messages[2]`); undefined when the input is no batch. A refusal of a batch record that does not name its position
 * counts as position -2, which no mutation allows.
 */
function invalidPositions(items: ReadonlyArray<unknown>, records: readonly unknown[] | undefined): number[] | undefined {
  if (records === undefined) return undefined
  const out: number[] = []
  for (const item of items) {
    if (!(item instanceof InvalidRecord)) continue
    const match = /^[a-z]+:[a-z0-9-]+: (?:Records|input|messages)\[(\d+)\]/.exec(item.error.message)
    out.push(match ? Number(match[1]) : -2)
  }
  return out
}

/** The record list of a native input, where it has one. */
function recordList(provider: string, input: unknown): readonly unknown[] | undefined {
  if (typeof input !== 'object' || input === null) return undefined
  const value = input as Record<string, unknown>
  if (provider === 'aws' && Array.isArray(value.Records)) return value.Records
  if (provider === 'azure' && Array.isArray(value.input)) return value.input
  if (provider === 'cloudflare' && Array.isArray(value.messages)) return value.messages
  return undefined
}

function snapshotPrototype(): string {
  return Object.getOwnPropertyNames(Object.prototype).sort().join(',')
}

const PROTOTYPE = snapshotPrototype()

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

// ------------------------------------------------------------------------------------------------------------

export interface FuzzOptions {
  readonly seed: number
  readonly events: number
  /** Milliseconds a dispatch may take before it counts as a hang (default 5000). */
  readonly timeoutMs?: number
  /** Progress callback, every 1000 events. */
  readonly progress?: (done: number, counts: Record<Outcome, number>) => void
}

export const PROVIDERS: ReadonlyArray<[string, ProviderAdapter]> = [
  ['aws', aws],
  ['azure', azure],
  ['gcp', gcp],
  ['cloudflare', cloudflare],
]

/** Every fixture of test/fixtures/events and the R2 bodies of test/fixtures/cloudflare-extra, parsed. */
export function corpus(): Array<{ path: string; json: Json }> {
  const extra = join(EVENTS_DIR, '../cloudflare-extra')
  return [
    ...fixturePaths().map((path) => ({ path, json: JSON.parse(readFileSync(join(EVENTS_DIR, path), 'utf8')) as Json })),
    ...['r2-copy-object.json', 'r2-delete-object.json', 'r2-lifecycle-deletion.json', 'r2-put-object.json'].map((name) => ({
      path: `cloudflare-extra/${name}`,
      json: JSON.parse(readFileSync(join(extra, name), 'utf8')) as Json,
    })),
  ]
}

/** Runs the fuzzer; output of the adapters' loggers is the caller's to silence. */
export async function fuzz(options: FuzzOptions): Promise<FuzzResult> {
  const started = performance.now()
  const random = mulberry32(options.seed)
  const timeoutMs = options.timeoutMs ?? 5000
  const counts = Object.fromEntries(
    ['not-recognised', 'translated', 'partial', 'refused', 'http-2xx', 'http-4xx', 'defect:uncaught', 'defect:unnamed-rejection', 'defect:http-5xx', 'defect:prototype', 'defect:hang', 'defect:unnamed-invalid-record', 'defect:partial-beyond-mutation', 'defect:wrong-type'].map((name) => [name, 0]),
  ) as Record<Outcome, number>
  const defects: Defect[] = []
  const wrongFields: Record<string, number> = {}
  // Every (fixture, provider, carrier) triple, mutated in turn.
  const targets: Array<{ path: string; provider: string; adapter: ProviderAdapter; carried: Carried }> = []
  for (const { path, json } of corpus()) {
    for (const [provider, adapter] of PROVIDERS) for (const carried of carriers(provider, adapter, json)) targets.push({ path, provider, adapter, carried })
  }
  const baselines = new Map<Carried, Map<string, number[] | undefined>>()

  for (let event = 0; event < options.events; event++) {
    const target = targets[Math.floor(random() * targets.length)] as (typeof targets)[number]
    const { provider, adapter, carried, path } = target
    const { value, mutation } = mutate(carried.json, random)
    const defect = (outcome: Outcome, source: string, detail: string): void => {
      counts[outcome]++
      if (defects.length < 200) defects.push({ outcome, seed: options.seed, event, fixture: path, carrier: carried.carrier, source, mutation: mutation.description, detail: detail.slice(0, 500) })
    }
    let input: unknown
    try {
      input = carried.toInput(value)
    } catch (error) {
      // The provider cannot even hand it over (an invalid Fetch Request, an Azure envelope fromJson refuses).
      if (carried.harness === true || (error instanceof Error && error.message !== '' && !/Cannot read properties|is not a function|Maximum call stack/.test(error.message))) counts.refused++
      else defect('defect:uncaught', 'fromJson', String(error))
      continue
    }
    // What the handlers of one dispatch received with a field of the wrong type: one defect per dispatch.
    const wrongTypes = (source: string): void => {
      if (reached.length === 0) return
      for (const problem of reached) {
        const key = `${source} ${problem.slice(0, problem.indexOf(':'))}`
        wrongFields[key] = (wrongFields[key] ?? 0) + 1
      }
      defect('defect:wrong-type', source, reached.join('; '))
      reached = []
    }
    let recognised = false
    for (const source of adapter.sources) {
      let handles: boolean
      try {
        handles = source.canHandle(input)
      } catch (error) {
        defect('defect:uncaught', source.name, `canHandle threw ${String(error)}`)
        continue
      }
      if (!handles) continue
      recognised = true
      // Translation: invalid records named, and only the mutated one beyond those of the unmutated payload.
      if (source.kind !== 'http') {
        let items: ReadonlyArray<unknown>
        try {
          items = (source as EventSource).getEvents(input)
        } catch (error) {
          defect('defect:uncaught', source.name, `getEvents threw ${String(error)}`)
          continue
        }
        for (const item of items) {
          if (item instanceof InvalidRecord && !(item.error.cause instanceof EventError || item.error.cause === undefined) ) {
            defect('defect:unnamed-invalid-record', source.name, item.error.message)
          }
        }
        const records = recordList(provider, input)
        const positions = invalidPositions(items, records)
        if (positions !== undefined && mutation.recordIndex !== undefined) {
          let perSource = baselines.get(carried)
          if (perSource === undefined) baselines.set(carried, (perSource = new Map()))
          if (!perSource.has(source.name)) {
            let base: number[] | undefined
            try {
              const original = carried.toInput(carried.json)
              base = source.canHandle(original) ? invalidPositions((source as EventSource).getEvents(original), recordList(provider, original)) : undefined
            } catch {
              base = undefined
            }
            perSource.set(source.name, base)
          }
          const base = perSource.get(source.name)
          // Positions shift by one when the mutation inserted or removed a record: allow the mutated index and its neighbour.
          const allowed = new Set([...(base ?? []), ...(base ?? []).map((i) => i + 1), ...(base ?? []).map((i) => i - 1), mutation.recordIndex, mutation.recordIndex + 1])
          const beyond = positions.filter((position) => !allowed.has(position))
          if (base !== undefined && beyond.length > 0) defect('defect:partial-beyond-mutation', source.name, `records ${beyond.join(', ')} refused; the mutation touched ${mutation.recordIndex}`)
        }
        if (items.some((item) => item instanceof InvalidRecord)) counts.partial++
        else counts.translated++
      }
      // The entry point.
      let run: Run | 'timeout'
      reached = []
      try {
        run = await withTimeout(runEntry(provider, source, input), timeoutMs)
      } catch (error) {
        wrongTypes(source.name)
        if (isNamedRefusal(error)) counts.refused++
        else if (error instanceof Error && /^(aws|azure|gcp|cloudflare)[: ]/.test(error.message) && !(error instanceof TypeError || error instanceof RangeError)) counts.refused++
        else defect('defect:unnamed-rejection', source.name, error instanceof Error ? `${error.name}: ${error.message}` : String(error))
        continue
      }
      wrongTypes(source.name)
      if (run === 'timeout') {
        defect('defect:hang', source.name, `no answer within ${timeoutMs} ms`)
        continue
      }
      if (run.kind === 'http') {
        if (run.status >= 200 && run.status < 300) counts['http-2xx']++
        else if (run.status >= 400 && run.status < 500) counts['http-4xx']++
        else defect('defect:http-5xx', source.name, `answered ${run.status}`)
      }
    }
    if (!recognised) counts['not-recognised']++
    if (snapshotPrototype() !== PROTOTYPE || ({} as Record<string, unknown>).isAdmin !== undefined) {
      defect('defect:prototype', 'any', `Object.prototype changed: ${snapshotPrototype()}`)
      for (const name of Object.getOwnPropertyNames(Object.prototype)) if (!PROTOTYPE.split(',').includes(name)) delete (Object.prototype as Record<string, unknown>)[name]
    }
    if ((event + 1) % 1000 === 0) options.progress?.(event + 1, counts)
  }
  return { events: options.events, counts, defects, wrongFields, ms: performance.now() - started }
}

/** Runs `body` with stdout log lines and console output swallowed (the adapters log every failure they handle). */
export async function quietly<T>(body: () => Promise<T>): Promise<T> {
  const saved = { write: process.stdout.write, log: console.log, warn: console.warn, error: console.error, info: console.info }
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString()
    if (text.startsWith('{')) return true
    return (saved.write as (...args: unknown[]) => boolean).call(process.stdout, chunk, ...rest)
  }) as typeof process.stdout.write
  throughStream()
  console.log = console.warn = console.error = console.info = () => {}
  try {
    return await body()
  } finally {
    process.stdout.write = saved.write
    straight()
    Object.assign(console, { log: saved.log, warn: saved.warn, error: saved.error, info: saved.info })
  }
}
