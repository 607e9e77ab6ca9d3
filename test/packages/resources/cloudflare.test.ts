// The Cloudflare driver against miniflare's R2 and Queues: from Node through miniflare's bindings for the shared
// suite, and inside workerd in a bundled Worker (AsyncLocalStorage from the nodejs_als flag); the queue's messages
// consumed by a Worker through @polycloud/cloudflare's own source.
import { expect } from 'chai'
import { build } from 'esbuild'
import { Miniflare } from 'miniflare'
import { fileURLToPath } from 'node:url'
import type { QueueMessage } from '@polycloud/core'
import { PortableQueueMessage, withTrace, type TraceCarrier } from '@polycloud/core/adapter'
import { CLOUDFLARE_LIMITS, cloudflareResources } from '@polycloud/cloudflare/resources'
import { behaviour, type Target } from './behaviour.ts'
import { Inbox } from './support.ts'

const ENTRY = fileURLToPath(new URL('./workerd/worker.ts', import.meta.url))

const RESOURCES = JSON.stringify({
  uploads: { kind: 'bucket', binding: 'UPLOADS' },
  orders: { kind: 'queue', binding: 'ORDERS' },
  alerts: { kind: 'topic', binding: 'ALERTS' },
  'missing-bucket': { kind: 'bucket', binding: 'NO_SUCH_BUCKET' },
  'missing-queue': { kind: 'queue', binding: 'NO_SUCH_QUEUE' },
})

interface Local {
  readonly mf: Miniflare
  readonly consumed: Inbox<QueueMessage>
  readonly bindings: Record<string, unknown>
}

async function startLocal(flags: readonly string[]): Promise<Local> {
  const bundle = await build({
    entryPoints: [ENTRY],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    conditions: ['workerd', 'worker'],
    external: ['node:*', 'cloudflare:*'],
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  })
  const script = bundle.outputFiles[0]?.text ?? ''
  const consumed = new Inbox<QueueMessage>()
  const mf = new Miniflare({
    modules: [{ type: 'ESModule', path: 'worker.mjs', contents: script }],
    compatibilityDate: '2026-04-01',
    compatibilityFlags: [...flags],
    host: '127.0.0.1',
    port: 0,
    cf: false,
    bindings: { POLYCLOUD_RESOURCES: RESOURCES },
    r2Buckets: ['UPLOADS'],
    queueProducers: { ORDERS: 'orders' },
    queueConsumers: { orders: { maxBatchSize: 100, maxBatchTimeout: 1 } },
    handleStructuredLogs: ({ message }: { message: string }) => {
      if (!message.startsWith('EVENT ')) return
      const event = JSON.parse(message.slice(6)) as { id: string; queue: string; bytes: number[]; attributes: Record<string, string>; trace?: TraceCarrier }
      const received = new PortableQueueMessage({ id: event.id, time: new Date().toISOString(), source: event.queue, native: event, payload: { bytes: new Uint8Array(event.bytes) }, attributes: event.attributes, queue: event.queue, attempt: 1 })
      consumed.push(withTrace(received, event.trace))
    },
  })
  await mf.ready
  return { mf, consumed, bindings: { UPLOADS: await mf.getR2Bucket('UPLOADS'), ORDERS: await mf.getQueueProducer('ORDERS') } }
}

behaviour('cloudflare', async (): Promise<Target> => {
  const local = await startLocal(['nodejs_als'])
  return {
    provider: 'cloudflare',
    driver: cloudflareResources(),
    env: { POLYCLOUD_RESOURCES: RESOURCES },
    bindings: local.bindings,
    limits: { objects: CLOUDFLARE_LIMITS.r2, queue: CLOUDFLARE_LIMITS.queues, topic: undefined },
    received: (count) => local.consumed.take(count),
    stop: () => local.mf.dispose(),
  }
})

for (const flags of [['nodejs_als'], []]) {
  describe(`cloudflare resources driver inside workerd (${flags.length === 0 ? 'no flag: the scope of the invocation in flight' : flags.join(', ')})`, function () {
    this.timeout(60_000)
    let local: Local

    before(async function () {
      this.timeout(120_000)
      local = await startLocal(flags)
    })

    after(() => local?.mf.dispose())

    it('puts and gets an R2 object and sends a message with attributes, received by the consumer as sent', async () => {
      const response = await local.mf.dispatchFetch('http://localhost/roundtrip')
      expect(response.status).to.equal(200)
      const body = (await response.json()) as Record<string, unknown>
      expect(body).to.deep.include({ text: 'from workerd', metadata: { runtime: 'workerd' }, contentType: 'text/plain; charset=utf-8' })
      const [message] = await local.consumed.take(1)
      expect([...(message?.bytes() ?? [])]).to.deep.equal([7, 8, 9])
      expect(message?.attributes).to.deep.equal({ from: 'workerd' })
    })

    it('names the missing declaration of a function', async () => {
      const response = await local.mf.dispatchFetch('http://localhost/undeclared')
      const body = (await response.json()) as { code: string; message: string }
      expect(body.code).to.equal('NotDeclared')
      expect(body.message).to.include('does not declare queue "alerts-queue"').and.include('uses: [uploads, orders, alerts-queue]')
    })
  })
}

describe('cloudflare resources driver: message sizes', () => {
  it('counts an envelope as the UTF-8 bytes of its JSON text plus the 100 bytes of metadata Queues adds', async () => {
    const backend = await cloudflareResources().queue('orders', { kind: 'queue', binding: 'ORDERS' }, { env: {} })
    const texts = ['bench message', 'quote " backslash \\ newline \n tab \t control \u0001 é ü 漢字 😀 \u2028', '']
    const attributeSets: Record<string, string>[] = [{ traceparent: '00-6b1741030f7e2ad7e99d541a9454646c-c7a331352396b293-01' }, { 'a.b': 'é "x"', tracestate: 'k=v,\u00e9=1' }]
    for (const attributes of attributeSets) {
      for (const text of texts) {
        const bytes = new TextEncoder().encode(text)
        const message = { bytes, byteLength: bytes.length, text, source: 'text' as const, value: undefined, attributes, delaySeconds: 0, subject: undefined }
        const encoded = backend.encode(message) as unknown as { size: number; body: unknown; contentType: string }
        expect(encoded.contentType).to.equal('json')
        expect(encoded.size).to.equal(new TextEncoder().encode(JSON.stringify(encoded.body)).length + 100)
      }
      const bytes = new Uint8Array([0xff, 0x00, 0x80, 1, 2])
      const binary = { bytes, byteLength: bytes.length, text: undefined, source: 'bytes' as const, value: undefined, attributes, delaySeconds: 0, subject: undefined }
      const encoded = backend.encode(binary) as unknown as { size: number; body: unknown }
      expect(encoded.size).to.equal(new TextEncoder().encode(JSON.stringify(encoded.body)).length + 100)
    }
  })
})
