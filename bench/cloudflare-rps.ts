// The Cloudflare rows of `npm run bench` on their own: requests per second of the hello service Worker against a bare
// `export default { fetch }` Worker on the same workerd (see cloudflare.ts), in interleaved rounds, and the ratio.
//   node --import tsx bench/cloudflare-rps.ts [--quick] [--runs N]   (N whole runs, each with its own ratio)
import { cloudflareFigures } from './cloudflare.js'

const quick = process.argv.includes('--quick')
const at = process.argv.indexOf('--runs')
const runs = at === -1 ? 1 : Math.max(1, Number(process.argv[at + 1]) || 1)
for (let run = 1; run <= runs; run++) {
  const figures = await cloudflareFigures({ quick, log: (line) => process.stderr.write(`${line}\n`) })
  const { polycloud, bare } = figures.rps
  console.log(
    `run ${run}: polycloud ${Math.round(polycloud.median)} req/s, bare ${Math.round(bare.median)} req/s: ${figures.rpsRatio.toFixed(3)}x (median of ${figures.rounds} rounds of ${figures.seconds} s; target >= 0.95x)`,
  )
}
