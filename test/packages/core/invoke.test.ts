import { expect } from 'chai'
import { HttpError, http, json, queue } from '@polycloud/core'
import { BatchFailedError, InvalidRecord, PortableQueueMessage, runEvents, runHttp, throwIfFailed, type QueueMessage } from '@polycloud/core/adapter'
import { TestRequest, testContext } from './support.ts'

function message(id: string, body = id): QueueMessage {
  return new PortableQueueMessage({
    id,
    time: '2024-01-01T00:00:00.000Z',
    source: 'q',
    native: { id },
    payload: { text: body },
    queue: 'q',
    attempt: 1,
  })
}

describe('core/invoke', () => {
  describe('runHttp', () => {
    it('returns the handler response', async () => {
      const { context } = testContext()
      const out = await runHttp(http(() => json({ ok: true })), new TestRequest({}), context)
      expect(out).to.deep.equal({ status: 200, headers: { 'content-type': 'application/json' }, cookies: [], body: '{"ok":true}' })
    })

    it('turns a throw into a generic 500, logs the stack, and sends none of it', async () => {
      const { context, lines } = testContext()
      const out = await runHttp(
        http(() => {
          throw new Error('secret detail')
        }),
        new TestRequest({}),
        context,
      )
      expect(out.status).to.equal(500)
      expect(out.body).to.not.include('secret')
      expect(out.body).to.not.include('at ')
      expect(lines).to.have.length(1)
      expect((lines[0]?.record.error as Record<string, string>).stack).to.include('secret detail')
    })

    it('keeps HttpError statuses, logging only 5xx ones', async () => {
      const { context, lines } = testContext()
      const out = await runHttp(
        http(() => {
          throw new HttpError(409, 'Taken')
        }),
        new TestRequest({}),
        context,
      )
      expect(out.status).to.equal(409)
      expect(JSON.parse(out.body as string)).to.deep.equal({ error: 'Taken' })
      expect(lines).to.have.length(0)
      await runHttp(
        http(() => {
          throw new HttpError(503, 'Later')
        }),
        new TestRequest({}),
        context,
      )
      expect(lines).to.have.length(1)
    })

    it('answers invalid JSON with a 400 naming it', async () => {
      const { context } = testContext()
      const handler = http(async (request) => json(await request.json()))
      const out = await runHttp(handler, new TestRequest({ method: 'POST', body: 'not json' }), context)
      expect(out.status).to.equal(400)
      expect(JSON.parse(out.body as string).error).to.match(/^Invalid JSON in request body/)
    })

    it('turns a malformed result into a logged 500', async () => {
      const { context, lines } = testContext()
      const out = await runHttp(http(() => ({ status: 42 })), new TestRequest({}), context)
      expect(out.status).to.equal(500)
      expect((lines[0]?.record.error as Record<string, string>).message).to.match(/status 42/)
    })

    it('buffers a stream body unless asked to stream, and 500s when the stream fails', async () => {
      const { context } = testContext()
      const streamed = () =>
        new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new Uint8Array([1]))
            controller.enqueue(new Uint8Array([2]))
            controller.close()
          },
        })
      const buffered = await runHttp(http(() => ({ body: streamed() })), new TestRequest({}), context)
      expect(buffered.body).to.deep.equal(new Uint8Array([1, 2]))
      const kept = await runHttp(http(() => ({ body: streamed() })), new TestRequest({}), context, true)
      expect(kept.body).to.be.instanceOf(ReadableStream)
      const failing = new ReadableStream<Uint8Array>({
        pull() {
          throw new Error('disk gone')
        },
      })
      const failed = await runHttp(http(() => ({ body: failing })), new TestRequest({}), testContext().context)
      expect(failed.status).to.equal(500)
    })

    it('waits for waitUntil work before returning', async () => {
      const { context } = testContext()
      let done = false
      await runHttp(
        http((_request, ctx) => {
          ctx.waitUntil(new Promise((resolve) => setTimeout(resolve, 5)).then(() => (done = true)))
          return null
        }),
        new TestRequest({}),
        context,
      )
      expect(done).to.equal(true)
    })
  })

  describe('runEvents', () => {
    it('runs every event and returns only the failed ones, each logged with its id', async () => {
      const { context, lines } = testContext()
      const seen: string[] = []
      const handler = queue((m) => {
        seen.push(m.id)
        if (m.body === 'bad') throw new Error('cannot')
      })
      const failed = await runEvents(handler, [message('1'), message('2', 'bad'), message('3')], context)
      expect(seen).to.deep.equal(['1', '2', '3'])
      expect(failed.map((m) => m.id)).to.deep.equal(['2'])
      expect(lines[0]?.record).to.include({ message: 'event failed', eventId: '2', kind: 'queue' })
    })

    it('stops an ordered batch at the first failure and fails the rest unattempted', async () => {
      const { context, lines } = testContext()
      const seen: string[] = []
      const handler = queue((m) => {
        seen.push(m.id)
        if (m.id === '2') throw new Error('x')
      })
      const failed = await runEvents(handler, [message('1'), message('2'), message('3'), message('4')], context, true)
      expect(seen).to.deep.equal(['1', '2'])
      expect(failed.map((m) => m.id)).to.deep.equal(['2', '3', '4'])
      expect(lines[1]?.record).to.include({ message: 'stopped an ordered batch at the first failure', skipped: 2 })
    })

    it('fails untranslatable records without calling the handler', async () => {
      const { context, lines } = testContext()
      const seen: string[] = []
      const invalid = new InvalidRecord('r2', { raw: true }, new Error('not JSON'))
      const failed = await runEvents(queue((m) => void seen.push(m.id)), [message('1'), invalid], context)
      expect(seen).to.deep.equal(['1'])
      expect(failed).to.deep.equal([invalid])
      expect(lines[0]?.record).to.include({ message: 'record could not be translated', recordId: 'r2' })
    })

    it('runs up to `concurrency` events at once and reports failures in batch order', async () => {
      const { context } = testContext()
      let running = 0
      let peak = 0
      const handler = queue(
        async (m) => {
          running++
          peak = Math.max(peak, running)
          await new Promise((resolve) => setTimeout(resolve, 5))
          running--
          if (m.id === '5' || m.id === '2') throw new Error('x')
        },
        { concurrency: 3 },
      )
      const failed = await runEvents(handler, ['1', '2', '3', '4', '5', '6', '7'].map((id) => message(id)), context)
      expect(peak).to.equal(3)
      expect(failed.map((m) => m.id)).to.deep.equal(['2', '5'])
    })

    it('throwIfFailed fails an invocation only when something failed', () => {
      expect(throwIfFailed('azure:x', [])).to.equal(undefined)
      const record = new InvalidRecord('m-1', {}, new Error('bad'))
      expect(() => throwIfFailed('azure:x', [record, message('m-2')])).to.throw(BatchFailedError, 'azure:x: 2 event(s) failed: m-1, m-2')
    })

    it('refuses a concurrency that is not a positive integer', () => {
      expect(() => queue(() => {}, { concurrency: 0 })).to.throw(RangeError, /concurrency/)
    })
  })
})
