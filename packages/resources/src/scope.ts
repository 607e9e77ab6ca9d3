/**
 * The invocation a resource call belongs to, found without the handler passing anything: `withResources` runs each
 * invocation of a handler inside an AsyncLocalStorage scope holding its context (deadline, environment, Workers
 * bindings), its function's `uses` and the driver. Node has AsyncLocalStorage always; workerd with the `nodejs_als`
 * or `nodejs_compat` compatibility flag. Without it (a Worker with neither flag) the scope of the only invocation in
 * flight is used, and when several run at once their union (any declared name, the latest deadline): the flag makes
 * it exact.
 */
import type { Context, PortableHandler } from '@polycloud/core'
import type { ResourceDriver } from './driver.js'

export interface InvocationScope {
  readonly driver: ResourceDriver
  /** The logical names the function declares. */
  readonly uses: ReadonlySet<string>
  readonly context: Context
  /** The invocation's deadline signal, made by its first call and shared by the others (see client.ts). */
  deadline?: AbortSignal
  /** The invocation's trace as message attributes and object metadata (checked), made by its first send or put. */
  trace?: Readonly<Record<string, string>>
  /** Whether `trace` passed the message attributes' checks (done once). */
  traceChecked?: boolean
}

interface Storage {
  run<R>(store: InvocationScope, callback: () => R): R
  getStore(): InvocationScope | undefined
}

type GetBuiltin = (id: string) => { AsyncLocalStorage: new () => Storage }

let storage: Storage | undefined
let loading: Promise<void> | undefined
const active = new Set<InvocationScope>()

/** AsyncLocalStorage, synchronously where `process.getBuiltinModule` exists (Node 20.16+, workerd with nodejs_compat). */
function load(): void {
  if (storage !== undefined || loading !== undefined) return
  const getBuiltin = (globalThis as { process?: { getBuiltinModule?: GetBuiltin } }).process?.getBuiltinModule
  if (typeof getBuiltin === 'function') {
    try {
      storage = new (getBuiltin('node:async_hooks').AsyncLocalStorage)()
      return
    } catch {
      // Not there: try the import below.
    }
  }
  loading = (import('node:async_hooks') as Promise<{ AsyncLocalStorage: new () => Storage }>).then(
    (module) => {
      storage = new module.AsyncLocalStorage()
    },
    () => undefined,
  )
}

/** Runs `callback` as the given invocation; resource calls made in it (and in what it starts) find the scope. */
export async function runInScope<R>(scope: InvocationScope, callback: () => R | Promise<R>): Promise<R> {
  load()
  if (loading !== undefined) await loading
  if (storage !== undefined) return storage.run(scope, callback)
  return runTracked(scope, callback)
}

/** Runs `callback` as the invocation in flight, without AsyncLocalStorage (exact while it is the only one). */
async function runTracked<R>(scope: InvocationScope, callback: () => R | Promise<R>): Promise<R> {
  active.add(scope)
  try {
    return await callback()
  } finally {
    active.delete(scope)
  }
}

/** The invocation the current code runs in, if any. */
export function currentScope(): InvocationScope | undefined {
  const stored = storage?.getStore()
  if (stored !== undefined) return stored
  if (active.size <= 1) return active.values().next().value
  return unionScope()
}

function unionScope(): InvocationScope {
  const uses = new Set<string>()
  let latest: InvocationScope | undefined
  for (const scope of active) {
    for (const name of scope.uses) uses.add(name)
    if (latest === undefined || scope.context.deadline > latest.context.deadline) latest = scope
  }
  const scope = latest as InvocationScope
  return { driver: scope.driver, uses, context: scope.context }
}

let fallbackDriver: ResourceDriver | undefined

/**
 * The driver for calls made outside an invocation (module initialisation, tests): `useResources(driver)`, else the
 * first driver `withResources` was given.
 */
export function defaultDriver(): ResourceDriver | undefined {
  return fallbackDriver
}

/**
 * Installs the driver calls use outside any `withResources` invocation: in tests (`useResources(memoryResources())`),
 * or in an entry written by hand that has no per-function `uses`. Returns the previous one.
 */
export function useResources(driver: ResourceDriver | undefined): ResourceDriver | undefined {
  const previous = fallbackDriver
  fallbackDriver = driver
  return previous
}

/**
 * The handler a generated entry registers for a function that declares resources: each invocation runs with the
 * driver, the function's declared names (`uses` in serverless.yml) and the invocation's context (its deadline bounds
 * every call). A function without resources is registered without it and loads none of this package.
 */
export function withResources<H extends PortableHandler>(handler: H, driver: ResourceDriver, uses: readonly string[]): H {
  fallbackDriver ??= driver
  const names: ReadonlySet<string> = new Set(uses)
  const inner = handler.handle as (input: never, context: Context) => unknown
  // A platform that runs one invocation at a time per process (Lambda) needs no AsyncLocalStorage: the invocation in
  // flight is the one. Elsewhere (Azure, Cloud Run, Workers run several at once) each invocation gets its own scope.
  const run = driver.serial === true ? runTracked : runInScope
  if (driver.serial !== true) load()
  const handle = (input: never, context: Context): Promise<unknown> => run({ driver, uses: names, context }, () => inner(input, context))
  return { ...handler, handle } as H
}
