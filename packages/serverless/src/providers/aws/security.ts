/**
 * Route security on AWS: enforced by API Gateway where it can be (an HTTP API JWT authorizer for `auth: jwt`, the
 * HTTP API's CORS configuration when every route shares one CORS policy), by the generated entry otherwise (API keys,
 * body limits, REST APIs, per-route CORS) and always under `serverless offline` and `invoke local`, where nothing
 * verifies signatures (serverless-offline's authorizer emulation does not), so a forged token fails locally as it
 * fails on AWS.
 */
import { createHash } from 'node:crypto'
import type { FunctionInfo } from '../../provider.js'

type Json = Record<string, unknown>

/** Commands that run the functions on this machine: nothing of API Gateway's is in front of them. */
export function isLocalCommand(command: string): boolean {
  return command === 'offline' || command.startsWith('offline ') || command === 'invoke local'
}

/** The API each of a function's routes is on (`api` on the route, else `custom.polycloud.aws.routes`). */
function routeApis(fn: FunctionInfo, defaultApi: string): string[] {
  return (fn.config.events ?? [])
    .filter((event) => (event as Json).route !== undefined)
    .map((event) => {
      const value = (event as Json).route
      return (typeof value === 'object' && value !== null ? ((value as Json).api as string | undefined) : undefined) ?? defaultApi
    })
}

/** Whether API Gateway verifies the function's tokens: JWT auth, every route on the HTTP API, deployed. */
export function platformJwt(fn: FunctionInfo, defaultApi: string, command: string): boolean {
  if (isLocalCommand(command) || fn.security?.resolved.auth.kind !== 'jwt') return false
  const apis = routeApis(fn, defaultApi)
  return apis.length > 0 && apis.every((api) => api === 'http-api')
}

/** The HTTP API authorizer for an issuer and audience, named after them so routes that share them share it. */
export function authorizerName(jwt: { readonly issuer: string; readonly audience: readonly string[] }): string {
  return `polycloudJwt${createHash('sha256').update(JSON.stringify([jwt.issuer, jwt.audience])).digest('hex').slice(0, 10)}`
}

/**
 * The CORS policy API Gateway applies to the whole HTTP API, when it can stand for every route's: deployed, every
 * route of the service on the HTTP API, and every one with the same CORS policy. Otherwise undefined: the entries
 * answer preflights on `OPTIONS` routes and add the headers themselves.
 */
export function platformCors(functions: readonly FunctionInfo[], defaultApi: string, command: string): Json | undefined {
  if (isLocalCommand(command)) return undefined
  const routed = functions.filter((fn) => routeApis(fn, defaultApi).length > 0)
  if (routed.length === 0 || routed.some((fn) => routeApis(fn, defaultApi).some((api) => api !== 'http-api'))) return undefined
  // The policies as declared: their resolved methods differ per function (each allows its own by default).
  const declared = routed.map((fn) => (fn.security?.resolved.cors ? JSON.stringify(fn.security.policy.cors) : undefined))
  const first = routed[0]?.security?.resolved.cors
  if (first === undefined || declared.some((policy) => policy === undefined || policy !== declared[0])) return undefined
  // The methods of every route (the policy's own list when it has one).
  const methods = new Set<string>()
  for (const fn of routed) for (const method of fn.security?.resolved.cors?.methods ?? []) methods.add(method)
  const cors: Json = {
    allowedOrigins: first.origins === '*' ? ['*'] : [...first.origins],
    allowedHeaders: [...first.headers],
    allowedMethods: [...methods, 'OPTIONS'],
    allowCredentials: first.credentials,
  }
  if (first.exposeHeaders.length > 0) cors.exposedResponseHeaders = [...first.exposeHeaders]
  if (first.maxAge !== undefined) cors.maxAge = first.maxAge
  return cors
}

/** `provider.httpApi.authorizers` for the functions API Gateway verifies. */
export function authorizers(functions: readonly FunctionInfo[], defaultApi: string, command: string): Json {
  const out: Json = {}
  for (const fn of functions) {
    const auth = fn.security?.resolved.auth
    if (auth?.kind !== 'jwt' || !platformJwt(fn, defaultApi, command)) continue
    out[authorizerName(auth)] = { identitySource: '$request.header.Authorization', issuerUrl: auth.issuer, audience: [...auth.audience] }
  }
  return out
}

/**
 * What API Gateway enforces for a function, which its entry then does not check again. `apiCors`: whether the API
 * carries the service's CORS policy ({@link platformCors}, computed once for the service).
 */
export function enforcedByPlatform(fn: FunctionInfo, apiCors: boolean, defaultApi: string, command: string): string[] {
  const enforced: string[] = []
  if (platformJwt(fn, defaultApi, command)) enforced.push('jwt')
  if (fn.security?.resolved.cors && apiCors) enforced.push('cors')
  return enforced
}
