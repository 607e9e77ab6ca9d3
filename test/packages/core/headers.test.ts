import { expect } from 'chai'
import { PortableHeaders } from '@polycloud/core/adapter'

describe('core/headers', () => {
  it('looks names up case-insensitively', () => {
    const headers = PortableHeaders.from({ 'Content-Type': 'text/plain', 'X-Trace': 'abc' })
    expect(headers.get('content-type')).to.equal('text/plain')
    expect(headers.get('CONTENT-TYPE')).to.equal('text/plain')
    expect(headers.has('x-trace')).to.equal(true)
    expect(headers.get('missing')).to.equal(null)
  })

  it('joins repeated values with ", " and prefers the multi-value record', () => {
    const headers = PortableHeaders.from({ accept: 'last-only' }, { Accept: ['a', 'b'], 'X-One': ['1'] })
    expect(headers.get('accept')).to.equal('a, b')
    expect(headers.get('x-one')).to.equal('1')
  })

  it('keeps single-value headers absent from the multi-value record', () => {
    const headers = PortableHeaders.from({ host: 'h', accept: 'x' }, { accept: ['y'] })
    expect(headers.get('host')).to.equal('h')
    expect(headers.get('accept')).to.equal('y')
  })

  it('iterates in name order with lower-case names, like Fetch Headers', () => {
    const headers = PortableHeaders.from({ 'X-B': '2', 'x-a': '1', Host: 'h' })
    expect([...headers]).to.deep.equal([
      ['host', 'h'],
      ['x-a', '1'],
      ['x-b', '2'],
    ])
    expect([...headers.keys()]).to.deep.equal(['host', 'x-a', 'x-b'])
    expect([...headers.values()]).to.deep.equal(['h', '1', '2'])
    const seen: string[] = []
    headers.forEach((value, name) => seen.push(`${name}=${value}`))
    expect(seen).to.deep.equal(['host=h', 'x-a=1', 'x-b=2'])
  })

  it('never returns inherited object members', () => {
    const headers = PortableHeaders.from({ accept: '*/*' })
    expect(headers.get('constructor')).to.equal(null)
    expect(headers.get('toString')).to.equal(null)
    expect(headers.get('__proto__')).to.equal(null)
  })

  it('skips null values and empty lists', () => {
    const headers = PortableHeaders.from({ a: null, b: undefined }, { c: [] })
    expect([...headers]).to.deep.equal([])
  })

  it('looks one header up in a record exactly as the built headers give it (lookup, for the trace)', () => {
    const names = ['traceparent', 'TraceParent', 'TRACEPARENT', 'tracestate', 'x-amzn-trace-id', 'X-Amzn-Trace-Id', 'host', 'constructor', '__proto__']
    const values: unknown[] = ['a', 'b', '', null, undefined, 7, ['c', 'd'], [], [1, 'e'], { x: 1 }]
    let seed = 7
    const pick = <T>(list: readonly T[]): T => list[(seed = (seed * 1103515245 + 12345) % 2147483648) % list.length] as T
    for (let round = 0; round < 2000; round++) {
      const record: Record<string, unknown> = {}
      for (let i = pick([0, 1, 2, 3, 4]); i > 0; i--) Object.defineProperty(record, pick(names), { value: pick(values), enumerable: true, writable: true, configurable: true })
      const built = PortableHeaders.from(record as Record<string, string>)
      for (const name of ['traceparent', 'tracestate', 'x-amzn-trace-id', 'host', 'constructor', '__proto__', 'missing']) {
        expect(PortableHeaders.lookup(record as Record<string, string>, name), `${name} in ${JSON.stringify(record)}`).to.equal(built.get(name))
      }
    }
    expect(PortableHeaders.lookup(null, 'host')).to.equal(null)
    expect(PortableHeaders.lookup(['host'] as unknown as Record<string, string>, 'host')).to.equal(null)
  })

  it('builds from pairs, joining repeats', () => {
    const headers = PortableHeaders.fromEntries([
      ['A', '1'],
      ['a', '2'],
    ])
    expect(headers.get('a')).to.equal('1, 2')
  })

  it('matches what a Fetch Headers object reports', () => {
    const init = { 'Content-Type': 'application/json', Accept: 'a', 'x-z': 'z' }
    expect([...PortableHeaders.from(init)]).to.deep.equal([...new Headers(init)])
  })
})
