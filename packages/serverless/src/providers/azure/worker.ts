/**
 * The local Node.js language worker: a child process of the local host (`offline.ts`), doing what the Azure
 * Functions Node worker does. It provides the `@azure/functions-core` module through a `Module.prototype.require`
 * hook, loads every file the app's package.json `main` names, reports the functions @azure/functions registered,
 * and runs each invocation through the library's own programming model (getArguments, hooks, invokeFunction,
 * getResponse) with the RPC shapes the host sends. It talks to the host over IPC (advanced serialization, so bytes
 * stay bytes).
 *
 *   node --enable-source-maps worker.js <app folder>
 */
import Module from 'node:module'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { RpcTypedDataShape, WorkerMessage, HostMessage, RegisteredFunction, RpcResponseShape } from './rpc.js'

interface CoreContext {
  invocationId: string
  request: { invocationId: string; functionId: string; inputData: Array<{ name: string; data: RpcTypedDataShape }>; triggerMetadata: Record<string, RpcTypedDataShape>; retryContext?: unknown }
  metadata: RegisteredFunction & { functionId: string }
  state: 'preInvocationHooks' | 'postInvocationHooks' | 'invocation' | undefined
  log(level: string, category: string, message: string): void
}

interface InvocationModel {
  getArguments(): Promise<{ context: unknown; inputs: unknown[] }>
  invokeFunction(context: unknown, inputs: unknown[], callback: unknown): Promise<unknown>
  getResponse(context: unknown, result: unknown): Promise<RpcResponseShape>
}

interface ProgrammingModel {
  name: string
  version: string
  getInvocationModel(context: CoreContext): InvocationModel
  getCapabilities(capabilities: Record<string, string>): Promise<Record<string, string>>
}

type Hook = (context: Record<string, unknown>) => void | Promise<void>

const appDir = resolve(process.argv[2] ?? '.')
const send = (message: WorkerMessage): void => void process.send?.(message)

const functions = new Map<string, { metadata: RegisteredFunction; callback: unknown }>()
const hooks: Record<string, Hook[]> = { preInvocation: [], postInvocation: [], appStart: [], appTerminate: [] }
const appHookData: Record<string, unknown> = {}
let model: ProgrammingModel | undefined

class Disposable {
  readonly #dispose: () => void
  constructor(dispose: () => void) {
    this.#dispose = dispose
  }
  dispose(): void {
    this.#dispose()
  }
}

/** `@azure/functions-core`, as the worker provides it to the library. */
const core = {
  version: '3.12.0',
  hostVersion: '4.1037.0',
  Disposable,
  setProgrammingModel(programmingModel: ProgrammingModel) {
    if (model !== undefined) log('warning', 'system', `Programming model "${programmingModel.name}" replaces "${model.name}": load @azure/functions once per app`)
    model = programmingModel
  },
  getProgrammingModel: () => model,
  registerFunction(metadata: RegisteredFunction, callback: unknown) {
    if (functions.has(metadata.name)) throw new Error(`A function with name "${metadata.name}" has already been registered.`)
    functions.set(metadata.name, { metadata, callback })
    return new Disposable(() => functions.delete(metadata.name))
  },
  registerHook(name: string, callback: Hook) {
    const list = hooks[name]
    if (list === undefined) throw new RangeError(`"${name}" is not a valid hook name.`)
    list.push(callback)
    return new Disposable(() => list.splice(list.indexOf(callback), 1))
  },
  log: (level: string, category: string, message: string) => log(level, category, message),
}

function log(level: string, category: string, message: string, invocationId?: string): void {
  send({ type: 'log', level, category, message, ...(invocationId === undefined ? {} : { invocationId }) })
}

const require = Module.prototype.require
Module.prototype.require = function (this: NodeJS.Module, id: string) {
  if (id === '@azure/functions-core') return core
  // eslint-disable-next-line prefer-rest-params
  return require.apply(this, arguments as unknown as [string])
} as typeof Module.prototype.require

/** The files `main` names: a path, or a glob with `*` in its last segment (`dist/*.cjs`). */
function mainFiles(main: string): string[] {
  const path = join(appDir, main)
  if (!main.includes('*')) return [path]
  const dir = dirname(path)
  const pattern = new RegExp(`^${path.slice(dir.length + 1).replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '[^/]*')}$`)
  return existsSync(dir) ? readdirSync(dir).filter((name) => pattern.test(name)).sort().map((name) => join(dir, name)) : []
}

async function load(): Promise<void> {
  const packageJson = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8')) as { main?: string; type?: string }
  if (typeof packageJson.main !== 'string') throw new Error('package.json has no "main": the worker loads the files it names')
  const files = mainFiles(packageJson.main)
  if (files.length === 0) throw new Error(`package.json "main" (${packageJson.main}) names no file`)
  for (const file of files) {
    if (file.endsWith('.mjs') || (packageJson.type === 'module' && file.endsWith('.js'))) await import(pathToFileURL(file).href)
    else require.call(module, file)
  }
  for (const hook of [...hooks.appStart!]) await hook({ hookData: appHookData, appHookData, functionAppDirectory: appDir, hostVersion: core.hostVersion })
}

/** This module's `module`, to require the app's files from (the hook above lets their `require` see the core module). */
const module = new Module(join(appDir, '[worker]'))
module.filename = join(appDir, '[worker]')
module.paths = (Module as unknown as { _nodeModulePaths(path: string): string[] })._nodeModulePaths(appDir)

async function runHooks(name: 'preInvocation' | 'postInvocation', context: Record<string, unknown>): Promise<void> {
  for (const hook of [...hooks[name]!]) await hook(context)
}

async function invoke(message: Extract<HostMessage, { type: 'invoke' }>): Promise<void> {
  const { invocationId, functionName } = message
  try {
    const registered = functions.get(functionName)
    if (registered === undefined || model === undefined) throw new Error(`Function "${functionName}" is not registered`)
    const coreContext: CoreContext = {
      invocationId,
      request: { invocationId, functionId: functionName, inputData: message.inputData, triggerMetadata: message.triggerMetadata, ...(message.retryContext ? { retryContext: message.retryContext } : {}) },
      metadata: { ...registered.metadata, functionId: functionName },
      state: undefined,
      log: (level, category, text) => log(level, category, text, invocationId),
    }
    const invocation = model.getInvocationModel(coreContext)
    const { context, inputs } = await invocation.getArguments()
    const hookData: Record<string, unknown> = {}
    const pre = { hookData, appHookData, invocationContext: context, functionCallback: registered.callback, inputs }
    coreContext.state = 'preInvocationHooks'
    await runHooks('preInvocation', pre)
    coreContext.state = 'invocation'
    let result: unknown
    let error: unknown
    try {
      result = await invocation.invokeFunction(context, pre.inputs, pre.functionCallback)
    } catch (thrown) {
      error = thrown
    }
    coreContext.state = 'postInvocationHooks'
    const post = { hookData, appHookData, invocationContext: context, inputs: pre.inputs, result, error }
    await runHooks('postInvocation', post)
    coreContext.state = undefined
    if (post.error !== undefined && post.error !== null) throw post.error
    send({ type: 'result', invocationId, response: await invocation.getResponse(context, post.result) })
  } catch (error) {
    const failure = error instanceof Error ? { message: error.message, stack: error.stack ?? error.message } : { message: String(error), stack: String(error) }
    send({ type: 'result', invocationId, error: failure })
  }
}

process.on('message', (message: HostMessage) => {
  if (message.type === 'invoke') void invoke(message)
  else if (message.type === 'stop') {
    void (async () => {
      for (const hook of [...hooks.appTerminate!]) await Promise.resolve(hook({ hookData: appHookData, appHookData })).catch(() => {})
      process.exit(0)
    })()
  }
})

// The host stops the worker (a `stop` message); Ctrl-C reaches the whole process group, and the host must not
// lose its worker before it stops it. Without the host (it died), the worker ends.
process.on('SIGINT', () => {})
process.on('SIGTERM', () => {})
process.on('disconnect', () => process.exit(0))

// As the Functions worker does, an uncaught error ends the worker; the host logs it and starts another.
for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
  process.on(event, (error: unknown) => {
    log('error', 'system', `Worker uncaught exception: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
    setTimeout(() => process.exit(1), 50)
  })
}

try {
  await load()
  if (model === undefined) throw new Error('no function was registered: the app must register its functions through @azure/functions (app.http, app.timer, ...)')
  send({ type: 'ready', functions: [...functions.values()].map(({ metadata }) => metadata), capabilities: await model.getCapabilities({}) })
} catch (error) {
  send({ type: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) })
  setTimeout(() => process.exit(1), 50)
}
