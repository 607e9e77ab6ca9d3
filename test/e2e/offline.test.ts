/**
 * End to end: the demo under `serverless offline` (real API Gateway emulation, real Lambda payloads, the
 * generated entries bundled by serverless-esbuild), once with HTTP API routes (payload 2.0) and once with REST
 * API routes (payload 1.0). Every process started is stopped in `after`.
 */
import { expect } from 'chai'
import { createHash, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { ROOT, startOffline, type Offline } from '../helpers/serverless.ts'

interface Api {
  name: string
  params: Record<string, string>
  /** REST paths carry the stage. */
  prefix: string
}

const APIS: Api[] = [
  { name: 'HTTP API (payload 2.0)', params: { routes: 'http-api', reportSchedule: '* * * * *' }, prefix: '' },
  { name: 'REST API (payload 1.0)', params: { routes: 'rest-api' }, prefix: '/dev' },
]

for (const api of APIS) {
  describe(`e2e: serverless offline, ${api.name}`, function () {
    this.timeout(120_000)
    let offline: Offline
    const url = (path: string) => `${offline.url}${api.prefix}${path}`

    before(async () => {
      offline = await startOffline(api.params)
    })

    after(async () => {
      await offline?.stop()
    })

    it('answers JSON, with repeated query keys kept', async () => {
      const response = await fetch(url('/hello?name=Ada&name=Grace'))
      expect(response.status).to.equal(200)
      // serverless-offline (hapi) appends a charset.
      expect(response.headers.get('content-type')).to.match(/^application\/json(; charset=utf-8)?$/)
      expect(await response.json()).to.deep.equal({ hello: 'Ada and Grace', provider: 'aws' })
    })

    it('passes path parameters and query strings', async () => {
      const response = await fetch(url('/greetings/Z%C3%BCrich?lang=de'))
      expect(await response.json()).to.deep.equal({ greeting: 'Hallo, Zürich!', lang: 'de' })
      const unknown = await fetch(url('/greetings/x?lang=xx'))
      expect(unknown.status).to.equal(400)
      expect(await unknown.json()).to.deep.equal({ error: 'unknown lang "xx"', details: { supported: ['en', 'fr', 'de', 'es', 'ja'] } })
    })

    it('takes JSON in and gives JSON out', async () => {
      const response = await fetch(url('/quotes'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ items: [{ sku: 'a', quantity: 2, unitPrice: 1250 }, { sku: 'b', quantity: 1, unitPrice: 500 }], discountCode: 'welcome10' }),
      })
      expect(response.status).to.equal(201)
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

    it('answers invalid JSON with a 400 naming it', async () => {
      const response = await fetch(url('/quotes'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"items": [' })
      expect(response.status).to.equal(400)
      const body = (await response.json()) as { error: string }
      expect(body.error).to.match(/^Invalid JSON in request body: /)
    })

    it('round-trips a binary upload byte for byte', async () => {
      const bytes = randomBytes(64 * 1024)
      bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 0)
      const echo = await fetch(url('/uploads?echo=true'), { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes })
      expect(echo.status).to.equal(200)
      const returned = Buffer.from(await echo.arrayBuffer())
      expect(returned.length).to.equal(bytes.length)
      expect(returned.equals(bytes)).to.equal(true)
      const digest = createHash('sha256').update(bytes).digest('hex')
      expect(echo.headers.get('x-content-sha256')).to.equal(digest)
      const stored = await fetch(url('/uploads'), { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes })
      expect(stored.status).to.equal(201)
      expect(await stored.json()).to.deep.equal({ key: `${digest}.png`, size: bytes.length, sha256: digest, contentType: 'image/png', declaredType: 'application/octet-stream', detectedType: 'image/png' })
      const back = await fetch(url(`/uploads/${digest}.png`))
      expect(back.headers.get('content-type')).to.equal('image/png')
      expect(Buffer.from(await back.arrayBuffer()).equals(bytes)).to.equal(true)
    })

    it('delivers two Set-Cookie headers as two', async () => {
      const response = await fetch(url('/preferences'), {
        method: 'PUT',
        headers: { 'content-type': 'application/json', cookie: 'theme=light' },
        body: JSON.stringify({ theme: 'dark', lang: 'fr' }),
      })
      expect(response.status).to.equal(200)
      const cookies = response.headers.getSetCookie()
      expect(cookies).to.have.length(2)
      expect(cookies[0]).to.match(/^theme=dark; /)
      expect(cookies[1]).to.match(/^lang=fr; /)
      expect(await response.json()).to.deep.equal({ theme: 'dark', lang: 'fr', previous: { theme: 'light', lang: null } })
    })

    it('answers a crashing handler with a 500 that holds no stack and no error text', async () => {
      const response = await fetch(url('/fail'))
      expect(response.status).to.equal(500)
      const text = await response.text()
      const body = JSON.parse(text) as { error: string; requestId: string }
      expect(body.error).to.equal('Internal Server Error')
      expect(body.requestId).to.be.a('string').and.not.equal('')
      expect(text).to.not.match(/hunter2|stack|\bat /)
      // The log has it, with the stack, as one JSON line.
      const line = await offline.waitForLine(new RegExp(`"requestId":"${body.requestId}"`), 5_000)
      expect(JSON.parse(line)).to.deep.include({ level: 'error', message: 'handler failed' })
      expect(line).to.include('hunter2')
      // Its stack through the bundle's map (the mapper compiled when this stack was formatted).
      expect(line).to.include(`${join(ROOT, 'handlers/fail.ts')}:8:9)`)
    })

    it('answers an unknown route with a 404', async () => {
      const response = await fetch(url('/no/such/route'))
      expect(response.status).to.equal(404)
      await response.body?.cancel()
    })

    if (api.params.reportSchedule) {
      it('fires the cron function on its schedule', async function () {
        // serverless-offline fires schedules at the next wall-clock minute.
        this.timeout(90_000)
        const line = await offline.waitForLine(/"message":"nightly report"/, 75_000)
        const record = JSON.parse(line) as Record<string, unknown>
        // serverless-offline's event names no rule; the declared schedule reaches the handler all the same.
        expect(record).to.include({ level: 'info', function: 'polycloud-demo-dev-report', schedule: '* * * * *', name: 'report' })
        expect(Date.parse(record.to as string) - Date.parse(record.from as string)).to.equal(24 * 60 * 60 * 1000)
      })
    }
  })
}
