// Warm child: every contender bundle loaded in one process, timed in interleaved rounds per event.
// Built by run.ts into out/warm.cjs and run with plain `node`:  node out/warm.cjs <config.json> <result.json>
import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { resolve } from 'node:path'
import { checkHello, handlerOf, lambdaContext, type LambdaLike } from './lib/check.js'
import { summarize, type Summary } from './lib/stats.js'

export interface WarmConfig {
  contenders: Array<{ name: string; bundle: string }>
  events: Array<{ key: string; path: string; expected: string; verifyOnly?: boolean }>
  /** Warm-up time per contender and event before calibration. */
  warmupMs: number
  /** Target duration of one contender's batch in a round; sets its invocation count N. */
  batchMs: number
  rounds: number
}

export interface WarmResult {
  events: Record<
    string,
    Record<string, { nsPerInvocation: Summary; invocationsPerRound: number; mutatesEvent: boolean }>
  >
}

type Loop = (fn: LambdaLike, event: unknown, context: unknown, n: number) => Promise<number>

// One loop function per contender, each compiled from its own source text, so every contender has its own call
// site and type feedback: a shared loop would turn polymorphic and penalise whichever contender V8 sees last.
const AsyncFunction = (async () => {}).constructor as new (...args: string[]) => Loop
function makeLoop(tag: string): Loop {
  return new AsyncFunction(
    'fn',
    'event',
    'context',
    'n',
    `/* ${tag} */ let sum = 0; for (let i = 0; i < n; i++) sum += (await fn(event, context)).statusCode; return sum`,
  )
}

function log(message: string): void {
  process.stderr.write(`  ${message}\n`)
}

async function main(): Promise<void> {
  const [configPath, resultPath] = process.argv.slice(2)
  if (!configPath || !resultPath) throw new Error('usage: warm.cjs <config.json> <result.json>')
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as WarmConfig
  const handlers = config.contenders.map((c) => {
    const path = resolve(c.bundle)
    return { name: c.name, fn: handlerOf(c.name, createRequire(path)(path)), loop: makeLoop(c.name) }
  })
  const result: WarmResult = { events: {} }

  for (const spec of config.events) {
    const text = readFileSync(spec.path, 'utf8')
    // Each contender gets its own copy: some write to the event (serverless-http fills in defaults).
    const events = handlers.map(() => JSON.parse(text) as unknown)
    const context = lambdaContext()
    for (const [i, h] of handlers.entries()) checkHello(`${h.name} (${spec.key})`, await h.fn(events[i], context), spec.expected)
    if (spec.verifyOnly) {
      log(`${spec.key}: every contender answers {"hello":${JSON.stringify(spec.expected)}}`)
      continue
    }

    // Warm-up (JIT tiers up), interleaved in small batches; the last batch gives a per-invocation estimate.
    const estimate = handlers.map(() => 1000)
    const warmEnd = performance.now() + config.warmupMs * handlers.length
    while (performance.now() < warmEnd) {
      for (const [i, h] of handlers.entries()) {
        const n = 200
        const t0 = process.hrtime.bigint()
        await h.loop(h.fn, events[i], context, n)
        estimate[i] = Number(process.hrtime.bigint() - t0) / n
      }
    }
    const counts = estimate.map((ns) => Math.max(20, Math.min(200_000, Math.round((config.batchMs * 1e6) / ns))))

    // Interleaved rounds: every round runs every contender once, the starting contender rotating each round.
    const samples: number[][] = handlers.map(() => [])
    for (let round = 0; round < config.rounds; round++) {
      for (let k = 0; k < handlers.length; k++) {
        const i = (round + k) % handlers.length
        const h = handlers[i]!
        const n = counts[i]!
        const t0 = process.hrtime.bigint()
        const sum = await h.loop(h.fn, events[i], context, n)
        const elapsed = Number(process.hrtime.bigint() - t0)
        if (sum !== 200 * n) throw new Error(`${h.name} (${spec.key}): a timed invocation did not answer 200`)
        samples[i]!.push(elapsed / n)
      }
    }

    const byContender: WarmResult['events'][string] = {}
    for (const [i, h] of handlers.entries()) {
      // Still correct after thousands of calls on the same event object.
      checkHello(`${h.name} (${spec.key}, after timing)`, await h.fn(events[i], context), spec.expected)
      const mutatesEvent = JSON.stringify(JSON.parse(text)) !== JSON.stringify(events[i])
      byContender[h.name] = { nsPerInvocation: summarize(samples[i]!), invocationsPerRound: counts[i]!, mutatesEvent }
    }
    result.events[spec.key] = byContender
    log(
      `${spec.key}: ${handlers.map((h) => `${h.name} ${(byContender[h.name]!.nsPerInvocation.median / 1000).toFixed(2)} us`).join(', ')}`,
    )
  }
  writeFileSync(resultPath, JSON.stringify(result))
}

main().catch((error: unknown) => {
  process.stderr.write(`warm benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exitCode = 1
})
