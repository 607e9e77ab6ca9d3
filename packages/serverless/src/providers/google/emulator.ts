/**
 * The local stand-in for what delivers events to a Google Cloud service: Pub/Sub (topics, push subscriptions with
 * redelivery and a dead-letter topic), Eventarc (Pub/Sub, Cloud Storage triggers) and Cloud Scheduler (jobs that
 * publish to their topic). It serves a publish endpoint on 127.0.0.1 in the shapes of Google's own REST APIs:
 *
 *   POST   /v1/projects/<project>/topics/<topic>:publish           {"messages":[{"data":"<base64>","attributes":{}}]}
 *   POST   /upload/storage/v1/b/<bucket>/o?uploadType=media&name=<key>   (the object's bytes: a "finalized" event)
 *   DELETE /storage/v1/b/<bucket>/o/<key>                           (a "deleted" event)
 *   POST   /v1/projects/<project>/locations/<region>/jobs/<job>:run  (runs a Scheduler job now)
 *   POST   /v1/projects/<project>/subscriptions/<sub>:pull           {"maxMessages": 10}: a dead-letter topic's messages
 *   POST   /v1/projects/<project>/subscriptions/<sub>:acknowledge    {"ackIds": [...]}
 *   GET    /polycloud/deliveries                                    (what was delivered, with each attempt's outcome)
 *
 * and delivers to the functions' local hosts exactly as Google does: a push subscription POSTs the push envelope
 * (`{message, subscription, deliveryAttempt}`), Eventarc POSTs a binary-mode CloudEvent (`ce-*` headers, the data
 * as the JSON body). A delivery answered with anything but 102, 200, 201, 202 or 204 is redelivered with
 * exponential backoff (10 s to 600 s, as deployed); a push subscription's message goes to its dead-letter topic
 * after the maximum delivery attempts, where the pull subscription that keeps it (as deployed) holds it: a pull
 * answers the messages not pulled in the last 10 s (the default ack deadline), an acknowledgement removes them.
 */
import { createHash } from 'node:crypto'
import { buffer } from 'node:stream/consumers'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { MESSAGE_PUBLISHED, STORAGE_DELETED, STORAGE_FINALIZED } from './events.js'
import type { CloudFunctionSpec, ServiceLayout, SubscriptionSpec } from './plan.js'

/** How many delivery records `GET /polycloud/deliveries` keeps. */
const MAX_RECORDS = 10_000

/** Push answers Pub/Sub counts as an acknowledgement. */
const ACK = new Set([102, 200, 201, 202, 204])

export interface PubSubMessage {
  readonly data: string
  readonly attributes: Readonly<Record<string, string>>
  readonly messageId: string
  readonly publishTime: string
  readonly orderingKey?: string
}

/** One attempt to deliver one message or event to one function. */
export interface DeliveryRecord {
  /** The message id (Pub/Sub) or the event id (Storage). */
  readonly id: string
  /** The subscription or trigger it went through. */
  readonly via: string
  readonly function: string
  readonly attempt: number
  /** The function's HTTP status, or 0 when it could not be reached. */
  status: number
  outcome: 'pending' | 'acked' | 'retry' | 'dead-lettered' | 'dropped'
}

export interface EmulatorOptions {
  readonly project: string
  readonly region: string
  readonly host: string
  readonly port: number
  readonly layout: ServiceLayout
  /** The local URL of each hosted Cloud Function, by id. */
  readonly urls: ReadonlyMap<string, string>
  /** A line for the user. */
  readonly log: (line: string) => void
  /** Redelivery backoff (ms): Pub/Sub's retry policy as deployed, 10 s to 600 s. */
  readonly backoff?: { readonly minMs: number; readonly maxMs: number }
  /**
   * A local Cloud Storage (`local/storage.ts`) to serve the storage paths with (`/storage/v1/...`, `/upload/...`,
   * `/download/...`, forwarded as they come): its objects are what the functions' clients read and write, and its
   * notifications, passed to {@link Emulator.objectEvent}, fire the bucket triggers. Without, uploads are kept here.
   */
  readonly storage?: string
}

export interface Emulator {
  readonly url: string
  readonly deliveries: readonly DeliveryRecord[]
  /** Publishes to a topic; resolves with the message ids once the deliveries have started. */
  publish(topic: string, messages: ReadonlyArray<{ data?: string; attributes?: Record<string, string>; orderingKey?: string }>): string[]
  /** Runs a Scheduler job (publishes its message); `time` is when it fired. */
  runJob(name: string, time?: Date): string
  /** Delivers an object's event (finalized or deleted) to the functions its bucket triggers. */
  objectEvent(type: string, object: Record<string, unknown>): void
  /**
   * For the local console: each push subscription with the messages not yet acknowledged (being pushed, or waiting
   * for a retry), and each dead-letter pull subscription with the messages it keeps.
   */
  waiting(): Array<{ subscription: string; topic: string; deadLetter: boolean; messages: PubSubMessage[] }>
  /**
   * Pushes a dead-lettered message again to the subscription it came from (its `CloudPubSubDeadLetterSourceSubscription`)
   * and removes it from the dead-letter subscription; returns that subscription's name.
   */
  redeliver(deadLetterSubscription: string, messageId: string): string
  stop(): Promise<void>
}

/** A Google-style error body. */
function apiError(res: ServerResponse, code: number, status: string, message: string): void {
  res.writeHead(code, { 'content-type': 'application/json; charset=UTF-8' })
  res.end(JSON.stringify({ error: { code, message, status } }))
}

function json(res: ServerResponse, body: unknown, code = 200): void {
  res.writeHead(code, { 'content-type': 'application/json; charset=UTF-8' })
  res.end(JSON.stringify(body))
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** Pub/Sub message ids are decimal strings. */
let counter = BigInt(Date.now()) * 1000n

function nextId(): string {
  counter += 1n
  return counter.toString()
}

export async function startEmulator(options: EmulatorOptions): Promise<Emulator> {
  const { project, region, layout, urls, log } = options
  const backoff = options.backoff ?? { minMs: 10_000, maxMs: 600_000 }
  const deliveries: DeliveryRecord[] = []
  const timers = new Set<NodeJS.Timeout>()
  const objects = new Map<string, Record<string, unknown>>()
  let stopped = false
  // The service's topics, and those its code publishes to (an existing one is there already on Google).
  const topics = new Set([...layout.topics.map((topic) => topic.name), ...layout.grants.flatMap((grant) => (grant.kind === 'topic' ? [grant.name] : []))])
  /** The pull subscriptions keeping dead letters, with their messages (ack id -> message, and when it shows again). */
  const pulls = new Map(layout.deadLetters.map((spec) => [spec.name, { topic: spec.topic, messages: new Map<string, { message: PubSubMessage; visibleAt: number }>() }]))
  let ackIds = 0

  const later = (ms: number, run: () => void): void => {
    if (stopped) return
    const timer = setTimeout(() => {
      timers.delete(timer)
      if (!stopped) run()
    }, ms)
    timer.unref()
    timers.add(timer)
  }

  /** POSTs one delivery; retries it (and dead-letters it) as its route says. */
  const attempt = (
    record: Omit<DeliveryRecord, 'status' | 'outcome' | 'attempt'>,
    number: number,
    request: () => { url: string; headers: Record<string, string>; body: string },
    route: { maxAttempts?: number; onDeadLetter?: (attempts: number) => void; onSettled?: () => void },
  ): void => {
    const current: DeliveryRecord = { ...record, attempt: number, status: 0, outcome: 'pending' }
    deliveries.push(current)
    // A long session keeps the latest records only.
    if (deliveries.length > MAX_RECORDS) deliveries.splice(0, deliveries.length - MAX_RECORDS)
    const { url, headers, body } = request()
    fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(600_000) })
      .then(async (response) => {
        await response.arrayBuffer().catch(() => undefined)
        return response.status
      })
      .catch(() => 0)
      .then((status) => {
        current.status = status
        if (ACK.has(status)) {
          current.outcome = 'acked'
          route.onSettled?.()
          return
        }
        if (route.maxAttempts !== undefined && number >= route.maxAttempts) {
          current.outcome = 'dead-lettered'
          route.onSettled?.()
          route.onDeadLetter?.(number)
          return
        }
        if (stopped) {
          current.outcome = 'dropped'
          route.onSettled?.()
          return
        }
        current.outcome = 'retry'
        const wait = Math.min(backoff.maxMs, backoff.minMs * 2 ** (number - 1))
        log(`${record.via}: ${record.id} to ${record.function} failed (${status === 0 ? 'unreachable' : `HTTP ${status}`}), attempt ${number}: redelivered in ${Math.round(wait / 1000)} s`)
        later(wait, () => attempt(record, number + 1, request, route))
      })
  }

  /** The Eventarc triggers and push subscriptions of a topic. */
  const topicTargets = (topic: string): { triggers: CloudFunctionSpec[]; subscriptions: SubscriptionSpec[] } => ({
    triggers: layout.functions.filter((fn) => fn.trigger?.eventType === MESSAGE_PUBLISHED && fn.trigger.topic === topic),
    subscriptions: layout.subscriptions.filter((subscription) => subscription.topic === topic),
  })

  const wire = (message: PubSubMessage): Record<string, unknown> => ({
    attributes: message.attributes,
    data: message.data,
    messageId: message.messageId,
    message_id: message.messageId,
    publishTime: message.publishTime,
    publish_time: message.publishTime,
    ...(message.orderingKey ? { orderingKey: message.orderingKey } : {}),
  })

  const deliverMessage = (topic: string, message: PubSubMessage): void => {
    const { triggers, subscriptions } = topicTargets(topic)
    for (const fn of triggers) {
      const url = urls.get(fn.id)
      if (url === undefined) continue
      const subscription = `projects/${project}/subscriptions/eventarc-${region}-${fn.id}-sub`
      attempt({ id: message.messageId, via: `eventarc ${topic}`, function: fn.id }, 1, () => ({
        url,
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'ce-specversion': '1.0',
          'ce-id': message.messageId,
          'ce-source': `//pubsub.googleapis.com/projects/${project}/topics/${topic}`,
          'ce-type': MESSAGE_PUBLISHED,
          'ce-time': message.publishTime,
          'user-agent': 'APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)',
        },
        body: JSON.stringify({ message: wire(message), subscription }),
      }), {})
    }
    for (const subscription of subscriptions) push(subscription, message)
  }

  /** The messages of each push subscription not yet acknowledged, by subscription name and message id. */
  const unacked = new Map<string, Map<string, PubSubMessage>>()

  /** Pushes a message to a push subscription's function, with its retries and dead-letter topic. */
  const push = (subscription: SubscriptionSpec, message: PubSubMessage): void => {
    const url = urls.get(subscription.functionId)
    if (url === undefined) return
    const name = `projects/${project}/subscriptions/${subscription.name}`
    const held = unacked.get(subscription.name) ?? new Map<string, PubSubMessage>()
    unacked.set(subscription.name, held)
    held.set(message.messageId, message)
    let number = 0
    attempt({ id: message.messageId, via: `subscription ${subscription.name}`, function: subscription.functionId }, 1, () => {
      number++
      return {
        url,
        headers: { 'content-type': 'application/json', 'user-agent': 'APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)' },
        body: JSON.stringify({ message: wire(message), subscription: name, deliveryAttempt: number }),
      }
    }, {
      maxAttempts: subscription.maxDeliveryAttempts,
      onSettled: () => void held.delete(message.messageId),
      onDeadLetter: (attempts) => {
        log(`subscription ${subscription.name}: ${message.messageId} failed ${attempts} times: published to the dead-letter topic ${subscription.deadLetterTopic}`)
        publishTo(subscription.deadLetterTopic, [{
          data: message.data,
          attributes: {
            ...message.attributes,
            CloudPubSubDeadLetterSourceDeliveryCount: String(attempts),
            CloudPubSubDeadLetterSourceSubscription: subscription.name,
            CloudPubSubDeadLetterSourceSubscriptionProject: project,
            CloudPubSubDeadLetterSourceTopicPublishTime: message.publishTime,
          },
        }])
      },
    })
  }

  const waiting: Emulator['waiting'] = () => [
    ...layout.subscriptions.map((subscription) => ({ subscription: subscription.name, topic: subscription.topic, deadLetter: false, messages: [...(unacked.get(subscription.name)?.values() ?? [])] })),
    ...[...pulls.entries()].map(([name, pull]) => ({ subscription: name, topic: pull.topic, deadLetter: true, messages: [...pull.messages.values()].map((entry) => entry.message) })),
  ]

  const redeliver: Emulator['redeliver'] = (deadLetterSubscription, messageId) => {
    const pull = pulls.get(deadLetterSubscription)
    if (pull === undefined) throw new Error(`no dead-letter subscription ${deadLetterSubscription}`)
    const found = [...pull.messages.entries()].find(([, entry]) => entry.message.messageId === messageId)
    if (found === undefined) throw new Error(`no message ${messageId} in ${deadLetterSubscription}`)
    const [ackId, { message }] = found
    const source = layout.subscriptions.find((subscription) => subscription.name === message.attributes.CloudPubSubDeadLetterSourceSubscription)
    if (source === undefined) throw new Error(`message ${messageId} names no subscription of this service it came from`)
    pull.messages.delete(ackId)
    const attributes = Object.fromEntries(Object.entries(message.attributes).filter(([key]) => !key.startsWith('CloudPubSubDeadLetterSource')))
    push(source, { ...message, attributes, messageId: nextId(), publishTime: new Date().toISOString() })
    log(`subscription ${deadLetterSubscription}: ${messageId} pushed again to ${source.name}`)
    return source.name
  }

  const publishTo = (topic: string, messages: ReadonlyArray<{ data?: string; attributes?: Record<string, string>; orderingKey?: string }>): string[] => {
    const publishTime = new Date().toISOString()
    return messages.map((input) => {
      const message: PubSubMessage = { data: input.data ?? '', attributes: input.attributes ?? {}, messageId: nextId(), publishTime, ...(input.orderingKey ? { orderingKey: input.orderingKey } : {}) }
      deliverMessage(topic, message)
      for (const pull of pulls.values()) if (pull.topic === topic) pull.messages.set(`ack-${++ackIds}`, { message, visibleAt: 0 })
      return message.messageId
    })
  }

  const runJob = (name: string, time = new Date()): string => {
    const job = layout.jobs.find((candidate) => candidate.name === name)
    if (job === undefined) throw new Error(`no Scheduler job ${name}`)
    const data = Buffer.from(JSON.stringify({ job: name, schedule: job.schedule, timeZone: job.timeZone, scheduledTime: time.toISOString() })).toString('base64')
    const [id] = publishTo(job.topic, [{ data, attributes: { 'polycloud-job': name } }])
    return id as string
  }

  const storageEvent = (type: string, object: Record<string, unknown>): void => {
    const bucket = object.bucket as string
    const id = nextId()
    for (const fn of layout.functions) {
      const trigger = fn.trigger
      if (trigger?.eventType !== type || !trigger.filters.some((filter) => filter.attribute === 'bucket' && filter.value === bucket)) continue
      const url = urls.get(fn.id)
      if (url === undefined) continue
      attempt({ id, via: `eventarc bucket ${bucket}`, function: fn.id }, 1, () => ({
        url,
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'ce-specversion': '1.0',
          'ce-id': id,
          'ce-source': `//storage.googleapis.com/projects/_/buckets/${bucket}`,
          'ce-subject': `objects/${object.name as string}`,
          'ce-type': type,
          'ce-time': (type === STORAGE_DELETED ? object.updated : object.timeCreated) as string,
          'ce-bucket': bucket,
          'user-agent': 'APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)',
        },
        body: JSON.stringify(object),
      }), {})
    }
  }

  const buckets = new Set(layout.functions.flatMap((fn) => fn.trigger?.filters.filter((filter) => filter.attribute === 'bucket').map((filter) => filter.value) ?? []))

  const upload = (bucket: string, name: string, bytes: Buffer, contentType: string): Record<string, unknown> => {
    const now = new Date().toISOString()
    const generation = String(Date.now() * 1000)
    const encoded = encodeURIComponent(name)
    const object = {
      kind: 'storage#object',
      id: `${bucket}/${name}/${generation}`,
      selfLink: `https://www.googleapis.com/storage/v1/b/${bucket}/o/${encoded}`,
      mediaLink: `https://storage.googleapis.com/download/storage/v1/b/${bucket}/o/${encoded}?generation=${generation}&alt=media`,
      name,
      bucket,
      generation,
      metageneration: '1',
      contentType,
      storageClass: 'STANDARD',
      size: String(bytes.length),
      md5Hash: createHash('md5').update(bytes).digest('base64'),
      crc32c: 'AAAAAA==',
      etag: Buffer.from(generation).toString('base64'),
      timeCreated: now,
      updated: now,
      timeStorageClassUpdated: now,
    }
    objects.set(`${bucket}/${name}`, object)
    storageEvent(STORAGE_FINALIZED, object)
    return object
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const path = decodeURIComponent(url.pathname)
    const body = await buffer(req)
    let match: RegExpExecArray | null
    if (req.method === 'POST' && (match = /^\/v1\/projects\/([^/]+)\/topics\/([^/:]+):publish$/.exec(path))) {
      const topic = match[2] as string
      if (!topics.has(topic)) return apiError(res, 404, 'NOT_FOUND', `Resource not found (resource=${topic}).`)
      let request: { messages?: Array<{ data?: unknown; attributes?: unknown; orderingKey?: unknown }> }
      try {
        request = JSON.parse(body.toString('utf8')) as typeof request
      } catch {
        return apiError(res, 400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.')
      }
      const messages = request?.messages
      if (!Array.isArray(messages) || messages.length === 0) return apiError(res, 400, 'INVALID_ARGUMENT', 'The request contains no messages.')
      for (const message of messages) {
        const data = message?.data ?? ''
        const attributes = message?.attributes ?? {}
        if (typeof data !== 'string' || !BASE64.test(data)) return apiError(res, 400, 'INVALID_ARGUMENT', 'Invalid value at \'messages[0].data\' (TYPE_BYTES), Base64 decoding failed.')
        if (typeof attributes !== 'object' || attributes === null || Object.values(attributes).some((value) => typeof value !== 'string')) {
          return apiError(res, 400, 'INVALID_ARGUMENT', 'Message attributes must be a map of strings.')
        }
        if (data === '' && Object.keys(attributes).length === 0) return apiError(res, 400, 'INVALID_ARGUMENT', 'Some messages contain no data and no attributes.')
      }
      return json(res, { messageIds: publishTo(topic, messages as Array<{ data?: string; attributes?: Record<string, string>; orderingKey?: string }>) })
    }
    if (options.storage !== undefined && /^\/(upload\/|download\/)?storage\/v1\//.test(url.pathname)) return forward(req, res, body, options.storage)
    if (req.method === 'POST' && (match = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(path))) {
      const name = url.searchParams.get('name')
      if (!name) return apiError(res, 400, 'INVALID_ARGUMENT', 'Required parameter: name')
      const bucket = match[1] as string
      if (!buckets.has(bucket)) return apiError(res, 404, 'NOT_FOUND', `The specified bucket does not exist: ${bucket} (no function of the service listens to it)`)
      return json(res, upload(bucket, name, body, req.headers['content-type'] ?? 'application/octet-stream'))
    }
    if (req.method === 'DELETE' && (match = /^\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(url.pathname))) {
      const bucket = decodeURIComponent(match[1] as string)
      const key = `${bucket}/${decodeURIComponent(match[2] as string)}`
      const object = objects.get(key)
      if (object === undefined) return apiError(res, 404, 'NOT_FOUND', `No such object: ${key}`)
      objects.delete(key)
      storageEvent(STORAGE_DELETED, { ...object, updated: new Date().toISOString(), timeDeleted: new Date().toISOString() })
      res.writeHead(204).end()
      return
    }
    if (req.method === 'POST' && (match = /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/jobs\/([^/:]+):run$/.exec(path))) {
      const job = layout.jobs.find((candidate) => candidate.name === match![3])
      if (job === undefined) return apiError(res, 404, 'NOT_FOUND', `Job not found: ${match[3]}`)
      runJob(job.name)
      return json(res, { name: `projects/${project}/locations/${region}/jobs/${job.name}`, schedule: job.schedule, timeZone: job.timeZone, state: job.enabled ? 'ENABLED' : 'PAUSED', pubsubTarget: { topicName: `projects/${project}/topics/${job.topic}` } })
    }
    if (req.method === 'POST' && (match = /^\/v1\/projects\/([^/]+)\/subscriptions\/([^/:]+):(pull|acknowledge)$/.exec(path))) {
      const pull = pulls.get(match[2] as string)
      if (pull === undefined) return apiError(res, 404, 'NOT_FOUND', `Resource not found (resource=${match[2]}); the pull subscriptions here keep the dead-letter topics: ${[...pulls.keys()].join(', ') || 'none'}`)
      let request: { maxMessages?: unknown; ackIds?: unknown }
      try {
        request = JSON.parse(body.toString('utf8') || '{}') as typeof request
      } catch {
        return apiError(res, 400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.')
      }
      if (match[3] === 'acknowledge') {
        if (!Array.isArray(request.ackIds)) return apiError(res, 400, 'INVALID_ARGUMENT', 'ackIds must be a list of ack ids.')
        for (const id of request.ackIds) pull.messages.delete(String(id))
        return json(res, {})
      }
      const max = Number(request.maxMessages)
      if (!Number.isInteger(max) || max < 1) return apiError(res, 400, 'INVALID_ARGUMENT', 'maxMessages must be a positive integer.')
      const now = Date.now()
      const received = [...pull.messages.entries()].filter(([, entry]) => entry.visibleAt <= now).slice(0, max)
      for (const [, entry] of received) entry.visibleAt = now + 10_000
      return json(res, { receivedMessages: received.map(([ackId, entry]) => ({ ackId, message: wire(entry.message) })) })
    }
    if (req.method === 'GET' && path === '/polycloud/deliveries') return json(res, deliveries)
    if (req.method === 'GET' && path === '/') {
      return json(res, {
        topics: [...topics],
        buckets: [...buckets],
        jobs: layout.jobs.map((job) => job.name),
        publish: `POST /v1/projects/${project}/topics/<topic>:publish`,
        upload: 'POST /upload/storage/v1/b/<bucket>/o?uploadType=media&name=<key>',
        delete: 'DELETE /storage/v1/b/<bucket>/o/<key>',
        runJob: `POST /v1/projects/${project}/locations/${region}/jobs/<job>:run`,
        pull: `POST /v1/projects/${project}/subscriptions/<dead-letter subscription>:pull`,
        deliveries: 'GET /polycloud/deliveries',
      })
    }
    apiError(res, 404, 'NOT_FOUND', `No such endpoint: ${req.method} ${url.pathname}`)
  }

  /** A storage request, as it came, to the local Cloud Storage; its answer as it gave it. */
  const forward = async (req: IncomingMessage, res: ServerResponse, body: Buffer, storage: string): Promise<void> => {
    // Hop-by-hop headers stay here (fetch refuses them); the body's length is the body's.
    const skipped = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'expect', 'content-length', 'te', 'trailer'])
    const headers = Object.fromEntries(Object.entries(req.headers).flatMap(([name, value]) => (skipped.has(name) || value === undefined ? [] : [[name, Array.isArray(value) ? value.join(', ') : value]])))
    const answer = await fetch(`${storage}${req.url ?? '/'}`, { method: req.method ?? 'GET', headers, ...(body.length > 0 ? { body: new Uint8Array(body) } : {}) })
    const out: Record<string, string> = {}
    answer.headers.forEach((value, name) => {
      if (name !== 'content-encoding' && name !== 'transfer-encoding' && name !== 'connection' && name !== 'keep-alive') out[name] = value
    })
    const bytes = Buffer.from(await answer.arrayBuffer())
    out['content-length'] = String(bytes.length)
    res.writeHead(answer.status, out)
    res.end(req.method === 'HEAD' ? undefined : bytes)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => apiError(res, 500, 'INTERNAL', (error as Error).message))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://${options.host}:${port}`,
    deliveries,
    publish: publishTo,
    runJob,
    objectEvent: storageEvent,
    waiting,
    redeliver,
    async stop() {
      stopped = true
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

