/**
 * The AWS plan: each function's events as osls events, the CloudFormation resources they need, and, decided once
 * for every later step, what API Gateway enforces of the routes' security. API Gateway verifies tokens (an HTTP API
 * JWT authorizer for `auth: jwt`) and answers CORS (the HTTP API's CORS configuration, when every route shares one
 * policy) where it can; the generated entry does the rest (API keys, body limits, REST APIs, per-route CORS), and
 * everything under `serverless offline` and `invoke local`, where nothing verifies signatures (serverless-offline's
 * authorizer emulation does not), so a forged token fails locally as it fails on AWS.
 */
import { createHash } from 'node:crypto'
import type { FunctionModel, NativeEvent, RouteEvent, ServiceModel } from '../../model.js'
import { planFunctions } from '../../plan.js'
import { declaredHeads } from '../../route.js'
import type { Json, PlanInput, PlannedFunction, ProviderPlan } from '../../provider.js'
import { FUNCTION_URL_PLAN, nativePlan, neutralPlan, routeApi, scheduleRule, type AwsSettings } from './events.js'

/** What an event becomes on AWS: the osls events of the function. */
export type AwsEvents = Json[]

export interface AwsPlan extends ProviderPlan<AwsEvents> {
  /** The API `route` events go to unless they say (`custom.polycloud.aws.routes`): HTTP API by default. */
  readonly routes: AwsSettings['routes']
  /** `resources.Resources` with what the events need: queues added, tables' streams turned on. */
  readonly resources: Readonly<Json>
  /** The HTTP API's CORS configuration (`provider.httpApi.cors`), when API Gateway answers every route's preflights. */
  readonly cors: Json | undefined
  /** `provider.httpApi.authorizers`: the JWT authorizers of the functions whose tokens API Gateway verifies. */
  readonly authorizers: Json
  /** What API Gateway enforces of each function's security (`jwt`, `cors`), which its entry does not check again. */
  readonly enforced: ReadonlyMap<string, readonly string[]>
  /** Whether a route is on a REST API (which then takes every media type as binary). */
  readonly rest: boolean
}

/** `serverless offline` and `serverless offline start`. */
export function isOfflineCommand(command: string): boolean {
  return command === 'offline' || command.startsWith('offline ')
}

/** Commands that run the functions on this machine: nothing of API Gateway's is in front of them. */
export function isLocalCommand(command: string): boolean {
  return isOfflineCommand(command) || command === 'invoke local'
}

/** The API each of a function's routes is on. */
function routeApis(fn: FunctionModel, fallback: AwsSettings['routes']): string[] {
  return fn.events.filter((event): event is RouteEvent => event.kind === 'route').map((event) => routeApi(event, fallback))
}

/**
 * Whether API Gateway verifies the function's tokens: JWT auth, every route on the HTTP API, deployed, and no
 * `jwksUri`. An HTTP API JWT authorizer takes an issuer and audiences only (`JWTConfiguration`: `Issuer`,
 * `Audience`) and finds the keys through the issuer's OpenID discovery; a JWKS given elsewhere cannot reach it, so
 * the function's entry verifies its tokens with that JWKS instead.
 */
export function platformJwt(fn: FunctionModel, fallback: AwsSettings['routes'], command: string): boolean {
  const auth = fn.security?.resolved.auth
  if (isLocalCommand(command) || auth?.kind !== 'jwt' || auth.jwksUri !== undefined) return false
  const apis = routeApis(fn, fallback)
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
export function platformCors(functions: readonly FunctionModel[], fallback: AwsSettings['routes'], command: string): Json | undefined {
  if (isLocalCommand(command)) return undefined
  const routed = functions.filter((fn) => routeApis(fn, fallback).length > 0)
  if (routed.length === 0 || routed.some((fn) => routeApis(fn, fallback).some((api) => api !== 'http-api'))) return undefined
  // The policies as declared: their resolved methods differ per function (each allows its own by default).
  const declared = routed.map((fn) => (fn.security?.resolved.cors ? JSON.stringify(fn.security.policy.cors) : undefined))
  const first = routed[0]?.security?.resolved.cors
  if (first === undefined || declared.some((policy) => policy === undefined || policy !== declared[0])) return undefined
  // The methods of every route (the policy's own list when it has one).
  const methods = new Set<string>()
  for (const fn of routed) for (const method of fn.security?.resolved.cors?.methods ?? []) methods.add(method)
  // A GET route takes HEAD too (see `route` in events.ts).
  if (methods.has('GET')) methods.add('HEAD')
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

const URL_EVENT: NativeEvent = { kind: 'native', key: 'url', value: true, at: 'url', index: -1 }

/** The service as AWS deploys it. */
export function awsPlan(model: ServiceModel, { command }: PlanInput): AwsPlan {
  const routes = (model.custom.routes as AwsSettings['routes'] | undefined) ?? 'http-api'
  const cors = platformCors(model.functions, routes, command)
  const jwt = new Set(model.functions.filter((fn) => platformJwt(fn, routes, command)).map((fn) => fn.name))
  // The service's resources as planned so far: queues are added to them, tables' streams turned on.
  const resources = structuredClone(model.template) as Json
  const heads = declaredHeads(model.functions.flatMap((fn) => fn.events))
  const functions = planFunctions<AwsEvents>(model, {
    title: 'AWS',
    preflights: cors === undefined,
    event(event, fn) {
      if (event.kind === 'native') return nativePlan(event.key, event.value)
      const auth = fn.security?.resolved.auth
      const authorizer = auth?.kind === 'jwt' && jwt.has(fn.name) ? { name: authorizerName(auth), scopes: auth.scopes } : undefined
      const rule = event.kind === 'cron' ? scheduleRule(model.service, model.stage, fn.name, fn.events.filter((other) => other.kind === 'cron').indexOf(event)) : undefined
      return neutralPlan(event, { service: model.service, stage: model.stage, routes, timeout: fn.timeout, resources, authorizer, heads, rule })
    },
    implicit: (fn) => (fn.settings.url ? [{ event: URL_EVENT, ...FUNCTION_URL_PLAN }] : []),
  })
  const authorizers: Json = {}
  const enforced = new Map<string, string[]>()
  for (const fn of model.functions) {
    const auth = fn.security?.resolved.auth
    const own: string[] = []
    if (auth?.kind === 'jwt' && jwt.has(fn.name)) {
      authorizers[authorizerName(auth)] = { identitySource: '$request.header.Authorization', issuerUrl: auth.issuer, audience: [...auth.audience] }
      own.push('jwt')
    }
    if (fn.security?.resolved.cors && cors !== undefined) own.push('cors')
    enforced.set(fn.name, own)
  }
  const rest = functions.some((fn: PlannedFunction<AwsEvents>) => fn.sources.some((source) => source.name === 'apiGatewayV1'))
  return { model, functions, routes, resources, cors, authorizers, enforced, rest }
}
