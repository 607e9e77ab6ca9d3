// The cost of a route's JWT check with a warm key cache: the demo's `GET /me` behind `secure()` (an RS256 token
// verified against the issuer's JWKS, fetched once before timing) against the same handler without auth, both
// through the same adapter-free harness (`@polycloud/testing`'s request), interleaved; and what a refused token
// costs (a malformed one, an expired one: refused before any network call), against the verified cached token.
import { http, json } from '@polycloud/core'
import { secure } from '@polycloud/auth'
import * as jwt from '@polycloud/auth/jwt'
import { request, startIssuer } from '@polycloud/testing'
import { summarize, type Summary } from './lib/stats.js'

export interface AuthFigures {
  readonly plain: Summary
  /** A token the route verified before (the verified-token cache answers). */
  readonly jwt: Summary
  /** A token the route has not seen (its RS256 signature verified; the keys cached). */
  readonly fresh: Summary
  /** `Bearer not-a-token`: refused (401) by the form check. */
  readonly malformed: Summary
  /** A well-formed token past its `exp`: refused (401) by the cheap checks, before any network call. */
  readonly expired: Summary
  /** Medians over the route without auth, us per request. */
  readonly ratio: number
  readonly freshRatio: number
  /** Medians over the verified cached token's: what a refusal costs against a token let through. */
  readonly malformedRatio: number
  readonly expiredRatio: number
  readonly rounds: number
}

export async function authFigures(options: { quick: boolean; log: (message: string) => void }): Promise<AuthFigures> {
  const issuer = await startIssuer({ audience: 'polycloud-demo' })
  try {
    const me = http((req) => json({ subject: req.auth?.kind === 'jwt' ? req.auth.subject : null }))
    const plain = me
    const guarded = secure(me, { auth: { jwt: { issuer: issuer.url, audience: 'polycloud-demo', scopes: ['profile'] } } }, { methods: ['GET'], jwt })
    const token = await issuer.sign({ sub: 'ada', scope: 'profile' })
    const init = { url: '/me', headers: { authorization: `Bearer ${token}` } }
    const refusals = {
      malformed: { url: '/me', headers: { authorization: 'Bearer not-a-token' } },
      expired: { url: '/me', headers: { authorization: `Bearer ${await issuer.sign({ sub: 'ada', scope: 'profile' }, { expiresIn: Math.floor(Date.now() / 1000) - 3600 })}` } },
    }
    for (const refused of Object.values(refusals)) {
      const response = await request(guarded, refused)
      if (response.status !== 401) throw new Error(`auth bench: a refused token answered ${response.status}`)
    }
    // Warm: the JWKS is fetched and cached by the first request.
    const first = await request(guarded, init)
    if (first.status !== 200 || issuer.fetches !== 1) throw new Error(`auth bench: warm-up answered ${first.status} after ${issuer.fetches} JWKS fetch(es)`)
    const rounds = options.quick ? 20 : 200
    const batch = options.quick ? 20 : 100
    const time = async (handler: typeof me, sent: typeof init = init): Promise<number> => {
      const start = process.hrtime.bigint()
      for (let i = 0; i < batch; i++) await request(handler, sent)
      return Number(process.hrtime.bigint() - start) / batch / 1000
    }
    const plainUs: number[] = []
    const jwtUs: number[] = []
    const malformedUs: number[] = []
    const expiredUs: number[] = []
    const series: Array<() => Promise<void>> = [
      async () => void plainUs.push(await time(plain)),
      async () => void jwtUs.push(await time(guarded)),
      async () => void malformedUs.push(await time(guarded, refusals.malformed)),
      async () => void expiredUs.push(await time(guarded, refusals.expired)),
    ]
    // Interleaved, the first series turning each round.
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < series.length; i++) await (series[(round + i) % series.length] as () => Promise<void>)()
    }
    // New tokens: signed before the clock starts, each sent once.
    const freshRounds = options.quick ? 5 : 40
    const freshBatch = 20
    const tokens = await Promise.all(Array.from({ length: freshRounds * freshBatch }, (_, i) => issuer.sign({ sub: `user-${i}`, scope: 'profile' })))
    const freshUs: number[] = []
    for (let round = 0; round < freshRounds; round++) {
      const start = process.hrtime.bigint()
      for (let i = 0; i < freshBatch; i++) {
        const response = await request(guarded, { url: '/me', headers: { authorization: `Bearer ${tokens[round * freshBatch + i] as string}` } })
        if (response.status !== 200) throw new Error(`auth bench: a fresh token answered ${response.status}`)
      }
      freshUs.push(Number(process.hrtime.bigint() - start) / freshBatch / 1000)
    }
    if (issuer.fetches !== 1) throw new Error(`auth bench: the JWKS was fetched ${issuer.fetches} times; the key cache is not warm`)
    const plainSummary = summarize(plainUs)
    const jwtSummary = summarize(jwtUs)
    const freshSummary = summarize(freshUs)
    const malformedSummary = summarize(malformedUs)
    const expiredSummary = summarize(expiredUs)
    options.log(`auth: ${rounds} interleaved rounds of ${batch} requests each; ${freshRounds} rounds of ${freshBatch} new tokens`)
    return {
      plain: plainSummary,
      jwt: jwtSummary,
      fresh: freshSummary,
      malformed: malformedSummary,
      expired: expiredSummary,
      ratio: jwtSummary.median / plainSummary.median,
      freshRatio: freshSummary.median / plainSummary.median,
      malformedRatio: malformedSummary.median / jwtSummary.median,
      expiredRatio: expiredSummary.median / jwtSummary.median,
      rounds,
    }
  } finally {
    await issuer.stop()
  }
}
