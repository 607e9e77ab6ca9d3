import { expect } from 'chai'
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import type { Cookie, HttpResponseInit } from '@azure/functions'
import { HttpError, binary, http, json, stream, text } from '@polycloud/core'
import { AzureHttpRequest, azureHttp, createAzureHandler, parseSetCookie, toHttpResponseInit } from '@polycloud/azure'
import { HttpResponse, azureFixtures, azureInput, httpRequest, invocation, readText } from './support.ts'

const HTTP = { type: 'httpTrigger', route: 'items/{id}' }

/** The `cookie` package the library serialises cookies with on its streaming path. */
const cookieLib = createRequire(createRequire(import.meta.url).resolve('@azure/functions'))('cookie') as {
  serialize(name: string, value: string, options: Record<string, unknown>): string
}

function serialise(cookie: Cookie): string {
  // What @azure/functions' httpProxy.setCookies does with each Cookie.
  const sameSite = cookie.sameSite === undefined ? undefined : cookie.sameSite.toLowerCase()
  return cookieLib.serialize(cookie.name, cookie.value, {
    domain: cookie.domain,
    path: cookie.path,
    expires: typeof cookie.expires === 'number' ? new Date(cookie.expires) : cookie.expires,
    secure: cookie.secure,
    httpOnly: cookie.httpOnly,
    sameSite,
    maxAge: cookie.maxAge,
  })
}

function post(body: string | Uint8Array, headers: Record<string, string> = {}, url = 'https://app.azurewebsites.net/api/items/42?x=1'): ReturnType<typeof httpRequest> {
  return httpRequest({
    method: 'POST',
    url,
    headers,
    params: { id: '42' },
    body: typeof body === 'string' ? { string: body } : { bytes: body },
  })
}

async function call(handler: ReturnType<typeof http>, request: ReturnType<typeof httpRequest>, options: { stream?: boolean } = {}) {
  const run = invocation(HTTP)
  const result = (await createAzureHandler(handler, [azureHttp], options)(request, run.context)) as HttpResponseInit
  return { result, run }
}

describe('azure/http', () => {
  it('recognises an HttpRequest with an HTTP trigger (or none stated) and nothing else', () => {
    const request = post('x')
    expect(azureHttp.canHandle(azureInput(request, HTTP))).to.equal(true)
    expect(azureHttp.canHandle(azureInput(request))).to.equal(true)
    expect(azureHttp.canHandle(azureInput(request, { type: 'queueTrigger' }))).to.equal(false)
    expect(azureHttp.canHandle(azureInput({ method: 'POST', url: 'https://x/' }, HTTP))).to.equal(false)
    expect(azureHttp.canHandle(request)).to.equal(false)
    for (const [path, input] of azureFixtures()) expect(azureHttp.canHandle(input), path).to.equal(false)
  })

  it('exposes method, URL, path, repeated query keys, params, headers, cookies and client IP', async () => {
    const request = httpRequest({
      method: 'PATCH',
      url: 'https://app.azurewebsites.net/api/items/42?tag=a&tag=b&q=%C3%BC+x',
      headers: { 'Content-Type': 'application/json', cookie: 'sid=abc; theme="dark"', 'x-forwarded-for': '203.0.113.7:50123, 10.0.0.1' },
      params: { id: '42' },
      body: { string: '{"a":1}' },
    })
    const portable = azureHttp.getRequest(azureInput(request, HTTP))
    expect(portable).to.be.instanceOf(AzureHttpRequest)
    expect(portable.method).to.equal('PATCH')
    expect(portable.url).to.equal('https://app.azurewebsites.net/api/items/42?tag=a&tag=b&q=%C3%BC+x')
    expect(portable.path).to.equal('/api/items/42')
    expect(portable.query.getAll('tag')).to.deep.equal(['a', 'b'])
    expect(portable.query.get('q')).to.equal('ü x')
    expect(portable.params).to.deep.equal({ id: '42' })
    expect(portable.headers.get('content-type')).to.equal('application/json')
    expect(portable.cookies.get('sid')).to.equal('abc')
    expect(portable.cookies.get('theme')).to.equal('dark')
    // The last X-Forwarded-For entry is the one Azure's front end appended; earlier ones are the client's to choose.
    expect(portable.ip).to.equal('10.0.0.1')
    expect(portable.native).to.equal(request)
    expect(await portable.json()).to.deep.equal({ a: 1 })
  })

  it('reads client addresses without ports, IPv6 included, and none when no header says', () => {
    const ip = (value: string | undefined) =>
      azureHttp.getRequest(
        azureInput(httpRequest({ method: 'GET', url: 'https://h/', headers: value === undefined ? {} : { 'x-forwarded-for': value } }), HTTP),
      ).ip
    expect(ip('[2001:db8::1]:443')).to.equal('2001:db8::1')
    expect(ip('2001:db8::1')).to.equal('2001:db8::1')
    expect(ip('198.51.100.2')).to.equal('198.51.100.2')
    expect(ip('6.6.6.6, 198.51.100.2:50123')).to.equal('198.51.100.2')
    expect(ip(undefined)).to.equal(undefined)
  })

  it('falls back to request.query when the URL has no query string (requests built in tests)', () => {
    const request = httpRequest({ method: 'GET', url: 'https://h/api/x', query: { a: '1' } })
    expect([...azureHttp.getRequest(azureInput(request, HTTP)).query]).to.deep.equal([['a', '1']])
  })

  it('serves JSON in and out as an HttpResponseInit', async () => {
    const handler = http(async (request, context) => {
      const body = await request.json<{ n: number }>()
      return json({ doubled: body.n * 2, id: request.params.id, requestId: context.requestId }, { status: 201 })
    })
    const { result, run } = await call(handler, post('{"n":21}', { 'content-type': 'application/json' }))
    expect(result).to.deep.equal({
      status: 201,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ doubled: 42, id: '42', requestId: run.context.invocationId }),
    })
  })

  it('sends two Set-Cookie headers as two Cookie objects, none left in the headers', async () => {
    const handler = http(() =>
      text('ok', {
        headers: {
          'set-cookie': ['session=abc123; Path=/; HttpOnly; Secure; SameSite=Strict', 'theme=dark; Max-Age=3600; Domain=example.com'],
          'x-other': '1',
        },
      }),
    )
    const { result } = await call(handler, post('x'))
    expect(result.headers).to.deep.equal({ 'content-type': 'text/plain; charset=utf-8', 'x-other': '1' })
    expect(result.cookies).to.deep.equal([
      { name: 'session', value: 'abc123', path: '/', httpOnly: true, secure: true, sameSite: 'Strict' },
      { name: 'theme', value: 'dark', maxAge: 3600, domain: 'example.com' },
    ])
    // The library keeps them apart (a Set-Cookie header would keep only the last one) ...
    const response = new HttpResponse(result)
    expect(response.cookies).to.have.length(2)
    expect(response.headers.get('set-cookie')).to.equal(null)
    // ... and its serialiser writes each as its own header line, as sent.
    expect((result.cookies ?? []).map(serialise)).to.deep.equal([
      'session=abc123; Path=/; HttpOnly; Secure; SameSite=Strict',
      'theme=dark; Max-Age=3600; Domain=example.com',
    ])
  })

  it('parses Set-Cookie attributes, quoted and percent-encoded values', () => {
    expect(parseSetCookie('a="quoted value"')).to.deep.equal({ name: 'a', value: 'quoted value' })
    expect(parseSetCookie('b=two%20words%3B%20ok; path=/x; samesite=none')).to.deep.equal({ name: 'b', value: 'two words; ok', path: '/x', sameSite: 'None' })
    expect(parseSetCookie('c=%zz')).to.deep.equal({ name: 'c', value: '%zz' })
    expect(parseSetCookie('d=; Max-Age=0')).to.deep.equal({ name: 'd', value: '', maxAge: 0 })
    expect(parseSetCookie('e=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT; Partitioned; Priority=High; Max-Age=soon')).to.deep.equal({
      name: 'e',
      value: '1',
      expires: new Date('2015-10-21T07:28:00.000Z'),
    })
    expect(serialise(parseSetCookie('b=two%20words%3B%20ok') as Cookie)).to.equal('b=two%20words%3B%20ok')
    expect(parseSetCookie('no-pair')).to.equal('no name=value pair')
    expect(parseSetCookie('bad name=1')).to.equal('invalid cookie name "bad name"')
    expect(parseSetCookie('f=1; Domain=exa mple.com')).to.equal('invalid Domain "exa mple.com"')
    expect(parseSetCookie('g=1; Path=/a;b')).to.deep.equal({ name: 'g', value: '1', path: '/a' })
  })

  it('drops a Set-Cookie value the host cannot send and logs a warning on the invocation', () => {
    const run = invocation(HTTP)
    const init = toHttpResponseInit({ status: 200, headers: {}, cookies: ['ok=1', 'bad name=2'], body: null }, { input: post('x'), context: run.context })
    expect(init.cookies).to.deep.equal([{ name: 'ok', value: '1' }])
    expect(init).to.not.have.property('body')
    expect(run.logs).to.deep.equal([{ level: 'warning', args: ['azure:http: dropped a Set-Cookie header the host cannot send: invalid cookie name "bad name"'] }])
  })

  it('round-trips random binary bytes byte for byte', async () => {
    const bytes = randomBytes(65536)
    const handler = http(async (request) => binary(await request.bytes(), { contentType: 'image/png' }))
    const { result } = await call(handler, post(bytes, { 'content-type': 'application/octet-stream' }))
    expect(result.headers).to.deep.equal({ 'content-type': 'image/png' })
    expect(Buffer.from(result.body as Uint8Array).equals(bytes)).to.equal(true)
    // What the library sends to the host: the response's bytes.
    expect(Buffer.from(await new HttpResponse(result).arrayBuffer()).equals(bytes)).to.equal(true)
  })

  it('hands a JSON scalar body to request.json() as that value (null, numbers, strings, booleans)', async () => {
    const handler = http(async (request) => json({ value: await request.json() }))
    for (const [body, value] of [['null', null], ['42', 42], ['"x"', 'x'], ['true', true], ['false', false], ['0', 0]] as const) {
      for (const sent of [body, new TextEncoder().encode(body)]) {
        const { result } = await call(handler, post(sent, { 'content-type': 'application/json' }))
        expect(result.status, body).to.equal(200)
        expect(JSON.parse(result.body as string), body).to.deep.equal({ value })
      }
    }
  })

  it('answers an invalid JSON body with 400 and a message, no stack', async () => {
    const handler = http(async (request) => json(await request.json()))
    const { result, run } = await call(handler, post('{"n":', { 'content-type': 'application/json' }))
    expect(result.status).to.equal(400)
    const body = JSON.parse(result.body as string) as { error: string }
    expect(body.error).to.match(/^Invalid JSON in request body: /)
    expect(result.body as string).to.not.match(/\bat \S+ \(|\.ts:\d+|\.js:\d+/)
    expect(run.lines()).to.deep.equal([])
  })

  it('answers a throw with a generic 500 and logs the error on the invocation', async () => {
    const handler = http(() => {
      throw new Error('database password is hunter2')
    })
    const { result, run } = await call(handler, post('x'))
    expect(result).to.deep.equal({
      status: 500,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ error: 'Internal Server Error', requestId: run.context.invocationId }),
    })
    const [line, ...rest] = run.lines()
    expect(rest).to.deep.equal([])
    expect(line).to.deep.include({ level: 'error', message: 'handler failed', azureLevel: 'error', requestId: run.context.invocationId, function: 'testFunction' })
    expect((line?.error as { message: string }).message).to.equal('database password is hunter2')
  })

  it('keeps an HttpError status and message', async () => {
    const { result } = await call(
      http(() => {
        throw new HttpError(404, 'no such item')
      }),
      post('x'),
    )
    expect(result).to.deep.include({ status: 404, body: '{"error":"no such item"}' })
  })

  it('buffers a stream body without streaming and passes it through with streaming', async () => {
    const chunks = ['a', 'b', 'c']
    const body = () =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk))
          controller.close()
        },
      })
    const buffered = await call(http(() => stream(body(), { contentType: 'text/plain' })), post('x'))
    expect(buffered.result.body).to.be.instanceOf(Uint8Array)
    expect(Buffer.from(buffered.result.body as Uint8Array).toString()).to.equal('abc')

    const source = body()
    const streamed = await call(http(() => stream(source, { contentType: 'text/plain' })), post('x'), { stream: true })
    expect(streamed.result.body).to.equal(source)
    expect(await readText(streamed.result.body as ReadableStream<Uint8Array>)).to.equal('abc')
  })

  it('gives GET requests no body and a Fetch Request on demand', async () => {
    const request = httpRequest({ method: 'GET', url: 'https://h/api/x?a=1', headers: { accept: 'text/plain' } })
    const portable = azureHttp.getRequest(azureInput(request, HTTP))
    expect(portable.body).to.equal(null)
    expect(await portable.text()).to.equal('')
    const fetchRequest = portable.toRequest()
    expect(fetchRequest.method).to.equal('GET')
    expect(fetchRequest.url).to.equal('https://h/api/x?a=1')
    expect(fetchRequest.headers.get('accept')).to.equal('text/plain')

    const withBody = azureHttp.getRequest(azureInput(post('payload', { 'content-type': 'text/plain' }), HTTP)).toRequest()
    expect(await withBody.text()).to.equal('payload')
  })

  it('answers 204 with no body when the handler returns nothing', async () => {
    const { result } = await call(http(() => undefined), post('x'))
    expect(result).to.deep.equal({ status: 204, headers: {} })
  })

  it('fails an invocation that is not an HTTP request with an error naming provider, trigger and keys', async () => {
    const run = invocation({ type: 'queueTrigger' }, { triggerMetadata: { dequeueCount: 1, popReceipt: 'p' } })
    const handler = createAzureHandler(http(() => text('x')), [azureHttp])
    let error: Error | undefined
    await handler({ orderId: 7, lines: [] }, run.context).catch((caught: Error) => (error = caught))
    expect(error?.name).to.equal('EventError')
    expect(error?.message).to.equal(
      'azure: no adapter for http handlers recognises this input (tried: azure:http); it is an object with keys: orderId, lines; trigger type: queueTrigger; trigger metadata: an object with keys: dequeueCount, popReceipt',
    )
  })
})
