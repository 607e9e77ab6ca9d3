import { http, json } from '@polycloud/core'

/**
 * GET /me: a protected route. Its `auth` in serverless.yml asks for a JWT from the issuer with the `profile` scope;
 * the token is verified before this runs (by API Gateway on AWS, by the generated entry elsewhere), so the handler
 * only reads who called. A handler never parses a token itself.
 */
export default http((request) => {
  const caller = request.auth
  if (caller?.kind !== 'jwt') return json({ caller: caller ?? null })
  return json({ subject: caller.subject ?? null, scopes: caller.scopes, name: typeof caller.claims.name === 'string' ? caller.claims.name : null })
})
