// The local Service Bus stand-in (packages/serverless/src/providers/azure/local/service-bus.ts) driven by raw HTTP
// requests, as the REST reference writes them and as a user would with curl: SAS tokens, properties as headers,
// broker properties, batches, scheduled messages, entity and size errors, redelivery and dead letters.
import { expect } from 'chai'
import { createHmac } from 'node:crypto'
import { startLocalServiceBus, type LocalServiceBus, type ServiceBusDelivery } from '../../../../../packages/serverless/src/providers/azure/local/service-bus.ts'
import { serviceBusQueues } from '../../../../../packages/serverless/src/providers/azure/console.ts'

function sas(uri: string, keyName: string, key: string, expiry = Math.floor(Date.now() / 1000) + 600): string {
  const resource = encodeURIComponent(uri)
  const signature = createHmac('sha256', key).update(`${resource}\n${expiry}`).digest('base64')
  return `SharedAccessSignature sr=${resource}&sig=${encodeURIComponent(signature)}&se=${expiry}&skn=${keyName}`
}

describe('local Service Bus (HTTPS send API)', function () {
  this.timeout(20_000)
  let bus: LocalServiceBus
  const deliveries: ServiceBusDelivery[] = []
  let failOnce = new Set<string>()
  const failing = new Set<string>()

  before(async () => {
    bus = await startLocalServiceBus({
      key: 'test-key',
      queues: ['orders'],
      topics: [{ name: 'alerts', subscriptions: ['a', 'b'] }],
      retryDelayMs: 10,
      maxDeliveryCount: 3,
      deliver: (delivery) => {
        if (delivery.message.body.toString() === 'always fails' || failing.has(delivery.message.messageId)) throw new Error('handler failed')
        if (failOnce.has(delivery.message.messageId)) {
          failOnce.delete(delivery.message.messageId)
          throw new Error('first attempt fails')
        }
        deliveries.push(delivery)
      },
    })
  })

  after(() => bus.stop())

  const until = async (check: () => boolean): Promise<void> => {
    for (let waited = 0; !check(); waited += 10) {
      if (waited > 10_000) throw new Error('not delivered in 10 s')
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }

  it('prints a connection string with the namespace key', () => {
    expect(bus.connectionString).to.equal(`Endpoint=sb://127.0.0.1:${bus.port};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=test-key;UseDevelopmentEmulator=true`)
  })

  it('takes one message with properties as headers and broker properties, and delivers it to the queue', async () => {
    const response = await fetch(`${bus.endpoint}/orders/messages`, {
      method: 'POST',
      headers: {
        authorization: sas(`${bus.endpoint}/orders`, 'RootManageSharedAccessKey', 'test-key'),
        'content-type': 'application/json',
        brokerproperties: JSON.stringify({ Label: 'new-order', MessageId: 'm-1', CorrelationId: 'c-1' }),
        Priority: '"High"',
        Count: '5',
        Customer: '12345,ABC',
      },
      body: '{"order":1}',
    })
    expect(response.status).to.equal(201)
    await until(() => deliveries.some((d) => d.message.messageId === 'm-1'))
    const delivery = deliveries.find((d) => d.message.messageId === 'm-1') as ServiceBusDelivery
    expect(delivery).to.include({ queue: 'orders', entityPath: 'orders' })
    expect(delivery.message).to.include({ label: 'new-order', correlationId: 'c-1', contentType: 'application/json', deliveryCount: 1 })
    expect(delivery.message.body.toString()).to.equal('{"order":1}')
    expect(delivery.message.applicationProperties).to.deep.equal({ Priority: 'High', Count: 5, Customer: '12345,ABC' })
  })

  it('fans a topic message out to each subscription, and takes a batch', async () => {
    const before = deliveries.length
    const response = await fetch(`${bus.endpoint}/alerts/messages`, {
      method: 'POST',
      headers: { authorization: sas(`${bus.endpoint}`, 'RootManageSharedAccessKey', 'test-key'), 'content-type': 'application/vnd.microsoft.servicebus.json' },
      body: JSON.stringify([
        { Body: 'one', BrokerProperties: { Label: 'L1' }, UserProperties: { severity: 'low' } },
        { Body: 'two', UserProperties: { n: 2 } },
      ]),
    })
    expect(response.status).to.equal(201)
    await until(() => deliveries.length >= before + 4)
    const got = deliveries.slice(before).map((d) => `${d.entityPath} ${d.message.body.toString()} ${JSON.stringify(d.message.applicationProperties)}`).sort()
    expect(got).to.deep.equal([
      'alerts/Subscriptions/a one {"severity":"low"}',
      'alerts/Subscriptions/a two {"n":2}',
      'alerts/Subscriptions/b one {"severity":"low"}',
      'alerts/Subscriptions/b two {"n":2}',
    ])
  })

  it('delivers a scheduled message at its time', async () => {
    const at = new Date(Math.ceil((Date.now() + 1000) / 1000) * 1000)
    await fetch(`${bus.endpoint}/orders/messages`, {
      method: 'POST',
      headers: { authorization: sas(`${bus.endpoint}/orders`, 'RootManageSharedAccessKey', 'test-key'), brokerproperties: JSON.stringify({ ScheduledEnqueueTimeUtc: at.toUTCString(), MessageId: 'later' }) },
      body: 'later',
    })
    await until(() => deliveries.some((d) => d.message.messageId === 'later'))
    expect(Date.now()).to.be.at.least(at.getTime())
  })

  it('redelivers a failed delivery, then dead-letters after the maximum delivery count', async () => {
    failOnce = new Set(['retry-me'])
    const auth = sas(`${bus.endpoint}/orders`, 'RootManageSharedAccessKey', 'test-key')
    await fetch(`${bus.endpoint}/orders/messages`, { method: 'POST', headers: { authorization: auth, brokerproperties: '{"MessageId":"retry-me"}' }, body: 'retry' })
    await until(() => deliveries.some((d) => d.message.messageId === 'retry-me'))
    expect(deliveries.find((d) => d.message.messageId === 'retry-me')?.message.deliveryCount).to.equal(2)
    await fetch(`${bus.endpoint}/orders/messages`, { method: 'POST', headers: { authorization: auth }, body: 'always fails' })
    await until(() => bus.deadLetters('orders').length === 1)
    expect(bus.deadLetters('orders')[0]?.deliveryCount).to.equal(3)
  })

  it("shows its entities and dead letters to the local console, which sends a dead letter back", async () => {
    failing.add('poison-1')
    const auth = sas(`${bus.endpoint}/alerts`, 'RootManageSharedAccessKey', 'test-key')
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
    await fetch(`${bus.endpoint}/alerts/messages`, { method: 'POST', headers: { authorization: auth, brokerproperties: '{"MessageId":"poison-1","Label":"alert"}', traceparent }, body: '{"n":1}' })
    await until(() => bus.deadLetters('alerts/Subscriptions/a').length === 1 && bus.deadLetters('alerts/Subscriptions/b').length === 1)
    const source = serviceBusQueues(bus)
    const views = await source.list()
    expect(views.map((view) => `${view.role} ${view.name}`)).to.deep.equal([
      'queue orders', 'dead-letter orders/$DeadLetterQueue',
      'queue alerts/Subscriptions/a', 'dead-letter alerts/Subscriptions/a/$DeadLetterQueue',
      'queue alerts/Subscriptions/b', 'dead-letter alerts/Subscriptions/b/$DeadLetterQueue',
    ])
    const letter = views.find((view) => view.name === 'alerts/Subscriptions/a/$DeadLetterQueue')
    expect(letter).to.include({ source: 'alerts/Subscriptions/a', redeliver: true })
    expect(letter?.messages).to.have.length(1)
    expect(letter?.messages[0]).to.include({ id: 'poison-1', body: '{"n":1}', receiveCount: 3, traceId: '0af7651916cd43dd8448eb211c80319c' })
    expect(letter?.messages[0]?.attributes).to.include({ label: 'alert', traceparent })
    failing.delete('poison-1')
    const before = deliveries.length
    expect(await source.redeliver('alerts/Subscriptions/a/$DeadLetterQueue', 'poison-1')).to.equal('Message poison-1 sent back from alerts/Subscriptions/a/$DeadLetterQueue to alerts/Subscriptions/a.')
    await until(() => deliveries.length > before)
    expect(deliveries.slice(before).map((d) => `${d.entityPath} ${d.message.messageId} ${d.message.deliveryCount}`)).to.deep.equal(['alerts/Subscriptions/a poison-1 1'])
    expect(bus.deadLetters('alerts/Subscriptions/a')).to.have.length(0)
    expect(bus.deadLetters('alerts/Subscriptions/b')).to.have.length(1)
    await source.redeliver('alerts/Subscriptions/a/$DeadLetterQueue', 'poison-1').then(
      () => expect.fail('redelivered twice'),
      (error: Error) => expect(error.message).to.equal('no dead-lettered message poison-1 in alerts/Subscriptions/a'),
    )
    await source.redeliver('orders', 'x').then(
      () => expect.fail('redelivered from a queue'),
      (error: Error) => expect(error.message).to.equal('orders is not a dead-letter queue'),
    )
  })

  it('answers 401 without a valid token, 410 for an unknown entity, 403 over the size limit, 400 for bad broker properties', async () => {
    const url = `${bus.endpoint}/orders/messages`
    expect((await fetch(url, { method: 'POST', body: 'x' })).status).to.equal(401)
    expect((await fetch(url, { method: 'POST', headers: { authorization: sas(`${bus.endpoint}/orders`, 'RootManageSharedAccessKey', 'wrong-key') }, body: 'x' })).status).to.equal(401)
    expect((await fetch(url, { method: 'POST', headers: { authorization: sas(`${bus.endpoint}/orders`, 'RootManageSharedAccessKey', 'test-key', 100) }, body: 'x' })).status).to.equal(401)
    expect((await fetch(url, { method: 'POST', headers: { authorization: sas(`${bus.endpoint}/alerts`, 'RootManageSharedAccessKey', 'test-key') }, body: 'x' })).status).to.equal(401)
    const auth = sas(bus.endpoint, 'RootManageSharedAccessKey', 'test-key')
    const gone = await fetch(`${bus.endpoint}/nowhere/messages`, { method: 'POST', headers: { authorization: auth }, body: 'x' })
    expect(gone.status).to.equal(410)
    expect(await gone.text()).to.include('MessagingEntityNotFound')
    expect((await fetch(url, { method: 'POST', headers: { authorization: auth }, body: 'x'.repeat(256 * 1024 + 1) })).status).to.equal(403)
    expect((await fetch(url, { method: 'POST', headers: { authorization: auth, brokerproperties: '{not json' }, body: 'x' })).status).to.equal(400)
  })
})
