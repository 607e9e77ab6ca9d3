import { expect } from 'chai'
import { HttpError, http, json, queue, storage } from '@polycloud/core'
import { queueMessage, request, send, storageEvent } from '@polycloud/testing'

describe('testing/harness', () => {
  const notes = http(async (req, ctx) => {
    if (req.method === 'POST') {
      const note = await req.json<{ text?: string }>()
      if (!note.text) throw new HttpError(422, 'text is required')
      ctx.log.info('created', { text: note.text })
      return json({ id: req.params.id, text: note.text, tag: req.query.get('tag') }, { status: 201 })
    }
    throw new Error('boom')
  })

  it('runs a portable HTTP handler with a JSON body, params and query', async () => {
    const res = await request(notes, { method: 'post', url: '/notes/7?tag=a', params: { id: '7' }, body: { text: 'hi' } })
    expect(res.status).to.equal(201)
    expect(res.json()).to.deep.equal({ id: '7', text: 'hi', tag: 'a' })
    expect(res.logs.map((line) => [line.level, line.message, line.text])).to.deep.equal([['info', 'created', 'hi']])
  })

  it('shows errors as the client would see them', async () => {
    expect((await request(notes, { method: 'POST', body: {} })).status).to.equal(422)
    expect((await request(notes, { method: 'POST', body: 'not json', headers: { 'content-type': 'application/json' } })).status).to.equal(400)
    const crash = await request(notes)
    expect(crash.status).to.equal(500)
    expect(crash.text()).to.not.include('boom')
    expect(crash.logs[0]?.message).to.equal('handler failed')
  })

  it('sends events to event handlers and reports the failed ids', async () => {
    const worker = queue((message) => {
      if (message.json<{ ok: boolean }>().ok === false) throw new Error('no')
    })
    const ok = queueMessage({ body: { ok: true }, id: 'a' })
    const bad = queueMessage({ body: { ok: false }, id: 'b' })
    expect((await send(worker, [ok, bad])).failed).to.deep.equal(['b'])
    const keys: string[] = []
    await send(storage((event) => void keys.push(event.key)), storageEvent({ key: 'images/cat.png', size: 10 }))
    expect(keys).to.deep.equal(['images/cat.png'])
  })
})
