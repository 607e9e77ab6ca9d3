/**
 * Hostile HTTP input and output give one result on every provider (issue 10, sections 1 to 3): the same request
 * sent to the same handler on AWS, Azure, Google Cloud and Workers, through each one's runtime entry point.
 * Before these fixes (measured on the same requests): a CR/LF response header passed into the Lambda result and the
 * Azure result unchanged; a 204 kept its body on AWS and Azure; a wrong Content-Length reached every client and made
 * the Functions Framework's client wait until it timed out; `/a/../b` stayed as is on AWS and GCP; GCP took
 * `request.ip` from the client's X-Forwarded-For and `context.requestId` from its `function-execution-id` header;
 * Azure took `request.ip` from the first X-Forwarded-For entry.
 */
import { expect } from 'chai'
import { fetchApp, http, json, text } from '@polycloud/core'
import { PROVIDERS, serveEverywhere, type ProviderName, type Served } from './providers.ts'

describe('hostile HTTP: one result on every provider', function () {
  this.timeout(20_000)
  let served: Record<ProviderName, Served>

  before(async () => {
    served = await serveEverywhere(
      http(async (request, context) => {
        switch (request.query.get('mode')) {
          case 'crlf':
            return { status: 200, headers: { 'x-note': 'a\r\nset-cookie: stolen=1' }, body: 'ok' }
          case 'nul':
            return { status: 200, headers: { 'x-note': 'a\u0000b' }, body: 'ok' }
          case 'lf-name':
            return { status: 200, headers: [['x-bad\nname', 'v']], body: 'ok' }
          case '204':
            return { status: 204, headers: { 'content-type': 'text/plain' }, body: 'not sent' }
          case '304':
            return { status: 304, body: 'not sent' }
          case 'length':
            return { status: 200, headers: { 'content-length': '100', 'content-type': 'text/plain' }, body: 'short' }
          case 'unread':
            return text('ran')
          case 'read':
            return text(await request.text())
          default:
            return json({
              path: request.path,
              ip: request.ip,
              requestId: context.requestId,
              proto: request.headers.get('__proto__'),
              query: request.query.get('__proto__'),
              cookie: request.cookies.get('__proto__') ?? null,
            })
        }
      }),
    )
  })

  after(async () => {
    await Promise.all(PROVIDERS.map((provider) => served[provider].close()))
  })

  for (const mode of ['crlf', 'nul', 'lf-name']) {
    it(`refuses a response header holding ${mode === 'nul' ? 'NUL' : 'CR or LF'} alike: the logged 500 with the usual body`, async () => {
      for (const provider of PROVIDERS) {
        const answer = await served[provider].send({ target: `/p?mode=${mode}` })
        expect(answer.status, provider).to.equal(500)
        const body = JSON.parse(answer.body) as { error: string; requestId: string }
        expect(body.error, provider).to.equal('Internal Server Error')
        expect(Object.keys(answer.headers).some((name) => name.includes('stolen') || name.startsWith('x-note') || name.startsWith('x-bad')), provider).to.equal(false)
        expect(JSON.stringify(answer.headers), provider).not.to.include('stolen')
        const logged = answer.logs.find((line) => line.message === 'handler failed')
        expect(logged, `${provider}: the refusal is logged`).to.not.equal(undefined)
        expect((logged?.error as { message: string }).message, provider).to.match(/handler returned (an invalid response header name|response header "x-note" with a value HTTP cannot carry)/)
        expect(logged?.requestId, provider).to.equal(body.requestId)
      }
    })
  }

  it('sends no body with a 204 or a 304, on every provider', async () => {
    for (const provider of PROVIDERS) {
      for (const status of [204, 304]) {
        const answer = await served[provider].send({ target: `/p?mode=${status}` })
        expect(answer.status, `${provider} ${status}`).to.equal(status)
        expect(answer.body, `${provider} ${status}`).to.equal('')
        expect(answer.headers['content-length'] ?? '0', `${provider} ${status}`).to.equal('0')
      }
    }
  })

  it('never sends a Content-Length that disagrees with the body (the handler\'s own is dropped)', async () => {
    for (const provider of PROVIDERS) {
      const answer = await served[provider].send({ target: '/p?mode=length' })
      expect(answer.status, provider).to.equal(200)
      expect(answer.body, provider).to.equal('short')
      expect(answer.headers['content-length'] ?? '5', provider).to.equal('5')
    }
  })

  it('gives one request.path for one URL: dot segments resolved as the WHATWG URL parser does', async () => {
    const cases: Array<[string, string]> = [
      ['/a/../b', '/b'],
      ['/a/%2e%2e/b', '/b'],
      ['/a/./b/', '/a/b/'],
      ['/a/b%20c', '/a/b%20c'],
      ['/notes/%E2%9C%93', '/notes/%E2%9C%93'],
      ['//double//slash', '//double//slash'],
    ]
    for (const [sent, path] of cases) {
      for (const provider of PROVIDERS) {
        const answer = await served[provider].send({ target: sent })
        expect((JSON.parse(answer.body) as { path: string }).path, `${provider} ${sent}`).to.equal(path)
      }
    }
  })

  it('takes request.ip from the provider\'s front end, never from a client-chosen X-Forwarded-For entry', async () => {
    const spoofed = { 'x-forwarded-for': '6.6.6.6' }
    const ip = async (provider: ProviderName, headers: Record<string, string>): Promise<unknown> =>
      (JSON.parse((await served[provider].send({ target: '/p', headers })).body) as { ip?: string }).ip
    // API Gateway: the address it saw, in the request context.
    expect(await ip('aws', spoofed)).to.equal('198.51.100.7')
    // Azure's and Google's front ends append the address they saw: the last entry.
    expect(await ip('azure', { 'x-forwarded-for': '6.6.6.6, 203.0.113.5:50123' })).to.equal('203.0.113.5')
    expect(await ip('gcp', { 'x-forwarded-for': '6.6.6.6, 203.0.113.5' })).to.equal('203.0.113.5')
    // Cloudflare's edge sets CF-Connecting-IP (a client's own X-Forwarded-For is ignored).
    expect(await ip('cloudflare', { ...spoofed, 'cf-connecting-ip': '203.0.113.5' })).to.equal('203.0.113.5')
    expect(await ip('cloudflare', spoofed)).to.equal(undefined)
  })

  it('takes context.requestId from the platform, never from a client header', async () => {
    const headers = { 'function-execution-id': 'client-chosen', 'x-request-id': 'client-chosen', 'x-amzn-requestid': 'client-chosen' }
    const ids: Record<string, string> = {}
    for (const provider of PROVIDERS) {
      ids[provider] = (JSON.parse((await served[provider].send({ target: '/p', headers })).body) as { requestId: string }).requestId
    }
    expect(ids.aws).to.equal('aws-request-1')
    expect(ids.azure).to.equal('azure-invocation-1')
    expect(ids.gcp).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(ids.cloudflare).to.match(/^[0-9a-f]{8}-/)
  })

  it('keeps a header, query key or cookie named __proto__ as what it is, on every provider', async () => {
    for (const provider of PROVIDERS) {
      const answer = await served[provider].send({ target: '/p?__proto__=q', headers: { cookie: '__proto__=c' } })
      const body = JSON.parse(answer.body) as { query: string; cookie: string }
      expect([body.query, body.cookie], provider).to.deep.equal(['q', 'c'])
    }
    expect(Object.getOwnPropertyNames(Object.prototype)).to.not.include('q')
  })

  it('runs a handler that never reads an undecodable body; reading it answers 400 (AWS base64 flag)', async () => {
    const unread = await served.aws.send({ method: 'POST', target: '/p?mode=unread', body: '!!not base64!!', base64: true })
    expect([unread.status, unread.body]).to.deep.equal([200, 'ran'])
    const read = await served.aws.send({ method: 'POST', target: '/p?mode=read', body: '!!not base64!!', base64: true })
    expect(read.status).to.equal(400)
    expect(JSON.parse(read.body)).to.deep.equal({ error: 'Request body is marked base64-encoded but is not valid base64' })
  })

  it('runs a Fetch app that never reads an undecodable body (the Request is built without decoding it)', async () => {
    const { serve } = await import('./providers.ts')
    const app = await serve('aws', fetchApp({ fetch: () => new Response('app ran') }))
    const answer = await app.send({ method: 'POST', target: '/p', body: '!!not base64!!', base64: true })
    expect([answer.status, answer.body]).to.deep.equal([200, 'app ran'])
  })
})
