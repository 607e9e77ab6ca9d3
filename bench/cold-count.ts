// Cold-start instruction counts on their own (issue 19's cold rows), in a few minutes instead of the whole bench:
//   node --import tsx bench/cold-count.ts [--inputs] [--only entry,lambda,...]
// Builds into bench/out/cold/ the bundles `npm run bench` counts (same esbuild settings: platform node, cjs, minified,
// target node20), counts with ../shared/tools/instructions (callgrind: the same figure run after run) a fresh
// `node count.cjs <bundle> <v2 event> 1` for each, and prints millions of instructions above an empty handler:
//   bare     the hand-written handler (bench/contenders/bare.ts)
//   entry    the entry the plugin generates for a route: createLambdaHttpHandler(hello, [apiGatewayV2])
//   lambda   the lambda(hello) form (every AWS format), and its ratio to the entry
//   base     the deployed entry (the demo's custom.esbuild: node22, linked map), without the stack mapper
//   mapped   the same with the plugin's first import (lib/map-stack-traces.js: the mapper as text, compiled on demand)
// With the bundles' minified sizes (the hello contender, core + AWS adapter + handler, is the issue's bundle row).
// --inputs lists each bundle's modules by bytes in the output (esbuild's metafile), to see what the entry pulls in.
// The environment passes through (NODE_OPTIONS aside): POLYCLOUD_LOG_SUMMARY=errors counts without the summary line.
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as esbuild from 'esbuild'
import { count, deployedBundles, hasValgrind, instructionsTool, pool } from './instructions.js'

const BENCH = dirname(fileURLToPath(import.meta.url))
const ROOT = dirname(BENCH)
const OUT = join(BENCH, 'out', 'cold')
const V2_FIXTURE = 'test/fixtures/events/aws/apigw-http/lgo__apigw-v2-request-no-authorizer.json'
const EXPECTED = '{"hello":"polycloud"}'

const args = process.argv.slice(2)
const showInputs = args.includes('--inputs')
const onlyAt = args.indexOf('--only')
const only = onlyAt === -1 ? undefined : new Set((args[onlyAt + 1] ?? '').split(','))

const common: esbuild.BuildOptions = { bundle: true, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'error', absWorkingDir: ROOT }

async function build(name: string, contents: string): Promise<{ file: string; metafile?: esbuild.Metafile }> {
  const entry = join(OUT, `${name}.ts`)
  writeFileSync(entry, contents)
  const file = join(OUT, `${name}.cjs`)
  const result = await esbuild.build({ ...common, minify: true, metafile: true, entryPoints: [entry], outfile: file })
  return { file, metafile: result.metafile }
}

function listInputs(name: string, metafile: esbuild.Metafile | undefined): void {
  const output = Object.values(metafile?.outputs ?? {})[0]
  const inputs = Object.entries(output?.inputs ?? {}).sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput)
  console.log(`\n${name}: ${inputs.length} modules`)
  for (const [input, { bytesInOutput }] of inputs) console.log(`  ${String(bytesInOutput).padStart(7)}  ${input}`)
}

async function main(): Promise<void> {
  const tool = instructionsTool()
  if (tool === undefined) throw new Error('../shared/tools/instructions not found (set INSTRUCTIONS to its path)')
  if (!(await hasValgrind())) throw new Error('valgrind is not installed (apt-get install valgrind)')
  mkdirSync(OUT, { recursive: true })
  const event = join(OUT, 'v2.json')
  const v2 = JSON.parse(readFileSync(join(ROOT, V2_FIXTURE), 'utf8')) as Record<string, unknown>
  writeFileSync(event, JSON.stringify({ ...v2, rawQueryString: 'name=polycloud', queryStringParameters: { name: 'polycloud' } }))
  const empty = join(OUT, 'empty.cjs')
  writeFileSync(empty, `exports.handler = async () => ({ statusCode: 200, body: '${EXPECTED}' })\n`)
  const countScript = join(OUT, 'count.cjs')
  await esbuild.build({ ...common, entryPoints: [join(BENCH, 'count.ts')], outfile: countScript })

  const hello = relative(OUT, join(BENCH, 'contenders', 'polycloud-hello.js')).replaceAll('\\', '/')
  const bundles = {
    bare: await build('bare', `export * from '${relative(OUT, join(BENCH, 'contenders', 'bare.js')).replaceAll('\\', '/')}'\n`),
    contender: await build('polycloud', `export * from '${relative(OUT, join(BENCH, 'contenders', 'polycloud.js')).replaceAll('\\', '/')}'\n`),
    entry: await build(
      'entry',
      `import hello from '${hello}'\nimport { createLambdaHttpHandler } from '@polycloud/aws/lambda'\nimport { apiGatewayV2 } from '@polycloud/aws/api-gateway-v2'\nexport const handler = createLambdaHttpHandler(hello, [apiGatewayV2])\n`,
    ),
    lambda: await build('lambda', `import hello from '${hello}'\nimport { lambda } from '@polycloud/aws'\nexport const handler = lambda(hello)\n`),
  }
  const deployed = await deployedBundles(OUT)
  await esbuild.stop()

  console.log('bundle sizes, minified (bytes):')
  for (const [name, { file }] of Object.entries(bundles)) console.log(`  ${name.padEnd(10)} ${String(statSync(file).size).padStart(7)}  ${relative(ROOT, file)}`)
  console.log(`  ${'deployed'.padEnd(10)} ${String(statSync(deployed.mapped).size).padStart(7)}  ${relative(ROOT, deployed.mapped)} (map ${statSync(`${deployed.mapped}.map`).size})`)
  if (showInputs) for (const [name, { metafile }] of Object.entries(bundles)) if (name !== 'bare') listInputs(name, metafile)

  const jobs: Record<string, string> = {
    empty,
    bare: bundles.bare.file,
    entry: bundles.entry.file,
    lambda: bundles.lambda.file,
    base: deployed.flagged,
    mapped: deployed.mapped,
  }
  const names = Object.keys(jobs).filter((name) => name === 'empty' || only === undefined || only.has(name) || (only.has('mapped') && name === 'base'))
  process.stderr.write(`counting ${names.join(', ')} (callgrind, two at a time)...\n`)
  const counts = await pool(names.map((name) => () => count(tool, [countScript, jobs[name] as string, event, '1', EXPECTED])))
  const of = new Map(names.map((name, i) => [name, counts[i] as number]))
  const above = (name: string): number | undefined => (of.has(name) ? ((of.get(name) as number) - (of.get('empty') as number)) / 1e6 : undefined)
  console.log(`\ncold, million instructions above an empty handler (${((of.get('empty') as number) / 1e6).toFixed(2)} M):`)
  for (const name of names.slice(1)) {
    const m = above(name) as number
    let note = ''
    if (name === 'lambda' && above('entry') !== undefined) note = `  ${(m / (above('entry') as number)).toFixed(2)}x the entry`
    if (name === 'mapped' && above('base') !== undefined) note = `  +${(m - (above('base') as number)).toFixed(2)} M for the mapper`
    console.log(`  ${name.padEnd(8)} ${m.toFixed(2).padStart(7)}${note}`)
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`cold-count failed: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
})
