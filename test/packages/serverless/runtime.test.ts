import { expect } from 'chai'
import { RUNTIMES, runtimeProblem, runtimeProblems } from 'serverless-polycloud/providers/index'

const at = (iso: string): Date => new Date(`${iso}T12:00:00Z`)

describe('serverless/runtime: the runtimes each provider still accepts', () => {
  it('AWS: nodejs20.x deprecated on 2026-04-30, creation blocked from 2026-08-31, updates from 2026-09-30', () => {
    expect(runtimeProblem('aws', 'nodejs20.x', 'provider.runtime', at('2026-04-29'))).to.equal(undefined)
    const deprecated = runtimeProblem('aws', 'nodejs20.x', 'provider.runtime', at('2026-05-15'))
    expect(deprecated?.state).to.equal('deprecated')
    expect(deprecated?.message).to.equal(
      'provider.runtime: nodejs20.x is deprecated since 2026-04-30 on AWS Lambda (creating functions on it blocked from 2026-08-31, updating them blocked from 2026-09-30); ' +
        'move to nodejs24.x (supported until 2028-04-30) or nodejs22.x (supported until 2027-04-30). Source: https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html',
    )
    const blocked = runtimeProblem('aws', 'nodejs20.x', 'provider.runtime', at('2026-11-28'))
    expect(blocked?.state).to.equal('blocked')
    expect(blocked?.message).to.include('(creating functions on it blocked since 2026-08-31, updating them blocked since 2026-09-30)')
  })

  it('Node 22 and 24 are accepted everywhere until their dates; older majors are blocked; other runtimes are left to the provider', () => {
    for (const provider of ['aws', 'azure', 'google'] as const) {
      const spell = RUNTIMES[provider]!.spell
      expect(runtimeProblem(provider, spell(22), 'provider.runtime', at('2026-11-28')), provider).to.equal(undefined)
      expect(runtimeProblem(provider, spell(24), 'provider.runtime', at('2026-11-28')), provider).to.equal(undefined)
      expect(runtimeProblem(provider, spell(22), 'provider.runtime', at('2027-05-01'))?.state, provider).to.not.equal(undefined)
    }
    expect(runtimeProblem('aws', 'nodejs14.x', 'provider.runtime', at('2026-11-28'))?.message).to.match(/nodejs14\.x is older than nodejs16\.x, deprecated since 2024-06-12 at the latest/)
    expect(runtimeProblem('aws', 'python3.13', 'provider.runtime', at('2026-11-28'))).to.equal(undefined)
    expect(runtimeProblem('aws', 'nodejs26.x', 'provider.runtime', at('2026-11-28'))).to.equal(undefined)
    expect(runtimeProblem('cloudflare', 'nodejs20.x', 'provider.runtime', at('2026-11-28'))).to.equal(undefined)
  })

  it('Azure retires on the Node.js end-of-life date and never blocks; Google decommissions six months later', () => {
    expect(runtimeProblem('azure', 'node20', 'provider.runtime', at('2026-11-28'))).to.deep.include({ state: 'deprecated' })
    expect(runtimeProblem('google', 'nodejs20', 'provider.runtime', at('2026-10-29'))).to.deep.include({ state: 'deprecated' })
    expect(runtimeProblem('google', 'nodejs20', 'provider.runtime', at('2026-10-30'))).to.deep.include({ state: 'blocked' })
  })

  it("checks the provider's runtime and each function's own", () => {
    const problems = runtimeProblems('aws', 'nodejs22.x', { a: { runtime: 'nodejs20.x' }, b: {}, c: { runtime: 'nodejs24.x' } }, at('2026-11-28'))
    expect(problems.map((problem) => problem.path)).to.deep.equal(['functions.a.runtime'])
  })

  it('the table: every provider newest first, dates in order, blocks after deprecation', () => {
    for (const [provider, table] of Object.entries(RUNTIMES)) {
      const majors = table!.versions.map((entry) => entry.major)
      expect(majors, provider).to.deep.equal([...majors].sort((a, b) => b - a))
      for (const entry of table!.versions) {
        if (entry.blockCreate) expect(entry.blockCreate >= entry.deprecated, `${provider} ${entry.major}`).to.equal(true)
        if (entry.blockUpdate) expect(entry.blockUpdate >= (entry.blockCreate ?? entry.deprecated), `${provider} ${entry.major}`).to.equal(true)
      }
    }
  })
})
