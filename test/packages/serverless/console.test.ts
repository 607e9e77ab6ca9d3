import { expect } from 'chai'
import { request } from 'node:http'
import { PassThrough } from 'node:stream'
import { ConsoleModel, consolePort, escapeHtml, parseLine, startConsole, tapOutput, traceIdOf, type QueueSource, type QueueView } from 'serverless-polycloud/console/index'
import { overviewPage, queuesPage, tracePage } from 'serverless-polycloud/console/html'
import { LocalSqs } from 'serverless-polycloud/providers/aws/local/sqs'
import { sqsQueues } from 'serverless-polycloud/providers/aws/console'

const TRACE = '0af7651916cd43dd8448eb211c80319c'
const INFO = { service: 'demo', stage: 'dev', provider: 'AWS', functions: [{ name: 'uploads', handler: 'handlers/uploads.default', triggers: ['POST /uploads'] }] }

/** A line as @polycloud/core's logger writes it. */
function line(fields: Record<string, unknown>): string {
  return JSON.stringify({ level: 'info', message: 'm', timestamp: '2026-12-07T10:00:00.100Z', requestId: 'r1', function: 'uploads', traceId: TRACE, spanId: 'aaaaaaaaaaaaaaaa', ...fields })
}

function summary(fields: Record<string, unknown>): string {
  return line({ message: 'invocation', polycloud: 'invocation', kind: 'http', outcome: 'ok', status: 201, durationMs: 40, coldStart: true, timestamp: '2026-12-07T10:00:00.140Z', ...fields })
}

describe('serverless/console', () => {
  describe('parseLine', () => {
    it('reads a JSON line, and one behind a host prefix', () => {
      expect(parseLine('{"a":1}')).to.deep.equal({ a: 1 })
      expect(parseLine('[2026-12-07T10:00:00.000Z] {"a":1}  ')).to.deep.equal({ a: 1 })
    })
    it('ignores what is no JSON object: text, arrays, partial objects, a stack trace', () => {
      for (const text of ['hello', '[1,2]', '{"a":', 'Error: x\n    at f (file.js:1:1)', '{not json}', '']) expect(parseLine(text), text).to.equal(undefined)
    })
  })

  describe('ConsoleModel', () => {
    it('makes an invocation of a function\'s lines and its summary: kind, outcome, status, duration, cold start, start', () => {
      const model = new ConsoleModel()
      model.add(line({ message: 'upload stored', timestamp: '2026-12-07T10:00:00.120Z' }))
      model.add('serverless-offline chatter that is not JSON')
      model.add(summary({}))
      const [invocation, ...rest] = model.invocations()
      expect(rest).to.have.length(0)
      expect(invocation).to.deep.include({ function: 'uploads', requestId: 'r1', traceId: TRACE, kind: 'http', outcome: 'ok', status: 201, durationMs: 40, coldStart: true })
      expect(invocation?.start).to.equal(Date.parse('2026-12-07T10:00:00.100Z'))
      expect(invocation?.end).to.equal(Date.parse('2026-12-07T10:00:00.140Z'))
      expect(invocation?.lines.map((record) => record.message)).to.deep.equal(['upload stored', 'invocation'])
    })

    it('keeps an invocation without its summary as running, and one that failed as error', () => {
      const model = new ConsoleModel()
      model.add(line({ spanId: 'bbbbbbbbbbbbbbbb', requestId: 'r2' }))
      model.add(summary({ spanId: 'cccccccccccccccc', requestId: 'r3', outcome: 'error', status: 500, level: 'error' }))
      const byKey = Object.fromEntries(model.invocations().map((invocation) => [invocation.key, invocation.outcome]))
      expect(byKey).to.deep.equal({ bbbbbbbbbbbbbbbb: 'running', cccccccccccccccc: 'error' })
    })

    it('reads Cloud Logging lines (severity) and lines without a function or id as not Polycloud\'s', () => {
      const model = new ConsoleModel()
      expect(model.add(JSON.stringify({ severity: 'ERROR', message: 'x', function: 'f', requestId: 'q' }))?.lines[0]?.level).to.equal('error')
      expect(model.add(JSON.stringify({ message: 'no function', requestId: 'q' }))).to.equal(undefined)
      expect(model.add(JSON.stringify({ message: 'no id', function: 'f' }))).to.equal(undefined)
    })

    it('keeps the last `limit` invocations, oldest dropped first, and at most 200 lines each', () => {
      const model = new ConsoleModel(3)
      for (let i = 0; i < 5; i++) model.add(line({ spanId: `span${i}`, timestamp: `2026-12-07T10:00:0${i}.000Z` }))
      expect(model.invocations().map((invocation) => invocation.key)).to.deep.equal(['span4', 'span3', 'span2'])
      for (let i = 0; i < 250; i++) model.add(line({ spanId: 'span4' }))
      const kept = model.invocation('uploads', 'span4')
      expect(kept?.lines).to.have.length(200)
      expect(kept?.dropped).to.equal(51)
    })

    it('keeps at most 16 MB of line text, dropping the oldest invocations first', () => {
      const model = new ConsoleModel()
      const filler = 'x'.repeat(8_000)
      for (let i = 0; i < 12; i++) for (let j = 0; j < 200; j++) model.add(line({ spanId: `span${String(i).padStart(2, '0')}`, filler, timestamp: `2026-12-07T10:00:${String(i).padStart(2, '0')}.000Z` }))
      const kept = model.invocations().map((invocation) => invocation.key)
      expect(kept.length).to.be.within(8, 10)
      expect(kept[0]).to.equal('span11')
      expect(kept.at(-1)).to.equal(`span${String(12 - kept.length).padStart(2, '0')}`)
    })

    it('groups invocations by trace id, in order of start, across functions', () => {
      const model = new ConsoleModel()
      model.add(summary({}))
      model.add(summary({ function: 'thumbnails', spanId: 'dddddddddddddddd', parentSpanId: 'aaaaaaaaaaaaaaaa', kind: 'storage', timestamp: '2026-12-07T10:00:00.400Z', durationMs: 100 }))
      model.add(summary({ function: 'other', traceId: 'f'.repeat(32), spanId: 'eeeeeeeeeeeeeeee' }))
      const trace = model.trace(TRACE)
      expect(trace?.functions).to.deep.equal(['uploads', 'thumbnails'])
      expect(trace && trace.end - trace.start).to.equal(300)
      expect(model.traces()).to.have.length(2)
      expect(model.trace('0'.repeat(32))).to.equal(undefined)
    })

    it('reads the trace id of a traceparent, refusing an invalid one', () => {
      expect(traceIdOf(`00-${TRACE}-b7ad6b7169203331-01`)).to.equal(TRACE)
      expect(traceIdOf(`00-${'0'.repeat(32)}-b7ad6b7169203331-01`)).to.equal(undefined)
      expect(traceIdOf('garbage')).to.equal(undefined)
      expect(traceIdOf(undefined)).to.equal(undefined)
    })
  })

  describe('HTML', () => {
    const HOSTILE = `<script>alert("x")</script><img src=x onerror='y'>&amp;`

    it('escapes text and attributes', () => {
      expect(escapeHtml(HOSTILE)).to.equal('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=&#39;y&#39;&gt;&amp;amp;')
    })

    it('shows hostile log lines, function names and trace ids as text only', () => {
      const model = new ConsoleModel()
      model.add(line({ message: HOSTILE, function: `f"><script>1</script>`, traceId: `"><b>t</b>`, spanId: '<i>s</i>' }))
      model.add(summary({ function: `f"><script>1</script>`, traceId: `"><b>t</b>`, spanId: '<i>s</i>', kind: '<u>k</u>' }))
      const overview = overviewPage({ ...INFO, functions: [{ name: '<b>n</b>', handler: '<x>', triggers: ['GET /<a>'] }] }, model.invocations())
      const trace = tracePage(INFO, model.trace(`"><b>t</b>`), `"><b>t</b>`)
      for (const html of [overview, trace]) {
        expect(html).not.to.include('<script>')
        expect(html).not.to.match(/<(b|i|u|a|x)>|<img /)
      }
      expect(trace).to.include('&lt;script&gt;alert(\\&quot;x\\&quot;)&lt;/script&gt;')
      expect(trace).to.include('data-function="f&quot;&gt;&lt;script&gt;1&lt;/script&gt;"')
      expect(overview).to.include('href="/traces/%22%3E%3Cb%3Et%3C%2Fb%3E"')
    })

    it('draws a trace as one timeline row per invocation, placed on the trace\'s span', () => {
      const model = new ConsoleModel()
      model.add(summary({}))
      model.add(summary({ function: 'thumbnails', spanId: 'dddddddddddddddd', timestamp: '2026-12-07T10:00:00.400Z', durationMs: 100 }))
      const html = tracePage(INFO, model.trace(TRACE), TRACE)
      const rows = [...html.matchAll(/<div class="row" data-function="([^"]+)">[\s\S]*?style="left:([\d.]+)%;width:([\d.]+)%"/g)].map((match) => [match[1], match[2], match[3]])
      expect(rows).to.deep.equal([
        ['uploads', '0.00', '13.33'],
        ['thumbnails', '66.67', '33.33'],
      ])
    })

    it('shows queue messages escaped, with a redeliver form only where the source allows it', () => {
      const queues: QueueView[] = [
        { name: 'orders', role: 'queue', messages: [{ id: '1', body: HOSTILE, attributes: { '<k>': '<v>' } }], redeliver: false },
        { name: 'orders-dlq', role: 'dead-letter', source: 'orders', messages: [{ id: '"2"', body: '{}', attributes: {}, traceId: TRACE }], redeliver: true },
      ]
      const html = queuesPage(INFO, 'desc <b>', queues, 'done <i>')
      expect(html).not.to.match(/<(b|i|k|v)>|<script/)
      expect(html.match(/<form /g)).to.have.length(1)
      expect(html).to.include('<input type="hidden" name="id" value="&quot;2&quot;">')
      expect(html).to.include(`/traces/${TRACE}`)
      expect(queuesPage(INFO, undefined, undefined)).to.include('no queues the console can read')
    })
  })

  describe('tapOutput', () => {
    it('reads whole lines of what passes, and passes everything on unchanged', async () => {
      const stream = new PassThrough() as unknown as NodeJS.WriteStream
      const written: string[] = []
      ;(stream as unknown as PassThrough).on('data', (chunk: Buffer) => written.push(chunk.toString()))
      const lines: string[] = []
      const untap = tapOutput(stream, (text) => lines.push(text))
      stream.write('{"a":')
      stream.write('1}\nsecond\n')
      stream.write(Buffer.from('third'))
      untap()
      stream.write('after\n')
      await new Promise((resolve) => setImmediate(resolve))
      expect(lines).to.deep.equal(['{"a":1}', 'second'])
      expect(written.join('')).to.equal('{"a":1}\nsecond\nthirdafter\n')
    })
  })

  describe('consolePort', () => {
    it('reads --consolePort and --noConsole', () => {
      expect(consolePort({})).to.deep.equal({ port: 3900, chosen: false })
      expect(consolePort({ consolePort: '0' })).to.deep.equal({ port: 0, chosen: true })
      expect(consolePort({ noConsole: true })).to.equal(undefined)
      expect(() => consolePort({ consolePort: 'x' })).to.throw(/--consolePort.*"x" is not a port/)
      expect(() => consolePort({ consolePort: '70000' })).to.throw(/not a port/)
    })
  })

  describe('startConsole', () => {
    it('serves the pages on 127.0.0.1, reads the lines written to its streams, and redelivers through the queue source', async () => {
      const stream = new PassThrough() as unknown as NodeJS.WriteStream
      const redelivered: string[] = []
      const source: QueueSource = {
        description: 'test queues',
        list: async () => [{ name: 'dlq', role: 'dead-letter', source: 'q', messages: [{ id: 'm1', body: 'b', attributes: {} }], redeliver: true }],
        redeliver: async (queue, id) => (redelivered.push(`${queue}/${id}`), `sent ${id} <back>`),
      }
      const started = await startConsole(INFO, 0, { streams: [stream] })
      try {
        expect(started.url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/)
        stream.write(`${summary({})}\n`)
        const overview = await fetch(`${started.url}/`)
        expect(overview.status).to.equal(200)
        expect(overview.headers.get('content-security-policy')).to.include("default-src 'none'")
        expect(await overview.text()).to.include(`/traces/${TRACE}`)
        expect(await (await fetch(`${started.url}/traces/${TRACE}`)).text()).to.include('data-function="uploads"')
        expect((await fetch(`${started.url}/queues`)).status).to.equal(200)
        started.attachQueues(source)
        expect(await (await fetch(`${started.url}/queues`)).text()).to.include('name="id" value="m1"')
        // A second source (Azure: Storage queues and the Service Bus stand-in): both listed, each redelivery to its owner.
        started.attachQueues({
          description: 'more queues',
          list: async () => [{ name: 'bus/$DeadLetterQueue', role: 'dead-letter', source: 'bus', messages: [{ id: 'm2', body: 'c', attributes: {} }], redeliver: true }],
          redeliver: async (queue, id) => (redelivered.push(`second ${queue}/${id}`), `sent ${id}`),
        })
        const both = await (await fetch(`${started.url}/queues`)).text()
        expect(both).to.include('name="id" value="m1"').and.include('name="id" value="m2"').and.include('test queues more queues')
        await fetch(`${started.url}/queues/redeliver`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `queue=${encodeURIComponent('bus/$DeadLetterQueue')}&id=m2`, redirect: 'manual' })
        expect(redelivered).to.deep.equal(['second bus/$DeadLetterQueue/m2'])
        redelivered.length = 0
        const foreign = await fetch(`${started.url}/queues/redeliver`, { method: 'POST', headers: { origin: 'http://evil.example', 'content-type': 'application/x-www-form-urlencoded' }, body: 'queue=dlq&id=m1', redirect: 'manual' })
        expect(foreign.status).to.equal(403)
        const posted = await fetch(`${started.url}/queues/redeliver`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'queue=dlq&id=m1', redirect: 'manual' })
        expect(posted.status).to.equal(303)
        expect(redelivered).to.deep.equal(['dlq/m1'])
        const notice = await (await fetch(new URL(posted.headers.get('location') as string, started.url))).text()
        expect(notice).to.include('sent m1 &lt;back&gt;')
        const missing = await fetch(`${started.url}/<script>`)
        expect(missing.status).to.equal(404)
        expect(await missing.text()).not.to.include('<script>')
        expect((await fetch(`${started.url}/`, { method: 'DELETE' })).status).to.equal(405)
        // Another name for this address (DNS rebinding) reads nothing.
        const rebound = await new Promise<number>((resolve, reject) => {
          request(`${started.url}/`, { headers: { host: 'evil.example' } }, (response) => (response.resume(), resolve(response.statusCode ?? 0))).on('error', reject).end()
        })
        expect(rebound).to.equal(421)
      } finally {
        await started.stop()
      }
    })

    it('takes a free port when the default one is in use, and refuses a chosen port in use', async () => {
      const first = await startConsole(INFO, 0, { streams: [] })
      try {
        const port = Number(new URL(first.url).port)
        const second = await startConsole(INFO, port, { streams: [] })
        expect(second.url).not.to.equal(first.url)
        await second.stop()
        let error: unknown
        await startConsole(INFO, port, { streams: [], chosen: true }).catch((caught: unknown) => (error = caught))
        expect(String(error)).to.match(/--consolePort.*in use/)
      } finally {
        await first.stop()
      }
    })
  })

  describe('AWS: the local SQS queues', () => {
    it('lists queues and dead-letter queues with their messages and trace ids, and redrives one message to its source', async () => {
      const sqs = new LocalSqs({ region: 'us-east-1', accountId: '000000000000', baseUrl: () => 'http://127.0.0.1:1', log: () => {}, second: 1 })
      try {
        sqs.ensureQueue({ name: 'orders-dlq' })
        sqs.ensureQueue({ name: 'orders', deadLetter: { queue: 'orders-dlq', maxReceiveCount: 1 } })
        const { MessageId } = sqs.send('orders', { body: '{"id":"x"}', attributes: { traceparent: { DataType: 'String', StringValue: `00-${TRACE}-b7ad6b7169203331-01` } } })
        await sqs.receive('orders', { visibilityTimeout: 0 })
        // The second receive finds it received maxReceiveCount times: it moves to the dead-letter queue.
        await sqs.receive('orders', { visibilityTimeout: 0, waitSeconds: 0 })
        const source = sqsQueues(sqs)
        const [orders, dlq] = await source.list()
        expect(orders).to.deep.include({ name: 'orders', role: 'queue', redeliver: false })
        expect(orders?.messages).to.have.length(0)
        expect(dlq).to.deep.include({ name: 'orders-dlq', role: 'dead-letter', source: 'orders', redeliver: true })
        expect(dlq?.messages[0]).to.deep.include({ id: MessageId, body: '{"id":"x"}', traceId: TRACE })
        expect(await source.redeliver('orders-dlq', MessageId)).to.equal(`Message ${MessageId} sent back from orders-dlq to orders.`)
        const after = await source.list()
        expect(after[1]?.messages).to.have.length(0)
        expect(after[0]?.messages[0]).to.deep.include({ id: MessageId, receiveCount: 0 })
        let error: unknown
        await source.redeliver('orders-dlq', 'nope').catch((caught: unknown) => (error = caught))
        expect(String(error)).to.include('No message nope waits in orders-dlq')
      } finally {
        await sqs.stop()
      }
    })
  })
})
