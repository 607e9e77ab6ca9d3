// The Serverless figures of `npm run bench`: `serverless package` wall time of the demo (plugin, portable
// handlers) against the same functions written natively (bench/native), and requests per second through
// `serverless offline` on the hello route, portable against bare. Interleaved rounds, medians, ratios.
import { mkdtempSync, rmSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT, serverless, startOffline, type Offline } from '../test/helpers/serverless.js'
import { summarize, type Summary } from './lib/stats.js'

export const NATIVE = join(ROOT, 'bench', 'native')

export interface ServerlessFigures {
  package: { portable: Summary; native: Summary; ratio: number; rounds: number }
  offline: { portable: Summary; native: Summary; ratio: number; rounds: number; seconds: number; concurrency: number }
}

/** Wall time of one `serverless package` of the service in `cwd` (`env`: POLYCLOUD_PROVIDER=azure, ...). */
export async function timePackage(cwd: string, env: NodeJS.ProcessEnv = {}): Promise<number> {
  const out = mkdtempSync(join(tmpdir(), 'polycloud-bench-package-'))
  try {
    const started = performance.now()
    const run = await serverless(['package', '--package', out], { cwd, env, timeoutMs: 180_000 })
    const ms = performance.now() - started
    if (run.code !== 0) throw new Error(`serverless package failed in ${cwd}:\n${run.stderr}`)
    return ms
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
}

export interface ProviderPackageFigures {
  /** `serverless package` of the demo per provider, ms, and each median over AWS's. */
  readonly providers: Readonly<Record<string, { readonly ms: Summary; readonly ratio: number }>>
  readonly rounds: number
}

/**
 * `serverless package` of the demo for every provider (POLYCLOUD_PROVIDER), in interleaved rounds (the order turns
 * each round), after one warm-up each: the time a user waits for an artifact, per cloud, against AWS's.
 */
export async function providerPackageFigures(options: { quick: boolean; log: (message: string) => void }): Promise<ProviderPackageFigures> {
  const providers = ['aws', 'azure', 'google', 'cloudflare']
  const rounds = options.quick ? 1 : 5
  options.log(`serverless package per provider: ${rounds} interleaved round(s) of ${providers.join(', ')}...`)
  for (const provider of providers) await timePackage(ROOT, { POLYCLOUD_PROVIDER: provider })
  const samples: Record<string, number[]> = Object.fromEntries(providers.map((provider) => [provider, []]))
  for (let round = 0; round < rounds; round++) {
    const order = [...providers.slice(round % providers.length), ...providers.slice(0, round % providers.length)]
    for (const provider of order) samples[provider]?.push(await timePackage(ROOT, { POLYCLOUD_PROVIDER: provider }))
  }
  const aws = summarize(samples.aws ?? [])
  return {
    providers: Object.fromEntries(providers.map((provider) => {
      const ms = summarize(samples[provider] ?? [])
      return [provider, { ms, ratio: ms.median / aws.median }]
    })),
    rounds,
  }
}

/** Sends GET requests over `concurrency` keep-alive connections for `seconds`; returns requests per second. */
export async function load(url: string, seconds: number, concurrency: number, expected: string): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency })
  const end = performance.now() + seconds * 1000
  let done = 0
  const once = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = request(url, { agent }, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (body += chunk))
        res.on('end', () => {
          if (res.statusCode !== 200 || body !== expected) reject(new Error(`${url} answered ${res.statusCode} ${body}`))
          else resolve()
        })
      })
      req.on('error', reject)
      req.end()
    })
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      await once()
      done++
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: concurrency }, worker))
  const elapsed = (performance.now() - started) / 1000
  agent.destroy()
  return done / elapsed
}

export async function serverlessFigures(options: { quick: boolean; log: (message: string) => void }): Promise<ServerlessFigures> {
  const rounds = options.quick ? 1 : 8
  const portablePackage: number[] = []
  const nativePackage: number[] = []
  options.log(`serverless package: ${rounds} interleaved round(s) of the demo and its native twin...`)
  // One untimed run each: the first package of a session pays for cold file caches.
  await timePackage(ROOT)
  await timePackage(NATIVE)
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? ['portable', 'native'] : ['native', 'portable']
    for (const which of order) {
      if (which === 'portable') portablePackage.push(await timePackage(ROOT))
      else nativePackage.push(await timePackage(NATIVE))
    }
  }

  const offlineRounds = options.quick ? 1 : 6
  const seconds = options.quick ? 2 : 4
  const concurrency = 4
  options.log(`serverless offline: ${offlineRounds} interleaved round(s) of ${seconds} s at concurrency ${concurrency} on /hello...`)
  let portable: Offline | undefined
  let native: Offline | undefined
  const portableRps: number[] = []
  const nativeRps: number[] = []
  try {
    portable = await startOffline()
    native = await startOffline({}, 90_000, NATIVE)
    const body = '{"hello":"world","provider":"aws"}'
    // Warm both: offline starts a worker thread per concurrent request on first use.
    await load(`${portable.url}/hello`, 3, concurrency, body)
    await load(`${native.url}/hello`, 3, concurrency, body)
    for (let round = 0; round < offlineRounds; round++) {
      const order = round % 2 === 0 ? ['portable', 'native'] : ['native', 'portable']
      for (const which of order) {
        if (which === 'portable') portableRps.push(await load(`${portable.url}/hello`, seconds, concurrency, body))
        else nativeRps.push(await load(`${native.url}/hello`, seconds, concurrency, body))
      }
    }
  } finally {
    await portable?.stop()
    await native?.stop()
  }
  const p = summarize(portablePackage)
  const n = summarize(nativePackage)
  const pr = summarize(portableRps)
  const nr = summarize(nativeRps)
  return {
    package: { portable: p, native: n, ratio: p.median / n.median, rounds },
    offline: { portable: pr, native: nr, ratio: pr.median / nr.median, rounds: offlineRounds, seconds, concurrency },
  }
}
