import { expect } from 'chai'
import { RouteError, parseRoute } from 'serverless-polycloud/route'

describe('serverless/route', () => {
  it('parses "METHOD /path" and { method, path }', () => {
    expect(parseRoute('GET /notes/{id}')).to.deep.equal({ method: 'GET', path: '/notes/{id}' })
    expect(parseRoute('post /notes')).to.deep.equal({ method: 'POST', path: '/notes' })
    expect(parseRoute('* /{proxy+}')).to.deep.equal({ method: 'ANY', path: '/{proxy+}' })
    expect(parseRoute({ method: 'delete', path: '/' })).to.deep.equal({ method: 'DELETE', path: '/' })
  })

  const invalid: Array<[string | { method: string; path: string }, RegExp]> = [
    ['/notes', /^"\/notes" has no method: write the method before the path, e\.g\. "GET \/notes"/],
    ['GET', /^"GET" is not "<METHOD> \/path"/],
    ['FETCH /notes', /method "FETCH" is not one of GET, POST/],
    ['GET notes', /must start with "\/"/],
    ['GET /notes/{id', /segment "\{id" is not a literal or a \{parameter\}/],
    ['GET /a/{id}/b/{id}', /parameter \{id\} appears twice/],
    ['GET /files/{path+}/meta', /greedy parameter \{path\+\} must be the last segment/],
    ['GET /a//b', /segment "" is not a literal/],
    [{ method: 'GET', path: 'x' }, /must start with "\/"/],
  ]
  for (const [route, message] of invalid) {
    it(`refuses ${JSON.stringify(route)}`, () => {
      expect(() => parseRoute(route)).to.throw(RouteError, message)
    })
  }
})
