/** One HTTP function for many routes (what a service's `route` events become on Google Cloud), through the real Functions Framework. */
import { expect } from 'chai'
import { http, json } from '@polycloud/core'
import { createRoutedHttpFunction, gcp, gcpHttp } from '@polycloud/gcp'
import { captureOutput, serve, type TestServer } from './support.ts'

describe('gcp/routes', () => {
  let server: TestServer
  let output: ReturnType<typeof captureOutput>

  const echo = (route: string) =>
    http((request, context) => json({ route, params: request.params, path: request.path, functionName: context.functionName, query: request.query.get('q') }))

  before(async () => {
    gcp.routes('pcRoutes', [
      { method: 'GET', path: '/notes/{id}', name: 'svc-dev-get-note', handler: echo('get') },
      { method: 'GET', path: '/notes/today', name: 'svc-dev-today', handler: echo('today') },
      { method: 'POST', path: '/notes', name: 'svc-dev-create', handler: echo('create') },
      { method: 'ANY', path: '/files/{path+}', name: 'svc-dev-files', handler: echo('files') },
      { method: 'GET', path: '/', name: 'svc-dev-root', handler: echo('root') },
    ])
    server = await serve('pcRoutes')
  })

  beforeEach(() => (output = captureOutput()))
  afterEach(() => output.restore())
  after(() => server.close())

  it('answers each route under one URL at its declared path, with its parameters percent-decoded and its own function name', async () => {
    const get = await fetch(`${server.url}/notes/Z%C3%BCrich?q=1`)
    expect(get.status).to.equal(200)
    expect(await get.json()).to.deep.equal({ route: 'get', params: { id: 'Zürich' }, path: '/notes/Z%C3%BCrich', functionName: 'svc-dev-get-note', query: '1' })
    expect(await (await fetch(`${server.url}/notes/today`)).json()).to.include({ route: 'today', functionName: 'svc-dev-today' })
    expect(await (await fetch(`${server.url}/notes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json()).to.include({ route: 'create' })
    expect(await (await fetch(`${server.url}/files/a/b%20c.txt`, { method: 'DELETE' })).json()).to.deep.include({ route: 'files', params: { path: 'a/b c.txt' } })
    expect(await (await fetch(`${server.url}/`)).json()).to.include({ route: 'root' })
  })

  it('answers an unknown path 404 and a known path with another method 405 with Allow, as JSON', async () => {
    const missing = await fetch(`${server.url}/nothing/here`)
    expect(missing.status).to.equal(404)
    expect(await missing.json()).to.deep.equal({ error: 'No route for GET /nothing/here' })
    const wrong = await fetch(`${server.url}/notes`, { method: 'PUT' })
    expect(wrong.status).to.equal(405)
    expect(wrong.headers.get('allow')).to.equal('POST')
    expect(await wrong.json()).to.deep.equal({ error: 'Method PUT is not allowed on /notes' })
  })

  it('routes HEAD to a GET route: its status and headers, no body, the handler told HEAD', async () => {
    const get = await fetch(`${server.url}/notes/7?q=x`)
    const head = await fetch(`${server.url}/notes/7?q=x`, { method: 'HEAD' })
    expect(head.status).to.equal(200)
    expect(head.headers.get('content-type')).to.equal(get.headers.get('content-type'))
    expect(await head.text()).to.equal('')
    expect(await get.json()).to.include({ route: 'get' })
    // A path with no GET route: its ANY route; with neither, 405 naming HEAD beside GET where GET is allowed.
    expect((await fetch(`${server.url}/files/a`, { method: 'HEAD' })).status).to.equal(200)
    const post = await fetch(`${server.url}/notes`, { method: 'HEAD' })
    expect([post.status, post.headers.get('allow')]).to.deep.equal([405, 'POST'])
  })

  it('refuses a route whose handler is not an HTTP handler, naming it', () => {
    const handler = { kind: 'queue', handle: () => undefined, options: {} } as unknown as Parameters<typeof createRoutedHttpFunction>[0][number]['handler']
    expect(() => createRoutedHttpFunction([{ method: 'GET', path: '/q', name: 'svc-dev-q', handler }], [gcpHttp])).to.throw(
      TypeError,
      'gcp: route GET /q (svc-dev-q) has a queue handler, not an HTTP one',
    )
  })
})
