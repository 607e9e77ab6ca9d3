/**
 * A route's security (`auth`, `cors`, `maxBodySize`), read once for every provider: declared on the route or for the
 * service (`custom.polycloud.http`), checked by `@polycloud/auth`'s own policy rules (so a policy the runtime would
 * refuse fails at package time, naming the function and the field), the same for every route of a function, and the
 * API keys turned into the digests the runtime compares (a key never reaches the bundle or the environment as is).
 */
import { createHash } from 'node:crypto'
import type { ResolvedPolicy, RoutePolicy } from '@polycloud/auth/policy'
import { ConfigError } from './errors.js'
import type { FunctionConfig } from './provider.js'
import { parseRoute } from './route.js'

type Json = Record<string, unknown>

/** What the plugin reads a policy with: `@polycloud/auth/policy`'s `resolvePolicy`, loaded when a route needs it. */
export type PolicyResolver = (policy: RoutePolicy, methods: readonly string[]) => ResolvedPolicy

/** The environment variable the runtime reads API keys from (`@polycloud/auth`'s `KEYS_VARIABLE`). */
export const KEYS_VARIABLE = 'POLYCLOUD_API_KEYS'

/** The security of a function's routes. */
export interface RouteSecurity {
  /** The policy as the generated entry passes it to `secure()`. */
  readonly policy: RoutePolicy
  /** The methods of the function's routes (CORS allows these unless the policy lists its own). */
  readonly methods: readonly string[]
  /** The paths of the function's routes. */
  readonly paths: readonly string[]
  readonly resolved: ResolvedPolicy
}

const FIELDS = ['auth', 'cors', 'maxBodySize'] as const

/** The service's defaults: `custom.polycloud.http` without `keys`. */
export function serviceDefaults(http: Json | undefined): RoutePolicy {
  const defaults: Record<string, unknown> = {}
  for (const field of FIELDS) if (http?.[field] !== undefined) defaults[field] = http[field]
  return defaults as RoutePolicy
}

/** Whether anything in the service declares security (so the resolver needs loading). */
export function declaresSecurity(functions: Readonly<Record<string, FunctionConfig>>, http: Json | undefined): boolean {
  if (FIELDS.some((field) => http?.[field] !== undefined)) return true
  return Object.values(functions).some((fn) =>
    (fn.events ?? []).some((event) => {
      const route = (event as Json).route
      return typeof route === 'object' && route !== null && FIELDS.some((field) => (route as Json)[field] !== undefined)
    }),
  )
}

function isEmpty(policy: RoutePolicy): boolean {
  return (policy.auth === undefined || policy.auth === 'none') && (policy.cors === undefined || policy.cors === false) && policy.maxBodySize === undefined
}

/**
 * The security of a function's `route` events, or undefined when they declare none (and the service sets no
 * defaults). Every route of one function must share one policy: the function is one handler behind one `secure()`.
 */
export function functionSecurity(name: string, config: FunctionConfig, defaults: RoutePolicy, resolve: PolicyResolver | undefined): RouteSecurity | undefined {
  const routes: Array<{ index: number; method: string; path: string; policy: RoutePolicy }> = []
  ;(config.events ?? []).forEach((event, index) => {
    const value = (event as Json).route
    if (value === undefined) return
    let parsed
    try {
      parsed = parseRoute(value as string | { method: string; path: string })
    } catch {
      return // The route's own check reports it, with its path.
    }
    const own = typeof value === 'object' && value !== null ? (value as Json) : {}
    const policy: Record<string, unknown> = { ...defaults }
    for (const field of FIELDS) if (own[field] !== undefined) policy[field] = own[field]
    routes.push({ index, method: parsed.method, path: parsed.path, policy: policy as RoutePolicy })
  })
  if (routes.length === 0) return undefined
  const first = routes[0]!
  for (const route of routes.slice(1)) {
    if (JSON.stringify(route.policy) !== JSON.stringify(first.policy)) {
      throw new ConfigError(
        `functions.${name}.events[${route.index}].route`,
        `its auth, cors and maxBodySize differ from events[${first.index}]'s, and one function is one handler behind one policy: give them the same, or split the function`,
      )
    }
  }
  if (isEmpty(first.policy)) return undefined
  if (resolve === undefined) throw new ConfigError(`functions.${name}`, 'its routes declare auth, cors or maxBodySize: install @polycloud/auth')
  const methods = [...new Set(routes.map((route) => route.method))]
  let resolved: ResolvedPolicy
  try {
    resolved = resolve(first.policy, methods)
  } catch (error) {
    throw new ConfigError(`functions.${name}.events[${first.index}].route`, (error as Error).message)
  }
  return { policy: first.policy, methods, paths: [...new Set(routes.map((route) => route.path))], resolved }
}

/**
 * `POLYCLOUD_API_KEYS` for the configured keys (`custom.polycloud.http.keys`): their SHA-256 digests by name, so
 * neither the bundle nor the environment holds a key. Refuses key auth without keys.
 */
export function apiKeysVariable(functionName: string, keys: Json | undefined): string {
  const entries = Object.entries(keys ?? {})
  if (entries.length === 0) {
    throw new ConfigError(`functions.${functionName}`, 'its routes take auth: key, but custom.polycloud.http.keys names no key (e.g. keys: { partner: ${env:PARTNER_API_KEY} })')
  }
  const digests: Record<string, string> = {}
  for (const [name, key] of entries) digests[name] = `sha256:${createHash('sha256').update(String(key)).digest('hex')}`
  return JSON.stringify(digests)
}

/**
 * The `OPTIONS` routes that answer CORS preflights where the generated entry answers them: one per path (the
 * first function with CORS on a path takes it), skipped where a route of the path already takes any method.
 */
export function preflightRoutes(functions: ReadonlyArray<{ readonly name: string; readonly security?: RouteSecurity | undefined; readonly config: FunctionConfig }>): Map<string, string[]> {
  const anyMethod = new Set<string>()
  for (const fn of functions) {
    for (const event of fn.config.events ?? []) {
      const value = (event as Json).route
      if (value === undefined) continue
      try {
        const route = parseRoute(value as string | { method: string; path: string })
        if (route.method === 'ANY' || route.method === 'OPTIONS') anyMethod.add(route.path)
      } catch {
        // Reported by the route's own check.
      }
    }
  }
  const taken = new Set<string>()
  const byFunction = new Map<string, string[]>()
  for (const fn of functions) {
    if (!fn.security?.resolved.cors) continue
    for (const path of fn.security.paths) {
      if (anyMethod.has(path) || taken.has(path)) continue
      taken.add(path)
      byFunction.set(fn.name, [...(byFunction.get(fn.name) ?? []), path])
    }
  }
  return byFunction
}
