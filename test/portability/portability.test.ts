/**
 * One set of behaviour tests, run unchanged on every provider's local emulation of the demo: the demo's own
 * handler files, packaged for the provider, served by its real local runtime. The same request or event must give
 * the same result everywhere; where a provider differs (a path prefix, how a failure is redelivered) the target
 * hides it, never the assertions.
 */
import { expect } from 'chai'
import { createHash, randomBytes } from 'node:crypto'
import { startIssuer, type Issuer } from '@polycloud/testing'
import { signature } from '../../handlers/chat.ts'
import { decodePng, encodePng, thumbnail as makeThumbnail } from '../../handlers/lib/png.ts'
import { waitFor, type ChainCase, type LocalTarget, type LogLine, type Trigger } from './target.ts'
import { TARGETS } from './targets/index.ts'

const WEB_ORIGIN = 'http://localhost:5173'
/** The demo's local defaults (serverless.yml: CHAT_SIGNING_SECRET, TELEMETRY_API_KEY), which the README names. */
const CHAT_SECRET = 'local-chat-secret'
const DEVICE_KEY = 'local-device-key'

/** The value `context.provider` has on each target (core names Google Cloud `gcp`). */
const CONTEXT_PROVIDER: Readonly<Record<string, string>> = { aws: 'aws', azure: 'azure', google: 'gcp', cloudflare: 'cloudflare' }

/**
 * What each provider's handlers saw of the neutral events, by case: the fields that must be the same everywhere
 * (ids, times and the providers' own names for things differ; these may not). Compared across providers at the end.
 */
const SEEN: Record<string, Record<string, unknown>> = {}

function see(kase: string, provider: string, fields: unknown): void {
  ;(SEEN[kase] ??= {})[provider] = fields
}

/** The chain cases pending on each provider (their target's `resourcesPending`), left out of the comparisons. */
const PENDING = new Map<string, Set<string>>()

/** A 300 x 200 PNG, opaque, different in every run (its key is its content's digest). */
async function testImage(run: string): Promise<Uint8Array> {
  const width = 300
  const height = 200
  const data = new Uint8Array(width * height * 4)
  const seed = Number.parseInt(run, 16)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set([(x * 255) / width, (y * 255) / height, (seed >> ((x + y) % 24)) & 0xff, 255], (y * width + x) * 4)
  }
  return encodePng({ width, height, data })
}

/** A line's fields, the run's random part written as `<run>` (each provider's run has its own). */
function neutral(line: LogLine, fields: readonly string[], run: string): Record<string, unknown> {
  return JSON.parse(JSON.stringify(Object.fromEntries(fields.map((field) => [field, line[field]]))).replaceAll(run, '<run>')) as Record<string, unknown>
}

function find(logs: readonly LogLine[], message: string): LogLine {
  const line = logs.find((candidate) => candidate.message === message)
  if (line === undefined) throw new Error(`no log line "${message}" among: ${JSON.stringify(logs.map((candidate) => candidate.message))}`)
  return line
}

/**
 * The demo's protected route (`GET /me`) trusts the issuer JWT_ISSUER names when it is packaged: a test issuer on
 * 127.0.0.1, started before any target packages the demo (hooks of this file's suite, not root hooks: the other
 * files run without it).
 */
describe('portability', function () {
  let issuer: Issuer
  before(async () => {
    issuer = await startIssuer({ audience: 'polycloud-demo' })
    process.env.JWT_ISSUER = issuer.url
  })
  after(async () => {
    delete process.env.JWT_ISSUER
    await issuer?.stop()
  })

  for (const [provider, start] of Object.entries(TARGETS)) {
    describe(`portability: the demo on ${provider}'s local emulation`, function () {
      this.timeout(180_000)
      let target: LocalTarget

      before(async () => {
        target = await start()
      })

      after(async () => {
        await target?.stop()
      })

      /** Marks the test pending, with the target's reason in its title, when the provider has no such trigger. */
      function requireTrigger(test: Mocha.Context, kind: Trigger['kind']): void {
        const reason = target.unsupported?.[kind]
        if (reason === undefined) return
        if (test.test) test.test.title += ` (no ${kind} trigger on ${provider}: ${reason})`
        test.skip()
      }

      it('JSON in, JSON out', async () => {
        const response = await fetch(target.url('/quotes'), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ items: [{ sku: 'a', quantity: 2, unitPrice: 1250 }, { sku: 'b', quantity: 1, unitPrice: 500 }], discountCode: 'welcome10' }),
        })
        expect(response.status).to.equal(201)
        expect(response.headers.get('content-type')).to.match(/^application\/json\b/)
        expect(await response.json()).to.deep.equal({
          currency: 'EUR',
          lines: [
            { sku: 'a', quantity: 2, total: 2500 },
            { sku: 'b', quantity: 1, total: 500 },
          ],
          subtotal: 3000,
          discount: 300,
          total: 2700,
        })
      })

      it('path parameters, percent-decoded', async () => {
        const response = await fetch(target.url('/greetings/Z%C3%BCrich?lang=de'))
        expect(response.status).to.equal(200)
        expect(await response.json()).to.deep.equal({ greeting: 'Hallo, Zürich!', lang: 'de' })
      })

      it('repeated query keys, all kept', async () => {
        const response = await fetch(target.url('/hello?name=Ada&name=Grace'))
        expect(await response.json()).to.deep.equal({ hello: 'Ada and Grace', provider: CONTEXT_PROVIDER[provider] })
      })

      it('a random binary upload and download, byte for byte', async () => {
        const bytes = randomBytes(256 * 1024)
        const echo = await fetch(target.url('/uploads?echo=true'), { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes })
        expect(echo.status).to.equal(200)
        const returned = Buffer.from(await echo.arrayBuffer())
        expect(returned.length).to.equal(bytes.length)
        expect(returned.equals(bytes)).to.equal(true)
        expect(echo.headers.get('x-content-sha256')).to.equal(createHash('sha256').update(bytes).digest('hex'))
      })

      it('two cookies in, two Set-Cookie headers out', async () => {
        const response = await fetch(target.url('/preferences'), {
          method: 'PUT',
          headers: { 'content-type': 'application/json', cookie: 'theme=light; lang=en' },
          body: JSON.stringify({ theme: 'dark', lang: 'fr' }),
        })
        expect(response.status).to.equal(200)
        const cookies = response.headers.getSetCookie()
        expect(cookies).to.have.length(2)
        expect(cookies[0]).to.match(/^theme=dark; /)
        expect(cookies[1]).to.match(/^lang=fr; /)
        expect(await response.json()).to.deep.equal({ theme: 'dark', lang: 'fr', previous: { theme: 'light', lang: 'en' } })
      })

      it('an HttpError keeps its status and message', async () => {
        const response = await fetch(target.url('/greetings/x?lang=xx'))
        expect(response.status).to.equal(400)
        expect(await response.json()).to.deep.equal({ error: 'unknown lang "xx"', details: { supported: ['en', 'fr', 'de', 'es', 'ja'] } })
      })

      it('a crash is a 500 that shows no stack and no error text', async () => {
        const response = await fetch(target.url('/fail'))
        expect(response.status).to.equal(500)
        const text = await response.text()
        const body = JSON.parse(text) as { error: string; requestId: string }
        expect(body.error).to.equal('Internal Server Error')
        expect(body.requestId).to.be.a('string').and.not.equal('')
        expect(text).to.not.match(/hunter2|stack|\bat /)
      })

      it('invalid JSON is a 400 from request.json()', async () => {
        const response = await fetch(target.url('/quotes'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"items": [' })
        expect(response.status).to.equal(400)
        expect(((await response.json()) as { error: string }).error).to.match(/^Invalid JSON in request body: /)
      })

      it('a cron firing', async function () {
        requireTrigger(this, 'schedule')
        const { logs } = await target.fire({ kind: 'schedule', function: 'report' })
        const line = find(logs, 'nightly report')
        expect(Date.parse(line.to as string) - Date.parse(line.from as string)).to.equal(24 * 60 * 60 * 1000)
      })

      it('a queue batch where only the failing message is redelivered', async function () {
        requireTrigger(this, 'queue')
        const good = JSON.stringify({ id: 'o-1', items: ['book'], total: 12.5 })
        const bad = JSON.stringify({ id: 'o-2', items: [], total: 3 })
        const { redelivered, logs } = await target.fire({ kind: 'queue', function: 'orders', queue: 'orders', messages: [good, bad] })
        expect(redelivered).to.deep.equal([1])
        expect(find(logs, 'order accepted')).to.include({ orderId: 'o-1', items: 1, total: 12.5 })
        expect(find(logs, 'event failed').level).to.equal('error')
      })

      it('a topic message, with its attributes', async function () {
        requireTrigger(this, 'topic')
        const { logs } = await target.fire({
          kind: 'topic',
          function: 'alerts',
          topic: 'polycloud-demo-dev-alerts',
          body: 'disk almost full',
          attributes: { severity: 'warning' },
        })
        expect(find(logs, 'alert')).to.include({ level: 'warn', body: 'disk almost full' })
      })

      it('a storage event', async function () {
        requireTrigger(this, 'storage')
        const { logs } = await target.fire({ kind: 'storage', function: 'thumbnails', bucket: 'polycloud-demo-dev-uploads', key: 'images/cat 1.png', size: 2048 })
        expect(find(logs, 'thumbnail needed')).to.include({ bucket: 'polycloud-demo-dev-uploads', key: 'images/cat 1.png', size: 2048, target: 'thumbnails/cat 1.png' })
      })

      describe('events through the local ingress, as the cloud delivers them', () => {
        const run = randomBytes(4).toString('hex')

        it('a cron fired on demand runs now, for the day before', async function () {
          requireTrigger(this, 'schedule')
          const fired = Date.now()
          const { logs } = await target.fire({ kind: 'schedule', function: 'report' })
          const line = find(logs, 'nightly report')
          // The tick's time is when it was fired (the minute or second it ran), not the cron's 03:00.
          expect(Math.abs(Date.parse(line.to as string) - fired)).to.be.below(2 * 60_000)
          see('a cron', provider, { hours: (Date.parse(line.to as string) - Date.parse(line.from as string)) / 3_600_000 })
        })

        it('a valid order is accepted once; an invalid one is retried, then dead-lettered', async function () {
          requireTrigger(this, 'queue')
          this.timeout(240_000)
          const good = JSON.stringify({ id: `good-${run}`, items: ['book', 'pen'], total: 20.5 })
          const bad = JSON.stringify({ id: `bad-${run}`, items: [], total: 5 })
          const from = target.logs().length
          const { redelivered, logs } = await target.fire({ kind: 'queue', function: 'orders', queue: 'orders', messages: [good, bad] })
          expect(redelivered).to.deep.equal([1])
          see('a valid order', provider, neutral(find(logs, 'order accepted'), ['level', 'orderId', 'items', 'total', 'attempt', 'queue'], run))
          // Each provider's dead-letter store: SQS's dead-letter queue, the -poison queue, the dead-letter topic's pull
          // subscription, the -dlq queue.
          const dead: string[] = []
          await waitFor('the invalid order in the dead-letter queue', async () => (dead.push(...(await target.deadLetters('orders'))), dead.includes(bad)), 180_000, 500)
          expect(dead).to.not.include(good)
          const lines = target.logs().slice(from)
          expect(lines.filter((line) => line.message === 'order accepted' && line.orderId === `good-${run}`)).to.have.length(1)
          // Delivered as often as the queue allows before the dead-letter queue (maxReceiveCount: 5), on every provider.
          const failures = lines.filter((line) => line.message === 'event failed' && JSON.stringify(line.error).includes(`order bad-${run}: no items`))
          expect(failures).to.have.length(5)
          see('an invalid order', provider, { deliveries: failures.length, level: failures[0]?.level, deadLettered: dead.filter((body) => body === bad).length })
        })

        it('an alert with its attributes, logged at the level it asks for', async function () {
          requireTrigger(this, 'topic')
          const { logs } = await target.fire({ kind: 'topic', function: 'alerts', topic: 'polycloud-demo-dev-alerts', body: `disk ${run} full`, attributes: { severity: 'critical', team: 'storage' } })
          const line = find(logs, 'alert')
          expect(line).to.include({ level: 'error', topic: 'polycloud-demo-dev-alerts', subject: null, body: `disk ${run} full` })
          expect(line.attributes).to.deep.equal({ severity: 'critical', team: 'storage' })
          see('an alert', provider, neutral(line, ['level', 'topic', 'subject', 'body', 'attributes'], run))
        })

        it('an image under the prefix is noticed; an object outside it is not', async function () {
          requireTrigger(this, 'storage')
          const bucket = 'polycloud-demo-dev-uploads'
          const outside = `docs/${run}.png`
          const { logs } = await target.fire({ kind: 'storage', function: 'thumbnails', bucket, key: `images/${run}.png`, size: 4096, ignored: [outside] })
          const line = find(logs, 'thumbnail needed')
          expect(line).to.include({ bucket, key: `images/${run}.png`, size: 4096, target: `thumbnails/${run}.png` })
          expect(target.logs().filter((candidate) => candidate.key === outside)).to.deep.equal([])
          see('an image', provider, neutral(line, ['level', 'bucket', 'key', 'size', 'target'], run))
        })
      })

      describe('the resources the demo declares, through the local emulation: upload -> stored -> bucket event -> thumbnail -> download; order -> alert', () => {
        const run = randomBytes(4).toString('hex')
        const uploadTrace = randomBytes(16).toString('hex')
        let image: Uint8Array
        let key: string

        /** Marks the test pending while the provider's emulation does not serve the resources (its target says why). */
        function requireResources(test: Mocha.Context, chain: ChainCase, seen: string): void {
          const pending = target.resourcesPending
          const reason = typeof pending === 'string' ? pending : pending?.[chain]
          if (reason === undefined) return
          PENDING.set(provider, (PENDING.get(provider) ?? new Set()).add(seen))
          if (test.test) test.test.title += ` (pending on ${provider}: ${reason})`
          test.skip()
        }

        it('POST /uploads keeps the file and answers its key; GET /uploads/{key} streams it back, bytes exact, with its content type', async function () {
          requireResources(this, 'upload', 'an upload')
          image = await testImage(run)
          // The client's trace (W3C traceparent) is kept: every line of the upload carries its trace id.
          const response = await fetch(target.url('/uploads'), { method: 'POST', headers: { 'content-type': 'image/png', traceparent: `00-${uploadTrace}-00f067aa0ba902b7-01` }, body: Buffer.from(image) })
          expect(response.status, JSON.stringify(target.httpLogs().slice(-2))).to.equal(201)
          const body = (await response.json()) as { key: string; size: number; sha256: string; contentType: string }
          const digest = createHash('sha256').update(image).digest('hex')
          expect(body).to.deep.include({ key: `${digest}.png`, size: image.length, sha256: digest, contentType: 'image/png' })
          key = body.key
          const stored = await waitFor(`the upload's log line`, () => target.httpLogs().find((line) => line.message === 'upload stored' && line.key === key), 10_000, 100)
          expect(stored).to.include({ traceId: uploadTrace })
          const back = await fetch(target.url(`/uploads/${key}`))
          expect(back.status).to.equal(200)
          expect(back.headers.get('content-type')).to.equal('image/png')
          expect(Buffer.from(await back.arrayBuffer()).equals(Buffer.from(image))).to.equal(true)
          const missing = await fetch(target.url(`/uploads/${'0'.repeat(64)}.png`))
          expect(missing.status).to.equal(404)
          expect(await missing.json()).to.deep.equal({ error: `no upload "${'0'.repeat(64)}.png"` })
        })

        it('the bucket event makes thumbnails read the image and write a real, smaller PNG under thumbnails/, downloadable', async function () {
          requireResources(this, 'thumbnail', 'a thumbnail')
          this.timeout(120_000)
          expect(key, 'the upload of the case before').to.be.a('string')
          const object = `images/${key}`
          const written = await waitFor(`the thumbnail of ${object}`, () => target.logs().find((line) => line.message === 'thumbnail written' && line.key === object), 90_000, 250)
          expect(written).to.deep.include({ target: `thumbnails/${key}`, width: 128, height: 85, source: { width: 300, height: 200 } })
          // The object carries its writer's trace in its metadata: where the storage event brings the metadata (Cloud
          // Storage, Azure blob triggers), the thumbnail continues the upload's trace; S3 and R2 notifications do not.
          if (provider === 'google' || provider === 'azure') expect(written.traceId, 'the thumbnail in the upload\'s trace').to.equal(uploadTrace)
          else expect(written.traceId).to.not.equal(uploadTrace)
          const response = await fetch(target.url(`/thumbnails/${key}`))
          expect(response.status).to.equal(200)
          expect(response.headers.get('content-type')).to.equal('image/png')
          const thumbnail = new Uint8Array(await response.arrayBuffer())
          // Smaller in pixels (a smooth gradient compresses better at 300 x 200 than averaged at 128 x 85: bytes may grow).
          expect(thumbnail.length).to.equal(written.bytes)
          const decoded = await decodePng(thumbnail)
          expect([decoded.width, decoded.height]).to.deep.equal([128, 85])
          // The same bytes on every provider: one codec on Node and on workerd. Each provider's run has its own image,
          // so each thumbnail is checked against the one this process makes of that image.
          const reference = await makeThumbnail(image, { maxSide: 128 })
          const same = Buffer.from(thumbnail).equals(Buffer.from(reference.png))
          expect(same, 'the thumbnail the same bytes as the codec makes on Node').to.equal(true)
          see('a thumbnail', provider, { width: decoded.width, height: decoded.height, sameBytesAsNode: same })
          const none = await fetch(target.url(`/thumbnails/${'0'.repeat(64)}.png`))
          expect(none.status).to.equal(404)
          await none.body?.cancel()
        })

        it('an order above the threshold is processed, and its alert received (where the provider has topics; logged as a large order where not)', async function () {
          requireResources(this, 'alert', 'an order alert')
          this.timeout(120_000)
          const id = `big-${run}`
          const { redelivered, logs } = await target.fire({ kind: 'queue', function: 'orders', queue: 'orders', messages: [JSON.stringify({ id, items: ['car'], total: 25_000 })] })
          expect(redelivered).to.deep.equal([])
          expect(find(logs, 'order accepted')).to.include({ orderId: id, total: 25_000 })
          if (target.unsupported?.topic !== undefined) {
            expect(find(logs, 'large order')).to.include({ level: 'warn', orderId: id, total: 25_000, threshold: 1000 })
            return
          }
          expect(find(logs, 'alert published')).to.include({ orderId: id, threshold: 1000 })
          const alert = await waitFor(`the alert of order ${id}`, () => target.logs().find((line) => line.message === 'alert' && line.body === `order ${id} totals 25000`), 60_000, 250)
          expect(alert).to.include({ level: 'warn', subject: 'Large order' })
          expect(alert.attributes).to.deep.equal({ severity: 'warning', orderId: id })
          // The alert was published inside the order's invocation: the alerts function continues the order's trace.
          const accepted = find(logs, 'order accepted')
          expect(accepted.traceId).to.match(/^[0-9a-f]{32}$/)
          expect(find(logs, 'alert published').traceId).to.equal(accepted.traceId)
          expect(alert.traceId, 'the alert in the order\'s trace').to.equal(accepted.traceId)
          see('an order alert', provider, neutral(alert, ['level', 'subject', 'body', 'attributes'], run))
        })
      })

      describe('the chatbot and the IoT flow, on the provider\'s key-value stores (sessions, devices) and the readings queue', () => {
        const run = randomBytes(4).toString('hex')
        const now = (): number => Math.floor(Date.now() / 1000)

        /** POST /chat/{conversation} as the chat platform signs it (timestamp and secret to tamper with). */
        async function chat(conversation: string, text: string, options: { timestamp?: number; secret?: string; headers?: Record<string, string> } = {}): Promise<Response> {
          const body = JSON.stringify({ text, user: 'ada' })
          const timestamp = String(options.timestamp ?? now())
          const headers = { 'content-type': 'application/json', 'x-chat-timestamp': timestamp, 'x-chat-signature': await signature(options.secret ?? CHAT_SECRET, timestamp, body), ...options.headers }
          return fetch(target.url(`/chat/${conversation}`), { method: 'POST', headers, body })
        }

        const telemetry = (body: unknown, headers: Record<string, string> = { 'x-api-key': DEVICE_KEY }): Promise<Response> =>
          fetch(target.url('/telemetry'), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })

        it('a signed message is answered, and the conversation keeps its turns between calls', async () => {
          const conversation = `talk-${run}`
          const first = await chat(conversation, 'hello')
          expect(first.status, JSON.stringify(target.httpLogs().slice(-2))).to.equal(200)
          const hello = await first.json()
          expect(hello).to.deep.equal({ reply: 'Hello! Say "help" to see what I can do.', turns: 1, conversation })
          const second = await chat(conversation, 'count')
          const count = await second.json()
          expect(count).to.deep.equal({ reply: 'This conversation has 2 messages.', turns: 2, conversation })
          see('a chat', provider, JSON.parse(JSON.stringify([hello, count]).replaceAll(run, '<run>')))
        })

        it('unsigned, badly signed, replayed (signed over 5 minutes ago) or tampered: 401 naming the reason, nothing counted', async () => {
          const conversation = `refused-${run}`
          const refusals: Array<[string, Response]> = [
            ['unsigned', await fetch(target.url(`/chat/${conversation}`), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"hello"}' })],
            ['another secret', await chat(conversation, 'hello', { secret: 'not-the-secret' })],
            ['a replay', await chat(conversation, 'hello', { timestamp: now() - 301 })],
            ['another timestamp', await chat(conversation, 'hello', { headers: { 'x-chat-timestamp': String(now() - 1) } })],
          ]
          const reasons: Record<string, string> = {}
          for (const [what, response] of refusals) {
            expect(response.status, what).to.equal(401)
            const body = (await response.json()) as { error: string; details: { reason: string } }
            expect(body.error, what).to.equal('Unauthorized')
            reasons[what] = body.details.reason.replace(/\d+ seconds/, '<n> seconds')
          }
          expect(reasons).to.deep.equal({
            unsigned: 'the x-chat-timestamp and x-chat-signature headers are required',
            'another secret': 'the signature does not match the body and timestamp',
            'a replay': 'the request was signed <n> seconds ago, more than 300: replays are refused',
            'another timestamp': 'the signature does not match the body and timestamp',
          })
          // Nothing was stored for the conversation: its first signed message is its first turn.
          expect(((await (await chat(conversation, 'count')).json()) as { turns: number }).turns).to.equal(1)
          see('a refused chat', provider, reasons)
        })

        it('messages sent at once to one conversation all count (conditional writes); the same delivery sent again counts once', async () => {
          const conversation = `busy-${run}`
          const texts = ['one', 'two', 'three', 'four', 'five', 'six']
          const timestamp = now()
          const responses = await Promise.all(texts.map((text) => chat(conversation, text, { timestamp })))
          const bodies = (await Promise.all(responses.map((response) => response.json()))) as Array<{ turns: number; reply: string }>
          expect(responses.map((response) => response.status), JSON.stringify(bodies)).to.deep.equal(texts.map(() => 200))
          expect(bodies.map((body) => body.turns).sort((a, b) => a - b)).to.deep.equal([1, 2, 3, 4, 5, 6])
          // The platform delivers "one" again (same timestamp, same signature): answered, not counted.
          const again = (await (await chat(conversation, 'one', { timestamp })).json()) as Record<string, unknown>
          expect(again).to.deep.equal({ reply: null, duplicate: true, turns: 6, conversation })
          const count = (await (await chat(conversation, 'count')).json()) as Record<string, unknown>
          expect(count).to.deep.equal({ reply: 'This conversation has 7 messages.', turns: 7, conversation })
          see('concurrent chat', provider, { turns: bodies.map((body) => body.turns).sort((a, b) => a - b), again: { ...again, conversation: '<run>' }, count: count.turns })
        })

        it('more than 20 messages a minute in one conversation: 429 with Retry-After', async () => {
          const conversation = `flood-${run}`
          const statuses: number[] = []
          let limited: Response | undefined
          // 21 messages in a row: the first 20 inside the window (the window starts at the first; 21 calls take seconds).
          for (let i = 1; i <= 21; i++) {
            const response = await chat(conversation, `message ${i}`)
            statuses.push(response.status)
            if (response.status === 429) limited = response
            else await response.body?.cancel()
          }
          expect(statuses).to.deep.equal([...Array(20).fill(200), 429])
          expect(Number(limited?.headers.get('retry-after'))).to.be.within(1, 60)
          expect(await limited?.json()).to.deep.equal({ error: 'more than 20 messages a minute in this conversation' })
          see('a chat rate limit', provider, statuses)
        })

        it('POST /telemetry without its API key, or with another: 401; with it: 202, queued', async () => {
          const body = { device: `probe-${run}`, id: 'r-0', time: new Date().toISOString(), value: 1 }
          for (const headers of [{}, { 'x-api-key': 'not-the-key' }] as Array<Record<string, string>>) {
            const refused = await telemetry(body, headers)
            expect(refused.status, JSON.stringify(headers)).to.equal(401)
            expect(refused.headers.get('www-authenticate')).to.equal('ApiKey header="x-api-key"')
            expect(await refused.text()).to.equal('{"message":"Unauthorized"}')
          }
          const malformed = await telemetry({ ...body, value: 'hot' })
          expect(malformed.status).to.equal(400)
          expect(await malformed.json()).to.deep.equal({ error: 'value must be a finite number' })
          const accepted = await telemetry(body)
          expect(accepted.status, JSON.stringify(target.httpLogs().slice(-2))).to.equal(202)
          expect(await accepted.json()).to.deep.equal({ queued: 'r-0', device: `probe-${run}` })
        })

        it("a device's readings, one sent twice, are counted once each by the queue worker; GET /devices/{id} reads its state back; the threshold crossed raises its alert once", async function () {
          this.timeout(180_000)
          const device = `thermo-${run}`
          const base = Date.now() - 60_000
          const readings = [20, 25, 35].map((value, index) => ({ device, id: `r-${index + 1}`, time: new Date(base + index * 10_000).toISOString(), value, unit: 'C' }))
          // In order, then the second again (a device retrying, or a message delivered twice): counted once.
          for (const reading of [...readings, readings[1]]) {
            const response = await telemetry(reading)
            expect(response.status, JSON.stringify(target.httpLogs().slice(-2))).to.equal(202)
            await response.body?.cancel()
          }
          const worked = await waitFor(
            `the four deliveries of ${device}'s readings`,
            () => {
              const lines = target.logs().filter((line) => (line.message === 'reading counted' || line.message === 'reading seen before') && line.device === device)
              return lines.length >= 4 ? lines : undefined
            },
            120_000,
            250,
          )
          expect(worked.filter((line) => line.message === 'reading counted').map((line) => line.reading).sort()).to.deep.equal(['r-1', 'r-2', 'r-3'])
          expect(worked.filter((line) => line.message === 'reading seen before').map((line) => line.reading)).to.deep.equal(['r-2'])
          const response = await fetch(target.url(`/devices/${device}`))
          expect(response.status).to.equal(200)
          const state = (await response.json()) as Record<string, unknown>
          const last = readings[2] as { id: string; time: string; value: number }
          expect(state).to.deep.include({ device, count: 3, min: 20, max: 35, unit: 'C', last: { id: last.id, time: last.time, value: last.value } })
          expect(Date.parse(state.updated as string)).to.be.above(base)
          const unknown = await fetch(target.url(`/devices/never-${run}`))
          expect(unknown.status).to.equal(404)
          expect(await unknown.json()).to.deep.equal({ error: `no readings from device never-${run}` })
          // The alert: through the alerts topic to its subscriber where the provider has topics; logged by the worker
          // on Cloudflare. The same line either way.
          const alert = await waitFor(`the alert of ${device}`, () => target.logs().find((line) => line.message === 'alert' && line.subject === `${device} above 30`), 60_000, 250)
          const body = typeof alert.body === 'string' ? (JSON.parse(alert.body) as unknown) : alert.body
          expect(body).to.deep.equal({ device, reading: 'r-3', time: last.time, value: 35, kind: 'high', threshold: 30 })
          expect(alert).to.include({ level: 'warn' })
          expect(alert.attributes).to.deep.equal({ severity: 'warning', device })
          // Published once by the four deliveries, however they overlap (the reading sent twice is worked at once with
          // another on Azure and Google): each delivery logs its line once done with, with the alerts it published
          // (the alert's claim in the store lets one publish it). Every copy received is that alert, and no other.
          expect(worked.reduce((sum, line) => sum + Number(line.alertsPublished), 0), JSON.stringify(worked)).to.equal(1)
          const copies = target.logs().filter((line) => line.message === 'alert' && String(line.subject).startsWith(`${device} `))
          for (const copy of copies) expect(typeof copy.body === 'string' ? (JSON.parse(copy.body) as unknown) : copy.body).to.deep.equal(body)
          const { updated: _updated, ...kept } = state
          see('a device', provider, JSON.parse(JSON.stringify(kept).replaceAll(run, '<run>').replaceAll(last.time, '<time>')))
          see('a device alert', provider, JSON.parse(JSON.stringify({ level: alert.level, subject: alert.subject, body, attributes: alert.attributes }).replaceAll(run, '<run>').replaceAll(last.time, '<time>')))
        })

        it('a malformed reading on the queue is retried, then dead-lettered with its reason logged; nothing counted', async function () {
          this.timeout(240_000)
          const bad = JSON.stringify({ device: `broken-${run}`, id: `bad-${run}`, time: 'yesterday', value: 1 })
          const from = target.logs().length
          const { redelivered } = await target.fire({ kind: 'queue', function: 'readings', queue: 'readings', messages: [bad] })
          expect(redelivered).to.deep.equal([0])
          const dead: string[] = []
          await waitFor('the malformed reading in the dead-letter queue', async () => (dead.push(...(await target.deadLetters('readings'))), dead.includes(bad)), 180_000, 500)
          const lines = target.logs().slice(from)
          const refusals = lines.filter((line) => line.message === 'reading refused' && line.reason === 'time must be an ISO 8601 date and time with a zone (2026-12-07T10:00:00Z)')
          expect(refusals.length).to.equal(5)
          expect(lines.filter((line) => line.message === 'event failed' && JSON.stringify(line.error).includes(`(reading \\"bad-${run}\\")`))).to.have.length(5)
          const device = await fetch(target.url(`/devices/broken-${run}`))
          expect(device.status).to.equal(404)
          await device.body?.cancel()
          see('a malformed reading', provider, { deliveries: refusals.length, level: refusals[0]?.level, reason: refusals[0]?.reason, deadLettered: dead.filter((body) => body === bad).length })
        })
      })

      describe('secured routes, declared once in serverless.yml', () => {
        const me = (headers: Record<string, string> = {}) => fetch(target.url('/me'), { headers })
        const bearer = async (claims: Parameters<Issuer['sign']>[0], options?: Parameters<Issuer['sign']>[1]) => ({ authorization: `Bearer ${await issuer.sign(claims, options)}` })

        /** Resolves with the first handler log line with this message, waiting for it up to `ms` (output may lag). */
        async function logged(message: string, ms = 30_000): Promise<LogLine> {
          for (const until = Date.now() + ms; ; await new Promise((resolve) => setTimeout(resolve, 100))) {
            const line = target.httpLogs().find((candidate) => candidate.message === message)
            if (line !== undefined || Date.now() > until) return find(target.httpLogs(), message)
          }
        }

        // First in this block: no instance of the route has fetched the issuer's keys yet.
        it('with the identity provider unreachable: the same 401 everywhere, never a 500, and the log says why', async () => {
          const headers = await bearer({ sub: 'ada', scope: 'profile' })
          issuer.setReachable(false)
          let response: Response
          try {
            response = await me(headers)
          } finally {
            issuer.setReachable(true)
          }
          expect(response.status).to.equal(401)
          expect(response.headers.get('www-authenticate')).to.equal('Bearer scope="profile" error="invalid_token" error_description="the signing keys could not be fetched"')
          expect(await response.text()).to.equal('{"message":"Unauthorized"}')
          const line = await logged('the identity provider could not be reached: its tokens are refused until it answers')
          expect(line).to.include({ level: 'error', url: `${issuer.url}/.well-known/openid-configuration` })
          // The route fetches again once the backoff of its one failed fetch (1 s) is over.
          await new Promise((resolve) => setTimeout(resolve, 1_100))
        })

        it('a malformed token: 401 invalid_token, the same body and challenge everywhere', async () => {
          for (const token of ['not-a-token', 'a.b.c']) {
            const response = await me({ authorization: `Bearer ${token}` })
            expect(response.status, token).to.equal(401)
            expect(response.headers.get('www-authenticate'), token).to.equal('Bearer scope="profile" error="invalid_token" error_description="the token is malformed"')
            expect(await response.text(), token).to.equal('{"message":"Unauthorized"}')
          }
        })

        it('a valid token reaches the handler, which sees the verified caller', async () => {
          const response = await me(await bearer({ sub: 'ada', scope: 'profile email', name: 'Ada' }))
          // On a failure, the handler's last log lines say why (the JWKS could not be fetched, say).
          expect(response.status, JSON.stringify(target.httpLogs().slice(-2))).to.equal(200)
          expect(await response.json()).to.deep.equal({ subject: 'ada', scopes: ['profile', 'email'], name: 'Ada' })
        })

        it('no token: 401 with a Bearer challenge, the same body everywhere', async () => {
          const response = await me()
          expect(response.status).to.equal(401)
          expect(response.headers.get('www-authenticate')).to.equal('Bearer scope="profile"')
          expect(await response.text()).to.equal('{"message":"Unauthorized"}')
        })

        it('an expired, forged or foreign-keyed token: 401 invalid_token; a token without the scope: 403 insufficient_scope', async () => {
          const expired = await me(await bearer({ sub: 'ada', scope: 'profile' }, { expiresIn: Math.floor(Date.now() / 1000) - 120 }))
          const unknown = await me(await bearer({ sub: 'ada', scope: 'profile' }, { unknownKey: true }))
          const [header, payload] = (await issuer.sign({ sub: 'ada', scope: 'email' })).split('.')
          const forged = await me({ authorization: `Bearer ${header}.${payload}.${Buffer.alloc(256).toString('base64url')}` })
          for (const response of [expired, unknown, forged]) {
            expect(response.status).to.equal(401)
            expect(response.headers.get('www-authenticate')).to.match(/^Bearer scope="profile" error="invalid_token" error_description="[^"]+"$/)
            expect(await response.text()).to.equal('{"message":"Unauthorized"}')
          }
          const scopeless = await me(await bearer({ sub: 'ada', scope: 'email' }))
          expect(scopeless.status).to.equal(403)
          expect(scopeless.headers.get('www-authenticate')).to.match(/^Bearer scope="profile" error="insufficient_scope"/)
          expect(await scopeless.text()).to.equal('{"message":"Forbidden"}')
        })

        it('a CORS preflight is answered without the handler; a refused origin gets no Allow headers', async () => {
          const preflight = await fetch(target.url('/greetings/x'), { method: 'OPTIONS', headers: { origin: WEB_ORIGIN, 'access-control-request-method': 'GET' } })
          expect(preflight.status).to.equal(204)
          expect(preflight.headers.get('access-control-allow-origin')).to.equal(WEB_ORIGIN)
          expect(preflight.headers.get('access-control-allow-methods')).to.equal('GET')
          expect(preflight.headers.get('access-control-max-age')).to.equal('600')
          const refused = await fetch(target.url('/greetings/x'), { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } })
          expect(refused.status).to.equal(204)
          expect(refused.headers.get('access-control-allow-origin')).to.equal(null)
        })

        it('CORS headers on every response of the route, errors included, with Vary: Origin', async () => {
          for (const [path, status] of [['/greetings/Ada', 200], ['/greetings/x?lang=xx', 400]] as const) {
            const response = await fetch(target.url(path), { headers: { origin: WEB_ORIGIN } })
            expect(response.status).to.equal(status)
            expect(response.headers.get('access-control-allow-origin')).to.equal(WEB_ORIGIN)
            expect(response.headers.get('vary')).to.match(/(^|, *)Origin\b/)
            await response.body?.cancel()
          }
          const stranger = await fetch(target.url('/greetings/Ada'), { headers: { origin: 'https://evil.example' } })
          expect(stranger.headers.get('access-control-allow-origin')).to.equal(null)
          await stranger.body?.cancel()
        })
      })

      // Issue 18.2: one behaviour on four clouds.
      describe('one behaviour on every cloud', () => {
        it('HEAD on a GET route: GET\'s status and headers, no body, the handler run', async () => {
          const greetings = (): number => target.httpLogs().filter((line) => line.message === 'greeting').length
          // Log lines reach the test asynchronously (a child process's output on some targets): wait for each one.
          const logged = async (count: number): Promise<number> => {
            const deadline = Date.now() + 10_000
            while (greetings() < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
            return greetings()
          }
          const before = greetings()
          const get = await fetch(target.url('/hello?name=Ada'))
          const getBody = await get.text()
          expect(await logged(before + 1)).to.equal(before + 1)
          const head = await fetch(target.url('/hello?name=Ada'), { method: 'HEAD' })
          expect(head.status).to.equal(200)
          expect(head.headers.get('content-type')).to.equal(get.headers.get('content-type'))
          const length = head.headers.get('content-length')
          if (length !== null) expect(Number(length)).to.equal(Buffer.byteLength(getBody))
          expect(await head.text()).to.equal('')
          // The handler ran for the HEAD request, as for a GET (its log line).
          expect(await logged(before + 2)).to.equal(before + 2)
        })

        it('HEAD keeps GET\'s errors and CORS headers, without a body; OPTIONS stays the preflight', async () => {
          const refused = await fetch(target.url('/greetings/x?lang=xx'), { method: 'HEAD', headers: { origin: WEB_ORIGIN } })
          expect(refused.status).to.equal(400)
          expect(refused.headers.get('content-type')).to.match(/^application\/json\b/)
          expect(refused.headers.get('access-control-allow-origin')).to.equal(WEB_ORIGIN)
          expect(await refused.text()).to.equal('')
          const secured = await fetch(target.url('/me'), { method: 'HEAD' })
          expect(secured.status).to.equal(401)
          expect(secured.headers.get('www-authenticate')).to.equal('Bearer scope="profile"')
          expect(await secured.text()).to.equal('')
          const preflight = await fetch(target.url('/greetings/x'), { method: 'OPTIONS', headers: { origin: WEB_ORIGIN, 'access-control-request-method': 'HEAD' } })
          expect(preflight.status).to.equal(204)
          expect(await preflight.text()).to.equal('')
        })

        for (const [body, shown] of [['null', 'null'], ['42', '42'], ['"x"', '"x"'], ['true', 'true'], ['[]', 'an array']] as const) {
          it(`a JSON ${body} body reaches request.json() as that value: POST /quotes answers 400 naming it`, async () => {
            const response = await fetch(target.url('/quotes'), { method: 'POST', headers: { 'content-type': 'application/json' }, body })
            expect(response.status).to.equal(400)
            expect(await response.json()).to.deep.equal({ error: `the body must be a JSON object (a basket with items), got ${shown}` })
          })
        }

        it('a JSON null body is a 400 from PUT /preferences too', async () => {
          const response = await fetch(target.url('/preferences'), { method: 'PUT', headers: { 'content-type': 'application/json' }, body: 'null' })
          expect(response.status).to.equal(400)
          expect(await response.json()).to.deep.equal({ error: 'the body must be a JSON object (theme and lang), got null' })
        })

        it('a cron firing names the declared cron expression and the function, in the same terms', async function () {
          requireTrigger(this, 'schedule')
          const { logs } = await target.fire({ kind: 'schedule', function: 'report' })
          expect(find(logs, 'nightly report')).to.include({ schedule: '0 3 * * *', name: 'report' })
        })
      })
    })
  }

  describe('portability: the neutral fields the handlers see, the same on every provider', () => {
    const flows = ['a chat', 'a refused chat', 'concurrent chat', 'a chat rate limit', 'a device', 'a device alert', 'a malformed reading']
    for (const kase of ['a cron', 'a valid order', 'an invalid order', 'an alert', 'an image', 'a thumbnail', 'an order alert', ...flows]) {
      it(kase, function () {
        const seen = SEEN[kase] ?? {}
        // Every provider that has the trigger (Cloudflare has no topics) must have run its case; the resources' cases
        // on the providers whose emulation serves them.
        const chain = kase === 'a thumbnail' || kase === 'an order alert'
        const expected = Object.keys(TARGETS).filter((provider) => !((kase === 'an alert' || kase === 'an order alert') && provider === 'cloudflare') && !(chain && PENDING.get(provider)?.has(kase) === true))
        expect(Object.keys(seen).sort(), `the providers whose ${kase} case ran`).to.deep.equal(expected.sort())
        const [first, ...others] = Object.entries(seen)
        for (const [provider, fields] of others) expect(fields, `${provider} against ${first?.[0]}`).to.deep.equal(first?.[1])
      })
    }
  })
})
