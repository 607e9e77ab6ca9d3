// A test Worker: bundled by esbuild (format esm, platform neutral) and run in workerd by workerd.test.ts.
// Handlers report what they received with console.log('EVENT <json>') lines, which the test collects.
import { HttpError, fetchApp, http, json, queue, schedule, storage, stream, binary, type NeutralEvent } from '@polycloud/core'
import {
  createWorker,
  queueBatch,
  r2Notification,
  worker,
  type ExecutionContextLike,
  type MessageBatchLike,
  type ScheduledControllerLike,
} from '@polycloud/cloudflare'
import { Hono } from 'hono'

interface Env {
  GREETING: string
  LIMIT: number
  JOBS: { send(body: unknown): Promise<void> }
}

function report(event: NeutralEvent, extra: Record<string, unknown> = {}): void {
  const { native: _native, ...fields } = event
  console.log(`EVENT ${JSON.stringify({ ...fields, ...extra })}`)
}

/** Whether the message's body is a structured value (json content) rather than text or bytes. */
function isJsonValue(message: { native: unknown }): boolean {
  const body = (message.native as { body: unknown }).body
  return typeof body === 'object' && body !== null && !(body instanceof ArrayBuffer) && !ArrayBuffer.isView(body)
}

const api = worker(
  http(async (req, context) => {
    switch (req.path) {
      case '/info':
        return json({
          method: req.method,
          url: req.url,
          query: [...req.query],
          tags: req.query.getAll('tag'),
          requestId: context.requestId,
          env: context.env,
          bindings: Object.keys(context.native.extra as object).sort(),
          ip: req.ip ?? null,
          cookies: Object.fromEntries(req.cookies),
          deadlineIn: context.deadline - Date.now(),
          sameRequest: req.toRequest() === context.native.event,
          runtime: { process: 'process' in globalThis, Buffer: 'Buffer' in globalThis },
        })
      case '/flush':
        // Log lines reach the test through workerd's stdout; this one marks that everything before it arrived.
        console.log('FLUSH')
        return null
      case '/echo':
        return binary(await req.bytes(), { contentType: req.headers.get('content-type') ?? undefined, status: 201 })
      case '/cookies':
        return { status: 200, headers: { 'set-cookie': ['a=1; Path=/', 'b=2; Path=/; HttpOnly'] }, body: 'ok' }
      case '/parse':
        return json({ parsed: await req.json() })
      case '/throw':
        throw new Error('secret detail: token=abc123')
      case '/gone':
        throw new HttpError(410, 'note was deleted')
      case '/stream': {
        const encoder = new TextEncoder()
        let i = 0
        const body = new ReadableStream<Uint8Array>({
          async pull(controller) {
            if (i === 3) return controller.close()
            if (i > 0) await new Promise((resolve) => setTimeout(resolve, 150))
            controller.enqueue(encoder.encode(`data: ${i++}\n\n`))
          },
        })
        return stream(body, { contentType: 'text/event-stream' })
      }
      default:
        throw new HttpError(404, `no route for ${req.path}`)
    }
  }),
)

const hono = new Hono<{ Bindings: Env }>()
hono.get('/hono/greet/:name', (c) =>
  c.json({ greeting: `${c.env.GREETING}, ${c.req.param('name')}`, limit: c.env.LIMIT, queue: typeof c.env.JOBS.send }),
)
const honoWorker = worker(fetchApp(hono))

const cron = worker(
  schedule((event, context) => {
    report(event, { deadlineIn: context.deadline - Date.now(), requestId: context.requestId })
    if (event.schedule === '13 13 13 * *') throw new Error('unlucky tick')
  }),
)

const jobs = createWorker(
  queue((message) => {
    const bytes = message.bytes()
    report(message, { body: message.body, bytes: Array.from(bytes.subarray(0, 8)), length: bytes.length })
    const value = isJsonValue(message) ? message.json() : undefined
    if (typeof value === 'object' && value !== null && 'fail' in value) throw new Error(`job ${message.id} failed`)
  }),
  [queueBatch],
)

const files = createWorker(
  storage((event) => {
    report(event)
    if (event.key === 'poison') throw new Error('cannot index poison')
  }),
  [r2Notification],
)

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContextLike): Promise<Response> {
    return new URL(request.url).pathname.startsWith('/hono/')
      ? honoWorker.fetch(request, env, ctx)
      : api.fetch(request, env, ctx)
  },
  scheduled(controller: ScheduledControllerLike, env: Env, ctx: ExecutionContextLike): Promise<void> {
    return cron.scheduled(controller, env, ctx)
  },
  queue(batch: MessageBatchLike, env: Env, ctx: ExecutionContextLike): Promise<void> {
    return batch.queue === 'bucket-events' ? files.queue(batch, env, ctx) : jobs.queue(batch, env, ctx)
  },
}
