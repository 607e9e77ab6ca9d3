import { expect } from 'chai'
import { randomBytes } from 'node:crypto'
import { HttpError } from '@polycloud/core'
import { parseCookies, readAll } from '@polycloud/core/adapter'
import { TestRequest } from './support.ts'

describe('core/request', () => {
  describe('body', () => {
    it('reads a text body as text, JSON, bytes and ArrayBuffer, more than once', async () => {
      const request = new TestRequest({ method: 'POST', body: '{"a":1,"ü":"✓"}' })
      expect(request.bodyUsed).to.equal(false)
      expect(await request.text()).to.equal('{"a":1,"ü":"✓"}')
      expect(request.bodyUsed).to.equal(true)
      expect(await request.json()).to.deep.equal({ a: 1, ü: '✓' })
      const bytes = await request.bytes()
      expect(Buffer.from(bytes).toString('utf8')).to.equal('{"a":1,"ü":"✓"}')
      expect(new Uint8Array(await request.arrayBuffer())).to.deep.equal(new Uint8Array(bytes))
    })

    it('decodes a base64 body byte for byte', async () => {
      const raw = randomBytes(1024)
      const request = new TestRequest({ method: 'POST', body: { base64: raw.toString('base64') } })
      expect(Buffer.from(await request.bytes()).equals(raw)).to.equal(true)
    })

    it('refuses a body marked base64 that is not base64, with a 400', async () => {
      const request = new TestRequest({ method: 'POST', body: { base64: '{{{body}}}' } })
      const error = await request.bytes().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).to.be.instanceOf(HttpError)
      expect((error as HttpError).status).to.equal(400)
      expect((error as HttpError).message).to.match(/base64/)
    })

    it('turns malformed or empty JSON into a 400 HttpError that names the problem', async () => {
      const bad = await new TestRequest({ method: 'POST', body: '{"a":' }).json().catch((e: unknown) => e)
      expect(bad).to.be.instanceOf(HttpError)
      expect((bad as HttpError).status).to.equal(400)
      expect((bad as HttpError).message).to.match(/^Invalid JSON in request body/)
      const empty = await new TestRequest({ method: 'POST', body: null }).json().catch((e: unknown) => e)
      expect((empty as HttpError).status).to.equal(400)
      expect((empty as HttpError).message).to.match(/empty/)
    })

    it('reads an absent body as empty', async () => {
      const request = new TestRequest({})
      expect(request.body).to.equal(null)
      expect(await request.text()).to.equal('')
      expect((await request.bytes()).byteLength).to.equal(0)
    })

    it('exposes the body as a stream, and reads a stream body', async () => {
      const request = new TestRequest({ method: 'POST', body: 'abc' })
      const stream = request.body
      expect(stream).to.not.equal(null)
      expect(Buffer.from(await readAll(stream as ReadableStream<Uint8Array>)).toString()).to.equal('abc')
      const streamed = new TestRequest({
        method: 'POST',
        body: new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('he'))
            controller.enqueue(new TextEncoder().encode('llo'))
            controller.close()
          },
        }),
      })
      expect(await streamed.text()).to.equal('hello')
    })

    it('gives a Blob with the content type', async () => {
      const request = new TestRequest({ method: 'POST', headers: { 'content-type': 'image/png' }, body: 'x' })
      const blob = await request.blob()
      expect(blob.type).to.equal('image/png')
      expect(await blob.text()).to.equal('x')
    })
  })

  describe('url, path, query, cookies', () => {
    it('derives the path from the URL, without the query', () => {
      expect(new TestRequest({ url: 'https://h.example/a/b%20c?x=1' }).path).to.equal('/a/b%20c')
      expect(new TestRequest({ url: 'https://h.example' }).path).to.equal('/')
      expect(new TestRequest({ url: 'http://h.example/?' }).path).to.equal('/')
    })

    it('parses cookies: first wins, quotes removed, percent-decoded, pairs without = skipped', () => {
      const cookies = parseCookies('a=1; b="two"; a=3; c=x%20y; cookie1; d=%zz; =novalue')
      expect(Object.fromEntries(cookies)).to.deep.equal({ a: '1', b: 'two', c: 'x y', d: '%zz' })
    })

    it('reads cookies from the Cookie header', () => {
      const request = new TestRequest({ headers: { Cookie: 'session=abc; theme=dark' } })
      expect(request.cookies.get('session')).to.equal('abc')
      expect(request.cookies.get('theme')).to.equal('dark')
    })
  })

  describe('toRequest', () => {
    it('gives a real Fetch Request with method, URL, headers and body', async () => {
      const request = new TestRequest({
        method: 'PUT',
        url: 'https://h.example/p?q=1',
        headers: { 'Content-Type': 'application/json', 'X-A': 'b' },
        body: '{"x":true}',
      })
      const real = request.toRequest()
      expect(real).to.be.instanceOf(Request)
      expect(real.method).to.equal('PUT')
      expect(real.url).to.equal('https://h.example/p?q=1')
      expect(real.headers.get('x-a')).to.equal('b')
      expect(await real.json()).to.deep.equal({ x: true })
      expect(request.toRequest()).to.equal(real)
    })

    it('carries binary bodies byte for byte', async () => {
      const raw = randomBytes(300)
      const real = new TestRequest({ method: 'POST', body: { base64: raw.toString('base64') } }).toRequest()
      expect(Buffer.from(await real.arrayBuffer()).equals(raw)).to.equal(true)
    })

    it('drops the body of a GET (Fetch forbids one) but keeps it readable on the portable request', async () => {
      const request = new TestRequest({ method: 'GET', body: 'payload' })
      const real = request.toRequest()
      expect(real.body).to.equal(null)
      expect(await request.text()).to.equal('payload')
    })

    it('carries a stream body once it was read, and passes an unread one through', async () => {
      const streamOf = (text: string) =>
        new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode(text))
            controller.close()
          },
        })
      const read = new TestRequest({ method: 'POST', body: streamOf('first') })
      expect(await read.text()).to.equal('first')
      expect(await read.toRequest().text()).to.equal('first')
      const unread = new TestRequest({ method: 'POST', body: streamOf('second') })
      expect(await unread.toRequest().text()).to.equal('second')
      expect(unread.bodyUsed).to.equal(true)
    })

    it('answers 400 when the request cannot be a Fetch Request', () => {
      const request = new TestRequest({ url: 'https://<url-id>.lambda-url.us-west-2.on.aws/' })
      expect(() => request.toRequest()).to.throw(HttpError, /cannot be represented/)
    })
  })
})
