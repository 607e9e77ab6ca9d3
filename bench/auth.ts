// The cost of a route's JWT check with a warm key cache: the demo's `GET /me` behind `secure()` (an RS256 token
// verified against the issuer's JWKS, fetched once before timing) against the same handler without auth, both
// through the same adapter-free harness (`@polycloud/testing`'s request), interleaved.
import { http, json } from '@polycloud/core'
import { secure } from '@polycloud/auth'
import { request, startIssuer } from '@polycloud/testing'
import { summarize, type Summary } from './lib/stats.js'

export interface AuthFigures {
  readonly plain: Summary
  /** A token the route verified before (the verified-token cache answers). */
  readonly jwt: Summary
  /** A token the route has not seen (its RS256 signature verified; the keys cached). */
  readonly fresh: Summary
  /** Medians over the route without auth, us per request. */
  readonly ratio: number
  readonly freshRatio: number
  readonly rounds: number
}

export async function authFigures(options: { quick: boolean; log: (message: string) => void }): Promise<AuthFigures> {
  const issuer = await startIssuer({ audience: 'polycloud-demo' })
  try {
    const me = http((req) => json({ subject: req.auth?.kind === 'jwt' ? req.auth.subject : null }))
    const plain = me
    const guarded = secure(me, { auth: { jwt: { issuer: issuer.url, audience: 'polycloud-demo', scopes: ['profile'] } } }, { methods: ['GET'] })
    const token = await issuer.sign({ sub: 'ada', scope: 'profile' })
    const init = { url: '/me', headers: { authorization: `Bearer ${token}` } }
    // Warm: the JWKS is fetched and cached by the first request.
    const first = await request(guarded, init)
    if (first.status !== 200 || issuer.fetches !== 1) throw new Error(`auth bench: warm-up answered ${first.status} after ${issuer.fetches} JWKS fetch(es)`)
    const rounds = options.quick ? 20 : 200
    const batch = options.quick ? 20 : 100
    const time = async (handler: typeof me): Promise<number> => {
      const start = process.hrtime.bigint()
      for (let i = 0; i < batch; i++) await request(handler, init)
      return Number(process.hrtime.bigint() - start) / batch / 1000
    }
    const plainUs: number[] = []
    const jwtUs: number[] = []
    for (let round = 0; round < rounds; round++) {
      if (round % 2 === 0) {
        plainUs.push(await time(plain))
        jwtUs.push(await time(guarded))
      } else {
        jwtUs.push(await time(guarded))
        plainUs.push(await time(plain))
      }
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
    options.log(`auth: ${rounds} interleaved rounds of ${batch} requests each; ${freshRounds} rounds of ${freshBatch} new tokens`)
    return {
      plain: plainSummary,
      jwt: jwtSummary,
      fresh: freshSummary,
      ratio: jwtSummary.median / plainSummary.median,
      freshRatio: freshSummary.median / plainSummary.median,
      rounds,
    }
  } finally {
    await issuer.stop()
  }
}
