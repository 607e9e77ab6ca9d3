// Secured portable HTTP routes: `secure(handler, { auth, cors, maxBodySize })`. No JWT code: `@polycloud/auth/jwt`
// is the verifier of `auth: jwt` routes, given to `secure()` (`{ jwt }`).
export { secure } from './secure.js'
export type { SecureOptions } from './secure.js'
export { resolvePolicy, PolicyError, DEFAULT_KEY_HEADER, DEFAULT_CORS_HEADERS } from './policy.js'
export type { RoutePolicy, AuthPolicy, JwtAuth, KeyAuth, CorsPolicy, ResolvedPolicy } from './policy.js'
export { TokenError } from './verifier.js'
export type { JwtOption, JwtVerifier, VerifyToken } from './verifier.js'
export { verifyKey, keyDigest, KEYS_VARIABLE, KeyConfigError } from './key.js'
