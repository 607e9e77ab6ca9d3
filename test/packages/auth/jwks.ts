/**
 * An OpenID issuer for tests, on 127.0.0.1: discovery document, JWKS, and keys the test generates and signs tokens
 * with. Rotating adds a key the JWKS did not have, to test the refresh on an unknown key id.
 */
import { SignJWT, exportJWK, generateKeyPair, type JWK, type JWTPayload, type KeyLike } from 'jose'
import { startStandIn, type StandIn } from '../../helpers/stand-in.ts'

export interface TestIssuer {
  readonly issuer: string
  readonly standIn: StandIn
  /** A token signed with the current key (RS256), with defaults for iss, aud (`aud: null`: none), iat, exp. */
  sign(claims?: Omit<JWTPayload, 'aud'> & { aud?: string | string[] | null }, options?: { key?: 'current' | 'stranger'; header?: Record<string, unknown>; expiresIn?: number | string }): Promise<string>
  /** The current key's public JWK (what the JWKS serves). */
  readonly publicJwk: JWK
  /** A new current key, served by the JWKS from now on (with the old ones). */
  rotate(): Promise<void>
  stop(): Promise<void>
}

interface Key {
  readonly kid: string
  readonly privateKey: KeyLike
  readonly jwk: JWK
}

async function newKey(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } }
}

export async function startIssuer(audience = 'polycloud-api'): Promise<TestIssuer> {
  const keys: Key[] = [await newKey('k1')]
  const stranger = await newKey('k-unknown')
  let base = ''
  const standIn = await startStandIn((request) => {
    if (request.path === '/.well-known/openid-configuration') return { status: 200, body: { issuer: base, jwks_uri: `${base}/jwks.json` } }
    if (request.path === '/jwks.json') return { status: 200, body: { keys: keys.map((key) => key.jwk) } }
    return { status: 404, body: { error: 'not found' } }
  })
  base = standIn.url
  const current = (): Key => keys[keys.length - 1] as Key
  return {
    issuer: base,
    standIn,
    get publicJwk() {
      return current().jwk
    },
    async sign(claims = {}, options = {}) {
      const key = options.key === 'stranger' ? stranger : current()
      const { aud, ...rest } = claims
      const jwt = new SignJWT(rest)
        .setProtectedHeader({ alg: 'RS256', kid: key.kid, ...options.header })
        .setIssuer(typeof claims.iss === 'string' ? claims.iss : base)
        .setIssuedAt()
        .setExpirationTime(options.expiresIn ?? '5m')
      if (aud !== null) jwt.setAudience(aud ?? audience)
      return jwt.sign(key.privateKey)
    },
    async rotate() {
      keys.push(await newKey(`k${keys.length + 1}`))
    },
    stop: () => standIn.stop(),
  }
}
