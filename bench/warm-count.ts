// Warm instructions per invocation, on its own (`npm run bench` counts the same as part of its run): the bare
// hand-written handler against the AWS entry the plugin generates for a function with one route
// (createLambdaHttpHandler(hello, [apiGatewayV2])), on one API Gateway v2 event (the bench's `?name=polycloud` GET),
// with the summary line on every invocation (POLYCLOUD_LOG_SUMMARY=all, the default) and on failures only
// (`errors`). Counted by ../shared/tools/instructions (callgrind: the same count run after run), as (count of N
// invocations - count of M) / (N - M) in one process each, both bundles built here as the bench builds them.
//   node --import tsx bench/warm-count.ts            warm: invocations 1,001-11,000 (about 4 minutes on 2 cores)
//   node --import tsx bench/warm-count.ts --steady   also invocations 21,001-41,000 (optimised code; ~10 minutes)
//   node --import tsx bench/warm-count.ts --quick    invocations 101-1,100 (a smoke run)
// The summary lines go to the counter's log file (a file descriptor, as Lambda's is a pipe), not to the terminal.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as esbuild from 'esbuild'
import { count, hasValgrind, instructionsTool, pool } from './instructions.js'

const BENCH = dirname(fileURLToPath(import.meta.url))
const ROOT = dirname(BENCH)
const OUT = join(BENCH, 'out', 'warm-count')
const V2_FIXTURE = 'test/fixtures/events/aws/apigw-http/lgo__apigw-v2-request-no-authorizer.json'
const EXPECTED = '{"hello":"polycloud"}'
const quick = process.argv.includes('--quick')
const steady = process.argv.includes('--steady')

async function build(): Promise<{ bare: string; entry: string; counter: string; event: string }> {
  mkdirSync(OUT, { recursive: true })
  const v2 = JSON.parse(readFileSync(join(ROOT, V2_FIXTURE), 'utf8')) as Record<string, unknown>
  const event = join(OUT, 'v2.json')
  writeFileSync(event, JSON.stringify({ ...v2, rawQueryString: 'name=polycloud', queryStringParameters: { name: 'polycloud' } }))
  const hello = relative(OUT, join(BENCH, 'contenders', 'polycloud-hello.js')).replaceAll('\\', '/')
  const entrySource = join(OUT, 'entry.ts')
  writeFileSync(
    entrySource,
    `import hello from './${hello}'\nimport { createLambdaHttpHandler } from '@polycloud/aws/lambda'\nimport { apiGatewayV2 } from '@polycloud/aws/api-gateway-v2'\nexport const handler = createLambdaHttpHandler(hello, [apiGatewayV2])\n`,
  )
  const bundle: esbuild.BuildOptions = { bundle: true, platform: 'node', format: 'cjs', target: 'node20', minify: true, absWorkingDir: ROOT, logLevel: 'error' }
  const bare = join(OUT, 'bare.cjs')
  const entry = join(OUT, 'entry.cjs')
  const counter = join(OUT, 'count.cjs')
  await esbuild.build({ ...bundle, entryPoints: [join(BENCH, 'contenders', 'bare.ts')], outfile: bare })
  await esbuild.build({ ...bundle, entryPoints: [entrySource], outfile: entry })
  await esbuild.build({ ...bundle, minify: false, entryPoints: [join(BENCH, 'count.ts')], outfile: counter })
  return { bare, entry, counter, event }
}

async function main(): Promise<void> {
  const tool = instructionsTool()
  if (tool === undefined || !(await hasValgrind())) {
    console.log('warm-count: needs valgrind and ../shared/tools/instructions (or INSTRUCTIONS): nothing counted')
    return
  }
  const { bare, entry, counter, event } = await build()
  const spans: Array<[string, number, number]> = [quick ? ['warm', 100, 1100] : ['warm', 1000, 11000]]
  if (steady) spans.push(['steady', 21000, 41000])
  const cases: Array<[string, string, Record<string, string>]> = [
    ['bare', bare, {}],
    ['entry, summary all', entry, { POLYCLOUD_LOG_SUMMARY: 'all' }],
    ['entry, summary errors', entry, { POLYCLOUD_LOG_SUMMARY: 'errors' }],
  ]
  const jobs = spans.flatMap(([, lo, hi]) =>
    cases.flatMap(([, file, env]) => [lo, hi].map((n) => () => count(tool, [counter, file, event, String(n), EXPECTED], env))),
  )
  process.stderr.write(`warm-count: ${jobs.length} counts, two at a time...\n`)
  const counts = await pool(jobs)
  let at = 0
  for (const [name, lo, hi] of spans) {
    const per: number[] = []
    for (const [label] of cases) {
      const a = counts[at++] as number
      const b = counts[at++] as number
      per.push(Math.round((b - a) / (hi - lo)))
      console.log(`${name} (invocations ${lo + 1}-${hi}) ${label}: ${per.at(-1)} instructions per invocation`)
    }
    const floor = per[0] as number
    console.log(`${name}: entry ${(per[1]! / floor).toFixed(2)}x bare with the summary line, ${(per[2]! / floor).toFixed(2)}x without (target <= 2x)`)
  }
}

await main()
