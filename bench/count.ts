// Instruction-count child: a fresh `node` process loads one bundle and invokes its handler N times on one event,
// awaiting each answer. Run under ../shared/tools/instructions (callgrind) by instructions.ts; the count of N
// invocations minus the count of M gives the cost per invocation, the count of 1 minus that of an empty handler
// the cold start. Built by run.ts into out/count.cjs and run with plain `node` (no loader hooks):
//   node out/count.cjs <bundle.cjs> <event.json> <invocations> [<expected body>]
// Every answer is checked against the expected body (a wrong answer exits non-zero, so nothing wrong is counted).
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { resolve } from 'node:path'

interface Answer {
  statusCode?: unknown
  body?: unknown
}

type Handler = (event: unknown, context: unknown) => Promise<Answer>

const [bundle, eventPath, count, expected] = process.argv.slice(2)
if (!bundle || !eventPath || !count) throw new Error('usage: count.cjs <bundle.cjs> <event.json> <invocations> [<expected body>]')
const invocations = Number(count)
const event: unknown = JSON.parse(readFileSync(eventPath, 'utf8'))
const context = {
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  functionName: 'hello',
  getRemainingTimeInMillis: () => 3000,
}
const handler = (createRequire(resolve(bundle))(resolve(bundle)) as { handler: Handler }).handler

async function main(): Promise<void> {
  for (let i = 0; i < invocations; i++) {
    const answer = await handler(event, context)
    if (expected !== undefined && (answer.statusCode !== 200 || answer.body !== expected)) {
      throw new Error(`${bundle}: invocation ${i + 1} answered ${JSON.stringify(answer).slice(0, 300)}, expected 200 ${expected}`)
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`count failed: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
})
