/** Type tests: `tsc -p test` checks each @ts-expect-error is an error. */
import { expect } from 'chai'
import { http, json, type Caller, type HttpHandler } from '@polycloud/core'
import { secure, type RoutePolicy } from '@polycloud/auth'

export const policies: RoutePolicy[] = [
  { auth: 'none' },
  { auth: 'key', maxBodySize: 1024 },
  { auth: { key: { header: 'x-partner-key' } } },
  { auth: { jwt: { issuer: 'https://issuer.example.com', audience: ['a', 'b'], scopes: ['read'] } }, cors: true },
  { cors: { origins: ['https://app.example.com'], credentials: true, maxAge: 60 } },
  // @ts-expect-error auth is none, key or a policy object
  { auth: 'basic' },
  // @ts-expect-error a jwt policy needs an audience
  { auth: { jwt: { issuer: 'https://issuer.example.com' } } },
]

export const handler: HttpHandler = secure(
  http((request) => {
    const caller: Caller | undefined = request.auth
    if (caller?.kind === 'jwt') {
      const scopes: readonly string[] = caller.scopes
      const subject: string | undefined = caller.subject
      // @ts-expect-error a JWT caller has no key name
      const name: string = caller.name
      return json({ scopes, subject, name })
    }
    if (caller?.kind === 'key') return json({ name: caller.name })
    return json({})
  }),
  { auth: 'key' },
)

describe('auth/types', () => {
  it('type-checks', () => expect(policies.length).to.equal(7))
})
