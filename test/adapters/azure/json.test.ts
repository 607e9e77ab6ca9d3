import { expect } from 'chai'
import { adapter, azureSources, fromJson } from '@polycloud/azure'
import { inspect } from '@polycloud/testing'
import { fixture } from '../../helpers/fixtures.ts'
import { HttpRequest, InvocationContext } from './support.ts'

describe('azure/json (fromJson)', () => {
  it('is the adapter inspect uses, with every source', () => {
    expect(adapter.provider).to.equal('azure')
    expect(adapter.sources).to.equal(azureSources)
    expect(adapter.fromJson).to.equal(fromJson)
    expect(azureSources.map((source) => source.name)).to.deep.equal([
      'azure:http',
      'azure:timer',
      'azure:storage-queue',
      'azure:service-bus',
      'azure:service-bus-topic',
      'azure:blob',
      'azure:event-grid-blob',
      'azure:event-grid',
      'azure:cosmos-db',
    ])
  })

  it('wraps a bare payload with a context that states no trigger type', () => {
    const json = fixture('azure/cosmosdb/aztpl__CosmosDBTrigger-JavaScript-4.x_sample.json')
    const input = fromJson(json)
    expect(input.input).to.equal(json)
    expect(input.context).to.be.instanceOf(InvocationContext)
    expect(input.context.options.trigger).to.deep.equal({ name: 'unknown', type: 'unknown' })
  })

  it('reads an { input, context } envelope into a real InvocationContext', () => {
    const input = fromJson({
      input: { type: 'Buffer', data: [104, 105] },
      context: { invocationId: 'i-1', functionName: 'f', triggerMetadata: { blobTrigger: 'c/a' }, options: { trigger: { type: 'blobTrigger', name: 'b', path: 'c/{name}' } } },
    })
    expect(input.context).to.be.instanceOf(InvocationContext)
    expect(input.context.invocationId).to.equal('i-1')
    expect(input.context.triggerMetadata).to.deep.equal({ blobTrigger: 'c/a' })
    expect(Buffer.isBuffer(input.input)).to.equal(true)
    expect((input.input as Buffer).toString()).to.equal('hi')
  })

  it('builds a real HttpRequest from an HttpRequestInit, with a text or base64 body', async () => {
    const text = fromJson({
      input: { method: 'POST', url: 'https://h/api/x?a=1', headers: { 'content-type': 'text/plain' }, params: { id: '1' }, body: { string: 'hello' } },
      context: { options: { trigger: { type: 'httpTrigger', name: 'req' } } },
    })
    expect(text.input).to.be.instanceOf(HttpRequest)
    expect(await (text.input as InstanceType<typeof HttpRequest>).text()).to.equal('hello')
    const bytes = fromJson({ input: { method: 'PUT', url: 'https://h/', body: { bytes: Buffer.from([0, 255]).toString('base64') } }, context: {} })
    expect(Buffer.from(await (bytes.input as InstanceType<typeof HttpRequest>).arrayBuffer())).to.deep.equal(Buffer.from([0, 255]))
    expect(() => fromJson({ input: { method: 'GET', url: '/relative' }, context: { options: { trigger: { type: 'httpTrigger', name: 'r' } } } })).to.throw(
      TypeError,
      'azure: the HTTP input is not a valid request',
    )
    expect(() => fromJson({ input: 'x', context: { options: { trigger: { type: 'httpTrigger', name: 'r' } } } })).to.throw(TypeError, 'must be an HttpRequestInit')
    expect(() => fromJson({ input: { method: 'POST', url: 'https://h/', body: { bytes: '***' } }, context: {} })).to.throw(TypeError, 'body.bytes must be base64')
  })

  it('lets inspect read envelopes for queue, Service Bus, blob and HTTP inputs', async () => {
    const queue = await inspect('azure', {
      input: { orderId: 7 },
      context: { triggerMetadata: { id: 'q-1', dequeueCount: 2, popReceipt: 'p', insertionTime: '2024-05-01T10:00:00Z' }, options: { trigger: { type: 'queueTrigger', name: 'q', queueName: 'orders' } } },
    })
    expect(queue).to.deep.equal({
      provider: 'azure',
      adapter: 'azure:storage-queue',
      kind: 'queue',
      events: [{ kind: 'queue', id: 'q-1', time: '2024-05-01T10:00:00Z', source: 'orders', queue: 'orders', attempt: 2, attributes: {}, body: '{"orderId":7}' }],
      invalid: 0,
    })
    const topic = await inspect(
      'azure',
      { input: 'hi', context: { triggerMetadata: { messageId: 'm', deliveryCount: 1 }, options: { trigger: { type: 'serviceBusTrigger', name: 's', topicName: 't', subscriptionName: 'sub' } } } },
      { kind: 'topic' },
    )
    expect(topic.adapter).to.equal('azure:service-bus-topic')
    expect(topic.events).to.deep.equal([{ kind: 'topic', id: 'm', time: '', source: 't/Subscriptions/sub', topic: 't', attributes: {}, body: 'hi' }])
    const web = await inspect('azure', { input: { method: 'GET', url: 'https://h/api/a?x=1' }, context: { options: { trigger: { type: 'httpTrigger', name: 'r' } } } })
    expect(web.adapter).to.equal('azure:http')
    expect(web.events[0]).to.deep.include({ method: 'GET', url: 'https://h/api/a?x=1', path: '/api/a', query: [['x', '1']], body: '' })
  })

  it('leaves ambiguous bare payloads unrecognised, with an error naming their shape', async () => {
    let error: Error | undefined
    await inspect('azure', 'just a string').catch((caught: Error) => (error = caught))
    expect(error?.message).to.match(/^azure: no adapter recognises this input \(tried: azure:http, .*azure:cosmos-db\); it is a string$/)
  })
})
