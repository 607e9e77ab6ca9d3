import { expect } from 'chai'
import { Hono } from 'hono'
import { changes, cloudEvent, fetchApp, http, isPortableHandler, queue, schedule, storage, topic } from '@polycloud/core'
import { runHttp } from '@polycloud/core/adapter'
import { TestRequest, testContext } from './support.ts'

describe('core/handlers', () => {
  it('tags each handler with its kind', () => {
    const noop = () => {}
    expect(http(() => null).kind).to.equal('http')
    expect(schedule(noop).kind).to.equal('schedule')
    expect(queue(noop).kind).to.equal('queue')
    expect(topic(noop).kind).to.equal('topic')
    expect(storage(noop).kind).to.equal('storage')
    expect(changes(noop).kind).to.equal('changes')
    expect(cloudEvent(noop).kind).to.equal('cloudEvent')
  })

  it('recognises portable handlers', () => {
    expect(isPortableHandler(http(() => null))).to.equal(true)
    expect(isPortableHandler(() => null)).to.equal(false)
    expect(isPortableHandler({ kind: 'bogus', handle() {} })).to.equal(false)
    expect(isPortableHandler(null)).to.equal(false)
  })

  it('serves a Hono app through fetchApp, with the request, env and waitUntil', async () => {
    const app = new Hono<{ Bindings: { GREETING?: string } }>()
    app.post('/items/:id', async (c) => {
      const body = await c.req.json<{ n: number }>()
      c.executionCtx.waitUntil(Promise.resolve())
      c.header('Set-Cookie', 'a=1', { append: true })
      c.header('Set-Cookie', 'b=2', { append: true })
      return c.json({ id: c.req.param('id'), n: body.n, q: c.req.query('q'), greeting: c.env.GREETING })
    })
    const { context } = testContext({ GREETING: 'hi' })
    const request = new TestRequest({
      method: 'POST',
      url: 'https://api.example/items/42?q=x',
      headers: { 'content-type': 'application/json' },
      body: '{"n":3}',
    })
    const out = await runHttp(fetchApp(app), request, context)
    expect(out.status).to.equal(200)
    expect(out.cookies).to.deep.equal(['a=1', 'b=2'])
    expect(new TextDecoder().decode(out.body as Uint8Array)).to.equal('{"id":"42","n":3,"q":"x","greeting":"hi"}')
  })
})
