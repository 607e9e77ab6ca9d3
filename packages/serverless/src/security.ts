/**
 * A route's security (`auth`, `cors`, `maxBodySize`), read once for every provider: declared on the route or for the
 * service (`custom.polycloud.http`), checked by `@polycloud/auth`'s own policy rules (so a policy the runtime would
 * refuse fails at package time, naming the function and the field), the same for every route of a function, and the
 * API keys turned into the digests the runtime compares (a key never reaches the bundle or the environment as is).
 */
import { createHash } from 'node:crypto'
import type { ResolvedPolicy, RoutePolicy } from '@polycloud/auth/policy'
import { ConfigError } from './errors.js'

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

function isEmpty(policy: RoutePolicy): boolean {
  return (policy.auth === undefined || policy.auth === 'none') && (policy.cors === undefined || policy.cors === false) && policy.maxBodySize === undefined
}

/** A route as the model reads it: where it is, its method and path, its own policy fields. */
export interface PolicyRoute {
  readonly index: number
  readonly at: string
  readonly method: string
  readonly path: string
  readonly policy: RoutePolicy
}

/**
 * The security of a function's routes, or undefined when they declare none (and the service sets no defaults).
 * Every route of one function must share one policy: the function is one handler behind one `secure()`.
 */
export function functionSecurity(name: string, routes: readonly PolicyRoute[], defaults: RoutePolicy, resolve: PolicyResolver | undefined): RouteSecurity | undefined {
  if (routes.length === 0) return undefined
  const policies = routes.map((route) => {
    const policy: Record<string, unknown> = { ...defaults }
    for (const field of FIELDS) if (route.policy[field] !== undefined) policy[field] = route.policy[field]
    return policy as RoutePolicy
  })
  const first = routes[0]!
  const policy = policies[0]!
  routes.forEach((route, index) => {
    if (JSON.stringify(policies[index]) !== JSON.stringify(policy)) {
      throw new ConfigError(
        route.at,
        `its auth, cors and maxBodySize differ from events[${first.index}]'s, and one function is one handler behind one policy: give them the same, or split the function`,
      )
    }
  })
  if (isEmpty(policy)) return undefined
  if (resolve === undefined) throw new ConfigError(`functions.${name}`, 'its routes declare auth, cors or maxBodySize: install @polycloud/auth')
  const methods = [...new Set(routes.map((route) => route.method))]
  let resolved: ResolvedPolicy
  try {
    resolved = resolve(policy, methods)
  } catch (error) {
    throw new ConfigError(first.at, (error as Error).message)
  }
  return { policy, methods, paths: [...new Set(routes.map((route) => route.path))], resolved }
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
 * The paths of the `OPTIONS` routes that answer CORS preflights where the generated entry answers them, by
 * function: one per path (the first function with CORS on a path takes it), none where a route of the path already
 * takes any method.
 */
export function preflightPaths(
  functions: ReadonlyArray<{ readonly name: string; readonly security?: RouteSecurity | undefined; readonly events: ReadonlyArray<{ readonly kind: string; readonly method?: string; readonly path?: string }> }>,
): Map<string, string[]> {
  const anyMethod = new Set<string>()
  for (const fn of functions) {
    for (const event of fn.events) {
      if (event.kind === 'route' && (event.method === 'ANY' || event.method === 'OPTIONS')) anyMethod.add(event.path as string)
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
