import { expect } from 'chai'
import { HttpError, binary, html, json, redirect, stream, text } from '@polycloud/core'
import { bufferBody, errorResponse, isFetchResponse, toOutgoing } from '@polycloud/core/adapter'

describe('core/response', () => {
  describe('helpers', () => {
    it('json sets status, content type and serialises', () => {
      expect(json({ a: 1 })).to.deep.equal({ status: 200, headers: { 'content-type': 'application/json' }, body: '{"a":1}' })
      expect(json(undefined).body).to.equal('null')
      const created = toOutgoing(json({ id: 7 }, { status: 201, headers: { location: '/x/7' } }))
      expect(created.status).to.equal(201)
      expect(created.headers).to.deep.equal({ 'content-type': 'application/json', location: '/x/7' })
    })

    it('keeps a content type given by the caller', () => {
      const out = toOutgoing(json({}, { headers: { 'Content-Type': 'application/problem+json' } }))
      expect(out.headers['content-type']).to.equal('application/problem+json')
    })

    it('text, html, binary, stream and redirect', () => {
      expect(toOutgoing(text('hi')).headers['content-type']).to.equal('text/plain; charset=utf-8')
      expect(toOutgoing(html('<p>')).headers['content-type']).to.equal('text/html; charset=utf-8')
      const bytes = new Uint8Array([0, 255])
      expect(toOutgoing(binary(bytes, { contentType: 'image/png' }))).to.deep.include({ body: bytes })
      expect(toOutgoing(binary(bytes)).headers['content-type']).to.equal('application/octet-stream')
      const body = new ReadableStream<Uint8Array>()
      expect(toOutgoing(stream(body, { contentType: 'text/event-stream' })).body).to.equal(body)
      expect(toOutgoing(redirect('/next', 303))).to.deep.equal({
        status: 303,
        headers: { location: '/next' },
        cookies: [],
        body: null,
      })
    })
  })

  describe('toOutgoing', () => {
    it('keeps every Set-Cookie apart and joins other repeated headers', () => {
      const out = toOutgoing({
        headers: { 'Set-Cookie': ['a=1; Path=/', 'b=2; HttpOnly'], Vary: ['Accept', 'Origin'], 'X-N': 3 },
        body: 'ok',
      })
      expect(out.cookies).to.deep.equal(['a=1; Path=/', 'b=2; HttpOnly'])
      expect(out.headers).to.deep.equal({ vary: 'Accept, Origin', 'x-n': '3', 'content-type': 'text/plain; charset=utf-8' })
    })

    it('lets a later Content-Type replace an earlier one (a single-valued field)', () => {
      const out = toOutgoing({ headers: [['content-type', 'text/plain'], ['Content-Type', 'text/csv']], body: 'a,b' })
      expect(out.headers['content-type']).to.equal('text/csv')
      expect(toOutgoing(text('x', { headers: { 'Content-Type': 'text/markdown' } })).headers['content-type']).to.equal('text/markdown')
    })

    it('accepts header pairs', () => {
      const out = toOutgoing({
        headers: [
          ['set-cookie', 'a=1'],
          ['Set-Cookie', 'b=2'],
          ['X-A', '1'],
        ],
      })
      expect(out.cookies).to.deep.equal(['a=1', 'b=2'])
      expect(out.headers['x-a']).to.equal('1')
    })

    it('reads a Fetch Response: status, headers, two Set-Cookie, streamed body', async () => {
      const headers = new Headers({ 'content-type': 'image/png' })
      headers.append('set-cookie', 'a=1')
      headers.append('set-cookie', 'b=2')
      const out = toOutgoing(new Response(new Uint8Array([1, 2, 3]), { status: 202, headers }))
      expect(out.status).to.equal(202)
      expect(out.headers).to.deep.equal({ 'content-type': 'image/png' })
      expect(out.cookies).to.deep.equal(['a=1', 'b=2'])
      await bufferBody(out)
      expect(out.body).to.deep.equal(new Uint8Array([1, 2, 3]))
    })

    it('204 for nothing, object bodies as JSON, ArrayBuffer and views as bytes', () => {
      expect(toOutgoing(undefined)).to.deep.equal({ status: 204, headers: {}, cookies: [], body: null })
      expect(toOutgoing({})).to.include({ status: 204 })
      expect(toOutgoing({ status: 200 })).to.include({ status: 200 })
      const objectBody = toOutgoing({ body: { a: 1 } } as unknown as Parameters<typeof toOutgoing>[0])
      expect(objectBody.body).to.equal('{"a":1}')
      expect(objectBody.headers['content-type']).to.equal('application/json')
      expect(toOutgoing({ body: new Uint8Array([9]).buffer }).body).to.deep.equal(new Uint8Array([9]))
      const view = new DataView(new Uint8Array([1, 2, 3, 4]).buffer, 1, 2)
      expect(toOutgoing({ body: view as unknown as Uint8Array }).body).to.deep.equal(new Uint8Array([2, 3]))
    })

    it('refuses what is not a response, naming the problem', () => {
      expect(() => toOutgoing('text' as unknown as Parameters<typeof toOutgoing>[0])).to.throw(TypeError, /returned string/)
      expect(() => toOutgoing({ status: 99 })).to.throw(TypeError, /status 99/)
      expect(() => toOutgoing({ status: 200.5 })).to.throw(TypeError)
    })

    it('recognises Fetch Responses by tag', () => {
      expect(isFetchResponse(new Response('x'))).to.equal(true)
      expect(isFetchResponse({ status: 200, headers: {}, body: 'x' })).to.equal(false)
    })
  })

  describe('errorResponse', () => {
    it('keeps an HttpError status, message, details and headers', () => {
      const error = new HttpError(401, 'Login first', { headers: { 'WWW-Authenticate': 'Bearer' }, details: { hint: 'x' } })
      const out = errorResponse(error, 'r1')
      expect(out.status).to.equal(401)
      expect(out.headers).to.deep.equal({ 'content-type': 'application/json', 'www-authenticate': 'Bearer' })
      expect(JSON.parse(out.body as string)).to.deep.equal({ error: 'Login first', details: { hint: 'x' } })
    })

    it('gives any other error a generic 500 with the request id and nothing of the error', () => {
      const out = errorResponse(new Error('db password is hunter2'), 'r1')
      expect(out.status).to.equal(500)
      expect(JSON.parse(out.body as string)).to.deep.equal({ error: 'Internal Server Error', requestId: 'r1' })
      expect(out.body).to.not.include('hunter2')
    })

    it('HttpError defaults its message and checks its status', () => {
      expect(new HttpError(404).message).to.equal('Not Found')
      expect(() => new HttpError(200)).to.throw(RangeError)
    })
  })
})
