/**
 * Cloudflare: the demo's packaged Worker on workerd (miniflare) through `serverless offline`, HTTP over its port,
 * and every other kind through the local server's own ingress, as `wrangler dev` users send them: the cron by
 * hand at `/cdn-cgi/handler/scheduled?cron=...`, queue messages with `POST /cdn-cgi/polycloud/queues/<queue>/messages/batch`
 * (miniflare batches them for the consumer, retries what it retries, 5 deliveries, then `<queue>-dlq`), objects
 * with `PUT /cdn-cgi/polycloud/r2/<bucket>/<key>` (R2's event notification goes to the bucket's queue, consumed by the
 * function), dead letters from `GET /cdn-cgi/polycloud/queues/<queue>-dlq`. Workers Queues give a producer no message
 * ids and miniflare keeps no delivery log, so a queue message is recognised in the handler's lines by its order's
 * `id`, and an object by its key. Cloudflare has no pub/sub topics: the demo keeps its topic function off
 * Cloudflare (`excludeFrom: [cloudflare]`), which this target checks in the packaged Worker and reports as
 * unsupported.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startProcess } from 'serverless-polycloud/local'
import { freePort, ROOT } from '../../helpers/serverless.ts'
import { logLines, quiet, waitFor, type LocalTarget, type LogLine, type Outcome, type Trigger } from '../target.ts'

const CLI = join(ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js')
const ENV = { POLYCLOUD_PROVIDER: 'cloudflare', SLS_TELEMETRY_DISABLED: '1' }
const NO_TOPICS = 'Cloudflare has no pub/sub topics; the demo deploys its topic function everywhere else (excludeFrom: [cloudflare])'
const SERVICE = 'polycloud-demo-dev'

interface Manifest {
  functions: Array<{ name: string; crons: Array<{ cron: string }> }>
}

/** The id in a message body (the demo's orders and readings are JSON with an `id`). */
function messageId(body: string): unknown {
  try {
    return (JSON.parse(body) as { id?: unknown }).id
  } catch {
    return undefined
  }
}

export async function startCloudflare(): Promise<LocalTarget> {
  const port = await freePort()
  const offline = await startProcess(process.execPath, [CLI, 'offline', '--port', String(port)], {
    ready: /Server ready: /,
    env: ENV,
    cwd: ROOT,
    name: 'serverless offline (cloudflare)',
    timeoutMs: 90_000,
  })
  const base = `http://127.0.0.1:${port}`
  // The topic function really is left out of the packaged Worker (not silently dropped by this target).
  const manifest = JSON.parse(readFileSync(join(ROOT, '.serverless', 'cloudflare', 'polycloud.json'), 'utf8')) as Manifest
  if (manifest.functions.some((fn) => fn.name === 'alerts')) {
    await offline.stop()
    throw new Error('the packaged Worker serves the topic function alerts; it should be excluded from Cloudflare')
  }
  const seen = new Set<string>()
  const since = (from: number): LogLine[] => logLines(offline.output().slice(from))
  const send = async (path: string, init: RequestInit): Promise<Response> => {
    const response = await fetch(`${base}${path}`, init)
    if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${response.status} ${await response.text()}`)
    return response
  }

  const fire = async (trigger: Trigger): Promise<Outcome> => {
    if (trigger.kind === 'topic') throw new Error(NO_TOPICS)
    const from = offline.output().length
    let redelivered: number[] = []
    switch (trigger.kind) {
      case 'schedule': {
        const cron = manifest.functions.find((fn) => fn.name === trigger.function)?.crons[0]?.cron
        if (cron === undefined) throw new Error(`function ${trigger.function} has no Cron Trigger in the packaged Worker`)
        // Answers once the scheduled handler has run.
        await (await send(`/cdn-cgi/handler/scheduled?cron=${encodeURIComponent(cron)}`, {})).text()
        break
      }
      case 'queue': {
        const messages = trigger.messages.map((body) => ({ body, content_type: 'text' }))
        await (await send(`/cdn-cgi/polycloud/queues/${trigger.queue}/messages/batch`, { method: 'POST', body: JSON.stringify({ messages }) })).text()
        // The first batch is done when each message has its line: an order accepted or a reading counted (or seen
        // before), or the failure the dispatcher logs, which names the order or the reading.
        const ids = trigger.messages.map(messageId)
        const accepted = (line: LogLine, id: unknown): boolean =>
          (line.message === 'order accepted' && line.orderId === id) || ((line.message === 'reading counted' || line.message === 'reading seen before') && line.reading === id)
        const failed = (line: LogLine, id: unknown): boolean =>
          line.message === 'event failed' && (JSON.stringify(line.error).includes(`order ${String(id)}:`) || JSON.stringify(line.error).includes(`(reading ${JSON.stringify(JSON.stringify(id)).slice(1, -1)})`))
        // Lines of these messages only: an earlier test's failing message may be retried meanwhile.
        const ours = (line: LogLine): boolean => ids.some((id) => accepted(line, id) || failed(line, id))
        const lines = await waitFor(`the first delivery of ${trigger.messages.length} messages to ${trigger.function}`, () => {
          const handled = since(from).filter(ours)
          return handled.length >= trigger.messages.length ? handled : undefined
        })
        redelivered = ids.flatMap((id, index) => (lines.some((line) => accepted(line, id) && line.attempt === 1) ? [] : [index]))
        break
      }
      case 'storage': {
        for (const key of [...(trigger.ignored ?? []), trigger.key]) {
          const path = `/cdn-cgi/polycloud/r2/${trigger.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`
          await (await send(path, { method: 'PUT', headers: { 'content-type': 'image/png' }, body: new Uint8Array(trigger.size) })).text()
        }
        await waitFor(`the notification of ${trigger.key} to ${trigger.function}`, () => since(from).some((line) => line.key === trigger.key))
        break
      }
    }
    await quiet(offline.output)
    return { redelivered, logs: since(from) }
  }

  return {
    provider: 'cloudflare',
    unsupported: { topic: NO_TOPICS },
    url: (path) => `${base}${path}`,
    httpLogs: () => logLines(offline.output()),
    logs: () => logLines(offline.output()),
    fire,
    async deadLetters(queue) {
      const response = await send(`/cdn-cgi/polycloud/queues/${SERVICE}-${queue}-dlq`, {})
      const { deadLettered } = (await response.json()) as { deadLettered: Array<{ id: string; body: unknown }> }
      const taken = deadLettered.filter((message) => !seen.has(message.id))
      for (const message of taken) seen.add(message.id)
      return taken.map((message) => (typeof message.body === 'string' ? message.body : JSON.stringify(message.body)))
    },
    stop: () => offline.stop(),
  }
}
