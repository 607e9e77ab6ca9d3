import type { JwtCaller } from './request.js'

/** Scopes from a token's claims: `scope` (space-separated, RFC 8693) or `scp` (a list or a string). */
function scopesOf(claims: Readonly<Record<string, unknown>>): string[] {
  const scope = claims.scope ?? claims.scp
  if (typeof scope === 'string') return scope.split(' ').filter((item) => item !== '')
  if (Array.isArray(scope)) return scope.filter((item): item is string => typeof item === 'string')
  return []
}

/**
 * The caller for a verified token's claims, whoever verified it (`@polycloud/auth`, an API Gateway JWT authorizer):
 * `scopes` when the verifier lists them, else the claims' own. The claims are copied into an object with no prototype
 * so a claim named `__proto__` stays a claim.
 */
export function jwtCaller(claims: Readonly<Record<string, unknown>>, scopes?: readonly string[]): JwtCaller {
  const own: Record<string, unknown> = Object.create(null) as Record<string, unknown>
  for (const key of Object.keys(claims)) own[key] = claims[key]
  return {
    kind: 'jwt',
    subject: typeof own.sub === 'string' ? own.sub : undefined,
    issuer: typeof own.iss === 'string' ? own.iss : '',
    scopes: scopes ? [...scopes] : scopesOf(own),
    claims: Object.freeze(own),
  }
}
