// The IoT flow (handlers/telemetry.ts, readings.ts, devices.ts) with @polycloud/testing's in-memory resources: a
// reading checked and queued, the worker keeping the device's state idempotently by reading id, alerts on crossing a
// threshold (logged on Cloudflare, which has no topics), malformed messages failed with the reason, the state read back.
import { expect } from 'chai'
import { useResources, type ResourceDriver } from '@polycloud/resources'
import { DriverError, type MessageBackend, type StoreBackend } from '@polycloud/resources/driver'
import { memoryResources, queueMessage, request, send, type MemoryResources, type SentMessage } from '@polycloud/testing'
import devices from '../../handlers/devices.ts'
import readings from '../../handlers/readings.ts'
import telemetry from '../../handlers/telemetry.ts'
import type { DeviceState } from '../../handlers/reading.ts'
import { DECLARED, reading } from './support.ts'


/** A claim written as another delivery of the worker writes it (through the store, as the handler would). */
async function memoryClaim(resources: MemoryResources, key: string): Promise<{ lapse(): Promise<void> }> {
  const backend = (await resources.store?.('devices', { kind: 'store' } as never, { env: {} })) as StoreBackend
  const now = Math.floor(Date.now() / 1000)
  await backend.put(key, { json: JSON.stringify({ state: 'publishing', at: new Date().toISOString() }), writer: 'other', expires: now + 300 }, { type: 'absent', now }, { signal: undefined, bindings: undefined })
  return { lapse: () => backend.delete(key, { type: 'none' }, { signal: undefined, bindings: undefined }) }
}

describe('handlers: the IoT flow (telemetry, readings worker, devices)', () => {
  let resources: MemoryResources

  beforeEach(() => {
    resources = memoryResources({ declared: DECLARED })
    useResources(resources)
  })

  afterEach(() => useResources(undefined))

  const ingest = (body: unknown) => request(telemetry, { method: 'POST', url: '/telemetry', body })
  const queued = (): readonly SentMessage[] => resources.sent('readings')
  const state = (device = 'thermo-1'): DeviceState | undefined => resources.entries('devices').get(`device:${device}`)?.value as DeviceState | undefined
  const work = (messages: SentMessage | SentMessage[], env: Record<string, string> = {}, provider: 'aws' | 'cloudflare' = 'aws') => send(readings, messages, { env, provider })

  it('queues a valid reading and answers 202', async () => {
    const response = await ingest(reading('r-1', 21.5))
    expect(response.status).to.equal(202)
    expect(response.json()).to.deep.equal({ queued: 'r-1', device: 'thermo-1' })
    expect(queued()).to.have.length(1)
    expect(queued()[0]?.json()).to.deep.equal({ device: 'thermo-1', id: 'r-1', time: '2026-12-07T10:00:00.000Z', value: 21.5, unit: 'C' })
    expect(queued()[0]?.attributes).to.deep.equal({ device: 'thermo-1', key: 'none' })
  })

  it('answers 400 with the reason for a malformed reading, and queues nothing', async () => {
    const cases: Array<[unknown, RegExp]> = [
      ['not json at all', /JSON reading/],
      [[reading('r', 1)], /JSON object .*, got an array$/],
      [null, /got null$/],
      [42, /got 42$/],
      [{ ...reading('r', 1), device: 'bad device' }, /device must be/],
      [{ ...reading('r', 1), id: '' }, /id must be/],
      [{ ...reading('r', 1), time: '07/12/2026' }, /time must be an ISO 8601/],
      [{ ...reading('r', 1), time: new Date(Date.now() + 3_600_000).toISOString() }, /future/],
      [{ ...reading('r', 1), value: '21.5' }, /value must be a finite number/],
      [{ ...reading('r', 1), unit: '' }, /unit/],
    ]
    for (const [body, reason] of cases) {
      const response = await request(telemetry, { method: 'POST', url: '/telemetry', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } })
      expect(response.status, JSON.stringify(body)).to.equal(400)
      expect(response.json<{ error: string }>().error).to.match(reason)
    }
    expect(queued()).to.have.length(0)
  })

  it("keeps the device's state from its readings: the latest by time, minimum, maximum, count", async () => {
    for (const [id, value, time] of [['r-1', 20, '2026-12-07T10:00:00Z'], ['r-3', 25, '2026-12-07T10:02:00Z'], ['r-2', 18, '2026-12-07T10:01:00Z']] as const) await ingest(reading(id, value, time))
    const { failed } = await work([...queued()])
    expect(failed).to.deep.equal([])
    const response = await request(devices, { url: '/devices/thermo-1', params: { id: 'thermo-1' } })
    expect(response.status).to.equal(200)
    const shown = response.json<Record<string, unknown>>()
    expect(shown).to.deep.include({ device: 'thermo-1', count: 3, min: 18, max: 25, unit: 'C', last: { id: 'r-3', time: '2026-12-07T10:02:00.000Z', value: 25 } })
    expect(shown).to.not.have.property('recent')
    expect(shown).to.not.have.property('pending')
  })

  it('publishes an alert when a reading crosses a threshold, once per crossing', async () => {
    const values = [[20, '10:00'], [31, '10:01'], [35, '10:02'], [25, '10:03'], [40, '10:04'], [-5, '10:05']] as const
    for (const [value, time] of values) {
      await ingest(reading(`r-${time}`, value, `2026-12-07T${time}:00Z`))
      await work(queued().at(-1) as SentMessage)
    }
    const published = resources.published('alerts')
    expect(published.map((message) => message.json<{ kind: string; value: number }>()).map(({ kind, value }) => `${kind} ${value}`)).to.deep.equal(['high 31', 'high 40', 'low -5'])
    expect(published[0]?.subject).to.equal('thermo-1 above 30')
    expect(published[0]?.attributes).to.deep.equal({ severity: 'warning', device: 'thermo-1' })
    expect(published[0]?.json()).to.deep.equal({ device: 'thermo-1', reading: 'r-10:01', time: '2026-12-07T10:01:00.000Z', value: 31, kind: 'high', threshold: 30 })
    expect(state()?.pending).to.deep.equal([])
  })

  it('takes the thresholds from ALERT_HIGH and ALERT_LOW (empty: off)', async () => {
    await ingest(reading('r-1', 31))
    await work(queued()[0] as SentMessage, { ALERT_HIGH: '50', ALERT_LOW: '' })
    expect(resources.published('alerts')).to.have.length(0)
  })

  it('logs the alert on Cloudflare, which has no topics', async () => {
    resources = memoryResources({ as: 'cloudflare', declared: { readings: 'queue', devices: 'store' } })
    useResources(resources)
    await ingest(reading('r-1', 45))
    const { failed, logs } = await work(queued()[0] as SentMessage, {}, 'cloudflare')
    expect(failed).to.deep.equal([])
    const alert = logs.find((line) => line.message === 'alert')
    expect(alert).to.deep.include({ level: 'warn', subject: 'thermo-1 above 30', attributes: { severity: 'warning', device: 'thermo-1' } })
    expect(state()?.pending).to.deep.equal([])
  })

  it('publishes an alert an earlier run decided but could not publish, when the reading is redelivered', async () => {
    const memory = memoryResources({ declared: DECLARED })
    let failures = 1
    const driver: ResourceDriver = {
      ...memory,
      topic(name, address, context) {
        const inner = memory.topic(name, address, context) as MessageBackend
        return {
          ...inner,
          async send(messages, batch, call) {
            if (failures-- > 0) throw new DriverError('Denied', 'not allowed yet')
            return inner.send(messages, batch, call)
          },
        }
      },
    }
    useResources(driver)
    resources = memory
    await ingest(reading('r-1', 33))
    const message = queued()[0] as SentMessage
    expect((await work(message)).failed).to.deep.equal([message.id])
    expect(state()?.pending).to.have.length(1)
    expect(memory.published('alerts')).to.have.length(0)
    expect((await work(message)).failed).to.deep.equal([])
    expect(memory.published('alerts')).to.have.length(1)
    expect(state()).to.deep.include({ count: 1, pending: [] })
    expect(memory.entries('devices').get('alert:thermo-1:r-1:high')?.value).to.include({ state: 'published' })
  })

  /** The in-memory resources, with the `devices` store's puts failing when `fails(key, json)` says so. */
  const failingPuts = (fails: (key: string, json: string) => boolean): MemoryResources => {
    const memory = memoryResources({ declared: DECLARED })
    const driver: ResourceDriver = {
      ...memory,
      async store(name, address, context) {
        const inner = (await memory.store?.(name, address, context)) as StoreBackend
        return {
          ...inner,
          put: (key, write, condition, call) => (fails(key, write.json) ? Promise.reject(new DriverError('Unavailable', 'the store went away')) : inner.put(key, write, condition, call)),
        }
      },
    }
    useResources(driver)
    return memory
  }

  it('publishes an alert once when the batch is redelivered after the publish (the pending alert found published, forgotten)', async () => {
    // The run publishes, then fails to write the state without the pending alert: the queue redelivers the batch.
    // (Unavailable is retried by the client: the writes fail until the first run is over.)
    let failing = true
    resources = failingPuts((key, json) => failing && key === 'device:thermo-1' && (JSON.parse(json) as DeviceState).count === 2 && (JSON.parse(json) as DeviceState).pending.length === 0)
    await ingest(reading('r-1', 20))
    await ingest(reading('r-2', 33, '2026-12-07T10:01:00Z'))
    const batch = [...queued()]
    const first = await work(batch)
    failing = false
    expect(first.failed).to.deep.equal([batch[1]?.id])
    expect(resources.published('alerts')).to.have.length(1)
    expect(state()?.pending).to.have.length(1)
    const again = await work(batch)
    expect(again.failed).to.deep.equal([])
    expect(again.logs.find((line) => line.message === 'alert sent before')).to.include({ alert: 'alert:thermo-1:r-2:high' })
    expect(resources.published('alerts')).to.have.length(1)
    expect(state()).to.deep.include({ count: 2, pending: [] })
    expect(resources.entries('devices').get('alert:thermo-1:r-2:high')?.value).to.include({ state: 'published' })
  })

  it('publishes an alert once when two deliveries of a batch run at once', async () => {
    await ingest(reading('r-1', 20))
    await ingest(reading('r-2', 35, '2026-12-07T10:01:00Z'))
    await ingest(reading('r-3', 36, '2026-12-07T10:02:00Z'))
    const batch = [...queued()]
    const runs = await Promise.all([work(batch), work(batch), work([...batch].reverse())])
    expect(runs.map((run) => run.failed)).to.deep.equal([[], [], []])
    const done = runs.flatMap((run) => run.logs).filter((line) => line.message === 'reading counted' || line.message === 'reading seen before')
    expect(done.map((line) => line.alertsPublished).reduce((sum: number, n) => sum + Number(n), 0)).to.equal(1)
    expect(resources.published('alerts').map((message) => message.json<{ reading: string }>().reading)).to.deep.equal(['r-2'])
    expect(state()).to.deep.include({ count: 3, pending: [] })
  })

  it('keeps an alert pending while another delivery holds its claim, and publishes it once that claim lapses', async () => {
    await ingest(reading('r-1', 40))
    const message = queued()[0] as SentMessage
    // A delivery that claimed the alert, then stopped before publishing it: its claim holds for the lease.
    const holder = await memoryClaim(resources, 'alert:thermo-1:r-1:high')
    const { failed, logs } = await work(message)
    expect(failed).to.deep.equal([])
    expect(logs.find((line) => line.message === 'alert held by another delivery')).to.include({ alert: 'alert:thermo-1:r-1:high' })
    expect(resources.published('alerts')).to.have.length(0)
    expect(state()?.pending).to.have.length(1)
    // The lease over (here: the claim gone), the redelivery publishes it.
    await holder.lapse()
    expect((await work(message)).failed).to.deep.equal([])
    expect(resources.published('alerts')).to.have.length(1)
    expect(state()?.pending).to.deep.equal([])
  })

  it('fails a malformed message with the reason (the queue redelivers it, then dead-letters it)', async () => {
    const bad = queueMessage({ body: { device: 'thermo-1', id: 'r-x', time: 'soon', value: 1 }, queue: 'readings' })
    const garbage = queueMessage({ body: '{not json', queue: 'readings' })
    const { failed, logs } = await work([bad as SentMessage, garbage as SentMessage])
    expect(failed.sort()).to.deep.equal([bad.id, garbage.id].sort())
    const refused = logs.filter((line) => line.message === 'reading refused')
    expect(refused.map((line) => [line.messageId, line.reason])).to.have.deep.members([
      [bad.id, 'time must be an ISO 8601 date and time with a zone (2026-12-07T10:00:00Z)'],
      [garbage.id, refused.find((line) => line.messageId === garbage.id)?.reason],
    ])
    expect(String(refused.find((line) => line.messageId === garbage.id)?.reason)).to.match(/JSON/)
    expect(logs.filter((line) => line.message === 'event failed')).to.have.length(2)
    expect(resources.entries('devices').size).to.equal(0)
  })

  it('answers 404 for a device never heard from, 400 for an id that cannot be one', async () => {
    expect((await request(devices, { url: '/devices/ghost', params: { id: 'ghost' } })).status).to.equal(404)
    expect((await request(devices, { url: '/devices/a%20b', params: { id: 'a b' } })).status).to.equal(400)
  })
})
