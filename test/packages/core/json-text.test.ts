import { expect } from 'chai'
import { EventError, MAX_JSON_DEPTH, jsonText, nestsDeeperThan, readJson, tooDeepMessage } from '@polycloud/core/adapter'

describe('core/json-text', () => {
  it('writes what JSON.stringify writes, for values JSON.stringify can write', () => {
    const values: unknown[] = [null, 1, -0, 1.5, NaN, 'a"b\n', true, [], {}, [1, undefined, () => 1, 'x'], { a: 1, b: undefined, c: [{ d: null }] }, new Date(0), { toJSON: () => 'custom' }, Object.assign(Object.create(null), { x: 1 }), JSON.parse('{"__proto__":{"a":1}}')]
    for (const value of values) expect(jsonText(value)).to.equal(JSON.stringify(value))
    expect(jsonText(undefined)).to.equal(undefined)
  })

  it('writes values nested far deeper than JSON.stringify can, with the same text', () => {
    const text = `${'[{"a":'.repeat(30_000)}1${'}]'.repeat(30_000)}`
    expect(() => JSON.stringify(JSON.parse(text))).to.throw(RangeError)
    expect(jsonText(JSON.parse(text))).to.equal(text)
  })

  it('refuses a cycle and a BigInt as JSON.stringify does', () => {
    const deep: unknown[] = []
    let inner = deep
    for (let i = 0; i < 20_000; i++) inner = (inner[0] = []) as unknown[]
    inner.push(deep)
    expect(() => jsonText(deep)).to.throw(TypeError, /circular/)
    const big: unknown[] = []
    let cursor = big
    for (let i = 0; i < 20_000; i++) cursor = (cursor[0] = []) as unknown[]
    cursor.push(1n)
    expect(() => jsonText(big)).to.throw(TypeError, /BigInt/)
  })

  it('measures depth without recursion', () => {
    expect(nestsDeeperThan(JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`), 1000)).to.equal(true)
    expect(nestsDeeperThan({ a: [{ b: 1 }] }, 3)).to.equal(false)
    expect(nestsDeeperThan({ a: [{ b: 1 }] }, 2)).to.equal(true)
    expect(nestsDeeperThan('text', 0)).to.equal(false)
  })
})

describe('core/json-text: readJson, the depth rule for JSON a handler receives as it is', () => {
  it('passes values up to MAX_JSON_DEPTH and bytes untouched; refuses deeper ones with the one clear message', () => {
    const nested = (levels: number): unknown => JSON.parse(`${'['.repeat(levels)}${']'.repeat(levels)}`)
    const atLimit = nested(MAX_JSON_DEPTH)
    expect(readJson(atLimit, 'data')).to.equal(atLimit)
    const bytes = new Uint8Array(100_000)
    expect(readJson(bytes, 'data')).to.equal(bytes)
    expect(() => readJson(nested(MAX_JSON_DEPTH + 1), 'data')).to.throw(EventError, `data nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep; no provider's event does`)
    expect(tooDeepMessage('the payload')).to.equal("the payload nests arrays and objects more than 1000 levels deep; no provider's event does")
  })
})
