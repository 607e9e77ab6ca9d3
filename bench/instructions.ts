// The instruction-count figures of `npm run bench`: CPU instructions counted by ../shared/tools/instructions
// (callgrind; the same count run after run, where timings here move 3-7x), one API Gateway v2 event.
//   cold: a fresh process that loads the bundle and answers one event, minus the same with an empty handler;
//   warm: invocations 1,001 to 11,000 of one process (V8 still optimising: what a young instance costs), and
//   steady: invocations 21,001 to 41,000 (optimised code only), each per invocation.
// Bundles: the bare handler, the generated AWS entry (createLambdaHttpHandler(hello, [apiGatewayV2])), the
// lambda(hello) form (every AWS format), and the entry as the plugin deploys it: with its linked source map read by
// @polycloud/core/map-stack-traces, against the same bundle under NODE_OPTIONS=--enable-source-maps (what the
// plugin set before). Needs valgrind: without it (or without the tool), one line says so and nothing is counted.
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as esbuild from 'esbuild'

const BENCH = dirname(fileURLToPath(import.meta.url))
const ROOT = dirname(BENCH)
const EXPECTED = '{"hello":"polycloud"}'

export interface InstructionBundles {
  /** The v2 event file (`?name=polycloud`). */
  event: string
  bare: string
  entry: string
  lambdaForm: string
}

export interface InstructionFigures {
  tool: string
  /** Millions of instructions above an empty handler: load the bundle and answer one event. */
  coldM: { bare: number; entry: number; lambdaForm: number; deployedBase: number; deployed: number; deployedFlag: number }
  /** Instructions per invocation, invocations 1,001-11,000 and 21,001-41,000 (not counted with --quick). */
  warm: { bare: number; entry: number }
  steady?: { bare: number; entry: number }
  bytes: { deployed: number; deployedMap: number }
}

/** The counter: INSTRUCTIONS, else shared/tools/instructions beside the checkout (or beside its worktrees). */
export function instructionsTool(): string | undefined {
  const candidates = [process.env.INSTRUCTIONS, join(ROOT, '..', 'shared', 'tools', 'instructions'), join(ROOT, '..', '..', 'shared', 'tools', 'instructions')]
  return candidates.find((path): path is string => path !== undefined && existsSync(path))
}

export function hasValgrind(): Promise<boolean> {
  return new Promise((resolve) => execFile('valgrind', ['--version'], (error) => resolve(error === null)))
}

/** Counts one command under the counter (`env` added to the environment, NODE_OPTIONS removed). */
export function count(tool: string, args: readonly string[], extraEnv: Readonly<Record<string, string>> = {}): Promise<number> {
  const env = { ...process.env, ...extraEnv }
  delete env.NODE_OPTIONS
  return new Promise((resolve, reject) => {
    execFile(tool, args, { env, timeout: 20 * 60_000, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      const n = Number(stdout.trim().split('\n').pop())
      if (error || !Number.isFinite(n)) reject(new Error(`instructions ${args.join(' ')} failed: ${stderr.trim() || error?.message}`))
      else resolve(n)
    })
  })
}

/** Runs the jobs two at a time (the machine has two cores; callgrind runs one thread). */
export async function pool<T>(jobs: ReadonlyArray<() => Promise<T>>): Promise<T[]> {
  const results: T[] = new Array(jobs.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const index = next++
      results[index] = await (jobs[index] as () => Promise<T>)()
    }
  }
  await Promise.all([worker(), worker()])
  return results
}

/** The hello entry as the plugin writes and serverless-esbuild bundles it (the demo's custom.esbuild settings). */
async function deployedBundles(out: string): Promise<{ mapped: string; flagged: string }> {
  const dir = join(out, 'deployed')
  mkdirSync(dir, { recursive: true })
  const hello = relative(dir, join(BENCH, 'contenders', 'polycloud-hello.js')).replaceAll('\\', '/')
  const body = [
    `import hello from './${hello}'`,
    `import { createLambdaHttpHandler } from '@polycloud/aws/lambda'`,
    `import { apiGatewayV2 } from '@polycloud/aws/api-gateway-v2'`,
    `export const handler = createLambdaHttpHandler(hello, [apiGatewayV2], "handlers/hello.default")`,
  ]
  writeFileSync(join(dir, 'hello.js'), [`import '@polycloud/core/map-stack-traces'`, ...body, ''].join('\n'))
  writeFileSync(join(dir, 'hello-flag.js'), [...body, ''].join('\n'))
  const options: esbuild.BuildOptions = {
    bundle: true,
    minify: true,
    sourcemap: 'linked',
    sourcesContent: false,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    absWorkingDir: ROOT,
    logLevel: 'error',
  }
  const mapped = join(dir, 'hello.cjs')
  const flagged = join(dir, 'hello-flag.cjs')
  await esbuild.build({ ...options, entryPoints: [join(dir, 'hello.js')], outfile: mapped })
  await esbuild.build({ ...options, entryPoints: [join(dir, 'hello-flag.js')], outfile: flagged })
  return { mapped, flagged }
}

export async function instructionFigures(options: {
  out: string
  countScript: string
  bundles: InstructionBundles
  quick: boolean
  log: (line: string) => void
}): Promise<InstructionFigures | string> {
  const tool = instructionsTool()
  if (tool === undefined) return 'instruction counts skipped: ../shared/tools/instructions not found (set INSTRUCTIONS to its path)'
  if (!(await hasValgrind())) return 'instruction counts skipped: valgrind is not installed (apt-get install valgrind)'
  const { out, countScript, bundles, quick, log } = options
  const empty = join(out, 'empty.cjs')
  writeFileSync(empty, 'exports.handler = async () => ({ statusCode: 200, body: \'{"hello":"polycloud"}\' })\n')
  const deployed = await deployedBundles(out)
  const run = (bundle: string, invocations: number, flags: readonly string[] = []) => () =>
    count(tool, [...flags, countScript, bundle, bundles.event, String(invocations), EXPECTED])

  log('instructions: cold (a fresh process each: empty, bare, entry, lambda form, deployed with the mapper and with --enable-source-maps)...')
  const [e, bare, entry, lambdaForm, base, mapped, flagged] = await pool([
    run(empty, 1),
    run(bundles.bare, 1),
    run(bundles.entry, 1),
    run(bundles.lambdaForm, 1),
    run(deployed.flagged, 1),
    run(deployed.mapped, 1),
    run(deployed.flagged, 1, ['--enable-source-maps']),
  ])
  const above = (n: number | undefined): number => ((n as number) - (e as number)) / 1e6
  const [lo, hi] = quick ? [100, 1100] : [1000, 11000]
  log(`instructions: warm (invocations ${lo + 1}-${hi}, bare and entry)...`)
  const [bareLo, bareHi, entryLo, entryHi] = await pool([run(bundles.bare, lo), run(bundles.bare, hi), run(bundles.entry, lo), run(bundles.entry, hi)])
  const per = (a: number | undefined, b: number | undefined, n: number): number => Math.round(((b as number) - (a as number)) / n)
  let steady: InstructionFigures['steady']
  if (!quick) {
    log('instructions: steady (invocations 21,001-41,000, bare and entry)...')
    const [b1, b2, e1, e2] = await pool([run(bundles.bare, 21000), run(bundles.bare, 41000), run(bundles.entry, 21000), run(bundles.entry, 41000)])
    steady = { bare: per(b1, b2, 20000), entry: per(e1, e2, 20000) }
  }
  return {
    tool,
    coldM: {
      bare: above(bare),
      entry: above(entry),
      lambdaForm: above(lambdaForm),
      deployedBase: above(base),
      deployed: above(mapped),
      deployedFlag: above(flagged),
    },
    warm: { bare: per(bareLo, bareHi, hi - lo), entry: per(entryLo, entryHi, hi - lo) },
    steady,
    bytes: { deployed: statSync(deployed.mapped).size, deployedMap: statSync(`${deployed.mapped}.map`).size },
  }
}
