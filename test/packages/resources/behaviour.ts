/**
 * One behavioural suite for every driver of @polycloud/resources, run against the provider's real local emulator by
 * aws.test.ts, azure.test.ts, gcp.test.ts and cloudflare.test.ts: the same calls must give the same results, and a
 * message sent must reach the subscribed function (through the adapter's own source) with the same bytes, attributes
 * and subject.
 */
import { expect } from 'chai'
import { http, type Provider, type QueueMessage, type TopicMessage } from '@polycloud/core'
import { PortableContext, carrierTrace, eventTrace } from '@polycloud/core/adapter'
import { ResourceError, bucket, queue, topic, withResources, type ResourceDriver } from '@polycloud/resources'
import type { MessageLimits, ObjectLimits } from '@polycloud/resources/driver'

/** A provider's emulators, the driver pointed at them, and the function side of its queue and topic. */
export interface Target {
  readonly provider: Provider
  readonly driver: ResourceDriver
  /** The environment of the function: `POLYCLOUD_RESOURCES` naming `uploads`, `orders`, `alerts`, `missing-*`. */
  readonly env: Readonly<Record<string, string>>
  /** Workers bindings (Cloudflare). */
  readonly bindings?: Readonly<Record<string, unknown>>
  readonly limits: { readonly objects: ObjectLimits; readonly queue: MessageLimits; readonly topic: MessageLimits | undefined }
  /** Waits for the queue's subscriber to have received `count` messages since the last call; returns them. */
  received(count: number): Promise<QueueMessage[]>
  /** The same for the topic's subscriber (undefined on Cloudflare, which has no topics). */
  receivedFromTopic?: (count: number) => Promise<TopicMessage[]>
  stop(): Promise<void>
}

export const USES = ['uploads', 'orders', 'alerts', 'missing-bucket', 'missing-queue']

/**
 * Runs `fn` as one invocation of a function that declares `uses`, with the target's environment and bindings: what
 * a generated entry does (`withResources`).
 */
export async function invoke<T>(
  target: Target,
  fn: () => Promise<T>,
  options: { uses?: readonly string[]; deadline?: number; env?: Readonly<Record<string, string>>; traceparent?: string } = {},
): Promise<T> {
  let result: T | undefined
  const handler = withResources(
    http(async () => {
      result = await fn()
      return { status: 204 }
    }),
    target.driver,
    options.uses ?? USES,
  )
  const context = new PortableContext({
    provider: target.provider,
    requestId: `test-${Math.random().toString(36).slice(2)}`,
    functionName: 'tester',
    deadline: options.deadline ?? Date.now() + 60_000,
    env: options.env ?? target.env,
    native: { provider: target.provider, event: null, context: null, extra: target.bindings },
  })
  const traceparent = options.traceparent
  if (traceparent !== undefined) context.useRequest({ headers: { get: (name: string) => (name === 'traceparent' ? traceparent : null) } })
  await handler.handle(null as never, context)
  return result as T
}

/** The ResourceError a call rejects with (fails the test when it resolves or throws something else). */
export async function failure(call: Promise<unknown>): Promise<ResourceError> {
  try {
    await call
  } catch (error) {
    if (error instanceof ResourceError) return error
    throw new Error(`expected a ResourceError, got ${String(error)}`, { cause: error })
  }
  throw new Error('expected a ResourceError, the call succeeded')
}

async function* chunks(parts: readonly string[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield new TextEncoder().encode(part)
}

const bytesOf = (message: { bytes(): Uint8Array }): number[] => [...message.bytes()]

/** Defines the shared tests; `setup` starts the target once for them. */
export function behaviour(name: string, setup: () => Promise<Target>): void {
  describe(`${name}: the shared behaviour of a resource driver`, function () {
    this.timeout(60_000)
    let target: Target
    const run = <T>(fn: () => Promise<T>, options?: Parameters<typeof invoke>[2]): Promise<T> => invoke(target, fn, options)
    const uploads = bucket('uploads')
    const orders = queue('orders')
    const alerts = topic('alerts')

    before(async function () {
      this.timeout(120_000)
      target = await setup()
    })

    after(async function () {
      this.timeout(30_000)
      await target?.stop()
    })

    describe('objects', () => {
      it('puts a string, bytes, a stream and an async iterable, and gets each back with its description', () =>
        run(async () => {
          const text = await uploads.put('docs/hello.txt', 'héllo', { metadata: { owner: 'me', n: '1' } })
          expect(text).to.include({ key: 'docs/hello.txt', size: 6 })
          expect(text.etag).to.be.a('string').and.not.match(/^"|"$/).and.not.equal('')
          await uploads.put('docs/bytes.bin', new Uint8Array([0, 1, 2, 255, 254]), { contentType: 'application/x-test' })
          await uploads.put('docs/stream.json', new Blob(['{"a":', '[1,2]}']).stream(), { contentType: 'application/json' })
          await uploads.put('docs/iterable.txt', chunks(['one ', 'two ', 'three']))

          const got = await uploads.get('docs/hello.txt')
          expect(got).to.not.equal(null)
          expect(got).to.include({ key: 'docs/hello.txt', size: 6, etag: text.etag, contentType: 'text/plain; charset=utf-8' })
          expect(got?.metadata).to.deep.equal({ owner: 'me', n: '1' })
          expect(new Date(got?.uploaded ?? '').getTime()).to.be.closeTo(Date.now(), 5 * 60_000)
          expect(await got?.text()).to.equal('héllo')
          expect([...((await got?.bytes()) ?? [])]).to.deep.equal([...new TextEncoder().encode('héllo')])

          const binary = await uploads.get('docs/bytes.bin')
          expect(binary?.contentType).to.equal('application/x-test')
          expect([...((await binary?.bytes()) ?? [])]).to.deep.equal([0, 1, 2, 255, 254])
          expect(binary?.metadata).to.deep.equal({})

          const json = await uploads.get('docs/stream.json')
          expect(await json?.json()).to.deep.equal({ a: [1, 2] })
          const streamed = await uploads.get('docs/iterable.txt')
          expect(streamed?.contentType).to.equal('application/octet-stream')
          expect(await new Response(streamed?.body).text()).to.equal('one two three')
        }))

      it('answers null for a missing key (get and head), and head describes an object without its body', () =>
        run(async () => {
          expect(await uploads.get('docs/nothing-here')).to.equal(null)
          expect(await uploads.head('docs/nothing-here')).to.equal(null)
          const put = await uploads.put('docs/head.txt', 'abc', { contentType: 'text/x-abc', metadata: { k: 'v' } })
          const head = await uploads.head('docs/head.txt')
          expect(head).to.deep.include({ key: 'docs/head.txt', size: 3, etag: put.etag, contentType: 'text/x-abc', metadata: { k: 'v' } })
          expect(head).to.not.have.property('body')
        }))

      it('keeps keys with spaces, plus signs, percent signs and non-ASCII characters as they are', () =>
        run(async () => {
          const key = 'odd/a b+c%20d ü€😀.txt'
          await uploads.put(key, 'odd')
          expect(await (await uploads.get(key))?.text()).to.equal('odd')
          const { objects } = await uploads.list({ prefix: 'odd/' })
          expect(objects.map((object) => object.key)).to.deep.equal([key])
          await uploads.delete(key)
          expect(await uploads.head(key)).to.equal(null)
        }))

      it('deletes, and deleting a key that holds nothing succeeds', () =>
        run(async () => {
          await uploads.put('docs/gone.txt', 'x')
          await uploads.delete('docs/gone.txt')
          expect(await uploads.get('docs/gone.txt')).to.equal(null)
          await uploads.delete('docs/gone.txt')
        }))

      it('lists by prefix in key order, a page at a time through the cursor', () =>
        run(async () => {
          for (const n of [3, 0, 4, 1, 2]) await uploads.put(`pages/p${n}`, String(n))
          await uploads.put('pagesX', 'outside the prefix')
          const keys: string[][] = []
          let cursor: string | undefined
          let pages = 0
          do {
            const page = await uploads.list({ prefix: 'pages/', limit: 2, ...(cursor === undefined ? {} : { cursor }) })
            keys.push(page.objects.map((object) => object.key))
            for (const object of page.objects) {
              expect(object.size).to.equal(1)
              expect(object.etag).to.be.a('string').and.not.equal('')
              expect(object.uploaded).to.match(/^\d{4}-\d\d-\d\dT/)
            }
            cursor = page.cursor
          } while (cursor !== undefined && ++pages < 10)
          expect(keys.flat()).to.deep.equal(['pages/p0', 'pages/p1', 'pages/p2', 'pages/p3', 'pages/p4'])
          expect(keys.every((page) => page.length <= 2)).to.equal(true)
        }))

      it('refuses, before any call, keys, metadata and options some provider would refuse or change', () =>
        run(async () => {
          const cases: Array<[Promise<unknown>, RegExp]> = [
            [uploads.put('', 'x'), /non-empty/],
            [uploads.put('a/./b', 'x'), /path segment ending with "."/],
            [uploads.put('dir/', 'x'), /ends with "\/"/],
            [uploads.put('a\nb', 'x'), /control character/],
            [uploads.put('x'.repeat(1025), 'x'), /1024 bytes/],
            [uploads.put('ok', 'x', { metadata: { Owner: 'me' } }), /lower-case letters/],
            [uploads.put('ok', 'x', { metadata: { owner: 'ünïcode' } }), /printable ASCII/],
            [uploads.put('ok', 'x', { contentType: 'not a type' }), /media type/],
            [uploads.put('ok', { an: 'object' } as never), /JSON.stringify/],
            [uploads.list({ limit: 0 }), /limit/],
          ]
          for (const [call, message] of cases) {
            const error = await failure(call)
            expect(error.code, error.message).to.equal('Invalid')
            expect(error.message).to.match(message)
            expect(error.message).to.match(/^bucket\("uploads"\)\.(put|list): /)
          }
          expect(await uploads.head('ok')).to.equal(null)
        }))

      it("refuses metadata over the provider's limit, naming it", () =>
        run(async () => {
          const max = target.limits.objects.maxMetadataBytes
          const error = await failure(uploads.put('big-metadata', 'x', { metadata: { m: 'v'.repeat(max) } }))
          expect(error.code).to.equal('TooLarge')
          expect(error.message).to.include(`${target.limits.objects.service}'s limit of ${max} bytes`)
        }))

      it('fails with Timeout when the signal is aborted or the deadline has come', async () => {
        const controller = new AbortController()
        controller.abort(new Error('stop'))
        const aborted = await failure(run(() => uploads.get('docs/hello.txt', { signal: controller.signal })))
        expect(aborted.code).to.equal('Timeout')
        expect(aborted.message).to.include("caller's signal")
        expect(aborted.retryable).to.equal(true)
        const late = await failure(run(() => uploads.put('late.txt', 'x'), { deadline: Date.now() + 50 }))
        expect(late.code).to.equal('Timeout')
        expect(late.message).to.include("invocation's deadline")
      })

      it('fails with NotFound for a bucket that does not exist', () =>
        run(async () => {
          const error = await failure(bucket('missing-bucket').put('a', 'x'))
          // A bucket that does not exist cannot be bound to a Worker: there, its binding is missing.
          expect(error.code, error.message).to.equal(target.provider === 'cloudflare' ? 'NotDeclared' : 'NotFound')
          expect(error.provider).to.equal(target.driver.provider)
          expect(error.cause).to.be.an('error')
        }))
    })

    describe('declaration', () => {
      it('names the serverless.yml line when the function does not declare the resource', async () => {
        const error = await failure(run(() => uploads.get('x'), { uses: ['orders'] }))
        expect(error.code).to.equal('NotDeclared')
        expect(error.message).to.include('function "tester" does not declare bucket "uploads"').and.include('uses: [orders, uploads]')
      })

      it('names the missing entry when POLYCLOUD_RESOURCES does not hold a declared name', async () => {
        const error = await failure(run(() => queue('nowhere').send('x'), { uses: ['nowhere'] }))
        expect(error.code).to.equal('NotDeclared')
        expect(error.message).to.include('POLYCLOUD_RESOURCES has no "nowhere"')
      })

      it('refuses a handle of another kind than the declared resource', async () => {
        const error = await failure(run(() => queue('uploads').send('x')))
        expect(error.code).to.equal('Invalid')
        expect(error.message).to.include('declared as a bucket, not a queue')
      })
    })

    describe('queues', () => {
      it('delivers text, bytes and JSON to the subscriber with the same bytes and attributes', async () => {
        const bodies: Array<string | Uint8Array | object> = [
          'plain text é',
          new Uint8Array([0, 159, 146, 150, 255]),
          { order: 1, items: ['a', 'b'] },
          '{"spaced": true}',
          '"quoted"',
          '12',
          'line\u0000with nul',
        ]
        await run(async () => {
          for (const [index, body] of bodies.entries()) await orders.send(body as string, { attributes: { index: String(index), kind: 'test' } })
        })
        const received = await target.received(bodies.length)
        const byIndex = new Map(received.map((message) => [message.attributes.index, message]))
        bodies.forEach((body, index) => {
          const message = byIndex.get(String(index))
          expect(message, `message ${index}`).to.not.equal(undefined)
          const expected = typeof body === 'string' ? [...new TextEncoder().encode(body)] : body instanceof Uint8Array ? [...body] : [...new TextEncoder().encode(JSON.stringify(body))]
          expect(bytesOf(message as QueueMessage), `message ${index}`).to.deep.equal(expected)
          expect(message?.attributes).to.deep.equal({ index: String(index), kind: 'test' })
          expect(message?.kind).to.equal('queue')
        })
        expect(byIndex.get('2')?.json()).to.deep.equal({ order: 1, items: ['a', 'b'] })
        expect(byIndex.get('0')?.body).to.equal('plain text é')
      })

      it('delivers a message without attributes as the service carries it natively', async () => {
        await run(() => orders.send('no attributes'))
        const [message] = await target.received(1)
        expect(message?.body).to.equal('no attributes')
        expect(message?.attributes).to.deep.equal({})
      })

      it("carries the sender's trace to the subscribed function, beside the attributes (in a batch too)", async () => {
        const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
        await run(
          async () => {
            await orders.send('traced', { attributes: { k: 'v' } })
            await orders.sendBatch([{ body: 'traced batch' }])
          },
          { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
        )
        const received = await target.received(2)
        for (const message of received) {
          expect(message.attributes).to.not.have.property('traceparent')
          const incoming = carrierTrace(eventTrace(message))
          expect(incoming?.traceId, message.body).to.equal(traceId)
          // The parent is the sending invocation's own span, not the span it continued.
          expect(incoming?.parentId).to.match(/^[0-9a-f]{16}$/).and.not.equal('00f067aa0ba902b7')
        }
        expect(received.find((message) => message.body === 'traced')?.attributes).to.deep.equal({ k: 'v' })
      })

      it('sends a batch, each message with its own attributes', async () => {
        await run(() => orders.sendBatch([{ body: 'b0', attributes: { n: '0' } }, { body: new Uint8Array([1, 2, 3]), attributes: { n: '1' } }, { body: { n: 2 } }]))
        const received = await target.received(3)
        const bodies = received.map((message) => message.body).sort()
        expect(bodies).to.deep.equal(['b0', '{"n":2}', '\u0001\u0002\u0003'].sort())
        expect(received.find((message) => message.body === 'b0')?.attributes).to.deep.equal({ n: '0' })
        expect(received.find((message) => message.body === '{"n":2}')?.attributes).to.deep.equal({})
      })

      it('honours delaySeconds where the provider has a delay, and refuses it where it has none', async () => {
        if (target.limits.queue.maxDelaySeconds === 0) {
          const error = await failure(run(() => orders.send('later', { delaySeconds: 1 })))
          expect(error.code).to.equal('Invalid')
          expect(error.message).to.include('has no per-message delay')
          return
        }
        const sent = Date.now()
        await run(() => orders.send('delayed', { delaySeconds: 1, attributes: { delayed: 'yes' } }))
        const [message] = await target.received(1)
        expect(message?.body).to.equal('delayed')
        expect(Date.now() - sent).to.be.at.least(900)
        const error = await failure(run(() => orders.send('too late', { delaySeconds: target.limits.queue.maxDelaySeconds + 1 })))
        expect(error.code).to.equal('Invalid')
        expect(error.message).to.include(`maximum of ${target.limits.queue.maxDelaySeconds} seconds`)
      })

      it("refuses, before the call, a message or batch over the provider's limits, naming them", async () => {
        const limits = target.limits.queue
        const big = await failure(run(() => orders.send('x'.repeat(limits.maxMessageBytes + 1))))
        expect(big.code).to.equal('TooLarge')
        expect(big.message).to.include(`${limits.service}'s limit of ${limits.maxMessageBytes} bytes`)
        const many = await failure(run(() => orders.sendBatch(Array.from({ length: limits.maxBatchMessages + 1 }, (_, i) => ({ body: String(i) })))))
        expect(many.code).to.equal('TooLarge')
        expect(many.message).to.include(`limit of ${limits.maxBatchMessages} per batch`)
        const perMessage = Math.floor(limits.maxBatchBytes / Math.min(limits.maxBatchMessages, 4)) + 1
        if (perMessage + 200 <= limits.maxMessageBytes && limits.maxBatchMessages > 1) {
          const heavy = await failure(run(() => orders.sendBatch(Array.from({ length: Math.min(limits.maxBatchMessages, 4) }, () => ({ body: 'y'.repeat(perMessage) })))))
          expect(heavy.code).to.equal('TooLarge')
          expect(heavy.message).to.include(`limit of ${limits.maxBatchBytes} bytes per batch`)
        }
        const cases: Array<[() => Promise<unknown>, RegExp]> = [
          [() => orders.send(''), /empty/],
          [() => orders.send('x', { attributes: { 'AWS.reserved': 'x' } }), /attribute name/],
          [() => orders.send('x', { attributes: { ok: '' } }), /non-empty/],
          [() => orders.send('x', { delaySeconds: 1.5 }), /whole number/],
          [() => orders.sendBatch([]), /non-empty array/],
        ]
        for (const [call, message] of cases) {
          const error = await failure(run(call))
          expect(error.code, error.message).to.equal('Invalid')
          expect(error.message).to.match(message)
        }
      })

      it('fails with NotFound for a queue that does not exist', () =>
        run(async () => {
          const error = await failure(queue('missing-queue').send('x'))
          expect(error.code, error.message).to.equal(target.provider === 'cloudflare' ? 'NotDeclared' : 'NotFound')
        }))
    })

    describe('topics', () => {
      it('publishes with attributes and a subject, received with the same bytes, attributes and subject', async () => {
        if (target.receivedFromTopic === undefined) {
          const error = await failure(run(() => alerts.publish('x')))
          expect(error.code).to.equal('Invalid')
          expect(error.message).to.include('has no topics')
          return
        }
        await run(async () => {
          await alerts.publish({ level: 'high' }, { subject: 'Disk full', attributes: { severity: 'critical' } })
          await alerts.publish(new Uint8Array([255, 0, 128]), { attributes: { severity: 'low' } })
        })
        const received = await target.receivedFromTopic(2)
        const high = received.find((message) => message.attributes.severity === 'critical')
        const low = received.find((message) => message.attributes.severity === 'low')
        expect(high?.json()).to.deep.equal({ level: 'high' })
        expect(high?.subject).to.equal('Disk full')
        expect(high?.attributes).to.deep.equal({ severity: 'critical' })
        expect(high?.kind).to.equal('topic')
        expect(bytesOf(low as TopicMessage)).to.deep.equal([255, 0, 128])
        expect(low?.attributes).to.deep.equal({ severity: 'low' })
        expect(low?.subject).to.equal(undefined)
        const limits = target.limits.topic as MessageLimits
        const big = await failure(run(() => alerts.publish('z'.repeat(limits.maxMessageBytes + 1))))
        expect(big.code).to.equal('TooLarge')
        const subject = await failure(run(() => alerts.publish('x', { subject: 'x'.repeat(101) })))
        expect(subject.code).to.equal('Invalid')
      })
    })
  })
}
