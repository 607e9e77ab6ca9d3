/**
 * The chatbot and IoT flows end to end through their handlers, on one store backend: the same calls must give the
 * same answers and the same stored state on the in-memory store and on each provider's local store (flows.test.ts).
 * Concurrent calls run as separate invocations at once (as separate function instances would), so each of them reads
 * and conditionally writes the same entry: none may be lost.
 */
import { expect } from 'chai'
import { store, useResources } from '@polycloud/resources'
import { request, send, type MemoryResources, type SentMessage } from '@polycloud/testing'
import type { Conversation } from '../../handlers/chat.ts'
import devices from '../../handlers/devices.ts'
import type { DeviceState } from '../../handlers/reading.ts'
import readings from '../../handlers/readings.ts'
import telemetry from '../../handlers/telemetry.ts'
import { CHAT_ENV, flowMemory, memoryBackend, nowSeconds, postChat, reading, type FlowBackend } from './support.ts'

let runs = 0

export function flowBehaviour(setup: () => Promise<FlowBackend>, name: string): void {
  describe(`the chatbot and IoT flows on ${name}`, function () {
    this.timeout(120_000)
    let backend: FlowBackend
    let memory: MemoryResources
    // Ids of their own per run: a store kept between runs cannot leak into this one.
    const run = `${Date.now().toString(36)}${runs++}`
    const id = (what: string): string => `${what}-${run}`

    before(async function () {
      this.timeout(120_000)
      backend = await setup()
    })

    after(() => backend?.stop())

    beforeEach(() => {
      memory = flowMemory()
      useResources(backend.driver(memory))
    })

    afterEach(() => useResources(undefined))

    const conversation = (key: string) => store<Conversation>('sessions').getEntry(`conversation:${key}`)
    const device = (key: string) => store<DeviceState>('devices').get(`device:${key}`)
    const ingest = (body: unknown) => request(telemetry, { method: 'POST', url: '/telemetry', body })
    const work = (messages: SentMessage | SentMessage[], env: Record<string, string> = {}) => send(readings, messages, { env })
    const deviceOf = (key: string) => request(devices, { url: `/devices/${key}`, params: { id: key } })

    describe('chat', () => {
      it('keeps a conversation between webhook calls, living CHAT_TTL_SECONDS after its last message', async () => {
        const c = id('talk')
        expect((await postChat(c, { text: 'hello' })).json()).to.deep.equal({ reply: 'Hello! Say "help" to see what I can do.', turns: 1, conversation: c })
        expect((await postChat(c, { text: 'count' })).json()).to.deep.equal({ reply: 'This conversation has 2 messages.', turns: 2, conversation: c })
        const entry = await conversation(c)
        expect(entry?.value).to.deep.include({ turns: 2 })
        // Kept by the backend's store (the in-memory resources hold only the queue and topic otherwise).
        expect(memory.entries('sessions').has(`conversation:${c}`)).to.equal(backend === memoryBackend)
        expect(new Date(entry?.expires ?? 0).getTime() / 1000 - nowSeconds()).to.be.within(86_390, 86_401)
        await postChat(c, { text: 'hi' }, { env: { ...CHAT_ENV, CHAT_TTL_SECONDS: '120' } })
        expect(new Date((await conversation(c))?.expires ?? 0).getTime() / 1000 - nowSeconds()).to.be.within(110, 121)
      })

      it('counts every one of 10 messages sent to one conversation at once, each turn once', async () => {
        const c = id('burst')
        const responses = await Promise.all(Array.from({ length: 10 }, (_, i) => postChat(c, { text: `message ${i}` })))
        expect(responses.map((response) => response.status)).to.deep.equal(Array(10).fill(200))
        expect(responses.map((response) => response.json<{ turns: number }>().turns).sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 10 }, (_, i) => i + 1))
        const state = (await conversation(c))?.value
        expect(state?.turns).to.equal(10)
        expect(state?.recent).to.have.length(10)
      })

      it('counts a delivery sent again (the same signature) once, even when both copies arrive at once', async () => {
        const c = id('again')
        const timestamp = nowSeconds()
        const copies = await Promise.all([postChat(c, { text: 'hello' }, { timestamp }), postChat(c, { text: 'hello' }, { timestamp })])
        expect(copies.map((response) => response.status)).to.deep.equal([200, 200])
        expect(copies.map((response) => response.json<{ duplicate?: boolean }>().duplicate ?? false).sort()).to.deep.equal([false, true])
        expect((await conversation(c))?.value.turns).to.equal(1)
      })

      it('limits a conversation to CHAT_RATE_LIMIT messages a minute, also when they arrive at once', async () => {
        const c = id('flood')
        const env = { ...CHAT_ENV, CHAT_RATE_LIMIT: '4' }
        const responses = await Promise.all(Array.from({ length: 7 }, (_, i) => postChat(c, { text: `m${i}` }, { env })))
        expect(responses.map((response) => response.status).sort()).to.deep.equal([200, 200, 200, 200, 429, 429, 429])
        expect((await conversation(c))?.value.turns).to.equal(4)
      })

      it('stores nothing for a refused call', async () => {
        const c = id('refused')
        expect((await postChat(c, { text: 'hi' }, { secret: 'not the secret' })).status).to.equal(401)
        expect((await postChat(c, { text: 'hi' }, { timestamp: nowSeconds() - 600 })).status).to.equal(401)
        expect((await postChat(c, { words: 'hi' })).status).to.equal(400)
        expect(await conversation(c)).to.equal(null)
      })
    })

    describe('IoT', () => {
      it("keeps a device's state from readings that arrive out of order: the latest by time, minimum, maximum, count", async () => {
        const d = id('thermo')
        for (const [r, value, time] of [['r-1', 20, '2026-12-07T10:00:00Z'], ['r-3', 25, '2026-12-07T10:02:00Z'], ['r-2', 18, '2026-12-07T10:01:00Z']] as const) {
          expect((await ingest(reading(r, value, time, d))).status).to.equal(202)
        }
        expect((await work([...memory.sent('readings')])).failed).to.deep.equal([])
        const response = await deviceOf(d)
        expect(response.status).to.equal(200)
        expect(response.json()).to.deep.include({ device: d, count: 3, min: 18, max: 25, unit: 'C', last: { id: 'r-3', time: '2026-12-07T10:02:00.000Z', value: 25 } })
        expect((await deviceOf(id('ghost'))).status).to.equal(404)
      })

      it('counts a redelivered batch once', async () => {
        const d = id('again')
        for (let i = 0; i < 3; i++) await ingest(reading(`r-${i}`, i, `2026-12-07T10:00:0${i}Z`, d))
        const batch = [...memory.sent('readings')]
        expect((await work(batch)).failed).to.deep.equal([])
        const again = await work(batch)
        expect(again.failed).to.deep.equal([])
        expect(again.logs.filter((line) => line.message === 'reading seen before')).to.have.length(3)
        expect(await device(d)).to.deep.include({ count: 3, min: 0, max: 2 })
      })

      it('counts every one of 10 readings of one device processed by concurrent invocations, and each redelivered copy once', async () => {
        const d = id('busy')
        for (let i = 0; i < 10; i++) await ingest(reading(`r-${i}`, i, `2026-12-07T10:00:${String(i).padStart(2, '0')}Z`, d))
        const messages = [...memory.sent('readings')]
        // Each message delivered twice, all at once.
        const results = await Promise.all([...messages, ...messages].map((message) => work(message)))
        expect(results.flatMap((result) => result.failed)).to.deep.equal([])
        expect(await device(d)).to.deep.include({ count: 10, min: 0, max: 9, last: { id: 'r-9', time: '2026-12-07T10:00:09.000Z', value: 9 } })
      })

      it('publishes an alert once per threshold crossing, and forgets it once published', async () => {
        const d = id('hot')
        for (const [value, minute] of [[20, '00'], [31, '01'], [35, '02'], [-2, '03']] as const) {
          await ingest(reading(`r-${minute}`, value, `2026-12-07T10:${minute}:00Z`, d))
          await work(memory.sent('readings').at(-1) as SentMessage)
        }
        const published = memory.published('alerts').map((message) => message.json<{ kind: string; value: number; device: string }>())
        expect(published).to.deep.equal([
          { device: d, reading: 'r-01', time: '2026-12-07T10:01:00.000Z', value: 31, kind: 'high', threshold: 30 },
          { device: d, reading: 'r-03', time: '2026-12-07T10:03:00.000Z', value: -2, kind: 'low', threshold: 0 },
        ])
        expect((await device(d))?.pending).to.deep.equal([])
      })

      it('publishes the alert of a batch delivered four times, two of them at once, exactly once (its claim in the store)', async () => {
        const d = id('claimed')
        for (const [value, minute] of [[20, '00'], [45, '01'], [46, '02']] as const) await ingest(reading(`r-${minute}`, value, `2026-12-07T10:${minute}:00Z`, d))
        const batch = [...memory.sent('readings')]
        const runs = await Promise.all([work(batch), work([...batch].reverse())])
        runs.push(await work(batch), await work(batch))
        expect(runs.flatMap((result) => result.failed)).to.deep.equal([])
        const done = runs.flatMap((result) => result.logs).filter((line) => line.message === 'reading counted' || line.message === 'reading seen before')
        expect(done).to.have.length(12)
        expect(done.reduce((sum, line) => sum + Number(line.alertsPublished), 0), 'alerts published by the 12 deliveries').to.equal(1)
        expect(memory.published('alerts').map((message) => message.json<{ reading: string; device: string }>())).to.deep.equal([{ device: d, reading: 'r-01', time: '2026-12-07T10:01:00.000Z', value: 45, kind: 'high', threshold: 30 }])
        expect(await device(d)).to.deep.include({ count: 3, pending: [] })
        expect(await store('devices').get(`alert:${d}:r-01:high`)).to.include({ state: 'published' })
      })
    })
  })
}
