import { expect } from 'chai'
import { http, queue, storage, text, type Context } from '@polycloud/core'
import { forgetLogSettings } from '@polycloud/core/adapter'
import {
  DEFAULT_TIMEOUT_SECONDS,
  azure,
  azureHttp,
  blob,
  createAzureHandler,
  eventGridBlob,
  storageQueue,
} from '@polycloud/azure'
import { httpRequest, invocation } from './support.ts'

const QUEUE = { type: 'queueTrigger', queueName: 'orders' }
const queueMeta = { id: 'm-1', dequeueCount: 1, popReceipt: 'p', insertionTime: '2024-05-01T10:00:00Z' }

describe('azure/handler', () => {
  it('gives the handler a context: provider, invocation id, function, deadline, env, native, log sink', async () => {
    let seen: Context | undefined
    const handler = createAzureHandler(
      queue((_event, context) => {
        seen = context
        context.log.debug('below the default threshold')
        context.log.info('info line', { n: 1 })
        context.log.warn('warn line')
        context.log.error('error line')
      }),
      [storageQueue],
    )
    const run = invocation(QUEUE, { triggerMetadata: queueMeta, invocationId: 'inv-42', functionName: 'orders' })
    const before = Date.now()
    await handler('body', run.context)
    expect(seen?.provider).to.equal('azure')
    expect(seen?.requestId).to.equal('inv-42')
    expect(seen?.functionName).to.equal('orders')
    expect(seen?.deadline).to.be.within(before + DEFAULT_TIMEOUT_SECONDS * 1000, Date.now() + DEFAULT_TIMEOUT_SECONDS * 1000)
    expect(seen?.env).to.equal(process.env)
    expect(seen?.native).to.deep.equal({ provider: 'azure', event: 'body', context: run.context })
    expect(run.lines().map((line) => [line.azureLevel, line.level, line.message, line.requestId, line.function])).to.deep.equal([
      ['information', 'info', 'info line', 'inv-42', 'orders'],
      ['warning', 'warn', 'warn line', 'inv-42', 'orders'],
      ['error', 'error', 'error line', 'inv-42', 'orders'],
    ])
    expect(run.lines()[0]).to.have.property('n', 1)
  })

  it('takes the deadline from POLYCLOUD_TIMEOUT_SECONDS and sends debug lines when LOG_LEVEL asks', async () => {
    let deadline = 0
    const handler = createAzureHandler(
      queue((_event, context) => {
        deadline = context.deadline
        context.log.debug('now visible')
      }),
      [storageQueue],
    )
    process.env.POLYCLOUD_TIMEOUT_SECONDS = '30'
    process.env.LOG_LEVEL = 'debug'
    forgetLogSettings(process.env) // LOG_LEVEL is read once per environment: this process's changed
    try {
      const run = invocation(QUEUE, { triggerMetadata: queueMeta })
      const before = Date.now()
      await handler('x', run.context)
      expect(deadline).to.be.within(before + 30_000, Date.now() + 30_000)
      expect(run.lines().map((line) => [line.azureLevel, line.message])).to.deep.equal([['debug', 'now visible']])
    } finally {
      delete process.env.POLYCLOUD_TIMEOUT_SECONDS
      delete process.env.LOG_LEVEL
      forgetLogSettings(process.env)
    }
  })

  it('waits for waitUntil promises before the invocation ends', async () => {
    let finished = false
    const handler = createAzureHandler(
      http((_request, context) => {
        context.waitUntil(new Promise<void>((resolve) => setTimeout(() => ((finished = true), resolve()), 20)))
        return text('ok')
      }),
      [azureHttp],
    )
    await handler(httpRequest({ method: 'GET', url: 'https://h/' }), invocation({ type: 'httpTrigger' }).context)
    expect(finished).to.equal(true)
  })

  it('tries only the sources of the handler kind: the trigger type picks blob trigger or Event Grid', async () => {
    const seen: string[] = []
    const handler = createAzureHandler(storage((event) => void seen.push(`${event.action} ${event.key}`)), [storageQueue, blob, eventGridBlob])
    await handler(Buffer.from('x'), invocation({ type: 'blobTrigger' }, { triggerMetadata: { blobTrigger: 'c/a.txt' } }).context)
    await handler(
      { id: 'e', eventType: 'Microsoft.Storage.BlobDeleted', subject: '/blobServices/default/containers/c/blobs/b.txt', eventTime: '2024-05-01T10:00:00Z', data: {} },
      invocation({ type: 'eventGridTrigger' }).context,
    )
    expect(seen).to.deep.equal(['Microsoft.Storage.BlobCreated a.txt', 'Microsoft.Storage.BlobDeleted b.txt'])
  })

  it('refuses, when created, a handler no given source can feed, or something that is not a handler', () => {
    expect(() => createAzureHandler(queue(() => {}), [azureHttp, blob])).to.throw(TypeError, "handler is a queue handler, but its function's events need a http or storage handler")
    expect(() => createAzureHandler(queue(() => {}), [], { label: 'worker' })).to.throw(TypeError, 'azure: createAzureHandler needs at least one source')
    expect(() => createAzureHandler({ kind: 'queue' } as never, [storageQueue], { label: 'module export "worker"' })).to.throw(
      TypeError,
      'module export "worker" is not a portable handler',
    )
  })

  it('azure() reads every Azure format of the handler kind', async () => {
    const seen: string[] = []
    const handler = azure(queue((event) => void seen.push(event.id)))
    await handler('x', invocation(QUEUE, { triggerMetadata: queueMeta }).context)
    await handler('y', invocation({ type: 'serviceBusTrigger', queueName: 'jobs' }, { triggerMetadata: { messageId: 'sb-1', deliveryCount: 1 } }).context)
    expect(seen).to.deep.equal(['m-1', 'sb-1'])
    const error = (await handler({ some: 'thing' }, invocation(undefined).context).catch((caught: unknown) => caught)) as Error
    expect(error.message).to.equal(
      'azure: no adapter for queue handlers recognises this input (tried: azure:storage-queue, azure:service-bus); it is an object with keys: some; trigger type: unknown; trigger metadata: none',
    )
  })
})
