import { expect } from 'chai'
import { http, json } from '@polycloud/core'
import { functionUrl, lambda, type ApiGatewayV2Result } from '@polycloud/aws'
import { fixture, fixturePaths } from '../../helpers/fixtures.ts'
import { lambdaContext } from './support.ts'

describe('aws/function-url', () => {
  it('recognises Function URL events (payload 2.0 on a lambda-url domain) only', () => {
    for (const path of fixturePaths('aws')) {
      expect(functionUrl.canHandle(fixture(path)), path).to.equal(path.startsWith('aws/function-url/'))
    }
  })

  it('serves a request and returns cookies the 2.0 way', async () => {
    const handler = lambda(
      http(async (request) => ({
        headers: { 'set-cookie': ['s=1', 't=2'], 'content-type': 'application/json' },
        body: JSON.stringify({ cookies: Object.fromEntries(request.cookies), body: await request.json() }),
      })),
    )
    const result = (await handler(
      fixture('aws/function-url/lgo__function-url-request-with-headers-and-cookies-and-text-body.json'),
      lambdaContext(),
    )) as ApiGatewayV2Result
    expect(result.cookies).to.deep.equal(['s=1', 't=2'])
    expect(JSON.parse(result.body)).to.deep.equal({ cookies: { foo: 'bar', hello: 'hello' }, body: { hello: 'world' } })
  })

  it('passes a placeholder host through, and refuses to make a Fetch Request of it with a 400', async () => {
    const handler = lambda(http((request) => json({ url: request.toRequest().url })))
    const result = (await handler(fixture('aws/function-url/lgo__lambda-urls-request.json'), lambdaContext())) as ApiGatewayV2Result
    expect(result.statusCode).to.equal(400)
    expect(JSON.parse(result.body).error).to.match(/^Request cannot be represented as a Fetch Request/)
  })
})
