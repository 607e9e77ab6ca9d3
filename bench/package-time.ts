// `serverless package` of the demo against its native twin on their own (the row of `npm run bench`, without the
// rest of the bench): one untimed run each, then N interleaved rounds (default 6); medians and their ratio.
//   node --import tsx bench/package-time.ts [rounds]
import { summarize } from './lib/stats.js'
import { ROOT } from '../test/helpers/serverless.js'
import { NATIVE, timePackage } from './serverless.js'

const rounds = Number(process.argv[2] ?? 6)
const portable: number[] = []
const native: number[] = []
await timePackage(ROOT)
await timePackage(NATIVE)
for (let round = 0; round < rounds; round++) {
  for (const which of round % 2 === 0 ? ['portable', 'native'] : ['native', 'portable']) {
    if (which === 'portable') portable.push(await timePackage(ROOT))
    else native.push(await timePackage(NATIVE))
  }
  process.stderr.write(`round ${round + 1}: portable ${portable.at(-1)?.toFixed(0)} ms, native ${native.at(-1)?.toFixed(0)} ms\n`)
}
const p = summarize(portable).median
const n = summarize(native).median
console.log(`serverless package, median of ${rounds}: demo ${p.toFixed(0)} ms, native twin ${n.toFixed(0)} ms, ${(p / n).toFixed(2)}x`)
