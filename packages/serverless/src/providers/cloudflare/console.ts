/**
 * The local console's view of the Cloudflare Queues under miniflare: workerd holds the messages waiting in a queue
 * where nothing outside it can read them, so the console shows the dead-letter queues, whose messages the dev Worker
 * keeps as they arrive (`workers/dev.ts`), and sends one back to the queue it came from through the dev Worker.
 */
import type { QueueSource, QueueView } from '../../console/model.js'
import { traceIdOf } from '../../console/model.js'
import type { ServiceManifest } from './plan.js'

interface DeadLettered {
  readonly id: string
  readonly attempts: number
  readonly timestamp: string
  readonly body: unknown
}

/** A body's `traceparent` (Cloudflare Queue messages have no attributes: the resource clients put it in the body). */
function bodyTrace(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined
  const value = (body as Record<string, unknown>).traceparent ?? ((body as Record<string, unknown>).polycloud as Record<string, unknown> | undefined)?.traceparent
  return typeof value === 'string' ? traceIdOf(value) : undefined
}

export function workerQueues(url: () => string, manifest: () => Pick<ServiceManifest, 'queues' | 'deadLetterQueues'>): QueueSource {
  const dev = (queue: string, suffix = '', init?: RequestInit) => fetch(`${url()}/cdn-cgi/polycloud/queues/${encodeURIComponent(queue)}${suffix}`, init)
  return {
    description:
      'Cloudflare Queues on miniflare: the messages waiting in a queue stay inside workerd and are not shown; each dead-letter queue shows the messages it received (kept by the dev Worker), which can be sent back to their queue.',
    async list(): Promise<QueueView[]> {
      const { queues, deadLetterQueues } = manifest()
      return Promise.all(
        deadLetterQueues.map(async (name) => {
          const response = await dev(name)
          if (!response.ok) throw new Error(`the dev Worker answered ${response.status} for ${name}`)
          const { deadLettered } = (await response.json()) as { deadLettered: DeadLettered[] }
          const sources = queues.filter((queue) => queue.deadLetterQueue === name).map((queue) => queue.name)
          return {
            name,
            role: 'dead-letter' as const,
            source: sources.join(', '),
            messages: deadLettered.map((message) => {
              const traceId = bodyTrace(message.body)
              return { id: message.id, body: typeof message.body === 'string' ? message.body : JSON.stringify(message.body), attributes: { attempts: String(message.attempts) }, receiveCount: message.attempts, sentAt: Date.parse(message.timestamp), ...(traceId === undefined ? {} : { traceId }) }
            }),
            redeliver: sources.length === 1,
          }
        }),
      )
    },
    async redeliver(queue, id) {
      const sources = manifest().queues.filter((candidate) => candidate.deadLetterQueue === queue)
      if (sources.length !== 1) throw new Error(`${queue} is the dead-letter queue of ${sources.length} queues: send the message by hand`)
      const to = (sources[0] as { name: string }).name
      const response = await dev(queue, '/redeliver', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, to }) })
      const answer = (await response.json()) as { errors?: Array<{ message: string }> }
      if (!response.ok) throw new Error(answer.errors?.[0]?.message ?? `the dev Worker answered ${response.status}`)
      return `Message ${id} sent back from ${queue} to ${to}.`
    },
  }
}
