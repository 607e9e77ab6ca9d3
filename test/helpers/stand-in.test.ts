import { expect } from 'chai'
import { request } from 'node:https'
import { startStandIn } from './stand-in.ts'

describe('helpers/stand-in', () => {
  it('serves HTTPS on 127.0.0.1 with a certificate a client can trust, and records each request', async () => {
    const standIn = await startStandIn((req) => ({ status: req.method === 'PUT' ? 201 : 404, body: { path: req.path } }), { https: true })
    try {
      const answer = await new Promise<{ status: number | undefined; body: string }>((resolve, reject) => {
        const req = request(`${standIn.url}/a/b?x=1`, { method: 'PUT', ca: standIn.ca }, (res) => {
          let body = ''
          res.on('data', (chunk: Buffer) => (body += chunk))
          res.on('end', () => resolve({ status: res.statusCode, body }))
        })
        req.on('error', reject)
        req.end('payload')
      })
      expect(answer).to.deep.equal({ status: 201, body: '{"path":"/a/b"}' })
      expect(standIn.requests.map((r) => [r.method, r.path, r.query.get('x'), r.body.toString()])).to.deep.equal([['PUT', '/a/b', '1', 'payload']])
    } finally {
      await standIn.stop()
    }
  })
})
