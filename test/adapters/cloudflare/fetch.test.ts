import { expect } from 'chai'
import { HttpError, http } from '@polycloud/core'
import type { OutgoingResponse } from '@polycloud/core/adapter'
import { WorkersRequest, isFetchRequest, toResponse, worker, workersFetch } from '@polycloud/cloudflare'
import { fakeExecutionContext } from './helpers.ts'
import { fixture, fixturePaths } from '../../helpers/fixtures.ts'

function post(body: BodyInit, headers: Record<string, string> = {}, url = 'https://api.example.com/items'): Request {
  return new Request(url, { method: 'POST', body, headers })
}

function outgoing(init: Partial<OutgoingResponse>): OutgoingResponse {
  return { status: 200, headers: {}, cookies: [], body: null, ...init }
}

describe('cloudflare:fetch', () => {
  describe('canHandle', () => {
    it('accepts a Fetch Request', () => {
      expect(workersFetch.canHandle(new Request('https://example.com/'))).to.equal(true)
      expect(isFetchRequest(new Request('https://example.com/'))).to.equal(true)
    })

    it('rejects request-shaped objects and every JSON fixture of the other clouds', () => {
      expect(workersFetch.canHandle({ url: 'https://example.com/', method: 'GET', headers: {} })).to.equal(false)
      expect(workersFetch.canHandle(new Response('x'))).to.equal(false)
      expect(workersFetch.canHandle(null)).to.equal(false)
      const paths = fixturePaths()
      expect(paths.length).to.be.greaterThan(50)
      for (const path of paths) expect(workersFetch.canHandle(fixture(path)), path).to.equal(false)
    })
  })

  describe('request', () => {
    it('reads method, URL, path, query, headers, cookies and the client IP from the Request', async () => {
      const request = new Request('https://api.example.com/a%20b/c?tag=x&tag=y&q=hello+world&e=%E2%82%AC&flag', {
        method: 'PATCH',
        headers: {
          'Content-Type': 'application/json',
          'X-Custom': 'one',
          Cookie: 'session=abc%20def; theme="dark"',
          'CF-Connecting-IP': '203.0.113.7',
        },
        body: '{"a":1}',
      })
      const req = workersFetch.getRequest(request)
      expect(req.method).to.equal('PATCH')
      expect(req.url).to.equal('https://api.example.com/a%20b/c?tag=x&tag=y&q=hello+world&e=%E2%82%AC&flag')
      expect(req.path).to.equal('/a%20b/c')
      expect(req.query.getAll('tag')).to.deep.equal(['x', 'y'])
      expect(req.query.get('q')).to.equal('hello world')
      expect(req.query.get('e')).to.equal('€')
      expect(req.query.get('flag')).to.equal('')
      expect(req.headers.get('x-custom')).to.equal('one')
      expect(req.headers.get('Content-Type')).to.equal('application/json')
      expect(req.cookies.get('session')).to.equal('abc def')
      expect(req.cookies.get('theme')).to.equal('dark')
      expect(req.ip).to.equal('203.0.113.7')
      expect(req.params).to.deep.equal({})
      expect(req.native).to.equal(request)
      expect(await req.json()).to.deep.equal({ a: 1 })
    })

    it('has no query, no IP and no body for a bare GET', async () => {
      const req = workersFetch.getRequest(new Request('https://example.com'))
      expect(req.path).to.equal('/')
      expect(req.query.size).to.equal(0)
      expect(req.ip).to.equal(undefined)
      expect(req.body).to.equal(null)
      expect(await req.text()).to.equal('')
    })

    it('hands over the Request body stream itself, without copying', () => {
      const request = post('data')
      const req = new WorkersRequest(request)
      const stream = request.body
      expect(req.body).to.equal(stream)
      expect(req.bodyUsed).to.equal(true)
    })

    it('reads binary bodies byte for byte', async () => {
      const bytes = crypto.getRandomValues(new Uint8Array(4096))
      const req = workersFetch.getRequest(post(bytes, { 'content-type': 'application/octet-stream' }))
      const read = await req.bytes()
      expect(read).to.deep.equal(bytes)
      expect(new Uint8Array(await req.arrayBuffer())).to.deep.equal(bytes)
      expect((await req.blob()).size).to.equal(4096)
    })

    it('hands a JSON scalar body to request.json() as that value (null, numbers, strings, booleans)', async () => {
      for (const [body, value] of [['null', null], ['42', 42], ['"x"', 'x'], ['true', true], ['false', false], ['0', 0]] as const) {
        const request = workersFetch.getRequest(post(body, { 'content-type': 'application/json' }))
        expect(await request.json(), body).to.deep.equal(value)
      }
    })

    it('refuses malformed or empty JSON with a 400 HttpError', async () => {
      const bad = workersFetch.getRequest(post('{"a":', { 'content-type': 'application/json' }))
      const error = await bad.json().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).to.be.instanceOf(HttpError)
      expect((error as HttpError).status).to.equal(400)
      expect((error as HttpError).message).to.match(/^Invalid JSON in request body/)
      const empty = workersFetch.getRequest(new Request('https://example.com/', { method: 'POST' }))
      const emptyError = await empty.json().catch((e: unknown) => e)
      expect((emptyError as HttpError).status).to.equal(400)
      expect((emptyError as HttpError).message).to.equal('Request body is empty; expected JSON')
    })
  })

  describe('toRequest', () => {
    it('returns the original Request while the body is unread', () => {
      const request = post('payload')
      const req = workersFetch.getRequest(request)
      void req.headers.get('host')
      expect(req.toRequest()).to.equal(request)
    })

    it('returns the original GET Request even after the (empty) body was read', async () => {
      const request = new Request('https://example.com/x')
      const req = workersFetch.getRequest(request)
      await req.text()
      expect(req.toRequest()).to.equal(request)
    })

    it('after text() returns a copy carrying the bytes read', async () => {
      const request = post('{"n":42}', { 'content-type': 'application/json', 'x-a': '1' })
      const req = workersFetch.getRequest(request)
      expect(await req.text()).to.equal('{"n":42}')
      const copy = req.toRequest()
      expect(copy).to.not.equal(request)
      expect(copy.method).to.equal('POST')
      expect(copy.url).to.equal('https://api.example.com/items')
      expect(copy.headers.get('x-a')).to.equal('1')
      expect(await copy.json()).to.deep.equal({ n: 42 })
      expect(req.toRequest()).to.equal(copy)
    })

    it('throws a TypeError when the body was consumed as a stream', async () => {
      const req = workersFetch.getRequest(post('abc'))
      const reader = (req.body as ReadableStream<Uint8Array>).getReader()
      while (!(await reader.read()).done);
      reader.releaseLock()
      expect(() => req.toRequest()).to.throw(TypeError, /consumed as a stream/)
    })

    it('parses form bodies through the Request (formData)', async () => {
      const req = workersFetch.getRequest(
        post('name=Ada+Lovelace&lang=en&lang=fr', { 'content-type': 'application/x-www-form-urlencoded' }),
      )
      const form = await req.formData()
      expect(form.get('name')).to.equal('Ada Lovelace')
      expect(form.getAll('lang')).to.deep.equal(['en', 'fr'])
    })
  })

  describe('response', () => {
    it('builds a Response with status, headers and each Set-Cookie on its own line', async () => {
      const response = workersFetch.getResponse(
        outgoing({
          status: 201,
          headers: { 'content-type': 'application/json', 'x-multi': 'a, b' },
          cookies: ['a=1; Path=/', 'b=2; Path=/; HttpOnly'],
          body: '{"ok":true}',
        }),
        new Request('https://example.com/'),
      )
      expect(response.status).to.equal(201)
      expect(response.headers.get('content-type')).to.equal('application/json')
      expect(response.headers.get('x-multi')).to.equal('a, b')
      expect(response.headers.getSetCookie()).to.deep.equal(['a=1; Path=/', 'b=2; Path=/; HttpOnly'])
      expect(await response.json()).to.deep.equal({ ok: true })
    })

    it('sends bytes as they are', async () => {
      const bytes = crypto.getRandomValues(new Uint8Array(1000))
      const response = toResponse(outgoing({ headers: { 'content-type': 'image/png' }, body: bytes }))
      expect(new Uint8Array(await response.arrayBuffer())).to.deep.equal(bytes)
    })

    it('passes a stream body through unread', async () => {
      const encoder = new TextEncoder()
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(encoder.encode('one,'))
          controller.enqueue(encoder.encode('two'))
          controller.close()
        },
      })
      const response = toResponse(outgoing({ headers: { 'content-type': 'text/event-stream' }, body: stream }))
      expect(response.body).to.equal(stream)
      expect(await response.text()).to.equal('one,two')
    })

    it('drops the body of a 204, 205 or 304 instead of failing (core frames every response alike)', async () => {
      for (const status of [204, 205, 304]) {
        const response = await worker(http(() => ({ status, body: 'ignored' }))).fetch(new Request('https://x/'), {}, fakeExecutionContext())
        expect(response.status).to.equal(status)
        expect(response.body).to.equal(null)
      }
      let cancelled = false
      const stream = new ReadableStream<Uint8Array>({ cancel: () => void (cancelled = true) })
      await worker(http(() => ({ status: 204, body: stream }))).fetch(new Request('https://x/'), {}, fakeExecutionContext())
      await Promise.resolve()
      expect(cancelled).to.equal(true)
    })

    it('sends an empty body as no body', async () => {
      const response = toResponse(outgoing({ status: 200, body: null }))
      expect(response.body).to.equal(null)
      expect(await response.text()).to.equal('')
    })
  })
})
