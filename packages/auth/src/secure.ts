/**
 * `secure(handler, policy)`: a portable HTTP handler that answers CORS preflights, checks who calls and how much
 * they send, and only then runs the handler, which finds the caller on `request.auth`. Failures answer the same
 * everywhere: 401 `{"message":"Unauthorized"}` or 403 `{"message":"Forbidden"}` with a `WWW-Authenticate`
 * challenge (the bodies API Gateway's JWT authorizer sends, so a route reads the same where AWS enforces it), 413
 * for a body over the limit; `Access-Control-*` headers go on every response of the route, errors included.
 *
 * No JWT code here: a route with `auth: jwt` is given its verifier (`options.jwt`, `@polycloud/auth/jwt`).
 */
import { HttpError, http, type Context, type HttpHandler, type HttpResult, type PortableRequest } from '@polycloud/core'
import { httpFailure, toOutgoing, type Caller, type PortableContext } from '@polycloud/core/adapter'
import { isPreflight, preflightHeaders, responseHeaders } from './cors.js'
import { KeyConfigError, verifyKey } from './key.js'
import { PolicyError, resolvePolicy, type ResolvedPolicy, type RoutePolicy } from './policy.js'
import { MALFORMED, TokenError, isCompact, type JwtOption, type VerifyToken } from './verifier.js'

export interface SecureOptions {
  /** The route's methods (the methods CORS allows unless the policy lists them). */
  readonly methods?: readonly string[]
  /**
   * What the platform in front of the function already enforces, not done again on the hot path: `jwt` where API
   * Gateway's JWT authorizer verified the token (its claims arrive on `request.auth`), `cors` where it answers
   * preflights and adds the headers.
   */
  readonly enforcedByPlatform?: ReadonlyArray<'jwt' | 'cors'>
  /**
   * How a route with `auth: jwt` verifies tokens: `@polycloud/auth/jwt` (`import * as jwt from '@polycloud/auth/jwt'`),
   * or a function that imports it when a token first gets past the cheap checks (`() => import('@polycloud/auth/jwt')`,
   * what the generated entries pass). Required for `auth: jwt` unless the platform verifies every request
   * (`enforcedByPlatform: ['jwt']`); a request the platform did not verify is then refused.
   */
  readonly jwt?: JwtOption
}

/** The verifier behind a {@link JwtOption}, loaded once, when first needed. */
function verifierOf(option: JwtOption): VerifyToken {
  if (typeof option !== 'function') return option.verifyToken.bind(option)
  let loaded: Promise<VerifyToken> | undefined
  return async (token, policy, log) => {
    loaded ??= option().then((module) => module.verifyToken.bind(module))
    return (await loaded)(token, policy, log)
  }
}

const JSON_TYPE = { 'content-type': 'application/json' }

function challenge(status: 401 | 403, scheme: string, headers: Record<string, string>): HttpResult {
  return {
    status,
    headers: { ...JSON_TYPE, 'www-authenticate': scheme, ...headers },
    body: status === 401 ? '{"message":"Unauthorized"}' : '{"message":"Forbidden"}',
  }
}

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`
}

/** Adds headers to whatever the handler returned (a `Vary` joins the handler's own), keeping Set-Cookie values apart. */
function withHeaders(result: HttpResult, extra: Readonly<Record<string, string>>): HttpResult {
  const out = toOutgoing(result)
  const headers = { ...out.headers }
  for (const [name, value] of Object.entries(extra)) headers[name] = name === 'vary' && headers.vary ? `${headers.vary}, ${value}` : value
  const pairs: Array<[string, string]> = Object.entries(headers)
  for (const cookie of out.cookies) pairs.push(['set-cookie', cookie])
  return { status: out.status, headers: pairs, body: out.body }
}

function setCaller(request: PortableRequest, caller: Caller): void {
  const target = request as PortableRequest & { setAuth?: (caller: Caller) => void }
  if (typeof target.setAuth !== 'function') throw new TypeError('this request cannot carry a caller: it is not an adapter request')
  target.setAuth(caller)
}

/** A body larger than the limit: by its Content-Length before reading, else by its bytes. */
async function checkSize(request: PortableRequest, limit: number): Promise<void> {
  const declared = request.headers.get('content-length')
  if (declared !== null && /^\d+$/.test(declared)) {
    if (Number(declared) > limit) throw new HttpError(413, `Request body larger than ${limit} bytes`)
    return
  }
  if (request.method === 'GET' || request.method === 'HEAD') return
  if ((await request.bytes()).byteLength > limit) throw new HttpError(413, `Request body larger than ${limit} bytes`)
}

type Authenticate = (request: PortableRequest, context: Context, cors: Record<string, string>) => Promise<HttpResult | undefined>

/**
 * The route's check of the caller: resolves with a refusal to send, or undefined when the request may go on (the
 * caller is then on `request.auth`). Its challenges are written once per route (and once per refusal: the cheap
 * checks' refusals are shared instances), so a refused token costs no more than one let through.
 */
function authenticator(policy: ResolvedPolicy['auth'], platformJwt: boolean, verify: VerifyToken | undefined): Authenticate {
  if (policy.kind === 'none') return async () => undefined
  if (policy.kind === 'key') {
    const scheme = `ApiKey header=${quote(policy.header)}`
    return async (request, context, cors) => {
      const presented = request.headers.get(policy.header)
      const caller = presented ? await verifyKey(presented, context.env) : undefined
      if (caller === undefined) return challenge(401, scheme, cors)
      setCaller(request, caller)
      return undefined
    }
  }
  const bare = `Bearer scope=${quote(policy.scopes.join(' '))}`
  const written = new WeakMap<TokenError, string>()
  const refuse = (error: TokenError, cors: Record<string, string>): HttpResult => {
    let scheme = written.get(error)
    if (scheme === undefined) written.set(error, (scheme = `${bare} error=${quote(error.code)} error_description=${quote(error.description)}`))
    return challenge(error.code === 'insufficient_scope' ? 403 : 401, scheme, cors)
  }
  return async (request, context, cors) => {
    if (platformJwt && request.auth?.kind === 'jwt') return undefined
    const match = /^Bearer[ \t]+([^ \t]+)[ \t]*$/i.exec(request.headers.get('authorization') ?? '')
    if (!match || verify === undefined) return challenge(401, bare, cors)
    const token = match[1] as string
    // A string that is not even a compact JWS does not load the verifier.
    if (!isCompact(token)) return refuse(MALFORMED, cors)
    try {
      setCaller(request, await verify(token, policy, context.log))
      return undefined
    } catch (error) {
      if (!(error instanceof TokenError)) throw error
      return refuse(error, cors)
    }
  }
}

/** The handler behind the route's policy (see the module comment). Throws a PolicyError for a policy that cannot work. */
export function secure(handler: HttpHandler, policy: RoutePolicy, options: SecureOptions = {}): HttpHandler {
  const resolved = resolvePolicy(policy, options.methods)
  const platform = new Set(options.enforcedByPlatform ?? [])
  const cors = platform.has('cors') ? undefined : resolved.cors
  const platformJwt = platform.has('jwt')
  if (resolved.auth.kind === 'jwt' && options.jwt === undefined && !platformJwt) {
    throw new PolicyError("auth.jwt needs the verifier: secure(handler, policy, { jwt }) with import * as jwt from '@polycloud/auth/jwt'")
  }
  const authenticate = authenticator(resolved.auth, platformJwt, options.jwt === undefined ? undefined : verifierOf(options.jwt))
  return http(async (request, context) => {
    const origin = request.headers.get('origin') ?? undefined
    if (cors !== undefined) {
      const requestMethod = request.headers.get('access-control-request-method') ?? undefined
      if (isPreflight(request.method, origin, requestMethod)) {
        return { status: 204, headers: preflightHeaders(cors, origin as string, requestMethod as string, request.headers.get('access-control-request-headers') ?? undefined), body: null }
      }
    }
    const corsHeaders = cors === undefined ? {} : responseHeaders(cors, origin)
    try {
      const refusal = await authenticate(request, context, corsHeaders)
      if (refusal !== undefined) return refusal
      if (resolved.maxBodySize !== undefined) await checkSize(request, resolved.maxBodySize)
      const result = await handler.handle(request, context)
      return cors === undefined ? result : withHeaders(result, corsHeaders)
    } catch (error) {
      if (cors === undefined && !(error instanceof KeyConfigError)) throw error
      // Errors carry the CORS headers too, so a browser can read the status; logged as runHttp logs them.
      const failure = httpFailure(error, context as PortableContext)
      return withHeaders({ status: failure.status, headers: failure.headers, body: failure.body }, corsHeaders)
    }
  })
}
