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
import { addressing } from '../../resources.js'
import { FUNCTION_URL_PLAN, nativePlan, neutralPlan, routeApi, scheduleRule, type AwsSettings } from './events.js'
import { addressingValue, declareResources, deployedAddress, functionRole, ownRole, resourceStatements, type FunctionRole } from './resources.js'

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
  /**
   * `POLYCLOUD_RESOURCES` of each function that uses resources, as deployed (JSON text, or an `Fn::Sub` over the
   * resources' `Ref`s); under `serverless offline` the local services' addresses replace it.
   */
  readonly addressing: ReadonlyMap<string, string | Json>
  /** The role of each function that uses resources (`PolycloudRole<Function>`, in `resources` too). */
  readonly roles: ReadonlyMap<string, FunctionRole>
  /** The event sources (queue, stream ARNs) the functions on osls's shared role consume: they keep them. */
  readonly sharedConsumes: readonly unknown[]
  /** What the package says: a function with uses whose role the service manages, and what that role must allow. */
  readonly notes: readonly string[]
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

/** The queues and streams a function's events consume (what osls grants its shared role for them). */
function consumedSources(fn: PlannedFunction<AwsEvents>): unknown[] {
  return fn.events.flatMap(({ native }) =>
    native.flatMap((osls) => {
      const value = osls.sqs ?? osls.stream
      if (value === undefined) return []
      return [typeof value === 'object' && value !== null && 'arn' in value ? (value as Json).arn : value]
    }),
  )
}

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
  // After the events: a declared queue its consumer created keeps that consumer's visibility timeout.
  declareResources(model.resources, resources)
  const addressed = new Map(functions.filter((fn) => fn.resources.length > 0).map((fn) => [fn.name, addressingValue(addressing([fn], deployedAddress))]))
  // A role per function that uses resources: exactly its resources, scoped to their ARNs (osls's shared role otherwise).
  const roles = new Map<string, FunctionRole>()
  const notes: string[] = []
  const sharedConsumes: unknown[] = []
  for (const fn of functions) {
    const managed = ownRole(fn.model.settings, model.settings)
    if (fn.resources.length === 0 || managed !== undefined) {
      if (managed === undefined) sharedConsumes.push(...consumedSources(fn))
      if (fn.resources.length > 0) {
        const needs = fn.resources.flatMap(resourceStatements).map((statement) => `${(statement.Action as string[]).join(', ')} on ${JSON.stringify(statement.Resource)}`)
        notes.push(`functions.${fn.name} uses resources and runs with the role the service gives it (${JSON.stringify(managed)}): Polycloud adds nothing to it; it must allow ${needs.join('; ')}`)
      }
      continue
    }
    const role = functionRole(fn, { service: model.service, stage: model.stage, provider: model.settings })
    roles.set(fn.name, role)
    resources[role.id] = role.role
  }
  return { model, functions, routes, resources, cors, authorizers, enforced, rest, addressing: addressed, roles, sharedConsumes, notes }
}
