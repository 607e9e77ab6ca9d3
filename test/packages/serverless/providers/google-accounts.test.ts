/** The ids of the functions' own runtime service accounts on Google Cloud: IAM's rule, stable, apart per service, stage and function. */
import { expect } from 'chai'
import { accountEmail, runtimeAccountId, runtimeAccounts } from 'serverless-polycloud/providers/google/accounts'
import { rmSync } from 'node:fs'
import { deployCommand } from 'serverless-polycloud/providers/google/deploy'
import { startGoogleStandIn } from '../../../helpers/google-stand-in.ts'
import { googleContext } from './google-support.ts'

/** IAM's account id rule (google/iam/admin/v1/iam.proto, CreateServiceAccountRequest.account_id). */
const ACCOUNT_ID = /^[a-z](?:[-a-z0-9]*[a-z0-9])$/

describe('serverless/providers/google: runtime service accounts', () => {
  it('fits IAM’s rule (6-30 characters) for any function and stage, keeps the stage, and is the same on every call', () => {
    const cases: Array<[string, string, string]> = [
      ['polycloud-demo', 'dev', 'hello'],
      ['polycloud-demo', 'dev', 'polycloudRoutes'],
      ['shop', 'production-europe-west', 'a_Very_Long_Function_Name_Indeed_More'],
      ['shop', '1', 'x'],
      ['shop', '--', 'Fn--x__'],
    ]
    for (const [service, stage, fn] of cases) {
      const id = runtimeAccountId(service, stage, fn)
      expect(id, `${service} ${stage} ${fn}`).to.match(ACCOUNT_ID)
      expect(id.length, id).to.be.within(6, 30)
      expect(runtimeAccountId(service, stage, fn)).to.equal(id)
    }
    expect(runtimeAccountId('polycloud-demo', 'dev', 'hello')).to.equal('hello-dev-af7c7e')
    expect(runtimeAccountId('polycloud-demo', 'dev', 'polycloudRoutes')).to.match(/^routes-dev-[0-9a-f]{6}$/)
    expect(runtimeAccountId('shop', 'production-europe-west', 'a_Very_Long_Function_Name_Indeed_More')).to.match(/^a-very-long-fu-producti-[0-9a-f]{6}$/)
  })

  it('differs between services, stages and functions whose shortened names agree', () => {
    const ids = new Set([
      runtimeAccountId('shop', 'production-a', 'a_very_long_function_name_one'),
      runtimeAccountId('shop', 'production-b', 'a_very_long_function_name_one'),
      runtimeAccountId('shop', 'production-a', 'a_very_long_function_name_two'),
      runtimeAccountId('shop-2', 'production-a', 'a_very_long_function_name_one'),
    ])
    expect(ids.size).to.equal(4)
  })

  it('one account per function, its instances (one per trigger) sharing it; the routing function has its own', () => {
    const ctx = googleContext({
      hello: { handler: 'handlers/hello.default', events: [{ route: 'GET /hello' }] },
      fanout: { handler: 'handlers/alerts.default', events: [{ topic: 'alpha' }, { topic: 'beta' }] },
    })
    try {
      const accounts = runtimeAccounts(ctx.plan.settings().layout, { service: 'polycloud-demo', stage: 'dev', project: 'demo-project', marker: 'm' })
      expect(accounts.map((account) => [account.function, account.functionIds])).to.deep.equal([
        ['polycloudRoutes', ['polycloud-demo-dev']],
        ['hello', ['polycloud-demo-dev-hello']],
        ['fanout', ['polycloud-demo-dev-fanout', 'polycloud-demo-dev-fanout-2']],
      ])
      expect(accounts[1]?.email).to.equal('hello-dev-af7c7e@demo-project.iam.gserviceaccount.com')
      expect(accounts[2]?.description).to.equal('m: runs fanout')
    } finally {
      rmSync(ctx.workDir.replace(/\/\.polycloud\/google$/, ''), { recursive: true, force: true })
    }
  })

  it('a function or policy that may not name an account just created yet (IAM is eventually consistent) is written again after a wait', async function () {
    this.timeout(60_000)
    const api = await startGoogleStandIn()
    const ctx = googleContext({ upload: { handler: 'handlers/uploads.default', uses: ['uploads'], events: [{ route: 'POST /uploads' }] } }, { resources: { uploads: 'bucket' }, options: {}, custom: { functionUrls: false } })
    try {
      api.state.propagationWrites = 2
      await deployCommand(ctx, api.connection())
      // Two writes naming the account were refused (it was not known yet) and sent again: the function's create and
      // the bucket's policy, one success each and two refusals between them.
      const creates = api.standIn.requests.filter((request) => request.method === 'POST' && request.path === '/v2/projects/demo-project/locations/europe-west1/functions')
      const writes = api.standIn.requests.filter((request) => request.method === 'PUT' && request.path === '/storage/v1/b/polycloud-demo-dev-uploads/iam')
      expect(creates.length + writes.length).to.equal(4)
      expect(api.state.functions.has('projects/demo-project/locations/europe-west1/functions/polycloud-demo-dev')).to.equal(true)
      expect(api.state.policies.get('b/polycloud-demo-dev-uploads')?.bindings).to.deep.equal([{ role: 'roles/storage.objectUser', members: ['serviceAccount:routes-dev-67dbf9@demo-project.iam.gserviceaccount.com'] }])
      expect(api.refusals).to.deep.equal([])
    } finally {
      await api.stop()
      rmSync(ctx.workDir.replace(/\/\.polycloud\/google$/, ''), { recursive: true, force: true })
    }
  })

  it('a domain-scoped project id gives the email Google gives', () => {
    expect(accountEmail('hello-dev-af7c7e', 'example.com:shop')).to.equal('hello-dev-af7c7e@shop.example.com.iam.gserviceaccount.com')
  })
})
