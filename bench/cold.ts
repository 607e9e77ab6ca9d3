// Cold-start child: a fresh `node` process loads one contender bundle and serves one event, timed from inside.
// Built by run.ts into out/cold.cjs and run with plain `node` (no loader hooks), once per sample:
//   node out/cold.cjs <contender> <bundle.cjs> <event.json> <expected name>
// Prints one JSON line: { loadMs, firstMs, totalMs } (require of the bundle, first invocation, both).
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { resolve } from 'node:path'
import { checkHello, handlerOf, lambdaContext } from './lib/check.js'

async function main(): Promise<void> {
  const [contender, bundle, eventPath, expected] = process.argv.slice(2)
  if (!contender || !bundle || !eventPath || expected === undefined) {
    throw new Error('usage: cold.cjs <contender> <bundle.cjs> <event.json> <expected name>')
  }
  const bundlePath = resolve(bundle)
  const event: unknown = JSON.parse(readFileSync(eventPath, 'utf8'))
  const context = lambdaContext()
  const load = createRequire(bundlePath)
  performance.now()

  const t0 = performance.now()
  const handler = handlerOf(contender, load(bundlePath))
  const t1 = performance.now()
  const result = await handler(event, context)
  const t2 = performance.now()

  checkHello(contender, result, expected)
  process.stdout.write(`${JSON.stringify({ loadMs: t1 - t0, firstMs: t2 - t1, totalMs: t2 - t0 })}\n`)
}

main().catch((error: unknown) => {
  process.stderr.write(`cold start failed: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
})
