/**
 * The checks a bearer token must pass before it costs anything: its form (three base64url parts), a JSON header
 * with an allowed algorithm and a key id, a JSON payload whose issuer is the route's, not expired, already valid, for
 * the route's audience. No network, no cryptography: a token that fails here is refused as API Gateway's JWT
 * authorizer refuses it, with the same description.
 */
import type { ResolvedJwt } from './policy.js'
import { MALFORMED, TokenError } from './verifier.js'

/** A compact JWS: header, payload and signature in base64url (the signature is empty for `alg: none`). */
const COMPACT = /^[\w-]+\.[\w-]+\.[\w-]*$/

/** Asymmetric JWS algorithms: what an issuer signs access tokens with (`none` and HMAC are refused). */
export const ALGORITHMS: readonly string[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']

/** Seconds of clock difference tolerated for `exp` and `nbf`. */
export const CLOCK_TOLERANCE = 5

/**
 * The refusals of the cheap checks, made once: thrown for every such token without capturing a stack each time
 * (they go to the client as a challenge, never to a log).
 */
function refusal(description: string): TokenError {
  return new TokenError('invalid_token', description)
}
export const NOT_ALLOWED = refusal('the token is not signed with an allowed algorithm')
const NO_KID = refusal('the token has no key id (kid)')
export const WRONG_ISSUER = refusal('the token does not have a valid issuer')
export const EXPIRED = refusal('the token has expired')
export const NOT_YET_VALID = refusal('the token is not valid yet')
const WRONG_AUDIENCE = refusal('the token does not have a valid audience')

export interface Inspected {
  readonly kid: string
  readonly payload: Readonly<Record<string, unknown>>
}

const UTF8 = new TextDecoder('utf-8', { fatal: true })

/** A byte above ASCII in `atob`'s result (without one, the result is the text itself: no UTF-8 decoder needed). */
const BEYOND_ASCII = /[\u0080-\u00ff]/

/** The text of a base64url part, read as UTF-8 (`atob` throws on a character or length base64 does not allow). */
function text(part: string): string {
  const binary = atob(part.replace(/-/g, '+').replace(/_/g, '/'))
  if (!BEYOND_ASCII.test(binary)) return binary
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return UTF8.decode(bytes)
}

function decode(part: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(text(part))
  } catch {
    throw MALFORMED
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw MALFORMED
  return value as Record<string, unknown>
}

/** Whether the token's `aud` (or, without one, its `client_id`) is one of the route's audiences: API Gateway's rule. */
export function audienceMatches(payload: Readonly<Record<string, unknown>>, audience: readonly string[]): boolean {
  const aud = payload.aud
  if (aud !== undefined) return (Array.isArray(aud) ? aud : [aud]).some((item) => typeof item === 'string' && audience.includes(item))
  return typeof payload.client_id === 'string' && audience.includes(payload.client_id)
}

/**
 * The token's key id and claims, once the cheap checks pass; a {@link TokenError} otherwise. `now` in seconds.
 * A key id is required, as API Gateway requires it ("kid: the token must have a header claim that matches the key
 * in the jwks_uri that signed the token").
 */
export function inspect(token: string, policy: ResolvedJwt, now: number): Inspected {
  if (!COMPACT.test(token)) throw MALFORMED
  const dot = token.indexOf('.')
  const header = decode(token.slice(0, dot))
  if (typeof header.alg !== 'string' || !ALGORITHMS.includes(header.alg)) throw NOT_ALLOWED
  if (typeof header.kid !== 'string' || header.kid === '') throw NO_KID
  const payload = decode(token.slice(dot + 1, token.indexOf('.', dot + 1)))
  if (payload.iss !== policy.issuer) throw WRONG_ISSUER
  const { exp, nbf } = payload
  if (exp !== undefined && typeof exp !== 'number') throw new TokenError('invalid_token', 'the token has an invalid exp claim')
  if (typeof exp === 'number' && exp <= now - CLOCK_TOLERANCE) throw EXPIRED
  if (nbf !== undefined && typeof nbf !== 'number') throw new TokenError('invalid_token', 'the token has an invalid nbf claim')
  if (typeof nbf === 'number' && nbf > now + CLOCK_TOLERANCE) throw NOT_YET_VALID
  if (!audienceMatches(payload, policy.audience)) throw WRONG_AUDIENCE
  return { kid: header.kid, payload }
}
