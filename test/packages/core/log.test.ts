// The shared JSON logger: secrets never reach a line, and the summary line's policy (POLYCLOUD_LOG_SUMMARY).
import { expect } from 'chai'
import { PortableContext, REDACTED, forgetLogSettings, isoTime, logSettings, redactField } from '@polycloud/core/adapter'

function contextWith(env: Record<string, string> = {}, coldStart = false): { context: PortableContext; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const context = new PortableContext(
    {
      provider: 'aws',
      requestId: 'r',
      functionName: 'f',
      deadline: Date.now() + 1000,
      env,
      native: { provider: 'aws', event: null, context: null },
      sink: (_level, line) => void lines.push(JSON.parse(line) as Record<string, unknown>),
    },
    coldStart,
  )
  return { context, lines }
}

describe('core/log: redaction', () => {
  it('redacts credential headers and secret-named fields at any depth, in objects, arrays, Maps and Headers', () => {
    const { context, lines } = contextWith()
    context.log.info('request', {
      authorization: 'Bearer abc.def.ghi',
      headers: new Headers({ cookie: 'session=1', 'x-api-key': 'k1', accept: 'text/html' }),
      nested: [{ clientSecret: 's', password: 'p', api_key: 'k2', accessToken: 't', privateKey: 'pk', note: 'fine' }],
      map: new Map([['Set-Cookie', 'a=b'], ['x', 'y']]),
      count: 3,
    })
    const [line] = lines
    expect(line).to.deep.include({
      authorization: REDACTED,
      headers: { accept: 'text/html', cookie: REDACTED, 'x-api-key': REDACTED },
      nested: [{ clientSecret: REDACTED, password: REDACTED, api_key: REDACTED, accessToken: REDACTED, privateKey: REDACTED, note: 'fine' }],
      map: { 'Set-Cookie': REDACTED, x: 'y' },
      count: 3,
    })
    expect(JSON.stringify(lines)).to.not.match(/abc\.def|session=1|k1|"s"|"p"|k2|"t"|"pk"|a=b/)
  })

  it('redacts credentials inside text: the message, string fields, an error\'s message', () => {
    const { context, lines } = contextWith()
    context.log.error('upstream said Bearer eyJhbGciOi.x.y', { detail: 'sent Basic dXNlcjpwYXNz, got 401', error: new Error('Authorization: Bearer tok123 refused') })
    const text = JSON.stringify(lines)
    expect(text).to.not.include('eyJhbGciOi').and.not.include('dXNlcjpwYXNz').and.not.include('tok123')
    expect(lines[0]?.message).to.equal(`upstream said Bearer ${REDACTED}`)
    expect(lines[0]?.detail).to.equal(`sent Basic ${REDACTED}, got 401`)
  })

  it('redacts names added at run time (an API key header of a route), in child loggers too', () => {
    redactField('X-Tenant-Pass')
    const { context, lines } = contextWith()
    context.log.child({ 'x-tenant-pass': 'one' }).info('m', { 'X-TENANT-PASS': 'two' })
    expect(lines[0]).to.include({ 'x-tenant-pass': REDACTED, 'X-TENANT-PASS': REDACTED })
  })

  it('writes a line that cannot be serialised as a line that says so, never a crash', () => {
    const { context, lines } = contextWith()
    const cycle: Record<string, unknown> = {}
    cycle.self = cycle
    context.log.warn('cyclic', { cycle })
    expect(lines[0]).to.include({ level: 'warn', message: 'cyclic' })
    expect(lines[0]?.logError).to.match(/^fields not serialisable: /)
  })
})

describe('core/log: the summary line', () => {
  it('by default, writes one for every invocation: outcome, status, batch counts, duration, cold start', () => {
    const warm = contextWith()
    warm.context.end('http', { status: 200 })
    warm.context.end('http', { status: 404 })
    expect(warm.lines.map((line) => [line.level, line.outcome, line.status, line.coldStart])).to.deep.equal([['info', 'ok', 200, false], ['info', 'ok', 404, false]])
    const cold = contextWith({}, true)
    cold.context.end('queue')
    expect(cold.lines[0]).to.include({ level: 'info', message: 'invocation', polycloud: 'invocation', kind: 'queue', outcome: 'ok', coldStart: true })
    const failed = contextWith({}, true)
    failed.context.end('http', { status: 503 })
    expect(failed.lines[0]).to.include({ level: 'error', message: 'invocation', polycloud: 'invocation', kind: 'http', outcome: 'error', status: 503, coldStart: true })
    const batch = contextWith()
    batch.context.recordBatch(5, 2)
    batch.context.end('queue')
    expect(batch.lines[0]).to.include({ outcome: 'error', events: 5, failed: 2, coldStart: false })
    expect(batch.lines[0]?.durationMs).to.be.a('number').and.at.least(0)
  })

  it('with POLYCLOUD_LOG_SUMMARY=errors, writes one for a failure only: none for an invocation that went well, cold or warm', () => {
    const warm = contextWith({ POLYCLOUD_LOG_SUMMARY: 'errors' })
    warm.context.end('http', { status: 200 })
    warm.context.end('http', { status: 404 })
    expect(warm.lines).to.deep.equal([])
    const cold = contextWith({ POLYCLOUD_LOG_SUMMARY: 'errors' }, true)
    cold.context.end('queue')
    expect(cold.lines).to.deep.equal([])
    const failed = contextWith({ POLYCLOUD_LOG_SUMMARY: 'errors' }, true)
    failed.context.end('http', { status: 503 })
    expect(failed.lines[0]).to.include({ level: 'error', outcome: 'error', status: 503, coldStart: true })
    const batch = contextWith({ POLYCLOUD_LOG_SUMMARY: 'errors' })
    batch.context.recordBatch(5, 2)
    batch.context.end('queue')
    expect(batch.lines[0]).to.include({ outcome: 'error', events: 5, failed: 2 })
  })

  it('writes one for every invocation with POLYCLOUD_LOG_SUMMARY=all, none with off, and honours LOG_LEVEL', () => {
    const all = contextWith({ POLYCLOUD_LOG_SUMMARY: 'all' })
    all.context.end('http', { status: 200 })
    expect(all.lines.map((line) => [line.outcome, line.status])).to.deep.equal([['ok', 200]])
    const off = contextWith({ POLYCLOUD_LOG_SUMMARY: 'off' }, true)
    off.context.end('http', { status: 500 })
    expect(off.lines).to.deep.equal([])
    const quiet = contextWith({ POLYCLOUD_LOG_SUMMARY: 'all', LOG_LEVEL: 'error' })
    quiet.context.end('http', { status: 200 })
    quiet.context.end('http', { error: new Error('x') })
    expect(quiet.lines.map((line) => line.outcome)).to.deep.equal(['error'])
  })

  it('reads the settings once per environment object, again after forgetLogSettings', () => {
    const env: Record<string, string> = { LOG_LEVEL: 'warn' }
    expect(logSettings(env).threshold).to.equal(30)
    env.LOG_LEVEL = 'debug'
    expect(logSettings(env).threshold).to.equal(30)
    forgetLogSettings(env)
    expect(logSettings(env)).to.deep.equal({ threshold: 10, summary: 'all' })
  })

  it('formats times as ISO 8601 with milliseconds', () => {
    for (const now of [0, 1, 999, 1_700_000_000_007, 1_700_000_000_070, 1_700_000_000_700, 1_700_000_001_000]) expect(isoTime(now)).to.equal(new Date(now).toISOString())
  })
})
