/**
 * Route security in the plugin: policies read from the route or the service, checked by @polycloud/auth's rules at
 * package time, one policy per function, API keys as digests, preflight routes; and on AWS what API Gateway
 * enforces (JWT authorizers, the HTTP API's CORS) against what the generated entry does.
 */
import { expect } from 'chai'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFileSync, mkdtempSync, rmSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { resolvePolicy } from '@polycloud/auth/policy'
import { ConfigError } from 'serverless-polycloud/errors'
import { readEvents, type RouteEvent } from 'serverless-polycloud/model'
import type { FunctionConfig } from 'serverless-polycloud/provider'
import { aws } from 'serverless-polycloud/providers/aws/index'
import { apiKeysVariable, functionSecurity, preflightPaths, serviceDefaults, settingVariable, unreachableAddress, unreachableIssuers } from 'serverless-polycloud/security'
import { ROOT, serverless } from '../../helpers/serverless.ts'
import { planFor } from './support.ts'

/** A function's routes as the model reads them. */
const routes = (name: string, config: FunctionConfig): RouteEvent[] => readEvents(name, config).filter((event): event is RouteEvent => event.kind === 'route')

const jwt = { jwt: { issuer: 'https://login.example.com', audience: 'api', scopes: ['read'] } }

describe('serverless/security', () => {
  describe('issuers a deployed function cannot reach', () => {
    it('names loopback, private, link-local and plain-http addresses; public https ones pass', () => {
      const cases: Record<string, string | undefined> = {
        'http://127.0.0.1:4000': 'is a loopback address',
        'https://127.8.9.10/': 'is a loopback address',
        'https://localhost:8443': 'is a name of this machine (loopback)',
        'https://auth.localhost': 'is a name of this machine (loopback)',
        'https://[::1]:4000': 'is a loopback address',
        'https://[::ffff:127.0.0.1]/': 'is a loopback address',
        'https://10.1.2.3': 'is a private address (RFC 1918)',
        'https://172.16.0.1': 'is a private address (RFC 1918)',
        'https://172.31.255.255': 'is a private address (RFC 1918)',
        'https://192.168.1.10': 'is a private address (RFC 1918)',
        'https://169.254.169.254': 'is a link-local address',
        'https://[fd12:3456::1]': 'is a private address (IPv6 unique local)',
        'https://[fe80::1]': 'is a link-local address',
        'https://0.0.0.0:4000': 'is an address of this host',
        'http://login.example.com': 'is plain http',
        'https://172.32.0.1': undefined,
        'https://11.0.0.1': undefined,
        'https://login.example.com/tenant/v2.0': undefined,
        'https://[2001:db8::1]': undefined,
        'not a url': 'is not a URL',
      }
      for (const [address, why] of Object.entries(cases)) expect(unreachableAddress(address), address).to.equal(why)
    })

    it('finds the variable serverless.yml reads an issuer from', () => {
      const yml = "auth:\n  jwt:\n    issuer: ${env:JWT_ISSUER, 'http://127.0.0.1:4000'}\n    jwksUri: \"${env:JWKS_URL}\"\n"
      expect(settingVariable(yml, 'issuer', 'http://127.0.0.1:4000', {})).to.equal('JWT_ISSUER')
      expect(settingVariable(yml, 'issuer', 'http://10.0.0.1', { JWT_ISSUER: 'http://10.0.0.1' })).to.equal('JWT_ISSUER')
      expect(settingVariable(yml, 'issuer', 'http://other', {})).to.equal(undefined)
      expect(settingVariable(yml, 'jwksUri', 'http://127.0.0.1/jwks', { JWKS_URL: 'http://127.0.0.1/jwks' })).to.equal('JWKS_URL')
      expect(settingVariable('auth: { jwt: { issuer: ${env:ISS}, audience: a } }', 'issuer', 'http://localhost', { ISS: 'http://localhost' })).to.equal('ISS')
    })

    it('says, per function, the address, why, and what to set', () => {
      const secured = (name: string, auth: unknown) => ({ name, security: functionSecurity(name, routes(name, { events: [{ route: { method: 'GET', path: `/${name}`, auth } }] }), {}, resolvePolicy) })
      const functions = [
        secured('me', { jwt: { issuer: 'http://127.0.0.1:4000', audience: 'demo' } }),
        secured('admin', { jwt: { issuer: 'https://login.example.com', audience: 'demo', jwksUri: 'https://10.0.0.5/keys' } }),
        secured('ok', { jwt: { issuer: 'https://login.example.com', audience: 'demo' } }),
      ]
      expect(unreachableIssuers(functions, 'Google Cloud Functions', "issuer: ${env:JWT_ISSUER, 'http://127.0.0.1:4000'}", {})).to.deep.equal([
        "functions.me: auth.jwt.issuer http://127.0.0.1:4000 is a loopback address, which Google Cloud Functions cannot reach: every request to /me would be refused once deployed; set JWT_ISSUER to your identity provider's https issuer URL (serverless.yml reads auth.jwt.issuer from it)",
        "functions.admin: auth.jwt.jwksUri https://10.0.0.5/keys is a private address (RFC 1918), which Google Cloud Functions cannot reach: every request to /admin would be refused once deployed; set auth.jwt.jwksUri in serverless.yml to your identity provider's https JWKS URL",
      ])
    })

    it("AWS: a jwksUri keeps the tokens' check in the entry (an HTTP API JWT authorizer takes an issuer and audiences only)", () => {
      const plan = planFor(aws, {
        discovered: { handler: 'handlers/hello.default', events: [{ route: { method: 'GET', path: '/a', auth: { jwt: { issuer: 'https://login.example.com', audience: 'api' } } } }] },
        keyed: { handler: 'handlers/hello.default', events: [{ route: { method: 'GET', path: '/b', auth: { jwt: { issuer: 'https://login.example.com', audience: 'api', jwksUri: 'https://keys.example.com/jwks.json' } } } }] },
      })
      expect(plan.enforced.get('discovered')).to.deep.equal(['jwt'])
      expect(plan.enforced.get('keyed')).to.deep.equal([])
      expect(Object.values(plan.authorizers)).to.deep.equal([{ identitySource: '$request.header.Authorization', issuerUrl: 'https://login.example.com', audience: ['api'] }])
    })
  })

  it("reads a function's policy from its routes over the service defaults, resolved by @polycloud/auth", () => {
    const security = functionSecurity('notes', routes('notes', { events: [{ route: { method: 'GET', path: '/notes/{id}', auth: jwt } }, { route: { method: 'PUT', path: '/notes/{id}', auth: jwt } }] }), serviceDefaults({ cors: true, keys: { a: 'b' } }), resolvePolicy)
    expect(security?.policy).to.deep.equal({ cors: true, auth: jwt })
    expect(security?.methods).to.deep.equal(['GET', 'PUT'])
    expect(security?.paths).to.deep.equal(['/notes/{id}'])
    expect(security?.resolved.cors?.methods).to.deep.equal(['GET', 'PUT'])
    expect(security?.resolved.auth).to.deep.include({ kind: 'jwt', audience: ['api'], scopes: ['read'] })
    // A route may opt out of the service's auth.
    expect(functionSecurity('open', routes('open', { events: [{ route: { method: 'GET', path: '/open', auth: 'none' } }] }), serviceDefaults({ auth: 'key' }), resolvePolicy)).to.equal(undefined)
    expect(functionSecurity('plain', routes('plain', { events: [{ route: 'GET /x' }] }), {}, resolvePolicy)).to.equal(undefined)
  })

  it('refuses routes of one function with different policies, and a policy the runtime would refuse, naming the field', () => {
    expect(() => functionSecurity('f', routes('f', { events: [{ route: 'GET /a' }, { route: { method: 'GET', path: '/b', auth: 'key' } }] }), {}, resolvePolicy)).to.throw(
      ConfigError,
      "functions.f.events[1].route: its auth, cors and maxBodySize differ from events[0]'s",
    )
    expect(() => functionSecurity('f', routes('f', { events: [{ route: { method: 'GET', path: '/a', cors: { credentials: true } } }] }), {}, resolvePolicy)).to.throw(
      ConfigError,
      'functions.f.events[0].route: cors.credentials cannot be combined with origins "*": list the origins',
    )
    expect(() => functionSecurity('f', routes('f', { events: [{ route: { method: 'GET', path: '/a', auth: 'key' } }] }), {}, undefined)).to.throw(ConfigError, 'install @polycloud/auth')
  })

  it('puts the digests of the API keys in the environment, never the keys', () => {
    const variable = JSON.parse(apiKeysVariable('f', { partner: 'k-123' })) as Record<string, string>
    expect(variable).to.deep.equal({ partner: `sha256:${createHash('sha256').update('k-123').digest('hex')}` })
    expect(() => apiKeysVariable('f', {})).to.throw(ConfigError, 'functions.f: its routes take auth: key, but custom.polycloud.http.keys names no key')
  })

  it('one OPTIONS route per CORS path, none where a route already takes any method', () => {
    const cors = (name: string, route: string) => ({ name, events: routes(name, { events: [{ route }] }), security: functionSecurity(name, routes(name, { events: [{ route: { method: route.split(' ')[0] as string, path: route.split(' ')[1] as string, cors: true } }] }), {}, resolvePolicy) })
    const preflights = preflightPaths([cors('a', 'GET /x'), cors('b', 'POST /x'), cors('c', 'GET /y'), cors('d', 'ANY /z'), { name: 'e', events: routes('e', { events: [{ route: 'GET /w' }] }) }])
    expect([...preflights]).to.deep.equal([['a', ['/x']], ['c', ['/y']]])
  })
})

describe('serverless/security on AWS: serverless package', function () {
  this.timeout(120_000)
  let dir: string
  before(() => {
    // Inside the repository, so the services resolve its node_modules.
    mkdirSync(join(ROOT, 'test/fixtures/services/.tmp'), { recursive: true })
    dir = mkdtempSync(join(ROOT, 'test/fixtures/services/.tmp/secure-'))
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  function service(http: string, functions: string): string {
    const root = mkdtempSync(join(dir, 's-'))
    mkdirSync(join(root, 'handlers'))
    writeFileSync(join(root, 'handlers/h.ts'), "import { http, json } from '@polycloud/core'\nexport default http((request) => json({ auth: request.auth ?? null }))\n")
    writeFileSync(
      join(root, 'serverless.yml'),
      `service: secured\nframeworkVersion: '4'\nprovider:\n  name: aws\n  runtime: nodejs22.x\nplugins:\n  - serverless-polycloud\n  - serverless-esbuild\ncustom:\n  polycloud:\n    http:\n${http}\nfunctions:\n${functions}`,
    )
    return root
  }

  async function packaged(root: string): Promise<{ resources: Record<string, { Type: string; Properties: Record<string, unknown> }>; entry(name: string): string }> {
    const out = join(root, 'out')
    const run = await serverless(['package', '--package', out], { cwd: root })
    expect(run.code, run.stdout + run.stderr).to.equal(0)
    const template = JSON.parse(readFileSync(join(out, 'cloudformation-template-update-stack.json'), 'utf8')) as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> }
    return { resources: template.Resources, entry: (name) => readFileSync(join(root, '.polycloud/aws', `${name}.js`), 'utf8') }
  }

  it("a service-wide CORS policy and JWT routes: the HTTP API's own CORS and a JWT authorizer, not checked again in the entry", async () => {
    const root = service(
      "      cors:\n        origins: ['https://app.example.com']\n        credentials: true\n        maxAge: 300\n      auth:\n        jwt:\n          issuer: https://login.example.com\n          audience: [api]\n          scopes: [read]\n      keys:\n        partner: k-1",
      '  notes:\n    handler: handlers/h.default\n    events:\n      - route: GET /notes/{id}\n  partner:\n    handler: handlers/h.default\n    events:\n      - route:\n          method: POST\n          path: /partner\n          auth: key\n',
    )
    const { resources, entry } = await packaged(root)
    const api = Object.values(resources).find((resource) => resource.Type === 'AWS::ApiGatewayV2::Api')?.Properties
    expect(api?.CorsConfiguration).to.deep.equal({
      AllowOrigins: ['https://app.example.com'],
      AllowHeaders: ['content-type', 'authorization', 'x-api-key'],
      AllowMethods: ['GET', 'POST', 'HEAD', 'OPTIONS'],
      AllowCredentials: true,
      MaxAge: 300,
    })
    const authorizer = Object.values(resources).find((resource) => resource.Type === 'AWS::ApiGatewayV2::Authorizer')?.Properties
    expect(authorizer).to.deep.include({ AuthorizerType: 'JWT', IdentitySource: ['$request.header.Authorization'], JwtConfiguration: { Audience: ['api'], Issuer: 'https://login.example.com' } })
    const routes = Object.values(resources).filter((resource) => resource.Type === 'AWS::ApiGatewayV2::Route').map((resource) => resource.Properties)
    expect(routes.map((route) => route.RouteKey).sort()).to.deep.equal(['GET /notes/{id}', 'HEAD /notes/{id}', 'POST /partner'])
    expect(routes.find((route) => route.RouteKey === 'GET /notes/{id}')).to.deep.include({ AuthorizationType: 'JWT', AuthorizationScopes: ['read'] })
    expect(routes.find((route) => route.RouteKey === 'HEAD /notes/{id}')).to.deep.include({ AuthorizationType: 'JWT', AuthorizationScopes: ['read'] })
    expect(routes.find((route) => route.RouteKey === 'POST /partner')?.AuthorizationType).to.equal(undefined)
    expect(entry('notes')).to.include('"enforcedByPlatform":["jwt","cors"]')
    expect(entry('partner')).to.include('secure(portable, {"auth":"key","cors":{"origins":["https://app.example.com"],"credentials":true,"maxAge":300}}, {"methods":["POST"],"enforcedByPlatform":["cors"]})')
    const partner = Object.values(resources).find((resource) => resource.Type === 'AWS::Lambda::Function' && (resource.Properties.Handler as string).includes('partner'))?.Properties
    const keys = JSON.parse(((partner?.Environment as { Variables: Record<string, string> }).Variables.POLYCLOUD_API_KEYS) as string) as Record<string, string>
    expect(keys).to.deep.equal({ partner: `sha256:${createHash('sha256').update('k-1').digest('hex')}` })
    // The key itself is nowhere in what is deployed: not in the bundle, not in the template.
    const bundle = execFileSync('unzip', ['-p', join(root, 'out/secured.zip')], { maxBuffer: 64 * 1024 * 1024 }).toString('latin1')
    expect(bundle).to.include('secure(')
    expect(bundle).to.not.include('k-1')
    expect(readFileSync(join(root, 'out/cloudformation-template-update-stack.json'), 'utf8')).to.not.include('"k-1"')
  })

  it('a CORS route among others, and REST routes: the entry answers (an OPTIONS route reaches it) and verifies tokens', async () => {
    const root = service(
      '      maxBodySize: 100000000',
      "  web:\n    handler: handlers/h.default\n    events:\n      - route:\n          method: GET\n          path: /web\n          cors: true\n  plain:\n    handler: handlers/h.default\n    events:\n      - route: GET /plain\n  legacy:\n    handler: handlers/h.default\n    events:\n      - route:\n          method: GET\n          path: /legacy\n          api: rest-api\n          auth:\n            jwt:\n              issuer: https://login.example.com\n              audience: api\n",
    )
    const { resources, entry } = await packaged(root)
    const api = Object.values(resources).find((resource) => resource.Type === 'AWS::ApiGatewayV2::Api')?.Properties
    expect(api?.CorsConfiguration).to.equal(undefined)
    const routes = Object.values(resources).filter((resource) => resource.Type === 'AWS::ApiGatewayV2::Route').map((resource) => resource.Properties.RouteKey)
    expect(routes.sort()).to.deep.equal(['GET /plain', 'GET /web', 'HEAD /plain', 'HEAD /web', 'OPTIONS /web'])
    expect(Object.values(resources).some((resource) => resource.Type === 'AWS::ApiGatewayV2::Authorizer')).to.equal(false)
    expect(entry('web')).to.include('{"methods":["GET"]}')
    expect(entry('legacy')).to.include('secure(portable, {"maxBodySize":100000000,"auth":{"jwt":{"issuer":"https://login.example.com","audience":"api"}}}, {"methods":["GET"],"jwt":() => import(\'@polycloud/auth/jwt\')})')
    // JWT code only where a route verifies tokens.
    expect(entry('web')).to.not.include('@polycloud/auth/jwt')
  })
})
