/**
 * An OpenID issuer for tests and local development, on 127.0.0.1: a discovery document and a JWKS, and tokens
 * signed with its keys, so routes declared with `auth: { jwt }` can be called without an identity provider. The
 * keys are RS256 pairs made on start, or read from (and written to) a file so tokens outlive restarts.
 */
import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { dirname } from 'node:path'
import { SignJWT, exportJWK, generateKeyPair, importJWK, type JWK, type JWTPayload } from 'jose'

export interface IssuerOptions {
  /** Port on 127.0.0.1 (default: a free one). */
  readonly port?: number
  /** A JSON file holding the signing key: read when it exists, written otherwise. */
  readonly keyFile?: string
  /** `aud` of the tokens it signs unless told otherwise (default `polycloud`). */
  readonly audience?: string
}

export interface SignOptions {
  /** `expiresIn` as jose reads it (`'5m'`, `'1h'`), or a time in seconds since the epoch. Default 1 hour. */
  readonly expiresIn?: string | number
  /** Sign with a key the JWKS does not publish (for tests of an unknown key id). */
  readonly unknownKey?: boolean
  /** Extra protected header parameters. */
  readonly header?: Record<string, unknown>
}

/** Claims of a token; `aud: null` leaves the audience out. */
export type TokenClaims = Omit<JWTPayload, 'aud'> & { aud?: string | string[] | null }

export interface Issuer {
  /** `http://127.0.0.1:<port>`: the `issuer` of a route's `auth.jwt`. */
  readonly url: string
  /** The JWKS as served (public keys). */
  jwks(): { keys: JWK[] }
  /** A token with `iss`, `aud`, `iat` and `exp` set unless the claims set them. */
  sign(claims?: TokenClaims, options?: SignOptions): Promise<string>
  /** A new signing key, published beside the old ones. */
  rotate(): Promise<void>
  /** How many times the JWKS was fetched. */
  readonly fetches: number
  /**
   * While false, the issuer is down: every connection is reset as it opens (open ones are closed), so its discovery
   * document and JWKS cannot be fetched; its URL and keys stay the same for when it is back.
   */
  setReachable(reachable: boolean): void
  stop(): Promise<void>
}

interface Key {
  readonly kid: string
  readonly privateJwk: JWK
  readonly publicJwk: JWK
}

async function newKey(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
  const meta = { kid, alg: 'RS256', use: 'sig' }
  return { kid, privateJwk: { ...(await exportJWK(privateKey)), ...meta }, publicJwk: { ...(await exportJWK(publicKey)), ...meta } }
}

async function loadKeys(keyFile: string | undefined): Promise<Key[]> {
  if (keyFile !== undefined && existsSync(keyFile)) return (JSON.parse(readFileSync(keyFile, 'utf8')) as { keys: Key[] }).keys
  const keys = [await newKey('polycloud-dev-1')]
  if (keyFile !== undefined) saveKeys(keyFile, keys)
  return keys
}

function saveKeys(keyFile: string, keys: readonly Key[]): void {
  mkdirSync(dirname(keyFile), { recursive: true })
  writeFileSync(keyFile, `${JSON.stringify({ keys }, null, 2)}\n`, { mode: 0o600 })
}

/** Signs a token with the current key of a key file (the same key an issuer started on that file publishes). */
export async function signWithKeyFile(keyFile: string, issuer: string, claims: TokenClaims = {}, options: SignOptions & { audience?: string } = {}): Promise<string> {
  return sign(await loadKeys(keyFile), issuer, options.audience ?? 'polycloud', claims, options)
}

async function sign(keys: readonly Key[], issuer: string, audience: string, claims: TokenClaims, options: SignOptions): Promise<string> {
  const key = options.unknownKey ? await newKey('polycloud-unknown') : (keys[keys.length - 1] as Key)
  const { aud, ...rest } = claims
  const jwt = new SignJWT(rest)
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, ...options.header })
    .setIssuer(typeof claims.iss === 'string' ? claims.iss : issuer)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '1h')
  if (aud !== null) jwt.setAudience(aud ?? audience)
  return jwt.sign(await importJWK(key.privateJwk, 'RS256'))
}

/** Starts an issuer on 127.0.0.1; stop it when done. */
export async function startIssuer(options: IssuerOptions = {}): Promise<Issuer> {
  const keys = await loadKeys(options.keyFile)
  const audience = options.audience ?? 'polycloud'
  let fetches = 0
  let url = ''
  const jwks = () => ({ keys: keys.map((key) => key.publicJwk) })
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname
    let body: unknown
    if (path === '/.well-known/openid-configuration') body = { issuer: url, jwks_uri: `${url}/.well-known/jwks.json`, id_token_signing_alg_values_supported: ['RS256'] }
    else if (path === '/.well-known/jwks.json') {
      fetches++
      body = jwks()
    }
    response.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
    response.end(JSON.stringify(body ?? { error: 'not found' }))
  })
  let reachable = true
  server.on('connection', (socket) => {
    if (!reachable) socket.destroy()
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve())
  })
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    jwks,
    get fetches() {
      return fetches
    },
    sign: (claims = {}, signOptions = {}) => sign(keys, url, audience, claims, signOptions),
    setReachable(value) {
      reachable = value
      if (!value) server.closeAllConnections()
    },
    async rotate() {
      keys.push(await newKey(`polycloud-dev-${keys.length + 1}`))
      if (options.keyFile !== undefined) saveKeys(options.keyFile, keys)
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
