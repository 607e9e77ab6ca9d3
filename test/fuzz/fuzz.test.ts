/**
 * The bounded run of the mutation fuzzer (test/fuzz/fuzzer.ts) in `npm test`: a few thousand seeded mutations of
 * every fixture through every module of every adapter, by the providers' own entry points. `npm run fuzz` runs the
 * long version (`-- --events 100000`).
 */
import { expect } from 'chai'
import { fuzz, quietly, type FuzzResult } from './fuzzer.ts'

describe('fuzz: hostile mutations of every fixture through every adapter module', function () {
  this.timeout(120_000)
  let result: FuzzResult

  before(async () => {
    result = await quietly(() => fuzz({ seed: 20240501, events: 3000 }))
  })

  it('finds no defect: nothing escapes unnamed, no HTTP 500, no prototype change, no hang, partial failures only where mutated, no field of the wrong type reaching a handler', () => {
    expect(result.defects, JSON.stringify(result.defects.slice(0, 5), null, 2)).to.deep.equal([])
  })

  it('reaches every outcome a payload can have (so the checks above ran on something)', () => {
    for (const outcome of ['not-recognised', 'translated', 'partial', 'refused', 'http-2xx', 'http-4xx'] as const) {
      expect(result.counts[outcome], outcome).to.be.greaterThan(0)
    }
  })

  it('is the same run for the same seed (deterministic)', async () => {
    const again = await quietly(() => fuzz({ seed: 20240501, events: 300 }))
    const first = await quietly(() => fuzz({ seed: 20240501, events: 300 }))
    expect(again.counts).to.deep.equal(first.counts)
  })
})
