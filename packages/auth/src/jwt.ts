/**
 * JWT verification with `jose`: signatures checked against the issuer's JWKS (fetched once per instance and kept
 * across invocations; fetched again when a token names a key id it does not hold), asymmetric algorithms only (so
 * `alg: none` and an HS256 token made with the public key fail), issuer, expiry and not-before checked, audience and
 * scopes checked the way API Gateway's JWT authorizer checks them, so a route behaves the same where the platform
 * verifies and where the generated entry does.
 */
import { jwtCaller, type JwtCaller } from '@polycloud/core/adapter'
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose'
import type { ResolvedJwt } from './policy.js'

/** Asymmetric JWS algorithms: what an issuer signs access tokens with. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']

/** Seconds of clock difference tolerated for `exp` and `nbf`. */
const CLOCK_TOLERANCE = 5

/** Why a token was refused: RFC 6750's error code and a description (the client sees both). */
export class TokenError extends Error {
  override readonly name = 'TokenError'
  constructor(
    readonly code: 'invalid_token' | 'insufficient_scope',
    readonly description: string,
  ) {
    super(description)
  }
}

type KeySet = ReturnType<typeof createRemoteJWKSet>

/** Key sets by JWKS address, and JWKS addresses by issuer (discovered): per instance, across invocations. */
const keySets = new Map<string, KeySet>()
const discovered = new Map<string, Promise<string>>()

async function discover(issuer: string): Promise<string> {
  let found = discovered.get(issuer)
  if (found === undefined) {
    found = (async () => {
      const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`
      const response = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(5_000) })
      if (!response.ok) throw new Error(`OpenID discovery ${url} answered ${response.status}`)
      const document = (await response.json()) as { jwks_uri?: unknown }
      if (typeof document.jwks_uri !== 'string') throw new Error(`OpenID discovery ${url} has no jwks_uri`)
      return document.jwks_uri
    })()
    discovered.set(issuer, found)
    // A failed discovery is tried again on the next request, not cached.
    found.catch(() => discovered.delete(issuer))
  }
  return found
}

async function keySet(policy: ResolvedJwt): Promise<KeySet> {
  const uri = policy.jwksUri ?? (await discover(policy.issuer))
  let set = keySets.get(uri)
  if (set === undefined) {
    set = createRemoteJWKSet(new URL(uri), { timeoutDuration: 5_000, cooldownDuration: 5_000, cacheMaxAge: 10 * 60_000 })
    keySets.set(uri, set)
  }
  return set
}

/** The description API Gateway's JWT authorizer gives for the same failure, where there is one. */
function describe(error: unknown): TokenError | undefined {
  if (error instanceof errors.JWTExpired) return new TokenError('invalid_token', 'the token has expired')
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf' || error.claim === 'iat') return new TokenError('invalid_token', 'the token is not valid yet')
    if (error.claim === 'iss') return new TokenError('invalid_token', 'the token does not have a valid issuer')
    return new TokenError('invalid_token', `the token has an invalid ${error.claim} claim`)
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return new TokenError('invalid_token', 'the token is not signed with an allowed algorithm')
  }
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return new TokenError('invalid_token', 'the token is signed with an unknown key')
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return new TokenError('invalid_token', 'the token signature is invalid')
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return new TokenError('invalid_token', 'the token is malformed')
  return undefined
}

function audienceMatches(payload: JWTPayload, audience: readonly string[]): boolean {
  const aud = payload.aud
  if (aud !== undefined) return (Array.isArray(aud) ? aud : [aud]).some((item) => audience.includes(item))
  const clientId = (payload as { client_id?: unknown }).client_id
  return typeof clientId === 'string' && audience.includes(clientId)
}

/**
 * Tokens already verified for an issuer and audience, with their expiry: a client sends the same token many times,
 * and its signature does not change. Bounded (the oldest entry goes first); an entry past `exp` is dropped.
 */
const verified = new Map<string, { readonly caller: JwtCaller; readonly exp: number | undefined }>()
const VERIFIED_MAX = 1000

function remember(key: string, caller: JwtCaller, exp: number | undefined): void {
  if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value as string)
  verified.set(key, { caller, exp })
}

function checkScopes(caller: JwtCaller, policy: ResolvedJwt): JwtCaller {
  if (policy.scopes.length > 0 && !caller.scopes.some((scope) => policy.scopes.includes(scope))) {
    throw new TokenError('insufficient_scope', 'the token does not have the required scope')
  }
  return caller
}

/**
 * Verifies a bearer token against the policy; resolves with the caller it identifies, or rejects with a TokenError
 * the client may see. Any other rejection (the JWKS could not be fetched) is the service's own failure. A token
 * verified before for the same issuer and audience is not verified again until it expires.
 */
export async function verifyToken(token: string, policy: ResolvedJwt): Promise<JwtCaller> {
  const key = `${policy.issuer}\n${policy.audience.join(' ')}\n${token}`
  const known = verified.get(key)
  if (known !== undefined) {
    if (known.exp === undefined || known.exp + CLOCK_TOLERANCE > Date.now() / 1000) return checkScopes(known.caller, policy)
    verified.delete(key)
  }
  let payload: JWTPayload
  try {
    ;({ payload } = await jwtVerify(token, await keySet(policy), { issuer: policy.issuer, algorithms: ALGORITHMS, clockTolerance: CLOCK_TOLERANCE }))
  } catch (error) {
    throw describe(error) ?? error
  }
  if (!audienceMatches(payload, policy.audience)) throw new TokenError('invalid_token', 'the token does not have a valid audience')
  const caller = jwtCaller(payload)
  remember(key, caller, payload.exp)
  return checkScopes(caller, policy)
}
