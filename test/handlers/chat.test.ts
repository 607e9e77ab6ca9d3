// The chatbot webhook (handlers/chat.ts) with @polycloud/testing's in-memory store: signed and unsigned requests,
// replays, a delivery sent twice, the rate limit, the state's TTL, bad input (flows.ts runs the flow, concurrent
// messages included, on the local stores too).
import { expect } from 'chai'
import { store, useResources } from '@polycloud/resources'
import { memoryResources, request, type MemoryResources, type TestResponse } from '@polycloud/testing'
import chat, { signature, type Conversation } from '../../handlers/chat.ts'
import { CHAT_ENV as ENV, SECRET, nowSeconds as now, postChat as post } from './support.ts'

describe('handlers/chat: the signed chat webhook', () => {
  let resources: MemoryResources

  beforeEach(() => {
    resources = memoryResources({ declared: { sessions: 'store' } })
    useResources(resources)
  })

  afterEach(() => useResources(undefined))

  const state = (conversation: string): Conversation | undefined => resources.entries('sessions').get(`conversation:${conversation}`)?.value as Conversation | undefined

  it('answers a signed message and keeps the conversation (turns, times) in the store with a TTL of a day', async () => {
    const first = await post('c1', { text: 'hello', user: 'ada' })
    expect(first.status).to.equal(200)
    expect(first.json()).to.deep.equal({ reply: 'Hello! Say "help" to see what I can do.', turns: 1, conversation: 'c1' })
    const second = await post('c1', { text: 'count' })
    expect(second.json()).to.deep.include({ reply: 'This conversation has 2 messages.', turns: 2 })
    const entry = resources.entries('sessions').get('conversation:c1')
    expect(entry?.value).to.deep.include({ turns: 2 })
    expect((entry?.expires ?? 0) - now()).to.be.within(86_390, 86_401)
    expect(state('c1')?.recent).to.have.length(2)
  })

  it('replies by rules: help, time, anything else repeated', async () => {
    expect((await post('c2', { text: 'help' })).json<{ reply: string }>().reply).to.match(/^Try "hello"/)
    expect((await post('c2', { text: 'time' })).json<{ reply: string }>().reply).to.match(/^It is \d{4}-\d\d-\d\dT.*\(UTC\)\.$/)
    expect((await post('c2', { text: '  what now?  ' })).json<{ reply: string }>().reply).to.equal('You said: what now?')
  })

  it('refuses unsigned, wrongly signed and tampered requests with 401 and the reason, storing nothing', async () => {
    const cases: Array<[Promise<TestResponse>, RegExp]> = [
      [request(chat, { method: 'POST', url: '/chat/c3', params: { conversation: 'c3' }, body: '{"text":"hi"}' }, { env: ENV }), /x-chat-timestamp and x-chat-signature headers are required/],
      [post('c3', { text: 'hi' }, { secret: 'another secret' }), /signature does not match/],
      [post('c3', { text: 'hi' }, { headers: { 'x-chat-signature': 'v0=abc' } }), /not v0=<64 hex digits>/],
      [post('c3', { text: 'hi' }, { headers: { 'x-chat-timestamp': 'yesterday' } }), /not a Unix time/],
    ]
    for (const [call, reason] of cases) {
      const response = await call
      expect(response.status).to.equal(401)
      expect(response.json<{ error: string }>().error).to.equal('Unauthorized')
      expect(response.json<{ details: { reason: string } }>().details.reason).to.match(reason)
    }
    // A body changed after signing.
    const timestamp = String(now())
    const signed = await signature(SECRET, timestamp, '{"text":"hi"}')
    const tampered = await request(chat, { method: 'POST', url: '/chat/c3', params: { conversation: 'c3' }, headers: { 'x-chat-timestamp': timestamp, 'x-chat-signature': signed }, body: '{"text":"ho"}' }, { env: ENV })
    expect(tampered.status).to.equal(401)
    expect(state('c3')).to.equal(undefined)
  })

  it('refuses replays older than five minutes and requests from a clock far ahead; takes a little skew', async () => {
    const old = await post('c4', { text: 'hi' }, { timestamp: now() - 301 })
    expect(old.status).to.equal(401)
    expect(old.json<{ details: { reason: string } }>().details.reason).to.match(/signed 30\d seconds ago, more than 300: replays are refused/)
    const ahead = await post('c4', { text: 'hi' }, { timestamp: now() + 120 })
    expect(ahead.status).to.equal(401)
    expect(ahead.json<{ details: { reason: string } }>().details.reason).to.match(/in the future/)
    expect((await post('c4', { text: 'hi' }, { timestamp: now() - 290 })).status).to.equal(200)
    expect((await post('c4', { text: 'hi again' }, { timestamp: now() + 5 })).status).to.equal(200)
  })

  it('answers a delivery sent again (the same signature) without counting it twice', async () => {
    const timestamp = now()
    const first = await post('c5', { text: 'hello' }, { timestamp })
    const again = await post('c5', { text: 'hello' }, { timestamp })
    expect(first.json()).to.deep.include({ turns: 1 })
    expect(again.status).to.equal(200)
    expect(again.json()).to.deep.equal({ reply: null, duplicate: true, turns: 1, conversation: 'c5' })
    expect(state('c5')?.turns).to.equal(1)
  })

  it('recognises a delivery sent again for as long as its signature is accepted, forgetting older ones', async () => {
    const env = { ...ENV, CHAT_RATE_LIMIT: '100' }
    const early = now() - 290
    expect((await post('c12', { text: 'first' }, { timestamp: early, env })).json()).to.deep.include({ turns: 1 })
    for (let i = 0; i < 25; i++) await post('c12', { text: `busy ${i}` }, { env })
    expect((await post('c12', { text: 'first' }, { timestamp: early, env })).json()).to.deep.include({ duplicate: true, turns: 26 })
    expect(state('c12')?.recent).to.have.length(26)
    // A delivery signed before the replay window is refused anyway: the next write forgets it.
    const current = state('c12') as Conversation
    await store<Conversation>('sessions').put('conversation:c12', { ...current, recent: [{ delivery: 'old', signed: now() - 301 }, ...current.recent] })
    await post('c12', { text: 'later' }, { env })
    const deliveries = state('c12')?.recent.map((seen) => seen.delivery)
    expect(deliveries).to.not.include('old')
    expect(deliveries).to.have.length(27)
  })

  it('limits a conversation to CHAT_RATE_LIMIT messages a minute (429 with Retry-After), others unaffected', async () => {
    const env = { ...ENV, CHAT_RATE_LIMIT: '3' }
    for (let i = 0; i < 3; i++) expect((await post('c7', { text: `m${i}` }, { env })).status).to.equal(200)
    const limited = await post('c7', { text: 'one too many' }, { env })
    expect(limited.status).to.equal(429)
    expect(Number(limited.headers['retry-after'])).to.be.within(1, 60)
    expect(state('c7')?.turns).to.equal(3)
    expect((await post('c8', { text: 'elsewhere' }, { env })).status).to.equal(200)
  })

  it('keeps a conversation CHAT_TTL_SECONDS after its last message', async () => {
    await post('c9', { text: 'hi' }, { env: { ...ENV, CHAT_TTL_SECONDS: '60' } })
    expect((resources.entries('sessions').get('conversation:c9')?.expires ?? 0) - now()).to.be.within(59, 61)
  })

  it('answers 400 for a bad conversation id or body (after the signature is checked)', async () => {
    expect((await post('no%20way', { text: 'hi' })).status).to.equal(400)
    expect((await post('c10', 'not json')).json()).to.deep.equal({ error: 'the body must be JSON: { "text": "..." }' })
    expect((await post('c10', { text: '   ' })).status).to.equal(400)
    expect((await post('c10', { words: 'hi' })).json()).to.deep.equal({ error: 'text must be a string of 1-4000 characters, not only spaces (it is missing)' })
    expect((await post('c10', [1])).json()).to.deep.equal({ error: 'the body must be a JSON object { "text": "..." }, got an array' })
    expect((await post('c10', 'null')).json()).to.deep.equal({ error: 'the body must be a JSON object { "text": "..." }, got null' })
    expect((await post('c10', { text: 'hi', user: 7 })).json()).to.deep.equal({ error: 'user, when given, must be a string, got 7' })
    expect((await post('c10', { text: 'x'.repeat(4001) })).status).to.equal(400)
    expect(state('c10')).to.equal(undefined)
  })

  it('fails closed, without the secret in the answer, when CHAT_SIGNING_SECRET is not set', async () => {
    const response = await post('c11', { text: 'hi' }, { env: {} })
    expect(response.status).to.equal(500)
    expect(response.text()).to.not.include('CHAT_SIGNING_SECRET')
    expect(response.logs.some((line) => JSON.stringify(line).includes('CHAT_SIGNING_SECRET is not set'))).to.equal(true)
  })
})
