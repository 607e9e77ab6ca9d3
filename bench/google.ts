// The Google Cloud figures of `npm run bench`: the hello function as the Serverless plugin generates it for a
// `route` (the portable handler, `registerHttpHandler(name, hello, [gcpHttp])`) against a bare Functions Framework
// handler doing the same work, both served by the Functions Framework 5.0.5 on 127.0.0.1: requests per second
// warm (interleaved rounds, keep-alive, concurrency 4) and cold start (a fresh process per sample); and the wall
// time of `serverless package` for Google Cloud against AWS, on the demo.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import * as esbuild from 'esbuild'
import { ROOT } from '../test/helpers/serverless.js'
import { summarize, type Summary } from './lib/stats.js'
import { load } from './serverless.js'
import { lastLine, runNode } from './lib/child.js'

const BENCH = join(ROOT, 'bench')
const OUT = join(BENCH, 'out')
const EXPECTED = '{"hello":"polycloud"}'

export interface GoogleFigures {
  warm: { polycloud: Summary; bare: Summary; ratio: number; rounds: number; seconds: number; concurrency: number }
  cold: { polycloud: Summary; bare: Summary; ratio: number; samples: number }
  bundleBytes: { polycloud: number; bare: number }
}

/** The two functions' entries, bundled from esbuild's stdin (no generated .ts file under bench/out to type-check). */
const SOURCES = {
  polycloud: [
    "import hello from '../contenders/polycloud-hello.js'",
    "import { registerHttpHandler } from '@polycloud/gcp/register'",
    "import { gcpHttp } from '@polycloud/gcp/http'",
    "registerHttpHandler('hello', hello, [gcpHttp])",
  ].join('\n'),
  bare: [
    "import { http } from '@google-cloud/functions-framework'",
    "http('hello', (req, res) => {",
    "  const name = typeof req.query.name === 'string' ? req.query.name : 'world'",
    '  res.json({ hello: name })',
    '})',
  ].join('\n'),
}

async function build(): Promise<{ child: string; polycloud: string; bare: string }> {
  mkdirSync(OUT, { recursive: true })
  const common: esbuild.BuildOptions = { bundle: true, platform: 'node', format: 'cjs', target: 'node20', minify: true, logLevel: 'error', absWorkingDir: ROOT, external: ['@google-cloud/functions-framework'] }
  const out = { child: join(OUT, 'gcp-child.cjs'), polycloud: join(OUT, 'gcp-polycloud.cjs'), bare: join(OUT, 'gcp-bare.cjs') }
  await esbuild.build({ ...common, minify: false, entryPoints: [join(BENCH, 'gcp-child.ts')], outfile: out.child })
  for (const name of ['polycloud', 'bare'] as const) {
    await esbuild.build({ ...common, stdin: { contents: SOURCES[name], resolveDir: OUT, loader: 'ts', sourcefile: `gcp-${name}-entry.ts` }, outfile: out[name] })
  }
  return out
}

function child(script: string, args: readonly string[]): ChildProcess {
  const env = { ...process.env }
  delete env.NODE_OPTIONS
  return spawn(process.execPath, [script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
}

async function cold(script: string, bundle: string): Promise<number> {
  // The answer is the last line: the function's own log lines (its summary line) come before it.
  const out = await runNode(script, ['cold', bundle, 'hello'], { timeoutMs: 60_000 }).catch((error: Error) => {
    throw new Error(`cold start of ${bundle} failed: ${error.message}`)
  })
  return (JSON.parse(lastLine(out)) as { totalMs: number }).totalMs
}

async function serve(script: string, bundle: string): Promise<{ url: string; stop(): void }> {
  const proc = child(script, ['serve', bundle, 'hello'])
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    const read = (chunk: Buffer): void => {
      out += chunk
      const match = /port (\d+)/.exec(out)
      if (!match) return
      // Once serving, its output (a log line per request) is drained unread, as a platform's log agent reads it.
      proc.stdout?.off('data', read).resume()
      resolve(Number(match[1]))
    }
    proc.stdout?.on('data', read)
    proc.on('close', (code) => reject(new Error(`${bundle} exited (${code}) before serving`)))
  })
  return { url: `http://127.0.0.1:${port}/?name=polycloud`, stop: () => proc.kill('SIGKILL') }
}

export async function googleFigures(options: { quick: boolean; log: (message: string) => void }): Promise<GoogleFigures> {
  const files = await build()
  const samples = options.quick ? 5 : 25
  options.log(`google cold: ${samples} fresh processes each, polycloud and bare, interleaved...`)
  await cold(files.child, files.polycloud)
  await cold(files.child, files.bare)
  const coldPolycloud: number[] = []
  const coldBare: number[] = []
  for (let k = 0; k < samples; k++) {
    if (k % 2 === 0) {
      coldPolycloud.push(await cold(files.child, files.polycloud))
      coldBare.push(await cold(files.child, files.bare))
    } else {
      coldBare.push(await cold(files.child, files.bare))
      coldPolycloud.push(await cold(files.child, files.polycloud))
    }
  }

  const rounds = options.quick ? 1 : 6
  const seconds = options.quick ? 1 : 4
  const concurrency = 4
  options.log(`google warm: ${rounds} interleaved round(s) of ${seconds} s at concurrency ${concurrency}...`)
  const polycloud = await serve(files.child, files.polycloud)
  const bare = await serve(files.child, files.bare)
  const warmPolycloud: number[] = []
  const warmBare: number[] = []
  try {
    await load(polycloud.url, 2, concurrency, EXPECTED)
    await load(bare.url, 2, concurrency, EXPECTED)
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? ['polycloud', 'bare'] : ['bare', 'polycloud']
      for (const which of order) {
        if (which === 'polycloud') warmPolycloud.push(await load(polycloud.url, seconds, concurrency, EXPECTED))
        else warmBare.push(await load(bare.url, seconds, concurrency, EXPECTED))
      }
    }
  } finally {
    polycloud.stop()
    bare.stop()
  }

  const { statSync } = await import('node:fs')
  const wp = summarize(warmPolycloud)
  const wb = summarize(warmBare)
  const cp = summarize(coldPolycloud)
  const cb = summarize(coldBare)
  return {
    warm: { polycloud: wp, bare: wb, ratio: wp.median / wb.median, rounds, seconds, concurrency },
    cold: { polycloud: cp, bare: cb, ratio: cp.median / cb.median, samples },
    bundleBytes: { polycloud: statSync(files.polycloud).size, bare: statSync(files.bare).size },
  }
}
