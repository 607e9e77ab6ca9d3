import { expect } from 'chai'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { changes, queue, schedule, storage } from '@polycloud/core'
import {
  checkSchedule,
  registerCosmosDB,
  registerEventGrid,
  registerServiceBusQueue,
  registerServiceBusTopic,
  registerStorageBlob,
  registerStorageQueue,
  registerTimer,
} from '@polycloud/azure'

const HOST = fileURLToPath(new URL('./host/', import.meta.url))

interface HostRun {
  registered: Record<string, { bindings: Record<string, Record<string, unknown>>; retryOptions?: Record<string, unknown> }>
  results: Record<string, unknown>
}

/** Runs host/run.ts in a child process with the functions-core stand-in (the library picks its mode per process). */
async function host(scenario: 'rpc' | 'stream'): Promise<HostRun> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', `${HOST}run.ts`, scenario], {
    env: { ...process.env, NODE_PATH: `${HOST}node_path` },
    timeout: 15_000,
  })
  return JSON.parse(stdout) as HostRun
}

function trigger(run: HostRun, name: string): Record<string, unknown> {
  const bindings = run.registered[name]?.bindings ?? {}
  return Object.values(bindings).find((binding) => String(binding.type).endsWith('Trigger')) as Record<string, unknown>
}

function hex(text: string): string {
  return Buffer.from(text).toString('hex')
}

describe('azure/register', () => {
  it('accepts six-field NCRONTAB schedules, TimeSpans and app settings', () => {
    expect(checkSchedule('0 */5 * * * *')).to.equal('0 */5 * * * *')
    expect(checkSchedule(' 0 30 9 * * Mon-Fri ')).to.equal('0 30 9 * * Mon-Fri')
    expect(checkSchedule('0 0 0 1 Jan,Jul 0,6')).to.equal('0 0 0 1 Jan,Jul 0,6')
    expect(checkSchedule('00:05:00')).to.equal('00:05:00')
    expect(checkSchedule('1.00:00:00')).to.equal('1.00:00:00')
    expect(checkSchedule('%CleanupSchedule%')).to.equal('%CleanupSchedule%')
  })

  it('refuses five-field cron with the six-field form to use, and other malformed schedules', () => {
    expect(() => checkSchedule('*/5 * * * *')).to.throw(RangeError, 'has 5 fields; NCRONTAB has 6 ({second} {minute} {hour} {day} {month} {day-of-week}): did you mean "0 */5 * * * *"?')
    expect(() => checkSchedule('0 0 * * * * 2024')).to.throw(RangeError, 'has 7 fields')
    expect(() => checkSchedule('0 0 12 ? * *')).to.throw(RangeError, 'invalid day field "?"')
    expect(() => checkSchedule('0 0 0 * * 7')).to.throw(RangeError, 'day-of-week runs from 0 (Sunday) to 6; got "7"')
    expect(() => checkSchedule('0 0 0 * * 5-7')).to.throw(RangeError, 'day-of-week runs from 0 (Sunday) to 6')
    expect(() => registerTimer('t', schedule(() => {}), { schedule: '0 12 * * *' })).to.throw(RangeError, 'did you mean "0 0 12 * * *"?')
  })

  it('refuses a handler of the wrong kind, naming the function, before registering', () => {
    expect(() => registerStorageQueue('orders', storage(() => {}) as never, { queueName: 'q', connection: 'C' })).to.throw(
      TypeError,
      'the handler of function "orders" is a storage handler, but its function\'s events need a queue handler',
    )
    expect(() => registerServiceBusTopic('audit', storage(() => {}) as never, { topicName: 't', subscriptionName: 's', connection: 'C' } as never)).to.throw(
      TypeError,
      'need a queue or topic handler',
    )
    expect(() => registerEventGrid('grid', queue(() => {}) as never)).to.throw(TypeError, 'need a storage or cloudEvent handler')
  })

  it('refuses options that would break per-message failure or that it cannot translate, before registering', () => {
    const options = { queueName: 'q', connection: 'C' }
    expect(() => registerServiceBusQueue('q', queue(() => {}), { ...options, cardinality: 'many' } as never)).to.throw(TypeError, 'azure: cardinality "many" is not supported')
    expect(() => registerServiceBusTopic('t', queue(() => {}), { topicName: 't', subscriptionName: 's', connection: 'C', sdkBinding: true } as never)).to.throw(
      TypeError,
      'azure: sdkBinding true is not supported',
    )
    expect(() => registerStorageBlob('b', storage(() => {}), { path: 'c/{name}', connection: 'C', sdkBinding: true } as never)).to.throw(TypeError, 'sdkBinding')
    expect(() =>
      registerCosmosDB('c', changes(() => {}), { connection: 'C', databaseName: 'd', containerName: 'c', changeFeedMode: 'AllVersionsAndDeletes' } as never),
    ).to.throw(TypeError, "azure: changeFeedMode \"AllVersionsAndDeletes\" is not supported: Polycloud reads the latest-version change feed ('LatestVersion')")
  })

  describe('through the library and a stand-in host', function () {
    this.timeout(30_000)
    let run: HostRun

    before(async () => {
      run = await host('rpc')
    })

    it('registers each function with its trigger type and options', () => {
      expect(trigger(run, 'web')).to.deep.include({ type: 'httpTrigger', route: 'items/{id}', methods: ['GET', 'POST'], authLevel: 'function' })
      expect(run.registered.web?.bindings.$return).to.deep.include({ type: 'http', direction: 'out' })
      expect(trigger(run, 'tick')).to.deep.include({ type: 'timerTrigger', schedule: '0 */5 * * * *', useMonitor: true })
      expect(trigger(run, 'orders')).to.deep.include({ type: 'queueTrigger', queueName: 'orders', connection: 'AzureWebJobsStorage' })
      expect(trigger(run, 'audit')).to.deep.include({ type: 'serviceBusTrigger', topicName: 'events', subscriptionName: 'audit', cardinality: 'one' })
      expect(trigger(run, 'uploads')).to.deep.include({ type: 'blobTrigger', path: 'uploads/{name}' })
      expect(trigger(run, 'blobEvents')).to.deep.include({ type: 'eventGridTrigger' })
      const items = trigger(run, 'items')
      expect(items).to.deep.include({ type: 'cosmosDBTrigger', databaseName: 'shop', containerName: 'items' })
      expect(items).to.not.have.property('partitionKey')
      expect(run.registered.items?.retryOptions).to.deep.include({ strategy: 'fixedDelay', maxRetryCount: 3 })
    })

    it('returns a binary body byte for byte and two cookies the host writes as two Set-Cookie headers', () => {
      const web = run.results.web as { sent: string; response: Record<string, unknown>; seen: Record<string, unknown> }
      expect(web.response.statusCode).to.equal('200')
      expect(web.response.body).to.equal(web.sent)
      expect(web.response.headers).to.deep.equal({ 'content-type': 'application/octet-stream', 'x-extra': 'yes' })
      expect(web.response.cookies).to.deep.equal([
        { name: 'a', value: '1', path: { value: '/' }, httpOnly: { value: true }, sameSite: 'none' },
        { name: 'b', value: 'two words', secure: { value: true }, sameSite: 'lax', maxAge: { value: 60 } },
      ])
      expect(web.seen).to.deep.equal({
        method: 'POST',
        url: 'https://app.azurewebsites.net/api/items/9?x=1&x=2',
        params: { id: '9' },
        query: [
          ['x', '1'],
          ['x', '2'],
        ],
        cookie: 'é',
      })
    })

    it('answers invalid JSON with 400 and a throw with a generic 500, no stack', () => {
      const bad = run.results.invalidJson as Record<string, unknown>
      expect(bad.statusCode).to.equal('400')
      expect(bad.body).to.equal(hex('{"error":"Invalid JSON in request body: Unexpected end of JSON input"}'))
      const boom = run.results.boom as Record<string, unknown>
      expect(boom.statusCode).to.equal('500')
      expect(boom.body).to.equal(hex('{"error":"Internal Server Error","requestId":"inv-3"}'))
    })

    it('buffers a streamed body when HTTP streaming is off', () => {
      const streamed = run.results.bufferedStream as Record<string, unknown>
      expect(streamed.body).to.equal(hex('first;second'))
      expect(streamed.headers).to.deep.equal({ 'content-type': 'text/plain' })
    })

    it('translates what the library hands over for each trigger', () => {
      expect(run.results.ordersSeen).to.deep.equal({
        id: '6a1c1b2e-0000-4000-8000-000000000001',
        body: '{"OrderId":7,"Lines":[1,2]}',
        json: { OrderId: 7, Lines: [1, 2] },
        attempt: 2,
        time: '2024-05-01T10:00:00.000Z',
        queue: 'orders',
      })
      // The library camel-cases metadata keys, application property names included, and parses '12345' to 12345.
      expect(run.results.auditSeen).to.deep.equal({
        id: '12345',
        topic: 'events',
        subject: 'user.login',
        attributes: { tenantId: 'A', retries: '3' },
        json: { action: 'login' },
        time: '2024-05-01T10:00:00.000Z',
        source: 'events/Subscriptions/audit',
      })
      // A timer registered with its declared schedule reports it and the function's name; native stays Azure's.
      expect(run.results.nightlySeen).to.deep.equal({ schedule: '0 9 * * 1-5', name: 'nightly', functionName: 'nightly-1' })
      expect(run.results.tickSeen).to.deep.equal({
        kind: 'schedule',
        id: 'tick@2024-05-01T10:00:00.000Z',
        time: '2024-05-01T10:00:00.000Z',
        source: 'tick',
        schedule: '0 */5 * * * *',
        name: 'tick',
      })
      expect(run.results.uploadsSeen).to.deep.equal({
        kind: 'storage',
        id: 'uploads/a/b.txt@0x8DC1',
        time: '2024-05-01T10:00:00.000Z',
        source: 'https://acct.blob.core.windows.net/uploads',
        type: 'created',
        action: 'Microsoft.Storage.BlobCreated',
        bucket: 'uploads',
        key: 'a/b.txt',
        size: 13,
        etag: '0x8DC1',
        contentType: 'text/plain',
      })
      expect(run.results.blobEventsSeen).to.deep.include({ kind: 'storage', id: 'e1', bucket: 'uploads', key: 'a/b.txt', etag: '0x8DC1', size: 13 })
      expect(run.results.anyEventsSeen).to.deep.include({ kind: 'cloudEvent', id: 'e1', type: 'Microsoft.Storage.BlobCreated', time: '2024-05-01T10:00:00.1234567Z' })
      expect(run.results.itemsSeen).to.deep.equal([
        {
          kind: 'changes',
          id: '1@e1',
          time: '2024-05-01T10:00:00.000Z',
          source: 'shop/items',
          type: 'upsert',
          table: 'items',
          keys: { id: '1', tenant: 't1' },
          newImage: { id: '1', tenant: 't1', Name: 'x' },
        },
        { kind: 'changes', id: '2', time: '', source: 'shop/items', type: 'upsert', table: 'items', keys: { id: '2', tenant: 't2' }, newImage: { id: '2', tenant: 't2' } },
      ])
    })

    it('fails the invocation of a message whose handler throws', () => {
      expect(run.results.failedQueue).to.deep.equal({ error: 'azure:storage-queue: 1 event(s) failed: 6a1c1b2e-0000-4000-8000-000000000001' })
    })
  })

  describe('with HTTP streaming, through the library proxy on 127.0.0.1', function () {
    this.timeout(30_000)

    it('streams the body chunk by chunk and sends every cookie as its own Set-Cookie header', async () => {
      const { results } = await host('stream')
      expect(results.error).to.equal(undefined)
      expect(results.request).to.deep.equal({ body: 'hello from the client', url: 'https://app.example/api/items/stream?x=1', params: { id: 'stream' } })
      // The second chunk is produced only after the client received the first, so a buffered body would hang.
      expect(results.client).to.deep.equal({
        status: 200,
        setCookie: ['a=1; Path=/; HttpOnly', 'b=two%20words; Max-Age=60; Secure; SameSite=Lax'],
        contentType: 'text/plain',
        chunks: ['first;', 'second'],
      })
    })
  })
})
