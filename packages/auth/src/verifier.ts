/**
 * What `secure()` needs of a JWT verifier, without any JWT code: routes with `auth: jwt` are given the verifier
 * (`@polycloud/auth/jwt`, which carries jose), every other route never loads it.
 */
import type { JwtCaller, Logger } from '@polycloud/core'
import type { ResolvedJwt } from './policy.js'

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

/**
 * Whether a string can be a compact JWS at all: three parts separated by dots, the first two not empty. Checked
 * first, before a verifier is even loaded; the characters of each part are checked when the token is read.
 */
export function isCompact(token: string): boolean {
  const first = token.indexOf('.')
  const second = token.indexOf('.', first + 1)
  return first > 0 && second > first + 1 && token.indexOf('.', second + 1) === -1
}

/** The refusal of a token that is not a JWT at all (made once: thrown without capturing a stack each time). */
export const MALFORMED = new TokenError('invalid_token', 'the token is malformed')

/**
 * Verifies a bearer token against a route's policy: resolves with the caller it identifies, or rejects with a
 * {@link TokenError} the client may see (an identity provider that cannot be reached included: the route fails
 * closed). `log` is the request's logger, told why when the identity provider cannot be reached.
 */
export type VerifyToken = (token: string, policy: ResolvedJwt, log?: Logger) => Promise<JwtCaller>

/** `@polycloud/auth/jwt` as `secure()` uses it (`import * as jwt from '@polycloud/auth/jwt'`). */
export interface JwtVerifier {
  readonly verifyToken: VerifyToken
}

/** The verifier, or a function that loads it when a token first needs it (`() => import('@polycloud/auth/jwt')`). */
export type JwtOption = JwtVerifier | (() => Promise<JwtVerifier>)
