// Secured portable HTTP routes: `secure(handler, { auth, cors, maxBodySize })`.
export { secure } from './secure.js'
export type { SecureOptions } from './secure.js'
export { resolvePolicy, PolicyError, DEFAULT_KEY_HEADER, DEFAULT_CORS_HEADERS } from './policy.js'
export type { RoutePolicy, AuthPolicy, JwtAuth, KeyAuth, CorsPolicy, ResolvedPolicy } from './policy.js'
export { verifyToken, TokenError } from './jwt.js'
export { verifyKey, keyDigest, KEYS_VARIABLE, KeyConfigError } from './key.js'
