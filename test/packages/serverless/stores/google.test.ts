/**
 * Stores on Google Cloud: a Firestore collection each in the (default) database; deploy makes sure the database is
 * there in Native mode and grants the runtime accounts of the functions that use a store roles/datastore.user on
 * that database only; remove keeps a collection with documents unless --deleteData, and takes the grant back. Against the Google
 * stand-in, which checks each request against the APIs' protos (@google-cloud/firestore admin_v1 and v1).
 */
import { expect } from 'chai'
import { rmSync } from 'node:fs'
import { ProviderError } from 'serverless-polycloud/errors'
import type { FunctionConfig } from 'serverless-polycloud/provider'
import { google } from 'serverless-polycloud/providers/google/index'
import { deployCommand, removeCommand } from 'serverless-polycloud/providers/google/deploy'
import { startGoogleStandIn, type GoogleStandIn } from '../../../helpers/google-stand-in.ts'
import { googleContext, type TestContext } from '../providers/google-support.ts'
import { planFor } from '../support.ts'

const FUNCTIONS: Record<string, FunctionConfig> = {
  chat: { handler: 'handlers/hello.default', uses: ['sessions'], events: [{ route: 'POST /chat' }] },
  hello: { handler: 'handlers/hello.default', events: [{ route: 'GET /hello' }] },
}
const RESOURCES = { sessions: 'store' }
const DATABASE = 'projects/demo-project/databases/(default)'
/** The runtime accounts of the functions that use the store: the routing function (chat is a route) and chat; not hello. */
const USERS = ['routes-dev-67dbf9', 'chat-dev-42e1d9'].map((id) => `serviceAccount:${id}@demo-project.iam.gserviceaccount.com`)
const ROLE = { role: 'roles/datastore.user', members: USERS, condition: { title: 'polycloud-stores', description: 'Polycloud stores: documents of the (default) Firestore database', expression: `resource.name == "${DATABASE}"` } }

describe('serverless/stores: Google Cloud', function () {
  this.timeout(120_000)

  it('addresses a store by its collection, to the functions that use it only', () => {
    const plan = planFor(google, FUNCTIONS, { service: 'shop', stage: 'dev', resources: RESOURCES, provider: { name: 'google', project: 'demo-project', region: 'europe-west1' } })
    const environments = plan.settings().layout.functions.map((fn) => fn.environment.POLYCLOUD_RESOURCES)
    expect(environments).to.include('{"sessions":{"kind":"store","collection":"shop-dev-sessions"}}')
  })

  describe('deploy and remove (stand-in)', () => {
    let api: GoogleStandIn
    const contexts: TestContext[] = []
    const context = (options: Record<string, unknown> = {}): TestContext => {
      const made = googleContext(FUNCTIONS, { resources: RESOURCES, options })
      contexts.push(made)
      return made
    }
    before(async () => {
      api = await startGoogleStandIn()
    })
    after(async () => {
      await api?.stop()
      for (const made of contexts) rmSync(made.workDir.replace(/\/\.polycloud\/google$/, ''), { recursive: true, force: true })
    })
    afterEach(() => {
      expect(api.refusals, 'requests the API definitions refuse').to.deep.equal([])
    })

    it('creates the (default) database in Native mode in the region, and grants the runtime account on it only; a second deploy changes nothing', async () => {
      await deployCommand(context(), api.connection())
      expect(api.state.firestore.databases.get(DATABASE)).to.deep.include({ name: DATABASE, type: 'FIRESTORE_NATIVE', locationId: 'europe-west1' })
      expect(api.state.projectPolicy).to.deep.include(ROLE)
      expect(api.state.firestore.fields.get(`${DATABASE}/collectionGroups/polycloud-demo-dev-sessions/fields/expires`)).to.deep.include({ ttlConfig: { state: 'CREATING' } })
      const before = api.standIn.requests.length
      await deployCommand(context(), api.connection())
      const again = api.standIn.requests.slice(before).map((request) => `${request.method} ${request.path}`)
      expect(again.some((line) => /databases\?|setIamPolicy|PATCH/.test(line))).to.equal(false)
      expect(api.state.projectPolicy.filter((binding) => binding.role === 'roles/datastore.user')).to.have.length(1)
    })

    it('refuses a (default) database in Datastore mode, saying why', async () => {
      const saved = api.state.firestore.databases.get(DATABASE) as Record<string, unknown>
      api.state.firestore.databases.set(DATABASE, { ...saved, type: 'DATASTORE_MODE' })
      try {
        let failure: unknown
        await deployCommand(context(), api.connection()).catch((error: unknown) => (failure = error))
        expect(failure).to.be.instanceOf(ProviderError)
        expect((failure as Error).message).to.contain('is in Datastore mode, which has no Firestore documents: the stores need Native mode')
      } finally {
        api.state.firestore.databases.set(DATABASE, saved)
      }
    })

    it('remove keeps a collection that holds documents, --deleteData deletes them; the grant is taken back', async () => {
      const names = Array.from({ length: 501 }, (_, index) => `${DATABASE}/documents/polycloud-demo-dev-sessions/k${index}`)
      api.state.firestore.documents.set('polycloud-demo-dev-sessions', [...names])
      const kept = context()
      await removeCommand(kept, api.connection())
      expect(kept.notices).to.include('warning: Firestore collection polycloud-demo-dev-sessions was kept: it still holds documents; serverless remove --deleteData deletes them')
      expect(api.state.firestore.documents.get('polycloud-demo-dev-sessions')).to.have.length(501)
      expect(api.state.projectPolicy.some((binding) => binding.role === 'roles/datastore.user')).to.equal(false)
      await deployCommand(context(), api.connection())
      const deleted = context({ deleteData: true })
      await removeCommand(deleted, api.connection())
      expect(api.state.firestore.documents.get('polycloud-demo-dev-sessions')).to.deep.equal([])
      expect(deleted.written.join('\n')).to.contain('Firestore collection polycloud-demo-dev-sessions (501 documents)')
      // The database is the project's: it stays.
      expect(api.state.firestore.databases.has(DATABASE)).to.equal(true)
    })
  })
})
