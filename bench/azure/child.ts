// Child process of the Azure bench, bundled by bench/azure.ts and run with plain `node`:
//   node azure-child.cjs warm <bundle.cjs> <rounds> <batchMs> <result.json>
//   node azure-child.cjs cold <bundle.cjs> <function>
// It provides `@azure/functions-core` the way the Functions Node worker does (a Module.prototype.require hook) and
// invokes each registered function through the library's own invocation model (getArguments, invokeFunction,
// getResponse) with the RPC request the host sends, then checks the RPC response.
import Module, { createRequire } from 'node:module'
import { writeFileSync } from 'node:fs'
import { resolve } from 'node:path'

interface Registered {
  metadata: { name: string; bindings: Record<string, { type: string }> }
  callback: unknown
}
interface Model {
  getInvocationModel(context: unknown): {
    getArguments(): Promise<{ context: unknown; inputs: unknown[] }>
    invokeFunction(context: unknown, inputs: unknown[], callback: unknown): Promise<unknown>
    getResponse(context: unknown, result: unknown): Promise<{ returnValue?: { http?: { statusCode?: string; body?: { bytes?: Uint8Array } } } }>
  }
}

const functions = new Map<string, Registered>()
let model: Model | undefined
const core = {
  setProgrammingModel: (value: Model) => void (model = value),
  getProgrammingModel: () => model,
  registerFunction: (metadata: Registered['metadata'], callback: unknown) => (functions.set(metadata.name, { metadata, callback }), { dispose() {} }),
  registerHook: () => ({ dispose() {} }),
  log() {},
}
const original = Module.prototype.require
Module.prototype.require = function (this: NodeJS.Module, id: string) {
  return id === '@azure/functions-core' ? core : original.call(this, id)
} as typeof Module.prototype.require

const request = (name: string) => ({
  http: {
    method: 'GET',
    url: `https://bench.azurewebsites.net/api/${name === 'polycloud' ? 'hello' : 'bare'}?name=polycloud`,
    headers: { host: 'bench.azurewebsites.net', 'user-agent': 'bench', accept: '*/*' },
    query: { name: 'polycloud' },
    params: {},
    body: { bytes: new Uint8Array(0) },
  },
})

let invocations = 0
async function invoke(name: string): Promise<string> {
  const fn = functions.get(name) as Registered
  const trigger = Object.keys(fn.metadata.bindings).find((key) => /trigger$/i.test(fn.metadata.bindings[key]?.type ?? '')) as string
  const invocationId = `bench-${++invocations}`
  const coreContext = { invocationId, metadata: fn.metadata, request: { invocationId, inputData: [{ name: trigger, data: request(name) }], triggerMetadata: {} }, state: undefined, log() {} }
  const invocation = (model as Model).getInvocationModel(coreContext)
  const { context, inputs } = await invocation.getArguments()
  const result = await invocation.invokeFunction(context, inputs, fn.callback)
  const response = await invocation.getResponse(context, result)
  const http = response.returnValue?.http
  return `${http?.statusCode} ${Buffer.from(http?.body?.bytes ?? new Uint8Array()).toString()}`
}

function check(name: string, answer: string): void {
  if (answer !== '200 {"hello":"polycloud"}') throw new Error(`${name} answered ${answer}`)
}

async function warm(bundle: string, rounds: number, batchMs: number, out: string): Promise<void> {
  createRequire(bundle)(bundle)
  const names = ['polycloud', 'bare']
  for (const name of names) check(name, await invoke(name))
  // Warm-up, then a batch size per contender so one batch takes about batchMs.
  const batch: Record<string, number> = {}
  for (const name of names) {
    const started = performance.now()
    let n = 0
    while (performance.now() - started < 300) {
      await invoke(name)
      n++
    }
    batch[name] = Math.max(1, Math.round((n / (performance.now() - started)) * batchMs))
  }
  const samples: Record<string, number[]> = { polycloud: [], bare: [] }
  for (let round = 0; round < rounds; round++) {
    for (let j = 0; j < names.length; j++) {
      const name = names[(round + j) % names.length] as string
      const n = batch[name] as number
      const started = performance.now()
      for (let i = 0; i < n; i++) await invoke(name)
      ;(samples[name] as number[]).push(((performance.now() - started) * 1e6) / n)
    }
  }
  for (const name of names) check(name, await invoke(name))
  writeFileSync(out, JSON.stringify({ samples, batch }))
}

async function cold(bundle: string, name: string): Promise<void> {
  const t0 = performance.now()
  createRequire(bundle)(bundle)
  const t1 = performance.now()
  const answer = await invoke(name)
  const t2 = performance.now()
  check(name, answer)
  process.stdout.write(`${JSON.stringify({ loadMs: t1 - t0, firstMs: t2 - t1, totalMs: t2 - t0 })}\n`)
}

const [mode, bundle, a, b, c] = process.argv.slice(2)
const run = mode === 'warm' ? warm(resolve(bundle as string), Number(a), Number(b), c as string) : cold(resolve(bundle as string), a as string)
run.catch((error: unknown) => {
  process.stderr.write(`azure bench child failed: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
})
