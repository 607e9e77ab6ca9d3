// The Cloudflare figures of `npm run bench`: the hello handler through @polycloud/cloudflare (the service Worker the
// plugin packages: createServiceWorker with its router) against a bare `export default { fetch }` Worker, each bundled
// by esbuild as the plugin bundles (ES module, neutral platform, workerd conditions, minified) and served by the same
// workerd (miniflare 4.20260426.0) on 127.0.0.1, no nodejs_compat. Requests per second over keep-alive connections
// in interleaved rounds; cold start = a fresh workerd with the Worker, from `new Miniflare()` to the first answer.
import { mkdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import * as esbuild from 'esbuild'
import { Miniflare } from 'miniflare'
import { summarize, type Summary } from './lib/stats.js'
import { load } from './serverless.js'

const BENCH = dirname(fileURLToPath(import.meta.url))
const OUT = join(BENCH, 'out', 'cloudflare')

const SOURCES = {
  polycloud: [
    `import hello from '../../contenders/polycloud-hello.ts'`,
    `import { createServiceWorker } from '@polycloud/cloudflare/service'`,
    `import { workersFetch } from '@polycloud/cloudflare/fetch'`,
    `const fn = { name: 'hello', handler: hello, sources: [workersFetch], timeoutSeconds: 30 }`,
    `export default createServiceWorker({ name: 'bench', routes: [{ method: 'GET', path: '/hello', function: fn }] })`,
  ].join('\n'),
  bare: [
    'export default {',
    '  fetch(request) {',
    "    const name = new URL(request.url).searchParams.get('name') ?? 'world'",
    "    return new Response(JSON.stringify({ hello: name }), { headers: { 'content-type': 'application/json' } })",
    '  },',
    '}',
  ].join('\n'),
} as const

type Contender = keyof typeof SOURCES
const CONTENDERS: readonly Contender[] = ['polycloud', 'bare']
const EXPECTED = '{"hello":"polycloud"}'
const COMPATIBILITY_DATE = '2026-04-01'

export interface CloudflareFigures {
  rps: Record<Contender, Summary>
  rpsRatio: number
  coldMs: Record<Contender, Summary>
  bundle: Record<Contender, { bytes: number; gzipBytes: number }>
  rounds: number
  seconds: number
  concurrency: number
  coldSamples: number
}

async function build(contender: Contender): Promise<string> {
  mkdirSync(OUT, { recursive: true })
  const outfile = join(OUT, `${contender}.mjs`)
  await esbuild.build({
    stdin: { contents: SOURCES[contender], resolveDir: OUT, loader: 'ts', sourcefile: `${contender}-entry.ts` },
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    minify: true,
    logLevel: 'silent',
  })
  return outfile
}

function start(path: string, port = 0): Miniflare {
  return new Miniflare({
    modules: [{ type: 'ESModule', path }],
    compatibilityDate: COMPATIBILITY_DATE,
    host: '127.0.0.1',
    port,
    cf: false,
    bindings: { LOG_LEVEL: 'error' },
  })
}

export async function cloudflareFigures(options: { quick: boolean; log: (message: string) => void }): Promise<CloudflareFigures> {
  const files = Object.fromEntries(await Promise.all(CONTENDERS.map(async (c) => [c, await build(c)] as const))) as Record<Contender, string>
  const bundle = Object.fromEntries(
    CONTENDERS.map((c) => {
      const code = readFileSync(files[c])
      return [c, { bytes: code.length, gzipBytes: gzipSync(code, { level: 9 }).length }]
    }),
  ) as CloudflareFigures['bundle']

  const rounds = options.quick ? 1 : 6
  const seconds = options.quick ? 2 : 4
  const concurrency = 4
  options.log(`cloudflare: ${rounds} interleaved round(s) of ${seconds} s at concurrency ${concurrency} on workerd...`)
  const rps: Record<Contender, number[]> = { polycloud: [], bare: [] }
  const servers: Partial<Record<Contender, { mf: Miniflare; url: string }>> = {}
  try {
    for (const c of CONTENDERS) {
      const mf = start(files[c])
      servers[c] = { mf, url: `${(await mf.ready).origin}/hello?name=polycloud` }
      await load(servers[c].url, options.quick ? 1 : 3, concurrency, EXPECTED)
    }
    for (let round = 0; round < rounds; round++) {
      for (const c of round % 2 === 0 ? CONTENDERS : [...CONTENDERS].reverse()) rps[c].push(await load(servers[c]!.url, seconds, concurrency, EXPECTED))
    }
  } finally {
    for (const server of Object.values(servers)) await server.mf.dispose()
  }

  const coldSamples = options.quick ? 2 : 10
  options.log(`cloudflare: ${coldSamples} cold starts per Worker...`)
  const cold: Record<Contender, number[]> = { polycloud: [], bare: [] }
  for (let sample = 0; sample <= coldSamples; sample++) {
    for (const c of sample % 2 === 0 ? CONTENDERS : [...CONTENDERS].reverse()) {
      const started = performance.now()
      const mf = start(files[c])
      try {
        const response = await mf.dispatchFetch('http://localhost/hello?name=polycloud')
        const text = await response.text()
        if (text !== EXPECTED) throw new Error(`${c} answered ${response.status} ${text}`)
        // The first sample of each warms the file caches: not counted.
        if (sample > 0) cold[c].push(performance.now() - started)
      } finally {
        await mf.dispose()
      }
    }
  }
  const summaries = { polycloud: summarize(rps.polycloud), bare: summarize(rps.bare) }
  return {
    rps: summaries,
    rpsRatio: summaries.polycloud.median / summaries.bare.median,
    coldMs: { polycloud: summarize(cold.polycloud), bare: summarize(cold.bare) },
    bundle,
    rounds,
    seconds,
    concurrency,
    coldSamples,
  }
}
