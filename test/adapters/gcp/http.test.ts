import { Readable } from 'node:stream'
import { expect } from 'chai'
import { HttpError } from '@polycloud/core'
import { toOutgoing } from '@polycloud/core/adapter'
import { FrameworkHttpRequest, frameworkResult, gcpHttp, type FrameworkRequest } from '@polycloud/gcp'
import { fixture } from '../../helpers/fixtures.ts'
import { rejection, thrown } from './support.ts'

function request(overrides: Partial<FrameworkRequest> = {}): FrameworkRequest {
  return {
    method: 'POST',
    originalUrl: '/api/items?tag=a&tag=b&q=hello+world',
    url: '/items?tag=a&tag=b&q=hello+world',
    headers: { host: 'fn-abc-ew.a.run.app', 'x-forwarded-proto': 'https', 'content-type': 'application/json', cookie: 'sid=1; theme=dark' },
    body: { parsed: true },
    rawBody: Buffer.from('{"raw": true}'),
    ip: '203.0.113.9',
    ...overrides,
  }
}

describe('gcp/http', () => {
  it('accepts Express-shaped requests only', () => {
    expect(gcpHttp.canHandle(request())).to.equal(true)
    expect(gcpHttp.canHandle({ method: 'GET', url: '/', headers: {} })).to.equal(true)
    expect(gcpHttp.canHandle(fixture('gcp/pubsub/gce__MessagePublishedData.json'))).to.equal(false)
    expect(gcpHttp.canHandle(fixture('gcp/pubsub/gce__MessagePublishedData-text.json'))).to.equal(false)
    expect(gcpHttp.canHandle({ method: 'GET', headers: {} })).to.equal(false)
  })

  it('rebuilds the URL from X-Forwarded-Proto, Host and originalUrl, and parses the raw query', () => {
    const req = gcpHttp.getRequest(request())
    expect(req.method).to.equal('POST')
    expect(req.url).to.equal('https://fn-abc-ew.a.run.app/api/items?tag=a&tag=b&q=hello+world')
    expect(req.path).to.equal('/api/items')
    expect(req.query.getAll('tag')).to.deep.equal(['a', 'b'])
    expect(req.query.get('q')).to.equal('hello world')
    expect(req.cookies.get('theme')).to.equal('dark')
    expect(req.headers.get('Content-Type')).to.equal('application/json')
    // Express's req.ip (the first X-Forwarded-For entry) is the client's to choose: never used.
    expect(req.ip).to.equal(undefined)
  })

  it('takes the client address Google\'s front end appended (the last X-Forwarded-For entry), else the socket peer', () => {
    const forwarded = { host: 'h', 'x-forwarded-for': '6.6.6.6, 203.0.113.9' }
    expect(gcpHttp.getRequest(request({ headers: forwarded })).ip).to.equal('203.0.113.9')
    expect(gcpHttp.getRequest(request({ headers: { host: 'h', 'x-forwarded-for': '203.0.113.9' } })).ip).to.equal('203.0.113.9')
    expect(gcpHttp.getRequest(request({ headers: { host: 'h' }, socket: { remoteAddress: '::1' } })).ip).to.equal('::1')
    expect(gcpHttp.getRequest(request({ headers: { host: 'h' } })).ip).to.equal(undefined)
  })

  it('takes the first X-Forwarded-Proto of a list, the socket without one, and localhost without a Host', () => {
    expect(gcpHttp.getRequest(request({ headers: { host: 'h', 'x-forwarded-proto': 'https, http' } })).url).to.match(/^https:\/\/h\//)
    expect(gcpHttp.getRequest(request({ headers: { host: 'h' }, socket: { encrypted: true } })).url).to.match(/^https:\/\/h\//)
    expect(gcpHttp.getRequest(request({ headers: {} })).url).to.equal('http://localhost/api/items?tag=a&tag=b&q=hello+world')
    expect(gcpHttp.getRequest(request({ originalUrl: undefined, url: 'x', headers: { host: 'h' } })).url).to.equal('http://h/x')
    expect(gcpHttp.getRequest(request({ originalUrl: 'http://proxy.example/p?x=1' })).url).to.equal('http://proxy.example/p?x=1')
    expect(gcpHttp.getRequest(request({ ip: undefined, socket: { remoteAddress: '::1' } })).ip).to.equal('::1')
  })

  it('reads the body from rawBody, the bytes as received, not the parsed body', async () => {
    expect(await gcpHttp.getRequest(request()).json()).to.deep.equal({ raw: true })
    const bytes = Buffer.from([0, 1, 254, 255])
    expect([...(await gcpHttp.getRequest(request({ rawBody: bytes, body: bytes })).bytes())]).to.deep.equal([0, 1, 254, 255])
  })

  it('falls back to a parsed body without rawBody: strings and Buffers as they are, JSON re-serialised', async () => {
    expect(await gcpHttp.getRequest(request({ rawBody: undefined, body: 'plain' })).text()).to.equal('plain')
    expect(await gcpHttp.getRequest(request({ rawBody: undefined, body: { a: [1] } })).text()).to.equal('{"a":[1]}')
    const form = gcpHttp.getRequest(request({ rawBody: undefined, body: { a: '1' }, headers: { 'content-type': 'application/x-www-form-urlencoded' } }))
    expect((await rejection(form.text())).message).to.match(/^gcp:http: the application\/x-www-form-urlencoded body was parsed by a body parser that kept no raw bytes/)
  })

  it('has no body for a GET without one, and reads an unparsed request stream', async () => {
    const get = gcpHttp.getRequest(request({ method: 'GET', rawBody: undefined, body: undefined, headers: { host: 'h' } }))
    expect(get.body).to.equal(null)
    expect(await get.text()).to.equal('')
    const stream = Object.assign(Readable.from([Buffer.from('chunk-1,'), Buffer.from('chunk-2')]), {
      method: 'PUT',
      url: '/upload',
      headers: { host: 'h', 'transfer-encoding': 'chunked' },
    }) as unknown as FrameworkRequest
    expect(await gcpHttp.getRequest(stream).text()).to.equal('chunk-1,chunk-2')
  })

  it('drops Content-Encoding and Content-Length once the parser inflated the body', () => {
    const req = gcpHttp.getRequest(request({ headers: { host: 'h', 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': '31' } }))
    expect(req.headers.has('content-encoding')).to.equal(false)
    expect(req.headers.has('content-length')).to.equal(false)
    expect(req.headers.get('content-type')).to.equal('application/json')
    const identity = gcpHttp.getRequest(request({ headers: { 'content-encoding': 'identity', 'content-length': '13' } }))
    expect(identity.headers.get('content-length')).to.equal('13')
  })

  it('refuses an invalid method with a 400', () => {
    const error = thrown(() => new FrameworkHttpRequest(request({ method: 'GET /x' })))
    expect(error).to.be.instanceOf(HttpError)
    expect((error as HttpError).status).to.equal(400)
  })

  it('gives the response as data with Set-Cookie values kept apart', () => {
    const out = toOutgoing({ status: 201, headers: { 'set-cookie': ['a=1', 'b=2'], 'x-a': 'b' }, body: 'ok' })
    expect(gcpHttp.getResponse(out, request())).to.deep.equal({
      status: 201,
      headers: { 'x-a': 'b', 'content-type': 'text/plain; charset=utf-8', 'set-cookie': ['a=1', 'b=2'] },
      body: 'ok',
    })
    expect(() => frameworkResult({ status: 200, headers: {}, cookies: [], body: new ReadableStream() })).to.throw(TypeError, /must be buffered/)
  })
})
