import { expect } from 'chai'
import { randomBytes } from 'node:crypto'
import { HttpError, binary, http, json, stream } from '@polycloud/core'
import { apiGatewayV2, lambda, type ApiGatewayV2Result } from '@polycloud/aws'
import type { BaseRequest } from '@polycloud/core/adapter'
import { fixture, fixturePaths } from '../../helpers/fixtures.ts'
import { captureStdout, lambdaContext } from './support.ts'

const V2 = 'aws/apigw-http/lgo__apigw-v2-request-no-authorizer.json'

function event(changes: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...fixture<Record<string, unknown>>(V2), ...changes }
}

describe('aws/api-gateway-v2', () => {
  it('recognises payload 2.0 HTTP API events and nothing else', () => {
    for (const path of fixturePaths('aws')) {
      expect(apiGatewayV2.canHandle(fixture(path)), path).to.equal(path.startsWith('aws/apigw-http/'))
    }
  })

  it('serves JSON in and out', async () => {
    const handler = lambda(
      http(async (request) => {
        const body = await request.json<{ n: number }>()
        return json({ doubled: body.n * 2, q: request.query.get('q') }, { status: 201 })
      }),
    )
    const result = (await handler(
      event({
        body: '{"n":21}',
        rawQueryString: 'q=%C3%BC&x=1',
        requestContext: { ...(fixture<Record<string, Record<string, unknown>>>(V2).requestContext), http: { method: 'POST', path: '/' } },
      }),
      lambdaContext(),
    )) as ApiGatewayV2Result
    expect(result).to.deep.equal({
      statusCode: 201,
      headers: { 'content-type': 'application/json' },
      body: '{"doubled":42,"q":"ü"}',
      isBase64Encoded: false,
    })
  })

  it('reads one header in place as the built headers give it (the trace\'s read), the cookie header from `cookies`', () => {
    const native = event({ headers: { 'X-Amzn-Trace-Id': 'Root=1-a', 'x-amzn-trace-id': 'Root=1-b', traceparent: 'tp' }, cookies: ['a=1', 'b=2'] })
    const read = apiGatewayV2.getRequest(native as never) as BaseRequest
    expect(read.header('x-amzn-trace-id')).to.equal('Root=1-a, Root=1-b')
    expect(read.header('traceparent')).to.equal('tp')
    expect(read.header('cookie')).to.equal('a=1; b=2')
    expect(read.header('tracestate')).to.equal(null)
    const built = apiGatewayV2.getRequest(native as never) as BaseRequest
    for (const name of ['x-amzn-trace-id', 'traceparent', 'cookie', 'tracestate']) expect(built.headers.get(name), name).to.equal(read.header(name))
    // Once the headers are built they answer.
    expect(built.header('traceparent')).to.equal('tp')
  })

  it('returns several Set-Cookie values in `cookies`', async () => {
    const handler = lambda(http(() => ({ headers: { 'set-cookie': ['a=1; Path=/', 'b=2; HttpOnly'] }, body: 'ok' })))
    const result = (await handler(event(), lambdaContext())) as ApiGatewayV2Result
    expect(result.cookies).to.deep.equal(['a=1; Path=/', 'b=2; HttpOnly'])
    expect(result.headers).to.not.have.property('set-cookie')
  })

  it('round-trips a binary body byte for byte', async () => {
    const bytes = randomBytes(4096)
    const handler = lambda(http(async (request) => binary(await request.bytes(), { contentType: 'image/png' })))
    const result = (await handler(event({ body: bytes.toString('base64'), isBase64Encoded: true }), lambdaContext())) as ApiGatewayV2Result
    expect(result.isBase64Encoded).to.equal(true)
    expect(Buffer.from(result.body, 'base64').equals(bytes)).to.equal(true)
  })

  it('sends textual bytes as text and invalid UTF-8 as base64 even with a text type', async () => {
    const text = lambda(http(() => binary(new TextEncoder().encode('héllo'), { contentType: 'text/plain' })))
    expect(await text(event(), lambdaContext())).to.deep.include({ body: 'héllo', isBase64Encoded: false })
    const broken = lambda(http(() => binary(new Uint8Array([0xc3, 0x28]), { contentType: 'text/plain' })))
    expect(await broken(event(), lambdaContext())).to.deep.include({ body: 'wyg=', isBase64Encoded: true })
  })

  it('buffers a streamed body (API Gateway cannot stream)', async () => {
    const handler = lambda(
      http(() =>
        stream(
          new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(new TextEncoder().encode('chunk1,'))
              controller.enqueue(new TextEncoder().encode('chunk2'))
              controller.close()
            },
          }),
          { contentType: 'text/plain' },
        ),
      ),
    )
    expect(await handler(event(), lambdaContext())).to.deep.include({ body: 'chunk1,chunk2', isBase64Encoded: false })
  })

  it('answers a throw with a generic 500 and logs the stack to stdout', async () => {
    const handler = lambda(
      http(() => {
        throw new Error('connection string postgres://secret')
      }),
    )
    const { result, lines } = await captureStdout(() => handler(event(), lambdaContext()) as Promise<ApiGatewayV2Result>)
    expect(result.statusCode).to.equal(500)
    expect(JSON.parse(result.body)).to.deep.equal({ error: 'Internal Server Error', requestId: JSON.parse(result.body).requestId })
    expect(result.body).to.not.include('secret')
    expect(lines).to.have.length(1)
    expect(lines[0]).to.include({ level: 'error', message: 'handler failed', function: 'test-function' })
    expect(JSON.stringify(lines[0])).to.include('postgres://secret')
  })

  it('keeps an HttpError status and message', async () => {
    const handler = lambda(
      http(() => {
        throw new HttpError(404, 'No such note')
      }),
    )
    expect(await handler(event(), lambdaContext())).to.deep.include({ statusCode: 404, body: '{"error":"No such note"}' })
  })

  it('answers a method that is not an HTTP token with a 400', async () => {
    const bad = event()
    ;(bad.requestContext as Record<string, unknown>).http = { method: 'GE T' }
    const handler = lambda(http(() => json({})))
    const result = (await handler(bad, lambdaContext())) as ApiGatewayV2Result
    expect(result.statusCode).to.equal(400)
    expect(JSON.parse(result.body).error).to.equal('Invalid HTTP method in requestContext.http.method: "GE T"')
  })

  it('gives the context request id, function name and remaining time', async () => {
    const context = lambdaContext(1500)
    const handler = lambda(http((_request, ctx) => json({ id: ctx.requestId, fn: ctx.functionName, left: ctx.remainingTime(), provider: ctx.provider })))
    const result = (await handler(event(), context)) as ApiGatewayV2Result
    const body = JSON.parse(result.body)
    expect(body).to.include({ id: context.awsRequestId, fn: 'test-function', provider: 'aws' })
    expect(body.left).to.be.within(1400, 1500)
  })

  it('gives a real Fetch Request on demand', async () => {
    const handler = lambda(
      http(async (request) => {
        const real = request.toRequest()
        return json({ url: real.url, method: real.method, ua: real.headers.get('user-agent') })
      }),
    )
    const result = (await handler(event(), lambdaContext())) as ApiGatewayV2Result
    expect(JSON.parse(result.body)).to.deep.equal({
      url: 'https://aaaaaaaaaa.execute-api.us-west-2.amazonaws.com/',
      method: 'GET',
      ua: 'curl/7.58.0',
    })
  })
})
