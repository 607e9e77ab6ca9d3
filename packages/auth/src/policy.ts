/** A route's security policy as `serverless.yml` declares it (`auth`, `cors`, `maxBodySize`), checked once. */

/** Tokens signed by the issuer's keys (its JWKS, found through OpenID discovery unless `jwksUri` is given). */
export interface JwtAuth {
  readonly jwt: {
    readonly issuer: string
    /** The token's `aud` (or, without one, its `client_id`) must be one of these, as API Gateway checks it. */
    readonly audience: string | readonly string[]
    /** The token must grant at least one of these scopes (API Gateway's rule); none listed: no scope check. */
    readonly scopes?: readonly string[]
    /** The JWKS address; default: `jwks_uri` from `<issuer>/.well-known/openid-configuration`. */
    readonly jwksUri?: string
  }
}

/** An API key in a header (default `x-api-key`); the keys come from the environment, never from the bundle. */
export interface KeyAuth {
  readonly key: { readonly header?: string }
}

export type AuthPolicy = 'none' | 'key' | JwtAuth | KeyAuth

export interface CorsPolicy {
  /** Allowed origins (`https://app.example.com`), or `*` for any (never with credentials). Default `*`. */
  readonly origins?: '*' | readonly string[]
  /** Allowed methods; default: the route's method. */
  readonly methods?: readonly string[]
  /** Request headers a browser may send; default: `content-type`, `authorization`, `x-api-key`. */
  readonly headers?: readonly string[]
  /** Response headers a browser may read. */
  readonly exposeHeaders?: readonly string[]
  /** Whether cookies and credentials may be sent (origins must then be listed). */
  readonly credentials?: boolean
  /** Seconds a browser may cache a preflight answer. */
  readonly maxAge?: number
}

export interface RoutePolicy {
  readonly auth?: AuthPolicy
  readonly cors?: boolean | CorsPolicy
  /** Largest request body in bytes; larger ones get 413 before the body is read. */
  readonly maxBodySize?: number
}

/** The policy in the one form the runtime uses. */
export interface ResolvedPolicy {
  readonly auth: { readonly kind: 'none' } | { readonly kind: 'key'; readonly header: string } | ({ readonly kind: 'jwt' } & ResolvedJwt)
  readonly cors: ResolvedCors | undefined
  readonly maxBodySize: number | undefined
}

export interface ResolvedJwt {
  readonly issuer: string
  readonly audience: readonly string[]
  readonly scopes: readonly string[]
  readonly jwksUri: string | undefined
}

export interface ResolvedCors {
  /** `*`, or the allowed origins, lower-cased. */
  readonly origins: '*' | readonly string[]
  readonly methods: readonly string[]
  readonly headers: readonly string[]
  readonly exposeHeaders: readonly string[]
  readonly credentials: boolean
  readonly maxAge: number | undefined
}

export const DEFAULT_KEY_HEADER = 'x-api-key'
export const DEFAULT_CORS_HEADERS: readonly string[] = ['content-type', 'authorization', 'x-api-key']

/** A policy that cannot work, with the field and the reason. */
export class PolicyError extends Error {
  override readonly name = 'PolicyError'
}

function list(value: unknown, field: string): string[] {
  const items = typeof value === 'string' ? [value] : value
  if (!Array.isArray(items) || items.length === 0 || items.some((item) => typeof item !== 'string' || item === '')) {
    throw new PolicyError(`${field} must be a non-empty string or list of strings`)
  }
  return items as string[]
}

function resolveAuth(auth: AuthPolicy | undefined): ResolvedPolicy['auth'] {
  if (auth === undefined || auth === 'none') return { kind: 'none' }
  if (auth === 'key') return { kind: 'key', header: DEFAULT_KEY_HEADER }
  if (typeof auth === 'object' && auth !== null && 'key' in auth) {
    const header = auth.key?.header ?? DEFAULT_KEY_HEADER
    if (!/^[A-Za-z0-9-]+$/.test(header) || header.toLowerCase() === 'authorization') {
      throw new PolicyError(`auth.key.header ${JSON.stringify(header)} must be a header name other than authorization`)
    }
    return { kind: 'key', header: header.toLowerCase() }
  }
  if (typeof auth === 'object' && auth !== null && 'jwt' in auth) {
    const { issuer, audience, scopes, jwksUri } = auth.jwt
    if (typeof issuer !== 'string' || !/^https?:\/\/\S+$/.test(issuer)) throw new PolicyError(`auth.jwt.issuer must be an http(s) URL, got ${JSON.stringify(issuer)}`)
    if (jwksUri !== undefined && !/^https?:\/\/\S+$/.test(jwksUri)) throw new PolicyError(`auth.jwt.jwksUri must be an http(s) URL, got ${JSON.stringify(jwksUri)}`)
    return {
      kind: 'jwt',
      issuer,
      audience: list(audience, 'auth.jwt.audience'),
      scopes: scopes === undefined ? [] : list(scopes, 'auth.jwt.scopes'),
      jwksUri,
    }
  }
  throw new PolicyError(`auth must be none, key, { key: { header } } or { jwt: { issuer, audience, scopes } }, got ${JSON.stringify(auth)}`)
}

const ALL_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']

function resolveCors(cors: boolean | CorsPolicy | undefined, routeMethods: readonly string[]): ResolvedCors | undefined {
  if (cors === undefined || cors === false) return undefined
  const policy: CorsPolicy = cors === true ? {} : cors
  const origins = policy.origins === undefined || policy.origins === '*' ? '*' : list(policy.origins, 'cors.origins').map((origin) => origin.toLowerCase())
  if (origins !== '*' && origins.includes('*')) throw new PolicyError('cors.origins: write "*" alone, not inside a list')
  const credentials = policy.credentials === true
  if (credentials && origins === '*') throw new PolicyError('cors.credentials cannot be combined with origins "*": list the origins')
  const maxAge = policy.maxAge
  if (maxAge !== undefined && (!Number.isInteger(maxAge) || maxAge < 0)) throw new PolicyError(`cors.maxAge must be a whole number of seconds, got ${String(maxAge)}`)
  const methods = policy.methods === undefined ? (routeMethods.includes('ANY') ? ALL_METHODS : routeMethods) : list(policy.methods, 'cors.methods')
  return {
    origins,
    methods: methods.map((item) => item.toUpperCase()),
    headers: (policy.headers === undefined ? DEFAULT_CORS_HEADERS : list(policy.headers, 'cors.headers')).map((item) => item.toLowerCase()),
    exposeHeaders: policy.exposeHeaders === undefined ? [] : list(policy.exposeHeaders, 'cors.exposeHeaders').map((item) => item.toLowerCase()),
    credentials,
    maxAge,
  }
}

/**
 * Checks a route's policy and resolves its defaults (CORS allows the route's own methods unless told otherwise);
 * throws a PolicyError naming the field.
 */
export function resolvePolicy(policy: RoutePolicy, methods: readonly string[] = ['ANY']): ResolvedPolicy {
  const { maxBodySize } = policy
  if (maxBodySize !== undefined && (!Number.isInteger(maxBodySize) || maxBodySize < 0)) {
    throw new PolicyError(`maxBodySize must be a whole number of bytes, got ${String(maxBodySize)}`)
  }
  return { auth: resolveAuth(policy.auth), cors: resolveCors(policy.cors, methods.map((method) => method.toUpperCase())), maxBodySize }
}
