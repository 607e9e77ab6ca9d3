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

/** An IPv4 address as a number, or undefined when the text is not one. */
function ipv4(text: string): number | undefined {
  const parts = text.split('.')
  if (parts.length !== 4 || parts.some((part) => !/^\d{1,3}$/.test(part) || Number(part) > 255)) return undefined
  return parts.reduce((value, part) => value * 256 + Number(part), 0)
}

const inRange = (address: number, base: string, bits: number): boolean => Math.floor(address / 2 ** (32 - bits)) === Math.floor((ipv4(base) as number) / 2 ** (32 - bits))

/** What an IPv4 address is when a cloud cannot reach it: loopback, private (RFC 1918), link-local; else undefined. */
function privateIpv4(address: number): string | undefined {
  if (inRange(address, '127.0.0.0', 8)) return 'a loopback address'
  if (inRange(address, '10.0.0.0', 8) || inRange(address, '172.16.0.0', 12) || inRange(address, '192.168.0.0', 16)) return 'a private address (RFC 1918)'
  if (inRange(address, '169.254.0.0', 16)) return 'a link-local address'
  if (inRange(address, '0.0.0.0', 8)) return 'an address of this host'
  return undefined
}

/**
 * Why a deployed function could not reach an issuer's (or a JWKS) address, or undefined when it can: plain http
 * (token keys are fetched over https; API Gateway takes https issuers only), a name or address of the machine
 * itself (localhost, 127.0.0.0/8, ::1), a private one (RFC 1918 10/8, 172.16/12, 192.168/16; IPv6 unique local
 * fc00::/7) or a link-local one (169.254/16, fe80::/10). Names are not resolved: a public name of a private host is
 * not caught.
 */
export function unreachableAddress(address: string): string | undefined {
  let url: URL
  try {
    url = new URL(address)
  } catch {
    return 'is not a URL'
  }
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase()
  let what: string | undefined
  if (host === 'localhost' || host.endsWith('.localhost')) what = 'a name of this machine (loopback)'
  else if (ipv4(host) !== undefined) what = privateIpv4(ipv4(host) as number)
  else if (host.includes(':')) {
    // An IPv4-mapped address (::ffff:127.0.0.1, which URL writes ::ffff:7f00:1).
    const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host)
    const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host)?.[1]
    if (mapped !== null) what = privateIpv4(Number.parseInt(mapped[1] as string, 16) * 65536 + Number.parseInt(mapped[2] as string, 16))
    else if (dotted !== undefined && ipv4(dotted) !== undefined) what = privateIpv4(ipv4(dotted) as number)
    else if (host === '::1') what = 'a loopback address'
    else if (host === '::') what = 'an address of this host'
    else if (/^f[cd][0-9a-f]{0,2}:/.test(host)) what = 'a private address (IPv6 unique local)'
    else if (/^fe[89ab][0-9a-f]?:/.test(host)) what = 'a link-local address'
  }
  if (what !== undefined) return `is ${what}`
  if (url.protocol !== 'https:') return 'is plain http'
  return undefined
}

/** The `${env:NAME}` a serverless.yml reads a JWT setting (`issuer`, `jwksUri`) of this value from, if any. */
export function settingVariable(source: string, key: 'issuer' | 'jwksUri', value: string, env: NodeJS.ProcessEnv): string | undefined {
  const pattern = new RegExp(`\\b${key}\\s*:\\s*["']?\\$\\{env:([A-Za-z_][A-Za-z0-9_]*)\\s*(?:,\\s*(["']?)([^}]*?)\\2\\s*)?\\}`, 'g')
  for (const match of source.matchAll(pattern)) {
    const name = match[1] as string
    if ((env[name] ?? match[3]) === value) return name
  }
  return undefined
}

/**
 * The JWT issuers (and JWKS addresses) of the service's routes that a deployed function cannot reach, each as a
 * sentence naming the function, the address, why, and what to set: `serverless deploy` refuses them, since every
 * request to those routes would be refused once deployed. Locally (offline, invoke local) they are fine.
 */
export function unreachableIssuers(
  functions: ReadonlyArray<{ readonly name: string; readonly security?: RouteSecurity | undefined }>,
  platform: string,
  source: string | undefined,
  env: NodeJS.ProcessEnv,
): string[] {
  const problems: string[] = []
  for (const fn of functions) {
    const auth = fn.security?.resolved.auth
    if (auth?.kind !== 'jwt') continue
    const routes = fn.security?.paths.length === 1 ? fn.security.paths[0] : fn.security?.paths.join(', ')
    for (const [key, address] of [['issuer', auth.issuer], ['jwksUri', auth.jwksUri]] as const) {
      if (address === undefined) continue
      const why = unreachableAddress(address)
      if (why === undefined) continue
      const variable = source === undefined ? undefined : settingVariable(source, key, address, env)
      const fix = variable !== undefined ? `set ${variable} to your identity provider's https ${key === 'issuer' ? 'issuer URL' : 'JWKS URL'} (serverless.yml reads auth.jwt.${key} from it)` : `set auth.jwt.${key} in serverless.yml to your identity provider's https ${key === 'issuer' ? 'issuer URL' : 'JWKS URL'}`
      problems.push(`functions.${fn.name}: auth.jwt.${key} ${address} ${why}, which ${platform} cannot reach: every request to ${routes} would be refused once deployed; ${fix}`)
    }
  }
  return problems
}
