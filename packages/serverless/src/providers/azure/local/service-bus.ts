/**
 * A local stand-in for Azure Service Bus's HTTPS send API (Service Bus has no emulator that runs here: Microsoft's is
 * a container with SQL Edge). It answers what a sender does, as the REST reference describes it
 * (https://learn.microsoft.com/rest/api/servicebus/send-message-to-queue, .../send-message-batch,
 * .../message-headers-and-properties), and hands each message to a delivery callback, once per queue and once per
 * topic subscription:
 *
 *   POST /<queue or topic>/messages   one message: the body as sent, `Content-Type` its content type, the
 *                                     `BrokerProperties` header (JSON: Label, MessageId, CorrelationId, SessionId,
 *                                     TimeToLive, ScheduledEnqueueTimeUtc, ...), every other header an application
 *                                     property (a JSON string, number or boolean, else the text as a string) but
 *                                     HTTP's own (Accept-*, Sec-*, Cache-Control, User-Agent, X-Forwarded-*, ...);
 *                                     or a batch: `Content-Type: application/vnd.microsoft.servicebus.json`, a JSON
 *                                     array of `{ Body, BrokerProperties, UserProperties }`. 201 when taken.
 *   GET  /polycloud/service-bus       the entities and what each holds (messages with no callback, dead letters)
 *
 * Requests need `Authorization: SharedAccessSignature sr=..&sig=..&se=..&skn=..` signed with the namespace key (401
 * otherwise, as Service Bus answers), or a bearer token when `acceptBearer` is set. 410 for an entity that does not
 * exist, 403 for a message over the size limit (256 KB, Standard), 400 for a malformed request. A delivery that
 * throws is retried (`retryDelayMs`) up to `maxDeliveryCount` times (10, Service Bus's default), then kept as a dead
 * letter. Scheduled messages are delivered at their time.
 *
 * The connection string it prints is what the Azure driver of @polycloud/resources and the Functions triggers take:
 * `Endpoint=sb://127.0.0.1:<port>;SharedAccessKeyName=...;SharedAccessKey=...;UseDevelopmentEmulator=true`.
 */
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { buffer } from 'node:stream/consumers'

/** What Service Bus keeps of a message, as a receiver sees it. */
export interface ServiceBusMessage {
  readonly messageId: string
  readonly body: Buffer
  readonly contentType: string | undefined
  /** `Label` (the subject). */
  readonly label: string | undefined
  readonly correlationId: string | undefined
  readonly sessionId: string | undefined
  readonly applicationProperties: Readonly<Record<string, string | number | boolean>>
  readonly enqueuedTimeUtc: Date
  readonly scheduledEnqueueTimeUtc: Date | undefined
  readonly sequenceNumber: number
  /** 1 on the first delivery. */
  deliveryCount: number
}

/** One delivery: the message and where it comes from (a queue, or a topic's subscription). */
export interface ServiceBusDelivery {
  readonly queue: string | undefined
  readonly topic: string | undefined
  readonly subscription: string | undefined
  /** `<queue>` or `<topic>/Subscriptions/<subscription>`, as Service Bus names the entity. */
  readonly entityPath: string
  readonly message: ServiceBusMessage
}

export interface LocalServiceBusOptions {
  /** 127.0.0.1 (the loopback interface is the only one allowed). */
  readonly host?: string
  /** 0 (the default) picks a free port. */
  readonly port?: number
  readonly queues?: readonly string[]
  readonly topics?: ReadonlyArray<{ readonly name: string; readonly subscriptions: readonly string[] }>
  /** The shared access key's name and key (default `RootManageSharedAccessKey` and a random key). */
  readonly keyName?: string
  readonly key?: string
  /** Accepts any `Authorization: Bearer` token (managed identity's, locally there is none to check). */
  readonly acceptBearer?: boolean
  /** Each message, once per queue and per subscription; a throw or rejection is a failed delivery. */
  readonly deliver?: (delivery: ServiceBusDelivery) => unknown
  readonly maxDeliveryCount?: number
  /** The MaxDeliveryCount of particular entities (`<queue>` or `<topic>/Subscriptions/<subscription>`), as deployed. */
  readonly maxDeliveryCounts?: Readonly<Record<string, number>>
  readonly retryDelayMs?: number
  /** Default 256 KB (Standard); Premium allows up to 100 MB. */
  readonly maxMessageBytes?: number
  readonly log?: (line: string) => void
}

export interface LocalServiceBus {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string
  readonly port: number
  /** The connection string of the namespace (SAS, `UseDevelopmentEmulator=true`: plain HTTP). */
  readonly connectionString: string
  /** Messages an entity holds that no callback took (no `deliver`): by queue or `<topic>/Subscriptions/<sub>`. */
  messages(entityPath: string): readonly ServiceBusMessage[]
  /** Messages that failed `maxDeliveryCount` deliveries. */
  deadLetters(entityPath: string): readonly ServiceBusMessage[]
  /** Every entity messages are delivered from: each queue, and each topic's `<topic>/Subscriptions/<subscription>`. */
  entities(): readonly string[]
  /**
   * Sends a dead-lettered message back to its entity (as resubmitting from the dead-letter queue does: a new
   * delivery, its count from 1). Throws when the entity holds no dead letter of that id.
   */
  redeliver(entityPath: string, messageId: string): void
  stop(): Promise<void>
}

/** Headers that are not application properties. */
const NOT_PROPERTIES = new Set([
  'authorization', 'brokerproperties', 'content-type', 'content-length', 'host', 'connection', 'transfer-encoding', 'expect',
  'date', 'keep-alive', 'te', 'trailer', 'upgrade', 'accept', 'user-agent', 'cache-control', 'pragma', 'origin', 'referer',
  'cookie', 'via', 'forwarded',
])
const BROKER_PROPERTIES = new Set(['CorrelationId', 'ForcePersistence', 'Label', 'MessageId', 'PartitionKey', 'ReplyTo', 'ReplyToSessionId', 'ScheduledEnqueueTimeUtc', 'SessionId', 'TimeToLive', 'To', 'ViaPartitionKey', 'ContentType'])
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1'])

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

/** Service Bus's error body: `<Error><Code>..</Code><Detail>..</Detail></Error>`. */
function fail(res: ServerResponse, status: number, detail: string): void {
  const escaped = detail.replace(/[<>&]/g, (char) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[char] as string)
  res.writeHead(status, { 'content-type': 'application/xml; charset=utf-8' })
  res.end(`<Error><Code>${status}</Code><Detail>${escaped}</Detail></Error>`)
}

/** A header value as an application property: a JSON string, number or boolean, else the text itself. */
function propertyValue(text: string): string | number | boolean {
  try {
    const value: unknown = JSON.parse(text)
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value
  } catch {
    // Not JSON: the text as it came.
  }
  return text
}

export async function startLocalServiceBus(options: LocalServiceBusOptions = {}): Promise<LocalServiceBus> {
  const host = options.host ?? '127.0.0.1'
  if (!LOOPBACK.has(host)) throw new Error(`the local Service Bus listens on the loopback interface only (127.0.0.1), not ${JSON.stringify(host)}`)
  const keyName = options.keyName ?? 'RootManageSharedAccessKey'
  const key = options.key ?? randomBytes(32).toString('base64')
  const maxBytes = options.maxMessageBytes ?? 256 * 1024
  const maxDeliveries = options.maxDeliveryCount ?? 10
  const retryDelay = options.retryDelayMs ?? 1000
  const log = options.log ?? (() => {})
  const queues = new Set(options.queues ?? [])
  const topics = new Map((options.topics ?? []).map((topic) => [topic.name, topic.subscriptions]))
  const held = new Map<string, ServiceBusMessage[]>()
  const dead = new Map<string, ServiceBusMessage[]>()
  const timers = new Set<NodeJS.Timeout>()
  let sequence = 0
  let stopped = false

  const later = (ms: number, run: () => void): void => {
    if (stopped) return
    const timer = setTimeout(() => {
      timers.delete(timer)
      if (!stopped) run()
    }, Math.max(0, ms))
    timers.add(timer)
  }

  const deliverTo = (target: Omit<ServiceBusDelivery, 'message'>, message: ServiceBusMessage): void => {
    const deliver = options.deliver
    if (deliver === undefined) {
      held.set(target.entityPath, [...(held.get(target.entityPath) ?? []), message])
      return
    }
    Promise.resolve()
      .then(() => deliver({ ...target, message }))
      .then(
        () => undefined,
        (error: unknown) => {
          if (message.deliveryCount >= (options.maxDeliveryCounts?.[target.entityPath] ?? maxDeliveries)) {
            dead.set(target.entityPath, [...(dead.get(target.entityPath) ?? []), message])
            log(`Service Bus ${target.entityPath}: message ${message.messageId} failed ${message.deliveryCount} deliveries: dead-lettered`)
            return
          }
          log(`Service Bus ${target.entityPath}: message ${message.messageId} failed (${(error as Error)?.message ?? String(error)}), delivery ${message.deliveryCount}: redelivered`)
          later(retryDelay, () => deliverTo(target, { ...message, deliveryCount: message.deliveryCount + 1 }))
        },
      )
  }

  /** Every target of an entity: the queue, or each subscription of the topic (each gets its own copy). */
  const enqueue = (entity: string, message: ServiceBusMessage): void => {
    const targets: Array<Omit<ServiceBusDelivery, 'message'>> = queues.has(entity)
      ? [{ queue: entity, topic: undefined, subscription: undefined, entityPath: entity }]
      : (topics.get(entity) ?? []).map((subscription) => ({ queue: undefined, topic: entity, subscription, entityPath: `${entity}/Subscriptions/${subscription}` }))
    const wait = message.scheduledEnqueueTimeUtc === undefined ? 0 : message.scheduledEnqueueTimeUtc.getTime() - Date.now()
    for (const target of targets) {
      if (wait > 0) later(wait, () => deliverTo(target, { ...message }))
      else deliverTo(target, { ...message })
    }
  }

  /** Checks `Authorization` as Service Bus does: a SAS token over this entity signed with the key, unexpired. */
  const authorize = (req: IncomingMessage, entity: string): void => {
    const header = req.headers.authorization ?? ''
    if (header.startsWith('Bearer ')) {
      if (options.acceptBearer === true && header.length > 7) return
      throw new HttpProblem(401, 'InvalidSignature: bearer tokens are not accepted by this local namespace (start it with acceptBearer)')
    }
    if (!header.startsWith('SharedAccessSignature ')) throw new HttpProblem(401, 'MissingToken: the request has no SharedAccessSignature authorization')
    const fields = new Map<string, string>()
    for (const part of header.slice('SharedAccessSignature '.length).split('&')) {
      const at = part.indexOf('=')
      if (at > 0) fields.set(part.slice(0, at), part.slice(at + 1))
    }
    const sr = fields.get('sr') ?? ''
    const sig = decodeURIComponent(fields.get('sig') ?? '')
    const se = Number(fields.get('se'))
    if (decodeURIComponent(fields.get('skn') ?? '') !== keyName) throw new HttpProblem(401, `InvalidSignature: unknown key name ${JSON.stringify(fields.get('skn'))}`)
    if (!Number.isFinite(se) || se * 1000 < Date.now()) throw new HttpProblem(401, 'ExpiredToken: the token has expired')
    const expected = createHmac('sha256', key).update(`${sr}\n${fields.get('se')}`, 'utf8').digest()
    const given = Buffer.from(sig, 'base64')
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new HttpProblem(401, 'InvalidSignature: the token\'s signature does not match the key')
    // The token's resource must cover the entity (the namespace, or the entity itself).
    const resource = decodeURIComponent(sr).toLowerCase().replace(/^[a-z]+:\/\//, '').replace(/\/+$/, '')
    const target = `${req.headers.host ?? ''}/${entity}`.toLowerCase()
    if (target !== resource && !target.startsWith(`${resource}/`)) throw new HttpProblem(401, `InvalidAudience: the token is for ${decodeURIComponent(sr)}, not ${entity}`)
  }

  /** The broker properties of a message: known names only, with the types Service Bus gives them. */
  const brokerOf = (value: unknown): Record<string, unknown> => {
    if (value === undefined) return {}
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpProblem(400, 'BrokerProperties must be a JSON object')
    const out: Record<string, unknown> = {}
    for (const [name, item] of Object.entries(value)) if (BROKER_PROPERTIES.has(name)) out[name] = item
    return out
  }

  const makeMessage = (body: Buffer, contentType: string | undefined, broker: Record<string, unknown>, properties: Record<string, string | number | boolean>): ServiceBusMessage => {
    let scheduled: Date | undefined
    if (broker.ScheduledEnqueueTimeUtc !== undefined) {
      scheduled = new Date(String(broker.ScheduledEnqueueTimeUtc))
      if (Number.isNaN(scheduled.getTime())) throw new HttpProblem(400, `ScheduledEnqueueTimeUtc ${JSON.stringify(broker.ScheduledEnqueueTimeUtc)} is not a date`)
    }
    const text = (name: string): string | undefined => (broker[name] === undefined ? undefined : String(broker[name]))
    let size = body.length
    for (const [name, value] of Object.entries(properties)) size += Buffer.byteLength(name) + Buffer.byteLength(String(value))
    if (size > maxBytes) throw new HttpProblem(403, `MessageSizeExceeded: the message is ${size} bytes, more than the ${maxBytes} allowed`)
    return {
      messageId: text('MessageId') ?? randomUUID().replaceAll('-', ''),
      body,
      contentType: text('ContentType') ?? contentType,
      label: text('Label'),
      correlationId: text('CorrelationId'),
      sessionId: text('SessionId'),
      applicationProperties: properties,
      enqueuedTimeUtc: new Date(),
      scheduledEnqueueTimeUtc: scheduled,
      sequenceNumber: ++sequence,
      deliveryCount: 1,
    }
  }

  const parseJson = (text: string, what: string): unknown => {
    try {
      return JSON.parse(text)
    } catch {
      throw new HttpProblem(400, `${what} is not JSON`)
    }
  }

  const send = async (req: IncomingMessage, res: ServerResponse, entity: string): Promise<void> => {
    if (!queues.has(entity) && !topics.has(entity)) throw new HttpProblem(410, `MessagingEntityNotFound: the entity ${entity} does not exist in this namespace`)
    authorize(req, entity)
    const body = await buffer(req)
    const type = req.headers['content-type']
    const messages: ServiceBusMessage[] = []
    if (type?.split(';')[0]?.trim().toLowerCase() === 'application/vnd.microsoft.servicebus.json') {
      const batch = parseJson(body.toString('utf8'), 'the batch')
      if (!Array.isArray(batch) || batch.length === 0) throw new HttpProblem(400, 'a batch is a non-empty JSON array of { Body, BrokerProperties, UserProperties }')
      let total = 0
      for (const item of batch as unknown[]) {
        const entry = item as { Body?: unknown; BrokerProperties?: unknown; UserProperties?: unknown } | null
        if (typeof entry !== 'object' || entry === null || typeof entry.Body !== 'string') throw new HttpProblem(400, 'each batch entry needs a string Body')
        const properties: Record<string, string | number | boolean> = {}
        const given = entry.UserProperties ?? {}
        if (typeof given !== 'object' || given === null || Array.isArray(given)) throw new HttpProblem(400, 'UserProperties must be a JSON object')
        for (const [name, value] of Object.entries(given)) {
          if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') throw new HttpProblem(400, `UserProperties.${name} must be a string, number or boolean`)
          properties[name] = value
        }
        const message = makeMessage(Buffer.from(entry.Body, 'utf8'), undefined, brokerOf(entry.BrokerProperties), properties)
        total += message.body.length
        messages.push(message)
      }
      if (total > maxBytes) throw new HttpProblem(403, `MessageSizeExceeded: the batch is ${total} bytes, more than the ${maxBytes} allowed`)
    } else {
      const broker = req.headers.brokerproperties
      const properties: Record<string, string | number | boolean> = {}
      // rawHeaders keeps each name as sent (node lower-cases `headers`).
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const name = req.rawHeaders[i] as string
        const lower = name.toLowerCase()
        if (NOT_PROPERTIES.has(lower) || /^(?:x-ms-|accept-|sec-|x-forwarded-)/.test(lower)) continue
        properties[name] = propertyValue(req.rawHeaders[i + 1] as string)
      }
      messages.push(makeMessage(body, type, brokerOf(broker === undefined ? undefined : parseJson(String(broker), 'BrokerProperties')), properties))
    }
    for (const message of messages) enqueue(entity, message)
    res.writeHead(201, { 'content-length': '0' })
    res.end()
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const match = /^\/([^/]+)\/messages\/?$/.exec(url.pathname)
    if (req.method === 'POST' && match) return send(req, res, decodeURIComponent(match[1] as string))
    if (req.method === 'GET' && url.pathname === '/polycloud/service-bus') {
      const describe = (path: string) => ({ held: (held.get(path) ?? []).map(summary), deadLetters: (dead.get(path) ?? []).map(summary) })
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify({
          queues: Object.fromEntries([...queues].map((queue) => [queue, describe(queue)])),
          topics: Object.fromEntries([...topics].map(([topic, subscriptions]) => [topic, Object.fromEntries(subscriptions.map((sub) => [sub, describe(`${topic}/Subscriptions/${sub}`)]))])),
          send: 'POST /<queue or topic>/messages (Authorization: SharedAccessSignature ...)',
        }),
      )
      return
    }
    throw new HttpProblem(404, `no such endpoint: ${req.method} ${url.pathname}`)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (error instanceof HttpProblem) return fail(res, error.status, error.message)
      log(`Service Bus: ${req.method} ${req.url}: ${(error as Error)?.stack ?? String(error)}`)
      fail(res, 500, 'InternalServerError')
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => resolve())
  })
  const { port } = server.address() as AddressInfo
  const endpoint = `http://${host}:${port}`
  return {
    endpoint,
    port,
    connectionString: `Endpoint=sb://${host}:${port};SharedAccessKeyName=${keyName};SharedAccessKey=${key};UseDevelopmentEmulator=true`,
    messages: (path) => held.get(path) ?? [],
    deadLetters: (path) => dead.get(path) ?? [],
    entities: () => [...queues, ...[...topics].flatMap(([topic, subscriptions]) => subscriptions.map((sub) => `${topic}/Subscriptions/${sub}`))],
    redeliver(path, messageId) {
      const letters = dead.get(path) ?? []
      const message = letters.find((candidate) => candidate.messageId === messageId)
      if (message === undefined) throw new Error(`no dead-lettered message ${messageId} in ${path}`)
      dead.set(path, letters.filter((candidate) => candidate !== message))
      const [topic, subscription] = path.split('/Subscriptions/')
      const target = subscription === undefined ? { queue: path, topic: undefined, subscription: undefined, entityPath: path } : { queue: undefined, topic, subscription, entityPath: path }
      deliverTo(target, { ...message, deliveryCount: 1 })
    },
    async stop() {
      stopped = true
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function summary(message: ServiceBusMessage): Record<string, unknown> {
  return {
    messageId: message.messageId,
    contentType: message.contentType,
    label: message.label,
    applicationProperties: message.applicationProperties,
    body: message.body.toString('utf8'),
    enqueuedTimeUtc: message.enqueuedTimeUtc.toISOString(),
    deliveryCount: message.deliveryCount,
  }
}
