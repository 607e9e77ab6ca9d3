// `npm run bench`: warm invocation cost, cold start and bundle size of a "hello" Lambda handler, Polycloud against
// a hand-written handler (the floor), Hono's Lambda adapter and serverless-http. See bench/README.md.
// Options: --quick (a smoke run: few rounds and samples, numbers not to be quoted).
import { runNode } from './lib/child.js'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import * as esbuild from 'esbuild'
import { summarize, type Summary } from './lib/stats.js'
import { fixed, ratio, renderTable } from './lib/table.js'
import type { WarmConfig, WarmResult } from './warm.js'
import { authFigures } from './auth.js'
import { azureFigures } from './azure.js'
import { providerPackageFigures, serverlessFigures } from './serverless.js'
import { googleFigures } from './google.js'
import { cloudflareFigures } from './cloudflare.js'
import { instructionFigures } from './instructions.js'
import { resourceFigures } from './resources.js'
import { telemetryFigures } from './telemetry.js'

const BENCH = dirname(fileURLToPath(import.meta.url))
const ROOT = dirname(BENCH)
const OUT = join(BENCH, 'out')
const QUICK = process.argv.includes('--quick')

const SETTINGS = QUICK
  ? { warmupMs: 100, batchMs: 3, rounds: 30, coldSamples: 5 }
  : { warmupMs: 400, batchMs: 5, rounds: 250, coldSamples: 25 }

/** Polycloud's targets (from the issue) and the numbers its author measured on this machine. */
const TARGETS = { warmNs: 3000, coldMs: 3, sizeBytes: 6 * 1024 }
const REFERENCE: Record<string, { warmUs: number; coldMs: number; sizeKB: number }> = {
  bare: { warmUs: 0.6, coldMs: 1.1, sizeKB: 0.6 },
  'serverless-http': { warmUs: 11, coldMs: 9, sizeKB: 18 },
  hono: { warmUs: 37, coldMs: 30, sizeKB: 25 },
}

const CONTENDERS = ['bare', 'polycloud', 'hono', 'serverless-http'] as const
type Contender = (typeof CONTENDERS)[number]
const FLOOR: Contender = 'bare'

/** Provider runtime libraries: never bundled (the platform or the function's own dependencies provide them). */
const EXTERNAL = ['@azure/functions', '@google-cloud/functions-framework']

/**
 * Markers of each cloud's code in a bundle: source names (`<provider>:<format>`), runtime libraries and payload
 * vocabulary. A provider's hello bundle must hold none of the other clouds' markers.
 */
const MARKERS: Record<string, readonly string[]> = {
  aws: ['aws:', 'awsRequestId', 'execute-api', '@aws-sdk'],
  azure: ['@azure/functions', 'azure:', 'Microsoft.Storage', 'InvocationContext'],
  gcp: ['functions-framework', 'gcp:', 'google.cloud', 'googleapis.com'],
  cloudflare: ['cloudflare', 'cf-ray', '__STATIC_CONTENT'],
}

/** The other adapters' runtime wrappers, looked up in their package index; missing ones are skipped with a note. */
const OTHER_PROVIDERS = [
  { provider: 'azure', pkg: '@polycloud/azure', wrapper: 'createAzureHandler', exportAs: 'handler', runtime: '@azure/functions' },
  { provider: 'gcp', pkg: '@polycloud/gcp', wrapper: 'toHttpFunction', exportAs: 'handler', runtime: '@google-cloud/functions-framework' },
  { provider: 'cloudflare', pkg: '@polycloud/cloudflare', wrapper: 'createWorker', exportAs: 'default', runtime: '' },
] as const

const V2_FIXTURE = 'test/fixtures/events/aws/apigw-http/lgo__apigw-v2-request-no-authorizer.json'
const V1_FIXTURE = 'test/fixtures/events/aws/apigw-rest/lgo__apigw-request.json'
const V2_QUERY = { name: 'polycloud' }

interface BundleInfo {
  file: string
  bytes: number
  gzipBytes: number
  /** Markers of each cloud found in the bundle text. */
  markers: Record<string, string[]>
  /** Bytes each package contributes to the minified output, largest first. */
  inputs: Array<{ package: string; bytes: number }>
}

function log(message: string): void {
  process.stderr.write(`${message}\n`)
}

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version
  } catch {
    return 'not installed'
  }
}

function machine() {
  const cpus = os.cpus()
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpu: `${cpus[0]?.model.trim() ?? 'unknown'} x ${cpus.length}`,
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
    versions: {
      esbuild: esbuild.version,
      hono: packageVersion('hono'),
      'serverless-http': packageVersion('serverless-http'),
    },
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Events

interface EventSpec {
  key: string
  path: string
  expected: string
  verifyOnly?: boolean
  source: string
  note: string
}

function writeEvents(): EventSpec[] {
  const dir = join(OUT, 'events')
  mkdirSync(dir, { recursive: true })
  const v2 = JSON.parse(readFileSync(join(ROOT, V2_FIXTURE), 'utf8')) as Record<string, unknown>
  const v1 = JSON.parse(readFileSync(join(ROOT, V1_FIXTURE), 'utf8')) as Record<string, unknown>
  // The v2 fixture is a captured `curl` GET with an empty query; the bench request is the same GET with
  // `?name=polycloud`, written the way API Gateway writes it (raw string and parsed map), so every contender
  // really parses a query and a wrong parse shows as a wrong answer instead of the default.
  const v2Query = {
    ...v2,
    rawQueryString: new URLSearchParams(V2_QUERY).toString(),
    queryStringParameters: { ...V2_QUERY },
  }
  const specs: EventSpec[] = [
    {
      key: 'v2',
      path: join(dir, 'v2.json'),
      expected: V2_QUERY.name,
      source: V2_FIXTURE,
      note: 'fixture with rawQueryString "name=polycloud" and queryStringParameters {name: "polycloud"} set',
    },
    { key: 'v1', path: join(dir, 'v1.json'), expected: 'me', source: V1_FIXTURE, note: 'fixture as is (?name=me)' },
    {
      key: 'v2-fixture',
      path: join(dir, 'v2-fixture.json'),
      expected: 'world',
      verifyOnly: true,
      source: V2_FIXTURE,
      note: 'fixture as is (no query): checked, not timed',
    },
  ]
  writeFileSync(specs[0]!.path, JSON.stringify(v2Query))
  writeFileSync(specs[1]!.path, JSON.stringify(v1))
  writeFileSync(specs[2]!.path, JSON.stringify(v2))
  return specs
}

// ---------------------------------------------------------------------------------------------------------------
// Bundles

const BUNDLE_OPTIONS: esbuild.BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minify: true,
  external: EXTERNAL,
  metafile: true,
  write: true,
  logLevel: 'error',
}

function packageOf(input: string): string {
  const at = input.lastIndexOf('node_modules/')
  if (at !== -1) {
    const rest = input.slice(at + 'node_modules/'.length).split('/')
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? input)
  }
  const workspace = /^(packages|adapters)\/([^/]+)\//.exec(input)
  if (workspace) return workspace[1] === 'adapters' ? `@polycloud/${workspace[2]}` : `@polycloud/${workspace[2]}`
  return relative('.', input).startsWith('bench/') ? '(entry)' : input
}

async function bundle(entry: string, outfile: string): Promise<BundleInfo> {
  const result = await esbuild.build({ ...BUNDLE_OPTIONS, entryPoints: [entry], outfile, absWorkingDir: ROOT })
  const text = readFileSync(outfile, 'utf8')
  const markers: Record<string, string[]> = {}
  for (const [cloud, list] of Object.entries(MARKERS)) markers[cloud] = list.filter((m) => text.includes(m))
  const perPackage = new Map<string, number>()
  const output = Object.values(result.metafile?.outputs ?? {})[0]
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const name = packageOf(input)
    perPackage.set(name, (perPackage.get(name) ?? 0) + bytesInOutput)
  }
  return {
    file: relative(ROOT, outfile),
    bytes: Buffer.byteLength(text),
    gzipBytes: gzipSync(text, { level: 9 }).length,
    markers,
    inputs: [...perPackage].map(([pkg, bytes]) => ({ package: pkg, bytes })).sort((a, b) => b.bytes - a.bytes),
  }
}

/** The scripts run in child processes: bundled too, so children run on plain `node` without loader hooks. */
async function buildChildren(): Promise<{ warm: string; cold: string; count: string }> {
  const common: esbuild.BuildOptions = {
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'error',
    absWorkingDir: ROOT,
  }
  const warm = join(OUT, 'warm.cjs')
  const cold = join(OUT, 'cold.cjs')
  await esbuild.build({ ...common, entryPoints: [join(BENCH, 'warm.ts')], outfile: warm })
  const count = join(OUT, 'count.cjs')
  await esbuild.build({ ...common, entryPoints: [join(BENCH, 'cold.ts')], outfile: cold })
  await esbuild.build({ ...common, entryPoints: [join(BENCH, 'count.ts')], outfile: count })
  return { warm, cold, count }
}

interface ProviderSize {
  provider: string
  entry: string
  bundle?: BundleInfo
  otherCloudMarkers?: string[]
  skipped?: string
  note?: string
}

function isHttpSource(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false
  const v = value as Record<string, unknown>
  return v.kind === 'http' && typeof v.canHandle === 'function' && typeof v.getRequest === 'function'
}

function otherMarkers(provider: string, info: BundleInfo): string[] {
  return Object.entries(info.markers).flatMap(([cloud, found]) => (cloud === provider ? [] : found))
}

async function providerSizes(): Promise<ProviderSize[]> {
  const dir = join(OUT, 'entries')
  mkdirSync(dir, { recursive: true })
  const hello = relative(dir, join(BENCH, 'contenders', 'polycloud-hello.js')).replaceAll('\\', '/')
  // What the Serverless plugin generates for a function with one `route` event (an HTTP API): its handler wrapped
  // with the payload 2.0 format only.
  const awsEntry = join(dir, 'aws.ts')
  writeFileSync(
    awsEntry,
    `import hello from './${hello}'\nimport { createLambdaHttpHandler } from '@polycloud/aws/lambda'\nimport { apiGatewayV2 } from '@polycloud/aws/api-gateway-v2'\nexport const handler = createLambdaHttpHandler(hello, [apiGatewayV2])\n`,
  )
  const aws = await bundle(awsEntry, join(OUT, 'provider-aws.cjs'))
  const sizes: ProviderSize[] = [
    {
      provider: 'aws',
      entry: relative(ROOT, awsEntry),
      bundle: aws,
      otherCloudMarkers: otherMarkers('aws', aws),
      note: 'createLambdaHttpHandler(hello, [apiGatewayV2]): the generated entry of a function with one route',
    },
  ]

  // For comparison: the convenience form `lambda(hello)`, which reads every AWS format.
  const allEntry = join(dir, 'aws-all-sources.ts')
  writeFileSync(
    allEntry,
    `import hello from './${hello}'\nimport { lambda } from '@polycloud/aws'\nexport const handler = lambda(hello)\n`,
  )
  const all = await bundle(allEntry, join(OUT, 'provider-aws-all-sources.cjs'))
  sizes.push({
    provider: 'aws (all sources)',
    entry: relative(ROOT, allEntry),
    bundle: all,
    otherCloudMarkers: otherMarkers('aws', all),
    note: 'lambda(hello): every AWS format, for comparison',
  })

  for (const { provider, pkg, wrapper, exportAs, runtime } of OTHER_PROVIDERS) {
    let mod: Record<string, unknown>
    try {
      mod = (await import(pkg)) as Record<string, unknown>
    } catch (error) {
      sizes.push({ provider, entry: '', skipped: `${pkg} does not load: ${(error as Error).message.split('\n')[0]}` })
      continue
    }
    if (typeof mod[wrapper] !== 'function') {
      sizes.push({ provider, entry: '', skipped: `${pkg} does not export ${wrapper} yet` })
      continue
    }
    const sources = Object.keys(mod).filter((name) => isHttpSource(mod[name])).sort()
    const call = sources.length > 0 ? `${wrapper}(hello, [${sources.join(', ')}])` : `${wrapper}(hello)`
    const entry = join(dir, `${provider}.ts`)
    const exportLine = exportAs === 'default' ? `export default ${call}` : `export const handler = ${call}`
    writeFileSync(
      entry,
      `import hello from './${hello}'\nimport { ${[wrapper, ...sources].join(', ')} } from '${pkg}'\n${exportLine}\n`,
    )
    try {
      const info = await bundle(entry, join(OUT, `provider-${provider}.cjs`))
      sizes.push({
        provider,
        entry: relative(ROOT, entry),
        bundle: info,
        otherCloudMarkers: otherMarkers(provider, info),
        note: `${call}${sources.length === 0 ? ' (no HTTP source exported by name: wrapper default)' : ''}${runtime ? `; ${runtime} external` : ''}`,
      })
    } catch (error) {
      sizes.push({ provider, entry: relative(ROOT, entry), skipped: `bundle failed: ${(error as Error).message.split('\n')[0]}` })
    }
  }
  return sizes
}

// ---------------------------------------------------------------------------------------------------------------
// Child processes

async function run(file: string, args: readonly string[], timeoutMs: number): Promise<{ stdout: string; wallMs: number }> {
  const start = performance.now()
  const stdout = await runNode(file, args, { timeoutMs }).catch((error: Error) => {
    throw new Error(`${relative(ROOT, file)} ${args.join(' ')} failed: ${error.message}`)
  })
  return { stdout, wallMs: performance.now() - start }
}

async function runWarm(script: string, bundles: Record<Contender, BundleInfo>, events: EventSpec[]): Promise<WarmResult> {
  const config: WarmConfig = {
    contenders: CONTENDERS.map((name) => ({ name, bundle: join(ROOT, bundles[name].file) })),
    // The unmodified fixture first: checked only.
    events: [...events].sort((a, b) => Number(b.verifyOnly ?? false) - Number(a.verifyOnly ?? false)),
    warmupMs: SETTINGS.warmupMs,
    batchMs: SETTINGS.batchMs,
    rounds: SETTINGS.rounds,
  }
  const configPath = join(OUT, 'warm-config.json')
  const resultPath = join(OUT, 'warm-result.json')
  writeFileSync(configPath, JSON.stringify(config))
  rmSync(resultPath, { force: true })
  // Its progress goes to stderr, shown as it comes; what the functions log to stdout is dropped.
  await runNode(script, [configPath, resultPath], { timeoutMs: 10 * 60_000, env: { ...process.env, POLYCLOUD_BENCH_ECHO: '1' } }).catch((error: Error) => {
    throw new Error(`warm benchmark failed: ${error.message}`)
  })
  return JSON.parse(readFileSync(resultPath, 'utf8')) as WarmResult
}

interface ColdSample {
  loadMs: number
  firstMs: number
  totalMs: number
  wallMs: number
}

async function runCold(
  script: string,
  bundles: Record<Contender, BundleInfo>,
  events: EventSpec[],
): Promise<Record<string, Record<Contender, { total: Summary; load: Summary; first: Summary; processWall: Summary }>>> {
  const timed = events.filter((e) => !e.verifyOnly)
  const samples = new Map<string, ColdSample[]>()
  const once = async (contender: Contender, event: EventSpec): Promise<ColdSample> => {
    const { stdout, wallMs } = await run(script, [contender, join(ROOT, bundles[contender].file), event.path, event.expected], 30_000)
    const line = stdout.trim().split('\n').pop() ?? ''
    const parsed = JSON.parse(line) as Omit<ColdSample, 'wallMs'>
    return { ...parsed, wallMs }
  }
  // One discarded round: puts node, the bundles and the events in the page cache.
  for (const event of timed) for (const contender of CONTENDERS) await once(contender, event)
  for (let k = 0; k < SETTINGS.coldSamples; k++) {
    for (const event of timed) {
      for (let j = 0; j < CONTENDERS.length; j++) {
        const contender = CONTENDERS[(k + j) % CONTENDERS.length]!
        const key = `${event.key}/${contender}`
        samples.set(key, [...(samples.get(key) ?? []), await once(contender, event)])
      }
    }
    if ((k + 1) % 5 === 0 || k + 1 === SETTINGS.coldSamples) log(`  cold: ${k + 1}/${SETTINGS.coldSamples} samples each`)
  }
  const out: Record<string, Record<string, { total: Summary; load: Summary; first: Summary; processWall: Summary }>> = {}
  for (const event of timed) {
    out[event.key] = {}
    for (const contender of CONTENDERS) {
      const list = samples.get(`${event.key}/${contender}`) ?? []
      out[event.key]![contender] = {
        total: summarize(list.map((s) => s.totalMs)),
        load: summarize(list.map((s) => s.loadMs)),
        first: summarize(list.map((s) => s.firstMs)),
        processWall: summarize(list.map((s) => s.wallMs)),
      }
    }
  }
  return out as Record<string, Record<Contender, { total: Summary; load: Summary; first: Summary; processWall: Summary }>>
}

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = performance.now()
  const info = machine()
  console.log(`Polycloud bench${QUICK ? ' (--quick: smoke run, do not quote these numbers)' : ''}`)
  console.log(`node ${info.node} (V8 ${info.v8}) | ${info.platform} | ${info.cpu} | ${info.memoryGB} GB | load ${info.loadAverage.join(' ')}`)
  console.log(
    `esbuild ${info.versions.esbuild}, hono ${info.versions.hono}, serverless-http ${info.versions['serverless-http']} | ` +
      `bundles: platform node, cjs, minified, target node20`,
  )
  console.log(`events: v2 = ${V2_FIXTURE} + ?name=polycloud; v1 = ${V1_FIXTURE} (?name=me)\n`)

  rmSync(OUT, { recursive: true, force: true })
  mkdirSync(OUT, { recursive: true })
  const events = writeEvents()

  log('building bundles...')
  const bundles = {} as Record<Contender, BundleInfo>
  for (const name of CONTENDERS) bundles[name] = await bundle(join(BENCH, 'contenders', `${name}.ts`), join(OUT, `${name}.cjs`))
  const children = await buildChildren()
  const sizes = await providerSizes()
  await esbuild.stop()

  log(`warm: ${SETTINGS.rounds} interleaved rounds of ~${SETTINGS.batchMs} ms per contender and event...`)
  const warm = await runWarm(children.warm, bundles, events)
  log(`cold: ${SETTINGS.coldSamples} fresh processes per contender and event, interleaved...`)
  const cold = await runCold(children.cold, bundles, events)
  // The contender bundle reads both payload versions, like the others; a deployed function reads one. The entry
  // the plugin generates for an HTTP API route (v2 only) is the artifact users ship: its cold start too.
  // The `lambda(hello)` form (every AWS format, as adapters/aws/README.md shows it) against that entry, interleaved.
  const v2 = events.find((event) => event.key === 'v2' && !event.verifyOnly)
  const deployedFile = sizes[0]?.bundle?.file
  const lambdaFormFile = sizes.find((size) => size.provider === 'aws (all sources)')?.bundle?.file
  const deployedCold: number[] = []
  const lambdaFormCold: number[] = []
  const coldOf = async (file: string, event: EventSpec): Promise<number> => {
    const { stdout } = await run(children.cold, ['polycloud', join(ROOT, file), event.path, event.expected], 30_000)
    return (JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { totalMs: number }).totalMs
  }
  if (v2 && deployedFile && lambdaFormFile) {
    for (let k = 0; k <= SETTINGS.coldSamples; k++) {
      const first = k % 2 === 0
      const a = await coldOf(first ? deployedFile : lambdaFormFile, v2)
      const b = await coldOf(first ? lambdaFormFile : deployedFile, v2)
      if (k > 0) {
        deployedCold.push(first ? a : b)
        lambdaFormCold.push(first ? b : a)
      }
    }
  }
  const deployedColdMs = summarize(deployedCold).median
  const lambdaFormColdMs = summarize(lambdaFormCold).median

  // --- Main table
  const w = (event: string, c: Contender) => warm.events[event]?.[c]?.nsPerInvocation.median ?? Number.NaN
  const cd = (event: string, c: Contender) => cold[event]?.[c]?.total.median ?? Number.NaN
  const rows = CONTENDERS.map((c) => {
    const ref = REFERENCE[c]
    return [
      c,
      fixed(w('v2', c) / 1000, 2),
      ratio(w('v2', c), w('v2', FLOOR)),
      fixed(w('v1', c) / 1000, 2),
      ratio(w('v1', c), w('v1', FLOOR)),
      fixed(cd('v2', c), 2),
      ratio(cd('v2', c), cd('v2', FLOOR)),
      fixed(cd('v1', c), 2),
      fixed(bundles[c].bytes / 1024, 1),
      ratio(bundles[c].bytes, bundles[FLOOR].bytes),
      fixed(bundles[c].gzipBytes / 1024, 1),
      ref ? `${ref.warmUs} us / ${ref.coldMs} ms / ${ref.sizeKB} KB` : 'target <= 3 us / 3 ms / 6 KB',
    ]
  })
  console.log('Medians; ratios are to bare (the hand-written floor). KB = 1024 bytes.')
  console.log(
    renderTable(
      ['contender', 'warm v2 us', 'x bare', 'warm v1 us', 'x bare', 'cold v2 ms', 'x bare', 'cold v1 ms', 'size KB', 'x bare', 'gzip KB', 'issue reference / target'],
      rows,
    ),
  )

  const spread = CONTENDERS.map((c) => {
    const s2 = warm.events.v2?.[c]?.nsPerInvocation
    const c2 = cold.v2?.[c]
    return [
      c,
      s2 ? `${fixed(s2.p25 / 1000, 2)}-${fixed(s2.p75 / 1000, 2)}` : 'n/a',
      String(warm.events.v2?.[c]?.invocationsPerRound ?? 'n/a'),
      c2 ? fixed(c2.load.median, 2) : 'n/a',
      c2 ? fixed(c2.first.median, 2) : 'n/a',
      c2 ? `${fixed(c2.total.p25, 2)}-${fixed(c2.total.p75, 2)}` : 'n/a',
      c2 ? fixed(c2.processWall.median, 0) : 'n/a',
      warm.events.v2?.[c]?.mutatesEvent || warm.events.v1?.[c]?.mutatesEvent ? 'yes' : 'no',
    ]
  })
  console.log('\nDetail (v2): warm interquartile range, invocations per round; cold split into require and first event.')
  console.log(
    renderTable(['contender', 'warm IQR us', 'N/round', 'cold load ms', 'cold 1st ms', 'cold IQR ms', 'process wall ms', 'mutates event'], spread),
  )

  // --- Sizes per provider
  console.log('\nHello bundle per provider (Polycloud; esbuild, platform node, cjs, minified; provider runtimes external).')
  console.log(
    renderTable(
      ['provider', 'bytes', 'KB', 'gzip B', "other clouds' code", 'note'],
      sizes.map((s) =>
        s.bundle
          ? [
              s.provider,
              String(s.bundle.bytes),
              fixed(s.bundle.bytes / 1024, 2),
              String(s.bundle.gzipBytes),
              s.otherCloudMarkers && s.otherCloudMarkers.length > 0 ? `FOUND ${s.otherCloudMarkers.join(', ')}` : 'none',
              s.note ?? '',
            ]
          : [s.provider, '-', '-', '-', '-', `skipped: ${s.skipped ?? ''}`],
      ),
    ),
  )
  const composition = (sizes[0]?.bundle?.inputs ?? []).map((i) => `${i.package} ${i.bytes} B`).join(', ')
  console.log(`AWS hello bundle by package: ${composition}`)
  const contenderMarkers = CONTENDERS.filter((c) => c !== 'polycloud')
    .map((c) => {
      const found = Object.entries(bundles[c].markers).filter(([, f]) => f.length > 0)
      return `${c}: ${found.length === 0 ? 'none' : found.map(([cloud, f]) => `${cloud} (${f.join(', ')})`).join('; ')}`
    })
    .join(' | ')
  console.log(`Cloud markers in the other contenders' bundles: ${contenderMarkers}`)

  // --- Targets
  const aws = sizes[0]!
  const clean = (aws.otherCloudMarkers ?? []).length === 0
  const checks = [
    { target: 'warm <= 3 us per invocation (v2)', value: `${fixed(w('v2', 'polycloud') / 1000, 2)} us`, pass: w('v2', 'polycloud') <= TARGETS.warmNs },
    { target: 'warm <= 3 us per invocation (v1)', value: `${fixed(w('v1', 'polycloud') / 1000, 2)} us`, pass: w('v1', 'polycloud') <= TARGETS.warmNs },
    { target: 'cold (load bundle + first event) <= 3 ms (v2)', value: `${fixed(cd('v2', 'polycloud'), 2)} ms`, pass: cd('v2', 'polycloud') <= TARGETS.coldMs },
    { target: 'cold (load bundle + first event) <= 3 ms (v1)', value: `${fixed(cd('v1', 'polycloud'), 2)} ms`, pass: cd('v1', 'polycloud') <= TARGETS.coldMs },
    {
      target: 'cold <= 3 ms (v2), the generated hello entry as deployed',
      value: `${fixed(deployedColdMs, 2)} ms`,
      pass: deployedColdMs <= TARGETS.coldMs,
    },
    {
      target: 'cold of the lambda(hello) form within 10% of the generated entry (v2)',
      value: `${fixed(lambdaFormColdMs, 2)} ms (${fixed(lambdaFormColdMs / deployedColdMs, 2)}x)`,
      pass: lambdaFormColdMs <= deployedColdMs * 1.1,
    },
    { target: 'AWS hello bundle minified <= 6 KB', value: `${fixed((aws.bundle?.bytes ?? Number.NaN) / 1024, 2)} KB (${aws.bundle?.bytes} B)`, pass: (aws.bundle?.bytes ?? Infinity) <= TARGETS.sizeBytes },
    {
      target: "AWS hello bundle holds no other cloud's code",
      value: clean ? 'no azure/gcp/cloudflare markers' : `found: ${(aws.otherCloudMarkers ?? []).join(', ')}`,
      pass: clean,
    },
  ]
  // --- Instruction counts (callgrind): the figures of issue 19, each beside the bare handler
  const counted = await instructionFigures({
    out: OUT,
    countScript: children.count,
    bundles: {
      event: v2?.path ?? '',
      bare: join(ROOT, bundles.bare.file),
      entry: join(ROOT, sizes[0]?.bundle?.file ?? ''),
      lambdaForm: join(ROOT, lambdaFormFile ?? ''),
    },
    quick: QUICK,
    log,
  })
  const helloBytes = bundles.polycloud.bytes
  if (typeof counted === 'string') {
    console.log(`\n${counted}`)
  } else {
    const c = counted.coldM
    const mapCost = c.deployed - c.deployedBase
    const flagCost = c.deployedFlag - c.deployedBase
    console.log(`\nCPU instructions (${relative(ROOT, counted.tool)}: callgrind, the same count run to run), one API Gateway v2 event`)
    console.log(
      renderTable(
        ['figure', 'polycloud', 'bare', 'x bare', 'what'],
        [
          ['warm, instructions per invocation', String(counted.warm.entry), String(counted.warm.bare), ratio(counted.warm.entry, counted.warm.bare), `invocations ${QUICK ? '101-1,100' : '1,001-11,000'} (V8 still optimising)`],
          ...(counted.steady
            ? [['steady, instructions per invocation', String(counted.steady.entry), String(counted.steady.bare), ratio(counted.steady.entry, counted.steady.bare), 'invocations 21,001-41,000 (optimised code)']]
            : []),
          ['cold, M instructions above an empty handler', fixed(c.entry, 2), fixed(c.bare, 2), ratio(c.entry, c.bare), 'generated entry: load the bundle, answer one event'],
          ['cold of the lambda(hello) form, M', fixed(c.lambdaForm, 2), fixed(c.bare, 2), `${fixed(c.lambdaForm / c.entry, 2)}x the entry`, 'every AWS format in the bundle'],
          ['cold as deployed (linked map, the mapper), M', fixed(c.deployed, 2), fixed(c.bare, 2), ratio(c.deployed, c.bare), `${fixed(counted.bytes.deployed / 1024, 1)} KB bundle, ${fixed(counted.bytes.deployedMap / 1024, 1)} KB map`],
          ['  source maps at cold start: the mapper, M', `+${fixed(mapCost, 2)}`, '', '', "its code in the bundle as text: compiled, and the map read, when a stack is formatted"],
          ['  source maps at cold start: --enable-source-maps, M', `+${fixed(flagCost, 2)}`, '', '', 'what the plugin set before: the map read and indexed at load'],
        ],
      ),
    )
    checks.push(
      { target: 'warm <= 15,000 instructions per invocation and <= 2x bare', value: `${counted.warm.entry} (${ratio(counted.warm.entry, counted.warm.bare)} bare)`, pass: counted.warm.entry <= 15000 && counted.warm.entry <= 2 * counted.warm.bare },
      { target: 'cold <= 3.0 M instructions above an empty handler', value: `${fixed(c.entry, 2)} M`, pass: c.entry <= 3.0 },
      { target: 'lambda(hello) form cold within 1.1x of the entry (instructions)', value: `${fixed(c.lambdaForm / c.entry, 2)}x`, pass: c.lambdaForm <= 1.1 * c.entry },
      { target: 'source maps cost 0 at cold start until a stack is formatted', value: `+${fixed(mapCost, 2)} M (was +${fixed(flagCost, 2)} M with --enable-source-maps)`, pass: mapCost <= 0 },
    )
  }
  // --- The OpenTelemetry opt-in (issue 21, section 5): the plugin's hello entry without it, with enabled: false, with it
  const otel = await telemetryFigures({ out: OUT, countScript: children.count, event: v2?.path ?? '', quick: QUICK, log })
  {
    const { today, off, on } = otel.bundles
    const kb = (bytes: number): string => fixed(bytes / 1024, 1)
    console.log('\nOpenTelemetry opt-in (custom.polycloud.telemetry): the hello function\'s generated AWS entry, esbuild cjs minified')
    console.log(
      renderTable(
        ['figure', 'no telemetry key (today)', 'enabled: false', 'opt-in', 'what'],
        [
          ['bundle, KB (gzip KB)', `${kb(today.bytes)} (${kb(today.gzipBytes)})`, `${kb(off.bytes)} (${kb(off.gzipBytes)})`, `${kb(on.bytes)} (${kb(on.gzipBytes)})`, otel.identical ? 'enabled: false is byte for byte today\'s bundle' : 'enabled: false DIFFERS from today\'s bundle'],
          ...(otel.coldM
            ? [['cold, M instructions above an empty handler', fixed(otel.coldM.today, 2), fixed(otel.coldM.off, 2), fixed(otel.coldM.on, 2), 'opt-in: the span exported to a local receiver before the answer']]
            : []),
          ...(otel.warm ? [['warm, instructions per invocation', String(otel.warm.today), '', String(otel.warm.on), `opt-in: each invocation exports its span (one POST); ${otel.spansReceived} spans received`]] : []),
        ],
      ),
    )
    if (otel.skipped) console.log(otel.skipped)
    checks.push({ target: 'telemetry off: the hello bundle is byte for byte today\'s', value: otel.identical ? `identical (${off.bytes} B)` : `${off.bytes} B against ${today.bytes} B`, pass: otel.identical })
    if (otel.coldM) {
      const drift = Math.abs(otel.coldM.off - otel.coldM.today) / otel.coldM.today
      checks.push({ target: 'telemetry off: cold start instructions unchanged (within 1%)', value: `${fixed(otel.coldM.off, 2)} M against ${fixed(otel.coldM.today, 2)} M`, pass: drift <= 0.01 })
    }
  }
  checks.push({ target: 'hello bundle (core + AWS adapter + handler) minified <= 12 KB', value: `${fixed(helloBytes / 1024, 1)} KB (${helloBytes} B)`, pass: helloBytes <= 12 * 1024 })

  // --- Serverless: package wall time and requests per second through serverless offline
  const sls = await serverlessFigures({ quick: QUICK, log })
  console.log('\nServerless (the demo with serverless-polycloud, against the same functions written natively in bench/native)')
  console.log(
    renderTable(
      ['figure', 'portable (plugin)', 'native', 'ratio', 'samples'],
      [
        [
          '`serverless package` wall time, ms',
          fixed(sls.package.portable.median, 0),
          fixed(sls.package.native.median, 0),
          `${fixed(sls.package.ratio, 2)}x`,
          `${sls.package.rounds} interleaved rounds`,
        ],
        [
          `serverless offline, GET /hello, requests/s (concurrency ${sls.offline.concurrency})`,
          fixed(sls.offline.portable.median, 0),
          fixed(sls.offline.native.median, 0),
          `${fixed(sls.offline.ratio, 2)}x`,
          `${sls.offline.rounds} interleaved rounds of ${sls.offline.seconds} s`,
        ],
      ],
    ),
  )
  checks.push(
    { target: '`serverless package` at most 10% slower than native', value: `${fixed(sls.package.ratio, 2)}x native`, pass: sls.package.ratio <= 1.1 },
    { target: 'serverless offline rps at least 0.9 of bare', value: `${fixed(sls.offline.ratio, 2)}x bare`, pass: sls.offline.ratio >= 0.9 },
  )

  // --- Auth: a route's JWT check with a warm key cache, against the same route without auth
  const auth = await authFigures({ quick: QUICK, log })
  console.log('\nSecured routes (@polycloud/auth: RS256 token, JWKS cached; GET /me through the test harness)')
  console.log(
    renderTable(
      ['figure', 'jwt', 'no auth', 'ratio', 'samples'],
      [
        ['us per request, a token seen before', fixed(auth.jwt.median, 1), fixed(auth.plain.median, 1), `${fixed(auth.ratio, 1)}x`, `${auth.rounds} interleaved rounds`],
        ['us per request, a new token (RS256 verified)', fixed(auth.fresh.median, 1), fixed(auth.plain.median, 1), `${fixed(auth.freshRatio, 1)}x`, 'each token sent once'],
        ['us per request, a malformed token (401)', fixed(auth.malformed.median, 1), fixed(auth.plain.median, 1), `${fixed(auth.malformed.median / auth.plain.median, 1)}x`, `${fixed(auth.malformedRatio, 2)}x the token seen before`],
        ['us per request, an expired token (401)', fixed(auth.expired.median, 1), fixed(auth.plain.median, 1), `${fixed(auth.expired.median / auth.plain.median, 1)}x`, `${fixed(auth.expiredRatio, 2)}x the token seen before`],
      ],
    ),
  )
  checks.push({ target: 'a refused malformed token costs no more than a verified cached one', value: `${fixed(auth.malformedRatio, 2)}x the cached token`, pass: auth.malformedRatio <= 1 })

  // --- Azure: the adapter against a bare v4 handler on the same @azure/functions objects, and packaging
  const az = await azureFigures({ out: OUT, quick: QUICK, rounds: SETTINGS.rounds, batchMs: SETTINGS.batchMs, coldSamples: SETTINGS.coldSamples, log })
  console.log("\nAzure (hello: Polycloud's registerHttp against a bare v4 handler, both through @azure/functions' invocation model)")
  console.log(
    renderTable(
      ['figure', 'polycloud', 'bare v4', 'ratio', 'samples'],
      [
        ['warm, us per invocation', fixed(az.warm.polycloud.median / 1000, 2), fixed(az.warm.bare.median / 1000, 2), `${fixed(az.warmRatio, 2)}x`, `${SETTINGS.rounds} interleaved rounds`],
        [
          'cold, ms (require bundle + first request)',
          fixed(az.cold.polycloud.total.median, 2),
          fixed(az.cold.bare.total.median, 2),
          `${fixed(az.coldRatio, 2)}x`,
          `${SETTINGS.coldSamples} processes each (load ${fixed(az.cold.polycloud.load.median, 2)} / ${fixed(az.cold.bare.load.median, 2)} ms)`,
        ],
        ['bundle KB (library included)', fixed(az.bundleBytes.polycloud / 1024, 1), fixed(az.bundleBytes.bare / 1024, 1), `${fixed(az.bundleBytes.polycloud / az.bundleBytes.bare, 2)}x`, ''],
      ],
    ),
  )

  // --- Google Cloud: the generated hello function against a bare Functions Framework handler, and packaging
  const gcp = await googleFigures({ quick: QUICK, log })
  console.log('\nGoogle Cloud (Functions Framework 5.0.5 on 127.0.0.1; hello as the plugin generates it for a route, against a bare FF handler)')
  console.log(
    renderTable(
      ['figure', 'polycloud', 'bare FF', 'ratio', 'samples'],
      [
        [
          `warm GET /?name=polycloud, requests/s (concurrency ${gcp.warm.concurrency})`,
          fixed(gcp.warm.polycloud.median, 0),
          fixed(gcp.warm.bare.median, 0),
          `${fixed(gcp.warm.ratio, 2)}x`,
          `${gcp.warm.rounds} interleaved rounds of ${gcp.warm.seconds} s`,
        ],
        [
          'cold: require the function + FF server + first request, ms',
          fixed(gcp.cold.polycloud.median, 2),
          fixed(gcp.cold.bare.median, 2),
          `${fixed(gcp.cold.ratio, 2)}x`,
          `${gcp.cold.samples} fresh processes each`,
        ],
        ['bundle, bytes (minified, FF external)', String(gcp.bundleBytes.polycloud), String(gcp.bundleBytes.bare), `${fixed(gcp.bundleBytes.polycloud / gcp.bundleBytes.bare, 1)}x`, ''],
      ],
    ),
  )

  // --- `serverless package` of the demo for every provider, against AWS
  const packaging = await providerPackageFigures({ quick: QUICK, log })
  console.log('\n`serverless package` of the demo per provider (POLYCLOUD_PROVIDER), wall time')
  console.log(
    renderTable(
      ['provider', 'ms', 'x aws', 'samples'],
      Object.entries(packaging.providers).map(([provider, { ms, ratio }]) => [provider, fixed(ms.median, 0), `${fixed(ratio, 2)}x`, `${packaging.rounds} interleaved rounds`]),
    ),
  )

  // --- Cloudflare: the packaged service Worker's form against a bare Worker, on the same workerd
  const cf = await cloudflareFigures({ quick: QUICK, log })
  console.log('\nCloudflare Workers (workerd via miniflare, GET /hello, no nodejs_compat): @polycloud/cloudflare service Worker against a bare `export default { fetch }`')
  console.log(
    renderTable(
      ['figure', 'polycloud', 'bare', 'ratio', 'samples'],
      [
        [
          `requests/s (concurrency ${cf.concurrency})`,
          fixed(cf.rps.polycloud.median, 0),
          fixed(cf.rps.bare.median, 0),
          `${fixed(cf.rpsRatio, 2)}x`,
          `${cf.rounds} interleaved rounds of ${cf.seconds} s`,
        ],
        [
          'cold start, ms (new workerd + Worker + first answer)',
          fixed(cf.coldMs.polycloud.median, 0),
          fixed(cf.coldMs.bare.median, 0),
          `+${fixed(cf.coldMs.polycloud.median - cf.coldMs.bare.median, 0)} ms`,
          `${cf.coldSamples} interleaved samples`,
        ],
        [
          'bundle, KB (gzip KB)',
          `${fixed(cf.bundle.polycloud.bytes / 1024, 1)} (${fixed(cf.bundle.polycloud.gzipBytes / 1024, 1)})`,
          `${fixed(cf.bundle.bare.bytes / 1024, 1)} (${fixed(cf.bundle.bare.gzipBytes / 1024, 1)})`,
          `${fixed(cf.bundle.polycloud.bytes / cf.bundle.bare.bytes, 0)}x`,
          'esm, minified',
        ],
      ],
    ),
  )
  checks.push({ target: 'Cloudflare hello rps at least 0.9 of a bare Worker', value: `${fixed(cf.rpsRatio, 2)}x bare`, pass: cf.rpsRatio >= 0.9 })

  // --- Resources: @polycloud/resources against each cloud's official client on the same local emulator
  const res = await resourceFigures({ quick: QUICK, log })
  console.log(
    `\nResources (@polycloud/resources against the official client, same process, same local emulator; us per operation, medians of ${res.rounds} interleaved rounds of ${res.opsPerRound} (Cloudflare: ${res.opsPerRound * 5}, timed inside workerd) operations)`,
  )
  console.log(
    renderTable(
      ['provider', 'operation', 'polycloud us', 'official us', 'ratio', 'official client'],
      res.warm.map((row) => [row.provider, row.operation, fixed(row.polycloud.median, 0), fixed(row.sdk.median, 0), `${fixed(row.ratio, 2)}x`, row.official]),
    ),
  )
  console.log('\nFirst call (a fresh process: require the function bundle, then its first put+get on the local S3; esbuild cjs, minified)')
  console.log(
    renderTable(
      ['contender', 'bundle KB', 'require ms', 'first put+get ms', 'instructions (whole process)', 'over empty node'],
      res.cold.map((row) => [
        row.contender,
        fixed(row.bundleBytes / 1024, 1),
        fixed(row.loadMs, 2),
        fixed(row.firstMs, 2),
        row.instructions === undefined ? 'n/a' : `${fixed(row.instructions / 1e6, 1)} M`,
        row.instructions === undefined || res.emptyInstructions === undefined ? 'n/a' : `${fixed((row.instructions - res.emptyInstructions) / 1e6, 1)} M`,
      ]),
    ),
  )
  for (const row of res.warm) {
    checks.push({ target: `resources: ${row.provider} ${row.operation} within 1.1x of the official client (warm)`, value: `${fixed(row.ratio, 2)}x`, pass: row.ratio <= 1.1 })
  }
  checks.push({
    target: 'a function without resources: its hello bundle holds none of the resources code',
    value: res.hello.holdsResources ? 'FOUND resources code' : `none (${res.hello.bytes} B)`,
    pass: !res.hello.holdsResources,
  })

  console.log('\nPolycloud targets (from the issues)')
  console.log(renderTable(['target', 'measured', 'verdict'], checks.map((c) => [c.target, c.value, c.pass ? 'PASS' : 'FAIL'])))

  const seconds = (performance.now() - started) / 1000
  const report = {
    date: new Date().toISOString(),
    quick: QUICK,
    durationSeconds: Math.round(seconds * 10) / 10,
    machine: info,
    settings: SETTINGS,
    bundleOptions: { platform: 'node', format: 'cjs', target: 'node20', minify: true, external: EXTERNAL },
    events: events.map(({ key, source, note, expected, verifyOnly }) => ({ key, source, note, expected, timed: !verifyOnly })),
    units: { warm: 'ns per invocation', cold: 'ms inside a fresh node process, require of the bundle + first event', size: 'bytes' },
    warm: warm.events,
    cold,
    bundles,
    providerSizes: sizes,
    serverless: sls,
    auth,
    packaging,
    azure: az,
    google: gcp,
    cloudflare: cf,
    resources: res,
    telemetry: otel,
    deployedHelloColdMs: deployedColdMs,
    lambdaFormColdMs,
    instructions: counted,
    reference: REFERENCE,
    targets: { ...TARGETS, checks },
  }
  writeFileSync(join(OUT, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`)
  console.log(`\nWrote ${relative(ROOT, join(OUT, 'latest.json'))} in ${seconds.toFixed(0)} s.`)
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
})
