/**
 * The dev Worker of the local emulation (run by workerd beside the service's Worker, set up by `runtime.ts`):
 * `/cdn-cgi/polycloud/...` on the local server, for what only the Cloudflare dashboard or API does otherwise: send
 * messages to a queue, write, read, list and delete objects of a bucket (through the notifying binding of
 * `r2-notifier.ts`, so writes notify), and read the messages that reached a dead-letter queue (logged as they
 * arrive); and `/__scheduled?cron=...`, wrangler's spelling of `/cdn-cgi/handler/scheduled`.
 *
 * A module of its own, with no imports: workerd loads it as it is compiled.
 */

interface QueueBinding {
  sendBatch(messages: ReadonlyArray<{ body: unknown; contentType: 'json' | 'text' }>): Promise<void>
}

interface StoredObject {
  readonly key: string
  readonly size: number
  readonly etag: string
  readonly httpEtag: string
  readonly uploaded: Date
  readonly body: ReadableStream
  writeHttpMetadata(headers: Headers): void
}

interface BucketBinding {
  list(options: { prefix: string | undefined }): Promise<{ objects: StoredObject[] }>
  put(key: string, value: ArrayBuffer, options: { httpMetadata?: { contentType: string } }): Promise<StoredObject>
  get(key: string): Promise<StoredObject | null>
  delete(key: string): Promise<void>
}

interface DevEnv {
  /** Every queue of the service, by the name written in serverless.yml and by its full name: its producer binding. */
  readonly QUEUES: Readonly<Record<string, { readonly name: string; readonly binding: string }>>
  /** Every bucket of the service, by name: its notifying binding. */
  readonly BUCKETS: Readonly<Record<string, string>>
  /** The service's Worker. */
  readonly SERVICE: { scheduled(options: { cron: string; scheduledTime: number }): Promise<unknown> }
  readonly [binding: string]: unknown
}

interface DeadLetter {
  readonly id: string
  readonly attempts: number
  readonly timestamp: string
  readonly body: unknown
}

interface QueueMessage {
  readonly id: string
  readonly attempts: number
  readonly timestamp: Date
  readonly body: unknown
  ack(): void
}

const deadLetters = new Map<string, DeadLetter[]>()

const json = (status: number, body: unknown): Response => new Response(JSON.stringify(body, null, 2) + '\n', { status, headers: { 'content-type': 'application/json' } })
const fail = (status: number, message: string): Response => json(status, { success: false, errors: [{ code: status, message }] })
const messageOf = (error: unknown): string => String((error as { message?: unknown } | undefined)?.message ?? error)

function decodeKey(parts: readonly string[]): string | undefined {
  try {
    return parts.map((part) => decodeURIComponent(part)).join('/')
  } catch {
    return undefined
  }
}

async function readJson(request: Request): Promise<unknown> {
  try {
    return await request.json()
  } catch {
    return undefined
  }
}

function toMessage(input: unknown): { body: unknown; contentType: 'json' | 'text' } | undefined {
  if (input === null || typeof input !== 'object' || !('body' in input)) return undefined
  const { body, content_type: contentType = 'json' } = input as { body: unknown; content_type?: unknown }
  if (contentType !== 'json' && contentType !== 'text') return undefined
  if (contentType === 'text' && typeof body !== 'string') return undefined
  return { body, contentType }
}

async function queues(request: Request, env: DevEnv, parts: readonly string[]): Promise<Response> {
  const [name = '', what, batch] = parts
  const queue = env.QUEUES[name]
  if (queue === undefined) return fail(404, 'no queue ' + JSON.stringify(name) + ' in this service (queues: ' + Object.keys(env.QUEUES).join(', ') + ')')
  if (request.method === 'GET' && what === undefined) return json(200, { queue: queue.name, deadLettered: deadLetters.get(queue.name) ?? [] })
  if (request.method === 'POST' && what === 'redeliver') return redeliver(request, env, queue.name)
  if (request.method !== 'POST' || what !== 'messages') return fail(405, 'POST /cdn-cgi/polycloud/queues/<queue>/messages {"body": ...} or .../messages/batch {"messages": [...]}; GET /cdn-cgi/polycloud/queues/<queue> for its dead-lettered messages')
  const input = (await readJson(request)) as { messages?: unknown } | undefined
  const messages = batch === 'batch' ? (Array.isArray(input?.messages) ? input.messages.map(toMessage) : undefined) : [toMessage(input)]
  if (messages === undefined || messages.length === 0 || messages.includes(undefined)) {
    return fail(400, 'send {"body": <value>, "content_type": "json" | "text"}, or {"messages": [...]} to /messages/batch')
  }
  await (env[queue.binding] as QueueBinding).sendBatch(messages as Array<{ body: unknown; contentType: 'json' | 'text' }>)
  return json(200, { success: true, queue: queue.name, sent: messages.length })
}

/**
 * `POST /cdn-cgi/polycloud/queues/<dead-letter queue>/redeliver {"id", "to"}`: sends a kept dead-lettered message to
 * queue `to` (the queue it came from) and stops keeping it.
 */
async function redeliver(request: Request, env: DevEnv, name: string): Promise<Response> {
  const input = (await readJson(request)) as { id?: unknown; to?: unknown } | undefined
  const target = typeof input?.to === 'string' ? env.QUEUES[input.to] : undefined
  if (target === undefined) return fail(400, 'send {"id": <message id>, "to": <queue of this service>}')
  const kept = deadLetters.get(name) ?? []
  const index = kept.findIndex((entry) => entry.id === input?.id)
  const entry = kept[index]
  if (entry === undefined) return fail(404, 'no dead-lettered message ' + JSON.stringify(input?.id) + ' kept for ' + name)
  await (env[target.binding] as QueueBinding).sendBatch([{ body: entry.body, contentType: typeof entry.body === 'string' ? 'text' : 'json' }])
  kept.splice(index, 1)
  return json(200, { success: true, from: name, to: target.name, id: entry.id })
}

async function objects(request: Request, env: DevEnv, parts: readonly string[]): Promise<Response> {
  const [name = '', ...rest] = parts
  const bucket = env.BUCKETS[name]
  if (bucket === undefined) return fail(404, 'no bucket ' + JSON.stringify(name) + ' in this service (buckets: ' + Object.keys(env.BUCKETS).join(', ') + ')')
  const binding = env[bucket] as BucketBinding
  const key = decodeKey(rest)
  if (key === undefined) return fail(400, 'the object key is not valid percent-encoding')
  if (key === '') {
    if (request.method !== 'GET') return fail(405, 'GET /cdn-cgi/polycloud/r2/<bucket>?prefix= lists objects')
    const prefix = new URL(request.url).searchParams.get('prefix') ?? undefined
    const listed = await binding.list({ prefix })
    return json(200, { objects: listed.objects.map((object) => ({ key: object.key, size: object.size, etag: object.etag, uploaded: object.uploaded })) })
  }
  if (request.method === 'PUT') {
    const contentType = request.headers.get('content-type') ?? undefined
    const object = await binding.put(key, await request.arrayBuffer(), contentType ? { httpMetadata: { contentType } } : {})
    return json(201, { key: object.key, size: object.size, etag: object.etag })
  }
  if (request.method === 'GET') {
    const object = await binding.get(key)
    if (object === null) return fail(404, 'no object ' + JSON.stringify(key))
    const headers = new Headers({ etag: object.httpEtag })
    object.writeHttpMetadata(headers)
    return new Response(object.body, { headers })
  }
  if (request.method === 'DELETE') {
    await binding.delete(key)
    return new Response(null, { status: 204 })
  }
  return fail(405, 'PUT, GET or DELETE /cdn-cgi/polycloud/r2/<bucket>/<key>')
}

async function scheduled(request: Request, env: DevEnv): Promise<Response> {
  const params = new URL(request.url).searchParams
  const time = params.get('time')
  try {
    // Through a service binding the run resolves when the handler succeeded and rejects with its error.
    await env.SERVICE.scheduled({ cron: params.get('cron') ?? '', scheduledTime: time ? Number(time) : Date.now() })
    return new Response('ok')
  } catch (error) {
    return new Response(messageOf(error), { status: 500 })
  }
}

async function route(request: Request, env: DevEnv): Promise<Response> {
  // wrangler dev --test-scheduled's spelling of /cdn-cgi/handler/scheduled.
  if (new URL(request.url).pathname === '/__scheduled') return scheduled(request, env)
  const path = new URL(request.url).pathname.slice('/cdn-cgi/polycloud/'.length).split('/')
  const [area, ...parts] = path
  if (area === 'queues') return queues(request, env, parts)
  if (area === 'r2') return objects(request, env, parts)
  return json(200, {
    queues: 'POST /cdn-cgi/polycloud/queues/<queue>/messages {"body": ...}, .../messages/batch {"messages": [...]}; GET /cdn-cgi/polycloud/queues/<dead-letter queue>; POST /cdn-cgi/polycloud/queues/<dead-letter queue>/redeliver {"id", "to"}',
    r2: 'PUT | GET | DELETE /cdn-cgi/polycloud/r2/<bucket>/<key>; GET /cdn-cgi/polycloud/r2/<bucket>?prefix=',
    scheduled: 'GET /cdn-cgi/handler/scheduled?cron=<cron> (or /__scheduled?cron=<cron>)',
  })
}

export default {
  async fetch(request: Request, env: DevEnv): Promise<Response> {
    try {
      return await route(request, env)
    } catch (error) {
      return fail(500, messageOf(error))
    }
  },
  // Dead-letter queues: nothing consumes them on Cloudflare until you do; locally each message is logged and kept.
  async queue(batch: { readonly queue: string; readonly messages: readonly QueueMessage[] }): Promise<void> {
    const kept = deadLetters.get(batch.queue) ?? []
    for (const message of batch.messages) {
      const entry = { id: message.id, attempts: message.attempts, timestamp: message.timestamp.toISOString(), body: message.body }
      kept.push(entry)
      console.warn(JSON.stringify({ level: 'warn', message: 'dead-lettered', queue: batch.queue, ...entry }))
      message.ack()
    }
    deadLetters.set(batch.queue, kept)
  },
}
