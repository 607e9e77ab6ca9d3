/**
 * `@polycloud/auth/jwt`: bearer tokens verified with `jose`, for routes with `auth: jwt` (the only routes whose
 * entries load it). In order, each step only for a token that passed the ones before:
 *
 * 1. the verified-token cache: a token verified before for the same issuer and audience passes until it expires
 *    (it passed the next steps then; `secure()` checked the form of the token before);
 * 2. the cheap checks of `token.ts` (form, algorithm, key id, issuer, expiry, audience): no network, no jose;
 * 3. the issuer's keys: its JWKS, found through OpenID discovery unless `jwksUri` is given, kept for the life of the
 *    instance (fetched again after 10 minutes, or for a key id it does not hold, at most every 5 s), failures
 *    remembered with a backoff (`remote.ts`): while the identity provider cannot be reached every token is refused
 *    (401, fail closed) without a fetch, and the log says why;
 * 4. the signature and claims, by jose, asymmetric algorithms only.
 *
 * Audience and scopes are checked the way API Gateway's JWT authorizer checks them, so a route behaves the same
 * where the platform verifies and where the generated entry does.
 */
import type { JwtCaller, Logger } from '@polycloud/core'
import { jwtCaller } from '@polycloud/core/adapter'
import { createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose'
import type { ResolvedJwt } from './policy.js'
import { Remote, Unreachable } from './remote.js'
import { ALGORITHMS, CLOCK_TOLERANCE, EXPIRED, NOT_ALLOWED, NOT_YET_VALID, WRONG_ISSUER, inspect } from './token.js'
import { MALFORMED, TokenError } from './verifier.js'

export { TokenError } from './verifier.js'

/** Keys older than this are fetched again when next needed (and used still if the fetch fails). */
const KEYS_MAX_AGE_MS = 10 * 60_000
/** A key id the keys do not hold fetches them again, at most this often. */
const KEYS_COOLDOWN_MS = 5_000

/** The identity provider cannot be reached: refused as API Gateway refuses, the log saying why (`remote.ts`). */
const UNAVAILABLE = new TokenError('invalid_token', 'the signing keys could not be fetched')

interface Keys {
  readonly set: JWTVerifyGetKey
  readonly kids: ReadonlySet<string>
}

const discovery = new Remote<string>((document, url) => {
  const jwksUri = (document as { jwks_uri?: unknown } | null)?.jwks_uri
  if (typeof jwksUri !== 'string' || !/^https?:\/\//.test(jwksUri)) throw new Error(`${url} names no jwks_uri`)
  return jwksUri
})

const keySets = new Remote<Keys>((document) => {
  const keys = (document as { keys?: unknown } | null)?.keys
  if (!Array.isArray(keys)) throw new Error('the JWKS has no keys')
  const kids = new Set(keys.map((key: { kid?: unknown }) => key?.kid).filter((kid): kid is string => typeof kid === 'string'))
  return { set: createLocalJWKSet(document as JSONWebKeySet), kids }
})

async function jwksUri(policy: ResolvedJwt, log: Logger | undefined): Promise<string> {
  if (policy.jwksUri !== undefined) return policy.jwksUri
  const url = `${policy.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`
  return discovery.cached(url)?.data ?? discovery.fetch(url, log)
}

/** The keys to verify a token with key id `kid`, fetched or fetched again as the module comment says. */
async function keysFor(policy: ResolvedJwt, kid: string, log: Logger | undefined): Promise<JWTVerifyGetKey> {
  try {
    const uri = await jwksUri(policy, log)
    const cached = keySets.cached(uri)
    const now = Date.now()
    if (cached === undefined) return (await keySets.fetch(uri, log)).set
    const known = cached.data.kids.has(kid)
    const stale = now - cached.at >= KEYS_MAX_AGE_MS
    const refetch = (stale || (!known && now - cached.at >= KEYS_COOLDOWN_MS)) && keySets.mayFetch(uri, now)
    if (!refetch) return cached.data.set
    try {
      return (await keySets.fetch(uri, log)).set
    } catch (error) {
      // Keys that are too old are still the issuer's: used while it cannot be reached.
      if (error instanceof Unreachable) return cached.data.set
      throw error
    }
  } catch (error) {
    if (error instanceof Unreachable) throw UNAVAILABLE
    throw error
  }
}

/** The description API Gateway's JWT authorizer gives for the same failure, where there is one. */
function describe(error: unknown): TokenError | undefined {
  if (error instanceof errors.JWTExpired) return EXPIRED
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf' || error.claim === 'iat') return NOT_YET_VALID
    if (error.claim === 'iss') return WRONG_ISSUER
    return new TokenError('invalid_token', `the token has an invalid ${error.claim} claim`)
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) return NOT_ALLOWED
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return new TokenError('invalid_token', 'the token is signed with an unknown key')
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return new TokenError('invalid_token', 'the token signature is invalid')
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return MALFORMED
  return undefined
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

const INSUFFICIENT_SCOPE = new TokenError('insufficient_scope', 'the token does not have the required scope')

function checkScopes(caller: JwtCaller, policy: ResolvedJwt): JwtCaller {
  if (policy.scopes.length > 0 && !caller.scopes.some((scope) => policy.scopes.includes(scope))) throw INSUFFICIENT_SCOPE
  return caller
}

/**
 * Verifies a bearer token against the policy (see the module comment); resolves with the caller it identifies, or
 * rejects with a TokenError the client may see. Any other rejection is the service's own failure.
 */
export async function verifyToken(token: string, policy: ResolvedJwt, log?: Logger): Promise<JwtCaller> {
  const key = `${policy.issuer}\n${policy.audience.join(' ')}\n${token}`
  const now = Date.now() / 1000
  const known = verified.get(key)
  if (known !== undefined) {
    if (known.exp === undefined || known.exp + CLOCK_TOLERANCE > now) return checkScopes(known.caller, policy)
    verified.delete(key)
  }
  const { kid } = inspect(token, policy, now)
  const keys = await keysFor(policy, kid, log)
  let payload
  try {
    ;({ payload } = await jwtVerify(token, keys, { issuer: policy.issuer, algorithms: [...ALGORITHMS], clockTolerance: CLOCK_TOLERANCE }))
  } catch (error) {
    throw describe(error) ?? error
  }
  const caller = jwtCaller(payload)
  remember(key, caller, payload.exp)
  return checkScopes(caller, policy)
}
