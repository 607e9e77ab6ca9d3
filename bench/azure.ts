// The Azure figures of `npm run bench`: the hello handler through Polycloud's adapter against a bare v4 handler,
// both invoked through @azure/functions' own invocation model on the same library objects (warm ns per
// invocation, in one process; cold start: a fresh process requiring its bundle and serving one request). See
// bench/README.md.
import { runNode } from './lib/child.js'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as esbuild from 'esbuild'
import { ROOT } from '../test/helpers/serverless.js'
import { summarize, type Summary } from './lib/stats.js'

const CONTENDERS = ['polycloud', 'bare'] as const
type Contender = (typeof CONTENDERS)[number]

export interface AzureFigures {
  warm: Record<Contender, Summary>
  warmRatio: number
  cold: Record<Contender, { total: Summary; load: Summary; first: Summary }>
  coldRatio: number
  bundleBytes: Record<Contender, number>
}

function node(args: readonly string[]): Promise<string> {
  const [file, ...rest] = args as [string, ...string[]]
  return runNode(file, rest, { timeoutMs: 10 * 60_000 })
}

async function build(out: string, which: 'polycloud' | 'bare' | 'both'): Promise<string> {
  const outfile = join(out, `azure-${which}.cjs`)
  await esbuild.build({
    entryPoints: [join(ROOT, 'bench', 'azure', 'contenders.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minify: true,
    // As deployed: the library is in the bundle, the worker's core module is not.
    external: ['@azure/functions-core'],
    define: { BENCH_AZURE: JSON.stringify(which) },
    absWorkingDir: ROOT,
    logLevel: 'error',
  })
  return outfile
}

export async function azureFigures(options: { out: string; quick: boolean; rounds: number; batchMs: number; coldSamples: number; log: (message: string) => void }): Promise<AzureFigures> {
  const { out, log } = options
  const child = join(out, 'azure-child.cjs')
  await esbuild.build({ entryPoints: [join(ROOT, 'bench', 'azure', 'child.ts')], outfile: child, bundle: true, platform: 'node', format: 'cjs', target: 'node20', absWorkingDir: ROOT, logLevel: 'error' })
  const both = await build(out, 'both')
  const single = { polycloud: await build(out, 'polycloud'), bare: await build(out, 'bare') }

  log(`azure warm: ${options.rounds} interleaved rounds through the invocation model...`)
  const result = join(out, 'azure-warm.json')
  await node([child, 'warm', both, String(options.rounds), String(options.batchMs), result])
  const warmSamples = JSON.parse(readFileSync(result, 'utf8')) as { samples: Record<Contender, number[]> }
  const warm = { polycloud: summarize(warmSamples.samples.polycloud), bare: summarize(warmSamples.samples.bare) }

  log(`azure cold: ${options.coldSamples} fresh processes per contender, interleaved...`)
  const samples: Record<Contender, Array<{ loadMs: number; firstMs: number; totalMs: number }>> = { polycloud: [], bare: [] }
  for (let k = -1; k < options.coldSamples; k++) {
    for (let j = 0; j < CONTENDERS.length; j++) {
      const name = CONTENDERS[(Math.max(k, 0) + j) % CONTENDERS.length] as Contender
      const line = (await node([child, 'cold', single[name], name])).trim().split('\n').pop() ?? '{}'
      // The first round is discarded: it puts node and the bundles in the page cache.
      if (k >= 0) samples[name].push(JSON.parse(line) as { loadMs: number; firstMs: number; totalMs: number })
    }
  }
  const cold = Object.fromEntries(
    CONTENDERS.map((name) => [
      name,
      { total: summarize(samples[name].map((s) => s.totalMs)), load: summarize(samples[name].map((s) => s.loadMs)), first: summarize(samples[name].map((s) => s.firstMs)) },
    ]),
  ) as AzureFigures['cold']

  await esbuild.stop()
  return {
    warm,
    warmRatio: warm.polycloud.median / warm.bare.median,
    cold,
    coldRatio: cold.polycloud.total.median / cold.bare.total.median,
    bundleBytes: { polycloud: readFileSync(single.polycloud).length, bare: readFileSync(single.bare).length },
  }
}
