/**
 * The two small Workers the local emulation adds beside the service's own (which runs as packaged, untouched):
 *
 * - `R2_NOTIFIER`: a wrapped binding around each local R2 bucket. The service sees a real R2 bucket binding (the
 *   same methods, over miniflare's persisted bucket); every object write the bucket's notification rules match also
 *   sends the notification message R2 sends (the documented body: account, action, bucket, object, eventTime) to the
 *   rule's queue, which the service consumes as it would on Cloudflare. miniflare has no R2 notifications itself.
 * - `DEV_WORKER`: `/cdn-cgi/polycloud/...` on the local server, for what only the Cloudflare dashboard or API does
 *   otherwise: send messages to a queue, write, read, list and delete objects of a bucket (through the notifying
 *   binding, so writes notify), and read the messages that reached a dead-letter queue (logged as they arrive);
 *   and `/__scheduled?cron=...`, wrangler's spelling of `/cdn-cgi/handler/scheduled`.
 *
 * Plain ES modules, run by workerd; their bindings are set up by `runtime.ts`.
 */

export const R2_NOTIFIER = String.raw`
const CREATED = new Set(['PutObject', 'CopyObject', 'CompleteMultipartUpload'])

export default function (env) {
  const bucket = env.BUCKET
  const rules = env.RULES.rules
  const notify = async (action, object) => {
    const matching = rules.filter((rule) => rule.actions.includes(action) && object.key.startsWith(rule.prefix ?? '') && object.key.endsWith(rule.suffix ?? ''))
    const body = { account: env.ACCOUNT, action, bucket: env.BUCKET_NAME, object, eventTime: new Date().toISOString() }
    await Promise.all(matching.map((rule) => env[rule.queue].send(body, { contentType: 'json' })))
  }
  const written = (action, result) => (result ? notify(action, { key: result.key, size: result.size, eTag: result.etag }).then(() => result) : result)
  const wrapUpload = (upload) => ({
    get key() { return upload.key },
    get uploadId() { return upload.uploadId },
    uploadPart: (...args) => upload.uploadPart(...args),
    abort: () => upload.abort(),
    complete: async (...args) => written('CompleteMultipartUpload', await upload.complete(...args)),
  })
  return {
    head: (...args) => bucket.head(...args),
    get: (...args) => bucket.get(...args),
    list: (...args) => bucket.list(...args),
    put: async (...args) => written('PutObject', await bucket.put(...args)),
    async delete(keys) {
      const list = Array.isArray(keys) ? keys : [keys]
      const existed = await Promise.all(list.map((key) => bucket.head(key)))
      await bucket.delete(keys)
      await Promise.all(list.filter((_, i) => existed[i] !== null).map((key) => notify('DeleteObject', { key })))
    },
    createMultipartUpload: async (...args) => wrapUpload(await bucket.createMultipartUpload(...args)),
    resumeMultipartUpload: (...args) => wrapUpload(bucket.resumeMultipartUpload(...args)),
  }
}
`

export const DEV_WORKER = String.raw`
const deadLetters = new Map()

const json = (status, body) => new Response(JSON.stringify(body, null, 2) + '\n', { status, headers: { 'content-type': 'application/json' } })
const fail = (status, message) => json(status, { success: false, errors: [{ code: status, message }] })

function decodeKey(parts) {
  try {
    return parts.map((part) => decodeURIComponent(part)).join('/')
  } catch {
    return undefined
  }
}

async function readJson(request) {
  try {
    return await request.json()
  } catch (error) {
    return undefined
  }
}

function toMessage(input) {
  if (input === null || typeof input !== 'object' || !('body' in input)) return undefined
  const contentType = input.content_type ?? 'json'
  if (contentType !== 'json' && contentType !== 'text') return undefined
  if (contentType === 'text' && typeof input.body !== 'string') return undefined
  return { body: input.body, contentType }
}

async function queues(request, env, parts) {
  const [name, what, batch] = parts
  const queue = env.QUEUES[name]
  if (queue === undefined) return fail(404, 'no queue ' + JSON.stringify(name) + ' in this service (queues: ' + Object.keys(env.QUEUES).join(', ') + ')')
  if (request.method === 'GET' && what === undefined) return json(200, { queue: queue.name, deadLettered: deadLetters.get(queue.name) ?? [] })
  if (request.method !== 'POST' || what !== 'messages') return fail(405, 'POST /cdn-cgi/polycloud/queues/<queue>/messages {"body": ...} or .../messages/batch {"messages": [...]}; GET /cdn-cgi/polycloud/queues/<queue> for its dead-lettered messages')
  const input = await readJson(request)
  const messages = batch === 'batch' ? (Array.isArray(input?.messages) ? input.messages.map(toMessage) : undefined) : [toMessage(input)]
  if (messages === undefined || messages.length === 0 || messages.includes(undefined)) {
    return fail(400, 'send {"body": <value>, "content_type": "json" | "text"}, or {"messages": [...]} to /messages/batch')
  }
  await env[queue.binding].sendBatch(messages)
  return json(200, { success: true, queue: queue.name, sent: messages.length })
}

async function objects(request, env, parts) {
  const [name, ...rest] = parts
  const bucket = env.BUCKETS[name]
  if (bucket === undefined) return fail(404, 'no bucket ' + JSON.stringify(name) + ' in this service (buckets: ' + Object.keys(env.BUCKETS).join(', ') + ')')
  const binding = env[bucket]
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

async function scheduled(request, env) {
  const params = new URL(request.url).searchParams
  const time = params.get('time')
  try {
    // Through a service binding the run resolves when the handler succeeded and rejects with its error.
    await env.SERVICE.scheduled({ cron: params.get('cron') ?? '', scheduledTime: time ? Number(time) : Date.now() })
    return new Response('ok')
  } catch (error) {
    return new Response(String(error?.message ?? error), { status: 500 })
  }
}

async function route(request, env) {
  // wrangler dev --test-scheduled's spelling of /cdn-cgi/handler/scheduled.
  if (new URL(request.url).pathname === '/__scheduled') return scheduled(request, env)
  const path = new URL(request.url).pathname.slice('/cdn-cgi/polycloud/'.length).split('/')
  const [area, ...parts] = path
  if (area === 'queues') return queues(request, env, parts)
  if (area === 'r2') return objects(request, env, parts)
  return json(200, {
      queues: 'POST /cdn-cgi/polycloud/queues/<queue>/messages {"body": ...}, .../messages/batch {"messages": [...]}; GET /cdn-cgi/polycloud/queues/<dead-letter queue>',
      r2: 'PUT | GET | DELETE /cdn-cgi/polycloud/r2/<bucket>/<key>; GET /cdn-cgi/polycloud/r2/<bucket>?prefix=',
    scheduled: 'GET /cdn-cgi/handler/scheduled?cron=<cron> (or /__scheduled?cron=<cron>)',
  })
}

export default {
  async fetch(request, env) {
    try {
      return await route(request, env)
    } catch (error) {
      return fail(500, String(error?.message ?? error))
    }
  },
  // Dead-letter queues: nothing consumes them on Cloudflare until you do; locally each message is logged and kept.
  async queue(batch) {
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
`
