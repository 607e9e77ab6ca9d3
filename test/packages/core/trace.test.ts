// W3C Trace Context (https://www.w3.org/TR/trace-context/): parsing the headers strictly (an invalid one is ignored,
// never an error), the platforms' own formats, and what an invocation's context makes of them.
import { expect } from 'chai'
import { queue, type Context } from '@polycloud/core'
import {
  PortableContext,
  PortableQueueMessage,
  runEvents,
  carrierTrace,
  eventTrace,
  newSpanId,
  newTraceId,
  parseCloudTrace,
  parseTraceparent,
  parseTracestate,
  parseXRay,
  startTrace,
  withTrace,
  xrayHeader,
  xrayTraceId,
} from '@polycloud/core/adapter'

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const PARENT = '00f067aa0ba902b7'
const VALID = `00-${TRACE}-${PARENT}-01`

describe('core/trace: traceparent', () => {
  it('reads a valid version-00 header: trace id, parent span, sampled flag', () => {
    expect(parseTraceparent(VALID)).to.deep.equal({ traceId: TRACE, parentId: PARENT, sampled: true, traceState: undefined, origin: 'traceparent' })
    expect(parseTraceparent(`00-${TRACE}-${PARENT}-00`)?.sampled).to.equal(false)
    // Only bit 0 is "sampled"; other flags are kept out of the decision.
    expect(parseTraceparent(`00-${TRACE}-${PARENT}-03`)?.sampled).to.equal(true)
    expect(parseTraceparent(`00-${TRACE}-${PARENT}-02`)?.sampled).to.equal(false)
    // HTTP's optional white space around the value.
    expect(parseTraceparent(` \t${VALID}\t `)?.traceId).to.equal(TRACE)
  })

  it('ignores headers that break the rules: all-zero ids, version ff, upper case, wrong lengths, extra fields in 00', () => {
    const invalid = [
      `00-00000000000000000000000000000000-${PARENT}-01`, // all-zero trace id
      `00-${TRACE}-0000000000000000-01`, // all-zero parent id
      `ff-${TRACE}-${PARENT}-01`, // version ff is invalid
      `00-${TRACE.toUpperCase()}-${PARENT}-01`, // upper-case hex
      `00-${TRACE}-${PARENT.toUpperCase()}-01`,
      `0-${TRACE}-${PARENT}-01`,
      `00-${TRACE.slice(1)}-${PARENT}-01`,
      `00-${TRACE}-${PARENT}0-01`,
      `00-${TRACE}-${PARENT}-1`,
      `00-${TRACE}-${PARENT}-01-extra`, // version 00 has exactly four fields
      `00-${TRACE}-${PARENT}-0g`,
      `00_${TRACE}_${PARENT}_01`,
      'zz-' + TRACE + '-' + PARENT + '-01',
      '',
      '-',
      '00',
    ]
    for (const header of invalid) expect(parseTraceparent(header), header).to.equal(undefined)
    for (const value of [undefined, null, 42, {}, [VALID]]) expect(parseTraceparent(value as never)).to.equal(undefined)
  })

  it('reads a later version by the version-00 rules, its further fields ignored', () => {
    expect(parseTraceparent(`01-${TRACE}-${PARENT}-01`)?.traceId).to.equal(TRACE)
    expect(parseTraceparent(`cc-${TRACE}-${PARENT}-01-what-the-future-holds`)?.parentId).to.equal(PARENT)
    // ...but the 55 characters must be followed by the end or a "-".
    expect(parseTraceparent(`cc-${TRACE}-${PARENT}-01x`)).to.equal(undefined)
  })

  it('stays cheap and safe on hostile input: an oversized header is refused without a pathological regex run', () => {
    const huge = `00-${TRACE}-${PARENT}-01-${'a'.repeat(1_000_000)}`
    const started = process.hrtime.bigint()
    expect(parseTraceparent(huge)).to.equal(undefined)
    expect(parseTraceparent(`cc-${TRACE}-${PARENT}-01-${'-'.repeat(100_000)}`)?.traceId).to.equal(TRACE)
    expect(parseTraceparent(' '.repeat(100_000) + 'x')).to.equal(undefined)
    expect(parseTraceparent('0'.repeat(100_000))).to.equal(undefined)
    // Linear, not backtracking: well under a second even on a loaded machine.
    expect(Number(process.hrtime.bigint() - started) / 1e9).to.be.below(1)
  })
})

describe('core/trace: tracestate', () => {
  it('keeps valid members, normalised; drops an invalid or duplicated list whole', () => {
    expect(parseTracestate('congo=t61rcWkgMzE, rojo=00f067aa0ba902b7')).to.equal('congo=t61rcWkgMzE,rojo=00f067aa0ba902b7')
    expect(parseTracestate('tenant@vendor=v,,  a-b_c*d/e=1')).to.equal('tenant@vendor=v,a-b_c*d/e=1')
    expect(parseTracestate('Upper=1')).to.equal(undefined)
    expect(parseTracestate('a=1,a=2')).to.equal(undefined)
    expect(parseTracestate('a=x,y')).to.equal(undefined)
    expect(parseTracestate('a=trailing ,b=1')).to.equal('a=trailing,b=1') // white space around members is optional white space
    expect(parseTracestate('a=has=equals')).to.equal(undefined)
    expect(parseTracestate('')).to.equal(undefined)
    expect(parseTracestate(undefined)).to.equal(undefined)
  })

  it('refuses more than 32 members, and passes on at most 512 characters (members dropped from the end)', () => {
    const members = Array.from({ length: 33 }, (_, i) => `k${i}=v`)
    expect(parseTracestate(members.join(','))).to.equal(undefined)
    expect(parseTracestate(members.slice(0, 32).join(','))?.split(',')).to.have.length(32)
    const long = Array.from({ length: 10 }, (_, i) => `k${i}=${'v'.repeat(100)}`).join(',')
    const kept = parseTracestate(long) as string
    expect(kept.length).to.be.at.most(512)
    expect(kept.startsWith('k0=')).to.equal(true)
  })

  it('comes with a traceparent only: a valid tracestate beside an invalid traceparent is no trace', () => {
    expect(parseTraceparent(VALID, 'congo=t61rcWkgMzE')?.traceState).to.equal('congo=t61rcWkgMzE')
    expect(parseTraceparent(VALID, 'BAD=1')?.traceState).to.equal(undefined)
    expect(parseTraceparent('nope', 'congo=t61rcWkgMzE')).to.equal(undefined)
  })
})

describe('core/trace: the platforms\' trace headers', () => {
  it('maps an AWS X-Ray header to W3C ids (fields in any order, Self and Lineage ignored)', () => {
    const xray = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1'
    expect(parseXRay(xray)).to.deep.equal({ traceId: '5759e988bd862e3fe1be46a994272793', parentId: '53995c3f42cd8ad8', sampled: true, traceState: undefined, origin: 'xray' })
    expect(parseXRay('Self=1-67891234-12456789abcdef012345678;Sampled=0; Root=1-5759E988-BD862E3FE1BE46A994272793;Lineage=a87bd80c:1')).to.include({ traceId: '5759e988bd862e3fe1be46a994272793', parentId: undefined, sampled: false })
    expect(parseXRay('Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=?')?.sampled).to.equal(undefined)
    // The W3C id goes back to the X-Ray form.
    expect(xrayTraceId('5759e988bd862e3fe1be46a994272793')).to.equal('1-5759e988-bd862e3fe1be46a994272793')
  })

  it('ignores an X-Ray header without a valid root, and a bad parent', () => {
    for (const header of ['', 'Parent=53995c3f42cd8ad8', 'Root=2-5759e988-bd862e3fe1be46a994272793', 'Root=1-5759e988-bd862e3fe1be46a99427279', 'Root=1-00000000-000000000000000000000000', 'XRoot=1-5759e988-bd862e3fe1be46a994272793']) {
      expect(parseXRay(header), header).to.equal(undefined)
    }
    expect(parseXRay('Root=1-5759e988-bd862e3fe1be46a994272793;Parent=zz')?.parentId).to.equal(undefined)
    expect(parseXRay('Root=1-5759e988-bd862e3fe1be46a994272793;Parent=0000000000000000')?.parentId).to.equal(undefined)
  })

  it("maps Google's X-Cloud-Trace-Context (decimal span id, o=1 sampled), refusing spans beyond 64 bits", () => {
    expect(parseCloudTrace('105445aa7843bc8bf206b12000100000/1;o=1')).to.include({ traceId: '105445aa7843bc8bf206b12000100000', parentId: '0000000000000001', sampled: true })
    expect(parseCloudTrace('105445aa7843bc8bf206b12000100000/18446744073709551615;o=0')?.parentId).to.equal('ffffffffffffffff')
    expect(parseCloudTrace('105445aa7843bc8bf206b12000100000/18446744073709551616')).to.equal(undefined)
    expect(parseCloudTrace('105445aa7843bc8bf206b12000100000/0')?.parentId).to.equal(undefined)
    expect(parseCloudTrace('00000000000000000000000000000000/1')).to.equal(undefined)
    expect(parseCloudTrace('105445aa7843bc8bf206b1200010000/1')).to.equal(undefined)
  })
})

describe('core/trace: starting an invocation\'s trace', () => {
  it('continues the incoming trace with a span of its own, and starts a valid fresh one otherwise', () => {
    const continued = startTrace(parseTraceparent(VALID, 'congo=t61rcWkgMzE'), undefined)
    expect(continued).to.include({ traceId: TRACE, parentSpanId: PARENT, sampled: true, traceState: 'congo=t61rcWkgMzE', origin: 'traceparent' })
    expect(continued.spanId).to.match(/^[0-9a-f]{16}$/).and.not.equal(PARENT)
    expect(continued.traceparent).to.equal(`00-${TRACE}-${continued.spanId}-01`)
    // What it sends on parses back to the same trace, with this span as the parent.
    expect(parseTraceparent(continued.traceparent)).to.include({ traceId: TRACE, parentId: continued.spanId })
    const fresh = startTrace(undefined, undefined)
    expect(fresh).to.include({ parentSpanId: undefined, sampled: true, origin: 'new' })
    expect(parseTraceparent(fresh.traceparent)?.traceId).to.equal(fresh.traceId)
  })

  it('makes ids that are valid and distinct', () => {
    const spans = new Set(Array.from({ length: 1000 }, () => newSpanId()))
    expect(spans.size).to.equal(1000)
    for (const span of spans) expect(span).to.match(/^[0-9a-f]{16}$/).and.not.equal('0000000000000000')
    const traces = new Set(Array.from({ length: 1000 }, () => newTraceId()))
    expect(traces.size).to.equal(1000)
    for (const trace of traces) expect(parseTraceparent(`00-${trace}-${PARENT}-01`), trace).to.not.equal(undefined)
    // The first 8 digits are the time in seconds: X-Ray accepts the id as a root.
    expect(parseXRay(`Root=${xrayTraceId(newTraceId())}`)).to.not.equal(undefined)
  })

  it('prefers the direct trace (the request\'s, the message\'s) to the platform\'s, unless the platform continues it', () => {
    const direct = parseTraceparent(VALID)
    const other = parseXRay('Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1')
    expect(startTrace(direct, other).traceId).to.equal(TRACE)
    expect(startTrace(undefined, other)).to.include({ traceId: '5759e988bd862e3fe1be46a994272793', parentSpanId: '53995c3f42cd8ad8', origin: 'xray' })
    // The platform's span in the same trace is the nearer parent (Lambda's own segment for the request).
    const same = parseXRay(`Root=${xrayTraceId(TRACE)};Parent=53995c3f42cd8ad8;Sampled=1`)
    expect(startTrace(direct, same)).to.include({ traceId: TRACE, parentSpanId: '53995c3f42cd8ad8' })
    // The X-Ray header of an SQS message, as the trace goes on.
    expect(xrayHeader(startTrace(direct, undefined))).to.match(new RegExp(`^Root=1-${TRACE.slice(0, 8)}-${TRACE.slice(8)};Parent=[0-9a-f]{16};Sampled=1$`))
  })

  it('reads a message carrier: its traceparent, else its X-Ray header; events carry it out of sight', () => {
    expect(carrierTrace({ traceparent: VALID, xray: 'Root=1-5759e988-bd862e3fe1be46a994272793' })).to.include({ traceId: TRACE, origin: 'message' })
    expect(carrierTrace({ traceparent: 'bad', xray: 'Root=1-5759e988-bd862e3fe1be46a994272793' })).to.include({ traceId: '5759e988bd862e3fe1be46a994272793', origin: 'message' })
    expect(carrierTrace({ traceparent: 'bad' })).to.equal(undefined)
    const event = withTrace({ kind: 'queue', id: 'm1' }, { traceparent: VALID })
    expect(Object.keys(event)).to.deep.equal(['kind', 'id'])
    expect(JSON.stringify(event)).to.equal('{"kind":"queue","id":"m1"}')
    expect(eventTrace(event)).to.deep.equal({ traceparent: VALID })
    // A CloudEvent's distributed-tracing extension.
    expect(eventTrace({ kind: 'cloudEvent', extensions: { traceparent: VALID, tracestate: 'a=b' } })).to.deep.equal({ traceparent: VALID, tracestate: 'a=b' })
  })
})

describe('core/trace: the context', () => {
  const context = (init: { headers?: Record<string, string>; incoming?: () => ReturnType<typeof parseXRay>; env?: Record<string, string> } = {}) => {
    const lines: Array<Record<string, unknown>> = []
    const ctx = new PortableContext({
      provider: 'aws',
      requestId: 'r',
      functionName: 'f',
      deadline: Date.now() + 1000,
      env: init.env ?? {},
      native: { provider: 'aws', event: null, context: null },
      sink: (_level, line) => void lines.push(JSON.parse(line) as Record<string, unknown>),
      ...(init.incoming === undefined ? {} : { incoming: init.incoming }),
    })
    if (init.headers !== undefined) {
      const headers = init.headers
      ctx.useRequest({ headers: { get: (name: string) => headers[name] ?? null } })
    }
    return { ctx, lines }
  }

  it('reads the trace lazily, on the first read, and keeps it for the invocation', () => {
    let reads = 0
    const { ctx } = context({ incoming: () => (reads++, parseXRay('Root=1-5759e988-bd862e3fe1be46a994272793')) })
    expect(reads).to.equal(0)
    const first = ctx.trace
    expect(reads).to.equal(1)
    expect(ctx.trace).to.equal(first)
    expect(reads).to.equal(1)
  })

  it('continues the request\'s traceparent and puts the ids on every line, the summary line too', () => {
    const { ctx, lines } = context({ headers: { traceparent: VALID, tracestate: 'congo=t61rcWkgMzE' }, env: { POLYCLOUD_LOG_SUMMARY: 'all' } })
    ctx.log.info('one')
    ctx.log.child({ part: 2 }).warn('two')
    ctx.end('http', { status: 200 })
    expect(lines.map((line) => [line.message, line.traceId, line.parentSpanId, line.spanId])).to.deep.equal([
      ['one', TRACE, PARENT, ctx.trace.spanId],
      ['two', TRACE, PARENT, ctx.trace.spanId],
      ['invocation', TRACE, PARENT, ctx.trace.spanId],
    ])
    expect(ctx.trace.traceState).to.equal('congo=t61rcWkgMzE')
  })

  it('ignores an invalid header (never an error) and a header getter that throws', () => {
    const bad = context({ headers: { traceparent: `00-${'0'.repeat(32)}-${PARENT}-01` } }).ctx
    expect(bad.trace.traceId).to.not.equal('0'.repeat(32))
    expect(bad.trace.parentSpanId).to.equal(undefined)
    const { ctx } = context()
    ctx.useRequest({
      headers: {
        get: () => {
          throw new Error('broken headers')
        },
      },
    })
    expect(ctx.trace.traceId).to.match(/^[0-9a-f]{32}$/)
  })
})

describe('core/trace: traced fetch', () => {
  it("adds the invocation's traceparent (and tracestate) to outgoing requests, keeping one the caller set", async () => {
    const { traced } = await import('@polycloud/core')
    const context = new PortableContext({
      provider: 'aws',
      requestId: 'r',
      functionName: 'f',
      deadline: Date.now() + 1000,
      env: {},
      native: { provider: 'aws', event: null, context: null },
      sink: () => {},
    })
    context.useRequest({ headers: { get: (name: string) => (name === 'traceparent' ? VALID : name === 'tracestate' ? 'congo=t61rcWkgMzE' : null) } })
    const sent: Headers[] = []
    const fake = (async (_input: RequestInfo | URL, init?: RequestInit) => {
      sent.push(new Headers(init?.headers))
      return new Response('ok', { status: 200 })
    }) as typeof fetch
    const tracedFetch = traced(context, fake)
    expect((await tracedFetch('https://api.example.com/a', { method: 'POST', headers: { 'x-other': '1' } })).status).to.equal(200)
    await tracedFetch('https://api.example.com/b', { headers: { traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-00` } })
    expect(sent[0]?.get('traceparent')).to.equal(`00-${TRACE}-${context.trace.spanId}-01`)
    expect(sent[0]?.get('tracestate')).to.equal('congo=t61rcWkgMzE')
    expect(sent[0]?.get('x-other')).to.equal('1')
    expect(sent[1]?.get('traceparent')).to.equal(`00-${'1'.repeat(32)}-${'2'.repeat(16)}-00`)
    // A failing fetch rejects as it did.
    const broken = traced(context, (async () => {
      throw new TypeError('fetch failed')
    }) as typeof fetch)
    let error: unknown
    await broken('https://api.example.com/c').catch((caught: unknown) => (error = caught))
    expect((error as Error).message).to.equal('fetch failed')
  })
})

describe('core/trace: batches', () => {
  const message = (id: string, traceparent?: string): PortableQueueMessage =>
    withTrace(
      new PortableQueueMessage({ id, time: '2024-01-01T00:00:00.000Z', source: 'q', native: null, payload: { text: id }, attributes: {}, queue: 'q', attempt: 1 }),
      traceparent === undefined ? undefined : { traceparent },
    )
  const batchContext = (lines: Array<Record<string, unknown>>): PortableContext =>
    new PortableContext({
      provider: 'aws',
      requestId: 'batch',
      functionName: 'f',
      deadline: Date.now() + 1000,
      env: { POLYCLOUD_LOG_SUMMARY: 'all' },
      native: { provider: 'aws', event: null, context: null },
      sink: (_level, line) => void lines.push(JSON.parse(line) as Record<string, unknown>),
    })

  it('runs a batch of one in the trace its message carries', async () => {
    const lines: Array<Record<string, unknown>> = []
    const context = batchContext(lines)
    let seen: string | undefined
    await runEvents(queue((_m, ctx: Context) => void (seen = ctx.trace.traceId)), [message('m1', VALID)], context, false)
    expect(seen).to.equal(TRACE)
    expect(context.trace.traceId).to.equal(TRACE)
  })

  it('runs each traced message of a larger batch in its own trace, with a message line each', async () => {
    const other = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-00`
    const lines: Array<Record<string, unknown>> = []
    const context = batchContext(lines)
    const seen: Record<string, string> = {}
    const failed = await runEvents(
      queue((m, ctx: Context) => {
        seen[m.id] = ctx.trace.traceId
        ctx.log.info('working', { id: m.id })
        if (m.id === 'm2') throw new Error('no')
      }),
      [message('m1', VALID), message('m2', other), message('m3')],
      context,
      false,
    )
    expect(failed.map((m) => m.id)).to.deep.equal(['m2'])
    expect(seen).to.deep.equal({ m1: TRACE, m2: 'a'.repeat(32), m3: context.trace.traceId })
    expect(seen.m3).to.not.equal(TRACE).and.not.equal('a'.repeat(32))
    // The handler's lines carry their message's trace; each traced message ends with a message line.
    const byId = (id: string) => lines.find((line) => line.message === 'working' && line.id === id)
    expect(byId('m1')?.traceId).to.equal(TRACE)
    expect(byId('m2')?.traceId).to.equal('a'.repeat(32))
    const messageLines = lines.filter((line) => line.polycloud === 'message')
    expect(messageLines.map((line) => [line.eventId, line.outcome, line.traceId])).to.deep.equal([
      ['m1', 'ok', TRACE],
      ['m2', 'error', 'a'.repeat(32)],
    ])
  })
})
