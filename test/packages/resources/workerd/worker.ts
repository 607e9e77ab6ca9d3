// The test Worker of cloudflare.test.ts, bundled by esbuild and run in workerd: a queue consumer reporting each
// message as @polycloud/cloudflare's source translates it (EVENT lines), and a function that uses R2 and a queue
// through @polycloud/resources inside workerd, as a generated entry wires it.
import { http, json, queue } from '@polycloud/core'
import { createWorker, queueBatch, workersFetch, type ExecutionContextLike, type MessageBatchLike } from '@polycloud/cloudflare'
import { cloudflareResources } from '@polycloud/cloudflare/resources'
import { eventTrace } from '@polycloud/core/adapter'
import { ResourceError, bucket, queue as queueHandle, withResources } from '@polycloud/resources'

const consumer = createWorker(
  queue(async (message) => {
    // With the trace the source found on the message (out of sight of JSON: passed on by name).
    console.log(`EVENT ${JSON.stringify({ id: message.id, queue: message.queue, bytes: [...message.bytes()], attributes: message.attributes, trace: eventTrace(message) })}`)
  }),
  [queueBatch],
)

const uploads = bucket('uploads')
const orders = queueHandle('orders')

const api = createWorker(
  withResources(
    http(async (request) => {
      if (request.path === '/undeclared') {
        try {
          await queueHandle('alerts-queue').send('x')
          return json({ ok: true })
        } catch (error) {
          return json({ code: (error as ResourceError).code, message: (error as Error).message })
        }
      }
      const put = await uploads.put('in-workerd.txt', 'from workerd', { metadata: { runtime: 'workerd' } })
      const got = await uploads.get('in-workerd.txt')
      await orders.send(new Uint8Array([7, 8, 9]), { attributes: { from: 'workerd' } })
      return json({ etag: put.etag, text: await got?.text(), metadata: got?.metadata, contentType: got?.contentType })
    }),
    cloudflareResources(),
    ['uploads', 'orders'],
  ),
  [workersFetch],
  { name: 'api' },
)

export default {
  fetch: (request: Request, env: unknown, ctx: ExecutionContextLike) => api.fetch(request, env, ctx),
  queue: (batch: MessageBatchLike, env: unknown, ctx: ExecutionContextLike) => consumer.queue(batch, env, ctx),
}
