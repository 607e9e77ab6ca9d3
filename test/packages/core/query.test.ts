import { expect } from 'chai'
import { PortableQuery, decodeFormComponent } from '@polycloud/core/adapter'

const cases = [
  'a=1&b=2',
  'a=1&a=2&b',
  '?x=%20y&z=a+b',
  'name=J%C3%BCrgen&emoji=%F0%9F%98%80',
  'bad=%zz&broken=%C3%28&lone=%',
  '=v&&k=&=',
  'a=b=c',
  '',
  'plus+key=plus+value',
]

describe('core/query', () => {
  for (const raw of cases) {
    it(`parses ${JSON.stringify(raw)} exactly as URLSearchParams does`, () => {
      const ours = PortableQuery.parse(raw)
      const theirs = new URLSearchParams(raw)
      expect([...ours]).to.deep.equal([...theirs])
      expect(ours.size).to.equal(theirs.size)
      for (const key of new Set(theirs.keys())) {
        expect(ours.get(key)).to.equal(theirs.get(key))
        expect(ours.getAll(key)).to.deep.equal(theirs.getAll(key))
        expect(ours.has(key)).to.equal(true)
      }
    })
  }

  it('answers null / [] / false for absent keys', () => {
    const query = PortableQuery.parse('a=1')
    expect(query.get('b')).to.equal(null)
    expect(query.getAll('b')).to.deep.equal([])
    expect(query.has('b')).to.equal(false)
    expect(query.has('a', '1')).to.equal(true)
    expect(query.has('a', '2')).to.equal(false)
  })

  it('serialises back: the raw string when parsed, encoded when built from pairs', () => {
    expect(PortableQuery.parse('?a=1&a=2').toString()).to.equal('a=1&a=2')
    expect(PortableQuery.fromPairs([['a b', 'c&d']]).toString()).to.equal('a+b=c%26d')
    expect(PortableQuery.fromPairs([['k', 'v']]).toURLSearchParams().get('k')).to.equal('v')
  })

  it('iterates keys, values and forEach in order', () => {
    const query = PortableQuery.parse('x=1&y=2&x=3')
    expect([...query.keys()]).to.deep.equal(['x', 'y', 'x'])
    expect([...query.values()]).to.deep.equal(['1', '2', '3'])
    const seen: string[] = []
    query.forEach((value, name) => seen.push(name + value))
    expect(seen).to.deep.equal(['x1', 'y2', 'x3'])
  })

  it('decodes form components leniently', () => {
    expect(decodeFormComponent('a+b%21')).to.equal('a b!')
    expect(decodeFormComponent('100%')).to.equal('100%')
    expect(decodeFormComponent('plain')).to.equal('plain')
  })

  it('reads a parameter before the query is parsed exactly as URLSearchParams does', () => {
    const queries = ['', 'a', 'a=', '=', '=x', 'a=1&a=2', '&&a=1&&', 'ab=1&a=2', 'a=b=c', 'a&a=1', 'x=1&y', 'é=ü&k=v;w', 'a=1&', '&']
    const names = ['', 'a', 'ab', 'b', 'x', 'y', 'é', 'k', 'z']
    for (const raw of queries) {
      for (const name of names) {
        expect(PortableQuery.parse(raw).get(name), `${JSON.stringify(raw)} get ${JSON.stringify(name)}`).to.equal(new URLSearchParams(raw).get(name))
      }
    }
  })
})
