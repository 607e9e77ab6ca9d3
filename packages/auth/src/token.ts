/**
 * The checks a bearer token must pass before it costs anything: its form (three base64url parts), a JSON header
 * with an allowed algorithm and a key id, a JSON payload whose issuer is the route's, not expired, already valid, for
 * the route's audience. No network, no cryptography: a token that fails here is refused as API Gateway's JWT
 * authorizer refuses it, with the same description.
 */
import type { ResolvedJwt } from './policy.js'
import { MALFORMED, TokenError, isCompact } from './verifier.js'

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

/** The value of each base64url character (255: not one). */
const SEXTETS = new Uint8Array(128).fill(255)
for (const [index, char] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'].entries()) SEXTETS[char.charCodeAt(0)] = index

/** The bytes of a base64url string without padding (`atob` checks each character against its alphabet: 10x slower). */
function base64url(part: string): Uint8Array {
  if (part.length % 4 === 1) throw MALFORMED
  const bytes = new Uint8Array((part.length * 3) >> 2)
  let bits = 0
  let value = 0
  let at = 0
  for (let i = 0; i < part.length; i++) {
    const sextet = SEXTETS[part.charCodeAt(i)] ?? 255
    if (sextet === 255) throw MALFORMED
    value = ((value << 6) | sextet) & 0xffffff
    bits += 6
    if (bits >= 8) {
      bits -= 8
      bytes[at++] = value >> bits
    }
  }
  return bytes
}

function decode(part: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(UTF8.decode(base64url(part)))
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
  if (!isCompact(token)) throw MALFORMED
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
