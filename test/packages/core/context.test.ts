import { expect } from 'chai'
import { PortableContext, deadlineFromEnv } from '@polycloud/core/adapter'
import { testContext } from './support.ts'

describe('core/context', () => {
  it('writes one JSON line per log call with level, message, time, request id, function and fields', () => {
    const { context, lines } = testContext()
    context.log.info('greeting', { name: 'Ada', n: 1 })
    expect(lines).to.have.length(1)
    const [line] = lines
    expect(line?.level).to.equal('info')
    expect(line?.record).to.include({ level: 'info', message: 'greeting', requestId: 'req-1', function: 'fn', name: 'Ada', n: 1 })
    expect(Number.isNaN(Date.parse(line?.record.time as string))).to.equal(false)
  })

  it('honours LOG_LEVEL and drops lines below it', () => {
    const { context, lines } = testContext({ LOG_LEVEL: 'WARN' })
    context.log.debug('d')
    context.log.info('i')
    context.log.warn('w')
    context.log.error('e')
    expect(lines.map((line) => line.record.message)).to.deep.equal(['w', 'e'])
    const silent = testContext({ LOG_LEVEL: 'silent' })
    silent.context.log.error('e')
    expect(silent.lines).to.have.length(0)
  })

  it('serialises errors with their stack, bigints as strings, and survives circular fields', () => {
    const { context, lines } = testContext()
    const circular: Record<string, unknown> = {}
    circular.self = circular
    context.log.error('failed', { error: new TypeError('boom'), big: 10n })
    context.log.error('circular', { circular })
    const error = lines[0]?.record.error as Record<string, string>
    expect(error.name).to.equal('TypeError')
    expect(error.message).to.equal('boom')
    expect(error.stack).to.include('TypeError: boom')
    expect(lines[0]?.record.big).to.equal('10')
    expect(lines[1]?.record.message).to.equal('circular')
    expect(lines[1]?.record.logError).to.match(/not serialisable/)
  })

  it('child loggers add fields', () => {
    const { context, lines } = testContext()
    context.log.child({ orderId: 'o1' }).warn('late')
    expect(lines[0]?.record).to.include({ orderId: 'o1', message: 'late', requestId: 'req-1' })
  })

  it('settles waitUntil promises and logs rejections', async () => {
    const { context, lines } = testContext()
    let done = false
    context.waitUntil(new Promise((resolve) => setTimeout(resolve, 5)).then(() => (done = true)))
    context.waitUntil(Promise.reject(new Error('late failure')))
    expect(context.pending).to.equal(true)
    await context.settle()
    expect(done).to.equal(true)
    expect(context.pending).to.equal(false)
    expect(lines.map((line) => line.record.message)).to.deep.equal(['waitUntil promise rejected'])
  })

  it('hands waitUntil to the provider when it has one', () => {
    const given: Array<Promise<unknown>> = []
    const context = new PortableContext({
      provider: 'cloudflare',
      requestId: 'r',
      functionName: 'f',
      deadline: 0,
      env: {},
      native: { provider: 'cloudflare', event: null, context: null },
      waitUntil: (promise) => given.push(promise),
    })
    context.waitUntil(Promise.resolve())
    expect(given).to.have.length(1)
    expect(context.pending).to.equal(false)
  })

  it('computes a lazy deadline once, and the remaining time', () => {
    let calls = 0
    const context = new PortableContext({
      provider: 'aws',
      requestId: 'r',
      functionName: 'f',
      deadline: () => {
        calls++
        return 5000
      },
      env: {},
      native: { provider: 'aws', event: null, context: null },
    })
    expect(calls).to.equal(0)
    const deadline = context.deadline
    expect(deadline - Date.now()).to.be.within(4900, 5000)
    expect(context.deadline).to.equal(deadline)
    expect(calls).to.equal(1)
    expect(context.remainingTime()).to.be.within(4900, 5000)
  })

  it('deadlineFromEnv reads POLYCLOUD_TIMEOUT_SECONDS, else the default', () => {
    expect(deadlineFromEnv({ POLYCLOUD_TIMEOUT_SECONDS: '10' }, 60) - Date.now()).to.be.within(9900, 10000)
    expect(deadlineFromEnv({ POLYCLOUD_TIMEOUT_SECONDS: 'x' }, 60) - Date.now()).to.be.within(59900, 60000)
    expect(deadlineFromEnv({}, 1) - Date.now()).to.be.within(900, 1000)
  })
})
