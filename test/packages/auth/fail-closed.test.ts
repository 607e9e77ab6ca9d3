/**
 * Secured routes fail closed, and bogus tokens cost nothing: a token that cannot be valid is refused before any
 * network call; an identity provider that cannot be reached refuses every token with the same 401 (never a 500),
 * its failures remembered with a backoff so a flood of requests is not a flood of fetches, and the log says why.
 */
import { expect } from 'chai'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { SignJWT, UnsecuredJWT, base64url } from 'jose'
import { http, json } from '@polycloud/core'
import { PolicyError, secure, type JwtVerifier, type RoutePolicy } from '@polycloud/auth'
import * as jwt from '@polycloud/auth/jwt'
import { request, startIssuer, type Issuer, type TestResponse } from '@polycloud/testing'

const UNAUTHORIZED = '{"message":"Unauthorized"}'
const UNAVAILABLE = 'Bearer scope="profile" error="invalid_token" error_description="the signing keys could not be fetched"'

/**
 * An identity provider on 127.0.0.1 that counts every request and answers as told: `up` serves the discovery
 * document and the keys of `keys`, `down` answers 503, `empty` a discovery document without `jwks_uri`.
 */
interface Provider {
  readonly url: string
  requests: number
  mode: 'up' | 'down' | 'empty'
  stop(): Promise<void>
}

async function startProvider(keys: Issuer): Promise<Provider> {
  const provider = { url: '', requests: 0, mode: 'down' as Provider['mode'] }
  const server: Server = createServer((req, res) => {
    provider.requests++
    if (provider.mode === 'down') return void res.writeHead(503).end()
    const body = req.url === '/.well-known/openid-configuration' ? (provider.mode === 'empty' ? {} : { issuer: provider.url, jwks_uri: `${provider.url}/keys` }) : keys.jwks()
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  provider.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return Object.assign(provider, {
    stop: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  })
}

/** A port on 127.0.0.1 nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** Fetch attempts a backoff of 1 s, doubling, allows in `ms` after the first failure (the first included). */
function attemptsWithin(ms: number): number {
  let attempts = 1
  for (let wait = 1000, at = wait; at <= ms; wait *= 2, at += wait) attempts++
  return attempts
}

describe('auth/jwt: fail closed, bogus tokens cost nothing', function () {
  this.timeout(20_000)
  let keys: Issuer
  let ran = 0
  const me = http((req) => {
    ran++
    return json({ subject: req.auth?.kind === 'jwt' ? req.auth.subject : null })
  })
  const policy = (issuer: string): RoutePolicy => ({ auth: { jwt: { issuer, audience: 'api', scopes: ['profile'] } } })
  const call = (route: ReturnType<typeof secure>, token: string): Promise<TestResponse> => request(route, { url: '/me', headers: { authorization: `Bearer ${token}` } })
  const errorLines = (responses: readonly TestResponse[]) => responses.flatMap((response) => response.logs.filter((line) => line.level === 'error'))

  before(async () => {
    keys = await startIssuer({ audience: 'api' })
  })
  after(async () => {
    await keys?.stop()
  })

  it('refuses a token that cannot be valid for the route with 401, before any network call', async () => {
    const provider = await startProvider(keys)
    provider.mode = 'up'
    try {
      const route = secure(me, policy(provider.url), { jwt })
      const iss = provider.url
      const now = Math.floor(Date.now() / 1000)
      const publicKey = keys.jwks().keys[0] as Record<string, unknown>
      const cases: Array<[string, string, RegExp]> = [
        ['not three parts', 'not-a-token', /malformed/],
        ['two parts', 'a.b', /malformed/],
        ['four parts', 'a.b.c.d', /malformed/],
        ['an empty payload', `${base64url.encode('{"alg":"RS256","kid":"k"}')}..c2ln`, /malformed/],
        ['characters outside base64url', `${base64url.encode('{"alg":"RS256","kid":"k"}')}.e30+.c2ln`, /malformed/],
        ['a header that is not JSON', `${base64url.encode('nope')}.${base64url.encode('{}')}.c2ln`, /malformed/],
        ['a header that is a JSON array', `${base64url.encode('[]')}.${base64url.encode('{}')}.c2ln`, /malformed/],
        ['alg none', await new UnsecuredJWT({ scope: 'profile' }).setIssuer(iss).setAudience('api').setExpirationTime('5m').encode(), /allowed algorithm/],
        [
          'HS256 made with the public key',
          await new SignJWT({ scope: 'profile' }).setProtectedHeader({ alg: 'HS256', kid: publicKey.kid as string }).setIssuer(iss).setAudience('api').setExpirationTime('5m').sign(new TextEncoder().encode(JSON.stringify(publicKey))),
          /allowed algorithm/,
        ],
        ['no kid', await keys.sign({ iss, scope: 'profile' }, { header: { kid: undefined } }), /no key id/],
        ['an issuer that is not the route\'s', await keys.sign({ scope: 'profile' }), /valid issuer/],
        ['expired', await keys.sign({ iss, scope: 'profile' }, { expiresIn: now - 60 }), /expired/],
        ['not valid yet', await keys.sign({ iss, scope: 'profile', nbf: now + 600 }), /not valid yet/],
        ['another audience', await keys.sign({ iss, scope: 'profile', aud: 'someone-else' }), /valid audience/],
      ]
      for (const [name, token, description] of cases) {
        const response = await call(route, token)
        expect(response.status, name).to.equal(401)
        expect(response.text(), name).to.equal(UNAUTHORIZED)
        expect(response.headers['www-authenticate'], name).to.match(/^Bearer scope="profile" error="invalid_token" error_description="[^"]+"$/)
        expect(response.headers['www-authenticate'], name).to.match(description)
      }
      expect(provider.requests, 'requests to the identity provider').to.equal(0)
      expect(ran).to.equal(0)
    } finally {
      await provider.stop()
    }
  })

  it('with the identity provider unreachable (a closed port): 401 for a well-formed token, the same every time, never a 500, and the log says why', async () => {
    const issuer = `http://127.0.0.1:${await closedPort()}`
    const route = secure(me, policy(issuer), { jwt })
    const token = await keys.sign({ iss: issuer, scope: 'profile' })
    const responses = [await call(route, token), await call(route, token)]
    for (const response of responses) {
      expect(response.status).to.equal(401)
      expect(response.text()).to.equal(UNAUTHORIZED)
      expect(response.headers['www-authenticate']).to.equal(UNAVAILABLE)
    }
    const [logged] = errorLines(responses)
    expect(logged).to.include({ level: 'error', message: 'the identity provider could not be reached: its tokens are refused until it answers', url: `${issuer}/.well-known/openid-configuration` })
    expect(logged?.reason).to.match(/ECONNREFUSED/)
    expect(JSON.stringify(responses.map((response) => response.text()))).to.not.match(/ECONNREFUSED|stack/)
  })

  it('remembers a failed fetch with a backoff: a flood of requests is one fetch, tried again once the backoff is over', async () => {
    const provider = await startProvider(keys)
    try {
      const route = secure(me, policy(provider.url), { jwt })
      const token = await keys.sign({ iss: provider.url, sub: 'ada', scope: 'profile' })
      const start = Date.now()
      const flood = await Promise.all(Array.from({ length: 20 }, () => call(route, token)))
      const more: TestResponse[] = []
      for (let i = 0; i < 20; i++) more.push(await call(route, token))
      const elapsed = Date.now() - start
      for (const response of [...flood, ...more]) {
        expect(response.status).to.equal(401)
        expect(response.headers['www-authenticate']).to.equal(UNAVAILABLE)
      }
      // One fetch (more only if this machine took longer than the backoff over 40 requests), each failure one line.
      expect(provider.requests).to.be.within(1, attemptsWithin(elapsed))
      expect(errorLines([...flood, ...more])).to.have.length(provider.requests)
      expect(errorLines(flood)[0]?.reason).to.equal('answered 503')

      provider.mode = 'up'
      const before = provider.requests
      // The backoff of the last failure: 1 s after the first, doubling.
      await new Promise((resolve) => setTimeout(resolve, 1_000 * 2 ** (provider.requests - 1) + 100))
      const served = await call(route, token)
      expect(served.status).to.equal(200)
      expect(served.json()).to.deep.equal({ subject: 'ada' })
      expect(provider.requests - before, 'discovery and keys').to.equal(2)
    } finally {
      await provider.stop()
    }
  })

  it('a discovery document without jwks_uri is the identity provider failing: 401, logged', async () => {
    const provider = await startProvider(keys)
    provider.mode = 'empty'
    try {
      const response = await call(secure(me, policy(provider.url), { jwt }), await keys.sign({ iss: provider.url, scope: 'profile' }))
      expect(response.status).to.equal(401)
      expect(response.headers['www-authenticate']).to.equal(UNAVAILABLE)
      expect(errorLines([response])[0]?.reason).to.match(/names no jwks_uri$/)
    } finally {
      await provider.stop()
    }
  })

  it('loads the verifier only for a token that has the form of a JWT, once', async () => {
    const provider = await startProvider(keys)
    provider.mode = 'up'
    try {
      let loads = 0
      const route = secure(me, policy(provider.url), {
        jwt: () => {
          loads++
          return import('@polycloud/auth/jwt') as Promise<JwtVerifier>
        },
      })
      const malformed = await call(route, 'not-a-token')
      expect(malformed.status).to.equal(401)
      expect(malformed.headers['www-authenticate']).to.equal('Bearer scope="profile" error="invalid_token" error_description="the token is malformed"')
      expect(loads).to.equal(0)
      for (const sub of ['ada', 'grace']) expect((await call(route, await keys.sign({ iss: provider.url, sub, scope: 'profile' }))).status).to.equal(200)
      expect(loads).to.equal(1)
    } finally {
      await provider.stop()
    }
  })

  it('reads claims beyond ASCII as UTF-8, in the cheap checks as in the verified token', async () => {
    const provider = await startProvider(keys)
    provider.mode = 'up'
    try {
      const route = secure(me, { auth: { jwt: { issuer: provider.url, audience: 'api-é', scopes: ['profile'] } } }, { jwt })
      const response = await call(route, await keys.sign({ iss: provider.url, aud: 'api-é', sub: 'zoë-日本', scope: 'profile' }))
      expect(response.status).to.equal(200)
      expect(response.json()).to.deep.equal({ subject: 'zoë-日本' })
      const other = await call(route, await keys.sign({ iss: provider.url, aud: 'api-è', sub: 'zoë', scope: 'profile' }))
      expect(other.headers['www-authenticate']).to.match(/valid audience/)
    } finally {
      await provider.stop()
    }
  })

  it('a JWT route needs its verifier, unless the platform verifies: then a request it did not verify is refused', async () => {
    expect(() => secure(me, policy('https://issuer.example.com'))).to.throw(PolicyError, /auth\.jwt needs the verifier/)
    const platform = secure(me, policy('https://issuer.example.com'), { enforcedByPlatform: ['jwt'] })
    const response = await call(platform, await keys.sign({ iss: 'https://issuer.example.com', scope: 'profile' }))
    expect(response.status).to.equal(401)
    expect(response.headers['www-authenticate']).to.equal('Bearer scope="profile"')
  })
})
