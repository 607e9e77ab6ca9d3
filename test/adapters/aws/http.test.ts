/**
 * The response direction, checked against AWS's own published responses (test/fixtures/events/aws/http-response):
 * a handler returning the same status, headers, cookies and bytes must produce a response the service delivers
 * identically to the client.
 */
import { expect } from 'chai'
import { http, type PlainResponse } from '@polycloud/core'
import { lambda } from '@polycloud/aws'
import { arnName, checkMethod, encodeBody } from '@polycloud/aws/http'
import { fixture } from '../../helpers/fixtures.ts'
import { lambdaContext } from './support.ts'

interface ClientView {
  status: number
  headers: Record<string, string[]>
  body: string
}

/** What a client receives for a Lambda HTTP response, as the service merges and decodes it. */
function clientView(result: Record<string, unknown>): ClientView {
  const headers: Record<string, string[]> = {}
  const add = (name: string, value: string) => (headers[name.toLowerCase()] ??= []).push(value)
  const multi = (result.multiValueHeaders ?? {}) as Record<string, string[]>
  const multiNames = new Set(Object.keys(multi).map((name) => name.toLowerCase()))
  for (const [name, values] of Object.entries(multi)) for (const value of values) add(name, value)
  for (const [name, value] of Object.entries((result.headers ?? {}) as Record<string, string>)) {
    // API Gateway and ALB use multiValueHeaders where both name a header.
    if (!multiNames.has(name.toLowerCase())) add(name, value)
  }
  for (const cookie of (result.cookies ?? []) as string[]) add('set-cookie', cookie)
  const body = result.isBase64Encoded ? Buffer.from(result.body as string, 'base64').toString('utf8') : (result.body as string)
  return { status: result.statusCode as number, headers, body }
}

async function respond(event: string, response: PlainResponse): Promise<Record<string, unknown>> {
  return (await lambda(http(() => response))(fixture(event), lambdaContext())) as Record<string, unknown>
}

describe('aws/http responses', () => {
  it('matches the published ALB multi-value response', async () => {
    const published = fixture<Record<string, unknown>>('aws/http-response/lgo__alb-lambda-target-response.json')
    const ours = await respond('aws/alb/lgo__alb-lambda-target-request-multivalue-headers.json', {
      status: 200,
      headers: {
        'Content-Type': 'application/json',
        'Set-Cookie': ['cookie-name=cookie-value;Domain=myweb.com;Secure;HttpOnly', 'cookie-name=cookie-value;Expires=May 8, 2019'],
      },
      body: 'Hello from Lambda',
    })
    expect(clientView(ours)).to.deep.equal(clientView(published))
    expect(ours.statusDescription).to.equal(published.statusDescription)
  })

  it('matches the published REST API response', async () => {
    const published = fixture<Record<string, unknown>>('aws/http-response/lgo__apigw-response.json')
    const ours = await respond('aws/apigw-rest/lgo__apigw-request.json', {
      status: 200,
      headers: published.multiValueHeaders as Record<string, string[]>,
      body: 'Hello World',
    })
    const expected = clientView(published)
    // The published sample has no content type; ours adds the one a string body implies.
    expect(clientView(ours)).to.deep.equal({
      ...expected,
      headers: { ...expected.headers, 'content-type': ['text/plain; charset=utf-8'] },
    })
  })

  it('matches the published Function URL response with its cookies', async () => {
    const published = fixture<Record<string, unknown>>('aws/http-response/lgo__lambda-urls-response.json')
    const ours = await respond('aws/function-url/ptts__base.json', {
      status: 201,
      headers: {
        'Content-Type': 'application/json',
        'My-Custom-Header': 'Custom Value',
        'Set-Cookie': published.cookies as string[],
      },
      body: '{ "message": "Hello, world!" }',
    })
    expect(clientView(ours)).to.deep.equal(clientView(published))
    expect(ours.cookies).to.deep.equal(published.cookies)
  })

  it('delivers the same bytes as the published base64 response (sent as text, since it is JSON)', async () => {
    const published = fixture<Record<string, unknown>>('aws/http-response/ptts__advanced_binary_res_json64.json')
    const bytes = Buffer.from(published.body as string, 'base64')
    const ours = await respond('aws/apigw-rest/lgo__apigw-request.json', {
      status: 200,
      headers: { 'Content-Type': 'application/json' },
      body: new Uint8Array(bytes),
    })
    expect(ours.isBase64Encoded).to.equal(false)
    expect(clientView(ours)).to.deep.equal(clientView(published))
  })

  it('helpers: body encoding, methods, ARN names', () => {
    expect(encodeBody({ status: 200, headers: {}, cookies: [], body: null })).to.deep.equal({ body: '', isBase64Encoded: false })
    expect(encodeBody({ status: 200, headers: {}, cookies: [], body: new Uint8Array([104, 105]) })).to.deep.equal({
      body: 'aGk=',
      isBase64Encoded: true,
    })
    expect(checkMethod('PATCH', 'x')).to.equal('PATCH')
    expect(() => checkMethod(undefined, 'httpMethod')).to.throw(/Invalid HTTP method in httpMethod: undefined/)
    expect(arnName('arn:aws:sqs:eu-west-1:123:orders.fifo')).to.equal('orders.fifo')
    expect(arnName('arn:aws:dynamodb:r:a:table/T/stream/x')).to.equal('x')
  })
})

describe('aws/http: a JSON scalar body reaches request.json() as that value, on every HTTP format', () => {
  const formats: Array<[string, string]> = [
    ['API Gateway HTTP API (2.0)', 'aws/apigw-http/lgo__apigw-v2-request-no-authorizer.json'],
    ['API Gateway REST API (1.0)', 'aws/apigw-rest/lgo__apigw-request.json'],
    ['ALB', 'aws/alb/lgo__alb-lambda-target-request-headers-only.json'],
    ['function URL', 'aws/function-url/lgo__lambda-urls-request.json'],
  ]
  for (const [name, path] of formats) {
    it(name, async () => {
      const handler = lambda(http(async (request) => ({ status: 200, body: JSON.stringify({ value: await request.json(), type: typeof (await request.json()) }) })))
      for (const [body, value] of [['null', null], ['42', 42], ['"x"', 'x'], ['true', true], ['false', false], ['0', 0]] as const) {
        for (const isBase64Encoded of [false, true]) {
          const event = { ...fixture<Record<string, unknown>>(path), body: isBase64Encoded ? Buffer.from(body).toString('base64') : body, isBase64Encoded }
          const result = (await handler(event, lambdaContext())) as Record<string, unknown>
          expect(result.statusCode, `${body}${isBase64Encoded ? ' (base64)' : ''}`).to.equal(200)
          const text = result.isBase64Encoded ? Buffer.from(result.body as string, 'base64').toString('utf8') : (result.body as string)
          expect(JSON.parse(text), `${body}${isBase64Encoded ? ' (base64)' : ''}`).to.deep.equal({ value, type: value === null ? 'object' : typeof value })
        }
      }
    })
  }
})
