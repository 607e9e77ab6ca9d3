import { expect } from 'chai'
import { randomBytes } from 'node:crypto'
import { binary, http, json } from '@polycloud/core'
import { apiGatewayV1, lambda, type ApiGatewayV1Result } from '@polycloud/aws'
import { fixture, fixturePaths } from '../../helpers/fixtures.ts'
import { lambdaContext } from './support.ts'

const REST = 'aws/apigw-rest/lgo__apigw-request.json'

describe('aws/api-gateway-v1', () => {
  it('recognises REST API proxy events; refuses ALB, WebSocket and authorizer events', () => {
    for (const path of fixturePaths('aws')) {
      expect(apiGatewayV1.canHandle(fixture(path)), path).to.equal(path.startsWith('aws/apigw-rest/'))
    }
  })

  it('reads repeated headers and query keys from the multi-value maps', async () => {
    const event = fixture<Record<string, unknown>>(REST)
    event.multiValueHeaders = { Accept: ['a', 'b'], 'X-One': ['1'] }
    event.multiValueQueryStringParameters = { tag: ['x', 'y'], q: ['a b'] }
    const handler = lambda(
      http((request) =>
        json({ accept: request.headers.get('accept'), tags: request.query.getAll('tag'), q: request.query.get('q'), url: request.url }),
      ),
    )
    const result = (await handler(event, lambdaContext())) as ApiGatewayV1Result
    expect(JSON.parse(result.body)).to.deep.equal({
      accept: 'a, b',
      tags: ['x', 'y'],
      q: 'a b',
      url: 'https://gy415nuibc.execute-api.us-east-1.amazonaws.com/hello/world?tag=x&tag=y&q=a+b',
    })
  })

  it('returns several Set-Cookie values as multiValueHeaders', async () => {
    const handler = lambda(http(() => ({ headers: { 'Set-Cookie': ['a=1', 'b=2'], 'X-A': 'x' }, body: 'ok' })))
    const result = (await handler(fixture(REST), lambdaContext())) as ApiGatewayV1Result
    expect(result).to.deep.equal({
      statusCode: 200,
      headers: { 'x-a': 'x', 'content-type': 'text/plain; charset=utf-8' },
      multiValueHeaders: { 'set-cookie': ['a=1', 'b=2'] },
      body: 'ok',
      isBase64Encoded: false,
    })
  })

  it('round-trips a binary body', async () => {
    const bytes = randomBytes(1000)
    const event = { ...fixture<Record<string, unknown>>(REST), body: bytes.toString('base64'), isBase64Encoded: true }
    const handler = lambda(http(async (request) => binary(await request.bytes())))
    const result = (await handler(event, lambdaContext())) as ApiGatewayV1Result
    expect(result.isBase64Encoded).to.equal(true)
    expect(Buffer.from(result.body, 'base64').equals(bytes)).to.equal(true)
  })

  it('gives path parameters', async () => {
    const handler = lambda(http((request) => json(request.params)))
    expect(JSON.parse(((await handler(fixture(REST), lambdaContext())) as ApiGatewayV1Result).body)).to.deep.equal({ proxy: 'hello/world' })
  })
})
