// The OpenTelemetry opt-in's rows of `npm run bench`: the hello function's AWS entry as the plugin generates it
// (serverless-polycloud's model and lambdaEntries, `route: GET /hello`), for a service without
// `custom.polycloud.telemetry`, with `enabled: false`, and with the opt-in; each bundled as serverless-esbuild does
// (esbuild, cjs, minified). Cold start: CPU instructions (../shared/tools/instructions, callgrind) of a fresh process
// that loads the bundle and answers one API Gateway v2 event, minus an empty handler; with the opt-in, that event's
// spans are exported to a local OTLP/HTTP receiver on 127.0.0.1 before the answer (its real cost: fetch's first use).
// Warm: instructions per invocation, invocations 101-600, each exporting its span with the opt-in.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import * as esbuild from 'esbuild'
import { readService } from 'serverless-polycloud/model'
import { lambdaEntries } from 'serverless-polycloud/providers/aws/entry'
import { PROVIDERS, readerOf } from 'serverless-polycloud/providers/index'
import { EXPECTED, count, instructionsTool } from './instructions.js'

const BENCH = dirname(fileURLToPath(import.meta.url))
const ROOT = dirname(BENCH)

export interface TelemetryBundle {
  bytes: number
  gzipBytes: number
  file: string
}

export interface TelemetryFigures {
  /** The bundles: today's (no key), `enabled: false`, the opt-in. */
  bundles: { today: TelemetryBundle; off: TelemetryBundle; on: TelemetryBundle }
  /** Whether the `enabled: false` bundle is byte for byte today's. */
  identical: boolean
  /** M instructions above an empty handler (undefined without the counter). */
  coldM?: { today: number; off: number; on: number }
  /** Instructions per invocation, invocations 101-600. */
  warm?: { today: number; on: number }
  /** Spans the receiver got during the counts (the opt-in's runs export). */
  spansReceived: number
  skipped?: string
}

function entrySource(dir: string, telemetry: Record<string, unknown> | undefined): string {
  const aws = PROVIDERS.find((provider) => provider.name === 'aws')
  if (aws === undefined) throw new Error('no aws provider')
  const model = readService(
    {
      service: 'bench',
      stage: 'dev',
      servicePath: ROOT,
      provider: { name: 'aws', runtime: 'nodejs22.x' },
      functions: { hello: { handler: 'bench/contenders/polycloud-hello.default', events: [{ route: 'GET /hello' }] } },
      polycloud: telemetry === undefined ? {} : { telemetry },
    },
    readerOf(aws),
  )
  const plan = aws.plan(model, { command: 'package' })
  const [entry] = lambdaEntries(plan as Parameters<typeof lambdaEntries>[0], { workDir: dir, servicePath: ROOT })
  if (entry === undefined) throw new Error('no entry')
  return entry.source
}

async function bundleOf(dir: string, name: string, source: string): Promise<TelemetryBundle> {
  const input = join(dir, `${name}.js`)
  const file = join(dir, `${name}.cjs`)
  writeFileSync(input, source)
  await esbuild.build({ entryPoints: [input], outfile: file, bundle: true, minify: true, platform: 'node', format: 'cjs', target: 'node22', absWorkingDir: ROOT, logLevel: 'error' })
  const text = readFileSync(file)
  return { bytes: text.length, gzipBytes: gzipSync(text, { level: 9 }).length, file }
}

export async function telemetryFigures(options: { out: string; countScript: string; event: string; quick: boolean; log: (line: string) => void }): Promise<TelemetryFigures> {
  const dir = join(options.out, 'telemetry')
  mkdirSync(dir, { recursive: true })
  const endpoint = 'http://127.0.0.1:4318'
  const today = await bundleOf(dir, 'today', entrySource(dir, undefined))
  const off = await bundleOf(dir, 'off', entrySource(dir, { enabled: false, endpoint }))
  const on = await bundleOf(dir, 'on', entrySource(dir, { endpoint }))
  const identical = readFileSync(today.file).equals(readFileSync(off.file))
  const figures: TelemetryFigures = { bundles: { today, off, on }, identical, spansReceived: 0 }
  const tool = instructionsTool()
  if (tool === undefined) return { ...figures, skipped: 'instruction counts skipped: ../shared/tools/instructions not found' }

  // The collector the opt-in's runs export to.
  let spans = 0
  const server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: unknown[] }> }> }
        for (const resource of body.resourceSpans) for (const scope of resource.scopeSpans) spans += scope.spans.length
      } catch {
        // Counted as nothing: the figures then say no span arrived.
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const collector = { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces` }
  try {
    const empty = join(dir, 'empty.cjs')
    writeFileSync(empty, 'exports.handler = async () => ({ statusCode: 200, body: \'{"hello":"polycloud"}\' })\n')
    const run = (bundle: string, invocations: number, env: NodeJS.ProcessEnv = {}) => count(tool, [options.countScript, bundle, options.event, String(invocations), EXPECTED], env)
    options.log('telemetry: cold instructions (empty, today, enabled: false, the opt-in exporting to a local receiver)...')
    const [e, t, f, o] = await Promise.all([run(empty, 1), run(today.file, 1), run(off.file, 1), run(on.file, 1, collector)])
    const above = (n: number): number => (n - e) / 1e6
    figures.coldM = { today: above(t), off: above(f), on: above(o) }
    const [lo, hi] = options.quick ? [51, 151] : [101, 600]
    options.log(`telemetry: warm instructions (invocations ${lo + 1}-${hi}, today and the opt-in)...`)
    const [t1, t2] = await Promise.all([run(today.file, lo), run(today.file, hi)])
    const [o1, o2] = await Promise.all([run(on.file, lo, collector), run(on.file, hi, collector)])
    figures.warm = { today: Math.round((t2 - t1) / (hi - lo)), on: Math.round((o2 - o1) / (hi - lo)) }
  } finally {
    await new Promise((resolve) => server.close(resolve))
  }
  figures.spansReceived = spans
  return figures
}
